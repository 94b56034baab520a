// Tests for the CRDs in crds/ and for flinktest::validateStructural (test/support), the
// API-server-style validation and pruning of custom resources against a structural schema.
#include "openapi_validator.h"
#include "structural_schema.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using flinktest::validateStructural;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kSourceDir = FLINK_SOURCE_DIR;
const fs::path kCrdDir = kSourceDir / "crds";
const fs::path kExamplesDir = fs::path(FLINK_TEST_COMPAT_DIR) / "flink-kubernetes-operator-examples";

using flinktest::yamlToJson;

std::vector<json> loadDocuments(const fs::path& path) {
  std::vector<json> docs;
  for (const auto& node : YAML::LoadAllFromFile(path.string())) {
    json doc = yamlToJson(node);
    if (!doc.is_null()) docs.push_back(std::move(doc));
  }
  return docs;
}

json parseYaml(const std::string& text) { return yamlToJson(YAML::Load(text)); }

std::vector<fs::path> crdFiles() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kCrdDir)) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yml" || ext == ".yaml")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The CRDs by spec.names.kind, loaded once.
const std::map<std::string, json>& crds() {
  static const std::map<std::string, json> byKind = [] {
    std::map<std::string, json> out;
    for (const auto& file : crdFiles()) {
      for (auto& doc : loadDocuments(file)) out[doc["spec"]["names"]["kind"].get<std::string>()] = doc;
    }
    return out;
  }();
  return byKind;
}

const json& crd(const std::string& kind) {
  auto it = crds().find(kind);
  if (it == crds().end()) throw std::runtime_error("no CRD for kind " + kind);
  return it->second;
}

const json& version(const json& definition, const std::string& name) {
  for (const auto& v : definition["spec"]["versions"])
    if (v["name"] == name) return v;
  throw std::runtime_error("no version " + name);
}

const json& schemaFor(const std::string& kind) { return version(crd(kind), "v1beta1")["schema"]["openAPIV3Schema"]; }

