// The FlinkDeployment reconciler against the fake Kubernetes API (test/support/fake_kube_api.h)
// and real informers: what the cluster holds after a reconcile (children, status, events), that
// a second reconcile writes nothing, that an invalid spec ends in status.error and a Warning
// event while the last valid spec keeps its children, and that a deleted child comes back.
#include <chrono>
#include <functional>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "controller/flink_deployment_controller.h"
#include "flink/common/certificates.h"
#include "flink/common/strings.h"
#include "flink/common/tls.h"
#include "controller/state_snapshot_controller.h"
#include "fake_kube_api.h"
#include "jobmanager_stand_in.h"
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
  Informer ingresses{api, types::kIngress, kNs};
  FlinkDeploymentController controller;

  explicit Cluster(OperatorConfig config = {}) : Cluster(std::make_shared<OperatorConfigStore>(std::move(config))) {}
  explicit Cluster(std::shared_ptr<OperatorConfigStore> configs)
      : controller(api, {&fds, &deployments, &services, &configMaps, &ingresses}, std::move(configs)) {
    for (Informer* i : {&fds, &deployments, &services, &configMaps, &ingresses}) i->start();
    REQUIRE(eventually([&] {
      return fds.synced() && deployments.synced() && services.synced() && configMaps.synced() && ingresses.synced();
    }));
  }
  ~Cluster() {
    for (Informer* i : {&fds, &deployments, &services, &configMaps, &ingresses}) i->stop();
  }
  /// Waits until every informer has seen the fake's latest state, then reconciles.
  ReconcileResult reconcile(const std::string& name) {
    REQUIRE(eventually([&] {
      return api->caughtUp(fds, kNs) && api->caughtUp(deployments, kNs) && api->caughtUp(services, kNs) &&
             api->caughtUp(configMaps, kNs) && api->caughtUp(ingresses, kNs);
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

/// The flight-delay example with a stateful upgrade mode and its directories.
json statefulFlightDelays(const std::string& mode) {
  json fd = flightDelays();
  fd["spec"]["job"]["upgradeMode"] = mode;
  fd["spec"]["flinkConfiguration"]["state.checkpoints.dir"] = "file:///tmp/checkpoints";
  fd["spec"]["flinkConfiguration"]["state.savepoints.dir"] = "file:///tmp/savepoints";
  return fd;
}

/// A FlinkDeployment whose job runs: deployed, its JobManager Deployment ready (as the workload
/// controllers would report it), its REST API the stand-in (through the rest Service's
/// Endpoints, --jobmanager-address pod-ip), the job RUNNING under the job ID the operator chose,
/// lifecycle STABLE.
struct Lifecycle {
  testing::JobManagerStandIn jm;
  Cluster c;

  static OperatorConfig podIp() {
    OperatorConfig config;
    config.jobManagerAddress = "pod-ip";
    return config;
  }
  explicit Lifecycle(const json& fd) : c(podIp()) {
    REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), fd).ok());
    REQUIRE(c.reconcile("flight-delays").ok);
    json endpoints = {{"apiVersion", "v1"},
                      {"kind", "Endpoints"},
                      {"metadata", {{"name", "flight-delays-rest"}, {"namespace", kNs}}},
                      {"subsets", {{{"addresses", {{{"ip", "127.0.0.1"}}}}, {"ports", {{{"name", "rest"}, {"port", jm.port}}}}}}}};
    REQUIRE(c.api->post("/api/v1/namespaces/" + std::string(kNs) + "/endpoints", endpoints).ok());
    markReady();
    REQUIRE(jobId().size() == 32);
    jm.set(jobId(), "RUNNING");
    REQUIRE(c.reconcile("flight-delays").ok);
    REQUIRE(status()["lifecycleState"] == "STABLE");
  }
  /// The JobManager Deployment reports one ready replica.
  void markReady() {
    json dep = c.get(types::kDeployment, "flight-delays");
    dep["status"] = {{"replicas", 1}, {"readyReplicas", 1}};
    REQUIRE(c.api->put(types::kDeployment.objectPath(kNs, "flight-delays") + "/status", dep).ok());
  }
  json status() { return c.get(types::kFlinkDeployment, "flight-delays")["status"]; }
  /// A reconcile, and the immediate ones it asks for (a trigger recorded is sent by the next),
  /// as the Controller would run them.
  ReconcileResult step() {
    ReconcileResult r = c.reconcile("flight-delays");
    for (int i = 0; i < 3 && r.ok && r.requeueAfter && *r.requeueAfter <= std::chrono::milliseconds(50); ++i) {
      r = c.reconcile("flight-delays");
    }
    return r;
  }
  /// Reconciles until the stopped job's successor is deployed (the old Deployments go in one
  /// step, the new ones come in the next).
  void redeploy() {
    for (int i = 0; i < 3; ++i) {
      REQUIRE(c.reconcile("flight-delays").ok);
      if (stoppedWith().empty() && c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2) return;
    }
    FAIL("the job was not redeployed within 3 reconciles");
  }
  /// The upgradeMode that stopped the job, as lastReconciledSpec records it ("" while it runs).
  std::string stoppedWith() {
    json last = json::parse(status()["reconciliationStatus"].value("lastReconciledSpec", "{}"));
    json job = last.value("job", json::object());
    return job.value("state", "") == "suspended" ? job.value("upgradeMode", "") : "";
  }
  std::string jobId() { return status()["jobStatus"].value("jobId", ""); }
  void patchSpec(const json& spec) {
    REQUIRE(c.api->patch(types::kFlinkDeployment.objectPath(kNs, "flight-delays"), {{"spec", spec}}).ok());
  }
  /// A key of the cluster configuration in the ConfigMap ("" when absent).
  std::string conf(const std::string& key) {
    json cm = c.get(types::kConfigMap, "flink-config-flight-delays");
    YAML::Node conf = YAML::Load(cm["data"].value("config.yaml", ""));
    return conf[key] ? conf[key].as<std::string>() : "";
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

TEST_CASE("The default configuration, reloaded, reaches the cluster's ConfigMap at the next reconcile, with the "
          "namespace's and Flink version's defaults over the global ones",
          "[reconciler][operator-config]") {
  auto configs = std::make_shared<OperatorConfigStore>(OperatorConfig{"img", {{"custom.key", "global"}}});
  Cluster c(configs);
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), flightDelays()).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  auto conf = [&](const std::string& key) {
    json cm = c.get(types::kConfigMap, "flink-config-flight-delays");
    YAML::Node node = YAML::Load(cm["data"].value("config.yaml", ""));
    return node[key] ? node[key].as<std::string>() : std::string("(unset)");
  };
  CHECK(conf("custom.key") == "global");

  std::string version = flightDelays()["spec"].value("flinkVersion", "");
  REQUIRE(!version.empty());
  configs->setDefaults({{"custom.key", "global"},
                        {"other.key", "global"},
                        {"kubernetes.operator.default-configuration.namespace.ns.custom.key", "namespace"},
                        {"kubernetes.operator.default-configuration.namespace.elsewhere.other.key", "elsewhere"},
                        {"kubernetes.operator.default-configuration.flink-version." + version + ".other.key", "version"}});
  REQUIRE(c.reconcile("flight-delays").ok);
  CHECK(conf("custom.key") == "namespace");
  CHECK(conf("other.key") == "version");
  CHECK(conf("kubernetes.operator.default-configuration.namespace.ns.custom.key") == "(unset)");
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
  // The operator finds the stand-in through the rest Service's Endpoints (--jobmanager-address pod-ip).
  Lifecycle l(flightDelays());
  auto r = l.step();
  REQUIRE(r.ok);
  CHECK(r.requeueAfter == std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(10000)));  // a running job
  json status = l.status();
  CHECK(status["jobManagerDeploymentStatus"] == "READY");
  CHECK(status["jobStatus"]["state"] == "RUNNING");
  CHECK(status["jobStatus"]["jobId"] == l.jobId());
  CHECK(l.conf("$internal.pipeline.job-id") == l.jobId());
  CHECK(status["jobStatus"]["startTime"] == "1700000000000");
  CHECK(status["clusterInfo"]["flink-version"] == "1.19.0");
  CHECK(status["lifecycleState"] == "STABLE");
  CHECK(status["reconciliationStatus"]["lastStableSpec"] == status["reconciliationStatus"]["lastReconciledSpec"]);

  // A JobManager that runs another job (an old cluster) is not taken for ours.
  l.jm.set(std::string(32, 'b'), "FAILED");
  REQUIRE(l.step().ok);
  CHECK(l.status()["jobStatus"]["state"] == "RUNNING");

  l.jm.set(l.jobId(), "FAILED");
  r = l.step();
  REQUIRE(r.ok);
  CHECK(r.requeueAfter == std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(60000)));
  status = l.status();
  CHECK(status["jobStatus"]["state"] == "FAILED");
  CHECK(status["lifecycleState"] == "FAILED");
  CHECK(status.value("error", "") == "Job " + l.jobId() + " failed: java.lang.RuntimeException: the input file is gone");
  // One JobStatusChanged event per observed change, the failure a Warning.
  std::vector<std::string> changes;
  for (const auto& e : l.c.api->list(types::kEvent.collectionPath(kNs))) {
    if (e.value("reason", "") == "JobStatusChanged") changes.push_back(e.value("type", "") + ": " + e.value("message", ""));
  }
  std::sort(changes.begin(), changes.end());
  CHECK(changes == std::vector<std::string>{"Normal: Job status changed from RECONCILING to RUNNING",
                                            "Warning: Job status changed from RUNNING to FAILED"});

  // Unreachable JobManager: what the status says is kept (no flapping back to RECONCILING).
  l.jm.stop();
  r = l.step();
  REQUIRE(r.ok);
  CHECK(l.status()["jobStatus"]["state"] == "FAILED");
}

