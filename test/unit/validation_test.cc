// The validation rules of a FlinkDeployment (validateFlinkDeployment, controller/resources.h),
// those of the Apache operator's DefaultValidator and ours, as a table: each row takes a
// minimal valid FlinkDeployment, makes one change, and names the field path the error must
// start with. Rules the parser enforces (enums, integer bounds) are rows too: the operator
// reports a parse error the same way. Also: every FlinkDeployment among the Apache operator's
// examples and ours validates, and the operator's default configuration takes part.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include "api/flink_deployment.h"
#include "controller/resources.h"

using namespace flink;
using namespace flink::k8s;

namespace {

const char* kMinimal = R"(apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: minimal
spec:
  image: flink-cpp:latest
  flinkVersion: v1_20
  serviceAccount: flink
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "1"
  jobManager:
    resource: {memory: 1024m, cpu: 1}
  taskManager:
    resource: {memory: 1024m, cpu: 1}
  job:
    jarURI: builtin://flink-cpp-examples
    entryClass: flinkcpp.examples.FlightDelays
    parallelism: 1
    upgradeMode: stateless
)";

using Mutation = std::function<void(YAML::Node& doc)>;

/// The first error of the parser or of validateFlinkDeployment for `doc` (relative to `last`,
/// unless null), with the parser's "file:line: " prefix removed; "" when it is valid.
std::string firstError(const YAML::Node& doc, const YAML::Node& last, const OperatorConfig& config) {
  auto fd = parseFlinkDeployment(doc, "test.yaml");
  std::string message;
  if (!fd.ok()) {
    message = fd.status().message();
  } else {
    std::optional<FlinkDeployment> lastValid;
    if (last && !last.IsNull()) {
      auto l = parseFlinkDeployment(last, "last.yaml");
      REQUIRE(l.ok());
      lastValid = *l;
    }
    Status s = validateFlinkDeployment(*fd, lastValid ? &*lastValid : nullptr, config);
    message = s.ok() ? "" : s.message();
  }
  static const std::regex kSource("^test\\.yaml(:[0-9]+)?: ");
  return std::regex_replace(message, kSource, "", std::regex_constants::format_first_only);
}

YAML::Node minimal() { return YAML::Load(kMinimal); }

struct Rule {
  const char* rule;
  Mutation mutate;
  std::string path;      // the error starts with "<path>: "
  Mutation last = {};    // when set: the last valid spec is the minimal one with this change
};

Mutation conf(const std::string& key, const std::string& value) {
  return [=](YAML::Node& d) { d["spec"]["flinkConfiguration"][key] = value; };
}
Mutation both(Mutation a, Mutation b) {
  return [=](YAML::Node& d) {
    a(d);
    b(d);
  };
}
Mutation upgradeMode(const std::string& mode) {
  return [=](YAML::Node& d) { d["spec"]["job"]["upgradeMode"] = mode; };
}
Mutation withCheckpoints = conf("state.checkpoints.dir", "file:///tmp/ckpt");
Mutation noop = [](YAML::Node&) {};

