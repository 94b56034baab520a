// Tests of what a FlinkDeployment becomes in Kubernetes (controller/resources.h): the five
// children of examples/flight-delays.yaml and of the Apache operator's example manifests
// (names, labels, owner references), container arguments in application and session mode,
// TaskManager replicas and the parallelism they imply, the Ingress of spec.ingress and its
// template expansion, memory conversion, pod template merging, the generated Flink
// configuration, determinism, and the validation rules.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "api/flink_deployment.h"
#include "controller/resources.h"
#include "flink/configuration.h"

using namespace flink;
using namespace flink::k8s;
using nlohmann::json;

namespace {

const std::string kUid = "0b5f4f4e-8d1a-4c3e-9a43-6f1d2b7c9e10";

std::string flightDelaysPath() { return std::string(FLINK_SOURCE_DIR) + "/examples/flight-delays.yaml"; }
std::string compatPath(const std::string& name) {
  return std::string(FLINK_TEST_COMPAT_DIR) + "/flink-kubernetes-operator-examples/" + name;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

FlinkDeployment load(const std::string& path) {
  auto r = loadFlinkDeployment(path);
  INFO(path << ": " << r.status().message());
  REQUIRE(r.ok());
  FlinkDeployment fd = *r;
  fd.uid = kUid;
  return fd;
}

/// Parses the first FlinkDeployment document of `text`.
Result<FlinkDeployment> parseText(const std::string& text) {
  for (const auto& doc : YAML::LoadAll(text)) {
    if (doc.IsMap() && doc["kind"] && doc["kind"].as<std::string>() == "FlinkDeployment") {
      auto r = parseFlinkDeployment(doc, "test.yaml");
      if (r.ok()) r->uid = kUid;
      return r;
    }
  }
  return Status::Error("no FlinkDeployment");
}

FlinkDeployment parse(const std::string& text) {
  auto r = parseText(text);
  INFO(text << "\n" << r.status().message());
  REQUIRE(r.ok());
  return *r;
}

/// `text` with the first occurrence of `from` replaced by `to` (which must exist).
std::string edit(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  INFO("'" << from << "' in the manifest");
  REQUIRE(pos != std::string::npos);
  return text.replace(pos, from.size(), to);
}

struct Children {
  json configMap, service, restService, jobManager, taskManager;
};

Children children(const FlinkDeployment& fd, const OperatorConfig& config = {}) {
  auto all = desiredResources(fd, config);
  REQUIRE(all.size() == (fd.spec.ingress ? 6u : 5u));
  return {all[0], all[1], all[2], all[3], all[4]};
}

const json& mainContainer(const json& deployment) {
  const json& containers = deployment.at("spec").at("template").at("spec").at("containers");
  for (const auto& c : containers) {
    if (c.at("name") == "flink-main-container") return c;
  }
  FAIL("no flink-main-container in " << deployment.dump(2));
  return containers;
}

const json* findByName(const json& list, const std::string& name) {
  for (const auto& e : list) {
    if (e.contains("name") && e["name"] == name) return &e;
  }
  return nullptr;
}

std::vector<std::string> args(const json& deployment) { return mainContainer(deployment).at("args").get<std::vector<std::string>>(); }

Configuration clusterConfig(const json& configMap) {
  const json& data = configMap.at("data");
  std::string key = data.contains("config.yaml") ? "config.yaml" : "flink-conf.yaml";
  auto r = Configuration::parseYaml(data.at(key).get<std::string>(), key);
  INFO(r.status().message());
  REQUIRE(r.ok());
  return *r;
}

/// The invariants every set of children satisfies: names, kinds, namespace, labels,
/// owner references, selectors, the configuration volume and the main container.
void checkChildren(const FlinkDeployment& fd, std::vector<json> all) {
  REQUIRE(all.size() == (fd.spec.ingress ? 6u : 5u));
  if (fd.spec.ingress) {
    // The Ingress comes last, owned like the others (its own checks are in the ingress tests).
    CHECK(all[5].at("kind") == "Ingress");
    CHECK(all[5].at("metadata").at("ownerReferences").at(0).at("uid") == kUid);
    all.pop_back();
  }
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"ConfigMap", "flink-config-" + fd.name}, {"Service", fd.name}, {"Service", fd.name + "-rest"},
      {"Deployment", fd.name}, {"Deployment", fd.name + "-taskmanager"}};
  const std::vector<std::string> components = {"", "jobmanager", "jobmanager", "jobmanager", "taskmanager"};
  for (size_t i = 0; i < all.size(); ++i) {
    const json& o = all[i];
    INFO(o.dump(2));
    CHECK(o.at("kind") == expected[i].first);
    CHECK(o.at("apiVersion") == (expected[i].first == "Deployment" ? "apps/v1" : "v1"));
    const json& meta = o.at("metadata");
    CHECK(meta.at("name") == expected[i].second);
    CHECK(meta.at("namespace") == fd.namespace_);
    CHECK(meta.at("labels").at("app") == fd.name);
    if (components[i].empty()) {
      CHECK_FALSE(meta.at("labels").contains("component"));
    } else {
      CHECK(meta.at("labels").at("component") == components[i]);
    }
    REQUIRE(meta.at("ownerReferences").size() == 1);
    const json& owner = meta.at("ownerReferences")[0];
    CHECK(owner == json{{"apiVersion", "flink.apache.org/v1beta1"},
                        {"kind", "FlinkDeployment"},
                        {"name", fd.name},
                        {"uid", kUid},
                        {"controller", true},
                        {"blockOwnerDeletion", true}});
  }
  CHECK(configMapName(fd) == "flink-config-" + fd.name);
  CHECK(jobManagerName(fd) == fd.name);
  CHECK(taskManagerName(fd) == fd.name + "-taskmanager");
  CHECK(restServiceName(fd) == fd.name + "-rest");

  json jmSelector = {{"app", fd.name}, {"component", "jobmanager"}};
  json tmSelector = {{"app", fd.name}, {"component", "taskmanager"}};
  CHECK(all[1].at("spec").at("selector") == jmSelector);
  CHECK(all[1].at("spec").at("clusterIP") == "None");
  CHECK(all[2].at("spec").at("selector") == jmSelector);
  for (size_t i : {3u, 4u}) {
    const json& d = all[i];
    INFO(d.dump(2));
    const json& selector = i == 3 ? jmSelector : tmSelector;
    CHECK(d.at("spec").at("selector").at("matchLabels") == selector);
    const json& podLabels = d.at("spec").at("template").at("metadata").at("labels");
    for (const auto& [k, v] : selector.items()) CHECK(podLabels.at(k) == v);
    const json& podSpec = d.at("spec").at("template").at("spec");
    const json* volume = findByName(podSpec.at("volumes"), "flink-config-volume");
    REQUIRE(volume != nullptr);
    CHECK(volume->at("configMap").at("name") == "flink-config-" + fd.name);
    const json& main = mainContainer(d);
    CHECK(main.at("image") == (fd.spec.image.empty() ? "flink-cpp:latest" : fd.spec.image));
    const json* mount = findByName(main.at("volumeMounts"), "flink-config-volume");
    REQUIRE(mount != nullptr);
    CHECK(mount->at("mountPath") == "/opt/flink/conf");
    const json* confDir = findByName(main.at("env"), "FLINK_CONF_DIR");
    REQUIRE(confDir != nullptr);
    CHECK(confDir->at("value") == "/opt/flink/conf");
    if (!fd.spec.serviceAccount.empty()) CHECK(podSpec.at("serviceAccountName") == fd.spec.serviceAccount);
    const json& annotations = d.at("spec").at("template").at("metadata").at("annotations");
    CHECK(annotations.at("prometheus.io/scrape") == "true");
    CHECK(annotations.at("prometheus.io/port") == "9249");
  }
  CHECK(all[3].at("spec").at("replicas") == fd.spec.jobManager.replicas);
  CHECK(all[4].at("spec").at("replicas") == fd.taskManagerReplicas());
  std::string firstArg = fd.spec.job ? "standalone-job" : "jobmanager";
  CHECK(args(all[3]).at(0) == firstArg);
  CHECK(args(all[4]).at(0) == "taskmanager");

