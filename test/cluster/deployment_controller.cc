#include "deployment_controller.h"

#include <algorithm>

#include "flink/common/log.h"

namespace ktc {

namespace {

using flink::k8s::types::kDeployment;
constexpr const char* kHashLabel = "pod-template-hash";
constexpr const char* kRevision = "deployment.kubernetes.io/revision";

long long revisionOf(const json& rs) {
  std::string r = rs["metadata"].value("annotations", json::object()).value(kRevision, "");
  try {
    return r.empty() ? 0 : std::stoll(r);
  } catch (const std::exception&) {
    return 0;
  }
}

long long specReplicas(const json& o) { return o.value("/spec/replicas"_json_pointer, 1LL); }
long long statusCount(const json& o, const char* field) {
  return o.value("status", json::object()).value(field, 0LL);
}

// An int-or-string of a RollingUpdate scaled against total (GetScaledValueFromIntOrPercent).
long long scaledValue(const json& v, long long total, bool roundUp) {
  if (v.is_number_integer()) return v.get<long long>();
  if (!v.is_string()) return 0;
  std::string text = v.get<std::string>();
  if (text.empty() || text.back() != '%') {
    try {
      return std::stoll(text);
    } catch (const std::exception&) {
      return 0;
    }
  }
  long long percent = 0;
  try {
    percent = std::stoll(text.substr(0, text.size() - 1));
  } catch (const std::exception&) {
    return 0;
  }
  return roundUp ? (percent * total + 99) / 100 : percent * total / 100;
}

}  // namespace

std::pair<long long, long long> resolveFenceposts(const json& rollingUpdate, long long replicas) {
  const json ru = rollingUpdate.is_object() ? rollingUpdate : json::object();
  long long surge = std::max(0LL, scaledValue(ru.value("maxSurge", json("25%")), replicas, true));
  long long unavailable = std::max(0LL, scaledValue(ru.value("maxUnavailable", json("25%")), replicas, false));
  if (surge == 0 && unavailable == 0) unavailable = 1;
  return {surge, std::min(unavailable, std::max(0LL, replicas))};
}

long long newReplicaSetTarget(long long replicas, long long maxSurge, long long otherTotal, long long newCurrent) {
  if (newCurrent >= replicas) return replicas;  // at or above the goal: straight to it
  long long room = replicas + maxSurge - (otherTotal + newCurrent);
  if (room <= 0) return newCurrent;
  return newCurrent + std::min(room, replicas - newCurrent);
}

std::string templateHash(const json& podTemplate) {
  // FNV-1a (64 bit) of the canonical JSON (nlohmann sorts object keys).
  unsigned long long h = 14695981039346656037ULL;
  for (unsigned char c : podTemplate.dump()) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return safeEncode(h, 10);
}

DeploymentReconciler::DeploymentReconciler(std::shared_ptr<KubeApi> api, Cache deployments, Cache replicaSets, Cache pods)
    : api_(std::move(api)),
      deployments_(std::move(deployments)),
      replicaSets_(std::move(replicaSets)),
      pods_(std::move(pods)) {}

std::optional<std::string> DeploymentReconciler::deploymentOfPod(const json& pod) const {
  auto rsKey = controllerKey(pod, "ReplicaSet");
  if (!rsKey) return std::nullopt;
  std::string ns = pod["metadata"].value("namespace", "");
  auto rs = replicaSets_.get(ns, rsKey->substr(ns.size() + 1));
  return rs ? controllerKey(*rs, "Deployment") : std::nullopt;
}

std::optional<std::string> DeploymentReconciler::scale(const json& rs, long long replicas) {
  if (specReplicas(rs) == replicas) return std::nullopt;
  const json& m = rs["metadata"];
  std::string path = kReplicaSet.objectPath(m.value("namespace", ""), m.value("name", ""));
  ApiResponse r = api_->patch(path, {{"spec", {{"replicas", replicas}}}});
  if (!r.ok()) return describeFailure("PATCH " + path, r);
  flink::log::info("scaled replicaset {}/{} to {}", m.value("namespace", ""), m.value("name", ""), replicas);
  return std::nullopt;
}

std::optional<std::string> DeploymentReconciler::createReplicaSet(const json& d, const std::string& hash, long long replicas,
                                                                  long long revision) {
  const json& dm = d["metadata"];
  std::string ns = dm.value("namespace", ""), name = dm.value("name", "") + "-" + hash;
  json tmpl = d.value("/spec/template"_json_pointer, json::object());
  tmpl["metadata"]["labels"][kHashLabel] = hash;
  json selector = d.value("/spec/selector"_json_pointer, json::object());
  selector["matchLabels"][kHashLabel] = hash;
  json rs = {{"apiVersion", "apps/v1"},
             {"kind", "ReplicaSet"},
             {"metadata",
              {{"name", name},
               {"namespace", ns},
               {"labels", tmpl["metadata"]["labels"]},
               {"annotations", {{kRevision, std::to_string(revision)}}},
               {"ownerReferences", {controllerRef(kDeployment, d)}}}},
             {"spec", {{"replicas", replicas}, {"selector", selector}, {"template", tmpl}}}};
  if (d.contains("/spec/minReadySeconds"_json_pointer)) rs["spec"]["minReadySeconds"] = d["spec"]["minReadySeconds"];
  ApiResponse r = api_->post(kReplicaSet.collectionPath(ns), rs);
  // 409: created by an earlier reconcile the cache has not seen yet; the next one finds it.
  if (!r.ok() && !r.conflict()) return describeFailure("POST replicaset " + ns + "/" + name, r);
  if (r.ok()) flink::log::info("deployment {}/{}: created replicaset {} ({} replicas)", ns, dm.value("name", ""), name, replicas);
  return std::nullopt;
}

bool DeploymentReconciler::podsGone(const std::string& ns, const std::vector<json>& replicaSets) const {
  for (const auto& rs : replicaSets) {
    if (specReplicas(rs) != 0 || statusCount(rs, "replicas") != 0) return false;
  }
  for (const auto& pod : pods_.list(ns)) {
    if (!isPodActive(pod)) continue;
    for (const auto& rs : replicaSets) {
      if (isControlledBy(pod, rs["metadata"].value("uid", ""))) return false;
    }
  }
  return true;
}

// rolloutRolling of the real controller: scale the new ReplicaSet up within maxSurge, else scale
// old ones down within maxUnavailable (unhealthy pods first), one change per reconcile.
bool DeploymentReconciler::rollingStep(const json& d, const std::optional<json>& newRs, std::vector<json> old,
                                       const std::string& hash, long long revision, std::optional<std::string>& error) {
  const long long replicas = specReplicas(d);
  auto [maxSurge, maxUnavailable] = resolveFenceposts(d.value("/spec/strategy/rollingUpdate"_json_pointer, json::object()), replicas);
  long long oldTotal = 0, oldAvailable = 0;
  for (const auto& rs : old) {
    oldTotal += specReplicas(rs);
    oldAvailable += statusCount(rs, "availableReplicas");
  }
  long long newCurrent = newRs ? specReplicas(*newRs) : 0;
  long long target = newReplicaSetTarget(replicas, maxSurge, oldTotal, newCurrent);
  if (!newRs) {
    error = createReplicaSet(d, hash, target, revision);
    return true;
  }
  if (target != newCurrent) {
    error = scale(*newRs, target);
    return true;
  }
  if (oldTotal == 0) return false;
  // Scale old ReplicaSets down as far as availability allows.
  const long long minAvailable = replicas - maxUnavailable;
  const long long newUnavailable = newCurrent - statusCount(*newRs, "availableReplicas");
  long long maxScaledDown = oldTotal + newCurrent - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  std::sort(old.begin(), old.end(), [](const json& a, const json& b) { return revisionOf(a) < revisionOf(b); });
  bool changed = false;
  long long cleaned = 0;  // unavailable old pods removed first: they do not count for availability
  for (auto& rs : old) {
    long long want = specReplicas(rs), unhealthy = want - statusCount(rs, "availableReplicas");
    if (want == 0 || unhealthy <= 0 || cleaned >= maxScaledDown) continue;
    long long down = std::min(maxScaledDown - cleaned, unhealthy);
    if (auto e = scale(rs, want - down); e && !error) error = e;
    rs["spec"]["replicas"] = want - down;
    cleaned += down;
    changed = true;
  }
  long long available = oldAvailable + statusCount(*newRs, "availableReplicas");
  long long budget = available - minAvailable;
  for (const auto& rs : old) {
    if (budget <= 0) break;
    long long want = specReplicas(rs);
    if (want == 0) continue;
    long long down = std::min(want, budget);
    if (auto e = scale(rs, want - down); e && !error) error = e;
    budget -= down;
    changed = true;
  }
  return changed;
}

Reconciler::Result DeploymentReconciler::reconcile(const std::string& ns, const std::string& name) {
  auto d = deployments_.get(ns, name);
  if (!d || (*d)["metadata"].contains("deletionTimestamp")) return {};
  std::string uid = (*d)["metadata"].value("uid", "");
  std::string hash = templateHash(d->value("/spec/template"_json_pointer, json::object()));
  std::string newName = name + "-" + hash;
  long long replicas = specReplicas(*d);

  std::optional<json> newRs;
  std::vector<json> old;
  for (auto& rs : replicaSets_.list(ns)) {
    if (!isControlledBy(rs, uid)) continue;
    if (rs["metadata"].value("name", "") == newName) {
      newRs = std::move(rs);
    } else {
      old.push_back(std::move(rs));
    }
  }
  if (!newRs) {
    if (auto foreign = replicaSets_.get(ns, newName)) {
      return {false, "replicaset " + ns + "/" + newName + " exists and is not controlled by deployment " + name, std::nullopt};
    }
  }
  long long maxOldRevision = 0;
  for (const auto& rs : old) maxOldRevision = std::max(maxOldRevision, revisionOf(rs));

  std::optional<std::string> error;
  auto step = [&](std::optional<std::string> e) {
    if (!error) error = std::move(e);
  };
  bool recreate = d->value("/spec/strategy/type"_json_pointer, "RollingUpdate") == "Recreate";
  if (recreate) {
    for (const auto& rs : old) step(scale(rs, 0));
    if (podsGone(ns, old)) {
      if (!newRs) {
        step(createReplicaSet(*d, hash, replicas, maxOldRevision + 1));
      } else {
        step(scale(*newRs, replicas));
      }
    }
  } else {
    rollingStep(*d, newRs, old, hash, maxOldRevision + 1, error);
  }
  if (newRs && revisionOf(*newRs) <= maxOldRevision) {  // an old template back again: it is the newest revision now
    ApiResponse r = api_->patch(kReplicaSet.objectPath(ns, newName),
                                {{"metadata", {{"annotations", {{kRevision, std::to_string(maxOldRevision + 1)}}}}}});
    if (!r.ok()) step(describeFailure("PATCH replicaset " + ns + "/" + newName, r));
  }
  // Old ReplicaSets beyond revisionHistoryLimit, fully scaled down: the oldest go.
  long long limit = d->value("/spec/revisionHistoryLimit"_json_pointer, 10LL);
  std::sort(old.begin(), old.end(), [](const json& a, const json& b) { return revisionOf(a) < revisionOf(b); });
  for (size_t i = 0; i + static_cast<size_t>(std::max(0LL, limit)) < old.size(); ++i) {
    if (specReplicas(old[i]) != 0 || statusCount(old[i], "replicas") != 0) continue;
    std::string rsName = old[i]["metadata"].value("name", "");
    ApiResponse r = api_->del(kReplicaSet.objectPath(ns, rsName));
    if (!r.ok() && !r.notFound()) step(describeFailure("DELETE replicaset " + ns + "/" + rsName, r));
  }

  // Status, from the ReplicaSets as the cache has them (their changes trigger a new reconcile).
  long long total = 0, ready = 0, available = 0, specTotal = 0;
  std::vector<json> all = old;
  if (newRs) all.push_back(*newRs);
  for (const auto& rs : all) {
    total += statusCount(rs, "replicas");
    ready += statusCount(rs, "readyReplicas");
    available += statusCount(rs, "availableReplicas");
    specTotal += specReplicas(rs);
  }
  long long updated = newRs ? statusCount(*newRs, "replicas") : 0;
  json status = d->value("status", json::object());
  setCount(status, "observedGeneration", (*d)["metadata"].value("generation", 0LL));
  setCount(status, "replicas", total);
  setCount(status, "updatedReplicas", updated);
  setCount(status, "readyReplicas", ready);
  setCount(status, "availableReplicas", available);
  setCount(status, "unavailableReplicas", std::max(0LL, std::max(specTotal, replicas) - available));
  json conditions = status.value("conditions", json::array());
  conditions = setCondition(conditions, available >= replicas
                                            ? json{{"type", "Available"}, {"status", "True"}, {"reason", "MinimumReplicasAvailable"},
                                                   {"message", "Deployment has minimum availability."}}
                                            : json{{"type", "Available"}, {"status", "False"}, {"reason", "MinimumReplicasUnavailable"},
                                                   {"message", "Deployment does not have minimum availability."}});
  bool complete = newRs && updated == replicas && total == replicas && available >= replicas;
  conditions = setCondition(conditions, complete ? json{{"type", "Progressing"}, {"status", "True"}, {"reason", "NewReplicaSetAvailable"},
                                                        {"message", "ReplicaSet \"" + newName + "\" has successfully progressed."}}
                                                 : json{{"type", "Progressing"}, {"status", "True"}, {"reason", "ReplicaSetUpdated"},
                                                        {"message", "ReplicaSet \"" + newName + "\" is progressing."}});
  status["conditions"] = conditions;
  step(writeStatus(*api_, kDeployment, *d, status));
  return resultOf(error);
}

}  // namespace ktc
