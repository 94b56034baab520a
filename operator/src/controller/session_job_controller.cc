#include "controller/session_job_controller.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "controller/finalizers.h"
#include "controller/savepoint_info.h"
#include "flink/common/ids.h"
#include "flink/common/log.h"
#include "flink/common/strings.h"
#include "flink/configuration.h"
#include "webhook/admission.h"

namespace flink::k8s {

using nlohmann::json;

namespace {

bool terminal(const std::string& state) {
  return state == "FINISHED" || state == "CANCELED" || state == "FAILED" || state == "SUSPENDED";
}

std::string str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The spec as recorded in lastReconciledSpec: what decides a redeploy (the savepoint and
// checkpoint nonces only take snapshots, as in the Apache operator).
json deployedPart(json spec) {
  if (spec.contains("job") && spec["job"].is_object()) {
    spec["job"].erase("savepointTriggerNonce");
    spec["job"].erase("checkpointTriggerNonce");
    spec["job"].erase("state");
  }
  return spec;
}

// The bytes of a local://, file:// or plain path, or of an http(s):// URL, at most `limit`.
Result<std::string> fetchArtifact(const std::string& uri, size_t limit) {
  if (uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0) {
    size_t hostEnd = uri.find('/', uri.find("://") + 3);
    std::string base = uri.substr(0, hostEnd), path = hostEnd == std::string::npos ? "/" : uri.substr(hostEnd);
    httplib::Client c(base);
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(60, 0);
    c.set_follow_location(true);
    std::string body;
    bool tooLarge = false;
    auto r = c.Get(path, [&](const char* data, size_t len) {
      if (body.size() + len > limit) {
        tooLarge = true;
        return false;
      }
      body.append(data, len);
      return true;
    });
    if (tooLarge) return Status::Error(fmt::format("spec.job.jarURI {}: larger than {} bytes", uri, limit));
    if (!r) return Status::Error(fmt::format("spec.job.jarURI {}: {}", uri, httplib::to_string(r.error())));
    if (r->status != 200) return Status::Error(fmt::format("spec.job.jarURI {}: HTTP {}", uri, r->status));
    return body;
  }
  std::string path = uri;
  for (const char* scheme : {"local://", "file://"}) {
    if (path.rfind(scheme, 0) == 0) path = path.substr(std::string(scheme).size());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error("spec.job.jarURI " + uri + ": cannot read " + path + " on the operator");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > limit) return Status::Error(fmt::format("spec.job.jarURI {}: larger than {} bytes", uri, limit));
  return ss.str();
}

// savepointHistory trimmed to its newest kHistoryMax entries (the list only: the savepoints stay
// on storage).
constexpr size_t kHistoryMax = 10;
void trimHistory(json& info) {
  json& h = info["savepointHistory"];
  if (h.is_array() && h.size() > kHistoryMax) h.erase(h.begin(), h.begin() + static_cast<long>(h.size() - kHistoryMax));
}

}  // namespace

FlinkSessionJobController::FlinkSessionJobController(std::shared_ptr<KubeApi> client, Informer* sessionJobs,
                                                     Informer* flinkDeployments,
                                                     std::shared_ptr<OperatorConfigStore> configs)
    : client_(client), sessionJobs_(sessionJobs), flinkDeployments_(flinkDeployments), configs_(std::move(configs)),
      events_(std::move(client)) {}

Result<FlinkSessionJobController::Session> FlinkSessionJobController::findSession(const json& job) const {
  std::string ns = job["metadata"].value("namespace", "");
  std::string target = job["spec"].value("deploymentName", "");
  auto fd = flinkDeployments_->get(ns, target);
  if (!fd) return Status::Error("spec.deploymentName: FlinkDeployment " + ns + "/" + target + " (the session cluster) not found");
  auto parsed = FlinkDeploymentController::parseObject(*fd);
  if (!parsed.ok()) return Status::Error("the session cluster " + target + " has an invalid spec: " + parsed.status().message());
  if (parsed->spec.job) return Status::Error("spec.deploymentName: FlinkDeployment " + target + " is an application cluster, not a session cluster");
  json status = fd->value("status", json::object());
  if (!status.is_object() || str(status, "jobManagerDeploymentStatus") != "READY") {
    return Status::Error("the session cluster " + target + " is not ready yet");
  }
  auto config = configs_->forResource(parsed->namespace_, parsed->spec.flinkVersion);
  auto address = FlinkDeploymentController::restAddressOf(*client_, *parsed, *config);
  if (!address) return Status::Error("the JobManager of the session cluster " + target + " is not reachable yet");
  Session s;
  s.address = *address;
  json ownConf = job["spec"].value("flinkConfiguration", json::object());
  if (ownConf.is_object()) s.savepointDir = trim(str(ownConf, "state.savepoints.dir"));
  for (const std::map<std::string, std::string>* conf : {static_cast<const std::map<std::string, std::string>*>(&parsed->spec.flinkConfiguration), &config->defaultConfiguration}) {
    auto it = conf->find("state.savepoints.dir");
    if (s.savepointDir.empty() && it != conf->end()) s.savepointDir = trim(it->second);
  }
  auto it = config->defaultConfiguration.find("kubernetes.operator.observer.progress-check.interval");
  if (it != config->defaultConfiguration.end()) {
    if (auto ms = parseDurationMs(it->second); ms.ok() && *ms > 0) s.observeInterval = std::chrono::milliseconds(*ms);
  }
  return s;
}

Result<std::string> sessionJarId(JobManagerClient& jobs, const RestAddress& at, const std::string& uri,
                                 const std::string& uploadName, size_t maxBytes) {
  auto jars = jobs.listJars(at);
  if (!jars.ok()) return jars.status();
  if (uri.rfind("builtin://", 0) == 0) {
    std::string lib = uri.substr(10);
    for (const auto& [id, name] : *jars) {
      if (id == "builtin_" + lib) return id;
    }
    return Status::Error("spec.job.jarURI " + uri + ": the session cluster's image has no library " + lib);
  }
  for (const auto& [id, name] : *jars) {
    if (name == uploadName) return id;
  }
  auto bytes = fetchArtifact(uri, maxBytes);
  if (!bytes.ok()) return bytes.status();
  return jobs.uploadJar(at, uploadName, *bytes);
}

json sessionRunRequest(const json& spec, const std::string& jobId, const std::string& savepointPath) {
  const json j = spec.value("job", json::object());
  json body = {{"jobId", jobId}};
  if (j.contains("entryClass")) body["entryClass"] = j["entryClass"];
  if (j.contains("args") && j["args"].is_array()) body["programArgsList"] = j["args"];
  if (j.contains("parallelism")) body["parallelism"] = j["parallelism"];
  if (j.value("allowNonRestoredState", false)) body["allowNonRestoredState"] = true;
  if (!savepointPath.empty()) body["savepointPath"] = savepointPath;
  if (spec.contains("flinkConfiguration") && spec["flinkConfiguration"].is_object()) {
    json conf = json::object();
    for (const auto& [k, v] : spec["flinkConfiguration"].items()) conf[k] = v.is_string() ? v.get<std::string>() : v.dump();
    body["flinkConfiguration"] = conf;
  }
  return body;
}

Result<std::string> FlinkSessionJobController::ensureJar(const Session& s, const json& job) {
  std::string uri = job["spec"]["job"].value("jarURI", "");
  std::string uploadName = job["metadata"].value("uid", "") + "-" + uri.substr(uri.find_last_of('/') + 1);
  return sessionJarId(jobs_, s.address, uri, uploadName, kMaxArtifactBytes);
}

Status FlinkSessionJobController::submit(const Session& s, const json& job, const json& status) {
  const json& js = status["jobStatus"];
  std::string jobId = str(js, "jobId");
  auto known = jobs_.jobState(s.address, jobId);
  if (!known.ok()) return known.status();
  if (known->has_value()) return Status::Ok();  // submitted before (a crash after the run)
  auto jar = ensureJar(s, job);
  if (!jar.ok()) return jar.status();
  const json& spec = job["spec"];
  // Restore: the upgrade's savepoint, else (the first deployment) spec.job.initialSavepointPath.
  std::string restore = str(js, "upgradeSavepointPath");
  if (restore.empty() && !status.value("reconciliationStatus", json::object()).contains("lastStableSpec")) {
    restore = str(spec["job"], "initialSavepointPath");
  }
  auto ran = jobs_.runJar(s.address, *jar, sessionRunRequest(spec, jobId, restore));
  if (!ran.ok()) return ran.status();
  events_.record(job, "Normal", "Submit",
                 fmt::format("Submitted job {} to session cluster {}{}", jobId, spec.value("deploymentName", ""),
                             restore.empty() ? "" : " from " + restore));
  return Status::Ok();
}

ReconcileResult FlinkSessionJobController::reconcileDeletion(const json& job) {
  if (!hasFinalizer(job, kFinalizer)) return {};
  const json& meta = job["metadata"];
  json js = job.value("status", json::object()).value("jobStatus", json::object());
  auto session = findSession(job);
  if (session.ok()) {
    std::string jobId = js.is_object() ? str(js, "jobId") : "";
    if (!jobId.empty()) {
      auto state = jobs_.jobState(session->address, jobId);
      if (state.ok() && state->has_value() && !terminal(**state)) {
        if (Status c = jobs_.cancel(session->address, jobId); !c.ok()) {
          return {false, "cancelling job " + jobId + ": " + c.message(), std::chrono::milliseconds(2000)};
        }
        return {true, "", std::chrono::milliseconds(500)};  // look again once it ended
      }
    }
    if (auto jars = jobs_.listJars(session->address); jars.ok()) {
      const std::string prefix = meta.value("uid", "") + "-";
      for (const auto& [id, name] : *jars) {
        if (name.rfind(prefix, 0) == 0) (void)jobs_.deleteJar(session->address, id);
      }
    }
  } else {
    events_.record(job, "Warning", "Cleanup", "The job may still run: " + session.status().message());
  }
  ApiResponse r = setFinalizer(*client_, types::kFlinkSessionJob, job, kFinalizer, false);
  if (!r.ok() && !r.notFound()) return {false, "removing the finalizer: " + r.error, std::nullopt};
  return {};
}

ReconcileResult FlinkSessionJobController::reconcile(const std::string& ns, const std::string& name) {
  auto obj = sessionJobs_->get(ns, name);
  if (!obj) return {};
  if ((*obj)["metadata"].contains("deletionTimestamp")) return reconcileDeletion(*obj);
  if (!hasFinalizer(*obj, kFinalizer)) {
    ApiResponse r = setFinalizer(*client_, types::kFlinkSessionJob, *obj, kFinalizer, true);
    if (!r.ok()) return {false, "adding the finalizer: " + r.error, std::nullopt};
    obj = r.body;
  }
  const json& job = *obj;
  json status = job.value("status", json::object());
  if (!status.is_object()) status = json::object();
  const json written = status;
  auto persist = [&](std::optional<std::chrono::milliseconds> requeue) -> ReconcileResult {
    status["observedGeneration"] = job["metadata"].value("generation", int64_t{0});
    if (status == written) return {true, "", requeue};
    json body = job;
    body["status"] = status;
    ApiResponse r = client_->put(types::kFlinkSessionJob.objectPath(ns, name) + "/status", body);
    if (r.conflict()) return {false, "status update conflict; retrying", std::nullopt};
    if (!r.ok()) return {false, "writing status: " + r.error, std::nullopt};
    return {true, "", requeue};
  };
  auto fail = [&](const std::string& why, const char* reason, std::chrono::milliseconds requeue) {
    if (str(status, "error") != why) events_.record(job, "Warning", reason, why);
    status["error"] = why;
    if (!status.contains("lifecycleState")) status["lifecycleState"] = "CREATED";
    return persist(requeue);
  };

  if (Status v = validateFlinkSessionJob(job); !v.ok()) {
    if (str(status, "error") != v.message()) events_.record(job, "Warning", "ValidationError", v.message());
    status["error"] = v.message();
    if (!status.value("reconciliationStatus", json::object()).contains("lastReconciledSpec")) status["lifecycleState"] = "FAILED";
    return persist(std::nullopt);
  }
  // An owner reference to the session cluster (not a controller one): the job's resource goes
  // with its cluster, which itself waits for its session jobs (block-on-session-jobs).
  if (auto fd = flinkDeployments_->get(ns, job["spec"].value("deploymentName", ""))) {
    std::string uid = (*fd)["metadata"].value("uid", "");
    json refs = job["metadata"].value("ownerReferences", json::array());
    bool owned = false;
    for (const auto& r : refs) owned = owned || r.value("uid", "") == uid;
    if (!owned && !uid.empty()) {
      refs.push_back({{"apiVersion", "flink.apache.org/v1beta1"}, {"kind", "FlinkDeployment"},
                      {"name", (*fd)["metadata"].value("name", "")}, {"uid", uid}, {"blockOwnerDeletion", false}});
      ApiResponse r = client_->patch(types::kFlinkSessionJob.objectPath(ns, name),
                                     {{"metadata", {{"ownerReferences", refs},
                                                    {"resourceVersion", job["metadata"].value("resourceVersion", "")}}}});
      if (!r.ok()) return {false, "adding the owner reference: " + r.error, std::nullopt};
      return {true, "", std::chrono::milliseconds(10)};  // go on with the updated object
    }
  }
  auto session = findSession(job);
  if (!session.ok()) return fail(session.status().message(), "SessionClusterNotReady", std::chrono::milliseconds(5000));

  const json& spec = job["spec"];
  const bool wantRunning = spec["job"].value("state", "running") != "suspended";
  json& recon = status["reconciliationStatus"];
  if (!recon.is_object()) recon = json::object();
  json& js = status["jobStatus"];
  if (!js.is_object()) js = json::object();
  json last = recon.contains("lastReconciledSpec") ? json::parse(str(recon, "lastReconciledSpec"), nullptr, false) : json();
  const bool deployed = last.is_object();
  const bool deployedRunning = deployed && last.value("job", json::object()).value("state", "running") != "suspended";
  const bool changed = deployed && deployedPart(last) != deployedPart(spec);

  // Deploy: record the job id and the spec first; the next rounds submit it.
  auto recordDeploy = [&]() {
    js["jobId"] = randomId();
    js["jobName"] = name;
    js["state"] = "RECONCILING";
    js["updateTime"] = std::to_string(nowMs());
    recon["lastReconciledSpec"] = spec.dump();
    recon["reconciliationTimestamp"] = nowMs();
    recon["state"] = "DEPLOYED";
    status["lifecycleState"] = "DEPLOYED";
    status.erase("error");
    return persist(std::chrono::milliseconds(10));
  };

  if (!deployed || (!deployedRunning && wantRunning)) {
    if (!wantRunning) {  // created suspended: nothing runs
      recon["lastReconciledSpec"] = spec.dump();
      recon["state"] = "DEPLOYED";
      status["lifecycleState"] = "SUSPENDED";
      return persist(std::nullopt);
    }
    if (!deployed) js.erase("upgradeSavepointPath");
    return recordDeploy();
  }
  if (!deployedRunning) {  // suspended and staying so; a changed spec is recorded for the resume
    if (changed) {
      json suspended = spec;
      suspended["job"]["state"] = "suspended";
      recon["lastReconciledSpec"] = suspended.dump();
    }
    return persist(std::nullopt);
  }

  const std::string jobId = str(js, "jobId");
  if (!wantRunning || changed) {
    // Stop the running job as the new spec's upgradeMode says, then record the stop.
    std::string mode = spec["job"].value("upgradeMode", "stateless");
    auto state = jobs_.jobState(session->address, jobId);
    if (!state.ok()) return fail(state.status().message(), "JobManagerUnreachable", std::chrono::milliseconds(2000));
    std::string now = state->value_or("");
    json& sp = js["savepointInfo"];
    if (!sp.is_object()) sp = json::object();
    bool stopped = now.empty() || terminal(now);
    if (str(sp, "triggerType") == "MANUAL") clearTrigger(sp);  // the stop's savepoint replaces it
    std::string trigger = str(sp, "triggerId");
    if (mode != "stateless" && trigger.empty() && now == "RUNNING") {  // recorded first: never sent twice
      sp["triggerId"] = randomId();
      sp["triggerTimestamp"] = nowMs();
      sp["triggerType"] = "UPGRADE";
      return persist(std::chrono::milliseconds(10));
    }
    if (mode != "stateless" && !trigger.empty()) {
      auto op = jobs_.savepointStatus(session->address, jobId, trigger);
      if (!op.ok()) return fail(op.status().message(), "JobManagerUnreachable", std::chrono::milliseconds(2000));
      using State = SavepointOperationStatus::State;
      if (op->state == State::kUnknownTrigger && now == "RUNNING") {
        if (session->savepointDir.empty()) {
          sp.erase("triggerId");
          return fail("upgradeMode " + mode + " needs state.savepoints.dir (spec.flinkConfiguration or the session cluster's)",
                      "SavepointError", std::chrono::milliseconds(10000));
        }
        if (Status t = jobs_.triggerSavepoint(session->address, jobId, session->savepointDir, true, trigger); !t.ok()) {
          sp.erase("triggerId");
          return fail("stop-with-savepoint of job " + jobId + ": " + t.message(), "SavepointError", std::chrono::milliseconds(5000));
        }
        return persist(std::chrono::milliseconds(300));
      }
      if (op->state == State::kInProgress) return persist(std::chrono::milliseconds(300));
      if (op->state == State::kFailed) {
        sp.erase("triggerId");
        return fail("stop-with-savepoint of job " + jobId + " failed: " + truncateUtf8(op->failure, 500), "SavepointError",
                    std::chrono::milliseconds(10000));
      }
      // Completed (the trigger id stays until the job is seen ended, so it is never sent twice).
      if (op->state == State::kCompleted && str(js, "upgradeSavepointPath") != op->location) {
        recordSavepoint(sp, op->location, "UPGRADE", json());
        trimHistory(sp);
        js["upgradeSavepointPath"] = op->location;
        events_.record(job, "Normal", "SavepointCreated", "Stopped job " + jobId + " with savepoint " + op->location);
      }
      if (!stopped) return persist(std::chrono::milliseconds(300));  // the job ends: observed next
    }
    if (!stopped) {
      if (mode != "stateless") {  // not RUNNING (restarting...): no savepoint can be taken yet
        return fail("job " + jobId + " is " + now + ": waiting for it to run again to take the upgrade savepoint",
                    "UpgradeWaiting", std::chrono::milliseconds(2000));
      }
      if (Status c = jobs_.cancel(session->address, jobId); !c.ok()) {
        return fail("cancelling job " + jobId + ": " + c.message(), "JobManagerUnreachable", std::chrono::milliseconds(2000));
      }
      return persist(std::chrono::milliseconds(300));
    }
    clearTrigger(sp);
    if (mode == "stateless") js.erase("upgradeSavepointPath");
    json suspended = spec;
    suspended["job"]["state"] = "suspended";
    recon["lastReconciledSpec"] = suspended.dump();
    recon["state"] = wantRunning ? "UPGRADING" : "DEPLOYED";
    js["state"] = now.empty() ? "CANCELED" : now;
    status["lifecycleState"] = wantRunning ? "UPGRADING" : "SUSPENDED";
    status.erase("error");
    events_.record(job, "Normal", wantRunning ? "SpecChanged" : "Suspended",
                   fmt::format("Job {} stopped ({}){}", jobId, mode, wantRunning ? "; deploying the new spec" : ""));
    return persist(std::chrono::milliseconds(10));
  }

  // Running as recorded: submit it until the JobManager knows it, then observe it.
  auto state = jobs_.jobState(session->address, jobId);
  if (!state.ok()) return fail(state.status().message(), "JobManagerUnreachable", std::chrono::milliseconds(2000));
  if (!state->has_value()) {
    if (str(js, "state") != "RECONCILING") {
      return fail("job " + jobId + " is not known to the session cluster (its JobManager restarted?)", "JobNotFound",
                  std::chrono::milliseconds(10000));
    }
    if (Status s = submit(*session, job, status); !s.ok()) return fail(s.message(), "SubmitError", std::chrono::milliseconds(5000));
    return persist(std::chrono::milliseconds(500));
  }
  std::string now = **state;
  if (str(js, "state") != now) {
    events_.record(job, "Normal", "JobStatusChanged", "Job status changed from " + str(js, "state") + " to " + now);
    js["state"] = now;
    js["updateTime"] = std::to_string(nowMs());
  }
  // savepointTriggerNonce: a savepoint of the running job (not a stop), recorded first under a
  // trigger id; the nonce goes into lastReconciledSpec when triggered, so a failed one is not
  // retried (as the Apache operator).
  json& sp = js["savepointInfo"];
  if (!sp.is_object()) sp = json::object();
  json wantNonce = spec["job"].value("savepointTriggerNonce", json());
  json lastNonce = last.value("job", json::object()).value("savepointTriggerNonce", json());
  if (str(sp, "triggerType") == "MANUAL" && !str(sp, "triggerId").empty()) {
    std::string trigger = str(sp, "triggerId");
    auto op = jobs_.savepointStatus(session->address, jobId, trigger);
    if (!op.ok()) return fail(op.status().message(), "JobManagerUnreachable", std::chrono::milliseconds(2000));
    using State = SavepointOperationStatus::State;
    if (op->state == State::kUnknownTrigger) {
      Status t = now == "RUNNING" ? jobs_.triggerSavepoint(session->address, jobId, session->savepointDir, false, trigger)
                                 : Status::Error("the job is " + now);
      if (!t.ok()) {
        clearTrigger(sp);
        events_.record(job, "Warning", "SavepointError", "Savepoint of job " + jobId + " not taken: " + t.message());
        return persist(std::chrono::milliseconds(1000));
      }
      return persist(std::chrono::milliseconds(300));
    }
    if (op->state == State::kInProgress) return persist(std::chrono::milliseconds(300));
    json nonce = sp.value("triggerNonce", json());
    clearTrigger(sp);
    if (op->state == State::kFailed) {
      events_.record(job, "Warning", "SavepointError", "Savepoint of job " + jobId + " failed: " + truncateUtf8(op->failure, 500));
    } else {
      recordSavepoint(sp, op->location, "MANUAL", nonce);
      trimHistory(sp);
      events_.record(job, "Normal", "SavepointCreated", "Savepoint of job " + jobId + ": " + op->location);
    }
  } else if (!wantNonce.is_null() && wantNonce != lastNonce && now == "RUNNING") {
    if (session->savepointDir.empty()) {
      return fail("spec.job.savepointTriggerNonce needs state.savepoints.dir (spec.flinkConfiguration or the session cluster's)",
                  "SavepointError", std::chrono::milliseconds(10000));
    }
    last["job"]["savepointTriggerNonce"] = wantNonce;
    recon["lastReconciledSpec"] = last.dump();
    sp["triggerId"] = randomId();
    sp["triggerTimestamp"] = nowMs();
    sp["triggerType"] = "MANUAL";
    sp["triggerNonce"] = wantNonce;
    return persist(std::chrono::milliseconds(10));
  }
  if (now == "RUNNING" || now == "FINISHED") {
    status["lifecycleState"] = "STABLE";
    recon["state"] = "DEPLOYED";
    recon["lastStableSpec"] = str(recon, "lastReconciledSpec");
    status.erase("error");
  } else if (now == "FAILED") {
    status["lifecycleState"] = "FAILED";
    status["error"] = truncateUtf8(jobs_.rootException(session->address, jobId).value_or("job " + jobId + " failed"), 2000);
  }
  return persist(terminal(now) ? std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(60000))
                               : std::optional<std::chrono::milliseconds>(now == "RUNNING" ? session->observeInterval
                                                                                             : std::chrono::milliseconds(1000)));
}

}  // namespace flink::k8s
