#include "registry.h"

#include "util.h"

#include <algorithm>

namespace kta {
namespace {

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};

// ---- partial schemas of built-in kinds: only what merging needs -------------------------------

json mapList(std::vector<std::string> keys, json items = json::object(), std::string strategy = "merge") {
  json s = {{"type", "array"}, {"items", items.empty() ? json{{"type", "object"}} : items},
            {"x-kubernetes-patch-merge-key", keys[0]}, {"x-kubernetes-patch-strategy", strategy},
            {"x-kubernetes-list-type", "map"}, {"x-kubernetes-list-map-keys", keys}};
  return s;
}

json obj(json properties) { return {{"type", "object"}, {"properties", std::move(properties)}}; }

json stringMap() { return {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}; }

json objectMeta() {
  return obj({{"name", {{"type", "string"}}},
              {"namespace", {{"type", "string"}}},
              {"labels", stringMap()},
              {"annotations", stringMap()},
              {"ownerReferences", mapList({"uid"})},
              {"finalizers", {{"type", "array"}, {"items", {{"type", "string"}}}, {"x-kubernetes-patch-strategy", "merge"},
                              {"x-kubernetes-list-type", "set"}}}});
}

json container() {
  return obj({{"name", {{"type", "string"}}},
              {"image", {{"type", "string"}}},
              {"ports", mapList({"containerPort"})},
              {"env", mapList({"name"})},
              {"volumeMounts", mapList({"mountPath"})},
              {"volumeDevices", mapList({"devicePath"})},
              {"resources", obj({{"limits", stringMap()}, {"requests", stringMap()}})}});
}

json podSpec() {
  return obj({{"containers", mapList({"name"}, container())},
              {"initContainers", mapList({"name"}, container())},
              {"ephemeralContainers", mapList({"name"}, container())},
              {"volumes", mapList({"name"}, obj(json::object()), "merge,retainKeys")},
              {"imagePullSecrets", mapList({"name"})},
              {"hostAliases", mapList({"ip"})},
              {"topologySpreadConstraints", mapList({"topologyKey"})},
              {"nodeSelector", stringMap()}});
}

json conditionsStatus() { return obj({{"conditions", mapList({"type"})}}); }

json topLevel(json spec, json status = nullptr) {
  json p = {{"apiVersion", {{"type", "string"}}}, {"kind", {{"type", "string"}}}, {"metadata", objectMeta()}};
  if (!spec.is_null()) p["spec"] = std::move(spec);
  if (!status.is_null()) p["status"] = std::move(status);
  return obj(p);
}

json workloadSpec() {
  return obj({{"template", obj({{"metadata", objectMeta()}, {"spec", podSpec()}})},
              {"strategy", {{"type", "object"}, {"x-kubernetes-patch-strategy", "retainKeys"}}},
              {"selector", obj({{"matchLabels", stringMap()}})}});
}

const std::map<std::string, json>& builtinSchemas() {
  static const std::map<std::string, json> schemas = [] {
    std::map<std::string, json> m;
    m["Deployment"] = topLevel(workloadSpec(), conditionsStatus());
    m["ReplicaSet"] = topLevel(workloadSpec(), conditionsStatus());
    m["Pod"] = topLevel(podSpec(), conditionsStatus());
    m["Service"] = topLevel(obj({{"ports", mapList({"port"})},
                                 {"selector", {{"type", "object"}, {"additionalProperties", {{"type", "string"}}},
                                               {"x-kubernetes-map-type", "atomic"}}}}),
                            conditionsStatus());
    m["ConfigMap"] = obj({{"apiVersion", {{"type", "string"}}}, {"kind", {{"type", "string"}}}, {"metadata", objectMeta()},
                          {"data", stringMap()}, {"binaryData", stringMap()}});
    m["Secret"] = obj({{"apiVersion", {{"type", "string"}}}, {"kind", {{"type", "string"}}}, {"metadata", objectMeta()},
                       {"data", stringMap()}, {"stringData", stringMap()}});
    m["ServiceAccount"] = obj({{"apiVersion", {{"type", "string"}}}, {"kind", {{"type", "string"}}}, {"metadata", objectMeta()},
                               {"secrets", mapList({"name"})}});
    for (const char* k : {"Event", "Namespace", "Lease", "Ingress", "Endpoints", "Node", "ResourceQuota", "LimitRange",
                          "EndpointSlice", "CustomResourceDefinition", "Role", "RoleBinding", "ClusterRole",
                          "ClusterRoleBinding"})
      m[k] = topLevel(nullptr);
    // webhooks merge by name (patchMergeKey and listMapKeys of the real types).
    for (const char* k : {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"})
      m[k] = obj({{"apiVersion", {{"type", "string"}}}, {"kind", {{"type", "string"}}}, {"metadata", objectMeta()},
                  {"webhooks", mapList({"name"})}});
    return m;
  }();
  return schemas;
}

TypePtr builtin(std::string group, std::string version, std::string plural, std::string kind, bool namespaced,
                std::vector<std::string> shortNames, bool hasStatus, bool scale, bool generation,
                std::vector<std::string> categories = {}) {
  auto t = std::make_shared<ResourceType>();
  t->group = std::move(group);
  t->versionOrder = {version};
  t->storageVersion = version;
  VersionInfo v;
  if (const json* s = builtinSchema(kind)) v.schema = *s;
  v.hasStatus = hasStatus;
  if (scale) v.scale = ScaleInfo{"spec.replicas", "status.replicas", "status.selector"};
  t->versions[version] = std::move(v);
  t->plural = std::move(plural);
  t->kind = std::move(kind);
  t->singular = t->kind;
  std::transform(t->singular.begin(), t->singular.end(), t->singular.begin(), ::tolower);
  t->listKind = t->kind + "List";
  t->namespaced = namespaced;
  t->shortNames = std::move(shortNames);
  t->categories = std::move(categories);
  t->verbs = kAllVerbs;
  if (t->plural == "namespaces") t->verbs = {"create", "delete", "get", "list", "patch", "update", "watch"};
  t->tracksGeneration = generation;
  return t;
}

std::string strOr(const json& j, const char* key, std::string def = "") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : def;
}

std::string stripDot(const std::string& p) { return !p.empty() && p[0] == '.' ? p.substr(1) : p; }

}  // namespace

const json* builtinSchema(const std::string& kind) {
  const auto& m = builtinSchemas();
  auto it = m.find(kind);
  return it == m.end() ? nullptr : &it->second;
}

Registry::Registry() {
  std::vector<TypePtr> b = {
      builtin("", "v1", "namespaces", "Namespace", false, {"ns"}, true, false, false),
      builtin("", "v1", "configmaps", "ConfigMap", true, {"cm"}, false, false, false),
      builtin("", "v1", "secrets", "Secret", true, {}, false, false, false),
      builtin("", "v1", "services", "Service", true, {"svc"}, true, false, false, {"all"}),
      builtin("", "v1", "pods", "Pod", true, {"po"}, true, false, false, {"all"}),
      builtin("", "v1", "events", "Event", true, {"ev"}, false, false, false),
      builtin("", "v1", "serviceaccounts", "ServiceAccount", true, {"sa"}, false, false, false),
      builtin("", "v1", "endpoints", "Endpoints", true, {"ep"}, false, false, false),
      builtin("", "v1", "nodes", "Node", false, {"no"}, true, false, false),
      builtin("", "v1", "resourcequotas", "ResourceQuota", true, {"quota"}, true, false, false),
      builtin("", "v1", "limitranges", "LimitRange", true, {"limits"}, false, false, false),
      builtin("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, {}, false, false, false),
      builtin("apps", "v1", "deployments", "Deployment", true, {"deploy"}, true, true, true, {"all"}),
      builtin("apps", "v1", "replicasets", "ReplicaSet", true, {"rs"}, true, true, true, {"all"}),
      builtin("coordination.k8s.io", "v1", "leases", "Lease", true, {}, false, false, false),
      builtin("networking.k8s.io", "v1", "ingresses", "Ingress", true, {"ing"}, true, false, true),
      // RBAC objects are stored and served (for `helm template | kubectl apply`), not enforced.
      builtin("rbac.authorization.k8s.io", "v1", "roles", "Role", true, {}, false, false, false),
      builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, {}, false, false, false),
      builtin("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, {}, false, false, false),
      builtin("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false, {}, false, false, false),
      builtin("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration",
              false, {}, false, false, false, {"api-extensions"}),
      builtin("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration",
              false, {}, false, false, false, {"api-extensions"}),
      builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false,
              {"crd", "crds"}, true, false, true, {"api-extensions"}),
  };
  for (auto& t : b) {
    if (t->plural == "customresourcedefinitions") {
      auto m = std::make_shared<ResourceType>(*t);
      m->allowUnconditionalUpdate = false;
      t = m;
    }
    types_[t->key()] = t;
  }
}

TypePtr Registry::find(const std::string& group, const std::string& version, const std::string& plural) const {
  std::shared_lock lk(mu_);
  auto it = types_.find(group + "/" + plural);
  if (it == types_.end()) return nullptr;
  const auto& served = it->second->versionOrder;
  if (std::find(served.begin(), served.end(), version) == served.end()) return nullptr;
  return it->second;
}

TypePtr Registry::byKey(const std::string& key) const {
  std::shared_lock lk(mu_);
  auto it = types_.find(key);
  return it == types_.end() ? nullptr : it->second;
}

TypePtr Registry::byKind(const std::string& group, const std::string& kind) const {
  std::shared_lock lk(mu_);
  for (const auto& [k, t] : types_)
    if (t->group == group && t->kind == kind) return t;
  return nullptr;
}

std::vector<TypePtr> Registry::all() const {
  std::shared_lock lk(mu_);
  std::vector<TypePtr> out;
  for (const auto& [k, t] : types_) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, std::vector<std::string>>> Registry::groups() const {
  std::shared_lock lk(mu_);
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  auto add = [&](const std::string& g, const std::string& v) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == g; });
    if (it == out.end()) {
      out.push_back({g, {}});
      it = out.end() - 1;
    }
    if (std::find(it->second.begin(), it->second.end(), v) == it->second.end()) it->second.push_back(v);
  };
  for (const char* g : {"", "apps", "coordination.k8s.io", "discovery.k8s.io", "networking.k8s.io",
                        "rbac.authorization.k8s.io", "admissionregistration.k8s.io",
                        "apiextensions.k8s.io"})
    for (const auto& [k, t] : types_)
      if (t->group == g)
        for (const auto& v : t->versionOrder) add(g, v);
  for (const auto& [k, t] : types_)
    if (t->custom)
      for (const auto& v : t->versionOrder) add(t->group, v);
  for (auto& [g, vs] : out) std::stable_sort(vs.begin(), vs.end(), versionHigherPriority);
  return out;
}

