#include "controller/child_digest.h"

#include <fmt/format.h>

namespace flink::k8s {

using nlohmann::json;

std::string jsonDigest(const json& value) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : value.dump()) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return fmt::format("{:016x}", h);
}

std::string observedDigest(const json& child) {
  if (auto it = child.find("observedDigest"); it != child.end() && it->is_string()) return it->get<std::string>();
  json subject = json::object();
  for (const auto& [k, v] : child.items()) {
    if (k != "metadata" && k != "status" && k != "apiVersion" && k != "kind") subject[k] = v;
  }
  if (auto meta = child.find("metadata"); meta != child.end() && meta->is_object()) {
    // (Not the annotations: others add theirs, such as deployment.kubernetes.io/revision; the
    // desired-hash annotation is compared on its own.)
    for (const char* k : {"labels", "ownerReferences"}) {
      if (auto f = meta->find(k); f != meta->end()) subject["metadata"][k] = *f;
    }
  }
  return jsonDigest(subject);
}

void compactChild(json& child) {
  if (!child.is_object() || child.contains("observedDigest")) return;
  json out = json::object();
  out["observedDigest"] = observedDigest(child);
  for (const char* k : {"apiVersion", "kind"}) {
    if (auto f = child.find(k); f != child.end()) out[k] = *f;
  }
  if (auto meta = child.find("metadata"); meta != child.end() && meta->is_object()) {
    json& m = out["metadata"] = json::object();
    for (const char* k : {"name", "namespace", "uid", "resourceVersion", "generation", "labels", "annotations",
                          "ownerReferences", "deletionTimestamp"}) {
      if (auto f = meta->find(k); f != meta->end()) m[k] = *f;
    }
  }
  if (child.value("kind", "") == "Deployment") {
    if (auto spec = child.find("spec"); spec != child.end() && spec->is_object() && spec->contains("replicas")) {
      out["spec"]["replicas"] = (*spec)["replicas"];
    }
    if (auto status = child.find("status"); status != child.end() && status->is_object()) {
      for (const char* k : {"replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "observedGeneration"}) {
        if (auto f = status->find(k); f != status->end()) out["status"][k] = *f;
      }
    }
  }
  child = std::move(out);
}

bool ChildDigests::upToDate(const std::string& key, const json& current, const std::string& desiredHash) {
  const json meta = current.value("metadata", json::object());
  const json annotations = meta.is_object() ? meta.value("annotations", json::object()) : json::object();
  if (!annotations.is_object() || annotations.value(kDesiredHashAnnotation, "") != desiredHash) return false;
  std::string observed = observedDigest(current);
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, adopted] = entries_.try_emplace(key, Entry{desiredHash, observed});
  if (adopted) return true;
  return it->second.desired == desiredHash && it->second.observed == observed;
}

void ChildDigests::written(const std::string& key, const std::string& desiredHash, const json& stored) {
  std::string observed = observedDigest(stored);
  std::lock_guard<std::mutex> lock(mu_);
  entries_[key] = Entry{desiredHash, observed};
}

void ChildDigests::forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(key);
}

}  // namespace flink::k8s
