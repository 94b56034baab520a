#include "common.h"

#include <chrono>
#include <ctime>
#include <random>

namespace ktc {

const ResourceType kReplicaSet{"apps", "v1", "replicasets", "ReplicaSet", true};
const ResourceType kPod{"", "v1", "pods", "Pod", true};
const ResourceType kEndpoints{"", "v1", "endpoints", "Endpoints", true};
const ResourceType kEndpointSlice{"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true};

namespace {
constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
constexpr unsigned kAlphabetSize = sizeof(kAlphabet) - 1;
}  // namespace

std::optional<json> Cache::get(const std::string& ns, const std::string& name) const {
  for (Informer* i : informers_) {
    if (auto o = i->get(ns, name)) return o;
  }
  return std::nullopt;
}

std::vector<json> Cache::list(const std::string& ns) const {
  std::vector<json> out;
  for (Informer* i : informers_) {
    for (auto& o : i->list()) {
      if (o["metadata"].value("namespace", "") == ns) out.push_back(std::move(o));
    }
  }
  return out;
}

json controllerRef(const ResourceType& type, const json& owner) {
  return {{"apiVersion", type.apiVersion()},
          {"kind", type.kind},
          {"name", owner["metadata"].value("name", "")},
          {"uid", owner["metadata"].value("uid", "")},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

std::optional<json> controllerOf(const json& object) {
  for (const auto& ref : object["metadata"].value("ownerReferences", json::array())) {
    if (ref.value("controller", false)) return ref;
  }
  return std::nullopt;
}

std::optional<std::string> controllerKey(const json& object, const std::string& kind) {
  auto ref = controllerOf(object);
  if (!ref || ref->value("kind", "") != kind) return std::nullopt;
  return object["metadata"].value("namespace", "") + "/" + ref->value("name", "");
}

bool isControlledBy(const json& object, const std::string& uid) {
  auto ref = controllerOf(object);
  return ref && ref->value("uid", "") == uid;
}

bool isPodActive(const json& pod) {
  if (pod["metadata"].contains("deletionTimestamp")) return false;
  std::string phase = pod.value("/status/phase"_json_pointer, "");
  return phase != "Failed" && phase != "Succeeded";
}

bool isPodReady(const json& pod) {
  for (const auto& c : pod.value("/status/conditions"_json_pointer, json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

std::string nowRfc3339() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json setCondition(json conditions, json wanted) {
  if (!conditions.is_array()) conditions = json::array();
  std::string now = nowRfc3339();
  for (auto& c : conditions) {
    if (c.value("type", "") != wanted.value("type", "")) continue;
    bool sameStatus = c.value("status", "") == wanted.value("status", "");
    if (sameStatus && c.value("reason", "") == wanted.value("reason", "") &&
        c.value("message", "") == wanted.value("message", "")) {
      return conditions;
    }
    wanted["lastUpdateTime"] = now;
    wanted["lastTransitionTime"] = sameStatus ? c.value("lastTransitionTime", now) : now;
    c = wanted;
    return conditions;
  }
  wanted["lastUpdateTime"] = now;
  wanted["lastTransitionTime"] = now;
  conditions.push_back(wanted);
  return conditions;
}

void setCount(json& status, const std::string& key, long long n) {
  if (n == 0) {
    status.erase(key);
  } else {
    status[key] = n;
  }
}

std::optional<std::string> writeStatus(KubeApi& api, const ResourceType& type, const json& object, const json& status) {
  if (object.value("status", json::object()) == status) return std::nullopt;
  json updated = object;
  updated["status"] = status;
  const json& m = object["metadata"];
  std::string path = type.objectPath(m.value("namespace", ""), m.value("name", "")) + "/status";
  ApiResponse r = api.put(path, updated);
  if (!r.ok()) return describeFailure("PUT " + path, r);
  return std::nullopt;
}

std::string describeFailure(const std::string& what, const ApiResponse& r) {
  return what + ": HTTP " + std::to_string(r.status) + ": " + r.error;
}

Reconciler::Result resultOf(const std::optional<std::string>& error) {
  if (error) return {false, *error, std::nullopt};
  return {};
}

std::string safeEncode(unsigned long long value, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += kAlphabet[value % kAlphabetSize];
    value /= kAlphabetSize;
  }
  return out;
}

std::string randomSuffix(int n) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return safeEncode(rng(), n);
}

}  // namespace ktc