TEST_CASE("Suspending a stateless job deletes its JobManager and TaskManagers, resuming deploys them again", "[reconciler]") {
  Cluster c;
  json fd = flightDelays();
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), fd).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  REQUIRE(c.api->get(types::kDeployment.objectPath(kNs, "flight-delays")).ok());

  REQUIRE(c.api->patch(types::kFlinkDeployment.objectPath(kNs, "flight-delays"), {{"spec", {{"job", {{"state", "suspended"}}}}}}).ok());
  REQUIRE(c.reconcile("flight-delays").ok);  // the stop is recorded
  REQUIRE(c.reconcile("flight-delays").ok);  // the Deployments go
  REQUIRE(c.reconcile("flight-delays").ok);  // and are seen gone
  CHECK(c.api->list(types::kDeployment.collectionPath(kNs)).empty());
  CHECK(c.api->get(types::kConfigMap.objectPath(kNs, "flink-config-flight-delays")).ok());
  CHECK(c.api->get(types::kService.objectPath(kNs, "flight-delays-rest")).ok());
  json status = c.get(types::kFlinkDeployment, "flight-delays")["status"];
  CHECK(status["lifecycleState"] == "SUSPENDED");
  CHECK(status["jobStatus"]["state"] == "SUSPENDED");
  CHECK(status["jobManagerDeploymentStatus"] == "MISSING");
  auto reasons = c.eventReasons();
  CHECK(std::count(reasons.begin(), reasons.end(), "Suspended") == 2);

  const std::string jobId = status["jobStatus"]["jobId"];
  REQUIRE(c.api->patch(types::kFlinkDeployment.objectPath(kNs, "flight-delays"), {{"spec", {{"job", {{"state", "running"}}}}}}).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  CHECK(c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
  status = c.get(types::kFlinkDeployment, "flight-delays")["status"];
  CHECK(status["lifecycleState"] == "DEPLOYED");
  CHECK(status["jobStatus"]["jobId"] != jobId);  // stateless: a new job
}

TEST_CASE("A savepoint upgrade stops the job with a savepoint, then runs the new spec from it under a new job ID",
          "[reconciler][lifecycle]") {
  Lifecycle l(statefulFlightDelays("savepoint"));
  const std::string oldJobId = l.jobId();
  l.patchSpec({{"job", {{"parallelism", 3}}}});
  REQUIRE(l.step().ok);
  // The stop is triggered and recorded before anything else happens; the cluster still runs.
  REQUIRE(l.jm.numTriggers() == 1);
  CHECK(l.jm.latest().path == "stop");
  CHECK(l.jm.latest().body["targetDirectory"] == "file:///tmp/savepoints");
  CHECK(l.jm.latest().body["drain"] == false);
  json status = l.status();
  CHECK(status["lifecycleState"] == "UPGRADING");
  CHECK(status["reconciliationStatus"]["state"] == "UPGRADING");
  CHECK(status["jobStatus"]["savepointInfo"]["triggerType"] == "UPGRADE");
  CHECK(status["jobStatus"]["savepointInfo"]["triggerId"] == l.jm.order.back());
  CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);

  // In progress: nothing changes, no second trigger.
  REQUIRE(l.step().ok);
  CHECK(l.jm.numTriggers() == 1);
  CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);

  l.jm.completeLatest("file:///tmp/savepoints/savepoint-1");
  REQUIRE(l.step().ok);
  status = l.status();
  CHECK_FALSE(l.stoppedWith().empty());  // recorded first; the cluster goes in the next step
  CHECK(status["jobStatus"]["savepointInfo"]["lastSavepoint"]["location"] == "file:///tmp/savepoints/savepoint-1");
  CHECK(status["jobStatus"]["savepointInfo"]["lastSavepoint"]["triggerType"] == "UPGRADE");
  CHECK_FALSE(status["jobStatus"]["savepointInfo"].contains("triggerId"));
  json last = json::parse(status["reconciliationStatus"]["lastReconciledSpec"].get<std::string>());
  CHECK(last["job"]["state"] == "suspended");
  CHECK(last["job"]["upgradeMode"] == "savepoint");
  CHECK(last["job"]["parallelism"] == 2);

  const int deletes = l.c.api->deletes();
  l.redeploy();
  status = l.status();
  CHECK(l.c.api->deletes() == deletes + 2);  // the old JobManager and TaskManager Deployments
  CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
  CHECK(status["lifecycleState"] == "DEPLOYED");
  CHECK(json::parse(status["reconciliationStatus"]["lastReconciledSpec"].get<std::string>())["job"]["parallelism"] == 3);
  CHECK(status["jobStatus"]["upgradeSavepointPath"] == "file:///tmp/savepoints/savepoint-1");
  // Recorded as a FlinkStateSnapshot (kubernetes.operator.snapshot.resource.enabled, default true).
  CHECK(status["jobStatus"]["upgradeSnapshotReference"]["name"] == "flight-delays-savepoint-1");
  json snapshot = l.c.get(types::kFlinkStateSnapshot, "flight-delays-savepoint-1");
  CHECK(snapshot["spec"]["savepoint"]["path"] == "file:///tmp/savepoints/savepoint-1");
  CHECK(snapshot["spec"]["savepoint"]["alreadyExists"] == true);
  CHECK(snapshot["spec"]["savepoint"]["disposeOnDelete"] == false);
  CHECK(snapshot["spec"]["jobReference"]["name"] == "flight-delays");
  CHECK(snapshot["metadata"]["labels"]["snapshot.trigger-type"] == "UPGRADE");
  CHECK(l.conf("execution.savepoint.path") == "file:///tmp/savepoints/savepoint-1");
  CHECK(l.conf("parallelism.default") == "3");
  CHECK(l.jobId() != oldJobId);
  CHECK(l.conf("$internal.pipeline.job-id") == l.jobId());

  // The new job runs: STABLE; a JobManager restart keeps the configuration (its own
  // checkpoints take precedence over the savepoint in the runtime).
  l.markReady();
  l.jm.set(l.jobId(), "RUNNING");
  REQUIRE(l.step().ok);
  CHECK(l.status()["lifecycleState"] == "STABLE");
  auto reasons = l.c.eventReasons();
  CHECK(std::count(reasons.begin(), reasons.end(), "SavepointTriggered") == 1);
  CHECK(std::count(reasons.begin(), reasons.end(), "SavepointCreated") == 1);
}

TEST_CASE("A last-state upgrade deletes the cluster without a savepoint and keeps the job ID", "[reconciler][lifecycle]") {
  Lifecycle l(statefulFlightDelays("last-state"));
  const std::string jobId = l.jobId();
  {
    std::lock_guard<std::mutex> lock(l.jm.mu);
    l.jm.checkpointId = 7;
  }
  l.patchSpec({{"job", {{"parallelism", 3}}}});
  REQUIRE(l.step().ok);
  CHECK(l.jm.numTriggers() == 0);
  CHECK_FALSE(l.stoppedWith().empty());  // recorded first; the cluster goes in the next step
  json status = l.status();
  CHECK(status["jobStatus"]["checkpointInfo"]["lastCheckpoint"]["id"] == 7);
  CHECK(json::parse(status["reconciliationStatus"]["lastReconciledSpec"].get<std::string>())["job"]["upgradeMode"] ==
        "last-state");
  l.redeploy();
  CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
  CHECK(l.jobId() == jobId);
  CHECK(l.conf("$internal.pipeline.job-id") == jobId);
  CHECK(l.conf("execution.savepoint.path").empty());
  CHECK(l.conf("parallelism.default") == "3");
}