  Configuration conf = clusterConfig(all[0]);
  CHECK(conf.getString("jobmanager.rpc.address", "") == fd.name);
  CHECK(conf.getString("kubernetes.cluster-id", "") == fd.name);
  CHECK(conf.getString("taskmanager.numberOfTaskSlots", "") == std::to_string(fd.taskSlots()));
  CHECK(conf.getString("parallelism.default", "") == std::to_string(fd.parallelism()));
  CHECK(conf.contains("jobmanager.memory.process.size"));
  CHECK(conf.contains("taskmanager.memory.process.size"));
}

int64_t bytesOf(const std::string& text) {
  auto r = parseMemoryBytes(text);
  INFO(text << ": " << r.status().message());
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("the metrics container port follows metrics.reporter.prom.port, the first port of a range", "[resources]") {
  const char* values[] = {"9300", "9250-9259", " 9260 - 9270 ", "nonsense"};
  const int expectedPorts[] = {9300, 9250, 9260, 9249};
  for (int k = 0; k < 4; ++k) {
    const std::string value = values[k];
    const int expected = expectedPorts[k];
    FlinkDeployment fd = load(flightDelaysPath());
    fd.spec.flinkConfiguration["metrics.reporter.prom.port"] = value;
    auto all = desiredResources(fd, OperatorConfig{});
    for (int i : {3, 4}) {  // the JobManager and TaskManager Deployments
      int port = -1;
      for (const auto& p : mainContainer(all[i]).at("ports")) {
        if (p.at("name").get<std::string>() == "metrics") port = p.at("containerPort").get<int>();
      }
      INFO(value << " in " << all[i].at("metadata").at("name"));
      CHECK(port == expected);
    }
  }
}

TEST_CASE("flight-delays becomes five children named and owned as the Apache operator names them", "[resources]") {
  FlinkDeployment fd = load(flightDelaysPath());
  auto all = desiredResources(fd, OperatorConfig{});
  checkChildren(fd, all);
  Children c{all[0], all[1], all[2], all[3], all[4]};

  CHECK(c.configMap.at("metadata").at("name") == "flink-config-flight-delays");
  CHECK(c.service.at("spec").at("ports") ==
        json::array({{{"name", "jobmanager-rpc"}, {"port", 6123}, {"targetPort", 6123}, {"protocol", "TCP"}},
                     {{"name", "blobserver"}, {"port", 6124}, {"targetPort", 6124}, {"protocol", "TCP"}}}));
  CHECK(c.restService.at("metadata").at("name") == "flight-delays-rest");
  CHECK(c.restService.at("spec").at("type") == "ClusterIP");
  CHECK(c.restService.at("spec").at("ports") ==
        json::array({{{"name", "rest"}, {"port", 8081}, {"targetPort", 8081}, {"protocol", "TCP"}}}));

  // Application mode: the entry class and the job's arguments.
  CHECK(args(c.jobManager) ==
        std::vector<std::string>{"standalone-job", "--job-classname", "flinkcpp.examples.FlightDelays", "--input",
                                 "examples/data/flights-3m.csv.gz", "--output", "out/flight-delays", "--key", "origin",
                                 "--window", "1 h", "--max-out-of-orderness", "0 ms"});
  CHECK(c.jobManager.at("spec").at("replicas") == 1);
  // parallelism 2, one slot per TaskManager.
  CHECK(c.taskManager.at("spec").at("replicas") == 2);
  CHECK(args(c.taskManager) == std::vector<std::string>{"taskmanager", "-Dtaskmanager.host=$(_POD_IP_ADDRESS)"});

  const json& jm = mainContainer(c.jobManager);
  CHECK(jm.at("image") == "flink-cpp:latest");
  CHECK(jm.at("resources") == json{{"requests", {{"cpu", "1"}, {"memory", "1Gi"}}},
                                   {"limits", {{"cpu", "1"}, {"memory", "1Gi"}}}});
  std::set<std::pair<std::string, int>> jmPorts, tmPorts;
  for (const auto& p : jm.at("ports")) jmPorts.insert({p.at("name").get<std::string>(), p.at("containerPort").get<int>()});
  for (const auto& p : mainContainer(c.taskManager).at("ports")) tmPorts.insert({p.at("name").get<std::string>(), p.at("containerPort").get<int>()});
  CHECK(jmPorts == std::set<std::pair<std::string, int>>{{"rest", 8081}, {"jobmanager-rpc", 6123}, {"blobserver", 6124}, {"metrics", 9249}});
  CHECK(tmPorts == std::set<std::pair<std::string, int>>{{"data", 6121}, {"metrics", 9249}});
  CHECK(jm.at("readinessProbe").at("tcpSocket").at("port") == 8081);
  const json* podIp = findByName(jm.at("env"), "_POD_IP_ADDRESS");
  REQUIRE(podIp != nullptr);
  CHECK(podIp->at("valueFrom").at("fieldRef").at("fieldPath") == "status.podIP");
  CHECK(c.jobManager.at("spec").at("template").at("spec").at("serviceAccountName") == "flink");
  CHECK(c.jobManager.at("spec").at("strategy").at("type") == "Recreate");

  // The configuration the pods read: flinkConfiguration plus the computed keys.
  REQUIRE(c.configMap.at("data").contains("config.yaml"));
  CHECK_FALSE(c.configMap.at("data").contains("flink-conf.yaml"));
  Configuration conf = clusterConfig(c.configMap);
  CHECK(conf.getString("jobmanager.rpc.address", "") == "flight-delays");
  CHECK(conf.getString("jobmanager.rpc.port", "") == "6123");
  CHECK(conf.getString("blob.server.port", "") == "6124");
  CHECK(conf.getString("rest.port", "") == "8081");
  CHECK(conf.getString("rest.address", "") == "flight-delays");
  CHECK(conf.getString("taskmanager.numberOfTaskSlots", "") == "1");
  CHECK(conf.getString("parallelism.default", "") == "2");
  CHECK(conf.getString("taskmanager.data.port", "") == "6121");
  CHECK(conf.getString("jobmanager.memory.process.size", "") == "1024m");
  CHECK(conf.getString("taskmanager.memory.process.size", "") == "1024m");
  CHECK(conf.getString("kubernetes.cluster-id", "") == "flight-delays");
  CHECK(conf.getString("kubernetes.namespace", "") == "default");
  CHECK(conf.getString("execution.shutdown-on-application-finish", "") == "false");
  CHECK(conf.getString("$internal.application.main", "") == "flinkcpp.examples.FlightDelays");
  CHECK(conf.getString("pipeline.jars", "") == "builtin://flink-cpp-examples");
  CHECK_FALSE(conf.contains("high-availability.cluster-id"));
  // What the runtime's typed getters need parses.
  CHECK(conf.getInt("rest.port", 0).ok());
  CHECK(parseMemoryBytes(conf.getString("taskmanager.memory.process.size", "")).ok());
}

TEST_CASE("Every FlinkDeployment among the Apache operator examples gets consistent children", "[resources]") {
  // canary.yaml has no spec; snapshot_savepoint-job-full-spec.yaml holds only a FlinkStateSnapshot.
  const std::set<std::string> notDeployments = {"canary.yaml", "snapshot_savepoint-job-full-spec.yaml"};
  int checked = 0;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(compatPath(""))) {
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    auto r = loadFlinkDeployment(path.string());
    if (!r.ok()) {
      INFO(path << ": " << r.status().message());
      CHECK(notDeployments.count(path.filename().string()) == 1);
      continue;
    }
    FlinkDeployment fd = *r;
    fd.uid = kUid;
    INFO(path);
    Status valid = validateFlinkDeployment(fd, nullptr);
    INFO(valid.message());
    CHECK(valid.ok());
    auto all = desiredResources(fd, OperatorConfig{});
    checkChildren(fd, all);
    // Flink 2.x and 1.20 examples: config.yaml.
    CHECK(all[0].at("data").contains("config.yaml"));
    // `resources.requests` (2048m, Flink notation: 2 GiB) becomes a canonical Kubernetes quantity.
    const json& jmResources = mainContainer(all[3]).at("resources");
    CHECK(jmResources.at("requests").at("memory") == "2Gi");
    Configuration conf = clusterConfig(all[0]);
    CHECK(conf.getString("jobmanager.memory.process.size", "") == "2048m");
    if (fd.spec.job) {
      // local:///opt/flink/... is a file in the image.
      CHECK(conf.getString("pipeline.classpaths", "") == "file://" + fd.spec.job->jarURI.substr(std::string("local://").size()));
    }
    ++checked;
  }
  CHECK(checked >= 8);
}

