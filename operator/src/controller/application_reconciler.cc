// The job lifecycle of application clusters (FlinkDeployments with spec.job), as the Apache
// operator's ApplicationReconciler: deploy, stop for an upgrade or a suspend as
// spec.job.upgradeMode says, redeploy with the job ID and restore path that mode implies, and
// manual savepoints. See flink_deployment_controller.h for the contract.
//
// The status is the write-ahead log of this state machine:
//   reconciliationStatus.lastReconciledSpec  the spec the cluster was made from; once its job is
//                                            stopped: job.state suspended, job.upgradeMode the
//                                            mode that stopped it (how to resume)
//   jobStatus.jobId                          the fixed job ID of the deployed cluster
//   jobStatus.upgradeSavepointPath           the restore path it was deployed with
//   jobStatus.savepointInfo.triggerId/...    a savepoint in flight (UPGRADE or MANUAL)
//   jobStatus.savepointInfo.lastSavepoint    the newest savepoint, with savepointHistory
// Each is written before the action it announces, so an operator that restarts at any point
// finds the step it was in and carries on (a trigger in flight is polled, not triggered again).
#include <fmt/format.h>

#include <cctype>

#include "controller/flink_deployment_controller.h"
#include "controller/savepoint_info.h"
#include "controller/resources/cluster_config.h"
#include "flink/common/ids.h"
#include "flink/common/log.h"
#include "flink/common/strings.h"
#include "flink/configuration.h"

