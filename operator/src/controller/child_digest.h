// What the operator remembers of the children it writes (ConfigMaps, Services, Deployments,
// Ingresses), so that an unchanged child costs no request and little memory:
//   - each child it writes carries the annotation flink.apache.org/desired-hash, the digest of
//     the desired object, so a changed desired state is seen without comparing whole trees;
//   - the child informers keep only a compact record of each child (compactChild: metadata
//     without managedFields, a Deployment's replicas and readiness, and the digest of the rest);
//   - ChildDigests remembers, per child, the digest of the object as the API server stored it
//     after this operator's last write, so an edit by someone else (a changed spec, data or
//     labels) is seen and undone.
// A child found with the current desired-hash and no record (an operator restart) is adopted as
// it is: an edit made while no operator ran is undone at the next change of its FlinkDeployment.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <mutex>
#include <string>

namespace flink::k8s {

/// The annotation with the digest of the desired child object.
inline constexpr const char* kDesiredHashAnnotation = "flink.apache.org/desired-hash";

/// A stable 64-bit FNV-1a digest of a JSON value's text (hex).
std::string jsonDigest(const nlohmann::json& value);

/// The digest of what others could change on a stored child: everything but metadata, status
/// and the synthetic fields, plus its labels and owner references. Reads the
/// recorded digest of a compacted child.
std::string observedDigest(const nlohmann::json& child);

/// The informer transform of child objects: keeps apiVersion, kind, the metadata the operator
/// reads (name, namespace, uid, resourceVersion, generation, labels, annotations,
/// ownerReferences, deletionTimestamp), a Deployment's spec.replicas and status counts, and
/// observedDigest() of the whole in the field "observedDigest". Idempotent.
void compactChild(nlohmann::json& child);

/// Per child ("kind/namespace/name"): the desired-hash and observedDigest() after the last write
/// of this operator. Thread-safe.
class ChildDigests {
 public:
  struct Entry {
    std::string desired, observed;
  };
  /// True when the stored child needs no write: it carries `desiredHash` and has not been
  /// changed by others since this operator wrote it (or, unknown to this process, is adopted).
  bool upToDate(const std::string& key, const nlohmann::json& current, const std::string& desiredHash);
  /// Records a write: `stored` is the object the API server answered with.
  void written(const std::string& key, const std::string& desiredHash, const nlohmann::json& stored);
  void forget(const std::string& key);

 private:
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace flink::k8s