std::string join(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

bool contains(const std::vector<std::string>& errors, const std::string& error) {
  return std::find(errors.begin(), errors.end(), error) != errors.end();
}

// The structural-schema rules of
// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema
// that a hand-written schema can break. Appends one message per violation.
void checkStructural(const json& node, const std::string& path, std::vector<std::string>& problems, bool inValueValidation) {
  if (!node.is_object()) {
    problems.push_back(path + ": schema is not an object");
    return;
  }
  if (node.contains("$ref")) problems.push_back(path + ": $ref");
  const bool intOrString = node.value("x-kubernetes-int-or-string", false);
  const bool preserve = node.value("x-kubernetes-preserve-unknown-fields", false);
  const std::string type = node.value("type", "");
  if (!inValueValidation) {
    if (type.empty() && !intOrString && !preserve) problems.push_back(path + ": no type");
    if (intOrString && !type.empty()) problems.push_back(path + ": type with x-kubernetes-int-or-string");
    if (type == "array" && !node.contains("items")) problems.push_back(path + ": array without items");
    if (node.contains("properties") && node.contains("additionalProperties"))
      problems.push_back(path + ": properties and additionalProperties");
    if (node.contains("additionalProperties") && node["additionalProperties"] == false)
      problems.push_back(path + ": additionalProperties false");
  } else {
    for (const char* key : {"type", "nullable", "default", "additionalProperties", "description",
                            "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string"}) {
      if (node.contains(key)) problems.push_back(path + ": " + key + " inside a value validation");
    }
  }
  if (node.contains("properties")) {
    for (const auto& [name, child] : node["properties"].items())
      checkStructural(child, path + ".properties." + name, problems, inValueValidation);
  }
  if (node.contains("additionalProperties") && node["additionalProperties"].is_object())
    checkStructural(node["additionalProperties"], path + ".additionalProperties", problems, inValueValidation);
  if (node.contains("items")) checkStructural(node["items"], path + ".items", problems, inValueValidation);
  for (const char* composite : {"allOf", "anyOf", "oneOf"}) {
    if (!node.contains(composite)) continue;
    for (const auto& branch : node[composite]) {
      // The one exception: x-kubernetes-int-or-string may spell out anyOf integer / string.
      const bool intOrStringBranch = intOrString && std::string(composite) == "anyOf" && branch.size() == 1 &&
                                     (branch == json{{"type", "integer"}} || branch == json{{"type", "string"}});
      if (!intOrStringBranch) checkStructural(branch, path + "." + composite, problems, true);
    }
  }
  if (node.contains("not")) checkStructural(node["not"], path + ".not", problems, true);
}

// A FlinkDeployment as the Apache operator leaves it after a deployment: every status field set.
json deployedFlinkDeployment() {
  return parseYaml(R"(
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: basic-example
  namespace: default
  uid: 0b1b2c3d-aaaa-bbbb-cccc-000000000001
  generation: 2
  resourceVersion: "1234"
  labels: {app: basic}
  annotations: {note: x}
  finalizers: [flinkdeployments.flink.apache.org/finalizer]
spec:
  image: flink:1.20
  imagePullPolicy: IfNotPresent
  flinkVersion: v1_20
  serviceAccount: flink
  restartNonce: 3
  mode: native
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "2"
  logConfiguration:
    log4j-console.properties: "rootLogger.level = INFO"
  ingress:
    template: "{{name}}.example.com"
    className: nginx
    annotations: {nginx.ingress.kubernetes.io/rewrite-target: "/$2"}
    labels: {team: data}
    tls:
      - hosts: [flink.example.com]
        secretName: flink-tls
  jobManager:
    resource: {memory: 2048m, cpu: 0.5, ephemeralStorage: 1G}
    replicas: 1
  taskManager:
    resources:
      requests: {memory: 1Gi, cpu: 500m}
      limits: {memory: 2Gi, cpu: 2}
    replicas: 2
  job:
    jarURI: local:///opt/flink/examples/streaming/StateMachineExample.jar
    parallelism: 4
    entryClass: org.apache.flink.Example
    args: [--a, b]
    state: running
    upgradeMode: last-state
    savepointTriggerNonce: 1
    checkpointTriggerNonce: 2
    savepointRedeployNonce: 3
    initialSavepointPath: s3://bucket/sp-1
    initialStateReference: {name: snap, namespace: default}
    allowNonRestoredState: false
status:
  jobStatus:
    jobName: State machine job
    jobId: 5f0f4a6ab6a8d2e5e3a0d7b1c2e3f4a5
    state: RUNNING
    startTime: "1700000000000"
    updateTime: "1700000001000"
    upgradeSavepointPath: s3://bucket/sp-0
    savepointInfo:
      lastSavepoint: {timeStamp: 1700000000000, location: "s3://bucket/sp-0", triggerType: UPGRADE, formatType: CANONICAL}
      triggerId: ""
      savepointHistory: []
      lastPeriodicSavepointTimestamp: 0
    checkpointInfo:
      lastPeriodicCheckpointTimestamp: 0
  error: null
  observedGeneration: 2
  lifecycleState: STABLE
  clusterInfo: {flink-version: 1.20.0, flink-revision: abc, total-cpu: "2.0", total-memory: "4294967296"}
  jobManagerDeploymentStatus: READY
  reconciliationStatus:
    reconciliationTimestamp: 1700000000000
    lastReconciledSpec: '{"spec":{},"resource_metadata":{}}'
    lastStableSpec: '{"spec":{},"resource_metadata":{}}'
    state: DEPLOYED
  taskManager:
    labelSelector: component=taskmanager,app=basic-example
    replicas: 2
  conditions:
    - type: Running
      status: "True"
      reason: RunningJob
      message: Job is running
      lastTransitionTime: "2024-01-01T00:00:00Z"
      observedGeneration: 2
)");
}

json basicFlinkDeployment() {
  return parseYaml(R"(
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: basic
spec:
  image: flink:2.2
  flinkVersion: v2_2
  serviceAccount: flink
  jobManager:
    resource: {memory: 2048m, cpu: 1}
  taskManager:
    resource: {memory: 2048m, cpu: 1}
  job:
    jarURI: local:///opt/flink/examples/streaming/StateMachineExample.jar
    parallelism: 2
    upgradeMode: stateless
)");
}

std::vector<std::string> validate(const json& object, json* pruned = nullptr) {
  return validateStructural(schemaFor(object.at("kind").get<std::string>()), object, pruned);
}

}  // namespace

