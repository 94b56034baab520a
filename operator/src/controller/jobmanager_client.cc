#include "controller/jobmanager_client.h"

#include <nlohmann/json.hpp>

namespace flink::k8s {

using nlohmann::json;

namespace {

std::string key(const RestAddress& at) {
  std::string k = at.host + ":" + std::to_string(at.port);
  if (at.tls) k += "#tls" + std::to_string(reinterpret_cast<uintptr_t>(at.tls.get()));
  return k;
}

/// The body of a 2xx answer as JSON, else nullopt.
std::optional<json> okJson(const httplib::Result& r) {
  if (!r || r->status / 100 != 2) return std::nullopt;
  auto body = json::parse(r->body, nullptr, false);
  if (body.is_discarded()) return std::nullopt;
  return body;
}

/// Flink's error answer {"errors": [...]} as one message.
std::string errorOf(const httplib::Result& r) {
  if (!r) return "the JobManager's REST API is not reachable (" + httplib::to_string(r.error()) + ")";
  auto body = json::parse(r->body, nullptr, false);
  std::string msg;
  if (body.is_object() && body.value("errors", json()).is_array()) {
    for (const auto& e : body["errors"]) msg += (msg.empty() ? "" : "; ") + (e.is_string() ? e.get<std::string>() : e.dump());
  }
  return "HTTP " + std::to_string(r->status) + (msg.empty() ? "" : ": " + msg);
}

}  // namespace

std::unique_ptr<httplib::ClientImpl> JobManagerClient::newClient(const RestAddress& at, int connectS, int readWriteS) {
  auto c = tls::newHttpClient(at.host, at.port, at.tls.get());
  c->set_connection_timeout(connectS, 0);
  c->set_read_timeout(readWriteS, 0);
  c->set_write_timeout(readWriteS, 0);
  return c;
}

httplib::ClientImpl& JobManagerClient::client(const RestAddress& at) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string k = key(at);
  auto& c = clients_[k];
  if (!c.client) {
    // A new TLS context (a rotated Secret) replaces the clients of the old one for this address.
    std::string plainKey = at.host + ":" + std::to_string(at.port);
    for (auto it = clients_.begin(); it != clients_.end();) {
      bool stale = it->first != k && (it->first == plainKey || it->first.rfind(plainKey + "#", 0) == 0);
      it = stale ? clients_.erase(it) : std::next(it);
    }
    c.tls = at.tls;
    c.client = newClient(at, 2, 2);
    c.client->set_keep_alive(true);
  }
  return *c.client;
}

void JobManagerClient::forget(const RestAddress& at) {
  std::lock_guard<std::mutex> lock(mu_);
  clients_.erase(key(at));
}

std::optional<ObservedJob> JobManagerClient::observe(const RestAddress& at) {
  httplib::ClientImpl& c = client(at);
  auto body = okJson(c.Get("/jobs/overview"));
  if (!body || !body->is_object() || !body->value("jobs", json()).is_array() || (*body)["jobs"].empty()) {
    return std::nullopt;
  }
  const auto& j = (*body)["jobs"][0];
  if (!j.is_object()) return std::nullopt;
  ObservedJob out;
  out.jobId = j.value("jid", "");
  out.name = j.value("name", "");
  out.state = j.value("state", "");
  out.startTimeMs = j.value("start-time", int64_t{0});
  if (out.jobId.empty() || out.state.empty()) return std::nullopt;
  if (auto config = okJson(c.Get("/config")); config && config->is_object()) {
    out.flinkVersion = config->value("flink-version", "");
    out.flinkRevision = config->value("flink-revision", "");
  }
  return out;
}

std::optional<std::string> JobManagerClient::rootException(const RestAddress& at, const std::string& jobId) {
  auto body = okJson(client(at).Get("/jobs/" + jobId + "/exceptions"));
  if (!body || !body->is_object() || !body->value("root-exception", json()).is_string()) return std::nullopt;
  std::string cause = (*body)["root-exception"].get<std::string>();
  if (cause.empty()) return std::nullopt;
  return cause;
}