namespace flink::k8s {

using nlohmann::json;

namespace {

bool jobRunning(const json& spec) {
  return spec.value("job", json::object()).value("state", "running") != "suspended";
}

/// The spec without the fields whose change needs no new cluster (the Apache operator's
/// "ignored" diff): the job's state and upgradeMode, the savepoint and checkpoint nonces, the
/// initial savepoint and allowNonRestoredState (they only matter when the job starts).
json upgradeRelevant(json spec) {
  if (spec.contains("job") && spec["job"].is_object()) {
    for (const char* k : {"state", "upgradeMode", "savepointTriggerNonce", "checkpointTriggerNonce",
                          "initialSavepointPath", "allowNonRestoredState"}) {
      spec["job"].erase(k);
    }
  }
  return spec;
}

json& objectField(json& parent, const char* key) {
  json& v = parent[key];
  if (!v.is_object()) v = json::object();
  return v;
}

/// parent[key] when it is an object, else an empty object (never adds the field).
json objectValue(const json& parent, const char* key) {
  auto it = parent.find(key);
  return it != parent.end() && it->is_object() ? *it : json::object();
}

/// A flinkConfiguration value of the deployed spec, else the operator's default.
std::string option(const FlinkDeployment& fd, const OperatorConfig& config, const std::string& key, const std::string& def) {
  auto it = fd.spec.flinkConfiguration.find(key);
  if (it != fd.spec.flinkConfiguration.end()) return trim(it->second);
  auto d = config.defaultConfiguration.find(key);
  return d != config.defaultConfiguration.end() ? trim(d->second) : def;
}

/// A boolean option (option() compared with "true", any case).
bool flag(const FlinkDeployment& fd, const OperatorConfig& config, const std::string& key, bool def) {
  return lower(option(fd, config, key, def ? "true" : "false")) == "true";
}

/// An integer option, `def` when unset or not a number.
int64_t intOption(const FlinkDeployment& fd, const OperatorConfig& config, const std::string& key, int64_t def) {
  try {
    return std::stoll(option(fd, config, key, std::to_string(def)));
  } catch (...) {
    return def;
  }
}

std::string savepointDirectory(const FlinkDeployment& fd, const OperatorConfig& config) {
  std::string dir = option(fd, config, "state.savepoints.dir", "");
  return dir.empty() ? option(fd, config, "execution.checkpointing.savepoint-dir", "") : dir;
}

/// savepointRedeployNonce set and different in `desired` from `deployed`.
bool redeployNonceChanged(const json& desired, const json& deployed) {
  json a = desired.value("job", json::object()).value("savepointRedeployNonce", json());
  json b = deployed.value("job", json::object()).value("savepointRedeployNonce", json());
  return !a.is_null() && a != b;
}

}  // namespace

Status FlinkDeploymentController::deleteClusterDeployments(const json& fd, const FlinkDeployment& target,
                                                           const std::string& reason, bool* deleted) {
  if (deleted) *deleted = false;
  for (const std::string& name : {jobManagerName(target), taskManagerName(target)}) {
    if (!informers_.deployments->get(target.namespace_, name)) continue;
    if (deleted) *deleted = true;
    ApiResponse r = client_->del(types::kDeployment.objectPath(target.namespace_, name));
    if (!r.ok() && !r.notFound()) return Status::Error(fmt::format("deleting Deployment {}: {}", name, r.error));
    events_.record(fd, "Normal", "Suspended", fmt::format("Deleted Deployment {}: {}", name, reason));
  }
  return Status::Ok();
}

Result<bool> FlinkDeploymentController::deleteHaConfigMaps(const FlinkDeployment& target) {
  // Flink's Kubernetes HA ConfigMaps: <cluster-id>-cluster-config-map and one per job.
  const std::string base = "/api/v1/namespaces/" + target.namespace_ + "/configmaps";
  auto list = client_->get(base + "?labelSelector=app%3D" + target.name + "%2Cconfigmap-type%3Dhigh-availability");
  if (!list.ok()) return Status::Error("listing the HA ConfigMaps: " + list.error);
  bool any = false;
  for (const auto& cm : list.body.value("items", json::array())) {
    any = true;
    std::string name = cm.value("metadata", json::object()).value("name", "");
    ApiResponse r = client_->del(base + "/" + name);
    if (!r.ok() && !r.notFound()) return Status::Error(fmt::format("deleting ConfigMap {}: {}", name, r.error));
    log::info("FlinkDeployment {}/{}: deleted HA ConfigMap {}", target.namespace_, target.name, name);
  }
  return any;
}

std::optional<nlohmann::json> FlinkDeploymentController::haLatestCheckpoint(const FlinkDeployment& target,
                                                                            const std::string& jobId) const {
  // The job's HA ConfigMap (<cluster-id>-<job-id>-config-map): checkpointID-<19 digits> entries,
  // each JSON with the checkpoint's externalPointer.
  auto cm = client_->get("/api/v1/namespaces/" + target.namespace_ + "/configmaps/" + target.name + "-" + jobId + "-config-map");
  if (!cm.ok()) return std::nullopt;
  std::optional<json> best;
  std::string bestKey;
  const json data = cm.body.value("data", json::object());
  for (const auto& [key, value] : data.items()) {
    if (key.rfind("checkpointID-", 0) != 0 || !value.is_string() || key <= bestKey) continue;
    json entry = json::parse(value.get<std::string>(), nullptr, false);
    if (!entry.is_object() || !entry.value("externalPointer", json()).is_string()) continue;
    bestKey = key;
    best = json{{"id", std::strtoll(key.c_str() + 13, nullptr, 10)}, {"location", entry["externalPointer"]}};
  }
  return best;
}

bool FlinkDeploymentController::clusterPodsExist(const FlinkDeployment& target) const {
  auto pods = client_->get("/api/v1/namespaces/" + target.namespace_ + "/pods?labelSelector=app%3D" + target.name);
  if (!pods.ok()) return true;  // cannot tell: assume they are still there
  for (const auto& pod : pods.body.value("items", json::array())) {
    json labels = pod.value("metadata", json::object()).value("labels", json::object());
    std::string component = labels.value("component", "");
    if (labels.value("app", "") == target.name && (component == "jobmanager" || component == "taskmanager")) return true;
  }
  return false;
}

FlinkDeploymentController::StopOutcome FlinkDeploymentController::stopJob(const json& fd, const FlinkDeployment& deployed,
                                                                          const std::string& requestedMode,
                                                                          FlinkDeploymentStatus* status) {
  StopOutcome out;
  JobStatusInfo& js = *status->jobStatus;
  json& info = objectField(js.extra, "savepointInfo");
  const std::string jobId = js.extra.value("jobId", "");
  std::string mode = requestedMode;
  bool fallbackAllowed =
      flag(deployed, *configFor(deployed), "kubernetes.operator.job.upgrade.last-state-fallback.enabled", true);
  // The upgrade's savepoint as a FlinkStateSnapshot, referenced from the job status (as the
  // Apache operator's upgradeSnapshotReference).
  auto recordUpgradeSnapshot = [&](const std::string& location) {
    if (auto name = recordSnapshotResource(deployed, location, "UPGRADE")) {
      js.extra["upgradeSnapshotReference"] = {{"name", *name}, {"namespace", deployed.namespace_}, {"path", location}};
    }
  };

  if (mode != "stateless" && info.value("triggerId", "").empty()) {
    // A job that a savepoint stopped (this operator before a restart, between the trigger and
    // its record in status; or someone through the REST API) resumes from that savepoint: its
    // output up to the savepoint is committed, so its older checkpoints would produce it again.
    auto address = restAddress(deployed);
    auto job = address ? jobs_.observe(*address) : std::nullopt;
    if (job && job->jobId == jobId && (job->state == "FINISHED" || job->state == "CANCELED")) {
      auto latest = jobs_.latestCheckpoint(*address, jobId);
      if (latest && latest->type == "SYNC_SAVEPOINT" && !latest->externalPath.empty()) {
        recordUpgradeSnapshot(latest->externalPath);
        recordSavepoint(info, latest->externalPath, "UPGRADE", json());
        trimSavepointHistory(fd, deployed, js, info);
        js.extra["upgradeSavepointPath"] = latest->externalPath;
        events_.record(fd, "Normal", "SavepointCreated",
                       fmt::format("Job {} was stopped with savepoint {}: the job resumes from it", jobId,
                                   latest->externalPath));
        out.stopped = true;
        out.usedMode = "savepoint";
        return out;
      }
    }
  }

  if (mode == "savepoint") {
    auto address = restAddress(deployed);
    auto job = address ? jobs_.observe(*address) : std::nullopt;
    if (job && !jobId.empty() && job->jobId != jobId) job.reset();  // not our job
    std::string pendingType = info.value("triggerType", "");
    std::string triggerId = info.value("triggerId", "");
    std::string fallbackReason;
    if (!triggerId.empty() && pendingType != "UPGRADE") {
      // A manual savepoint in flight: let it finish first (one savepoint at a time).
      reconcileSavepoints(fd, deployed, fd["spec"], status);
      if (!info.value("triggerId", "").empty()) return out;
      triggerId.clear();
    }
    if (!triggerId.empty()) {
      auto st = address ? jobs_.savepointStatus(*address, jobId, triggerId)
                        : Result<SavepointOperationStatus>(Status::Error("the JobManager has no address"));
      if (st.ok() && st->state == SavepointOperationStatus::State::kInProgress) return out;
      if (st.ok() && st->state == SavepointOperationStatus::State::kUnknownTrigger && job && job->state == "RUNNING") {
        // Recorded but not sent yet (or the JobManager restarted): send it, under its id.
        std::string dir = savepointDirectory(deployed, *configFor(deployed));
        Status sent = jobs_.triggerSavepoint(*address, jobId, dir, true, triggerId);
        if (sent.ok()) {
          events_.record(fd, "Normal", "SavepointTriggered", fmt::format("Stopping job {} with a savepoint into {}", jobId, dir));
          out.requeue = std::chrono::milliseconds(300);
        } else {
          // E.g. not every task is running yet: not a failure of the upgrade, try again soon.
          log::info("FlinkDeployment {}/{}: {}", deployed.namespace_, deployed.name, sent.message());
          out.requeue = std::chrono::milliseconds(1000);
        }
        return out;
      }
      if (!st.ok() && nowMs() - info.value("triggerTimestamp", int64_t{0}) < triggerGraceMs(deployed)) {
        // The JobManager does not answer (restarting, say): keep the trigger a while.
        out.requeue = std::chrono::milliseconds(2000);
        return out;
      }
      if (st.ok() && st->state == SavepointOperationStatus::State::kCompleted) {
        recordUpgradeSnapshot(st->location);
        clearTrigger(info);
        recordSavepoint(info, st->location, "UPGRADE", json());
        js.extra["upgradeSavepointPath"] = st->location;
        trimSavepointHistory(fd, deployed, js, info);
        events_.record(fd, "Normal", "SavepointCreated",
                       fmt::format("Stopped job {} with savepoint {}", jobId, st->location));
        out.stopped = true;
        out.usedMode = "savepoint";
        return out;
      }
      clearTrigger(info);
      std::string why = st.ok() ? (st->state == SavepointOperationStatus::State::kFailed ? st->failure
                                                                                          : "the JobManager lost the trigger")
                                : st.status().message();
      events_.record(fd, "Warning", "SavepointError", "Stop with savepoint failed: " + truncateUtf8(why, 500));
      if (job && job->state == "RUNNING") {
        out.requeue = std::chrono::milliseconds(5000);  // try again
        return out;
      }
      fallbackReason = "the stop with savepoint failed (" + truncateUtf8(why, 200) + ")";
    } else if (job && job->state == "RUNNING") {
      // The trigger is recorded first, under an id of ours; the next step sends it (the
      // JobManager takes the id, so sending it twice starts one savepoint).
      info["triggerId"] = randomId();
      info["triggerTimestamp"] = nowMs();
      info["triggerType"] = "UPGRADE";
      info["formatType"] = "CANONICAL";
      out.requeue = std::chrono::milliseconds(10);
      return out;
    } else if (job && job->state == "FINISHED") {
      // Nothing left to save: the job ended; the new spec starts it afresh.
      mode = "stateless";
    } else {
      fallbackReason = job ? "the job is " + job->state : "the JobManager's REST API does not answer";
    }
    if (mode == "savepoint") {
      if (!fallbackAllowed) {
        status->error = "Cannot upgrade with a savepoint: " + fallbackReason +
                        "; kubernetes.operator.job.upgrade.last-state-fallback.enabled is false, so the upgrade waits";
        out.requeue = std::chrono::milliseconds(10000);
        return out;
      }
      events_.record(fd, "Warning", "UpgradeFallback",
                     "No savepoint can be taken (" + fallbackReason +
                         "): upgrading with last-state, the job resumes from its latest checkpoint");
      mode = "last-state";
    }
  }

  if (mode == "last-state") {
    bool recorded = false;
    if (auto address = restAddress(deployed); address && !jobId.empty()) {
      if (auto cp = jobs_.latestCheckpoint(*address, jobId)) {
        json& cinfo = objectField(js.extra, "checkpointInfo");
        cinfo["lastCheckpoint"] = {{"timeStamp", cp->timestampMs}, {"triggerType", "PERIODIC"}, {"formatType", "FULL"},
                                   {"id", cp->id}, {"location", cp->externalPath}};
        recorded = true;
      }
    }
    if (!recorded && !jobId.empty() && detail::highAvailabilityEnabled(deployed.effectiveConfiguration().entries())) {
      // The JobManager does not answer: the pointer its HA services wrote says where the job
      // resumes (the new JobManager restores from it).
      if (auto cp = haLatestCheckpoint(deployed, jobId)) {
        json& cinfo = objectField(js.extra, "checkpointInfo");
        cinfo["lastCheckpoint"] = {{"timeStamp", nowMs()}, {"triggerType", "PERIODIC"}, {"formatType", "FULL"},
                                   {"id", (*cp)["id"]}, {"location", (*cp)["location"]}};
      }
    }
  }
  if (mode == "stateless") {
    int64_t since = status->reconciliationStatus ? status->reconciliationStatus->reconciliationTimestamp.value_or(0) : 0;
    if (awaitCancel(fd, deployed, jobId, since + 30000)) {
      out.requeue = std::chrono::milliseconds(300);
      return out;
    }
  }
  out.stopped = true;
  out.usedMode = mode;
  return out;
}

bool FlinkDeploymentController::awaitCancel(const json& fd, const FlinkDeployment& deployed, const std::string& jobId,
                                            int64_t deadlineMs) {
  if (jobId.empty() || nowMs() > deadlineMs) return false;
  auto address = restAddress(deployed);
  auto job = address ? jobs_.observe(*address) : std::nullopt;
  if (!job || job->jobId != jobId) return false;
  if (job->state == "FINISHED" || job->state == "FAILED" || job->state == "CANCELED") return false;
  if (job->state != "CANCELLING") {
    Status s = jobs_.cancel(*address, jobId);
    if (s.ok()) {
      events_.record(fd, "Normal", "JobCancelling", "Cancelling job " + jobId + " (stateless)");
    } else {
      log::info("FlinkDeployment {}/{}: cancelling job {}: {}", deployed.namespace_, deployed.name, jobId, s.message());
    }
  }
  return true;
}

void FlinkDeploymentController::reconcileSavepoints(const json& fd, const FlinkDeployment& deployed, const json& spec,
                                                    FlinkDeploymentStatus* status) {
  (void)reconcileSnapshots(fd, deployed, spec, status, /*savepoint=*/true);
}

bool FlinkDeploymentController::reconcileSnapshots(const json& fd, const FlinkDeployment& deployed, const json& spec,
                                                   FlinkDeploymentStatus* status, bool savepoint) {
  if (!status->jobStatus) return false;
  JobStatusInfo& js = *status->jobStatus;
  const char* field = savepoint ? "savepointInfo" : "checkpointInfo";
  const std::string what = savepoint ? "savepoint" : "checkpoint";
  // Works on a copy that goes back into the status only when it changed (no empty field added).
  json info = objectValue(js.extra, field);
  struct WriteBack {
    json& info;
    const json before;
    json& extra;
    const char* field;
    ~WriteBack() {
      if (info != before) extra[field] = info;
    }
  } writeBack{info, info, js.extra, field};
  const std::string jobId = js.extra.value("jobId", "");
  json nonce = spec.value("job", json::object()).value(savepoint ? "savepointTriggerNonce" : "checkpointTriggerNonce", json());
  auto address = restAddress(deployed);
  if (!address || jobId.empty()) return false;
  std::string triggerId = info.value("triggerId", "");
  if (!triggerId.empty()) {
    std::string type = info.value("triggerType", "");
    if (type != "MANUAL" && type != "PERIODIC") return false;  // an upgrade's stop-with-savepoint: stopJob's
    auto st = savepoint ? jobs_.savepointStatus(*address, jobId, triggerId) : jobs_.checkpointStatus(*address, jobId, triggerId);
    if (st.ok() && st->state == SavepointOperationStatus::State::kInProgress) return false;
    const int64_t grace = triggerGraceMs(deployed);
    if (!st.ok() && nowMs() - info.value("triggerTimestamp", int64_t{0}) < grace) return false;  // unreachable: a while
    if (st.ok() && st->state == SavepointOperationStatus::State::kUnknownTrigger &&
        nowMs() - info.value("triggerTimestamp", int64_t{0}) < grace) {
      // Recorded but not sent yet (or the JobManager restarted): send it under its id.
      Status sent = savepoint ? jobs_.triggerSavepoint(*address, jobId, savepointDirectory(deployed, *configFor(deployed)), false, triggerId)
                              : jobs_.triggerCheckpoint(*address, jobId, triggerId);
      if (sent.ok()) {
        events_.record(fd, "Normal", savepoint ? "SavepointTriggered" : "CheckpointTriggered",
                       type == "MANUAL" ? "Triggered a " + what + " (" + what + "TriggerNonce " +
                                              info.value("triggerNonce", json()).dump() + ")"
                                        : "Triggered a periodic " + what);
      } else {
        log::info("FlinkDeployment {}/{}: {} {} not triggered yet: {}", deployed.namespace_, deployed.name, lower(type),
                  what, sent.message());
      }
      return false;
    }
    json triggered = info.value("triggerNonce", json());
    clearTrigger(info);
    if (type == "PERIODIC") info[savepoint ? "lastPeriodicSavepointTimestamp" : "lastPeriodicCheckpointTimestamp"] = nowMs();
    std::string label = type == "MANUAL" ? "Manual " + what : "Periodic " + what;
    if (st.ok() && st->state == SavepointOperationStatus::State::kCompleted) {
      if (savepoint) {
        recordSnapshotResource(deployed, st->location, type);
        recordSavepoint(info, st->location, type, triggered);
        trimSavepointHistory(fd, deployed, js, info);
      } else {
        json cp = {{"timeStamp", nowMs()}, {"triggerType", type}, {"formatType", "FULL"}, {"id", st->checkpointId}};
        if (!triggered.is_null()) cp["triggerNonce"] = triggered;
        info["lastCheckpoint"] = cp;
      }
      events_.record(fd, "Normal", savepoint ? "SavepointCreated" : "CheckpointCreated",
                     label + " completed: " + (savepoint ? st->location : "checkpoint " + std::to_string(st->checkpointId)));
    } else {
      std::string why = !st.ok()              ? "no answer within kubernetes.operator.savepoint.trigger.grace-period (" +
                                                     st.status().message() + ")"
                        : st->failure.empty() ? std::string("the JobManager lost the trigger")
                                              : truncateUtf8(st->failure, 500);
      events_.record(fd, "Warning", savepoint ? "SavepointError" : "CheckpointError", label + " failed: " + why);
    }
    return false;
  }
  if (savepoint) trimSavepointHistory(fd, deployed, js, info);
  // A new nonce: a manual one (each nonce once, whatever its outcome). Else a periodic one when
  // due (kubernetes.operator.periodic.savepoint.interval / .checkpoint.interval, counted from
  // the last periodic one or the job's deployment).
  std::string type;
  if (!nonce.is_null() && info.value("handledTriggerNonce", json()) != nonce) type = "MANUAL";
  if (type.empty()) {
    int64_t interval = durationOptionMs(deployed, savepoint ? "kubernetes.operator.periodic.savepoint.interval"
                                                            : "kubernetes.operator.periodic.checkpoint.interval");
    int64_t since = info.value(savepoint ? "lastPeriodicSavepointTimestamp" : "lastPeriodicCheckpointTimestamp", int64_t{0});
    if (since == 0 && status->reconciliationStatus) since = status->reconciliationStatus->reconciliationTimestamp.value_or(0);
    if (interval > 0 && nowMs() - since >= interval) type = "PERIODIC";
  }
  if (type.empty()) return false;
  // Recorded first under an id of ours, sent by the next reconcile (idempotent under that id).
  info["triggerId"] = randomId();
  info["triggerTimestamp"] = nowMs();
  info["triggerType"] = type;
  info["formatType"] = savepoint ? "CANONICAL" : "FULL";
  if (type == "MANUAL") {
    info["triggerNonce"] = nonce;
    info["handledTriggerNonce"] = nonce;
  }
  return true;
}

bool FlinkDeploymentController::shouldRollBack(const FlinkDeployment& deployed, const FlinkDeploymentStatus& status,
                                               const std::optional<json>& lastStable, const json& deployedSpec) const {
  if (!flag(deployed, *configFor(deployed), "kubernetes.operator.deployment.rollback.enabled", false)) return false;
  const auto& recon = *status.reconciliationStatus;
  if (recon.state != "DEPLOYED" || !lastStable) return false;
  if (status.lifecycleState == "STABLE") return false;
  if (upgradeRelevant(*lastStable) == upgradeRelevant(deployedSpec)) return false;  // nothing to roll back to
  int64_t timeout = durationOptionMs(deployed, "kubernetes.operator.deployment.readiness.timeout");
  if (timeout <= 0) timeout = 5 * 60 * 1000;  // the Apache operator's default, 5 min
  return nowMs() - recon.reconciliationTimestamp.value_or(nowMs()) > timeout;
}

void FlinkDeploymentController::trimSavepointHistory(const json& fd, const FlinkDeployment& deployed,
                                                    const JobStatusInfo& js, json& info) {
  json& history = info["savepointHistory"];
  if (!history.is_array()) return;
  const int maxCount = std::max(1, historyMaxCount(deployed));
  int64_t maxAge = durationOptionMs(deployed, "kubernetes.operator.savepoint.history.max.age");
  if (maxAge <= 0) maxAge = 24 * 3600 * 1000;  // the Apache operator's default, 24 h
  const std::string keepLast = info.value("lastSavepoint", json::object()).value("location", "");
  const std::string keepRestore = js.extra.value("upgradeSavepointPath", json()).is_string()
                                      ? js.extra["upgradeSavepointPath"].get<std::string>()
                                      : std::string();
  json kept = json::array(), evicted = json::array();
  const int64_t now = nowMs();
  for (size_t i = 0; i < history.size(); ++i) {
    const json& sp = history[i];
    bool newest = history.size() - i <= static_cast<size_t>(maxCount);
    bool young = now - sp.value("timeStamp", now) <= maxAge;
    bool protectedPath = sp.value("location", "") == keepLast || sp.value("location", "") == keepRestore;
    ((newest && young) || protectedPath ? kept : evicted).push_back(sp);
  }
  if (evicted.empty()) return;
  history = kept;
  // Disposed through the JobManager (the storage is where the cluster runs), as the Apache
  // operator does; the savepoint a restart would restore from is never disposed.
  auto address = restAddress(deployed);
  for (const auto& sp : evicted) {
    std::string location = sp.value("location", "");
    if (location.empty()) continue;
    if (deleteSnapshotResource(deployed, location)) continue;  // its deletion disposes the savepoint
    Status s = address ? jobs_.disposeSavepoint(*address, location) : Status::Error("the JobManager has no address");
    if (s.ok()) {
      events_.record(fd, "Normal", "SavepointDisposed", "Disposed savepoint " + location + " (savepoint history limits)");
    } else {
      log::warn("FlinkDeployment {}/{}: savepoint {} left on storage: {}", deployed.namespace_, deployed.name, location,
                s.message());
    }
  }
}

void FlinkDeploymentController::evaluateHealth(const FlinkDeployment& target, const RestAddress& address,
                                               const std::string& jobId, FlinkDeploymentStatus* status) {
  const std::string prefix = "kubernetes.operator.cluster.health-check.";
  if (!flag(target, *configFor(target), prefix + "enabled", false)) return;
  auto sample = jobs_.healthSample(address, jobId);
  if (!sample) return;  // not answered: judge on the next observation
  json& clusterInfo = objectField(status->extra, "clusterInfo");
  json h = json::parse(clusterInfo.value("cluster-health-info", "{}"), nullptr, false);
  const int64_t now = nowMs();
  // A new baseline for a new job, a JobManager that started it again (counts went down), or a
  // status of another job.
  if (!h.is_object() || h.value("jobId", "") != jobId || sample->numRestarts < h.value("numRestarts", int64_t{0}) ||
      sample->completedCheckpoints < h.value("numCompletedCheckpoints", int64_t{0})) {
    h = {{"jobId", jobId}, {"numRestarts", sample->numRestarts}, {"numRestartsEvaluationTimeStamp", now},
         {"numCompletedCheckpoints", sample->completedCheckpoints}, {"numCompletedCheckpointsIncreasedTimeStamp", now},
         {"healthy", true}};
  }
  std::vector<std::string> why;
  // Restarts within the window: counted from a baseline at most one window old.
  int64_t restartWindow = durationOptionMs(target, prefix + "restarts.window");
  if (restartWindow <= 0) restartWindow = 2 * 60 * 1000;
  const int64_t threshold = intOption(target, *configFor(target), prefix + "restarts.threshold", 64);
  int64_t restarts = sample->numRestarts - h.value("numRestarts", int64_t{0});
  if (restarts > threshold) {
    why.push_back(fmt::format("{} restarts within {} (kubernetes.operator.cluster.health-check.restarts.threshold {})",
                              restarts, formatDurationMs(restartWindow), threshold));
  }
  if (now - h.value("numRestartsEvaluationTimeStamp", now) > restartWindow) {
    h["numRestarts"] = sample->numRestarts;
    h["numRestartsEvaluationTimeStamp"] = now;
  }
  // Checkpoint progress, when the job checkpoints.
  if (sample->completedCheckpoints > h.value("numCompletedCheckpoints", int64_t{0})) {
    h["numCompletedCheckpoints"] = sample->completedCheckpoints;
    h["numCompletedCheckpointsIncreasedTimeStamp"] = now;
  }
  Configuration conf = target.effectiveConfiguration();
  auto interval = conf.getDurationMs("execution.checkpointing.interval", 0);
  if (interval.ok() && *interval > 0 &&
      flag(target, *configFor(target), prefix + "checkpoint-progress.enabled", true)) {
    auto timeout = conf.getDurationMs("execution.checkpointing.timeout", 10 * 60 * 1000);
    int64_t tolerable = 0;
    try {
      tolerable = std::stoll(conf.getString("execution.checkpointing.tolerable-failed-checkpoints", "0"));
    } catch (...) {
    }
    // Never shorter than the checkpoints can be (the Apache operator's floor).
    int64_t floor = std::max(*interval, timeout.ok() ? *timeout : 10 * 60 * 1000) * (std::max<int64_t>(tolerable, 0) + 1);
    int64_t window = durationOptionMs(target, prefix + "checkpoint-progress.window");
    if (window <= 0) window = 5 * 60 * 1000;
    window = std::max(window, floor);
    int64_t since = now - h.value("numCompletedCheckpointsIncreasedTimeStamp", now);
    if (since > window) {
      why.push_back(fmt::format("no checkpoint completed for {} (kubernetes.operator.cluster.health-check."
                                "checkpoint-progress.window {})",
                                formatDurationMs(since), formatDurationMs(window)));
    }
  }
  bool healthy = why.empty();
  if (healthy) {
    h.erase("reason");
  } else {
    std::string reason;
    for (const auto& w : why) reason += (reason.empty() ? "" : "; ") + w;
    h["reason"] = reason;
  }
  h["healthy"] = healthy;
  clusterInfo["cluster-health-info"] = h.dump();
}

namespace {
/// The FlinkStateSnapshot name recording a savepoint: "<deployment>-<directory name>" as an
/// RFC 1123 subdomain (lower case; other characters become '-'), at most 253 characters.
std::string snapshotResourceName(const std::string& deployment, const std::string& location) {
  std::string path = location;
  while (!path.empty() && path.back() == '/') path.pop_back();
  std::string base = path.substr(path.find_last_of('/') + 1);
  std::string name;
  for (char ch : deployment + "-" + base) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '-';
  }
  if (name.size() > 253) name = name.substr(name.size() - 253);
  while (!name.empty() && !std::isalnum(static_cast<unsigned char>(name.front()))) name.erase(0, 1);
  while (!name.empty() && !std::isalnum(static_cast<unsigned char>(name.back()))) name.pop_back();
  return name;
}
}  // namespace

