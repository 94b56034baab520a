#include "controller/state_snapshot_controller.h"

#include <fmt/format.h>

#include "controller/finalizers.h"
#include "flink/common/ids.h"
#include "flink/common/log.h"
#include "flink/common/strings.h"

namespace flink::k8s {

using nlohmann::json;

namespace {

}  // namespace

FlinkStateSnapshotController::FlinkStateSnapshotController(std::shared_ptr<KubeApi> client, Informer* snapshots,
                                                           Informer* flinkDeployments, OperatorConfig config)
    : FlinkStateSnapshotController(std::move(client), snapshots, flinkDeployments,
                                   std::make_shared<OperatorConfigStore>(std::move(config))) {}

FlinkStateSnapshotController::FlinkStateSnapshotController(std::shared_ptr<KubeApi> client, Informer* snapshots,
                                                           Informer* flinkDeployments,
                                                           std::shared_ptr<OperatorConfigStore> configs)
    : client_(client), snapshots_(snapshots), flinkDeployments_(flinkDeployments), configs_(std::move(configs)),
      events_(std::move(client)) {}

ApiResponse FlinkStateSnapshotController::writeStatus(const json& snapshot, const json& status) {
  json obj = snapshot;
  obj["status"] = status;
  const json& meta = snapshot["metadata"];
  return client_->put(
      types::kFlinkStateSnapshot.objectPath(meta.value("namespace", ""), meta.value("name", "")) + "/status", obj);
}

Result<FlinkStateSnapshotController::Job> FlinkStateSnapshotController::findJob(const json& snapshot) const {
  json ref = snapshot.value("spec", json::object()).value("jobReference", json::object());
  if (!ref.is_object() || ref.value("name", "").empty()) return Status::Error("spec.jobReference.name is required");
  if (ref.value("kind", "FlinkDeployment") != "FlinkDeployment") {
    return Status::Error("spec.jobReference.kind " + ref.value("kind", "") + " is not supported yet (FlinkDeployment is)");
  }
  std::string ns = ref.value("namespace", "");
  if (ns.empty()) ns = snapshot["metadata"].value("namespace", "");
  auto fd = flinkDeployments_->get(ns, ref.value("name", ""));
  if (!fd) return Status::Error("FlinkDeployment " + ns + "/" + ref.value("name", "") + " not found");
  auto parsed = FlinkDeploymentController::parseObject(*fd);
  if (!parsed.ok()) return parsed.status();
  json jobStatus = fd->value("status", json::object()).value("jobStatus", json::object());
  Job job;
  job.jobId = jobStatus.value("jobId", "");
  job.state = jobStatus.value("state", "");
  if (job.jobId.empty()) return Status::Error("FlinkDeployment " + ns + "/" + parsed->name + " has no job yet");
  auto config = configs_->forResource(parsed->namespace_, parsed->spec.flinkVersion);
  auto address = FlinkDeploymentController::restAddressOf(*client_, *parsed, *config);
  if (!address) return Status::Error("the JobManager of FlinkDeployment " + ns + "/" + parsed->name + " is not ready");
  job.address = *address;
  auto it = parsed->spec.flinkConfiguration.find("state.savepoints.dir");
  if (it != parsed->spec.flinkConfiguration.end()) job.savepointDir = trim(it->second);
  if (job.savepointDir.empty()) {
    auto d = config->defaultConfiguration.find("state.savepoints.dir");
    if (d != config->defaultConfiguration.end()) job.savepointDir = trim(d->second);
  }
  return job;
}

ReconcileResult FlinkStateSnapshotController::reconcileDeletion(const json& snapshot) {
  if (!hasFinalizer(snapshot, kFinalizer)) return {};
  json status = snapshot.value("status", json::object());
  std::string path = status.value("path", "");
  bool dispose = snapshot.value("spec", json::object()).value("savepoint", json::object()).value("disposeOnDelete", false);
  if (dispose && status.value("state", "") == "COMPLETED" && !path.empty()) {
    auto job = findJob(snapshot);
    Status s = job.ok() ? jobs_.disposeSavepoint(job->address, path) : job.status();
    if (s.ok()) {
      events_.record(snapshot, "Normal", "SavepointDisposed", "Disposed savepoint " + path);
    } else {
      events_.record(snapshot, "Warning", "SavepointDisposalFailed",
                     "Savepoint " + path + " is left on storage: " + s.message());
    }
  }
  ApiResponse r = setFinalizer(*client_, types::kFlinkStateSnapshot, snapshot, kFinalizer, false);
  if (!r.ok() && !r.notFound()) return {false, "removing the finalizer: " + r.error, std::nullopt};
  return {};
}

ReconcileResult FlinkStateSnapshotController::reconcile(const std::string& ns, const std::string& name) {
  auto obj = snapshots_->get(ns, name);
  if (!obj) return {};
  if ((*obj)["metadata"].contains("deletionTimestamp")) return reconcileDeletion(*obj);
  json spec = obj->value("spec", json::object());
  json savepoint = spec.value("savepoint", json());
  bool isSavepoint = savepoint.is_object();
  if (!isSavepoint && !spec.value("checkpoint", json()).is_object()) {
    json status = obj->value("status", json::object());
    if (status.value("state", "") == "FAILED") return {};
    status["state"] = "FAILED";
    status["error"] = "exactly one of spec.savepoint and spec.checkpoint is required";
    events_.record(*obj, "Warning", "ValidationError", status["error"]);
    ApiResponse r = writeStatus(*obj, status);
    return {r.ok() || r.conflict(), r.error, std::nullopt};
  }
  if (isSavepoint && savepoint.value("disposeOnDelete", false) && !hasFinalizer(*obj, kFinalizer)) {
    ApiResponse r = setFinalizer(*client_, types::kFlinkStateSnapshot, *obj, kFinalizer, true);
    if (!r.ok()) return {false, "adding the finalizer: " + r.error, std::nullopt};
    obj = r.body;
  }
  const json& snapshot = *obj;
  json status = snapshot.value("status", json::object());
  if (!status.is_object()) status = json::object();
  const json written = status;
  std::string state = status.value("state", "");
  if (state == "COMPLETED" || state == "FAILED" || state == "ABANDONED") return {};
  const std::string what = isSavepoint ? "savepoint" : "checkpoint";
  auto persist = [&]() -> ReconcileResult {
    if (status == written) return {};
    ApiResponse r = writeStatus(snapshot, status);
    if (r.conflict()) return {false, "status update conflict; retrying", std::nullopt};
    if (!r.ok()) return {false, "writing status: " + r.error, std::nullopt};
    return {};
  };

  if (isSavepoint && savepoint.value("alreadyExists", false)) {
    // An existing savepoint, registered (e.g. to start a job from it): nothing to take.
    std::string path = savepoint.value("path", "");
    if (path.empty()) {
      status["state"] = "FAILED";
      status["error"] = "spec.savepoint.path is required with alreadyExists";
    } else {
      status["state"] = "COMPLETED";
      status["path"] = path;
      status["resultTimestamp"] = nowRfc3339();
    }
    return persist();
  }

  // A failed attempt: counted; FAILED once more than backoffLimit (-1: no limit) failed.
  auto failAttempt = [&](const std::string& why) -> ReconcileResult {
    int failures = status.value("failures", 0) + 1;
    int limit = spec.value("backoffLimit", -1);
    status["failures"] = failures;
    status["error"] = why;
    status.erase("triggerId");
    status["state"] = limit >= 0 && failures > limit ? "FAILED" : "TRIGGER_PENDING";
    events_.record(snapshot, "Warning", "SnapshotError", fmt::format("{} attempt {} failed: {}", what, failures, why));
    ReconcileResult r = persist();
    if (r.ok && status["state"] == "TRIGGER_PENDING") r.requeueAfter = std::chrono::milliseconds(std::min(60000, 1000 << std::min(failures, 6)));
    return r;
  };

  auto job = findJob(snapshot);
  if (state == "IN_PROGRESS") {
    std::string triggerId = status.value("triggerId", "");
    if (!job.ok()) {
      status["state"] = "ABANDONED";
      status["error"] = job.status().message();
      events_.record(snapshot, "Warning", "SnapshotAbandoned", "The " + what + " cannot complete: " + job.status().message());
      return persist();
    }
    auto st = isSavepoint ? jobs_.savepointStatus(job->address, job->jobId, triggerId)
                          : jobs_.checkpointStatus(job->address, job->jobId, triggerId);
    if (!st.ok() || st->state == SavepointOperationStatus::State::kInProgress) {
      ReconcileResult r = persist();
      r.requeueAfter = std::chrono::milliseconds(1000);
      return r;
    }
    if (st->state == SavepointOperationStatus::State::kCompleted) {
      std::string path = st->location;
      if (!isSavepoint) {
        path = "chk-" + std::to_string(st->checkpointId);
        if (auto latest = jobs_.latestCheckpoint(job->address, job->jobId); latest && latest->id == st->checkpointId) {
          path = latest->externalPath;
        }
      }
      status["state"] = "COMPLETED";
      status["path"] = path;
      status["resultTimestamp"] = nowRfc3339();
      status.erase("error");
      events_.record(snapshot, "Normal", "SnapshotCompleted", "The " + what + " completed: " + path);
      return persist();
    }
    if (st->state == SavepointOperationStatus::State::kUnknownTrigger) {
      // Recorded but not sent yet (or the JobManager restarted): send it under its id.
      if (job->state != "RUNNING") {
        status["state"] = "ABANDONED";
        status["error"] = "the job is " + (job->state.empty() ? std::string("not running") : job->state) +
                          " and its JobManager does not know trigger " + triggerId;
        events_.record(snapshot, "Warning", "SnapshotAbandoned", status["error"]);
        return persist();
      }
      std::string dir = isSavepoint ? savepoint.value("path", "") : "";
      if (isSavepoint && dir.empty()) dir = job->savepointDir;
      Status sent = isSavepoint ? jobs_.triggerSavepoint(job->address, job->jobId, dir, false, triggerId)
                                : jobs_.triggerCheckpoint(job->address, job->jobId, triggerId);
      if (!sent.ok()) return failAttempt(sent.message());
      events_.record(snapshot, "Normal", "SnapshotTriggered", "Triggered a " + what + " of job " + job->jobId);
      ReconcileResult r = persist();
      if (r.ok) r.requeueAfter = std::chrono::milliseconds(300);
      return r;
    }
    return failAttempt(truncateUtf8(st->failure, 1000));
  }

  // TRIGGER_PENDING (or new).
  status["state"] = "TRIGGER_PENDING";
  if (!job.ok()) return failAttempt(job.status().message());
  if (job->state != "RUNNING") return failAttempt("the job is " + (job->state.empty() ? "not running" : job->state));
  // Recorded first under an id of ours; the next reconcile sends it (idempotent under that id).
  status["state"] = "IN_PROGRESS";
  status["triggerId"] = randomId();
  status["triggerTimestamp"] = nowRfc3339();
  ReconcileResult r = persist();
  if (r.ok) r.requeueAfter = std::chrono::milliseconds(10);
  return r;
}

}  // namespace flink::k8s