TEST_CASE("CRD files are small structural apiextensions v1 definitions", "[crd]") {
  const auto files = crdFiles();
  REQUIRE(files.size() == 3);
  std::set<std::string> kinds;
  for (const auto& file : files) {
    INFO(file.string());
    CHECK(fs::file_size(file) < 100 * 1024);
    const auto docs = loadDocuments(file);
    REQUIRE(docs.size() == 1);
    const json& def = docs[0];
    CHECK(def["apiVersion"] == "apiextensions.k8s.io/v1");
    CHECK(def["kind"] == "CustomResourceDefinition");
    const json& names = def["spec"]["names"];
    CHECK(def["spec"]["group"] == "flink.apache.org");
    CHECK(def["spec"]["scope"] == "Namespaced");
    CHECK(def["metadata"]["name"] == names["plural"].get<std::string>() + ".flink.apache.org");
    // The file name is <metadata.name>-v1.yml, as the Apache operator's Helm chart names its CRDs.
    CHECK(file.filename().string() == def["metadata"]["name"].get<std::string>() + "-v1.yml");
    CHECK(names["listKind"] == names["kind"].get<std::string>() + "List");
    kinds.insert(names["kind"].get<std::string>());

    REQUIRE(def["spec"]["versions"].size() == 1);
    const json& v = def["spec"]["versions"][0];
    CHECK(v["name"] == "v1beta1");
    CHECK(v["served"] == true);
    CHECK(v["storage"] == true);
    CHECK(v["subresources"]["status"] == json::object());
    for (const auto& version : def["spec"]["versions"]) {
      const json& schema = version["schema"]["openAPIV3Schema"];
      CHECK(schema["type"] == "object");
      std::vector<std::string> problems;
      checkStructural(schema, "openAPIV3Schema", problems, false);
      CHECK(join(problems) == "");
      // Only name/generateName may be constrained under metadata; these schemas leave it alone.
      CHECK(schema["properties"]["metadata"] == json{{"type", "object"}});
      CHECK(schema["properties"]["spec"]["type"] == "object");
      CHECK(schema["properties"]["status"]["type"] == "object");
    }
    CHECK(def.dump().find("$ref") == std::string::npos);
  }
  CHECK(kinds == std::set<std::string>{"FlinkDeployment", "FlinkSessionJob", "FlinkStateSnapshot"});
}

TEST_CASE("FlinkDeployment CRD has the scale subresource and the Apache printer columns", "[crd]") {
  const json& v = version(crd("FlinkDeployment"), "v1beta1");
  CHECK(crd("FlinkDeployment")["spec"]["names"]["shortNames"] == json::array({"flinkdep"}));
  const json& scale = v["subresources"]["scale"];
  CHECK(scale["specReplicasPath"] == ".spec.taskManager.replicas");
  CHECK(scale["statusReplicasPath"] == ".status.taskManager.replicas");
  CHECK(scale["labelSelectorPath"] == ".status.taskManager.labelSelector");
  const json& columns = v["additionalPrinterColumns"];
  REQUIRE(columns.size() >= 2);
  CHECK(columns[0]["name"] == "Job Status");
  CHECK(columns[0]["jsonPath"] == ".status.jobStatus.state");
  CHECK(columns[1]["name"] == "Lifecycle State");
  CHECK(columns[1]["jsonPath"] == ".status.lifecycleState");

  // The scale paths exist in the schema with the types the scale subresource needs.
  const json& props = v["schema"]["openAPIV3Schema"]["properties"];
  CHECK(props["spec"]["properties"]["taskManager"]["properties"]["replicas"]["type"] == "integer");
  CHECK(props["status"]["properties"]["taskManager"]["properties"]["replicas"]["type"] == "integer");
  CHECK(props["status"]["properties"]["taskManager"]["properties"]["labelSelector"]["type"] == "string");
}