TEST_CASE("A session cluster runs jobmanager and one TaskManager by default", "[resources]") {
  FlinkDeployment fd = load(compatPath("basic-session-deployment-and-job.yaml"));
  REQUIRE_FALSE(fd.spec.job.has_value());
  Children c = children(fd);
  CHECK(args(c.jobManager) == std::vector<std::string>{"jobmanager"});
  CHECK(c.taskManager.at("spec").at("replicas") == 1);
  Configuration conf = clusterConfig(c.configMap);
  CHECK_FALSE(conf.contains("$internal.application.main"));
  CHECK(mainContainer(c.jobManager).at("image") == "flink:2.2");
}

TEST_CASE("An application without entryClass runs standalone-job with only its arguments", "[resources]") {
  FlinkDeployment fd = load(compatPath("autoscaling_autoscaling.yaml"));
  Children c = children(fd);
  CHECK(args(c.jobManager) == std::vector<std::string>{"standalone-job", "-Djobmanager.rpc.address=$(_POD_IP_ADDRESS)", "10"});
  // parallelism 1, 4 slots.
  CHECK(c.taskManager.at("spec").at("replicas") == 1);
}

TEST_CASE("TaskManager replicas are ceil of parallelism over slots unless taskManager.replicas is set", "[resources]") {
  std::string text = readFile(flightDelaysPath());
  SECTION("parallelism 5 over 2 slots") {
    std::string t = edit(text, "taskmanager.numberOfTaskSlots: \"1\"", "taskmanager.numberOfTaskSlots: \"2\"");
    t = edit(t, "parallelism: 2", "parallelism: 5");
    CHECK(children(parse(t)).taskManager.at("spec").at("replicas") == 3);
  }
  SECTION("parallelism 4 over 2 slots") {
    std::string t = edit(text, "taskmanager.numberOfTaskSlots: \"1\"", "taskmanager.numberOfTaskSlots: \"2\"");
    t = edit(t, "parallelism: 2", "parallelism: 4");
    CHECK(children(parse(t)).taskManager.at("spec").at("replicas") == 2);
  }
  SECTION("taskManager.replicas wins, and sets the parallelism to replicas x slots (the scale subresource)") {
    std::string t = edit(text, "  taskManager:\n", "  taskManager:\n    replicas: 7\n");
    t = edit(t, "taskmanager.numberOfTaskSlots: \"1\"", "taskmanager.numberOfTaskSlots: \"2\"");
    FlinkDeployment fd = parse(t);
    REQUIRE(fd.spec.job->parallelism == 2);  // ignored, as the Apache operator does
    Children c = children(fd);
    CHECK(c.taskManager.at("spec").at("replicas") == 7);
    CHECK(clusterConfig(c.configMap).getString("parallelism.default", "") == "14");
    CHECK(fd.parallelism() == 14);
  }
  SECTION("jobManager.replicas with high availability") {
    std::string t = edit(text, "  jobManager:\n", "  jobManager:\n    replicas: 2\n");
    t = edit(t, "    taskmanager.numberOfTaskSlots: \"1\"\n",
             "    taskmanager.numberOfTaskSlots: \"1\"\n    high-availability.type: kubernetes\n"
             "    high-availability.storageDir: file:///ha\n");
    FlinkDeployment fd = parse(t);
    CHECK(validateFlinkDeployment(fd, nullptr).ok());
    Children c = children(fd);
    CHECK(c.jobManager.at("spec").at("replicas") == 2);
    CHECK(clusterConfig(c.configMap).getString("high-availability.cluster-id", "") == "flight-delays");
    auto a = args(c.jobManager);
    CHECK(std::find(a.begin(), a.end(), "-Djobmanager.rpc.address=$(_POD_IP_ADDRESS)") != a.end());
  }
}

TEST_CASE("Memory sizes become Kubernetes quantities for pods and Flink sizes for the configuration", "[resources]") {
  std::string text = readFile(flightDelaysPath());
  struct Case {
    std::string memory, quantity, flink;
  };
  // Quantities in the form the API server stores them (largest exact binary unit, else
  // DecimalSI), so that the controller's comparison with the live objects converges.
  for (const Case& k : std::vector<Case>{{"2048m", "2Gi", "2048m"},
                                         {"1g", "1Gi", "1024m"},
                                         {"1536m", "1536Mi", "1536m"},
                                         {"2Gi", "2Gi", "2048m"},
                                         {"512 mb", "512Mi", "512m"},
                                         {"1073741824", "1Gi", "1024m"},
                                         {"1000000000", "1G", "1000000000b"},
                                         {"1001", "1001", "1001b"}}) {
    INFO(k.memory);
    std::string t = edit(text, "  taskManager:\n    resource:\n      memory: \"1024m\"",
                         "  taskManager:\n    resource:\n      memory: \"" + k.memory + "\"");
    FlinkDeployment fd = parse(t);
    CHECK(validateFlinkDeployment(fd, nullptr).ok());
    Children c = children(fd);
    const json& res = mainContainer(c.taskManager).at("resources");
    CHECK(res.at("requests").at("memory") == k.quantity);
    CHECK(res.at("limits").at("memory") == k.quantity);
    std::string flinkSize = clusterConfig(c.configMap).getString("taskmanager.memory.process.size", "");
    CHECK(flinkSize == k.flink);
    CHECK(bytesOf(flinkSize) == bytesOf(k.flink));
    // The JobManager is untouched.
    CHECK(mainContainer(c.jobManager).at("resources").at("requests").at("memory") == "1Gi");
  }

  SECTION("fractional CPU and limit factors") {
    std::string t = edit(text, "      memory: \"1024m\"\n      cpu: 1\n  taskManager", "      memory: \"1g\"\n      cpu: 0.5\n  taskManager");
    t = edit(t, "    taskmanager.numberOfTaskSlots: \"1\"\n",
             "    taskmanager.numberOfTaskSlots: \"1\"\n    kubernetes.jobmanager.memory.limit-factor: \"1.5\"\n"
             "    kubernetes.jobmanager.cpu.limit-factor: \"2\"\n");
    Children c = children(parse(t));
    const json& res = mainContainer(c.jobManager).at("resources");
    CHECK(res == json{{"requests", {{"cpu", "500m"}, {"memory", "1Gi"}}}, {"limits", {{"cpu", "1"}, {"memory", "1536Mi"}}}});
  }

  SECTION("resources keep their other entries and get quantities") {
    std::string t = edit(text, "  taskManager:\n    resource:\n      memory: \"1024m\"\n      cpu: 1\n",
                         "  taskManager:\n    resources:\n      requests:\n        memory: \"1.5Gi\"\n        cpu: \"0.25\"\n"
                         "      limits:\n        memory: 2g\n        nvidia.com/gpu: 1\n");
    FlinkDeployment fd = parse(t);
    CHECK(validateFlinkDeployment(fd, nullptr).ok());
    Children c = children(fd);
    CHECK(mainContainer(c.taskManager).at("resources") ==
          json{{"requests", {{"cpu", "250m"}, {"memory", "1536Mi"}}}, {"limits", {{"memory", "2Gi"}, {"nvidia.com/gpu", "1"}}}});
    CHECK(clusterConfig(c.configMap).getString("taskmanager.memory.process.size", "") == "1536m");
  }

  SECTION("ephemeral storage") {
    std::string t = edit(text, "  taskManager:\n    resource:\n      memory: \"1024m\"\n",
                         "  taskManager:\n    resource:\n      ephemeralStorage: 10Gi\n      memory: \"1024m\"\n");
    Children c = children(parse(t));
    const json& res = mainContainer(c.taskManager).at("resources");
    CHECK(res.at("requests").at("ephemeral-storage") == "10Gi");
    CHECK(res.at("limits").at("ephemeral-storage") == "10Gi");
  }
}

