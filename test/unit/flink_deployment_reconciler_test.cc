// The FlinkDeployment reconciler against the fake Kubernetes API (test/support/fake_kube_api.h)
// and real informers: what the cluster holds after a reconcile (children, status, events), that
// a second reconcile writes nothing, that an invalid spec ends in status.error and a Warning
// event while the last valid spec keeps its children, and that a deleted child comes back.
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "controller/flink_deployment_controller.h"
#include "fake_kube_api.h"
#include "k8s/informer.h"
#include "openapi_validator.h"

#include <httplib.h>

using namespace flink::k8s;
using nlohmann::json;

namespace {

constexpr const char* kNs = "ns";

json flightDelays() {
  std::ifstream in(std::string(FLINK_SOURCE_DIR) + "/examples/flight-delays.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  json obj = flinktest::yamlToJson(YAML::Load(ss.str()));
  obj["metadata"]["namespace"] = kNs;
  return obj;
}

using testing::eventually;

struct Cluster {
  std::shared_ptr<testing::FakeKubeApi> api = std::make_shared<testing::FakeKubeApi>();
  Informer fds{api, types::kFlinkDeployment, kNs};
  Informer deployments{api, types::kDeployment, kNs};
  Informer services{api, types::kService, kNs};
  Informer configMaps{api, types::kConfigMap, kNs};
  FlinkDeploymentController controller;

  explicit Cluster(OperatorConfig config = {})
      : controller(api, {&fds, &deployments, &services, &configMaps}, std::move(config)) {
    for (Informer* i : {&fds, &deployments, &services, &configMaps}) i->start();
    REQUIRE(eventually([&] { return fds.synced() && deployments.synced() && services.synced() && configMaps.synced(); }));
  }
  ~Cluster() {
    for (Informer* i : {&fds, &deployments, &services, &configMaps}) i->stop();
  }
  /// Waits until every informer has seen the fake's latest state, then reconciles.
  ReconcileResult reconcile(const std::string& name) {
    REQUIRE(eventually([&] {
      return api->caughtUp(fds, kNs) && api->caughtUp(deployments, kNs) && api->caughtUp(services, kNs) &&
             api->caughtUp(configMaps, kNs);
    }));
    return controller.reconcile(kNs, name);
  }
  json get(const ResourceType& type, const std::string& name) { return api->get(type.objectPath(kNs, name)).body; }
  std::vector<std::string> eventReasons() {
    std::vector<std::string> out;
    for (const auto& e : api->list(types::kEvent.collectionPath(kNs))) out.push_back(e.value("reason", ""));
    return out;
  }
};

}  // namespace

TEST_CASE("Reconciling a new FlinkDeployment creates its children and records the status, and again writes nothing",
          "[reconciler]") {
  Cluster c;
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), flightDelays()).ok());
  auto r = c.reconcile("flight-delays");
  REQUIRE(r.ok);
  // The first reconcile may observe its new JobManager Deployment only in the next one (the
  // informer cache lags the writes): level-triggered, the second one settles the status.
  REQUIRE(c.reconcile("flight-delays").ok);
  CHECK(c.get(types::kConfigMap, "flink-config-flight-delays")["metadata"]["name"] == "flink-config-flight-delays");
  CHECK(c.get(types::kService, "flight-delays-rest")["spec"]["ports"][0]["port"] == 8081);
  for (const char* d : {"flight-delays", "flight-delays-taskmanager"}) {
    json dep = c.get(types::kDeployment, d);
    REQUIRE(dep.contains("spec"));
    CHECK(dep["metadata"]["ownerReferences"][0]["kind"] == "FlinkDeployment");
  }
  json status = c.get(types::kFlinkDeployment, "flight-delays")["status"];
  CHECK(status["lifecycleState"] == "DEPLOYED");
  CHECK(status["observedGeneration"] == 1);
  CHECK(status["reconciliationStatus"]["lastReconciledSpec"] ==
        c.get(types::kFlinkDeployment, "flight-delays")["spec"].dump());
  CHECK(status["jobManagerDeploymentStatus"] == "DEPLOYING");  // no kubelet here: never ready
  CHECK(status["jobStatus"]["state"] == "RECONCILING");
  auto reasons = c.eventReasons();
  CHECK(std::count(reasons.begin(), reasons.end(), "SpecChanged") == 1);
  CHECK(std::count(reasons.begin(), reasons.end(), "Created") == 5);

  // Level-triggered and idempotent: the same state reconciled again writes nothing.
  int writes = c.api->writes();
  REQUIRE(c.reconcile("flight-delays").ok);
  CHECK(c.api->writes() == writes);
}