TEST_CASE("FlinkSessionJob and FlinkStateSnapshot CRDs have the Apache names and columns", "[crd]") {
  const json& job = crd("FlinkSessionJob");
  CHECK(job["spec"]["names"]["plural"] == "flinksessionjobs");
  CHECK(job["spec"]["names"]["shortNames"] == json::array({"sessionjob"}));
  const json& jobColumns = version(job, "v1beta1")["additionalPrinterColumns"];
  CHECK(jobColumns[0]["name"] == "Job Status");
  CHECK(jobColumns[0]["jsonPath"] == ".status.jobStatus.state");
  CHECK(jobColumns[1]["name"] == "Lifecycle State");
  CHECK(jobColumns[1]["jsonPath"] == ".status.lifecycleState");
  CHECK_FALSE(version(job, "v1beta1")["subresources"].contains("scale"));

  const json& snapshot = crd("FlinkStateSnapshot");
  CHECK(snapshot["spec"]["names"]["plural"] == "flinkstatesnapshots");
  CHECK(snapshot["spec"]["names"]["shortNames"] == json::array({"flinksnp"}));
  std::map<std::string, std::string> columns;
  for (const auto& c : version(snapshot, "v1beta1")["additionalPrinterColumns"])
    columns[c["name"].get<std::string>()] = c["jsonPath"].get<std::string>();
  CHECK(columns["Path"] == ".status.path");
  CHECK(columns["Result Timestamp"] == ".status.resultTimestamp");
  CHECK(columns["Snapshot State"] == ".status.state");
}

TEST_CASE("Every Apache operator example validates against its CRD with nothing pruned", "[crd]") {
  std::size_t documents = 0;
  std::set<std::string> kinds;
  for (const auto& entry : fs::directory_iterator(kExamplesDir)) {
    if (!entry.is_regular_file()) continue;
    for (const auto& doc : loadDocuments(entry.path())) {
      INFO(entry.path().filename().string() << " " << doc["metadata"]["name"]);
      REQUIRE(doc["apiVersion"] == "flink.apache.org/v1beta1");
      json pruned;
      const auto errors = validate(doc, &pruned);
      CHECK(join(errors) == "");
      // Nothing the examples set is unknown to the schema.
      CHECK(pruned == doc);
      ++documents;
      kinds.insert(doc["kind"].get<std::string>());
    }
  }
  CHECK(documents >= 12);
  CHECK(kinds == std::set<std::string>{"FlinkDeployment", "FlinkSessionJob", "FlinkStateSnapshot"});
}

TEST_CASE("The project's example manifests validate against their CRDs", "[crd]") {
  for (const char* name : {"flight-delays.yaml", "flight-delays-native.yaml", "route-counts.yaml", "session-jobs.yaml"}) {
    const auto docs = loadDocuments(kSourceDir / "examples" / name);
    REQUIRE_FALSE(docs.empty());
    for (const auto& doc : docs) {
      INFO(name);
      json pruned;
      CHECK(join(validate(doc, &pruned)) == "");
      CHECK(pruned == doc);
    }
  }
}

TEST_CASE("A FlinkDeployment with every spec and status field validates unchanged", "[crd]") {
  const json fd = deployedFlinkDeployment();
  json pruned;
  CHECK(join(validate(fd, &pruned)) == "");
  json expected = fd;
  expected["status"].erase("error");  // a non-nullable null is dropped, as the API server does
  CHECK(pruned == expected);
}