TEST_CASE("Pod templates merge: sidecars and init containers survive around the generated main container", "[resources]") {
  FlinkDeployment fd = load(compatPath("pod-template.yaml"));
  Children c = children(fd);

  // JobManager: spec.podTemplate plus jobManager.podTemplate.
  const json& jmSpec = c.jobManager.at("spec").at("template").at("spec");
  REQUIRE(jmSpec.at("containers").size() == 2);
  const json* sidecar = findByName(jmSpec.at("containers"), "fluentbit");
  REQUIRE(sidecar != nullptr);
  CHECK(sidecar->at("image") == "fluent/fluent-bit:1.9.6-debug");
  CHECK(sidecar->at("command").size() == 3);
  CHECK(sidecar->at("volumeMounts")[0] == json{{"mountPath", "/flink-logs"}, {"name", "flink-logs"}});
  REQUIRE(jmSpec.contains("initContainers"));
  const json* init = findByName(jmSpec.at("initContainers"), "busybox");
  REQUIRE(init != nullptr);
  CHECK(init->at("image") == "busybox:1.35.0");
  CHECK(init->at("command")[0] == "/bin/sh");

  const json& main = mainContainer(c.jobManager);
  CHECK(args(c.jobManager) ==
        std::vector<std::string>{"standalone-job", "--job-classname",
                                 "org.apache.flink.streaming.examples.statemachine.StateMachineExample"});
  CHECK(main.at("image") == "flink:2.2");
  std::vector<std::string> mountPaths;
  for (const auto& m : main.at("volumeMounts")) mountPaths.push_back(m.at("mountPath").get<std::string>());
  CHECK(mountPaths == std::vector<std::string>{"/opt/flink/log", "/opt/flink/downloads", "/opt/flink/conf"});

  std::vector<std::string> volumes;
  for (const auto& v : jmSpec.at("volumes")) volumes.push_back(v.at("name").get<std::string>());
  CHECK(volumes == std::vector<std::string>{"flink-logs", "downloads", "flink-config-volume"});
  CHECK(findByName(jmSpec.at("volumes"), "flink-logs")->at("emptyDir") == json::object());

  // TaskManager: only spec.podTemplate (no init container), same sidecar and mounts.
  const json& tmSpec = c.taskManager.at("spec").at("template").at("spec");
  CHECK_FALSE(tmSpec.contains("initContainers"));
  CHECK(findByName(tmSpec.at("containers"), "fluentbit") != nullptr);
  std::vector<std::string> tmMounts;
  for (const auto& m : mainContainer(c.taskManager).at("volumeMounts")) tmMounts.push_back(m.at("mountPath").get<std::string>());
  CHECK(tmMounts == std::vector<std::string>{"/opt/flink/log", "/opt/flink/downloads", "/opt/flink/conf"});
}

TEST_CASE("Pod template fields are typed - merged by name - and generated fields win", "[resources]") {
  std::string text = readFile(flightDelaysPath());
  text = edit(text, "    taskmanager.numberOfTaskSlots: \"1\"\n",
              "    taskmanager.numberOfTaskSlots: \"1\"\n    kubernetes.operator.pod-template.merge-arrays-by-name: \"true\"\n");
  std::string t = edit(text, "  jobManager:\n",
                       "  podTemplate:\n"
                       "    metadata:\n"
                       "      labels:\n"
                       "        team: data\n"
                       "        component: overridden\n"
                       "      annotations:\n"
                       "        prometheus.io/port: \"9999\"\n"
                       "    spec:\n"
                       "      securityContext:\n"
                       "        runAsUser: 9999\n"
                       "        runAsNonRoot: true\n"
                       "      containers:\n"
                       "        - name: flink-main-container\n"
                       "          image: someone-elses:image\n"
                       "          args: [\"sleep\"]\n"
                       "          env:\n"
                       "            - name: FLINK_CONF_DIR\n"
                       "              value: /elsewhere\n"
                       "            - name: TZ\n"
                       "              value: \"0100\"\n"
                       "          ports:\n"
                       "            - name: web\n"
                       "              containerPort: 8081\n"
                       "          resources:\n"
                       "            limits:\n"
                       "              nvidia.com/gpu: 1\n"
                       "          readinessProbe:\n"
                       "            httpGet:\n"
                       "              path: /config\n"
                       "              port: 8081\n"
                       "      volumes:\n"
                       "        - name: flink-config-volume\n"
                       "          emptyDir: {}\n"
                       "  jobManager:\n"
                       "    podTemplate:\n"
                       "      spec:\n"
                       "        securityContext:\n"
                       "          fsGroup: 9999\n"
                       "        containers:\n"
                       "          - name: flink-main-container\n"
                       "            env:\n"
                       "              - name: TZ\n"
                       "                value: UTC\n");
  FlinkDeployment fd = parse(t);
  Children c = children(fd);
  const json& pod = c.jobManager.at("spec").at("template");
  CHECK(pod.at("metadata").at("labels") == json{{"app", "flight-delays"}, {"component", "jobmanager"}, {"team", "data"}});
  CHECK(pod.at("metadata").at("annotations").at("prometheus.io/port") == "9999");
  CHECK(pod.at("spec").at("securityContext") == json{{"runAsUser", 9999}, {"runAsNonRoot", true}, {"fsGroup", 9999}});
  const json& main = mainContainer(c.jobManager);
  CHECK(main.at("image") == "flink-cpp:latest");
  CHECK(args(c.jobManager).at(0) == "standalone-job");
  CHECK(findByName(main.at("env"), "FLINK_CONF_DIR")->at("value") == "/opt/flink/conf");
  CHECK(findByName(main.at("env"), "TZ")->at("value") == "UTC");
  CHECK(findByName(main.at("ports"), "web") == nullptr);  // same containerPort as rest
  CHECK(findByName(main.at("ports"), "rest")->at("containerPort") == 8081);
  CHECK(main.at("resources").at("limits").at("nvidia.com/gpu") == "1");
  CHECK(main.at("resources").at("limits").at("memory") == "1Gi");
  CHECK(main.at("readinessProbe") == json{{"httpGet", {{"path", "/config"}, {"port", 8081}}}});
  const json& volumes = pod.at("spec").at("volumes");
  REQUIRE(volumes.size() == 1);
  CHECK(volumes[0] == json{{"name", "flink-config-volume"}, {"configMap", {{"name", "flink-config-flight-delays"}}}});
  // The TaskManager sees the common template only.
  const json& tmMain = mainContainer(c.taskManager);
  CHECK(findByName(tmMain.at("env"), "TZ")->at("value") == "0100");
  CHECK(c.taskManager.at("spec").at("template").at("spec").at("securityContext") ==
        json{{"runAsUser", 9999}, {"runAsNonRoot", true}});
}