std::optional<std::string> FlinkDeploymentController::recordSnapshotResource(const FlinkDeployment& deployed,
                                                                             const std::string& location,
                                                                             const std::string& triggerType) {
  if (!flag(deployed, *configFor(deployed), "kubernetes.operator.snapshot.resource.enabled", true)) {
    return std::nullopt;
  }
  const std::string name = snapshotResourceName(deployed.name, location);
  bool dispose = flag(deployed, *configFor(deployed), "kubernetes.operator.savepoint.dispose-on-delete", false);
  json snapshot = {
      {"apiVersion", "flink.apache.org/v1beta1"},
      {"kind", "FlinkStateSnapshot"},
      {"metadata",
       {{"name", name},
        {"namespace", deployed.namespace_},
        {"labels",
         {{"snapshot.type", "SAVEPOINT"},
          {"snapshot.trigger-type", triggerType},
          {"job-reference.kind", "FlinkDeployment"},
          {"job-reference.name", deployed.name}}}}},
      {"spec",
       {{"backoffLimit", 0},
        {"jobReference", {{"kind", "FlinkDeployment"}, {"name", deployed.name}}},
        {"savepoint", {{"path", location}, {"alreadyExists", true}, {"disposeOnDelete", dispose}, {"formatType", "CANONICAL"}}}}}};
  ApiResponse r = client_->post(types::kFlinkStateSnapshot.collectionPath(deployed.namespace_), snapshot);
  if (!r.ok() && !r.conflict()) {
    log::warn("FlinkDeployment {}/{}: savepoint {} is not recorded as FlinkStateSnapshot {}: {}", deployed.namespace_,
              deployed.name, location, name, r.error);
    return std::nullopt;
  }
  return name;
}