TEST_CASE("An invalid spec ends in status.error and one Warning event while the last valid spec keeps its children",
          "[reconciler]") {
  Cluster c;
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), flightDelays()).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  json before = c.get(types::kDeployment, "flight-delays-taskmanager");

  REQUIRE(c.api->patch(types::kFlinkDeployment.objectPath(kNs, "flight-delays"),
                       {{"spec", {{"job", {{"parallelism", 0}}}}}})
              .ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  REQUIRE(c.reconcile("flight-delays").ok);
  json status = c.get(types::kFlinkDeployment, "flight-delays")["status"];
  CHECK_THAT(status.value("error", ""), Catch::Contains("spec.job.parallelism"));
  CHECK(status["observedGeneration"] == 2);
  CHECK(status["lifecycleState"] == "DEPLOYED");
  auto reasons = c.eventReasons();
  CHECK(std::count(reasons.begin(), reasons.end(), "ValidationError") == 1);
  CHECK(c.get(types::kDeployment, "flight-delays-taskmanager")["spec"] == before["spec"]);

  // Fixed again: the error clears.
  REQUIRE(c.api->patch(types::kFlinkDeployment.objectPath(kNs, "flight-delays"),
                       {{"spec", {{"job", {{"parallelism", 2}}}}}})
              .ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  CHECK_FALSE(c.get(types::kFlinkDeployment, "flight-delays")["status"].contains("error"));
}

TEST_CASE("A child deleted by hand is created again by the next reconcile", "[reconciler]") {
  Cluster c;
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), flightDelays()).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  REQUIRE(c.api->del(types::kService.objectPath(kNs, "flight-delays-rest")).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  CHECK(c.api->get(types::kService.objectPath(kNs, "flight-delays-rest")).ok());
}

TEST_CASE("Children the API server refuses: status.error and jobManagerDeploymentStatus say so, no hot loop, cleared after",
          "[reconciler]") {
  Cluster c;
  const std::string refused = "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal number";
  c.api->refuseWrites(types::kDeployment.collectionPath(kNs), 400, refused);
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), flightDelays()).ok());
  CHECK_FALSE(c.reconcile("flight-delays").ok);
  json status = c.get(types::kFlinkDeployment, "flight-delays")["status"];
  CHECK_THAT(status.value("error", ""), Catch::Contains("cannot unmarshal number"));
  CHECK(status["jobManagerDeploymentStatus"] == "ERROR");
  // Retried (the Controller backs off): the same failure does not rewrite the status, and it is
  // one event (counted) rather than one event per retry.
  json version = c.get(types::kFlinkDeployment, "flight-delays")["metadata"]["resourceVersion"];
  CHECK_FALSE(c.reconcile("flight-delays").ok);
  CHECK_FALSE(c.reconcile("flight-delays").ok);
  CHECK(c.get(types::kFlinkDeployment, "flight-delays")["metadata"]["resourceVersion"] == version);
  auto reasons = c.eventReasons();
  CHECK(std::count(reasons.begin(), reasons.end(), "ReconcileError") == 1);
  // The API server accepts them again: the next reconcile writes them and clears the error.
  c.api->refuseWrites(types::kDeployment.collectionPath(kNs), 0, "");
  REQUIRE(c.reconcile("flight-delays").ok);
  status = c.get(types::kFlinkDeployment, "flight-delays")["status"];
  CHECK_FALSE(status.contains("error"));
  CHECK(status["jobManagerDeploymentStatus"] != "ERROR");
  CHECK(c.api->get(types::kDeployment.objectPath(kNs, "flight-delays")).ok());
}