TEST_CASE("FlinkSessionJob and FlinkStateSnapshot statuses validate", "[crd]") {
  const json job = parseYaml(R"(
apiVersion: flink.apache.org/v1beta1
kind: FlinkSessionJob
metadata: {name: job}
spec:
  deploymentName: session
  restartNonce: 1
  flinkConfiguration: {pipeline.name: x, nested: {a: 1}}
  job: {jarURI: https://example.com/job.jar, parallelism: 2, upgradeMode: savepoint, state: suspended}
status:
  jobStatus: {jobId: abc, state: FINISHED, savepointInfo: {triggerId: t}}
  lifecycleState: SUSPENDED
  observedGeneration: 4
  reconciliationStatus: {reconciliationTimestamp: 1700000000000, lastReconciledSpec: "{}", state: UPGRADING}
)");
  json pruned;
  CHECK(join(validate(job, &pruned)) == "");
  CHECK(pruned == job);

  const json snapshot = parseYaml(R"(
apiVersion: flink.apache.org/v1beta1
kind: FlinkStateSnapshot
metadata: {name: cp}
spec:
  backoffLimit: -1
  jobReference: {kind: FlinkSessionJob, name: job, namespace: other}
  checkpoint: {}
status:
  state: COMPLETED
  triggerId: "123"
  triggerTimestamp: "2024-01-01T00:00:00Z"
  resultTimestamp: "2024-01-01T00:00:05Z"
  path: s3://bucket/chk-7
  failures: 0
)");
  CHECK(join(validate(snapshot, &pruned)) == "");
  CHECK(pruned == snapshot);

  json bad = snapshot;
  bad["spec"]["jobReference"]["kind"] = "Deployment";
  bad["status"]["state"] = "DONE";
  const auto errors = validate(bad);
  CHECK(contains(errors, R"(spec.jobReference.kind: Unsupported value: "Deployment": supported values: "FlinkDeployment", "FlinkSessionJob")"));
  CHECK(contains(errors, R"(status.state: Unsupported value: "DONE": supported values: "COMPLETED", "FAILED", "IN_PROGRESS", "TRIGGER_PENDING", "ABANDONED")"));
}

TEST_CASE("Invalid FlinkDeployment fields are reported in the API server wording", "[crd]") {
  SECTION("parallelism of the wrong type") {
    json fd = basicFlinkDeployment();
    fd["spec"]["job"]["parallelism"] = "two";
    const auto errors = validate(fd);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] ==
          R"(spec.job.parallelism: Invalid value: "string": spec.job.parallelism in body must be of type integer: "string")");
  }
  SECTION("unsupported upgrade mode") {
    json fd = basicFlinkDeployment();
    fd["spec"]["job"]["upgradeMode"] = "foo";
    const auto errors = validate(fd);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] ==
          R"(spec.job.upgradeMode: Unsupported value: "foo": supported values: "savepoint", "last-state", "stateless")");
  }
  SECTION("unsupported flink version and mode") {
    json fd = basicFlinkDeployment();
    fd["spec"]["flinkVersion"] = "v3_0";
    fd["spec"]["mode"] = "yarn";
    const auto errors = validate(fd);
    CHECK(errors.size() == 2);
    CHECK(contains(errors, R"(spec.mode: Unsupported value: "yarn": supported values: "native", "standalone")"));
  }
  SECTION("jarURI is optional as in the Apache CRD") {
    // The Apache operator's JobSpec documents jarURI as optional (the jar may be on the
    // classpath), so its CRD does not require it and neither does ours.
    json fd = basicFlinkDeployment();
    fd["spec"]["job"].erase("jarURI");
    CHECK(join(validate(fd)) == "");
  }
  SECTION("required fields") {
    json fd = basicFlinkDeployment();
    fd["spec"]["taskManager"]["resources"] = {{"claims", json::array({json{{"request", "gpu"}}})}};
    CHECK(validate(fd) == std::vector<std::string>{"spec.taskManager.resources.claims[0].name: Required value"});
  }
  SECTION("replicas for the scale subresource") {
    json fd = basicFlinkDeployment();
    fd["spec"]["taskManager"]["replicas"] = "3";
    fd["status"]["taskManager"]["replicas"] = 2.5;
    const auto errors = validate(fd);
    CHECK(contains(errors, R"(spec.taskManager.replicas: Invalid value: "string": spec.taskManager.replicas in body must be of type integer: "string")"));
    CHECK(contains(errors, R"(status.taskManager.replicas: Invalid value: "number": status.taskManager.replicas in body must be of type integer: "number")"));
  }
  SECTION("array items and maps") {
    json fd = basicFlinkDeployment();
    fd["spec"]["job"]["args"] = json::array({"--ok", 3});
    fd["spec"]["logConfiguration"] = {{"log4j.properties", true}};
    fd["spec"]["ingress"] = {{"tls", json::array({json{{"hosts", "one"}}})}};
    const auto errors = validate(fd);
    CHECK(errors.size() == 3);
    CHECK(contains(errors, R"(spec.job.args[1]: Invalid value: "integer": spec.job.args[1] in body must be of type string: "integer")"));
    CHECK(contains(errors, R"(spec.logConfiguration.log4j.properties: Invalid value: "boolean": spec.logConfiguration.log4j.properties in body must be of type string: "boolean")"));
    CHECK(contains(errors, R"(spec.ingress.tls[0].hosts: Invalid value: "string": spec.ingress.tls[0].hosts in body must be of type array: "string")"));
  }
  SECTION("resource quantities are integers or quantity strings") {
    json fd = basicFlinkDeployment();
    fd["spec"]["jobManager"]["resources"] = {{"requests", {{"cpu", 1}, {"memory", "2048m"}}},
                                             {"limits", {{"cpu", true}, {"memory", "lots"}}}};
    const auto errors = validate(fd);
    CHECK(errors.size() == 2);
    CHECK(contains(errors, R"(spec.jobManager.resources.limits.cpu: Invalid value: "boolean": spec.jobManager.resources.limits.cpu in body must be of type integer,string: "boolean")"));
    bool patternError = false;
    for (const auto& e : errors)
      patternError |= e.rfind(R"(spec.jobManager.resources.limits.memory: Invalid value: "lots": spec.jobManager.resources.limits.memory in body should match '^)", 0) == 0;
    CHECK(patternError);
  }
  SECTION("a spec that is not an object") {
    json fd = basicFlinkDeployment();
    fd["spec"] = json::array();
    CHECK(validate(fd) == std::vector<std::string>{R"(spec: Invalid value: "array": spec in body must be of type object: "array")"});
  }
}

