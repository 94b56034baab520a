#include "replicaset_controller.h"

#include <algorithm>
#include <tuple>

#include "flink/common/log.h"

namespace ktc {

namespace {

constexpr auto kExpectationsTimeout = std::chrono::seconds(30);

// Whether pod a is deleted before pod b: unscheduled first, then Pending < Unknown < Running,
// not ready before ready, newer before older (kube-controller-manager's ActivePods order, roughly).
bool deleteBefore(const json& a, const json& b) {
  auto rank = [](const json& pod) {
    static const std::map<std::string, int> kPhase = {{"Pending", 0}, {"Unknown", 1}, {"Running", 2}};
    auto p = kPhase.find(pod.value("/status/phase"_json_pointer, "Pending"));
    return std::tuple(pod.value("/spec/nodeName"_json_pointer, "").empty() ? 0 : 1, p == kPhase.end() ? 0 : p->second,
                      isPodReady(pod) ? 1 : 0);
  };
  auto ra = rank(a), rb = rank(b);
  if (ra != rb) return ra < rb;
  auto age = [](const json& pod) {
    return std::pair(pod["metadata"].value("creationTimestamp", ""), pod["metadata"].value("name", ""));
  };
  return age(a) > age(b);
}

bool labelsMatch(const json& pod, const json& labels) {
  const json podLabels = pod["metadata"].value("labels", json::object());
  for (const auto& [k, v] : labels.items()) {
    if (!podLabels.contains(k) || podLabels[k] != v) return false;
  }
  return true;
}

}  // namespace

ReplicaSetReconciler::ReplicaSetReconciler(std::shared_ptr<KubeApi> api, Cache replicaSets, Cache pods, std::string node)
    : api_(std::move(api)), replicaSets_(std::move(replicaSets)), pods_(std::move(pods)), node_(std::move(node)) {}

bool ReplicaSetReconciler::expectationsMet(const std::string& ns, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(key);
  if (it == pending_.end()) return true;
  Pending& p = it->second;
  std::erase_if(p.creates, [&](const std::string& n) { return pods_.get(ns, n).has_value(); });
  std::erase_if(p.deletes, [&](const std::string& n) {
    auto pod = pods_.get(ns, n);
    return !pod || (*pod)["metadata"].contains("deletionTimestamp");
  });
  if ((p.creates.empty() && p.deletes.empty()) || std::chrono::steady_clock::now() - p.since > kExpectationsTimeout) {
    pending_.erase(it);
    return true;
  }
  return false;
}

void ReplicaSetReconciler::expect(const std::string& key, Pending pending) {
  if (pending.creates.empty() && pending.deletes.empty()) return;
  pending.since = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  pending_[key] = std::move(pending);
}

std::optional<std::string> ReplicaSetReconciler::createPod(const json& rs, std::string* created) {
  const json& m = rs["metadata"];
  std::string ns = m.value("namespace", ""), rsName = m.value("name", "");
  json tmpl = rs.value("/spec/template"_json_pointer, json::object());
  json meta = {{"namespace", ns}, {"generateName", rsName + "-"}, {"ownerReferences", {controllerRef(kReplicaSet, rs)}}};
  json tmplMeta = tmpl.value("metadata", json::object());
  for (const char* k : {"labels", "annotations"}) {
    if (tmplMeta.contains(k)) meta[k] = tmplMeta[k];
  }
  json spec = tmpl.value("spec", json::object());
  if (spec.value("nodeName", "").empty()) spec["nodeName"] = node_;
  ApiResponse r;
  for (int attempt = 0; attempt < 5; ++attempt) {  // a name taken already: draw another
    meta["name"] = rsName + "-" + randomSuffix(5);
    r = api_->post(kPod.collectionPath(ns), {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}, {"spec", spec}});
    if (r.ok()) {
      *created = meta["name"];
      flink::log::info("replicaset {}/{}: created pod {}", ns, rsName, *created);
      return std::nullopt;
    }
    if (!r.conflict()) break;
  }
  return describeFailure("POST pod for replicaset " + ns + "/" + rsName, r);
}

Reconciler::Result ReplicaSetReconciler::reconcile(const std::string& ns, const std::string& name) {
  auto rs = replicaSets_.get(ns, name);
  std::string key = ns + "/" + name;
  if (!rs) {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.erase(key);
    return {};
  }
  // Expectations first, the pods after: a pod that reaches the cache in between is counted.
  bool synced = expectationsMet(ns, key);
  std::string uid = (*rs)["metadata"].value("uid", "");
  std::vector<json> active;
  for (auto& pod : pods_.list(ns)) {
    if (isControlledBy(pod, uid) && isPodActive(pod)) active.push_back(std::move(pod));
  }
  bool deleting = (*rs)["metadata"].contains("deletionTimestamp");
  long long want = rs->value("/spec/replicas"_json_pointer, 1LL);
  std::optional<std::string> error;
  if (synced && !deleting) {
    Pending pending;
    auto have = static_cast<long long>(active.size());
    for (long long i = have; i < want && !error; ++i) {
      std::string created;
      error = createPod(*rs, &created);
      if (!error) pending.creates.insert(created);
    }
    if (have > want) {
      std::sort(active.begin(), active.end(), deleteBefore);
      for (long long i = 0; i < have - want && !error; ++i) {
        std::string pod = active[static_cast<size_t>(i)]["metadata"].value("name", "");
        ApiResponse r = api_->del(kPod.objectPath(ns, pod));
        if (r.ok() || r.notFound()) {
          pending.deletes.insert(pod);
          flink::log::info("replicaset {}: deleted surplus pod {}", key, pod);
        } else {
          error = describeFailure("DELETE pod " + ns + "/" + pod, r);
        }
      }
    }
    expect(key, std::move(pending));
  }

  json labels = rs->value("/spec/template/metadata/labels"_json_pointer, json::object());
  long long ready = std::count_if(active.begin(), active.end(), [](const json& p) { return isPodReady(p); });
  long long labeled = std::count_if(active.begin(), active.end(), [&](const json& p) { return labelsMatch(p, labels); });
  json status = rs->value("status", json::object());
  status["replicas"] = static_cast<long long>(active.size());
  setCount(status, "fullyLabeledReplicas", labeled);
  setCount(status, "readyReplicas", ready);
  setCount(status, "availableReplicas", ready);
  setCount(status, "observedGeneration", (*rs)["metadata"].value("generation", 0LL));
  auto statusError = writeStatus(*api_, kReplicaSet, *rs, status);
  Result result = resultOf(error ? error : statusError);
  if (result.ok && !synced) result.requeueAfter = std::chrono::seconds(1);
  return result;
}

}  // namespace ktc