TEST_CASE("Malformed pod templates are validation errors naming the field, and nothing is deployed", "[reconciler]") {
  struct Case {
    const char* where;  // JSON pointer of the template's field in the object
    json value;
    const char* field;  // what status.error must name
  };
  const std::vector<Case> cases = {
      {"/spec/podTemplate/spec/containers", "not-a-list", "spec.podTemplate.spec.containers: expected a list"},
      {"/spec/podTemplate/spec/containers", json::array({1, 2}), "spec.podTemplate.spec.containers[0]: expected a map"},
      {"/spec/taskManager/podTemplate/spec/containers", json::array({{{"name", 5}}}),
       "spec.taskManager.podTemplate.spec.containers[0].name: expected a string"},
      {"/spec/jobManager/podTemplate/spec/volumes", json{{"a", 1}}, "spec.jobManager.podTemplate.spec.volumes: expected a list"},
      {"/spec/podTemplate/spec/containers", json::array({{{"name", "c"}, {"env", "X=1"}}}),
       "spec.podTemplate.spec.containers[0].env: expected a list"},
      {"/spec/podTemplate/metadata/labels", json{{"a", json{{"b", 1}}}}, "spec.podTemplate.metadata.labels.a: expected a string"},
      {"/spec/podTemplate", json::array({1}), "spec.podTemplate: expected a map"},
  };
  for (const Case& k : cases) {
    INFO(k.where << " = " << k.value.dump());
    Cluster c;
    json fd = flightDelays();
    fd[json::json_pointer(k.where)] = k.value;
    REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), fd).ok());
    REQUIRE(c.reconcile("flight-delays").ok);
    REQUIRE(c.reconcile("flight-delays").ok);
    json status = c.get(types::kFlinkDeployment, "flight-delays")["status"];
    CHECK_THAT(status.value("error", ""), Catch::Contains(k.field));
    CHECK(status["lifecycleState"] == "FAILED");
    CHECK(c.api->list(types::kDeployment.collectionPath(kNs)).empty());
    auto reasons = c.eventReasons();
    CHECK(std::count(reasons.begin(), reasons.end(), "ValidationError") == 1);
  }
}

TEST_CASE("The observer records the job the JobManager's REST API reports: jobStatus, clusterInfo, STABLE, then FAILED",
          "[reconciler]") {
  // A JobManager REST API stand-in on loopback; the operator finds it through the rest
  // Service's Endpoints (--jobmanager-address pod-ip).
  std::string state = "RUNNING";
  std::mutex mu;
  httplib::Server jm;
  jm.Get("/jobs/overview", [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    json jobs = {{"jobs", {{{"jid", std::string(32, 'a')}, {"name", "flight-delays"}, {"state", state}, {"start-time", 1700000000000}}}}};
    res.set_content(jobs.dump(), "application/json");
  });
  jm.Get("/config", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"flink-version":"1.19.0","flink-revision":"flink-cpp-0.1.0"})", "application/json");
  });
  int port = jm.bind_to_any_port("127.0.0.1");
  std::thread server([&] { jm.listen_after_bind(); });
  struct Stop {
    httplib::Server& s;
    std::thread& t;
    ~Stop() {
      s.stop();
      t.join();
    }
  } stop{jm, server};

  OperatorConfig config;
  config.jobManagerAddress = "pod-ip";
  Cluster c(config);
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), flightDelays()).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  // What the workload controllers and the kubelet would report: the JobManager ready, the rest
  // Service's endpoint.
  json dep = c.get(types::kDeployment, "flight-delays");
  dep["status"] = {{"replicas", 1}, {"readyReplicas", 1}};
  REQUIRE(c.api->put(types::kDeployment.objectPath(kNs, "flight-delays") + "/status", dep).ok());
  json endpoints = {{"apiVersion", "v1"},
                    {"kind", "Endpoints"},
                    {"metadata", {{"name", "flight-delays-rest"}, {"namespace", kNs}}},
                    {"subsets", {{{"addresses", {{{"ip", "127.0.0.1"}}}}, {"ports", {{{"name", "rest"}, {"port", port}}}}}}}};
  REQUIRE(c.api->post("/api/v1/namespaces/" + std::string(kNs) + "/endpoints", endpoints).ok());

  auto r = c.reconcile("flight-delays");
  REQUIRE(r.ok);
  CHECK(r.requeueAfter == std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(10000)));  // a running job
  json status = c.get(types::kFlinkDeployment, "flight-delays")["status"];
  CHECK(status["jobManagerDeploymentStatus"] == "READY");
  CHECK(status["jobStatus"]["state"] == "RUNNING");
  CHECK(status["jobStatus"]["jobId"] == std::string(32, 'a'));
  CHECK(status["jobStatus"]["startTime"] == "1700000000000");
  CHECK(status["clusterInfo"]["flink-version"] == "1.19.0");
  CHECK(status["lifecycleState"] == "STABLE");
  CHECK(status["reconciliationStatus"]["lastStableSpec"] == status["reconciliationStatus"]["lastReconciledSpec"]);

  {
    std::lock_guard<std::mutex> lock(mu);
    state = "FAILED";
  }
  r = c.reconcile("flight-delays");
  REQUIRE(r.ok);
  CHECK(r.requeueAfter == std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(60000)));
  status = c.get(types::kFlinkDeployment, "flight-delays")["status"];
  CHECK(status["jobStatus"]["state"] == "FAILED");
  CHECK(status["lifecycleState"] == "FAILED");

  // Unreachable JobManager: what the status says is kept (no flapping back to RECONCILING).
  jm.stop();
  r = c.reconcile("flight-delays");
  REQUIRE(r.ok);
  CHECK(c.get(types::kFlinkDeployment, "flight-delays")["status"]["jobStatus"]["state"] == "FAILED");
}