std::optional<ObservedCheckpoint> JobManagerClient::latestCheckpoint(const RestAddress& at, const std::string& jobId) {
  auto body = okJson(client(at).Get("/jobs/" + jobId + "/checkpoints"));
  if (!body || !body->is_object()) return std::nullopt;
  json latest = body->value("latest", json::object());
  json completed = latest.is_object() ? latest.value("completed", json()) : json();
  if (!completed.is_object()) return std::nullopt;
  ObservedCheckpoint out;
  out.id = completed.value("id", int64_t{0});
  out.timestampMs = completed.value("trigger_timestamp", int64_t{0});
  out.externalPath = completed.value("external_path", "");
  out.savepoint = completed.value("is_savepoint", false);
  out.type = completed.value("checkpoint_type", out.savepoint ? "SAVEPOINT" : "CHECKPOINT");
  if (out.id <= 0) return std::nullopt;
  return out;
}

std::optional<JobHealthSample> JobManagerClient::healthSample(const RestAddress& at, const std::string& jobId) {
  httplib::ClientImpl& c = client(at);
  auto metrics = okJson(c.Get("/jobs/" + jobId + "/metrics?get=numRestarts"));
  auto checkpoints = okJson(c.Get("/jobs/" + jobId + "/checkpoints"));
  if (!metrics || !metrics->is_array() || !checkpoints || !checkpoints->is_object()) return std::nullopt;
  JobHealthSample out;
  bool found = false;
  for (const auto& m : *metrics) {
    if (!m.is_object() || m.value("id", "") != "numRestarts") continue;
    // Flink's metric values are strings ("3"); numbers are taken too.
    const json& v = m.value("value", json());
    try {
      out.numRestarts = v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>();
      found = true;
    } catch (...) {
      return std::nullopt;
    }
  }
  json counts = checkpoints->value("counts", json::object());
  if (!found || !counts.is_object() || !counts.value("completed", json()).is_number_integer()) return std::nullopt;
  out.completedCheckpoints = counts["completed"].get<int64_t>();
  return out;
}

Status JobManagerClient::cancel(const RestAddress& at, const std::string& jobId) {
  auto r = client(at).Patch("/jobs/" + jobId + "?mode=cancel");
  if (r && r->status / 100 == 2) return Status::Ok();
  return Status::Error("cancel: " + errorOf(r));
}

Status JobManagerClient::triggerSavepoint(const RestAddress& at, const std::string& jobId, const std::string& targetDir,
                                          bool stop, const std::string& triggerId) {
  json body = stop ? json{{"targetDirectory", targetDir}, {"drain", false}, {"triggerId", triggerId}}
                   : json{{"target-directory", targetDir}, {"cancel-job", false}, {"triggerId", triggerId}};
  auto r = client(at).Post("/jobs/" + jobId + (stop ? "/stop" : "/savepoints"), body.dump(), "application/json");
  auto answer = okJson(r);
  if (!answer || !answer->is_object() || !answer->value("request-id", json()).is_string()) {
    return Status::Error((stop ? "stop with savepoint: " : "savepoint: ") + errorOf(r));
  }
  return Status::Ok();
}

Status JobManagerClient::triggerCheckpoint(const RestAddress& at, const std::string& jobId, const std::string& triggerId) {
  auto r = client(at).Post("/jobs/" + jobId + "/checkpoints",
                           json{{"checkpointType", "FULL"}, {"triggerId", triggerId}}.dump(), "application/json");
  auto answer = okJson(r);
  if (!answer || !answer->is_object() || !answer->value("request-id", json()).is_string()) {
    return Status::Error("checkpoint: " + errorOf(r));
  }
  return Status::Ok();
}


Status JobManagerClient::disposeSavepoint(const RestAddress& at, const std::string& path) {
  httplib::ClientImpl& c = client(at);
  auto r = c.Post("/savepoint-disposal", json{{"savepoint-path", path}}.dump(), "application/json");
  auto answer = okJson(r);
  if (!answer || !answer->is_object() || !answer->value("request-id", json()).is_string()) {
    return Status::Error("savepoint disposal: " + errorOf(r));
  }
  auto st = c.Get("/savepoint-disposal/" + (*answer)["request-id"].get<std::string>());
  auto body = okJson(st);
  if (!body || !body->is_object()) return Status::Error("savepoint disposal status: " + errorOf(st));
  json cause = body->value("operation", json::object()).value("failure-cause", json());
  if (cause.is_object()) return Status::Error(cause.value("stack-trace", cause.dump()));
  return Status::Ok();
}