TEST_CASE("Pod template lists merge by position by default and by name with merge-arrays-by-name", "[resources]") {
  std::string text = readFile(flightDelaysPath());
  std::string t = edit(text, "  jobManager:\n",
                       "  podTemplate:\n"
                       "    spec:\n"
                       "      containers:\n"
                       "        - name: flink-main-container\n"
                       "          env: [{name: A, value: common-a}, {name: B, value: common-b}]\n"
                       "        - name: sidecar\n"
                       "          image: sidecar:1\n"
                       "          command: [sh, -c, common]\n"
                       "      volumes:\n"
                       "        - {name: data, configMap: {name: cm-data}}\n"
                       "        - {name: cache, configMap: {name: cm-cache}}\n"
                       "      tolerations:\n"
                       "        - {key: k1, operator: Exists}\n"
                       "        - {key: k1b, operator: Exists}\n"
                       "  jobManager:\n"
                       "    podTemplate:\n"
                       "      spec:\n"
                       "        containers:\n"
                       "          - name: flink-main-container\n"
                       "            env: [{name: A, value: jm-a}]\n"
                       "          - name: sidecar\n"
                       "            image: sidecar:2\n"
                       "            command: [jm]\n"
                       "        volumes:\n"
                       "          - {name: cache, configMap: {name: cm-jm}}\n"
                       "        tolerations:\n"
                       "          - {key: k2, operator: Exists}\n");
  auto names = [](const json& list) {
    std::vector<std::string> out;
    for (const auto& e : list) out.push_back(e.at("name").get<std::string>());
    return out;
  };
  auto check = [&](const Children& c, bool byName) {
    const json& spec = c.jobManager.at("spec").at("template").at("spec");
    // The containers are listed in the same order in both templates: the same result either way,
    // and the generated main container lands on the template's flink-main-container.
    CHECK(names(spec.at("containers")) == std::vector<std::string>{"flink-main-container", "sidecar"});
    const json& main = mainContainer(c.jobManager);
    CHECK(findByName(main.at("env"), "A")->at("value") == "jm-a");
    CHECK(findByName(main.at("env"), "B")->at("value") == "common-b");
    CHECK(findByName(main.at("env"), "FLINK_CONF_DIR") != nullptr);
    CHECK(args(c.jobManager).at(0) == "standalone-job");
    const json* sidecar = findByName(spec.at("containers"), "sidecar");
    CHECK(sidecar->at("image") == "sidecar:2");
    CHECK(sidecar->at("command") == json{"jm"});  // lists of scalars are replaced in both modes
    // Tolerations have no names: merged by position in both modes (the Apache operator's fallback).
    CHECK(spec.at("tolerations") == json{{{"key", "k2"}, {"operator", "Exists"}}, {{"key", "k1b"}, {"operator", "Exists"}}});
    const json& volumes = spec.at("volumes");
    if (byName) {
      CHECK(names(volumes) == std::vector<std::string>{"data", "cache", "flink-config-volume"});
      CHECK(findByName(volumes, "data")->at("configMap").at("name") == "cm-data");
      CHECK(findByName(volumes, "cache")->at("configMap").at("name") == "cm-jm");
    } else {
      // The JobManager's first volume lands on the common template's first one.
      CHECK(names(volumes) == std::vector<std::string>{"cache", "cache", "flink-config-volume"});
      CHECK(volumes[0].at("configMap").at("name") == "cm-jm");
      CHECK(volumes[1].at("configMap").at("name") == "cm-cache");
    }
    // The TaskManager has only the common template: the same in both modes.
    const json& tmSpec = c.taskManager.at("spec").at("template").at("spec");
    CHECK(names(tmSpec.at("volumes")) == std::vector<std::string>{"data", "cache", "flink-config-volume"});
    CHECK(findByName(mainContainer(c.taskManager).at("env"), "A")->at("value") == "common-a");
  };
  const std::string slots = "    taskmanager.numberOfTaskSlots: \"1\"\n";
  const std::string option = "    kubernetes.operator.pod-template.merge-arrays-by-name: ";
  SECTION("default: by position") { check(children(parse(t)), false); }
  SECTION("false: by position") { check(children(parse(edit(t, slots, slots + option + "false\n"))), false); }
  SECTION("true: by name") { check(children(parse(edit(t, slots, slots + option + "true\n"))), true); }
  SECTION("the operator's default configuration, under the deployment's") {
    OperatorConfig byName;
    byName.defaultConfiguration["kubernetes.operator.pod-template.merge-arrays-by-name"] = "true";
    check(children(parse(t), byName), true);
    check(children(parse(edit(t, slots, slots + option + "false\n")), byName), false);
  }
  SECTION("by position, a component template that lists only a sidecar merges it onto the first container") {
    // As in the Apache operator: the first container of the common template takes the
    // sidecar's name, and the generated main container is added in front.
    std::string sidecarOnly = edit(t, "          - name: flink-main-container\n            env: [{name: A, value: jm-a}]\n", "");
    Children c = children(parse(sidecarOnly));
    const json& containers = c.jobManager.at("spec").at("template").at("spec").at("containers");
    CHECK(names(containers) == std::vector<std::string>{"flink-main-container", "sidecar", "sidecar"});
    Children named = children(parse(edit(sidecarOnly, slots, slots + option + "true\n")));
    CHECK(names(named.jobManager.at("spec").at("template").at("spec").at("containers")) ==
          std::vector<std::string>{"flink-main-container", "sidecar"});
  }
}

TEST_CASE("Pod templates of the examples and the e2e manifests give the same pods in both merge modes", "[resources]") {
  std::vector<std::string> files = {flightDelaysPath(), std::string(FLINK_SOURCE_DIR) + "/examples/route-counts.yaml",
                                    compatPath("pod-template.yaml"), compatPath("basic-checkpoint-ha.yaml"),
                                    compatPath("autoscaling_autoscaling.yaml"), compatPath("basic-reactive.yaml"),
                                    compatPath("snapshot_job-from-savepoint.yaml")};
  // The shape of test/e2e/cluster_target.sh's target_pod_template in the flight-delay manifest.
  std::string e2e = edit(readFile(flightDelaysPath()), "  jobManager:\n",
                         "  podTemplate:\n"
                         "    spec:\n"
                         "      shareProcessNamespace: true\n"
                         "      containers:\n"
                         "        - name: flink-main-container\n"
                         "          volumeMounts:\n"
                         "            - {name: e2e-shared, mountPath: /tmp/e2e}\n"
                         "      volumes:\n"
                         "        - name: e2e-shared\n"
                         "          hostPath: {path: /tmp/e2e, type: Directory}\n"
                         "  jobManager:\n");
  OperatorConfig byName;
  byName.defaultConfiguration["kubernetes.operator.pod-template.merge-arrays-by-name"] = "true";
  auto same = [&](const FlinkDeployment& fd) {
    std::vector<json> position = desiredResources(fd, OperatorConfig{});
    std::vector<json> named = desiredResources(fd, byName);
    REQUIRE(position.size() == named.size());
    for (size_t i = 0; i < position.size(); ++i) {
      // (The ConfigMap carries the operator's default configuration, the option included.)
      if (position[i].at("kind") != "ConfigMap") CHECK(position[i] == named[i]);
    }
  };
  for (const auto& f : files) {
    INFO(f);
    same(load(f));
  }
  FlinkDeployment fd = parse(e2e);
  same(fd);
  Children c = children(fd);
  const json& main = mainContainer(c.taskManager);
  CHECK(main.at("volumeMounts")[0] == json{{"mountPath", "/tmp/e2e"}, {"name", "e2e-shared"}});
}