TEST_CASE("Suspend with a savepoint and resume from it", "[reconciler][lifecycle]") {
  Lifecycle l(statefulFlightDelays("savepoint"));
  l.patchSpec({{"job", {{"state", "suspended"}}}});
  REQUIRE(l.step().ok);
  REQUIRE(l.jm.numTriggers() == 1);
  l.jm.completeLatest("file:///tmp/savepoints/savepoint-9");
  REQUIRE(l.step().ok);
  REQUIRE(l.step().ok);
  json status = l.status();
  CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).empty());
  CHECK(status["lifecycleState"] == "SUSPENDED");
  CHECK(status["jobStatus"]["state"] == "SUSPENDED");
  CHECK(status["jobStatus"]["savepointInfo"]["lastSavepoint"]["location"] == "file:///tmp/savepoints/savepoint-9");
  CHECK(l.c.get(types::kConfigMap, "flink-config-flight-delays").is_object());  // kept while suspended

  l.patchSpec({{"job", {{"state", "running"}}}});
  REQUIRE(l.step().ok);
  CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
  CHECK(l.conf("execution.savepoint.path") == "file:///tmp/savepoints/savepoint-9");
  CHECK(l.status()["lifecycleState"] == "DEPLOYED");
}

TEST_CASE("No savepoint can be taken: last-state fallback when allowed, else the upgrade waits and says why",
          "[reconciler][lifecycle]") {
  for (bool fallback : {true, false}) {
    INFO("fallback " << fallback);
    json fd = statefulFlightDelays("savepoint");
    if (!fallback) fd["spec"]["flinkConfiguration"]["kubernetes.operator.job.upgrade.last-state-fallback.enabled"] = "false";
    Lifecycle l(fd);
    const std::string jobId = l.jobId();
    l.jm.set(jobId, "RESTARTING");
    l.patchSpec({{"job", {{"parallelism", 3}}}});
    REQUIRE(l.step().ok);
    CHECK(l.jm.numTriggers() == 0);
    json status = l.status();
    auto reasons = l.c.eventReasons();
    if (fallback) {
      CHECK_FALSE(l.stoppedWith().empty());  // recorded first; the cluster goes in the next step
      CHECK(std::count(reasons.begin(), reasons.end(), "UpgradeFallback") == 1);
      CHECK(json::parse(status["reconciliationStatus"]["lastReconciledSpec"].get<std::string>())["job"]["upgradeMode"] ==
            "last-state");
      REQUIRE(l.step().ok);
      CHECK(l.jobId() == jobId);
    } else {
      CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
      CHECK_THAT(status.value("error", ""), Catch::Contains("Cannot upgrade with a savepoint: the job is RESTARTING"));
      CHECK(status["lifecycleState"] == "UPGRADING");
      // Once the job runs again, the savepoint is taken.
      l.jm.set(jobId, "RUNNING");
      REQUIRE(l.step().ok);
      CHECK(l.jm.numTriggers() == 1);
    }
  }
}

TEST_CASE("savepointTriggerNonce takes one savepoint per nonce without restarting the job", "[reconciler][lifecycle]") {
  Lifecycle l(statefulFlightDelays("savepoint"));
  l.patchSpec({{"job", {{"savepointTriggerNonce", 1}}}});
  REQUIRE(l.step().ok);
  REQUIRE(l.jm.numTriggers() == 1);
  CHECK(l.jm.latest().path == "savepoints");
  CHECK(l.jm.latest().body["cancel-job"] == false);
  CHECK(l.status()["jobStatus"]["savepointInfo"]["triggerType"] == "MANUAL");
  l.jm.completeLatest("file:///tmp/savepoints/savepoint-m1");
  REQUIRE(l.step().ok);
  REQUIRE(l.step().ok);
  json info = l.status()["jobStatus"]["savepointInfo"];
  CHECK(info["lastSavepoint"]["location"] == "file:///tmp/savepoints/savepoint-m1");
  CHECK(info["lastSavepoint"]["triggerType"] == "MANUAL");
  CHECK(info["lastSavepoint"]["triggerNonce"] == 1);
  CHECK(info["savepointHistory"].size() == 1);
  CHECK(l.c.get(types::kFlinkStateSnapshot, "flight-delays-savepoint-m1")["metadata"]["labels"]["snapshot.trigger-type"] ==
        "MANUAL");
  CHECK(l.jm.numTriggers() == 1);  // the same nonce again: nothing
  CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
  CHECK(l.status()["lifecycleState"] == "STABLE");

  // A failed savepoint is not retried for its nonce; a new nonce tries again.
  l.patchSpec({{"job", {{"savepointTriggerNonce", 2}}}});
  REQUIRE(l.step().ok);
  REQUIRE(l.jm.numTriggers() == 2);
  l.jm.failLatest();
  REQUIRE(l.step().ok);
  REQUIRE(l.step().ok);
  CHECK(l.jm.numTriggers() == 2);
  auto reasons = l.c.eventReasons();
  CHECK(std::count(reasons.begin(), reasons.end(), "SavepointError") == 1);
}

TEST_CASE("Savepoint history keeps kubernetes.operator.savepoint.history.max.count entries and disposes the others",
          "[reconciler][lifecycle]") {
  json fd = statefulFlightDelays("savepoint");
  fd["spec"]["flinkConfiguration"]["kubernetes.operator.savepoint.history.max.count"] = "2";
  Lifecycle l(fd);
  for (int n = 1; n <= 3; ++n) {
    l.patchSpec({{"job", {{"savepointTriggerNonce", n}}}});
    REQUIRE(l.step().ok);
    l.jm.completeLatest("file:///tmp/savepoints/savepoint-" + std::to_string(n));
    REQUIRE(l.step().ok);
  }
  json history = l.status()["jobStatus"]["savepointInfo"]["savepointHistory"];
  REQUIRE(history.size() == 2);
  CHECK(history[0]["location"] == "file:///tmp/savepoints/savepoint-2");
  CHECK(history[1]["location"] == "file:///tmp/savepoints/savepoint-3");
  // The dropped one is disposed through the JobManager, and its FlinkStateSnapshot goes.
  std::vector<std::string> snapshots;
  for (const json& o : l.c.api->list(types::kFlinkStateSnapshot.collectionPath(kNs))) snapshots.push_back(o["metadata"]["name"]);
  std::sort(snapshots.begin(), snapshots.end());
  CHECK(snapshots == std::vector<std::string>{"flight-delays-savepoint-2", "flight-delays-savepoint-3"});
  std::lock_guard<std::mutex> lock(l.jm.mu);
  CHECK(l.jm.disposed == std::vector<std::string>{"file:///tmp/savepoints/savepoint-1"});
}

TEST_CASE("kubernetes.operator.snapshot.resource.enabled false: savepoints are recorded in status only",
          "[reconciler][lifecycle]") {
  json fd = statefulFlightDelays("savepoint");
  fd["spec"]["flinkConfiguration"]["kubernetes.operator.snapshot.resource.enabled"] = "false";
  Lifecycle l(fd);
  l.patchSpec({{"job", {{"savepointTriggerNonce", 1}}}});
  REQUIRE(l.step().ok);
  l.jm.completeLatest("file:///tmp/savepoints/savepoint-m1");
  REQUIRE(l.step().ok);
  CHECK(l.status()["jobStatus"]["savepointInfo"]["lastSavepoint"]["location"] == "file:///tmp/savepoints/savepoint-m1");
  CHECK(l.c.api->list(types::kFlinkStateSnapshot.collectionPath(kNs)).empty());
}


TEST_CASE("kubernetes.operator.periodic.savepoint.interval takes savepoints on schedule", "[reconciler][lifecycle]") {
  json fd = statefulFlightDelays("savepoint");
  fd["spec"]["flinkConfiguration"]["kubernetes.operator.periodic.savepoint.interval"] = "1 ms";
  Lifecycle l(fd);  // its first reconcile with the job running already recorded one
  REQUIRE(l.step().ok);  // and this one sends it
  REQUIRE(l.jm.numTriggers() == 1);
  CHECK(l.jm.latest().path == "savepoints");
  CHECK(l.status()["jobStatus"]["savepointInfo"]["triggerType"] == "PERIODIC");
  l.jm.completeLatest("file:///tmp/savepoints/savepoint-p1");
  REQUIRE(l.step().ok);
  json info = l.status()["jobStatus"]["savepointInfo"];
  CHECK(info["lastSavepoint"]["triggerType"] == "PERIODIC");
  CHECK(info["lastPeriodicSavepointTimestamp"].get<int64_t>() > 0);
  REQUIRE(l.step().ok);
  CHECK(l.jm.numTriggers() == 2);  // due again (1 ms)

  // Without the option: none.
  Lifecycle quiet(statefulFlightDelays("savepoint"));
  REQUIRE(quiet.c.reconcile("flight-delays").ok);
  CHECK(quiet.jm.numTriggers() == 0);
}