std::vector<Rule> rules() {
  return {
      // metadata
      {"name of at most 45 characters", [](YAML::Node& d) { d["metadata"]["name"] = std::string(46, 'a'); }, "metadata.name"},
      {"name a DNS-1035 label", [](YAML::Node& d) { d["metadata"]["name"] = "Minimal_1"; }, "metadata.name"},
      // flinkVersion
      {"flinkVersion required", [](YAML::Node& d) { d["spec"].remove("flinkVersion"); }, "spec.flinkVersion"},
      {"flinkVersion supported (v1_15 and newer)", [](YAML::Node& d) { d["spec"]["flinkVersion"] = "v1_14"; }, "spec.flinkVersion"},
      // flinkConfiguration
      {"kubernetes.namespace forbidden", conf("kubernetes.namespace", "other"), "spec.flinkConfiguration.kubernetes.namespace"},
      {"kubernetes.cluster-id forbidden", conf("kubernetes.cluster-id", "other"), "spec.flinkConfiguration.kubernetes.cluster-id"},
      {"high-availability.cluster-id forbidden", conf("high-availability.cluster-id", "other"),
       "spec.flinkConfiguration.high-availability.cluster-id"},
      {"health check needs JobManager deployment recovery",
       both(conf("kubernetes.operator.cluster.health-check.enabled", "true"),
            conf("kubernetes.operator.jm-deployment-recovery.enabled", "false")),
       "spec.flinkConfiguration.kubernetes.operator.jm-deployment-recovery.enabled"},
      {"slots a positive integer", conf("taskmanager.numberOfTaskSlots", "0"), "spec.flinkConfiguration.taskmanager.numberOfTaskSlots"},
      {"parallelism.default a positive integer", conf("parallelism.default", "two"), "spec.flinkConfiguration.parallelism.default"},
      {"heartbeat.interval positive", conf("heartbeat.interval", "0 ms"), "spec.flinkConfiguration.heartbeat.interval"},
      {"heartbeat.timeout larger than the interval", conf("heartbeat.timeout", "5 s"), "spec.flinkConfiguration.heartbeat.timeout"},
      {"autoscaler factors not negative",
       both(conf("job.autoscaler.enabled", "true"), conf("job.autoscaler.scale-up.max-factor", "-1")),
       "spec.flinkConfiguration.job.autoscaler.scale-up.max-factor"},
      // logConfiguration
      {"logConfiguration keys", [](YAML::Node& d) { d["spec"]["logConfiguration"]["log4j.properties"] = "rootLogger.level = INFO"; },
       "spec.logConfiguration.log4j.properties"},
      // job
      {"job.parallelism > 0", [](YAML::Node& d) { d["spec"]["job"]["parallelism"] = 0; }, "spec.job.parallelism"},
      {"jarURI required for application jobs", [](YAML::Node& d) { d["spec"]["job"].remove("jarURI"); }, "spec.job.jarURI"},
      {"upgradeMode values", upgradeMode("checkpoint"), "spec.job.upgradeMode"},
      {"job.state values", [](YAML::Node& d) { d["spec"]["job"]["state"] = "paused"; }, "spec.job.state"},
      {"last-state needs a checkpoint directory", upgradeMode("last-state"), "spec.flinkConfiguration.state.checkpoints.dir"},
      {"savepoint needs a checkpoint directory", both(upgradeMode("savepoint"), conf("state.savepoints.dir", "file:///tmp/sp")),
       "spec.flinkConfiguration.state.checkpoints.dir"},
      {"savepoint needs a savepoint directory", both(upgradeMode("savepoint"), withCheckpoints),
       "spec.flinkConfiguration.state.savepoints.dir"},
      {"savepointTriggerNonce needs a savepoint directory", [](YAML::Node& d) { d["spec"]["job"]["savepointTriggerNonce"] = 1; },
       "spec.flinkConfiguration.state.savepoints.dir"},
      {"periodic savepoints need a savepoint directory", conf("kubernetes.operator.periodic.savepoint.interval", "1 h"),
       "spec.flinkConfiguration.state.savepoints.dir"},
      {"a maximum checkpoint age needs a savepoint directory",
       both(both(upgradeMode("last-state"), withCheckpoints),
            conf("kubernetes.operator.job.upgrade.last-state.max.allowed.checkpoint.age", "10 min")),
       "spec.flinkConfiguration.state.savepoints.dir"},
      // jobManager / taskManager
      {"JobManager memory defined", [](YAML::Node& d) { d["spec"]["jobManager"]["resource"].remove("memory"); },
       "spec.jobManager.resource.memory"},
      {"JobManager memory parses", [](YAML::Node& d) { d["spec"]["jobManager"]["resource"]["memory"] = "lots"; },
       "spec.jobManager.resource.memory"},
      {"JobManager cpu positive", [](YAML::Node& d) { d["spec"]["jobManager"]["resource"]["cpu"] = 0; }, "spec.jobManager.resource.cpu"},
      {"JobManager ephemeral storage parses", [](YAML::Node& d) { d["spec"]["jobManager"]["resource"]["ephemeralStorage"] = "big"; },
       "spec.jobManager.resource.ephemeralStorage"},
      {"TaskManager memory defined", [](YAML::Node& d) { d["spec"]["taskManager"]["resource"].remove("memory"); },
       "spec.taskManager.resource.memory"},
      {"TaskManager memory positive", [](YAML::Node& d) { d["spec"]["taskManager"]["resource"]["memory"] = "0m"; },
       "spec.taskManager.resource.memory"},
      {"TaskManager cpu positive", [](YAML::Node& d) { d["spec"]["taskManager"]["resource"]["cpu"] = -1; }, "spec.taskManager.resource.cpu"},
      {"TaskManager ephemeral storage positive", [](YAML::Node& d) { d["spec"]["taskManager"]["resource"]["ephemeralStorage"] = "0"; },
       "spec.taskManager.resource.ephemeralStorage"},
      {"JobManager replicas >= 1", [](YAML::Node& d) { d["spec"]["jobManager"]["replicas"] = 0; }, "spec.jobManager.replicas"},
      {"several JobManagers need high availability", [](YAML::Node& d) { d["spec"]["jobManager"]["replicas"] = 2; },
       "spec.jobManager.replicas"},
      {"TaskManager replicas >= 1", [](YAML::Node& d) { d["spec"]["taskManager"]["replicas"] = 0; }, "spec.taskManager.replicas"},
      // pod templates
      {"pod template fields typed", [](YAML::Node& d) { d["spec"]["podTemplate"]["spec"]["containers"] = "main"; },
       "spec.podTemplate.spec.containers"},
      {"component pod template fields typed", [](YAML::Node& d) { d["spec"]["taskManager"]["podTemplate"]["spec"]["volumes"] = 3; },
       "spec.taskManager.podTemplate.spec.volumes"},
      // cluster
      {"mode values", [](YAML::Node& d) { d["spec"]["mode"] = "hybrid"; }, "spec.mode"},
      {"serviceAccount required", [](YAML::Node& d) { d["spec"].remove("serviceAccount"); }, "spec.serviceAccount"},
      // changes of a deployed resource
      {"no switch from session to application", noop, "spec.job", [](YAML::Node& d) { d["spec"].remove("job"); }},
      {"no switch from application to session", [](YAML::Node& d) { d["spec"].remove("job"); }, "spec.job", noop},
      {"no switch from native to standalone", [](YAML::Node& d) { d["spec"]["mode"] = "standalone"; }, "spec.mode", noop},
      {"no switch from standalone to native", noop, "spec.mode", [](YAML::Node& d) { d["spec"]["mode"] = "standalone"; }},
      {"no switch from an unset mode to an explicit native", [](YAML::Node& d) { d["spec"]["mode"] = "native"; }, "spec.mode",
       [](YAML::Node& d) { d["spec"].remove("mode"); }},
      {"savepointRedeployNonce needs initialSavepointPath", [](YAML::Node& d) { d["spec"]["job"]["savepointRedeployNonce"] = 1; },
       "spec.job.initialSavepointPath", noop},
  };
}