uint64_t Registry::revision() const {
  std::shared_lock lk(mu_);
  return revision_;
}

void Registry::install(TypePtr type) {
  std::unique_lock lk(mu_);
  types_[type->key()] = std::move(type);
  ++revision_;
}

void Registry::uninstall(const std::string& key) {
  std::unique_lock lk(mu_);
  types_.erase(key);
  ++revision_;
}

std::vector<std::string> Registry::validateCrd(const json& crd) {
  std::vector<std::string> errs;
  const json spec = crd.value("spec", json::object());
  std::string group = strOr(spec, "group");
  const json names = spec.value("names", json::object());
  std::string plural = strOr(names, "plural"), kind = strOr(names, "kind");
  std::string name = crd.contains("metadata") ? strOr(crd["metadata"], "name") : "";
  if (group.empty()) errs.push_back("spec.group: Required value");
  else if (group.find('.') == std::string::npos)
    errs.push_back("spec.group: Invalid value: \"" + group + "\": should be a domain with at least one dot");
  if (plural.empty()) errs.push_back("spec.names.plural: Required value");
  if (kind.empty()) errs.push_back("spec.names.kind: Required value");
  if (!plural.empty() && !group.empty() && name != plural + "." + group)
    errs.push_back("metadata.name: Invalid value: \"" + name + "\": must be spec.names.plural+\".\"+spec.group");
  std::string scope = strOr(spec, "scope");
  if (scope != "Namespaced" && scope != "Cluster")
    errs.push_back("spec.scope: Unsupported value: \"" + scope + "\": supported values: \"Cluster\", \"Namespaced\"");
  const json versions = spec.value("versions", json::array());
  if (!versions.is_array() || versions.empty()) {
    errs.push_back("spec.versions: Invalid value: null: must have exactly one version marked as storage version");
    return errs;
  }
  int storage = 0;
  for (size_t i = 0; i < versions.size(); ++i) {
    const json& v = versions[i];
    std::string p = "spec.versions[" + std::to_string(i) + "]";
    if (strOr(v, "name").empty()) errs.push_back(p + ".name: Required value");
    if (v.value("storage", false)) ++storage;
    if (!v.contains("schema") || !v["schema"].is_object() || !v["schema"].contains("openAPIV3Schema"))
      errs.push_back(p + ".schema.openAPIV3Schema: Required value: schemas are required");
  }
  if (storage != 1)
    errs.push_back("spec.versions: Invalid value: " + versions.dump() + ": must have exactly one version marked as storage version");
  return errs;
}

