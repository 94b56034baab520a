// The FlinkSessionJob reconciler (controller/session_job_controller.h) against the fake API and a
// JobManager stand-in with the jar API: waiting for the session cluster, submitting under a job id
// recorded first (never twice), the builtin library and an uploaded one, observation, a savepoint
// upgrade, a stateless suspend and resume, validation errors, and deletion (cancel, jar deleted,
// finalizer removed).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "controller/session_job_controller.h"
#include "fake_kube_api.h"
#include "jobmanager_stand_in.h"

using namespace flink;
using namespace flink::k8s;
using nlohmann::json;

namespace {

constexpr const char* kNs = "default";

struct SessionHarness {
  testing::JobManagerStandIn jm;
  std::shared_ptr<testing::FakeKubeApi> api = std::make_shared<testing::FakeKubeApi>();
  Informer fds{api, types::kFlinkDeployment, kNs};
  Informer jobs{api, types::kFlinkSessionJob, kNs};
  FlinkSessionJobController controller;

  static std::shared_ptr<OperatorConfigStore> podIp() {
    OperatorConfig config;
    config.jobManagerAddress = "pod-ip";
    return std::make_shared<OperatorConfigStore>(config);
  }
  SessionHarness() : controller(api, &jobs, &fds, podIp()) {
    fds.start();
    jobs.start();
    REQUIRE(testing::eventually([&] { return fds.synced() && jobs.synced(); }));
  }
  ~SessionHarness() {
    fds.stop();
    jobs.stop();
  }
  /// The session cluster "session": no spec.job; READY with its REST endpoint when `ready`.
  void session(bool ready) {
    json fd = {{"apiVersion", "flink.apache.org/v1beta1"},
               {"kind", "FlinkDeployment"},
               {"metadata", {{"name", "session"}, {"namespace", kNs}}},
               {"spec", {{"image", "flink-cpp:latest"}, {"flinkVersion", "v1_20"}, {"serviceAccount", "flink"},
                         {"flinkConfiguration", {{"state.savepoints.dir", "file:///tmp/savepoints"}}},
                         {"jobManager", {{"resource", {{"memory", "1024m"}, {"cpu", 1}}}}},
                         {"taskManager", {{"resource", {{"memory", "1024m"}, {"cpu", 1}}}}}}}};
    if (!api->get(types::kFlinkDeployment.objectPath(kNs, "session")).ok()) {
      REQUIRE(api->post(types::kFlinkDeployment.collectionPath(kNs), fd).ok());
    }
    if (!ready) return;
    json obj = api->get(types::kFlinkDeployment.objectPath(kNs, "session")).body;
    obj["status"] = {{"jobManagerDeploymentStatus", "READY"}, {"lifecycleState", "STABLE"}};
    REQUIRE(api->put(types::kFlinkDeployment.objectPath(kNs, "session") + "/status", obj).ok());
    json endpoints = {{"apiVersion", "v1"},
                      {"kind", "Endpoints"},
                      {"metadata", {{"name", "session-rest"}, {"namespace", kNs}}},
                      {"subsets", {{{"addresses", {{{"ip", "127.0.0.1"}}}}, {"ports", {{{"name", "rest"}, {"port", jm.port}}}}}}}};
    REQUIRE(api->post("/api/v1/namespaces/" + std::string(kNs) + "/endpoints", endpoints).ok());
  }
  void create(const json& job) {
    REQUIRE(api->post(types::kFlinkSessionJob.collectionPath(kNs), job).ok());
  }
  ReconcileResult reconcile(const std::string& name = "job1") {
    REQUIRE(testing::eventually([&] { return api->caughtUp(fds, kNs) && api->caughtUp(jobs, kNs); }));
    return controller.reconcile(kNs, name);
  }
  /// Reconciles while the controller asks to be called again at once (as the queue would).
  ReconcileResult step(const std::string& name = "job1") {
    ReconcileResult r = reconcile(name);
    for (int i = 0; i < 6 && r.ok && r.requeueAfter && *r.requeueAfter <= std::chrono::milliseconds(500); ++i) r = reconcile(name);
    return r;
  }
  json get(const std::string& name = "job1") { return api->get(types::kFlinkSessionJob.objectPath(kNs, name)).body; }
  json status(const std::string& name = "job1") { return get(name).value("status", json::object()); }
  void patchSpec(const json& patch) {
    json obj = get();
    obj["spec"].merge_patch(patch);
    REQUIRE(api->put(types::kFlinkSessionJob.objectPath(kNs, "job1"), obj).ok());
  }
  std::vector<std::string> eventReasons() {
    std::vector<std::string> out;
    for (const auto& e : api->list(types::kEvent.collectionPath(kNs))) out.push_back(e.value("reason", ""));
    return out;
  }
};

json sessionJob(const std::string& jarURI, const std::string& mode = "stateless") {
  return {{"apiVersion", "flink.apache.org/v1beta1"},
          {"kind", "FlinkSessionJob"},
          {"metadata", {{"name", "job1"}, {"namespace", kNs}}},
          {"spec", {{"deploymentName", "session"},
                    {"job", {{"jarURI", jarURI}, {"entryClass", "flinkcpp.examples.FlightDelays"},
                             {"args", {"--input", "/data/in.csv"}}, {"parallelism", 2}, {"upgradeMode", mode}}}}}};
}

}  // namespace

