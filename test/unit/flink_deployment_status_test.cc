// The typed FlinkDeploymentStatus keeps what it does not model, and JSON objects become YAML
// nodes for the FlinkDeployment parser without changing any value's type.
#include <catch2/catch.hpp>

#include "api/flink_deployment.h"
#include "api/flink_deployment_status.h"
#include "api/json_yaml.h"

using namespace flink::k8s;
using nlohmann::json;

TEST_CASE("FlinkDeploymentStatus round-trips the operator's fields and keeps unknown ones", "[status]") {
  json in = {{"lifecycleState", "STABLE"},
             {"observedGeneration", 3},
             {"jobManagerDeploymentStatus", "READY"},
             {"reconciliationStatus",
              {{"lastReconciledSpec", "{}"}, {"state", "DEPLOYED"}, {"reconciliationTimestamp", 17}, {"future", 1}}},
             {"taskManager", {{"replicas", 2}, {"labelSelector", "app=x,component=taskmanager"}}},
             {"jobStatus", {{"state", "RUNNING"}, {"jobId", "abc"}, {"checkpointInfo", {{"lastPeriodicCheckpointTimestamp", 5}}}}},
             {"clusterInfo", {{"flink-version", "1.19"}}}};
  auto s = FlinkDeploymentStatus::fromJson(in);
  CHECK(s.lifecycleState == std::optional<std::string>("STABLE"));
  CHECK(s.observedGeneration == std::optional<int64_t>(3));
  CHECK(s.reconciliationStatus->state == std::optional<std::string>("DEPLOYED"));
  CHECK(s.taskManager->replicas == 2);
  CHECK(s.jobStatus->state == std::optional<std::string>("RUNNING"));
  CHECK(s.extra.contains("clusterInfo"));
  CHECK(s.toJson() == in);
}

TEST_CASE("FlinkDeploymentStatus keeps a field of an unexpected type as it was", "[status]") {
  json in = {{"lifecycleState", 7}, {"error", json::array({"x"})}, {"taskManager", {{"replicas", "two"}}}};
  auto s = FlinkDeploymentStatus::fromJson(in);
  CHECK_FALSE(s.lifecycleState);
  CHECK_FALSE(s.taskManager);
  CHECK(s.toJson() == in);
  s.lifecycleState = "FAILED";  // the operator's value wins when it writes the field
  CHECK(s.toJson()["lifecycleState"] == "FAILED");
  CHECK(FlinkDeploymentStatus::fromJson(json()).toJson() == json::object());
}

TEST_CASE("jsonToYaml keeps strings strings, numbers numbers, and nulls null", "[status][yaml]") {
  json obj = {{"apiVersion", "flink.apache.org/v1beta1"},
              {"kind", "FlinkDeployment"},
              {"metadata", {{"name", "x"}, {"namespace", "ns"}}},
              {"spec",
               {{"image", "flink-cpp:latest"},
                {"flinkVersion", "v1_19"},
                {"flinkConfiguration", {{"taskmanager.numberOfTaskSlots", "2"}, {"rest.port", 8082}}},
                {"jobManager", {{"resource", {{"memory", "1024m"}, {"cpu", 0.5}}}}},
                {"taskManager", {{"resource", {{"memory", "1024m"}, {"cpu", 1}}}, {"podTemplate", nullptr}}},
                {"job", {{"jarURI", "local:///job.so"}, {"parallelism", 4}, {"args", json::array({"--n", "10"})}}}}}};
  YAML::Node n = jsonToYaml(obj);
  CHECK(n["spec"]["flinkConfiguration"]["taskmanager.numberOfTaskSlots"].Tag() == "!");
  CHECK(n["spec"]["flinkConfiguration"]["rest.port"].Scalar() == "8082");
  CHECK(n["spec"]["taskManager"]["podTemplate"].IsNull());
  auto fd = parseFlinkDeployment(n, "test");
  REQUIRE(fd.ok());
  CHECK(fd->spec.jobManager.resource.cpu == 0.5);
  CHECK(fd->spec.job->parallelism == std::optional<int>(4));
  CHECK(fd->spec.job->args == std::vector<std::string>{"--n", "10"});
  CHECK(fd->taskSlots() == 2);
  // Errors name the field path (no line: the object did not come from a file).
  obj["spec"]["job"]["parallelism"] = "four";
  auto bad = parseFlinkDeployment(jsonToYaml(obj), "FlinkDeployment ns/x");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::StartsWith("FlinkDeployment ns/x: spec.job.parallelism"));
}