TEST_CASE("Unknown fields are pruned except under preserve-unknown-fields", "[crd]") {
  json fd = basicFlinkDeployment();
  fd["spec"]["unknownField"] = "x";
  fd["spec"]["job"]["jarUri"] = "misspelt";
  fd["spec"]["jobManager"]["resource"]["gpu"] = 1;
  fd["status"] = {{"lifecycleState", "DEPLOYED"}, {"somethingElse", {{"a", 1}}}};
  fd["extra"] = true;
  fd["spec"]["podTemplate"] = parseYaml(R"(
apiVersion: v1
kind: Pod
metadata: {labels: {team: data}}
spec:
  containers:
    - name: flink-main-container
      env: [{name: A, value: b}]
      anything: {goes: [1, 2, {here: true}]}
  volumes: [{name: v, emptyDir: {}}]
)");
  fd["spec"]["taskManager"]["podTemplate"] = {{"spec", {{"nodeSelector", {{"disk", "ssd"}}}}}};
  fd["spec"]["flinkConfiguration"] = parseYaml(R"(
taskmanager.numberOfTaskSlots: 2
state: {checkpoints.dir: "file:///x", backend: {type: rocksdb}}
high-availability: {type: kubernetes}
execution.checkpointing.interval: 1m
)");
  fd["spec"]["job"]["savepointInfo"] = {{"unknown", "too"}};
  fd["status"]["jobStatus"] = {{"state", "RUNNING"}, {"savepointInfo", {{"any", {{"nested", "thing"}}}}}, {"bogus", 1}};

  json pruned;
  const auto errors = validate(fd, &pruned);
  CHECK(join(errors) == "");

  CHECK_FALSE(pruned.contains("extra"));
  CHECK_FALSE(pruned["spec"].contains("unknownField"));
  CHECK_FALSE(pruned["spec"]["job"].contains("jarUri"));
  CHECK_FALSE(pruned["spec"]["job"].contains("savepointInfo"));
  CHECK_FALSE(pruned["spec"]["jobManager"]["resource"].contains("gpu"));
  CHECK_FALSE(pruned["status"].contains("somethingElse"));
  CHECK_FALSE(pruned["status"]["jobStatus"].contains("bogus"));
  // Preserved: pod templates, flinkConfiguration, savepointInfo, and the known fields.
  CHECK(pruned["spec"]["podTemplate"] == fd["spec"]["podTemplate"]);
  CHECK(pruned["spec"]["taskManager"]["podTemplate"] == fd["spec"]["taskManager"]["podTemplate"]);
  CHECK(pruned["spec"]["flinkConfiguration"] == fd["spec"]["flinkConfiguration"]);
  CHECK(pruned["status"]["jobStatus"]["savepointInfo"] == fd["status"]["jobStatus"]["savepointInfo"]);
  CHECK(pruned["spec"]["job"]["jarURI"] == fd["spec"]["job"]["jarURI"]);
  CHECK(pruned["status"]["lifecycleState"] == "DEPLOYED");
  CHECK(pruned["metadata"] == fd["metadata"]);
  CHECK(pruned["apiVersion"] == "flink.apache.org/v1beta1");
  CHECK(pruned["kind"] == "FlinkDeployment");

  // A pruned field is not validated: a misspelt field of the wrong type is no error either.
  json misspelt = basicFlinkDeployment();
  misspelt["spec"]["job"]["paralelism"] = "two";
  CHECK(join(validate(misspelt)) == "");
  // Validation without a pruned copy reports the same.
  CHECK(validate(fd).empty());
}