TEST_CASE("kubernetes.operator.job.restart.failed redeploys a failed job, without it the job stays FAILED",
          "[reconciler][lifecycle]") {
  for (bool restart : {true, false}) {
    INFO("restart " << restart);
    json fd = flightDelays();
    if (restart) fd["spec"]["flinkConfiguration"]["kubernetes.operator.job.restart.failed"] = "true";
    Lifecycle l(fd);
    const std::string jobId = l.jobId();
    l.jm.set(jobId, "FAILED");
    REQUIRE(l.step().ok);
    REQUIRE(l.step().ok);
    auto reasons = l.c.eventReasons();
    if (restart) {
      CHECK(std::count(reasons.begin(), reasons.end(), "RestartFailedJob") == 1);
      l.redeploy();
      CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
      CHECK(l.jobId() != jobId);  // stateless: a new job
      CHECK(l.status()["lifecycleState"] == "DEPLOYED");
    } else {
      CHECK(std::count(reasons.begin(), reasons.end(), "RestartFailedJob") == 0);
      CHECK(l.status()["lifecycleState"] == "FAILED");
      CHECK(l.jobId() == jobId);
    }
  }
}

TEST_CASE("An upgrade that does not become stable within the readiness timeout rolls back to lastStableSpec",
          "[reconciler][lifecycle]") {
  json fd = statefulFlightDelays("savepoint");
  fd["spec"]["flinkConfiguration"]["kubernetes.operator.deployment.rollback.enabled"] = "true";
  fd["spec"]["flinkConfiguration"]["kubernetes.operator.deployment.readiness.timeout"] = "1 ms";
  Lifecycle l(fd);
  const std::string stableSpec = l.status()["reconciliationStatus"]["lastStableSpec"];
  l.patchSpec({{"job", {{"parallelism", 3}}}});
  REQUIRE(l.step().ok);
  l.jm.completeLatest("file:///tmp/savepoints/savepoint-1");
  REQUIRE(l.step().ok);  // stopped
  l.redeploy();  // deployed with parallelism 3
  CHECK(l.conf("parallelism.default") == "3");
  CHECK(l.status()["lifecycleState"] == "DEPLOYED");
  // The new JobManager never becomes ready (a bad image, say).
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(l.step().ok);
  json status = l.status();
  CHECK(status["lifecycleState"] == "ROLLING_BACK");
  CHECK(status["reconciliationStatus"]["state"] == "ROLLING_BACK");
  REQUIRE(l.step().ok);  // stops the failed job (no savepoint possible: last state)
  CHECK_FALSE(l.stoppedWith().empty());  // recorded first; the cluster goes in the next step
  l.redeploy();  // deploys the last stable spec
  status = l.status();
  CHECK(status["lifecycleState"] == "ROLLED_BACK");
  CHECK(status["reconciliationStatus"]["state"] == "ROLLED_BACK");
  CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
  CHECK(l.conf("parallelism.default") == "2");
  CHECK(json::parse(status["reconciliationStatus"]["lastReconciledSpec"].get<std::string>())["job"]["parallelism"] == 3);
  CHECK(status["reconciliationStatus"]["lastStableSpec"] == stableSpec);
  auto reasons = l.c.eventReasons();
  CHECK(std::count(reasons.begin(), reasons.end(), "Rollback") == 1);
  // Rolled back: the failed spec is not tried again, the stable one keeps running.
  l.markReady();
  l.jm.set(l.jobId(), "RUNNING");
  REQUIRE(l.step().ok);
  REQUIRE(l.step().ok);
  CHECK(l.status()["lifecycleState"] == "ROLLED_BACK");
  CHECK(l.conf("parallelism.default") == "2");
  // A new spec is an upgrade again.
  l.patchSpec({{"job", {{"parallelism", 4}}}});
  REQUIRE(l.step().ok);
  CHECK(l.status()["lifecycleState"] == "UPGRADING");
}

TEST_CASE("Deletion waits for the finalizer: the job stops (with a savepoint when savepoint-on-deletion), the cluster goes, then the resource",
          "[reconciler][lifecycle]") {
  for (bool savepoint : {false, true}) {
    INFO("savepoint-on-deletion " << savepoint);
    json fd = statefulFlightDelays("savepoint");
    if (savepoint) fd["spec"]["flinkConfiguration"]["kubernetes.operator.job.savepoint-on-deletion"] = "true";
    Lifecycle l(fd);
    json obj = l.c.get(types::kFlinkDeployment, "flight-delays");
    REQUIRE(obj["metadata"]["finalizers"] == json::array({FlinkDeploymentController::kFinalizer}));
    REQUIRE(l.c.api->del(types::kFlinkDeployment.objectPath(kNs, "flight-delays")).ok());
    REQUIRE(l.step().ok);
    if (savepoint) {
      // Still there, DELETING, while the savepoint is taken; the cluster runs.
      REQUIRE(l.jm.numTriggers() == 1);
      CHECK(l.jm.latest().path == "stop");
      CHECK(l.status()["lifecycleState"] == "DELETING");
      CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
      l.jm.completeLatest("file:///tmp/savepoints/savepoint-final");
      REQUIRE(l.step().ok);
    } else {
      // Cancelled first (the JobManager then discards its checkpoints), the cluster still there.
      CHECK(l.jm.numTriggers() == 0);
      CHECK(l.jm.cancels == 1);
      CHECK(l.status()["lifecycleState"] == "DELETING");
      CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
      REQUIRE(l.step().ok);
    }
    CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).empty());
    CHECK(l.c.api->list(types::kFlinkDeployment.collectionPath(kNs)).empty());
    auto reasons = l.c.eventReasons();
    CHECK(std::count(reasons.begin(), reasons.end(), "Cleanup") == 1);
    CHECK(std::count(reasons.begin(), reasons.end(), "SavepointCreated") == (savepoint ? 1 : 0));
  }
}

TEST_CASE("A job that a savepoint stopped resumes from that savepoint in any stateful mode (an operator restart between trigger and record)",
          "[reconciler][lifecycle]") {
  for (const char* mode : {"savepoint", "last-state"}) {
    INFO(mode);
    Lifecycle l(statefulFlightDelays(mode));
    const std::string jobId = l.jobId();
    {
      std::lock_guard<std::mutex> lock(l.jm.mu);
      l.jm.state = "FINISHED";
      l.jm.checkpointId = 5;
      l.jm.checkpointIsSavepoint = true;
    }
    l.patchSpec({{"job", {{"parallelism", 3}}}});
    REQUIRE(l.step().ok);
    CHECK(l.jm.numTriggers() == 0);
    CHECK_FALSE(l.stoppedWith().empty());  // recorded first; the cluster goes in the next step
    l.redeploy();
    CHECK(l.conf("execution.savepoint.path") == "/savepoints/savepoint-5");
    CHECK(l.jobId() != jobId);
    CHECK(l.status()["jobStatus"]["savepointInfo"]["lastSavepoint"]["location"] == "/savepoints/savepoint-5");
  }
  // A savepoint that did not stop the job (a manual one of a job that then FINISHED): its
  // output was committed by the end of the job, so it is not a place to resume from.
  Lifecycle l(statefulFlightDelays("last-state"));
  const std::string jobId = l.jobId();
  {
    std::lock_guard<std::mutex> lock(l.jm.mu);
    l.jm.state = "FINISHED";
    l.jm.checkpointId = 5;
    l.jm.checkpointIsSavepoint = true;
    l.jm.savepointType = "SAVEPOINT";
  }
  l.patchSpec({{"job", {{"parallelism", 3}}}});
  REQUIRE(l.step().ok);
  l.redeploy();
  CHECK(l.conf("execution.savepoint.path").empty());
  CHECK(l.jobId() == jobId);  // last-state: the same job (its result store keeps it FINISHED)
}