TEST_CASE("session job: waits for its session cluster, then runs the builtin library under a recorded job id") {
  SessionHarness h;
  h.create(sessionJob("builtin://flink-cpp-examples"));
  auto r = h.step();
  CHECK(r.ok);
  CHECK(h.status()["error"].get<std::string>().find("not found") != std::string::npos);
  CHECK(h.get()["metadata"]["finalizers"][0] == FlinkSessionJobController::kFinalizer);

  h.session(false);
  h.step();
  CHECK(h.status()["error"].get<std::string>().find("not ready") != std::string::npos);

  h.session(true);
  h.step();
  json st = h.status();
  std::string jobId = st["jobStatus"]["jobId"];
  REQUIRE(jobId.size() == 32);
  {
    std::lock_guard<std::mutex> lock(h.jm.mu);
    REQUIRE(h.jm.runs.size() == 1);
    CHECK(h.jm.runs[0]["jar"] == "builtin_flink-cpp-examples");
    CHECK(h.jm.runs[0]["body"]["jobId"] == jobId);
    CHECK(h.jm.runs[0]["body"]["parallelism"] == 2);
    CHECK(h.jm.runs[0]["body"]["programArgsList"] == json::array({"--input", "/data/in.csv"}));
  }
  h.step();
  st = h.status();
  CHECK(st["jobStatus"]["state"] == "RUNNING");
  CHECK(st["lifecycleState"] == "STABLE");
  CHECK_FALSE(st.contains("error"));
  CHECK(st["reconciliationStatus"].contains("lastStableSpec"));
  json owner = h.get()["metadata"]["ownerReferences"][0];
  CHECK(owner["kind"] == "FlinkDeployment");
  CHECK(owner["name"] == "session");
  // Observing again submits nothing more.
  h.step();
  std::lock_guard<std::mutex> lock(h.jm.mu);
  CHECK(h.jm.runs.size() == 1);
}