TEST_CASE("Suspending a stateless job deletes its JobManager and TaskManagers, resuming deploys them again", "[reconciler]") {
  Cluster c;
  json fd = flightDelays();
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), fd).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  REQUIRE(c.api->get(types::kDeployment.objectPath(kNs, "flight-delays")).ok());

  REQUIRE(c.api->patch(types::kFlinkDeployment.objectPath(kNs, "flight-delays"), {{"spec", {{"job", {{"state", "suspended"}}}}}}).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  REQUIRE(c.reconcile("flight-delays").ok);
  CHECK(c.api->list(types::kDeployment.collectionPath(kNs)).empty());
  CHECK(c.api->get(types::kConfigMap.objectPath(kNs, "flink-config-flight-delays")).ok());
  CHECK(c.api->get(types::kService.objectPath(kNs, "flight-delays-rest")).ok());
  json status = c.get(types::kFlinkDeployment, "flight-delays")["status"];
  CHECK(status["lifecycleState"] == "SUSPENDED");
  CHECK(status["jobStatus"]["state"] == "SUSPENDED");
  CHECK(status["jobManagerDeploymentStatus"] == "MISSING");
  auto reasons = c.eventReasons();
  CHECK(std::count(reasons.begin(), reasons.end(), "Suspended") == 2);

  REQUIRE(c.api->patch(types::kFlinkDeployment.objectPath(kNs, "flight-delays"), {{"spec", {{"job", {{"state", "running"}}}}}}).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  CHECK(c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
  CHECK(c.get(types::kFlinkDeployment, "flight-delays")["status"]["lifecycleState"] == "UPGRADING");
}

TEST_CASE("Suspending a savepoint or last-state job is refused for now: the job keeps running and the status says why",
          "[reconciler]") {
  for (const char* mode : {"savepoint", "last-state"}) {
    INFO(mode);
    Cluster c;
    json fd = flightDelays();
    fd["spec"]["job"]["upgradeMode"] = mode;
    fd["spec"]["flinkConfiguration"]["state.checkpoints.dir"] = "file:///tmp/checkpoints";
    REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), fd).ok());
    REQUIRE(c.reconcile("flight-delays").ok);
    REQUIRE(c.api->patch(types::kFlinkDeployment.objectPath(kNs, "flight-delays"), {{"spec", {{"job", {{"state", "suspended"}}}}}}).ok());
    REQUIRE(c.reconcile("flight-delays").ok);
    json status = c.get(types::kFlinkDeployment, "flight-delays")["status"];
    CHECK_THAT(status.value("error", ""), Catch::Contains("spec.job.state: suspending a job with upgradeMode"));
    CHECK(c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
    CHECK(status["lifecycleState"] != "SUSPENDED");
  }
}