TEST_CASE("checkpointTriggerNonce takes one checkpoint per nonce, and a periodic savepoint does not repeat a manual nonce",
          "[reconciler][lifecycle]") {
  json fd = statefulFlightDelays("last-state");
  Lifecycle l(fd);
  l.patchSpec({{"job", {{"checkpointTriggerNonce", 7}}}});
  REQUIRE(l.step().ok);
  REQUIRE(l.jm.numTriggers() == 1);
  CHECK(l.jm.latest().path == "checkpoints");
  CHECK(l.status()["jobStatus"]["checkpointInfo"]["triggerType"] == "MANUAL");
  l.jm.completeLatest("12");
  REQUIRE(l.step().ok);
  json cp = l.status()["jobStatus"]["checkpointInfo"]["lastCheckpoint"];
  CHECK(cp["id"] == 12);
  CHECK(cp["triggerType"] == "MANUAL");
  CHECK(cp["triggerNonce"] == 7);
  REQUIRE(l.step().ok);
  CHECK(l.jm.numTriggers() == 1);

  // A manual savepoint, then other savepoints: the manual nonce is not acted on again.
  l.patchSpec({{"job", {{"savepointTriggerNonce", 1}}}});
  REQUIRE(l.step().ok);
  REQUIRE(l.jm.numTriggers() == 2);
  l.jm.completeLatest("file:///tmp/savepoints/savepoint-m");
  REQUIRE(l.step().ok);
  json spec = l.c.get(types::kFlinkDeployment, "flight-delays")["spec"];
  spec["flinkConfiguration"]["kubernetes.operator.periodic.savepoint.interval"] = "1 ms";
  l.patchSpec({{"flinkConfiguration", spec["flinkConfiguration"]}});
  // (a configuration change is an upgrade: last-state, the same job ID)
  REQUIRE(l.step().ok);
  l.redeploy();
  l.markReady();
  REQUIRE(l.step().ok);
  REQUIRE(l.jm.numTriggers() == 3);
  CHECK(l.jm.latest().path == "savepoints");
  CHECK(l.status()["jobStatus"]["savepointInfo"]["triggerType"] == "PERIODIC");
  l.jm.completeLatest("file:///tmp/savepoints/savepoint-p");
  REQUIRE(l.step().ok);
  json info = l.status()["jobStatus"]["savepointInfo"];
  CHECK(info["lastSavepoint"]["triggerType"] == "PERIODIC");
  CHECK(info["handledTriggerNonce"] == 1);
}

namespace {
/// A FlinkStateSnapshotController beside a Lifecycle's FlinkDeployment controller.
struct Snapshots {
  Lifecycle& l;
  Informer informer{l.c.api, types::kFlinkStateSnapshot, kNs};
  FlinkStateSnapshotController controller{l.c.api, &informer, &l.c.fds, Lifecycle::podIp()};
  explicit Snapshots(Lifecycle& lifecycle) : l(lifecycle) {
    informer.start();
    REQUIRE(eventually([&] { return informer.synced(); }));
  }
  ~Snapshots() { informer.stop(); }
  /// A reconcile and the immediate ones it asks for (a trigger recorded is sent by the next).
  ReconcileResult reconcile(const std::string& name) {
    ReconcileResult r;
    for (int i = 0; i < 3; ++i) {
      REQUIRE(eventually([&] { return l.c.api->caughtUp(informer, kNs) && l.c.api->caughtUp(l.c.fds, kNs); }));
      r = controller.reconcile(kNs, name);
      if (!r.ok || !r.requeueAfter || *r.requeueAfter > std::chrono::milliseconds(50)) break;
    }
    return r;
  }
  void create(const std::string& name, const json& spec) {
    json obj = {{"apiVersion", "flink.apache.org/v1beta1"},
                {"kind", "FlinkStateSnapshot"},
                {"metadata", {{"name", name}, {"namespace", kNs}}},
                {"spec", spec}};
    REQUIRE(l.c.api->post(types::kFlinkStateSnapshot.collectionPath(kNs), obj).ok());
  }
  json status(const std::string& name) { return l.c.get(types::kFlinkStateSnapshot, name).value("status", json::object()); }
};
}  // namespace

TEST_CASE("FlinkStateSnapshot: a savepoint of a running job, TRIGGER_PENDING -> IN_PROGRESS -> COMPLETED, disposed on delete",
          "[reconciler][snapshot]") {
  Lifecycle l(statefulFlightDelays("savepoint"));
  Snapshots s(l);
  s.create("sp1", {{"jobReference", {{"kind", "FlinkDeployment"}, {"name", "flight-delays"}}},
                   {"savepoint", {{"disposeOnDelete", true}}}});
  REQUIRE(s.reconcile("sp1").ok);
  CHECK(s.status("sp1")["state"] == "IN_PROGRESS");
  REQUIRE(l.jm.numTriggers() == 1);
  CHECK(l.jm.latest().path == "savepoints");
  CHECK(l.jm.latest().body["target-directory"] == "file:///tmp/savepoints");
  REQUIRE(s.reconcile("sp1").ok);
  CHECK(s.status("sp1")["state"] == "IN_PROGRESS");
  l.jm.completeLatest("file:///tmp/savepoints/savepoint-s1");
  REQUIRE(s.reconcile("sp1").ok);
  json st = s.status("sp1");
  CHECK(st["state"] == "COMPLETED");
  CHECK(st["path"] == "file:///tmp/savepoints/savepoint-s1");
  CHECK(st.contains("resultTimestamp"));
  REQUIRE(s.reconcile("sp1").ok);
  CHECK(l.jm.numTriggers() == 1);  // done: nothing more

  REQUIRE(l.c.api->del(types::kFlinkStateSnapshot.objectPath(kNs, "sp1")).ok());
  CHECK(l.c.api->list(types::kFlinkStateSnapshot.collectionPath(kNs)).size() == 1);  // held by the finalizer
  REQUIRE(s.reconcile("sp1").ok);
  CHECK(l.c.api->list(types::kFlinkStateSnapshot.collectionPath(kNs)).empty());
  std::lock_guard<std::mutex> lock(l.jm.mu);
  CHECK(l.jm.disposed == std::vector<std::string>{"file:///tmp/savepoints/savepoint-s1"});
}

TEST_CASE("FlinkStateSnapshot: checkpoints, existing savepoints, failures up to backoffLimit, missing jobs",
          "[reconciler][snapshot]") {
  Lifecycle l(statefulFlightDelays("savepoint"));
  Snapshots s(l);
  s.create("cp", {{"jobReference", {{"kind", "FlinkDeployment"}, {"name", "flight-delays"}}}, {"checkpoint", json::object()}});
  REQUIRE(s.reconcile("cp").ok);
  REQUIRE(l.jm.numTriggers() == 1);
  CHECK(l.jm.latest().path == "checkpoints");
  {
    std::lock_guard<std::mutex> lock(l.jm.mu);
    l.jm.checkpointId = 9;
  }
  l.jm.completeLatest("9");
  REQUIRE(s.reconcile("cp").ok);
  CHECK(s.status("cp")["state"] == "COMPLETED");
  CHECK(s.status("cp")["path"] == "/checkpoints/" + l.jobId() + "/chk-9");

  s.create("old", {{"jobReference", {{"name", "flight-delays"}}},
                   {"savepoint", {{"alreadyExists", true}, {"path", "file:///elsewhere/savepoint-x"}}}});
  REQUIRE(s.reconcile("old").ok);
  CHECK(s.status("old")["state"] == "COMPLETED");
  CHECK(s.status("old")["path"] == "file:///elsewhere/savepoint-x");
  CHECK(l.jm.numTriggers() == 1);

  s.create("limited", {{"jobReference", {{"name", "flight-delays"}}}, {"savepoint", json::object()}, {"backoffLimit", 1}});
  {
    std::lock_guard<std::mutex> lock(l.jm.mu);
    l.jm.refuseTriggers = true;
  }
  REQUIRE(s.reconcile("limited").ok);
  CHECK(s.status("limited")["state"] == "TRIGGER_PENDING");
  CHECK(s.status("limited")["failures"] == 1);
  REQUIRE(s.reconcile("limited").ok);
  CHECK(s.status("limited")["state"] == "FAILED");
  CHECK_THAT(s.status("limited").value("error", ""), Catch::Contains("not all tasks are running"));

  s.create("nojob", {{"jobReference", {{"name", "missing"}}}, {"savepoint", json::object()}, {"backoffLimit", 0}});
  REQUIRE(s.reconcile("nojob").ok);
  CHECK(s.status("nojob")["state"] == "FAILED");
  CHECK_THAT(s.status("nojob").value("error", ""), Catch::Contains("FlinkDeployment ns/missing not found"));

  s.create("neither", {{"jobReference", {{"name", "flight-delays"}}}});
  REQUIRE(s.reconcile("neither").ok);
  CHECK(s.status("neither")["state"] == "FAILED");
}