Result<SavepointOperationStatus> JobManagerClient::operationStatus(const RestAddress& at, const std::string& jobId,
                                                                   const std::string& triggerId, bool savepoint) {
  const char* what = savepoint ? "savepoint" : "checkpoint";
  auto r = client(at).Get("/jobs/" + jobId + "/" + what + "s/" + triggerId);
  SavepointOperationStatus out;
  if (r && r->status == 404) {
    out.state = SavepointOperationStatus::State::kUnknownTrigger;  // never sent, or the JobManager restarted
    return out;
  }
  auto body = okJson(r);
  if (!body || !body->is_object()) return Status::Error(std::string(what) + " status: " + errorOf(r));
  if (body->value("status", json::object()).value("id", "") != "COMPLETED") return out;
  // Flink's shapes: SavepointInfo {location | failure-cause}, CheckpointInfo {checkpointId | failureCause}.
  json op = body->value("operation", json::object());
  if (savepoint && op.value("location", json()).is_string()) {
    out.state = SavepointOperationStatus::State::kCompleted;
    out.location = op["location"].get<std::string>();
  } else if (!savepoint && op.value("checkpointId", json()).is_number_integer()) {
    out.state = SavepointOperationStatus::State::kCompleted;
    out.checkpointId = op["checkpointId"].get<int64_t>();
  } else {
    out.state = SavepointOperationStatus::State::kFailed;
    json cause = op.value(savepoint ? "failure-cause" : "failureCause", json::object());
    out.failure = cause.is_object() ? cause.value("stack-trace", cause.dump()) : cause.dump();
  }
  return out;
}

Result<std::optional<std::string>> JobManagerClient::jobState(const RestAddress& at, const std::string& jobId) {
  auto r = client(at).Get("/jobs/" + jobId);
  if (r && r->status == 404) return std::optional<std::string>();
  auto body = okJson(r);
  if (!body || !body->is_object() || !body->value("state", json()).is_string()) return Status::Error("job " + jobId + ": " + errorOf(r));
  return std::optional<std::string>((*body)["state"].get<std::string>());
}

Result<std::vector<std::pair<std::string, std::string>>> JobManagerClient::listJars(const RestAddress& at) {
  auto r = client(at).Get("/jars");
  auto body = okJson(r);
  if (!body || !body->is_object()) return Status::Error("listing the JobManager's jars: " + errorOf(r));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : body->value("files", json::array())) {
    if (f.is_object() && f.value("id", json()).is_string()) out.emplace_back(f["id"].get<std::string>(), f.value("name", ""));
  }
  return out;
}

Result<std::string> JobManagerClient::uploadJar(const RestAddress& at, const std::string& fileName, const std::string& bytes) {
  // Uploads are large: a client of its own with a longer timeout than the observation calls.
  auto c = newClient(at, 2, 60);
  httplib::MultipartFormDataItems items = {{"jarfile", bytes, fileName, "application/x-sharedlib"}};
  auto r = c->Post("/jars/upload", items);
  auto body = okJson(r);
  if (!body || !body->is_object() || !body->value("filename", json()).is_string()) {
    return Status::Error("uploading " + fileName + ": " + errorOf(r));
  }
  std::string path = (*body)["filename"];
  return path.substr(path.find_last_of('/') + 1);
}

Result<std::string> JobManagerClient::runJar(const RestAddress& at, const std::string& jarId, const json& body) {
  auto r = client(at).Post("/jars/" + jarId + "/run", body.dump(), "application/json");
  auto answer = okJson(r);
  if (!answer || !answer->is_object() || !answer->value("jobid", json()).is_string()) {
    return Status::Error("running jar " + jarId + ": " + errorOf(r));
  }
  return (*answer)["jobid"].get<std::string>();
}

Status JobManagerClient::deleteJar(const RestAddress& at, const std::string& jarId) {
  auto r = client(at).Delete("/jars/" + jarId);
  if (r && (r->status / 100 == 2 || r->status == 404)) return Status::Ok();
  return Status::Error("deleting jar " + jarId + ": " + errorOf(r));
}

}  // namespace flink::k8s
