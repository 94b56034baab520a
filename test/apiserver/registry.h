// The resource types the server knows: built-in kinds (ConfigMap, Secret, Service, Pod, Event,
// ServiceAccount, Endpoints, Namespace, apps/v1 Deployment and ReplicaSet, coordination Lease,
// apiextensions CRD) and the types installed by CustomResourceDefinitions. Each type carries
// what discovery, OpenAPI, patching and tables need: names, scope, versions, subresources,
// a schema (the CRD's structural schema, or for built-ins a partial schema holding only the
// list-merge metadata strategic merge patch and server-side apply use), printer columns.
// Thread safety: Registry is internally locked; types are immutable once published.
#pragma once

#include "errors.h"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace kta {

struct PrinterColumn {
  std::string name, type, format, description, jsonPath;
  int priority = 0;
};

struct ScaleInfo {  // dotted paths without the leading '.'
  std::string specReplicasPath, statusReplicasPath, labelSelectorPath;
};

struct VersionInfo {
  json schema;                          // openAPIV3Schema (CRDs) or partial patch-metadata schema
  std::vector<PrinterColumn> columns;   // CRD additionalPrinterColumns; empty for built-ins
  bool hasStatus = false;
  std::optional<ScaleInfo> scale;
};

struct ResourceType {
  std::string group;
  std::vector<std::string> versionOrder;  // served versions, preferred first
  std::map<std::string, VersionInfo> versions;
  std::string storageVersion;
  std::string plural, singular, kind, listKind;
  bool namespaced = true;
  std::vector<std::string> shortNames, categories, verbs;
  bool custom = false;            // served from a CRD
  bool tracksGeneration = false;  // metadata.generation maintained
  bool allowUnconditionalUpdate = true;
  std::string crdName;

  std::string key() const { return group + "/" + plural; }
  std::string apiVersion(const std::string& version) const { return group.empty() ? version : group + "/" + version; }
  const VersionInfo* version(const std::string& v) const {
    auto it = versions.find(v);
    return it == versions.end() ? nullptr : &it->second;
  }
  const VersionInfo& storage() const { return versions.at(storageVersion); }
};
using TypePtr = std::shared_ptr<const ResourceType>;

class Registry {
 public:
  Registry();

  /// Type served at group/version/plural, or null.
  TypePtr find(const std::string& group, const std::string& version, const std::string& plural) const;
  TypePtr byKey(const std::string& key) const;
  /// Type whose kind is `kind` in `group` (any served version), or null.
  TypePtr byKind(const std::string& group, const std::string& kind) const;
  std::vector<TypePtr> all() const;
  /// Groups in discovery order ("" first); each with its versions, preferred first.
  std::vector<std::pair<std::string, std::vector<std::string>>> groups() const;
  /// Changes whenever the set of types changes (OpenAPI v3 hashes use it).
  uint64_t revision() const;

  /// Field errors (API server wording) for a CustomResourceDefinition object.
  static std::vector<std::string> validateCrd(const json& crd);
  /// The type a (valid) CRD defines.
  static TypePtr typeFromCrd(const json& crd);
  /// Publishes or replaces a CRD-defined type.
  void install(TypePtr type);
  void uninstall(const std::string& key);

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, TypePtr> types_;  // by key
  uint64_t revision_ = 1;
};

/// Partial schemas of built-in kinds (patch-merge keys, list types), by kind.
const json* builtinSchema(const std::string& kind);

}  // namespace kta