TEST_CASE("savepointRedeployNonce redeploys the job from initialSavepointPath without taking a savepoint",
          "[reconciler][lifecycle]") {
  json fd = statefulFlightDelays("savepoint");
  fd["spec"]["job"]["initialSavepointPath"] = "file:///tmp/savepoints/initial";
  Lifecycle l(fd);
  CHECK(l.conf("execution.savepoint.path") == "file:///tmp/savepoints/initial");  // the first deployment
  const std::string jobId = l.jobId();
  l.patchSpec({{"job", {{"savepointRedeployNonce", 1}}}});
  REQUIRE(l.step().ok);
  CHECK(l.jm.numTriggers() == 0);  // the job's state is replaced, not saved
  CHECK(l.jm.cancels == 1);        // cancelled first
  CHECK(l.stoppedWith().empty());
  REQUIRE(l.step().ok);
  CHECK(l.stoppedWith() == "stateless");
  l.redeploy();
  CHECK(l.conf("execution.savepoint.path") == "file:///tmp/savepoints/initial");
  CHECK(l.jobId() != jobId);

  // Without initialSavepointPath the nonce is a validation error; the job keeps running.
  Lifecycle plain(statefulFlightDelays("savepoint"));
  plain.patchSpec({{"job", {{"savepointRedeployNonce", 1}}}});
  REQUIRE(plain.step().ok);
  CHECK_THAT(plain.status().value("error", ""), Catch::Contains("spec.job.initialSavepointPath"));
  CHECK(plain.stoppedWith().empty());
  CHECK(plain.c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
}

TEST_CASE("kubernetes.operator.observer.progress-check.interval sets how often a running job is observed",
          "[reconciler][lifecycle]") {
  json fd = flightDelays();
  fd["spec"]["flinkConfiguration"]["kubernetes.operator.observer.progress-check.interval"] = "3 s";
  Lifecycle l(fd);
  auto r = l.step();
  REQUIRE(r.ok);
  CHECK(r.requeueAfter == std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(3000)));
}

TEST_CASE("A stateless stop cancels the job and waits until it ended before the cluster goes", "[reconciler][lifecycle]") {
  Lifecycle l(flightDelays());  // upgradeMode stateless
  const std::string jobId = l.jobId();
  l.jm.cancelSlowly = true;
  l.patchSpec({{"job", {{"state", "suspended"}}}});
  REQUIRE(l.step().ok);
  CHECK(l.jm.cancels == 1);
  CHECK(l.stoppedWith().empty());  // not stopped before the job ended
  REQUIRE(l.step().ok);
  CHECK(l.jm.cancels == 1);  // CANCELLING: not sent again
  CHECK(l.c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
  l.jm.set(jobId, "CANCELED");
  REQUIRE(l.step().ok);
  CHECK(l.stoppedWith() == "stateless");
  auto reasons = l.c.eventReasons();
  CHECK(std::count(reasons.begin(), reasons.end(), "JobCancelling") == 1);
}

TEST_CASE("clusterInfo reports the cluster's total CPU and memory, as the Apache operator", "[reconciler][lifecycle]") {
  json fd = flightDelays();
  fd["spec"]["jobManager"]["resource"] = {{"cpu", 0.5}, {"memory", "1024m"}};
  fd["spec"]["taskManager"]["resource"] = {{"cpu", 1}, {"memory", "2g"}};
  fd["spec"]["taskManager"]["replicas"] = 2;
  Lifecycle l(fd);
  json info = l.status()["clusterInfo"];
  CHECK(info.value("total-cpu", "") == "2.5");
  CHECK(info.value("total-memory", "") == std::to_string((1024LL + 2 * 2048) << 20));
  CHECK(info.value("flink-version", "") == "1.19.0");
}

TEST_CASE("The health check restarts a job that restarts too often or does not checkpoint, from its latest checkpoint",
          "[reconciler][lifecycle]") {
  auto health = [](Lifecycle& l) {
    return json::parse(l.status()["clusterInfo"].value("cluster-health-info", "{}"));
  };
  SECTION("restarts over kubernetes.operator.cluster.health-check.restarts.threshold") {
    json fd = statefulFlightDelays("savepoint");
    fd["spec"]["flinkConfiguration"]["kubernetes.operator.cluster.health-check.enabled"] = "true";
    fd["spec"]["flinkConfiguration"]["kubernetes.operator.cluster.health-check.restarts.threshold"] = "2";
    Lifecycle l(fd);
    const std::string jobId = l.jobId();
    CHECK(health(l).value("healthy", false));
    l.jm.numRestarts = 2;  // at the threshold: healthy
    REQUIRE(l.step().ok);
    REQUIRE(l.step().ok);
    CHECK(health(l).value("healthy", false));
    CHECK(l.stoppedWith().empty());
    l.jm.numRestarts = 3;
    REQUIRE(l.step().ok);  // observed unhealthy
    CHECK_FALSE(health(l).value("healthy", true));
    CHECK_THAT(health(l).value("reason", ""), Catch::Contains("3 restarts"));
    REQUIRE(l.step().ok);  // restarted: last-state (a savepoint of an unhealthy job would hardly complete)
    CHECK(l.stoppedWith() == "last-state");
    CHECK(l.jm.numTriggers() == 0);
    auto reasons = l.c.eventReasons();
    CHECK(std::count(reasons.begin(), reasons.end(), "RestartUnhealthyJob") == 1);
    l.redeploy();
    CHECK(l.jobId() == jobId);  // its own latest checkpoint
    CHECK_FALSE(l.status()["clusterInfo"].contains("cluster-health-info"));  // a new baseline
  }
  SECTION("no checkpoint within kubernetes.operator.cluster.health-check.checkpoint-progress.window") {
    json fd = statefulFlightDelays("last-state");
    fd["spec"]["flinkConfiguration"]["kubernetes.operator.cluster.health-check.enabled"] = "true";
    fd["spec"]["flinkConfiguration"]["kubernetes.operator.cluster.health-check.checkpoint-progress.window"] = "300 ms";
    fd["spec"]["flinkConfiguration"]["execution.checkpointing.interval"] = "100 ms";
    fd["spec"]["flinkConfiguration"]["execution.checkpointing.timeout"] = "200 ms";
    Lifecycle l(fd);
    l.jm.completedCheckpoints = 1;  // progress
    REQUIRE(l.step().ok);
    CHECK(health(l).value("numCompletedCheckpoints", 0) == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    REQUIRE(l.step().ok);  // none for 400 ms > the window
    CHECK_FALSE(health(l).value("healthy", true));
    CHECK_THAT(health(l).value("reason", ""), Catch::Contains("no checkpoint completed"));
    REQUIRE(l.step().ok);
    CHECK(l.stoppedWith() == "last-state");
  }
  SECTION("disabled (the default): a job restarting over and over is left to its restart strategy") {
    Lifecycle l(statefulFlightDelays("savepoint"));
    l.jm.numRestarts = 1000;
    REQUIRE(l.step().ok);
    REQUIRE(l.step().ok);
    CHECK(l.stoppedWith().empty());
    CHECK_FALSE(l.status()["clusterInfo"].contains("cluster-health-info"));
  }
}

TEST_CASE("A savepoint trigger unanswered for kubernetes.operator.savepoint.trigger.grace-period counts as failed",
          "[reconciler][lifecycle]") {
  json fd = statefulFlightDelays("savepoint");
  fd["spec"]["flinkConfiguration"]["kubernetes.operator.savepoint.trigger.grace-period"] = "2 s";
  Lifecycle l(fd);
  l.patchSpec({{"job", {{"savepointTriggerNonce", 1}}}});
  REQUIRE(l.step().ok);
  REQUIRE(l.jm.numTriggers() == 1);
  {
    std::lock_guard<std::mutex> lock(l.jm.mu);
    l.jm.unavailable = true;  // the JobManager goes away with the savepoint in flight
  }
  REQUIRE(l.step().ok);
  CHECK_FALSE(l.status()["jobStatus"]["savepointInfo"].value("triggerId", "").empty());  // within the grace period
  // (2 s: a step under a sanitizer on a loaded machine took longer than the 300 ms used before.)
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  REQUIRE(l.step().ok);
  CHECK(l.status()["jobStatus"]["savepointInfo"].value("triggerId", "").empty());
  auto reasons = l.c.eventReasons();
  CHECK(std::count(reasons.begin(), reasons.end(), "SavepointError") == 1);
}

TEST_CASE("spec.ingress: the Ingress is created, repaired after a hand edit or a delete, updated, and removed with the field",
          "[reconciler][ingress]") {
  Cluster c;
  json fd = flightDelays();
  fd["spec"]["ingress"] = {{"template", "{{name}}.{{namespace}}.flink.k8s.io"}, {"className", "nginx"}};
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), fd).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  json ingress = c.get(types::kIngress, "flight-delays");
  REQUIRE(ingress.contains("spec"));
  CHECK(ingress["spec"]["ingressClassName"] == "nginx");
  CHECK(ingress["spec"]["rules"][0]["host"] == "flight-delays.ns.flink.k8s.io");
  CHECK(ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "flight-delays-rest");
  CHECK(ingress["metadata"]["ownerReferences"][0]["uid"] ==
        c.get(types::kFlinkDeployment, "flight-delays")["metadata"]["uid"]);
  REQUIRE(c.reconcile("flight-delays").ok);
  int writes = c.api->writes();
  REQUIRE(c.reconcile("flight-delays").ok);
  CHECK(c.api->writes() == writes);  // settled: nothing to write

  // Drift: a hand-edited host comes back; an annotation someone else added stays.
  ingress["spec"]["rules"][0]["host"] = "elsewhere.example.com";
  ingress["metadata"]["annotations"] = {{"kubernetes.io/description", "added by hand"}};
  REQUIRE(c.api->put(types::kIngress.objectPath(kNs, "flight-delays"), ingress).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  ingress = c.get(types::kIngress, "flight-delays");
  CHECK(ingress["spec"]["rules"][0]["host"] == "flight-delays.ns.flink.k8s.io");
  CHECK(ingress["metadata"]["annotations"]["kubernetes.io/description"] == "added by hand");

  // Deleted by hand: created again.
  REQUIRE(c.api->del(types::kIngress.objectPath(kNs, "flight-delays")).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  CHECK(c.api->get(types::kIngress.objectPath(kNs, "flight-delays")).ok());

  // Reconciles (at most 6 times) until `done`: a spec change goes through the job lifecycle
  // (stop, then deploy the new spec), one step per reconcile.
  auto reconcileUntil = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 6 && !done(); ++i) REQUIRE(c.reconcile("flight-delays").ok);
    return done();
  };
  // A new template: the rule follows (path-based now, no host), as an upgrade (as the Apache operator).
  REQUIRE(c.api->patch(types::kFlinkDeployment.objectPath(kNs, "flight-delays"),
                       {{"spec", {{"ingress", {{"template", "/{{namespace}}/{{name}}(/|$)(.*)"}}}}}})
              .ok());
  CHECK(reconcileUntil([&] { return !c.get(types::kIngress, "flight-delays")["spec"]["rules"][0].contains("host"); }));
  ingress = c.get(types::kIngress, "flight-delays");
  CHECK(ingress["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/ns/flight-delays(/|$)(.*)");
  CHECK_FALSE(ingress["spec"]["rules"][0].contains("host"));

  // spec.ingress removed: the Ingress goes, with a Deleted event; the other children stay.
  REQUIRE(c.api->patch(types::kFlinkDeployment.objectPath(kNs, "flight-delays"), {{"spec", {{"ingress", nullptr}}}}).ok());
  CHECK(reconcileUntil([&] { return c.api->get(types::kIngress.objectPath(kNs, "flight-delays")).notFound(); }));
  CHECK(c.api->list(types::kDeployment.collectionPath(kNs)).size() == 2);
  auto reasons = c.eventReasons();
  CHECK(std::count(reasons.begin(), reasons.end(), "Deleted") == 1);
}

TEST_CASE("An Ingress of the same name that is not ours survives a FlinkDeployment without spec.ingress",
          "[reconciler][ingress]") {
  Cluster c;
  json foreign = {{"apiVersion", "networking.k8s.io/v1"},
                  {"kind", "Ingress"},
                  {"metadata", {{"name", "flight-delays"}, {"namespace", kNs}, {"labels", {{"app", "flight-delays"}}}}},
                  {"spec", {{"rules", json::array()}}}};
  REQUIRE(c.api->post(types::kIngress.collectionPath(kNs), foreign).ok());
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), flightDelays()).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  REQUIRE(c.reconcile("flight-delays").ok);
  CHECK(c.api->get(types::kIngress.objectPath(kNs, "flight-delays")).ok());
}

