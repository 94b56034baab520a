// The API semantics, independent of HTTP: get/list/create/update/patch/delete of objects and
// their status and scale subresources, with resourceVersion preconditions (409), generation,
// managedFields, defaulting and validation (built-ins) or structural-schema validation and
// pruning (custom resources), finalizers and deletionTimestamp, namespaces (creation in a
// missing namespace is 404, deleting one deletes its contents), CRD installation, and garbage
// collection of dependents. Every operation runs in one Store transaction.
#pragma once

#include "gc.h"
#include "registry.h"
#include "storage.h"

#include <string>
#include <vector>

namespace kta {

/// What a request addresses, resolved against the registry.
struct Target {
  TypePtr type;
  std::string version;
  std::string ns;    // request namespace ("" for cluster-scoped types or all namespaces)
  std::string name;  // "" for collections
  std::string subresource;
};

struct WriteOptions {
  bool dryRun = false;
  std::string fieldManager;     // "" = derived from the User-Agent, as the API server does
  std::string userAgent;
  std::string fieldValidation;  // Strict, Warn (default) or Ignore
  bool force = false;           // server-side apply: take over conflicting fields
};

struct ListOptions {
  std::string labelSelector, fieldSelector;
  size_t limit = 0;
  std::string continueToken;
};

struct DeleteOptions {
  std::string propagationPolicy;  // Background (default), Foreground (treated as Background), Orphan
  std::string preconditionUid, preconditionRv;
  bool dryRun = false;
};

struct Reply {
  json body;
  int code = 200;
  std::vector<std::string> warnings;
};

class Api {
 public:
  Api(Store& store, Registry& registry);
  /// The cluster CA published in every namespace as ConfigMap kube-root-ca.crt (as
  /// kube-controller-manager does). Call before bootstrap().
  void setClusterCa(std::string pem) { clusterCa_ = std::move(pem); }
  /// Creates the namespaces a cluster starts with and the `kubernetes` Service.
  void bootstrap();
  /// What kube-apiserver's endpoint reconciler does: the Endpoints `kubernetes` of namespace
  /// default (the `kubernetes` Service's) points at ip:port, the address pods reach the server at.
  void publishEndpoint(const std::string& ip, int port);

  Result<Reply> get(const Target& t);
  /// The List object (kind <Kind>List) with items at the requested version.
  Result<Reply> list(const Target& t, const ListOptions& o);
  Result<Reply> create(const Target& t, const json& body, const WriteOptions& o);
  Result<Reply> update(const Target& t, const json& body, const WriteOptions& o);
  Result<Reply> patch(const Target& t, const std::string& contentType, const std::string& body, const WriteOptions& o);
  Result<Reply> remove(const Target& t, const DeleteOptions& o);
  Result<Reply> removeCollection(const Target& t, const ListOptions& lo, const DeleteOptions& o);

  /// A stored object as seen at `version` (apiVersion rewritten; CRD versions are not converted).
  static json present(const ResourceType& type, const std::string& version, const json& stored);
  /// Deferred work: garbage collection of dangling dependents, finishing namespace deletion.
  void sweep();

  Store& store() { return store_; }
  Registry& registry() { return registry_; }
  /// The cluster-IP/nodePort allocator's position (persisted across restarts; read or set
  /// inside a store transaction or before serving).
  uint32_t allocatorPosition() const { return nextIp_; }
  void setAllocatorPosition(uint32_t n) { nextIp_ = n; }

 private:
  using Txn = Store::Txn;
  Result<json> decode(const Target& t, const json& body) const;
  Result<Reply> bind(const Target& t, const json& body, const WriteOptions& o);
  Result<Reply> createIn(Txn& txn, const Target& t, json obj, const WriteOptions& o, const json* applyManaged);
  Result<Reply> commitUpdate(Txn& txn, const Target& t, const ObjPtr& old, json next, const WriteOptions& o,
                             bool isApply, bool requireRv);
  Status admit(Txn& txn, const Target& t, const json* old, json& obj, const WriteOptions& o, std::vector<std::string>& warnings);
  Status validateAndPrune(const Target& t, const json* old, json& obj, const WriteOptions& o, std::vector<std::string>& warnings);
  Result<Reply> updateScale(Txn& txn, const Target& t, const ObjPtr& old, const json& scale, const WriteOptions& o);
  Result<json> deleteObject(Txn& txn, const ResourceType& type, const std::string& ns, const std::string& name,
                            const std::string& policy);
  Result<json> deleteNamespace(Txn& txn, const std::string& name);
  void afterWrite(Txn& txn, const ResourceType& type, const json* old, const json& stored);
  void afterDelete(Txn& txn, const ResourceType& type, const json& final, const std::string& policy);
  std::string manager(const WriteOptions& o) const;
  json scaleOf(const ResourceType& type, const VersionInfo& vi, const json& obj) const;
  std::string allocateClusterIp();

  Store& store_;
  Registry& registry_;
  GcHooks hooks_;
  uint32_t nextIp_ = 10;
  std::string clusterCa_;
};

}  // namespace kta
