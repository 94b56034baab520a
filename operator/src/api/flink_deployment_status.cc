#include "api/flink_deployment_status.h"

namespace flink::k8s {
namespace {

using nlohmann::json;

// Moves `key` out of `from` into `out` when it has the type T; otherwise leaves it in `from`.
template <class T>
void take(json& from, const char* key, std::optional<T>* out) {
  auto it = from.find(key);
  if (it == from.end()) return;
  bool fits = false;
  if constexpr (std::is_same_v<T, std::string>) fits = it->is_string();
  if constexpr (std::is_same_v<T, int64_t>) fits = it->is_number_integer();
  if (!fits) return;
  *out = it->template get<T>();
  from.erase(it);
}

template <class T>
void put(json& to, const char* key, const std::optional<T>& v) {
  if (v) to[key] = *v;
}

}  // namespace

FlinkDeploymentStatus FlinkDeploymentStatus::fromJson(const json& status) {
  FlinkDeploymentStatus s;
  if (!status.is_object()) return s;
  json rest = status;
  take(rest, "lifecycleState", &s.lifecycleState);
  take(rest, "error", &s.error);
  take(rest, "observedGeneration", &s.observedGeneration);
  take(rest, "jobManagerDeploymentStatus", &s.jobManagerDeploymentStatus);
  if (auto it = rest.find("reconciliationStatus"); it != rest.end() && it->is_object()) {
    ReconciliationStatus r;
    r.extra = *it;
    take(r.extra, "lastReconciledSpec", &r.lastReconciledSpec);
    take(r.extra, "lastStableSpec", &r.lastStableSpec);
    take(r.extra, "state", &r.state);
    take(r.extra, "reconciliationTimestamp", &r.reconciliationTimestamp);
    s.reconciliationStatus = std::move(r);
    rest.erase(it);
  }
  if (auto it = rest.find("taskManager"); it != rest.end() && it->is_object() && it->size() == 2 &&
                                           it->value("replicas", json()).is_number_integer() &&
                                           it->value("labelSelector", json()).is_string()) {
    s.taskManager = TaskManagerInfo{(*it)["replicas"].get<int>(), (*it)["labelSelector"].get<std::string>()};
    rest.erase(it);
  }
  if (auto it = rest.find("jobStatus"); it != rest.end() && it->is_object()) {
    JobStatusInfo j;
    j.extra = *it;
    take(j.extra, "state", &j.state);
    s.jobStatus = std::move(j);
    rest.erase(it);
  }
  s.extra = std::move(rest);
  return s;
}

json FlinkDeploymentStatus::toJson() const {
  json out = extra.is_object() ? extra : json::object();
  put(out, "lifecycleState", lifecycleState);
  put(out, "error", error);
  put(out, "observedGeneration", observedGeneration);
  put(out, "jobManagerDeploymentStatus", jobManagerDeploymentStatus);
  if (reconciliationStatus) {
    json r = reconciliationStatus->extra.is_object() ? reconciliationStatus->extra : json::object();
    put(r, "lastReconciledSpec", reconciliationStatus->lastReconciledSpec);
    put(r, "lastStableSpec", reconciliationStatus->lastStableSpec);
    put(r, "state", reconciliationStatus->state);
    put(r, "reconciliationTimestamp", reconciliationStatus->reconciliationTimestamp);
    out["reconciliationStatus"] = std::move(r);
  }
  if (taskManager) out["taskManager"] = {{"replicas", taskManager->replicas}, {"labelSelector", taskManager->labelSelector}};
  if (jobStatus) {
    json j = jobStatus->extra.is_object() ? jobStatus->extra : json::object();
    put(j, "state", jobStatus->state);
    out["jobStatus"] = std::move(j);
  }
  return out;
}

}  // namespace flink::k8s