TEST_CASE("An invalid ingress template ends in status.error naming spec.ingress.template, and no Ingress", "[reconciler][ingress]") {
  Cluster c;
  json fd = flightDelays();
  fd["spec"]["ingress"] = {{"template", "{{url}}/{{name}}"}};
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), fd).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  json status = c.get(types::kFlinkDeployment, "flight-delays")["status"];
  CHECK(status.value("error", "").find("spec.ingress.template") != std::string::npos);
  CHECK(c.api->get(types::kIngress.objectPath(kNs, "flight-delays")).notFound());
}

TEST_CASE("Scaling taskManager.replicas (the scale subresource) redeploys the job at replicas x slots through its upgradeMode",
          "[reconciler][lifecycle][scale]") {
  Lifecycle l(statefulFlightDelays("last-state"));
  const std::string jobId = l.jobId();
  REQUIRE(l.conf("parallelism.default") == "2");
  // What `kubectl scale flinkdeployment/flight-delays --replicas=4` writes (specReplicasPath).
  l.patchSpec({{"taskManager", {{"replicas", 4}}}});
  REQUIRE(l.step().ok);
  CHECK(l.stoppedWith() == "last-state");
  l.redeploy();
  CHECK(l.jobId() == jobId);  // last-state: the same job, resumed from its checkpoints
  CHECK(l.conf("parallelism.default") == "4");
  CHECK(l.c.get(types::kDeployment, "flight-delays-taskmanager")["spec"]["replicas"] == 4);
  l.markReady();
  l.jm.set(jobId, "RUNNING");
  REQUIRE(l.step().ok);
  // The scale subresource's status side.
  json status = l.status();
  CHECK(status["taskManager"]["replicas"] == 4);
  CHECK(status["taskManager"]["labelSelector"] == "app=flight-delays,component=taskmanager");
}

TEST_CASE("A session cluster is deleted only after the FlinkSessionJobs on it", "[reconciler]") {
  Cluster c;
  json session = flightDelays();
  session["metadata"]["name"] = "session";
  session["spec"].erase("job");
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), session).ok());
  REQUIRE(c.reconcile("session").ok);
  json job = {{"apiVersion", "flink.apache.org/v1beta1"},
              {"kind", "FlinkSessionJob"},
              {"metadata", {{"name", "job1"}, {"namespace", kNs}}},
              {"spec", {{"deploymentName", "session"}, {"job", {{"jarURI", "builtin://flink-cpp-examples"}}}}}};
  REQUIRE(c.api->post(types::kFlinkSessionJob.collectionPath(kNs), job).ok());
  REQUIRE(c.api->del(types::kFlinkDeployment.objectPath(kNs, "session")).ok());
  auto r = c.reconcile("session");
  CHECK(r.ok);
  CHECK(c.api->get(types::kFlinkDeployment.objectPath(kNs, "session")).ok());
  auto reasons = c.eventReasons();
  CHECK(std::find(reasons.begin(), reasons.end(), "CleanupFailed") != reasons.end());
  REQUIRE(c.api->del(types::kFlinkSessionJob.objectPath(kNs, "job1")).ok());
  for (int i = 0; i < 5 && c.api->get(types::kFlinkDeployment.objectPath(kNs, "session")).ok(); ++i) c.reconcile("session");
  CHECK(c.api->get(types::kFlinkDeployment.objectPath(kNs, "session")).notFound());
}

TEST_CASE("Kubernetes HA: standbys count as ready, only ready JobManagers are published, the HA ConfigMaps go with the deployment",
          "[reconciler][lifecycle][ha]") {
  json fd = statefulFlightDelays("last-state");
  fd["spec"]["flinkConfiguration"]["high-availability.type"] = "kubernetes";
  fd["spec"]["flinkConfiguration"]["high-availability.storageDir"] = "file:///tmp/ha";
  fd["spec"]["jobManager"]["replicas"] = 2;
  Lifecycle l(fd);  // STABLE with 1 of 2 JobManagers ready: the other is a standby
  CHECK(l.status()["jobManagerDeploymentStatus"] == "READY");
  json rpc = l.c.get(types::kService, "flight-delays");
  CHECK(rpc["spec"]["publishNotReadyAddresses"] == false);
  CHECK(l.conf("high-availability.cluster-id") == "flight-delays");
  const std::string jobCm = "flight-delays-" + l.jobId() + "-config-map";
  for (const std::string& name : {std::string("flight-delays-cluster-config-map"), jobCm}) {
    json cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", name}, {"namespace", kNs},
                             {"labels", {{"app", "flight-delays"}, {"configmap-type", "high-availability"}}}}},
               {"data", {{"checkpointID-0000000000000000007", R"({"externalPointer":"/tmp/checkpoints/x/chk-7"})"}}}};
    REQUIRE(l.c.api->post(types::kConfigMap.collectionPath(kNs), cm).ok());
  }
  REQUIRE(l.c.api->del(types::kFlinkDeployment.objectPath(kNs, "flight-delays")).ok());
  for (int i = 0; i < 5 && !l.c.api->list(types::kFlinkDeployment.collectionPath(kNs)).empty(); ++i) REQUIRE(l.step().ok);
  CHECK(l.c.api->list(types::kFlinkDeployment.collectionPath(kNs)).empty());
  CHECK(l.c.api->get(types::kConfigMap.objectPath(kNs, "flight-delays-cluster-config-map")).notFound());
  CHECK(l.c.api->get(types::kConfigMap.objectPath(kNs, jobCm)).notFound());
}