TypePtr Registry::typeFromCrd(const json& crd) {
  auto t = std::make_shared<ResourceType>();
  const json& spec = crd["spec"];
  const json& names = spec["names"];
  t->group = spec["group"];
  t->plural = names["plural"];
  t->kind = names["kind"];
  t->singular = strOr(names, "singular");
  if (t->singular.empty()) {
    t->singular = t->kind;
    std::transform(t->singular.begin(), t->singular.end(), t->singular.begin(), ::tolower);
  }
  t->listKind = strOr(names, "listKind", t->kind + "List");
  if (names.contains("shortNames")) t->shortNames = names["shortNames"].get<std::vector<std::string>>();
  if (names.contains("categories")) t->categories = names["categories"].get<std::vector<std::string>>();
  t->namespaced = strOr(spec, "scope") != "Cluster";
  t->verbs = kAllVerbs;
  t->custom = true;
  t->tracksGeneration = true;
  t->allowUnconditionalUpdate = false;
  t->crdName = crd["metadata"]["name"];
  for (const auto& v : spec["versions"]) {
    std::string name = v["name"];
    if (v.value("storage", false)) t->storageVersion = name;
    if (!v.value("served", true) && !v.value("storage", false)) continue;
    VersionInfo info;
    info.schema = v["schema"]["openAPIV3Schema"];
    const json sub = v.value("subresources", json::object());
    info.hasStatus = sub.contains("status");
    if (sub.contains("scale") && sub["scale"].is_object()) {
      const json& sc = sub["scale"];
      info.scale = ScaleInfo{stripDot(strOr(sc, "specReplicasPath")), stripDot(strOr(sc, "statusReplicasPath")),
                             stripDot(strOr(sc, "labelSelectorPath"))};
    }
    for (const auto& c : v.value("additionalPrinterColumns", json::array()))
      info.columns.push_back({strOr(c, "name"), strOr(c, "type", "string"), strOr(c, "format"), strOr(c, "description"),
                              strOr(c, "jsonPath"), c.value("priority", 0)});
    if (info.columns.empty())
      info.columns.push_back({"Age", "date", "", "", ".metadata.creationTimestamp", 0});
    t->versions[name] = std::move(info);
    if (v.value("served", true)) t->versionOrder.push_back(name);
  }
  std::stable_sort(t->versionOrder.begin(), t->versionOrder.end(), versionHigherPriority);
  return t;
}

}  // namespace kta