std::vector<std::filesystem::path> yamlFiles(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("Validation rules - one change to a minimal FlinkDeployment each - name the field path", "[resources][validation]") {
  REQUIRE(firstError(minimal(), YAML::Node(), OperatorConfig{}).empty());
  REQUIRE(firstError(minimal(), minimal(), OperatorConfig{}).empty());
  for (const Rule& r : rules()) {
    INFO("rule: " << r.rule);
    YAML::Node doc = minimal();
    r.mutate(doc);
    YAML::Node last;
    if (r.last) {
      last = minimal();
      r.last(last);
    }
    std::string error = firstError(doc, last, OperatorConfig{});
    INFO("error: " << error);
    CHECK_THAT(error, Catch::StartsWith(r.path + ": "));
  }
}

TEST_CASE("Validation accepts what the rules allow", "[resources][validation]") {
  auto valid = [](const Mutation& m, const Mutation& lastChange = {}) {
    YAML::Node doc = minimal();
    m(doc);
    YAML::Node last;
    if (lastChange) {
      last = minimal();
      lastChange(last);
    }
    std::string error = firstError(doc, last, OperatorConfig{});
    INFO(error);
    return error.empty();
  };
  for (const char* v : {"v1_15", "v1_16", "v1_17", "v1_18", "v1_19", "v1_20", "v2_0", "v2_1", "v2_2"}) {
    INFO(v);
    CHECK(valid([&](YAML::Node& d) { d["spec"]["flinkVersion"] = v; }));
  }
  CHECK(valid(both(upgradeMode("last-state"), withCheckpoints)));
  CHECK(valid(both(upgradeMode("last-state"), conf("execution.checkpointing.dir", "file:///tmp/ckpt"))));
  CHECK(valid(both(both(upgradeMode("savepoint"), withCheckpoints), conf("execution.checkpointing.savepoint-dir", "file:///sp"))));
  CHECK(valid(conf("kubernetes.operator.periodic.savepoint.interval", "0")));
  CHECK(valid(both(conf("state.savepoints.dir", "file:///sp"), [](YAML::Node& d) { d["spec"]["job"]["savepointTriggerNonce"] = 7; })));
  CHECK(valid([](YAML::Node& d) {
    d["spec"]["logConfiguration"]["log4j-console.properties"] = "rootLogger.level = DEBUG";
    d["spec"]["logConfiguration"]["logback-console.xml"] = "<configuration/>";
  }));
  CHECK(valid(both(conf("high-availability.type", "kubernetes"), [](YAML::Node& d) { d["spec"]["jobManager"]["replicas"] = 2; })));
  CHECK(valid(conf("kubernetes.operator.cluster.health-check.enabled", "true")));
  CHECK(valid(both(conf("job.autoscaler.enabled", "false"), conf("job.autoscaler.scale-up.max-factor", "-1"))));
  CHECK(valid([](YAML::Node& d) { d["spec"]["mode"] = "standalone"; }, [](YAML::Node& d) { d["spec"]["mode"] = "standalone"; }));
  CHECK(valid(
      [](YAML::Node& d) {
        d["spec"]["job"]["savepointRedeployNonce"] = 2;
        d["spec"]["job"]["initialSavepointPath"] = "file:///sp/savepoint-1";
      },
      noop));
  // A job spec with no memory in the spec but a process size configured.
  CHECK(valid(both([](YAML::Node& d) { d["spec"]["jobManager"]["resource"].remove("memory"); },
                   conf("jobmanager.memory.process.size", "1600m"))));
}

TEST_CASE("Validation reads the operator's default configuration under flinkConfiguration", "[resources][validation]") {
  OperatorConfig config;
  config.defaultConfiguration["state.checkpoints.dir"] = "file:///operator/checkpoints";
  YAML::Node doc = minimal();
  upgradeMode("last-state")(doc);
  CHECK(firstError(doc, YAML::Node(), OperatorConfig{}) != "");
  CHECK(firstError(doc, YAML::Node(), config) == "");

  config.defaultConfiguration["kubernetes.namespace"] = "elsewhere";
  CHECK_THAT(firstError(doc, YAML::Node(), config),
             Catch::StartsWith("spec.flinkConfiguration.kubernetes.namespace (from the operator's default configuration): "));

  // The deployment's value wins over the default.
  OperatorConfig noRecovery;
  noRecovery.defaultConfiguration["kubernetes.operator.jm-deployment-recovery.enabled"] = "false";
  YAML::Node health = minimal();
  conf("kubernetes.operator.cluster.health-check.enabled", "true")(health);
  CHECK_THAT(firstError(health, YAML::Node(), noRecovery),
             Catch::StartsWith("spec.flinkConfiguration.kubernetes.operator.jm-deployment-recovery.enabled (from the operator's default configuration): "));
  conf("kubernetes.operator.jm-deployment-recovery.enabled", "true")(health);
  CHECK(firstError(health, YAML::Node(), noRecovery) == "");
}

TEST_CASE("Every FlinkDeployment among the Apache operator's examples and ours validates", "[resources][validation]") {
  int compat = 0;
  for (const auto& path : yamlFiles(std::string(FLINK_TEST_COMPAT_DIR) + "/flink-kubernetes-operator-examples")) {
    YAML::Node doc;
    for (const auto& d : YAML::LoadAllFromFile(path.string())) {
      if (d.IsMap() && d["kind"] && d["kind"].as<std::string>() == "FlinkDeployment") doc = d;
    }
    if (!doc || !doc["spec"]) continue;  // not a FlinkDeployment, or the spec-less canary
    INFO(path);
    CHECK(firstError(doc, YAML::Node(), OperatorConfig{}) == "");
    ++compat;
  }
  CHECK(compat >= 8);
  int ours = 0;
  for (const std::string dir : {"/examples", "/examples/nexmark"}) {
    for (const auto& path : yamlFiles(std::string(FLINK_SOURCE_DIR) + dir)) {
      auto fd = loadFlinkDeployment(path.string());
      INFO(path << ": " << fd.status().message());
      REQUIRE(fd.ok());
      Status s = validateFlinkDeployment(*fd, nullptr);
      INFO(s.message());
      CHECK(s.ok());
      ++ours;
    }
  }
  CHECK(ours >= 3);
}