TEST_CASE("The configuration file follows flinkVersion and carries defaults and logging", "[resources]") {
  std::string text = readFile(flightDelaysPath());
  SECTION("before 1.19: flink-conf.yaml") {
    Children c = children(parse(edit(text, "flinkVersion: v1_19", "flinkVersion: v1_17")));
    CHECK(c.configMap.at("data").contains("flink-conf.yaml"));
    CHECK_FALSE(c.configMap.at("data").contains("config.yaml"));
    CHECK(clusterConfig(c.configMap).getString("parallelism.default", "") == "2");
  }
  SECTION("no flinkVersion: config.yaml") {
    Children c = children(parse(edit(text, "  flinkVersion: v1_19\n", "")));
    CHECK(c.configMap.at("data").contains("config.yaml"));
  }
  SECTION("2.x: config.yaml") {
    Children c = children(parse(edit(text, "flinkVersion: v1_19", "flinkVersion: v2_1")));
    CHECK(c.configMap.at("data").contains("config.yaml"));
  }
  SECTION("operator defaults lie under flinkConfiguration and computed keys over both") {
    OperatorConfig config;
    config.defaultImage = "registry.example/flink-cpp:1";
    config.defaultConfiguration = {{"heartbeat.timeout", "90 s"},
                                   {"pipeline.max-parallelism", "64"},
                                   {"jobmanager.rpc.address", "nowhere"}};
    std::string t = edit(text, "  image: flink-cpp:latest\n", "");
    t = edit(t, "    taskmanager.numberOfTaskSlots: \"1\"\n",
             "    taskmanager.numberOfTaskSlots: \"1\"\n    pipeline.max-parallelism: 256\n"
             "    rest.port: 8088\n    state:\n      checkpoints.dir: file:///ckpt\n");
    Children c = children(parse(t), config);
    Configuration conf = clusterConfig(c.configMap);
    CHECK(conf.getString("heartbeat.timeout", "") == "90 s");
    CHECK(conf.getString("pipeline.max-parallelism", "") == "256");
    CHECK(conf.getString("state.checkpoints.dir", "") == "file:///ckpt");
    CHECK(conf.getString("jobmanager.rpc.address", "") == "flight-delays");
    CHECK(conf.getString("rest.port", "") == "8088");
    CHECK(c.restService.at("spec").at("ports")[0].at("port") == 8088);
    CHECK(findByName(mainContainer(c.jobManager).at("ports"), "rest")->at("containerPort") == 8088);
    CHECK(mainContainer(c.jobManager).at("image") == "registry.example/flink-cpp:1");
    CHECK(mainContainer(c.taskManager).at("image") == "registry.example/flink-cpp:1");
  }
  SECTION("logConfiguration becomes files next to the configuration") {
    std::string t = edit(text, "  serviceAccount: flink\n",
                         "  serviceAccount: flink\n  logConfiguration:\n    log4j-console.properties: |\n"
                         "      rootLogger.level = INFO\n    logback-console.xml: \"<configuration/>\"\n");
    Children c = children(parse(t));
    CHECK(c.configMap.at("data").at("log4j-console.properties") == "rootLogger.level = INFO\n");
    CHECK(c.configMap.at("data").at("logback-console.xml") == "<configuration/>");
  }
  SECTION("imagePullPolicy and the REST service type") {
    std::string t = edit(text, "  image: flink-cpp:latest\n", "  image: flink-cpp:latest\n  imagePullPolicy: IfNotPresent\n");
    t = edit(t, "    taskmanager.numberOfTaskSlots: \"1\"\n",
             "    taskmanager.numberOfTaskSlots: \"1\"\n    kubernetes.rest-service.exposed.type: NodePort\n");
    Children c = children(parse(t));
    CHECK(mainContainer(c.jobManager).at("imagePullPolicy") == "IfNotPresent");
    CHECK(mainContainer(c.taskManager).at("imagePullPolicy") == "IfNotPresent");
    CHECK(c.restService.at("spec").at("type") == "NodePort");
  }
  SECTION("the namespace is that of the FlinkDeployment") {
    FlinkDeployment fd = parse(edit(text, "  name: flight-delays\n", "  name: flight-delays\n  namespace: streaming\n"));
    for (const auto& o : desiredResources(fd, {})) CHECK(o.at("metadata").at("namespace") == "streaming");
    CHECK(clusterConfig(children(fd).configMap).getString("kubernetes.namespace", "") == "streaming");
  }
}

TEST_CASE("desiredResources is deterministic", "[resources]") {
  std::vector<std::string> paths = {flightDelaysPath(), compatPath("pod-template.yaml"), compatPath("basic-checkpoint-ha.yaml")};
  for (const auto& path : paths) {
    INFO(path);
    FlinkDeployment a = load(path);
    FlinkDeployment b = load(path);
    auto first = desiredResources(a, {});
    auto second = desiredResources(a, {});
    auto third = desiredResources(b, {});
    REQUIRE(first.size() == second.size());
    for (size_t i = 0; i < first.size(); ++i) {
      CHECK(first[i].dump() == second[i].dump());
      CHECK(first[i].dump() == third[i].dump());
    }
  }
}