bool FlinkDeploymentController::deleteSnapshotResource(const FlinkDeployment& deployed, const std::string& location) {
  const std::string path = types::kFlinkStateSnapshot.objectPath(deployed.namespace_, snapshotResourceName(deployed.name, location));
  ApiResponse current = client_->get(path);
  if (!current.ok()) return false;
  json meta = current.body.value("metadata", json::object());
  bool disposes = current.body.value("spec", json::object()).value("savepoint", json::object()).value("disposeOnDelete", false);
  bool finalizer = false;
  for (const auto& f : meta.value("finalizers", json::array())) finalizer = finalizer || f == "flinkstatesnapshots.flink.apache.org/finalizer";
  ApiResponse r = client_->del(path);
  if (!r.ok() && !r.notFound()) {
    log::warn("FlinkDeployment {}/{}: deleting the FlinkStateSnapshot of savepoint {}: {}", deployed.namespace_,
              deployed.name, location, r.error);
    return false;
  }
  return r.ok() && disposes && finalizer;
}

int64_t FlinkDeploymentController::triggerGraceMs(const FlinkDeployment& deployed) const {
  int64_t grace = durationOptionMs(deployed, "kubernetes.operator.savepoint.trigger.grace-period");
  return grace > 0 ? grace : 60000;  // the Apache operator's default, 1 min
}

