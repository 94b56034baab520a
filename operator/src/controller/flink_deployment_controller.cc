#include "controller/flink_deployment_controller.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <ctime>

#include "flink/common/log.h"
#include "flink/common/ids.h"

namespace flink::k8s {

using nlohmann::json;

namespace {

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t nowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// True when every field of `want` is present with an equal value in `have` (objects compare
// recursively; arrays and scalars compare whole). Fields the server or others add are ignored.
bool contains(const json& have, const json& want) {
  if (want.is_object()) {
    if (!have.is_object()) return false;
    for (const auto& [k, v] : want.items()) {
      auto it = have.find(k);
      if (it == have.end()) {
        if (v.is_null()) continue;
        return false;
      }
      if (!contains(*it, v)) return false;
    }
    return true;
  }
  if (want.is_array()) {
    if (!have.is_array() || have.size() != want.size()) return false;
    for (size_t i = 0; i < want.size(); ++i) {
      if (!contains(have[i], want[i])) return false;
    }
    return true;
  }
  if (want.is_number() && have.is_number()) return want.get<double>() == have.get<double>();
  return have == want;
}

Result<FlinkDeployment> parseObject(const json& obj) {
  YAML::Node node;
  try {
    node = YAML::Load(obj.dump());
  } catch (const YAML::Exception& e) {
    return Status::Error(e.what());
  }
  std::string source = "FlinkDeployment " + obj["metadata"].value("namespace", "") + "/" + obj["metadata"].value("name", "");
  return parseFlinkDeployment(node, source);
}

}  // namespace

FlinkDeploymentController::FlinkDeploymentController(std::shared_ptr<KubeClient> client, Informers informers,
                                                     OperatorConfig config)
    : client_(std::move(client)), informers_(informers), config_(std::move(config)) {}

std::optional<std::string> FlinkDeploymentController::ownerKey(const json& child) {
  const json& meta = child.value("metadata", json::object());
  for (const auto& ref : meta.value("ownerReferences", json::array())) {
    if (ref.value("kind", "") == "FlinkDeployment" && ref.value("apiVersion", "").rfind("flink.apache.org/", 0) == 0) {
      return meta.value("namespace", "") + "/" + ref.value("name", "");
    }
  }
  return std::nullopt;
}

std::map<std::string, int> FlinkDeploymentController::lifecycleStates() const {
  std::map<std::string, int> out;
  for (const auto& fd : informers_.flinkDeployments->list()) {
    std::string s = fd.value("status", json::object()).value("lifecycleState", "");
    out[s.empty() ? "CREATED" : s]++;
  }
  return out;
}

void FlinkDeploymentController::event(const json& fd, const std::string& type, const std::string& reason,
                                      const std::string& message) {
  const json& meta = fd["metadata"];
  std::string ns = meta.value("namespace", "default");
  std::string key = ns + "/" + meta.value("name", "") + "/" + reason + "/" + message;
  std::string now = nowRfc3339();
  std::string name;
  int count = 1;
  {
    std::lock_guard<std::mutex> lock(eventsMu_);
    auto it = events_.find(key);
    if (it != events_.end()) {
      name = it->second.first;
      count = ++it->second.second;
    } else {
      name = meta.value("name", "") + "." + randomId().substr(0, 16);
      events_[key] = {name, 1};
    }
  }
  if (count > 1) {
    json patch = {{"count", count}, {"lastTimestamp", now}};
    if (client_->patch(types::kEvent.objectPath(ns, name), patch).ok()) return;
  }
  json ev = {{"apiVersion", "v1"},
             {"kind", "Event"},
             {"metadata", {{"name", name}, {"namespace", ns}}},
             {"involvedObject",
              {{"apiVersion", "flink.apache.org/v1beta1"},
               {"kind", "FlinkDeployment"},
               {"name", meta.value("name", "")},
               {"namespace", ns},
               {"uid", meta.value("uid", "")},
               {"resourceVersion", meta.value("resourceVersion", "")}}},
             {"reason", reason},
             {"message", message},
             {"type", type},
             {"count", count},
             {"firstTimestamp", now},
             {"lastTimestamp", now},
             {"source", {{"component", "flink-kubernetes-operator"}}},
             {"reportingComponent", "flink-kubernetes-operator"}};
  auto r = client_->post(types::kEvent.collectionPath(ns), ev);
  if (!r.ok()) log::warn("cannot record event {} for {}: {}", reason, meta.value("name", ""), r.error);
}

Status FlinkDeploymentController::applyChild(const json& fd, const json& desired, bool* changed) {
  *changed = false;
  const std::string kind = desired.value("kind", "");
  const ResourceType& type = kind == "Deployment" ? types::kDeployment
                             : kind == "Service"  ? types::kService
                                                  : types::kConfigMap;
  Informer* inf = kind == "Deployment" ? informers_.deployments
                  : kind == "Service"  ? informers_.services
                                       : informers_.configMaps;
  std::string ns = desired["metadata"].value("namespace", "default");
  std::string name = desired["metadata"].value("name", "");
  auto current = inf->get(ns, name);
  if (!current) {
    ApiResponse r = client_->post(type.collectionPath(ns), desired);
    if (r.ok()) {
      *changed = true;
      event(fd, "Normal", "Created", fmt::format("Created {} {}", kind, name));
      return Status::Ok();
    }
    if (!r.conflict()) return Status::Error(fmt::format("creating {} {}: {}", kind, name, r.error));
    current = client_->get(type.objectPath(ns, name)).body;  // created meanwhile: compare with it
  }
  json want = desired;
  want["metadata"].erase("namespace");
  want["metadata"].erase("name");
  if (contains(*current, want)) return Status::Ok();
  // Merge patch: sets every field we own, keeps what the server and others added
  // (a Service's clusterIP, annotations); lists we own are replaced whole.
  ApiResponse r = client_->patch(type.objectPath(ns, name), want);
  if (!r.ok()) return Status::Error(fmt::format("updating {} {}: {}", kind, name, r.error));
  *changed = true;
  event(fd, "Normal", "Updated", fmt::format("Updated {} {} to the desired state", kind, name));
  return Status::Ok();
}

ApiResponse FlinkDeploymentController::writeStatus(const json& fd, const json& status) {
  json obj = fd;
  obj["status"] = status;
  const json& meta = fd["metadata"];
  return client_->put(types::kFlinkDeployment.objectPath(meta.value("namespace", ""), meta.value("name", "")) + "/status",
                      obj);
}

ReconcileResult FlinkDeploymentController::reconcile(const std::string& ns, const std::string& name) {
  auto obj = informers_.flinkDeployments->get(ns, name);
  if (!obj) return {};  // deleted: the garbage collector removes the children
  const json& fdObj = *obj;
  if (fdObj["metadata"].contains("deletionTimestamp")) return {};
  json status = fdObj.value("status", json::object());
  json oldStatus = status;
  const json labels = fdObj["metadata"].value("labels", json::object());
  if (labels.value("flink.apache.org/canary", "") == "true") {
    // Canary resources (as in the Apache operator) only prove that reconciliation is alive:
    // nothing is deployed; the status records the reconcile.
    status["observedGeneration"] = fdObj["metadata"].value("generation", int64_t{0});
    status["reconciliationStatus"] = {{"reconciliationTimestamp", nowMillis()}, {"state", "DEPLOYED"}};
    ApiResponse r = writeStatus(fdObj, status);
    if (!r.ok() && !r.conflict()) return {false, "writing canary status: " + r.error, std::nullopt};
    return {true, "", std::chrono::milliseconds(60000)};
  }
  json recon = status.value("reconciliationStatus", json::object());
  int64_t generation = fdObj["metadata"].value("generation", int64_t{0});

  // Observe + validate. The last valid spec is what was last reconciled.
  std::optional<FlinkDeployment> lastValid;
  if (recon.contains("lastReconciledSpec") && recon["lastReconciledSpec"].is_string()) {
    json last = fdObj;
    last["spec"] = json::parse(recon["lastReconciledSpec"].get<std::string>(), nullptr, false);
    if (last["spec"].is_object()) {
      auto parsed = parseObject(last);
      if (parsed.ok()) lastValid = std::move(*parsed);
    }
  }
  auto parsed = parseObject(fdObj);
  Status valid = parsed.ok() ? validateFlinkDeployment(*parsed, lastValid ? &*lastValid : nullptr) : parsed.status();
  std::optional<FlinkDeployment> target;
  bool specChanged = false;
  if (valid.ok()) {
    target = std::move(*parsed);
    target->uid = fdObj["metadata"].value("uid", "");
    std::string spec = fdObj["spec"].dump();
    specChanged = recon.value("lastReconciledSpec", "") != spec;
    status.erase("error");
    if (specChanged) {
      bool first = !recon.contains("lastReconciledSpec");
      recon["lastReconciledSpec"] = spec;
      recon["state"] = first ? "DEPLOYED" : "UPGRADING";
      recon["reconciliationTimestamp"] = nowMillis();
      status["lifecycleState"] = first ? "DEPLOYED" : "UPGRADING";
    }
  } else {
    std::string message = valid.message();
    if (status.value("error", std::string()) != message) event(fdObj, "Warning", "ValidationError", message);
    status["error"] = message;
    if (lastValid) {
      target = std::move(*lastValid);
      target->uid = fdObj["metadata"].value("uid", "");
    } else {
      status["lifecycleState"] = "FAILED";
    }
  }
  status["reconciliationStatus"] = recon;
  status["observedGeneration"] = generation;

  // Status is the write-ahead log: record the intent before touching the cluster.
  if (status != oldStatus) {
    ApiResponse r = writeStatus(fdObj, status);
    if (r.conflict()) return {false, "status update conflict (the resource changed); retrying", std::nullopt};
    if (!r.ok()) return {false, "writing status: " + r.error, std::nullopt};
    if (specChanged) {
      event(fdObj, "Normal", "SpecChanged",
            recon.value("state", "") == "DEPLOYED" ? "Deploying the FlinkDeployment" : "Spec changed: updating the cluster");
    }
    oldStatus = status;
    auto fresh = informers_.flinkDeployments->get(ns, name);
    (void)fresh;
  }
  if (!target) return {};  // nothing valid to deploy yet: wait for a spec change

  // Act: drive the children to the desired state.
  bool anyChanged = false;
  for (const json& child : desiredResources(*target, config_)) {
    bool changed = false;
    Status s = applyChild(fdObj, child, &changed);
    if (!s.ok()) {
      event(fdObj, "Warning", "ReconcileError", s.message());
      return {false, s.message(), std::nullopt};
    }
    anyChanged = anyChanged || changed;
  }

  // Observe the JobManager Deployment for the status.
  auto jm = informers_.deployments->get(ns, jobManagerName(*target));
  std::string jmStatus = "MISSING";
  if (jm) {
    int want = (*jm)["spec"].value("replicas", 1);
    int ready = (*jm).value("status", json::object()).value("readyReplicas", 0);
    jmStatus = ready >= want && want > 0 ? "READY" : "DEPLOYING";
  }
  json newStatus = status;
  newStatus["jobManagerDeploymentStatus"] = jmStatus;
  newStatus["taskManager"] = {{"replicas", target->taskManagerReplicas()},
                              {"labelSelector", "app=" + target->name + ",component=taskmanager"}};
  if (!status.contains("error")) {
    if (jmStatus == "READY" && newStatus.value("lifecycleState", "") == "UPGRADING") {
      newStatus["lifecycleState"] = "DEPLOYED";
      newStatus["reconciliationStatus"]["state"] = "DEPLOYED";
    }
  }
  if (target->spec.job && target->spec.job->state == "suspended") newStatus["lifecycleState"] = "SUSPENDED";
  if (!newStatus.contains("jobStatus") && target->spec.job) {
    // The job's own state comes from the JobManager's REST API (job lifecycle issue).
    newStatus["jobStatus"] = {{"state", "RECONCILING"}};
  }
  if (newStatus != oldStatus) {
    auto latest = client_->get(types::kFlinkDeployment.objectPath(ns, name));
    if (latest.ok()) {
      json merged = latest.body;
      ApiResponse r = writeStatus(merged, newStatus);
      if (!r.ok() && !r.conflict()) return {false, "writing status: " + r.error, std::nullopt};
    }
  }
  // Level-triggered: look again soon while the JobManager is not ready, and resync otherwise.
  return {true, "", jmStatus == "READY" ? std::chrono::milliseconds(60000) : std::chrono::milliseconds(anyChanged ? 2000 : 5000)};
}

}  // namespace flink::k8s