TEST_CASE("validateStructural implements the structural schema keywords", "[crd]") {
  const json schema = parseYaml(R"(
type: object
properties:
  apiVersion: {type: string}
  kind: {type: string}
  metadata: {type: object}
  spec:
    type: object
    required: [name]
    properties:
      name: {type: string, minLength: 2, pattern: '^[a-z]+$'}
      count: {type: integer, format: int32, minimum: 1, maximum: 10}
      ratio: {type: number, minimum: 0, maximum: 1, exclusiveMaximum: true}
      big: {type: integer, format: int64}
      flag: {type: boolean}
      optional: {type: string, nullable: true}
      dropped: {type: string}
      port: {x-kubernetes-int-or-string: true}
      tags: {type: array, maxItems: 2, items: {type: string}}
      labels: {type: object, additionalProperties: {type: string}}
      anything: {type: object, additionalProperties: true}
      free: {x-kubernetes-preserve-unknown-fields: true}
      level: {type: integer, enum: [1, 2, 3]}
      list:
        type: array
        x-kubernetes-preserve-unknown-fields: true
        items: {type: object, properties: {a: {type: integer}, b: {type: object, properties: {c: {type: string}}}}}
      closed: {type: object, additionalProperties: false}
      nested:
        type: object
        x-kubernetes-preserve-unknown-fields: true
        properties:
          known: {type: integer}
      embedded:
        type: object
        x-kubernetes-embedded-resource: true
        properties:
          spec: {type: object, properties: {a: {type: string}}}
      either:
        type: object
        properties:
          a: {type: string}
          b: {type: string}
        oneOf:
          - required: [a]
          - required: [b]
)");

  SECTION("a valid object") {
    const json obj = parseYaml(R"(
apiVersion: example.com/v1
kind: Thing
metadata: {name: t, labels: {a: b}}
spec:
  name: abc
  count: 10
  ratio: 0.5
  big: 9000000000
  flag: false
  optional: null
  dropped: null
  port: http
  tags: [x, y]
  labels: {a: b}
  anything: {x: [1, {y: 2}]}
  free: [1, "two", {three: 3}]
  level: 2
  list: [{a: 1, extra: {deep: [1]}, b: {c: x, pruned: y}}]
  closed: {x: 1}
  nested: {known: 1, other: {kept: true}}
  embedded: {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, spec: {a: x, b: y}}
  either: {a: x}
)");
    json pruned;
    CHECK(join(validateStructural(schema, obj, &pruned)) == "");
    json expected = obj;
    expected["spec"].erase("dropped");               // non-nullable null
    expected["spec"]["embedded"]["spec"].erase("b");  // unknown below an embedded resource
    expected["spec"]["list"][0]["b"].erase("pruned");  // preserving a list reaches its items only
    expected["spec"]["closed"] = json::object();        // additionalProperties false prunes
    CHECK(pruned == expected);
  }

  SECTION("each keyword reports its error") {
    const json obj = parseYaml(R"(
apiVersion: 1
kind: Thing
metadata: []
spec:
  name: A
  count: 0
  ratio: 1
  big: 1.5
  flag: "yes"
  port: 1.5
  tags: [a, b, c]
  labels: {a: 1}
  level: 4
  list: [{a: x}]
  nested: {known: x}
  either: {a: x, b: y}
)");
    const auto errors = validateStructural(schema, obj, nullptr);
    const std::vector<std::string> expected = {
        R"(apiVersion: Invalid value: "integer": apiVersion in body must be of type string: "integer")",
        R"(metadata: Invalid value: "array": metadata in body must be of type object: "array")",
        R"(spec.name: Invalid value: "A": spec.name in body should be at least 2 chars long)",
        R"(spec.name: Invalid value: "A": spec.name in body should match '^[a-z]+$')",
        R"(spec.count: Invalid value: 0: spec.count in body should be greater than or equal to 1)",
        R"(spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1)",
        R"(spec.big: Invalid value: "number": spec.big in body must be of type integer: "number")",
        R"(spec.flag: Invalid value: "string": spec.flag in body must be of type boolean: "string")",
        R"(spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number")",
        R"(spec.tags: Too many: 3: must have at most 2 items)",
        R"(spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer")",
        R"(spec.level: Unsupported value: 4: supported values: 1, 2, 3)",
        R"(spec.list[0].a: Invalid value: "string": spec.list[0].a in body must be of type integer: "string")",
        R"(spec.nested.known: Invalid value: "string": spec.nested.known in body must be of type integer: "string")",
        R"(spec.either: Invalid value: {"a":"x","b":"y"}: spec.either in body must validate one and only one schema (oneOf))",
    };
    for (const auto& e : expected) {
      INFO(join(errors));
      CHECK(contains(errors, e));
    }
    CHECK(errors.size() == expected.size());
  }

  SECTION("required and int32 range") {
    const json obj = {{"spec", {{"count", 3000000000LL}}}};
    const auto errors = validateStructural(schema, obj, nullptr);
    CHECK(contains(errors, "spec.name: Required value"));
    CHECK(contains(errors, R"(spec.count: Invalid value: 3000000000: spec.count in body must be of type int32: "3000000000")"));
  }

  SECTION("a non-nullable required null is missing") {
    const json obj = {{"spec", {{"name", nullptr}}}};
    CHECK(validateStructural(schema, obj, nullptr) == std::vector<std::string>{"spec.name: Required value"});
  }

  SECTION("a root that is not an object") {
    CHECK(validateStructural(schema, "text", nullptr) ==
          std::vector<std::string>{R"(<root>: Invalid value: "string": body must be of type object: "string")"});
  }
}