TEST_CASE("validateFlinkDeployment accepts the examples and names the field of each rule it enforces", "[resources]") {
  std::string text = readFile(flightDelaysPath());
  FlinkDeployment ok = parse(text);
  REQUIRE(validateFlinkDeployment(ok, nullptr).ok());
  REQUIRE(validateFlinkDeployment(ok, &ok).ok());

  auto error = [](const FlinkDeployment& fd, const FlinkDeployment* last = nullptr) {
    Status s = validateFlinkDeployment(fd, last);
    REQUIRE_FALSE(s.ok());
    return s.message();
  };

  SECTION("name") {
    FlinkDeployment fd = ok;
    fd.name = std::string(46, 'a');
    CHECK_THAT(error(fd), Catch::StartsWith("metadata.name:") && Catch::Contains("45"));
    fd.name = "Flight_Delays";
    CHECK_THAT(error(fd), Catch::StartsWith("metadata.name:") && Catch::Contains("DNS-1035"));
    fd.name = "1flights";
    CHECK_THAT(error(fd), Catch::StartsWith("metadata.name:"));
    fd.name = std::string(45, 'a');
    CHECK(validateFlinkDeployment(fd, nullptr).ok());
  }
  SECTION("JobManager memory") {
    FlinkDeployment fd = parse(edit(text, "  jobManager:\n    resource:\n      memory: \"1024m\"\n", "  jobManager:\n    resource:\n"));
    CHECK(error(fd) == "spec.jobManager.resource.memory: JobManager resource memory must be defined.");
    // A configured process size is enough.
    std::string t = edit(text, "  jobManager:\n    resource:\n      memory: \"1024m\"\n      cpu: 1\n", "");
    CHECK(error(parse(t)) == "spec.jobManager.resource.memory: JobManager resource memory must be defined.");
    t = edit(t, "    taskmanager.numberOfTaskSlots: \"1\"\n",
             "    taskmanager.numberOfTaskSlots: \"1\"\n    jobmanager.memory.process.size: 1600m\n");
    FlinkDeployment configured = parse(t);
    CHECK(validateFlinkDeployment(configured, nullptr).ok());
    Children c = children(configured);
    CHECK(clusterConfig(c.configMap).getString("jobmanager.memory.process.size", "") == "1600m");
    CHECK(mainContainer(c.jobManager).at("resources").at("requests").at("memory") == "1600Mi");
  }
  SECTION("TaskManager memory") {
    FlinkDeployment fd = parse(edit(text, "  taskManager:\n    resource:\n      memory: \"1024m\"\n", "  taskManager:\n    resource:\n"));
    CHECK(error(fd) == "spec.taskManager.resource.memory: TaskManager resource memory must be defined.");
    FlinkDeployment bad = parse(edit(text, "  taskManager:\n    resource:\n      memory: \"1024m\"\n      cpu: 1\n",
                                     "  taskManager:\n    resources:\n      requests:\n        memory: lots\n"));
    CHECK_THAT(error(bad), Catch::StartsWith("spec.taskManager.resource.memory: TaskManager resource memory parse error"));
    FlinkDeployment noSpec = ok;  // built in code: no spec as written
    noSpec.specNode = YAML::Node();
    CHECK(validateFlinkDeployment(noSpec, nullptr).ok());
    noSpec.spec.taskManager.resourceSet = false;
    CHECK(error(noSpec) == "spec.taskManager.resource.memory: TaskManager resource memory must be defined.");
  }
  SECTION("checkpoint directory for savepoint and last-state upgrades") {
    for (std::string mode : {"savepoint", "last-state"}) {
      FlinkDeployment fd = parse(edit(text, "upgradeMode: stateless", "upgradeMode: " + mode));
      CHECK(error(fd) == "spec.flinkConfiguration.state.checkpoints.dir: Checkpoint directory[state.checkpoints.dir] must "
                         "be defined for " + mode + " upgrade mode");
      std::string t = edit(text, "upgradeMode: stateless", "upgradeMode: " + mode);
      t = edit(t, "    taskmanager.numberOfTaskSlots: \"1\"\n",
               "    taskmanager.numberOfTaskSlots: \"1\"\n    state.checkpoints.dir: file:///ckpt\n");
      if (mode == "savepoint") {
        CHECK(error(parse(t)) == "spec.flinkConfiguration.state.savepoints.dir: Job could not be upgraded with "
                                 "savepoint while config key[state.savepoints.dir] is not set");
        t = edit(t, "    state.checkpoints.dir: file:///ckpt\n",
                 "    state.checkpoints.dir: file:///ckpt\n    state.savepoints.dir: file:///sp\n");
      }
      CHECK(validateFlinkDeployment(parse(t), nullptr).ok());
    }
  }
  SECTION("session and application mode do not switch") {
    FlinkDeployment session = load(compatPath("basic-session-deployment-and-job.yaml"));
    REQUIRE(validateFlinkDeployment(session, nullptr).ok());
    CHECK(error(ok, &session) == "spec.job: Cannot switch from session to job cluster");
    CHECK(error(session, &ok) == "spec.job: Cannot switch from job to session cluster");
    CHECK(validateFlinkDeployment(session, &session).ok());
  }
  SECTION("several JobManagers need high availability") {
    FlinkDeployment fd = parse(edit(text, "  jobManager:\n", "  jobManager:\n    replicas: 3\n"));
    CHECK_THAT(error(fd), Catch::StartsWith("spec.jobManager.replicas: High availability should be enabled when starting "
                                            "standalone JobManagers with more than one replica"));
    std::string t = edit(text, "  jobManager:\n", "  jobManager:\n    replicas: 3\n");
    t = edit(t, "    taskmanager.numberOfTaskSlots: \"1\"\n",
             "    taskmanager.numberOfTaskSlots: \"1\"\n    high-availability: kubernetes\n");
    CHECK(validateFlinkDeployment(parse(t), nullptr).ok());
    FlinkDeployment none = parse(edit(t, "high-availability: kubernetes", "high-availability: NONE"));
    CHECK_FALSE(validateFlinkDeployment(none, nullptr).ok());
  }
  SECTION("parallelism and slots are positive") {
    FlinkDeployment fd = ok;
    fd.spec.job->parallelism = 0;
    CHECK_THAT(error(fd), Catch::StartsWith("spec.job.parallelism: Job parallelism must be larger than 0"));
    fd = ok;
    fd.spec.flinkConfiguration["taskmanager.numberOfTaskSlots"] = "0";
    CHECK_THAT(error(fd), Catch::StartsWith("spec.flinkConfiguration.taskmanager.numberOfTaskSlots:"));
    fd = ok;
    fd.spec.flinkConfiguration["parallelism.default"] = "two";
    CHECK_THAT(error(fd), Catch::StartsWith("spec.flinkConfiguration.parallelism.default:"));
    fd = ok;
    fd.spec.jobManager.replicas = 0;
    CHECK_THAT(error(fd), Catch::StartsWith("spec.jobManager.replicas:"));
    fd = ok;
    fd.spec.taskManager.replicas = 0;
    CHECK_THAT(error(fd), Catch::StartsWith("spec.taskManager.replicas:"));
  }
}

TEST_CASE("Every container gets resource quantities in the canonical form the API server stores", "[resources]") {
  std::string text = readFile(compatPath("pod-template.yaml"));
  std::string t = edit(text, "          image: fluent/fluent-bit:1.9.6-debug\n",
                       "          image: fluent/fluent-bit:1.9.6-debug\n"
                       "          resources:\n"
                       "            requests:\n"
                       "              cpu: 0.5\n"
                       "              memory: 2048Mi\n"
                       "              ephemeral-storage: 1000M\n"
                       "            limits:\n"
                       "              cpu: \"2000m\"\n"
                       "              memory: 0.5Gi\n"
                       "              ephemeral-storage: 1.5G\n"
                       "              example.com/dongle: 1\n");
  t = edit(t, "            image: busybox:1.35.0\n",
           "            image: busybox:1.35.0\n            resources:\n              limits:\n                memory: 100Ki\n"
           "                cpu: 0.0001\n");
  Children c = children(parse(t));
  const json& spec = c.jobManager.at("spec").at("template").at("spec");
  const json* sidecar = findByName(spec.at("containers"), "fluentbit");
  REQUIRE(sidecar != nullptr);
  CHECK(sidecar->at("resources") == json{{"requests", {{"cpu", "500m"}, {"memory", "2Gi"}, {"ephemeral-storage", "1G"}}},
                                         {"limits",
                                          {{"cpu", "2"},
                                           {"memory", "512Mi"},
                                           {"ephemeral-storage", "1500M"},
                                           {"example.com/dongle", "1"}}}});
  const json* init = findByName(spec.at("initContainers"), "busybox");
  REQUIRE(init != nullptr);
  CHECK(init->at("resources") == json{{"limits", {{"memory", "100Ki"}, {"cpu", "100u"}}}});
  // Fractions of binary units below 1024 bytes and odd byte counts are DecimalSI.
  auto initMemory = [](const std::string& manifest) {
    Children k = children(parse(manifest));
    const json* busybox = findByName(k.jobManager.at("spec").at("template").at("spec").at("initContainers"), "busybox");
    REQUIRE(busybox != nullptr);
    return busybox->at("resources").at("limits").at("memory").get<std::string>();
  };
  t = edit(t, "memory: 100Ki", "memory: 0.5Ki");
  CHECK(initMemory(t) == "512");
  t = edit(t, "memory: 0.5Ki", "memory: 1.0009765625Ki");  // 1025 bytes
  CHECK(initMemory(t) == "1025");
}