TEST_CASE("session job: a local library is uploaded once as <uid>-<file>, deleted with the resource") {
  SessionHarness h;
  h.session(true);
  auto dir = std::filesystem::temp_directory_path() / ("fsj-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "job.so") << "ELF-bytes";
  h.create(sessionJob("local://" + (dir / "job.so").string()));
  h.step();
  h.step();
  std::string uid = h.get()["metadata"]["uid"];
  {
    std::lock_guard<std::mutex> lock(h.jm.mu);
    REQUIRE(h.jm.jars.size() == 1);
    CHECK(h.jm.jars.begin()->second == uid + "-job.so");
    CHECK(h.jm.uploaded.begin()->second == "ELF-bytes");
    REQUIRE(h.jm.runs.size() == 1);
    CHECK(h.jm.runs[0]["jar"] == h.jm.jars.begin()->first);
  }
  CHECK(h.status()["lifecycleState"] == "STABLE");

  // Deletion: the job is cancelled, the jar deleted, the finalizer removed.
  REQUIRE(h.api->del(types::kFlinkSessionJob.objectPath(kNs, "job1")).ok());
  for (int i = 0; i < 5 && h.api->get(types::kFlinkSessionJob.objectPath(kNs, "job1")).ok(); ++i) h.step();
  CHECK(h.api->get(types::kFlinkSessionJob.objectPath(kNs, "job1")).notFound());
  std::lock_guard<std::mutex> lock(h.jm.mu);
  CHECK(h.jm.cancels == 1);
  CHECK(h.jm.jars.empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("session job: a spec change with upgradeMode savepoint stops with a savepoint and resumes from it") {
  SessionHarness h;
  h.session(true);
  h.create(sessionJob("builtin://flink-cpp-examples", "savepoint"));
  h.step();
  h.step();
  std::string first = h.status()["jobStatus"]["jobId"];
  REQUIRE(h.status()["lifecycleState"] == "STABLE");

  h.patchSpec({{"job", {{"parallelism", 3}}}});
  h.step();
  REQUIRE(h.jm.numTriggers() == 1);
  CHECK(h.jm.latest().path == "stop");
  CHECK(h.jm.latest().body["targetDirectory"] == "file:///tmp/savepoints");
  // Until the savepoint completes, nothing else happens (and the trigger is never sent twice).
  h.step();
  CHECK(h.jm.numTriggers() == 1);
  h.jm.completeLatest("file:///tmp/savepoints/savepoint-1");
  h.step();
  h.step();
  json st = h.status();
  CHECK(st["jobStatus"]["upgradeSavepointPath"] == "file:///tmp/savepoints/savepoint-1");
  std::string second = st["jobStatus"]["jobId"];
  CHECK(second != first);
  {
    std::lock_guard<std::mutex> lock(h.jm.mu);
    REQUIRE(h.jm.runs.size() == 2);
    CHECK(h.jm.runs[1]["body"]["savepointPath"] == "file:///tmp/savepoints/savepoint-1");
    CHECK(h.jm.runs[1]["body"]["parallelism"] == 3);
    CHECK(h.jm.runs[1]["body"]["jobId"] == second);
  }
  h.step();
  CHECK(h.status()["lifecycleState"] == "STABLE");
  CHECK(h.jm.numTriggers() == 1);
  auto reasons = h.eventReasons();
  CHECK(std::count(reasons.begin(), reasons.end(), "SavepointCreated") == 1);
  CHECK(std::count(reasons.begin(), reasons.end(), "Submit") == 2);
}

TEST_CASE("session job: stateless suspend cancels the job, resume runs it from scratch") {
  SessionHarness h;
  h.session(true);
  h.create(sessionJob("builtin://flink-cpp-examples"));
  h.step();
  h.step();
  h.patchSpec({{"job", {{"state", "suspended"}}}});
  h.step();
  json st = h.status();
  CHECK(st["lifecycleState"] == "SUSPENDED");
  CHECK(st["jobStatus"]["state"] == "CANCELED");
  {
    std::lock_guard<std::mutex> lock(h.jm.mu);
    CHECK(h.jm.cancels == 1);
  }
  h.patchSpec({{"job", {{"state", "running"}}}});
  h.step();
  h.step();
  st = h.status();
  CHECK(st["lifecycleState"] == "STABLE");
  std::lock_guard<std::mutex> lock(h.jm.mu);
  REQUIRE(h.jm.runs.size() == 2);
  CHECK_FALSE(h.jm.runs[1]["body"].contains("savepointPath"));
}

TEST_CASE("session job: an invalid spec and a failed job end in status.error") {
  SessionHarness h;
  h.session(true);
  json bad = sessionJob("builtin://flink-cpp-examples");
  bad["spec"]["job"].erase("jarURI");
  h.create(bad);
  h.step();
  CHECK(h.status()["lifecycleState"] == "FAILED");
  CHECK(h.status()["error"].get<std::string>().rfind("spec.job.jarURI", 0) == 0);
  {
    std::lock_guard<std::mutex> lock(h.jm.mu);
    CHECK(h.jm.runs.empty());
  }
  json missing = sessionJob("builtin://no-such-library");
  missing["metadata"]["name"] = "job2";
  h.create(missing);
  h.step("job2");
  h.step("job2");
  CHECK(h.status("job2")["error"].get<std::string>().find("no library no-such-library") != std::string::npos);

  json good = sessionJob("builtin://flink-cpp-examples");
  good["metadata"]["name"] = "job3";
  h.create(good);
  h.step("job3");
  h.step("job3");
  h.jm.set(h.status("job3")["jobStatus"]["jobId"], "FAILED");
  h.step("job3");
  CHECK(h.status("job3")["lifecycleState"] == "FAILED");
  CHECK(h.status("job3")["jobStatus"]["state"] == "FAILED");
  CHECK(h.status("job3")["error"].get<std::string>().find("the input file is gone") != std::string::npos);
}

TEST_CASE("session job: savepointTriggerNonce takes a savepoint of the running job, once per nonce") {
  SessionHarness h;
  h.session(true);
  h.create(sessionJob("builtin://flink-cpp-examples", "savepoint"));
  h.step();
  h.step();
  REQUIRE(h.status()["lifecycleState"] == "STABLE");
  h.patchSpec({{"job", {{"savepointTriggerNonce", 7}}}});
  h.step();
  REQUIRE(h.jm.numTriggers() == 1);
  CHECK(h.jm.latest().path == "savepoints");  // not a stop
  h.jm.completeLatest("file:///tmp/savepoints/savepoint-7");
  h.step();
  json info = h.status()["jobStatus"]["savepointInfo"];
  CHECK(info["lastSavepoint"]["location"] == "file:///tmp/savepoints/savepoint-7");
  CHECK(info["lastSavepoint"]["triggerNonce"] == 7);
  CHECK(info["lastSavepoint"]["triggerType"] == "MANUAL");
  CHECK(info["savepointHistory"].size() == 1);
  CHECK_FALSE(info.contains("triggerId"));
  CHECK(h.status()["lifecycleState"] == "STABLE");
  // The same nonce again: nothing; a job that keeps running under the same id.
  h.step();
  h.step();
  CHECK(h.jm.numTriggers() == 1);
  std::lock_guard<std::mutex> lock(h.jm.mu);
  CHECK(h.jm.runs.size() == 1);
}