TEST_CASE("validateStructural never throws on odd schemas or objects", "[crd]") {
  const std::vector<json> schemas = {
      json(), json("string"), json::array(), json{{"type", 3}}, json{{"properties", "x"}},
      json{{"type", "object"}, {"properties", {{"a", "notaschema"}}}, {"required", "a"}},
      json{{"type", "string"}, {"pattern", "(unclosed"}},
      json{{"type", "array"}, {"items", json::array()}},
      json{{"anyOf", 5}, {"enum", "x"}, {"minimum", "1"}},
  };
  json deep = json::object();
  json* cursor = &deep;
  for (int i = 0; i < 1000; ++i) cursor = &((*cursor)["a"] = json::object());
  const std::vector<json> objects = {json(), json{{"a", "x"}}, json::array({1, 2}), json("s"), deep,
                                     json{{"spec", std::string("\xff\xfe", 2)}}};
  for (const auto& s : schemas) {
    for (const auto& o : objects) {
      json pruned;
      CHECK_NOTHROW(validateStructural(s, o, &pruned));
      CHECK_NOTHROW(validateStructural(s, o, nullptr));
    }
  }
  // A deeply nested value under a preserve-unknown-fields node is kept, not recursed into.
  json fd = basicFlinkDeployment();
  fd["spec"]["podTemplate"] = deep;
  json pruned;
  CHECK(validate(fd, &pruned).empty());
  CHECK(pruned["spec"]["podTemplate"] == deep);
}

TEST_CASE("validateStructural is fast enough to run on every API request", "[crd]") {
  const json fd = deployedFlinkDeployment();
  const json& schema = schemaFor("FlinkDeployment");
  const auto start = std::chrono::steady_clock::now();
  std::size_t errors = 0;
  for (int i = 0; i < 2000; ++i) {
    json pruned;
    errors += validateStructural(schema, fd, &pruned).size();
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(errors == 0);
  // About 20 µs each on the 2-core CI machine in a release build; the bound leaves room for
  // debug builds and sanitizers.
  CHECK(elapsed < std::chrono::seconds(10));
}