namespace {

/// flight-delays with `ingress` (YAML lines under spec.ingress, indented by four spaces).
FlinkDeployment withIngress(const std::string& ingress) {
  return parse(edit(readFile(flightDelaysPath()), "\nspec:\n", "\nspec:\n  ingress:\n" + ingress));
}

json ingressOf(const FlinkDeployment& fd) {
  auto all = desiredResources(fd, OperatorConfig{});
  REQUIRE(all.size() == 6);
  REQUIRE(all[5].at("kind") == "Ingress");
  return all[5];
}

}  // namespace

TEST_CASE("Ingress templates expand as the Apache operator reads them: host-based, path-based or both", "[resources][ingress]") {
  struct Case {
    std::string tmpl, host, path;
  };
  const std::vector<Case> cases = {
      {"{{name}}.{{namespace}}.flink.k8s.io", "job.team.flink.k8s.io", ""},
      {"/{{namespace}}/{{name}}(/|$)(.*)", "", "/team/job(/|$)(.*)"},
      {"flink.k8s.io/{{namespace}}/{{name}}(/|$)(.*)", "flink.k8s.io", "/team/job(/|$)(.*)"},
      {"https://{{NAME}}.example.com:8443/ui?x=1#top", "job.example.com", "/ui"},
      {"http://user@{{Name}}.example.com/", "job.example.com", "/"},
      {"*.{{namespace}}.example.com", "*.team.example.com", ""},
  };
  for (const Case& c : cases) {
    INFO(c.tmpl);
    auto url = expandIngressTemplate(c.tmpl, "job", "team");
    INFO(url.status().message());
    REQUIRE(url.ok());
    CHECK(url->host == c.host);
    CHECK(url->path == c.path);
  }
  for (const std::string bad : {"{{url}}/{{name}}", "my_host.example.com", "host.example.com:http/x", "http://"}) {
    INFO(bad);
    auto url = expandIngressTemplate(bad, "job", "team");
    REQUIRE_FALSE(url.ok());
    CHECK(url.status().message().rfind("spec.ingress.template: '" + bad + "'", 0) == 0);
  }
  CHECK(expandIngressTemplate("{{url}}", "job", "team").status().message().find("unknown placeholder {{url}}") !=
        std::string::npos);
}

TEST_CASE("A host-based Ingress routes the host to the REST Service's port, owned by the FlinkDeployment", "[resources][ingress]") {
  FlinkDeployment fd = load(compatPath("basic-ingress.yaml"));
  REQUIRE(validateFlinkDeployment(fd, nullptr).ok());
  json ingress = ingressOf(fd);
  CHECK(ingress.at("apiVersion") == "networking.k8s.io/v1");
  CHECK(ingress.at("metadata").at("name") == "basic-ingress");
  CHECK(ingress.at("metadata").at("namespace") == "default");
  CHECK(ingress.at("metadata").at("labels") == json{{"app", "basic-ingress"}});
  CHECK_FALSE(ingress.at("metadata").contains("annotations"));
  const json& owner = ingress.at("metadata").at("ownerReferences").at(0);
  CHECK(owner.at("kind") == "FlinkDeployment");
  CHECK(owner.at("controller") == true);
  const json& spec = ingress.at("spec");
  CHECK_FALSE(spec.contains("ingressClassName"));
  CHECK_FALSE(spec.contains("tls"));
  REQUIRE(spec.at("rules").size() == 1);
  const json& rule = spec.at("rules").at(0);
  CHECK(rule.at("host") == "basic-ingress.default.flink.k8s.io");
  const json& path = rule.at("http").at("paths").at(0);
  CHECK_FALSE(path.contains("path"));
  CHECK(path.at("pathType") == "ImplementationSpecific");
  CHECK(path.at("backend") == json{{"service", {{"name", "basic-ingress-rest"}, {"port", {{"number", 8081}}}}}});
}

TEST_CASE("A path-based Ingress carries className, annotations, labels and tls as given, on a custom rest.port",
          "[resources][ingress]") {
  FlinkDeployment fd = withIngress(
      "    template: \"/{{namespace}}/{{name}}(/|$)(.*)\"\n"
      "    className: nginx\n"
      "    annotations:\n"
      "      nginx.ingress.kubernetes.io/rewrite-target: \"/$2\"\n"
      "    labels:\n"
      "      team: streaming\n"
      "      app: not-ours\n"
      "    tls:\n"
      "      - hosts: [flink.example.com]\n"
      "        secretName: flink-tls\n");
  fd.spec.flinkConfiguration["rest.port"] = "9091";
  REQUIRE(validateFlinkDeployment(fd, nullptr).ok());
  json ingress = ingressOf(fd);
  const json& meta = ingress.at("metadata");
  CHECK(meta.at("annotations") == json{{"nginx.ingress.kubernetes.io/rewrite-target", "/$2"}});
  // app=<name> stays (the operator's informers select on it); the user's other labels are kept.
  CHECK(meta.at("labels") == json{{"app", "flight-delays"}, {"team", "streaming"}});
  const json& spec = ingress.at("spec");
  CHECK(spec.at("ingressClassName") == "nginx");
  CHECK(spec.at("tls") == json::parse(R"([{"hosts": ["flink.example.com"], "secretName": "flink-tls"}])"));
  const json& rule = spec.at("rules").at(0);
  CHECK_FALSE(rule.contains("host"));
  CHECK(rule.at("http").at("paths").at(0).at("path") == "/default/flight-delays(/|$)(.*)");
  CHECK(rule.at("http").at("paths").at(0).at("backend").at("service").at("port").at("number") == 9091);
}

TEST_CASE("spec.ingress errors name the field", "[resources][ingress]") {
  struct Case {
    std::string ingress, field;
  };
  const std::vector<Case> cases = {
      {"    className: nginx\n", "spec.ingress.template"},
      {"    template: \"\"\n", "spec.ingress.template"},
      {"    template: x.example.com\n    annotations: [a]\n", "spec.ingress.annotations"},
      {"    template: x.example.com\n    labels:\n      a: {b: c}\n", "spec.ingress.labels.a"},
      {"    template: x.example.com\n    tls: {hosts: [a]}\n", "spec.ingress.tls"},
      {"    template: x.example.com\n    tls:\n      - hosts: a\n", "spec.ingress.tls[0].hosts"},
      {"    template: x.example.com\n    tls:\n      - secretName: [a]\n", "spec.ingress.tls[0].secretName"},
  };
  for (const Case& c : cases) {
    INFO(c.ingress);
    auto r = parseText(edit(readFile(flightDelaysPath()), "\nspec:\n", "\nspec:\n  ingress:\n" + c.ingress));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find(": " + c.field + ": ") != std::string::npos);
  }
  // A template that does not expand is a validation error (the reconciler reports it in status.error).
  FlinkDeployment fd = withIngress("    template: \"{{url}}.example.com\"\n");
  Status s = validateFlinkDeployment(fd, nullptr);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().rfind("spec.ingress.template: ", 0) == 0);
}