int FlinkDeploymentController::historyMaxCount(const FlinkDeployment& deployed) const {
  return static_cast<int>(intOption(deployed, *configFor(deployed), "kubernetes.operator.savepoint.history.max.count", 10));
}

int64_t FlinkDeploymentController::durationOptionMs(const FlinkDeployment& deployed, const std::string& key) const {
  Configuration c;
  c.set(key, option(deployed, *configFor(deployed), key, "0"));
  auto ms = c.getDurationMs(key, 0);
  return ms.ok() ? *ms : 0;
}

ReconcileResult FlinkDeploymentController::reconcileApplication(const json& fd, const Validation& v,
                                                                FlinkDeploymentStatus status,
                                                                const FlinkDeploymentStatus& written) {
  const std::string ns = v.target->namespace_, name = v.target->name;
  recordSpecDecision(fd, v, &status, /*recordSpec=*/false);
  ReconciliationStatus& recon = *(status.reconciliationStatus = status.reconciliationStatus.value_or(ReconciliationStatus{}));
  JobStatusInfo& js = *(status.jobStatus = status.jobStatus.value_or(JobStatusInfo{}));

  // What the user wants (the last valid spec when the new one is invalid) and what runs.
  json desired = v.error ? json::parse(recon.lastReconciledSpec.value_or("{}"), nullptr, false) : fd["spec"];
  std::optional<json> deployed;
  if (recon.lastReconciledSpec) deployed = json::parse(*recon.lastReconciledSpec, nullptr, false);
  if (deployed && !deployed->is_object()) deployed.reset();
  // Rolling back (kubernetes.operator.deployment.rollback.enabled): the failed spec's job is
  // stopped and the cluster is made from lastStableSpec again; lastReconciledSpec keeps the
  // failed spec (ROLLED_BACK), so it is not retried until the user changes the spec.
  const bool rollingBack = recon.state == "ROLLING_BACK";
  std::optional<json> lastStable;
  if (recon.lastStableSpec) lastStable = json::parse(*recon.lastStableSpec, nullptr, false);
  if (lastStable && !lastStable->is_object()) lastStable.reset();

  // Writes the status when it changed; false (with *err) when it could not be written, in
  // which case nothing may be done to the cluster.
  FlinkDeploymentStatus persisted = written;  // what the API server has now
  auto persist = [&](std::string* err) {
    ApiResponse r = writeLatestStatus(ns, name, status);
    if (r.ok()) persisted = status;
    if (r.ok()) return true;
    *err = r.conflict() ? "status update conflict; retrying" : "writing status: " + r.error;
    return false;
  };
  auto fail = [](const std::string& err) { return ReconcileResult{false, err, std::nullopt}; };

  // Deploys `spec` (the new lastReconciledSpec) with a job ID and restore path: written first.
  auto deploy = [&](const json& spec, const std::string& jobId, const std::optional<std::string>& restore,
                    const std::string& why) -> std::optional<ReconcileResult> {
    bool first = !recon.lastReconciledSpec;
    recon.lastReconciledSpec = spec.dump();
    recon.state = rollingBack ? "ROLLED_BACK" : "DEPLOYED";
    recon.reconciliationTimestamp = nowMs();
    status.lifecycleState = rollingBack ? "ROLLED_BACK" : jobRunning(spec) ? "DEPLOYED" : "SUSPENDED";
    js.extra["jobId"] = jobId;
    if (restore) {
      js.extra["upgradeSavepointPath"] = *restore;
    } else {
      js.extra.erase("upgradeSavepointPath");
    }
    if (!restore || js.extra.value("upgradeSnapshotReference", json::object()).value("path", "") != *restore) {
      js.extra.erase("upgradeSnapshotReference");
    }
    js.state = jobRunning(spec) ? "RECONCILING" : "SUSPENDED";
    objectField(status.extra, "clusterInfo").erase("cluster-health-info");  // a new job: a new baseline
    std::string err;
    if (!persist(&err)) return fail(err);
    events_.record(fd, "Normal", first ? "SpecChanged" : "Deploying", why);
    deployed = spec;
    return std::nullopt;
  };

  // Why the running job is to be restarted as unhealthy: the health check (evaluateHealth)
  // judged it so and kubernetes.operator.cluster.health-check.enabled is on for the deployed spec.
  std::optional<std::string> unhealthy;
  if (deployed && jobRunning(*deployed) && jobRunning(desired) && v.lastReconciled && js.state == "RUNNING" &&
      flag(*v.lastReconciled, *configFor(*v.lastReconciled), "kubernetes.operator.cluster.health-check.enabled", false)) {
    json h = json::parse(objectValue(status.extra, "clusterInfo").value("cluster-health-info", "{}"), nullptr, false);
    if (h.is_object() && !h.value("healthy", true) && h.value("jobId", "") == js.extra.value("jobId", "")) {
      unhealthy = h.value("reason", "the health check failed");
    }
  }
  const bool restartUnhealthy = unhealthy.has_value();
  if (!deployed) {
    // The first deployment: a new job ID, from initialSavepointPath if given.
    std::optional<std::string> restore;
    if (v.target->spec.job && v.target->spec.job->initialSavepointPath) restore = *v.target->spec.job->initialSavepointPath;
    if (auto r = deploy(desired, randomId(), restore,
                        restore ? "Deploying the FlinkDeployment from savepoint " + *restore : "Deploying the FlinkDeployment")) {
      return *r;
    }
  } else if (bool restartFailed = jobRunning(*deployed) && jobRunning(desired) && js.state == "FAILED" &&
                                  v.lastReconciled &&
                                  flag(*v.lastReconciled, *configFor(*v.lastReconciled), "kubernetes.operator.job.restart.failed", false);
             jobRunning(*deployed) &&
             (!jobRunning(desired) || upgradeRelevant(desired) != upgradeRelevant(*deployed) || restartFailed ||
              restartUnhealthy ||
              (rollingBack && lastStable) ||
              objectValue(js.extra, "savepointInfo").value("triggerType", "") == "UPGRADE")) {
    // (A stop-with-savepoint in flight ends the job whatever the spec says now: finish the cycle.)
    // Stop the running job first, as the new spec's upgradeMode says.
    std::string mode = (rollingBack && lastStable ? *lastStable : desired).value("job", json::object()).value("upgradeMode", "stateless");
    if (redeployNonceChanged(desired, *deployed)) mode = "stateless";  // no savepoint: the state is replaced
    // An unhealthy job (restarting over and over, or not checkpointing) would hardly complete a
    // savepoint: it restarts from its latest checkpoint.
    const bool specChanged = upgradeRelevant(desired) != upgradeRelevant(*deployed);
    if (restartUnhealthy && mode == "savepoint" && !specChanged) mode = "last-state";
    if (recon.state != "UPGRADING" && !rollingBack) {
      recon.state = "UPGRADING";
      recon.reconciliationTimestamp = nowMs();  // when the stop began (bounds a cancel)
      status.lifecycleState = jobRunning(desired) ? "UPGRADING" : status.lifecycleState;
      std::string why = fmt::format("Spec changed: upgrading the job ({} mode)", mode);
      const char* reason = "SpecChanged";
      if (!jobRunning(desired)) {
        why = fmt::format("Suspending the job ({} mode)", mode);
      } else if (restartFailed) {
        why = fmt::format("The job failed: restarting it ({} mode, kubernetes.operator.job.restart.failed)", mode);
        reason = "RestartFailedJob";
      } else if (restartUnhealthy && !specChanged) {
        why = fmt::format("The job is unhealthy ({}): restarting it ({} mode)", *unhealthy, mode);
        reason = "RestartUnhealthyJob";
      }
      events_.record(fd, restartFailed || restartUnhealthy ? "Warning" : "Normal", reason, why);
    }
    FlinkDeployment running = v.lastReconciled ? *v.lastReconciled : *v.target;
    running.deployJobId = js.extra.value("jobId", "");
    StopOutcome stop = stopJob(fd, running, mode, &status);
    if (!stop.stopped) {
      std::string err;
      if (!(status == persisted) && !persist(&err)) return fail(err);
      return {true, "", stop.requeue};
    }
    json suspendedSpec = *deployed;
    suspendedSpec["job"]["state"] = "suspended";
    suspendedSpec["job"]["upgradeMode"] = stop.usedMode;
    recon.lastReconciledSpec = suspendedSpec.dump();
    recon.reconciliationTimestamp = nowMs();
    if (!jobRunning(desired)) {
      recon.state = "DEPLOYED";
      status.lifecycleState = "SUSPENDED";
      js.state = "SUSPENDED";
    }
    status.error.reset();
    std::string err;
    if (!persist(&err)) return fail(err);
    // One step per reconcile: the next one sees the Deployments gone (informers caught up).
    return {true, "", std::chrono::milliseconds(500)};
  }

  if (!jobRunning(*deployed) && jobRunning(desired)) {
    // Resume (after a suspend or the stop of an upgrade) once the old pods are gone, as the
    // job was stopped: from its savepoint, from its own checkpoints (same job ID), or afresh.
    FlinkDeployment stopped = v.lastReconciled ? *v.lastReconciled : *v.target;
    // The stop is recorded (lastReconciledSpec suspended): now the cluster goes.
    std::string usedBy = deployed->value("job", json::object()).value("upgradeMode", "stateless");
    bool deleted = false;
    if (Status s = deleteClusterDeployments(fd, stopped, "the job stopped (" + usedBy + ")", &deleted); !s.ok()) {
      return fail(s.message());
    }
    if (deleted || clusterPodsExist(stopped)) {
      std::string err;
      if (!(status == persisted) && !persist(&err)) return fail(err);
      return {true, "", std::chrono::milliseconds(1000)};
    }
    std::string usedMode = deployed->value("job", json::object()).value("upgradeMode", "stateless");
    std::string jobId = js.extra.value("jobId", "");
    std::optional<std::string> restore;
    json lastSavepoint = objectValue(js.extra, "savepointInfo").value("lastSavepoint", json::object());
    std::string why;
    if (redeployNonceChanged(desired, *deployed) && desired.value("job", json::object()).value("initialSavepointPath", json()).is_string()) {
      // savepointRedeployNonce: from initialSavepointPath, whatever the job's own state.
      restore = desired["job"]["initialSavepointPath"].get<std::string>();
      jobId = randomId();
      why = "Redeploying the job from initialSavepointPath " + *restore + " (savepointRedeployNonce)";
    } else if (usedMode == "savepoint" && lastSavepoint.is_object() && lastSavepoint.contains("location")) {
      restore = lastSavepoint["location"].get<std::string>();
      jobId = randomId();
      why = "Starting the job from savepoint " + *restore;
    } else if (usedMode == "last-state" && !jobId.empty()) {
      if (js.extra.value("upgradeSavepointPath", json()).is_string()) restore = js.extra["upgradeSavepointPath"].get<std::string>();
      why = "Starting the job from its last state (job " + jobId + ", its latest checkpoint)";
    } else {
      jobId = randomId();
      why = "Starting the job without state (stateless)";
    }
    if (rollingBack) why = "Rolling back to the last stable spec. " + why;
    if (auto r = deploy(desired, jobId, restore, why)) return *r;
  } else if (!jobRunning(*deployed) && !jobRunning(desired)) {
    status.lifecycleState = "SUSPENDED";
    js.state = "SUSPENDED";
  } else if (jobRunning(*deployed) && desired.dump() != recon.lastReconciledSpec.value_or("")) {
    // Only fields that need no new cluster changed (upgradeMode, a nonce): record them.
    recon.lastReconciledSpec = desired.dump();
    deployed = desired;
  } else if (jobRunning(*deployed) && v.lastReconciled && shouldRollBack(*v.lastReconciled, status, lastStable, *deployed)) {
    recon.state = "ROLLING_BACK";
    recon.reconciliationTimestamp = nowMs();
    status.lifecycleState = "ROLLING_BACK";
    status.error = fmt::format(
        "The upgraded job did not become stable within kubernetes.operator.deployment.readiness.timeout ({} ms): "
        "rolling back to the last stable spec",
        durationOptionMs(*v.lastReconciled, "kubernetes.operator.deployment.readiness.timeout"));
    events_.record(fd, "Warning", "Rollback", *status.error);
    std::string err;
    if (!persist(&err)) return fail(err);
    return {true, "", std::chrono::milliseconds(200)};
  }

  // The cluster as recorded: the deployed spec (or, rolled back, the last stable one) with its
  // job ID and restore path.
  json deployedObj = fd;
  deployedObj["spec"] = recon.state == "ROLLED_BACK" && lastStable ? *lastStable : *deployed;
  auto target = parseObject(deployedObj);
  if (!target.ok()) return fail("the last reconciled spec does not parse: " + target.status().message());
  target->uid = fd["metadata"].value("uid", "");
  if (js.extra.value("jobId", "").empty()) {
    js.extra["jobId"] = randomId();  // a status of an older operator: recorded before it is used
    std::string err;
    if (!persist(&err)) return fail(err);
  }
  target->deployJobId = js.extra.value("jobId", "");
  if (js.extra.value("upgradeSavepointPath", json()).is_string()) {
    target->deployRestorePath = js.extra["upgradeSavepointPath"].get<std::string>();
  }
  bool rollbackWatch = jobRunning(*deployed) && recon.state == "DEPLOYED" && status.lifecycleState != "STABLE" &&
                       lastStable && v.lastReconciled &&
                       flag(*v.lastReconciled, *configFor(*v.lastReconciled), "kubernetes.operator.deployment.rollback.enabled", false) &&
                       upgradeRelevant(*lastStable) != upgradeRelevant(*deployed);
  int64_t rollbackDueMs = 0;
  if (rollbackWatch) {
    int64_t timeout = durationOptionMs(*v.lastReconciled, "kubernetes.operator.deployment.readiness.timeout");
    if (timeout <= 0) timeout = 5 * 60 * 1000;
    rollbackDueMs = std::max<int64_t>(0, recon.reconciliationTimestamp.value_or(0) + timeout - nowMs());
  }
  ReconcileResult result = applyAndObserve(fd, *target, v.error.has_value(), status, persisted);
  if (rollbackWatch && result.ok) {
    // Come back when the rollback would be due, not only at the next resync.
    auto due = std::chrono::milliseconds(rollbackDueMs + 100);
    if (!result.requeueAfter || *result.requeueAfter > due) result.requeueAfter = due;
  }
  return result;
}

}  // namespace flink::k8s