TEST_CASE("Kubernetes HA: a last-state upgrade of a JobManager that does not answer records the checkpoint its HA ConfigMap points to",
          "[reconciler][lifecycle][ha]") {
  json fd = statefulFlightDelays("last-state");
  fd["spec"]["flinkConfiguration"]["high-availability.type"] = "kubernetes";
  fd["spec"]["flinkConfiguration"]["high-availability.storageDir"] = "file:///tmp/ha";
  Lifecycle l(fd);
  const std::string jobId = l.jobId();
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "flight-delays-" + jobId + "-config-map"}, {"namespace", kNs}}},
             {"data", {{"counter", "13"},
                       {"checkpointID-0000000000000000011", R"({"externalPointer":"/tmp/checkpoints/j/chk-11"})"},
                       {"checkpointID-0000000000000000012", R"({"externalPointer":"/tmp/checkpoints/j/chk-12"})"}}}};
  REQUIRE(l.c.api->post(types::kConfigMap.collectionPath(kNs), cm).ok());
  l.jm.stop();  // the JobManager does not answer
  l.patchSpec({{"job", {{"parallelism", 3}}}});
  l.redeploy();
  CHECK(l.jobId() == jobId);
  json last = l.status()["jobStatus"]["checkpointInfo"]["lastCheckpoint"];
  CHECK(last["id"] == 12);
  CHECK(last["location"] == "/tmp/checkpoints/j/chk-12");
}

TEST_CASE("kubernetes.operator.security.ssl.generate makes an owned TLS Secret, mounts it and sets Flink's PEM keys",
          "[reconciler][tls]") {
  Cluster c;
  json fd = flightDelays();
  fd["spec"]["flinkConfiguration"][kGenerateTlsKey] = "true";
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), fd).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  REQUIRE(c.reconcile("flight-delays").ok);

  const std::string secretPath = "/api/v1/namespaces/" + std::string(kNs) + "/secrets/flight-delays-internal-tls";
  json secret = c.api->get(secretPath).body;
  REQUIRE(secret.value("type", "") == "kubernetes.io/tls");
  CHECK(secret["metadata"]["ownerReferences"][0]["kind"] == "FlinkDeployment");
  std::string crt = flink::base64Decode(secret["data"]["tls.crt"]), key = flink::base64Decode(secret["data"]["tls.key"]),
              ca = flink::base64Decode(secret["data"]["ca.crt"]);
  CHECK(flink::certs::signedBy(crt, ca));
  flink::tls::TlsOptions options;
  options.scope = flink::tls::Scope::kInternal;
  CHECK(flink::tls::TlsContext::fromPem(options, crt, key, ca, "the Secret").ok());

  json cm = c.get(types::kConfigMap, "flink-config-flight-delays");
  YAML::Node conf = YAML::Load(cm["data"].value("config.yaml", ""));
  CHECK(conf["security.ssl.internal.enabled"].as<std::string>() == "true");
  CHECK(conf["security.ssl.rest.enabled"].as<std::string>() == "true");
  CHECK(conf["security.ssl.rest.authentication-enabled"].as<std::string>() == "true");
  for (const char* scope : {"internal", "rest"}) {
    std::string p = std::string("security.ssl.") + scope + ".";
    CHECK(conf[p + "key"].as<std::string>() == "/opt/flink/tls/tls.key");
    CHECK(conf[p + "cert.chain"].as<std::string>() == "/opt/flink/tls/tls.crt");
    CHECK(conf[p + "trustedcerts"].as<std::string>() == "/opt/flink/tls/ca.crt");
  }
  for (const char* d : {"flight-delays", "flight-delays-taskmanager"}) {
    json pod = c.get(types::kDeployment, d)["spec"]["template"]["spec"];
    bool volume = false, mount = false;
    for (const auto& v : pod["volumes"]) volume = volume || v.value("secret", json::object()).value("secretName", "") == "flight-delays-internal-tls";
    for (const auto& m : pod["containers"][0]["volumeMounts"]) mount = mount || m.value("mountPath", "") == "/opt/flink/tls";
    CHECK(volume);
    CHECK(mount);
  }
  // Kept as it is: the next reconcile writes nothing and the pods keep trusting the same CA.
  int writes = c.api->writes();
  REQUIRE(c.reconcile("flight-delays").ok);
  CHECK(c.api->writes() == writes);
  CHECK(c.api->get(secretPath).body["data"] == secret["data"]);
}

TEST_CASE("Without the flag a FlinkDeployment gets no TLS Secret, and explicit security.ssl keys win over the flag",
          "[reconciler][tls]") {
  Cluster c;
  json fd = flightDelays();
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), fd).ok());
  REQUIRE(c.reconcile("flight-delays").ok);
  CHECK(c.api->get("/api/v1/namespaces/" + std::string(kNs) + "/secrets/flight-delays-internal-tls").notFound());

  fd["metadata"]["name"] = "internal-only";
  fd["spec"]["flinkConfiguration"][kGenerateTlsKey] = "true";
  fd["spec"]["flinkConfiguration"]["security.ssl.rest.enabled"] = "false";
  REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), fd).ok());
  REQUIRE(c.reconcile("internal-only").ok);
  CHECK(c.api->get("/api/v1/namespaces/" + std::string(kNs) + "/secrets/internal-only-internal-tls").ok());
  YAML::Node conf = YAML::Load(c.get(types::kConfigMap, "flink-config-internal-only")["data"].value("config.yaml", ""));
  CHECK(conf["security.ssl.internal.enabled"].as<std::string>() == "true");
  CHECK(conf["security.ssl.rest.enabled"].as<std::string>() == "false");
}

TEST_CASE("A resync of many unchanged FlinkDeployments writes nothing, with children cached as compact records, and a "
          "hand-edited child is still restored",
          "[reconciler][scale]") {
  Cluster c;
  // As the operator caches children (operator.cc): compact records with a digest.
  // (Set before the informers' next events: the transform applies to what arrives from now on.)
  for (Informer* i : {&c.deployments, &c.services, &c.configMaps, &c.ingresses}) i->stop();
  Informer deployments{c.api, types::kDeployment, kNs}, services{c.api, types::kService, kNs},
      configMaps{c.api, types::kConfigMap, kNs}, ingresses{c.api, types::kIngress, kNs};
  for (Informer* i : {&deployments, &services, &configMaps, &ingresses}) {
    i->setTransform(&compactChild);
    i->start();
  }
  FlinkDeploymentController controller(c.api, {&c.fds, &deployments, &services, &configMaps, &ingresses}, OperatorConfig{});
  auto reconcileAll = [&](int n) {
    REQUIRE(eventually([&] {
      return c.api->caughtUp(c.fds, kNs) && c.api->caughtUp(deployments, kNs) && c.api->caughtUp(services, kNs) &&
             c.api->caughtUp(configMaps, kNs) && c.api->caughtUp(ingresses, kNs);
    }));
    for (int i = 0; i < n; ++i) REQUIRE(controller.reconcile(kNs, "fd-" + std::to_string(i)).ok);
  };
  const int n = 20;
  for (int i = 0; i < n; ++i) {
    json fd = flightDelays();
    fd["metadata"]["name"] = "fd-" + std::to_string(i);
    REQUIRE(c.api->post(types::kFlinkDeployment.collectionPath(kNs), fd).ok());
  }
  reconcileAll(n);
  reconcileAll(n);  // the informers saw the children and the status: settled
  auto cached = configMaps.get(kNs, "flink-config-fd-3");
  REQUIRE(cached);
  CHECK_FALSE(cached->contains("data"));  // compact: the digest stands for it
  CHECK(cached->contains("observedDigest"));
  CHECK(c.get(types::kConfigMap, "flink-config-fd-3")["metadata"]["annotations"].contains(kDesiredHashAnnotation));

  int writes = c.api->writes(), deletes = c.api->deletes();
  reconcileAll(n);
  reconcileAll(n);
  CHECK(c.api->writes() == writes);
  CHECK(c.api->deletes() == deletes);

  // Someone edits a child: the digest differs from the one recorded at the operator's write.
  json cm = c.get(types::kConfigMap, "flink-config-fd-3");
  std::string conf = cm["data"]["config.yaml"];
  REQUIRE(c.api->patch(types::kConfigMap.objectPath(kNs, "flink-config-fd-3"), {{"data", {{"config.yaml", "edited: true\n"}}}}).ok());
  reconcileAll(n);
  CHECK(c.get(types::kConfigMap, "flink-config-fd-3")["data"]["config.yaml"] == conf);
  for (Informer* i : {&deployments, &services, &configMaps, &ingresses}) i->stop();
}
