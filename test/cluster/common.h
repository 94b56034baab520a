// Shared pieces of the test controllers (kube-test-controllers, see README.md): the resource
// types they handle, a read-only view over the informers of one type (one informer per watched
// namespace, or one for all namespaces), owner references, pod readiness, conditions, and the
// status write that happens only when the status changed.
// Thread-safe: Cache reads go to the informers' thread-safe caches; the rest are pure functions
// or single API calls.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "controller/controller.h"
#include "k8s/client.h"
#include "k8s/informer.h"

namespace ktc {

using flink::k8s::ApiResponse;
using flink::k8s::Informer;
using flink::k8s::KubeApi;
using flink::k8s::Reconciler;
using flink::k8s::ResourceType;
using nlohmann::json;

extern const ResourceType kReplicaSet;
extern const ResourceType kPod;
extern const ResourceType kEndpoints;
extern const ResourceType kEndpointSlice;

/// The objects of one resource type as the informers currently see them. The informers must
/// outlive the Cache.
class Cache {
 public:
  explicit Cache(std::vector<Informer*> informers) : informers_(std::move(informers)) {}
  std::optional<json> get(const std::string& ns, const std::string& name) const;
  /// Every object in namespace ns.
  std::vector<json> list(const std::string& ns) const;

 private:
  std::vector<Informer*> informers_;
};

/// An ownerReference with controller: true naming `owner` (an object of `type`).
json controllerRef(const ResourceType& type, const json& owner);
/// The ownerReference with controller: true, if any.
std::optional<json> controllerOf(const json& object);
/// "ns/name" of the object's controller when it is of `kind` (for Controller::watchOwned).
std::optional<std::string> controllerKey(const json& object, const std::string& kind);
/// True when the object's controller has this uid.
bool isControlledBy(const json& object, const std::string& uid);

/// Not being deleted and not in a terminal phase (Failed, Succeeded).
bool isPodActive(const json& pod);
/// Condition Ready is True.
bool isPodReady(const json& pod);

/// Now as RFC 3339 (seconds, UTC), the format of Kubernetes timestamps.
std::string nowRfc3339();
/// `conditions` with `wanted` (type, status, reason, message) set: an existing condition of the
/// same type that says the same keeps its timestamps (so an unchanged state writes nothing);
/// lastTransitionTime changes only when status does.
json setCondition(json conditions, json wanted);
/// Sets key to n, or removes it when n is 0 (the API's omitempty counters).
void setCount(json& status, const std::string& key, long long n);

/// Replaces the object's status through the /status subresource (PUT with the cached
/// resourceVersion: a stale cache is a 409 and a retry) unless it already equals `status`.
/// Returns an error message, or nothing on success or when nothing needed writing.
std::optional<std::string> writeStatus(KubeApi& api, const ResourceType& type, const json& object, const json& status);

/// "VERB PATH: HTTP n: message" for a failed request.
std::string describeFailure(const std::string& what, const ApiResponse& r);
/// Reconciler::Result from an optional error.
Reconciler::Result resultOf(const std::optional<std::string>& error);

/// `n` characters from the alphabet Kubernetes uses for generated names and hashes
/// ("bcdfghjklmnpqrstvwxz2456789"), from `value` when given, else random.
std::string safeEncode(unsigned long long value, int n);
std::string randomSuffix(int n);

}  // namespace ktc
