#include "discovery.h"

#include <algorithm>

namespace kta {

json versionInfo() {
  return {{"major", "1"}, {"minor", "32"}, {"gitVersion", "v1.32.0-kube-test-apiserver"},
          {"gitCommit", "0000000000000000000000000000000000000000"}, {"gitTreeState", "clean"},
          {"buildDate", "2025-01-01T00:00:00Z"}, {"goVersion", "go1.23.0"}, {"compiler", "gc"},
          {"platform", "linux/amd64"}};
}

json apiVersions(const std::string& serverAddress) {
  return {{"kind", "APIVersions"}, {"versions", {"v1"}},
          {"serverAddressByClientCIDRs", {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", serverAddress}}}}};
}

namespace {

json groupJson(const std::string& group, const std::vector<std::string>& versions) {
  json vs = json::array();
  for (const auto& v : versions) vs.push_back({{"groupVersion", group + "/" + v}, {"version", v}});
  return {{"name", group}, {"versions", vs}, {"preferredVersion", vs.empty() ? json::object() : vs[0]}};
}

std::string reverseDomain(const std::string& group) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = group.find('.', start);
    parts.push_back(group.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  std::reverse(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ".") + p;
  return out;
}

std::string schemaName(const ResourceType& t, const std::string& version) {
  if (t.custom) return reverseDomain(t.group) + "." + version + "." + t.kind;
  if (t.group == "apiextensions.k8s.io") return "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions." + version + "." + t.kind;
  std::string g = t.group.empty() ? "core" : t.group.substr(0, t.group.find('.'));
  return "io.k8s.api." + g + "." + version + "." + t.kind;
}

std::string upperFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

json apiGroupList(const Registry& registry) {
  json groups = json::array();
  for (const auto& [g, versions] : registry.groups())
    if (!g.empty()) groups.push_back(groupJson(g, versions));
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

std::optional<json> apiGroup(const Registry& registry, const std::string& group) {
  for (const auto& [g, versions] : registry.groups())
    if (g == group && !g.empty()) {
      json j = groupJson(g, versions);
      j["kind"] = "APIGroup";
      j["apiVersion"] = "v1";
      return j;
    }
  return std::nullopt;
}

std::optional<json> apiResourceList(const Registry& registry, const std::string& group, const std::string& version) {
  json resources = json::array();
  bool found = false;
  for (const auto& t : registry.all()) {
    if (t->group != group || !std::count(t->versionOrder.begin(), t->versionOrder.end(), version)) continue;
    found = true;
    const VersionInfo* vi = t->version(version);
    json r = {{"name", t->plural}, {"singularName", t->singular}, {"namespaced", t->namespaced}, {"kind", t->kind},
              {"verbs", t->verbs}, {"storageVersionHash", ""}};
    if (!t->shortNames.empty()) r["shortNames"] = t->shortNames;
    if (!t->categories.empty()) r["categories"] = t->categories;
    resources.push_back(r);
    if (vi && vi->hasStatus)
      resources.push_back({{"name", t->plural + "/status"}, {"singularName", ""}, {"namespaced", t->namespaced},
                           {"kind", t->kind}, {"verbs", {"get", "patch", "update"}}});
    if (t->group.empty() && t->plural == "pods") {  // served through the node's kubelet (node_proxy.h)
      resources.push_back({{"name", "pods/exec"}, {"singularName", ""}, {"namespaced", true}, {"kind", "PodExecOptions"},
                           {"verbs", {"create", "get"}}});
      resources.push_back({{"name", "pods/portforward"}, {"singularName", ""}, {"namespaced", true}, {"kind", "PodPortForwardOptions"},
                           {"verbs", {"create", "get"}}});
      resources.push_back({{"name", "pods/binding"}, {"singularName", ""}, {"namespaced", true}, {"kind", "Binding"}, {"verbs", {"create"}}});
      resources.push_back({{"name", "pods/log"}, {"singularName", ""}, {"namespaced", true}, {"kind", "Pod"}, {"verbs", {"get"}}});
    }
    if (vi && vi->scale)
      resources.push_back({{"name", t->plural + "/scale"}, {"singularName", ""}, {"namespaced", t->namespaced},
                           {"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"}, {"verbs", {"get", "patch", "update"}}});
  }
  if (!found) return std::nullopt;
  std::string gv = group.empty() ? version : group + "/" + version;
  return json{{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", gv}, {"resources", resources}};
}

json openapiV3Index(const Registry& registry) {
  json paths = json::object();
  std::string hash = "kta" + std::to_string(registry.revision());
  for (const auto& [g, versions] : registry.groups())
    for (const auto& v : versions) {
      std::string p = g.empty() ? "api/" + v : "apis/" + g + "/" + v;
      paths[p] = {{"serverRelativeURL", "/openapi/v3/" + p + "?hash=" + hash}};
    }
  return {{"paths", paths}};
}

std::optional<json> openapiV3Document(const Registry& registry, const std::string& gvPath) {
  std::string group, version;
  if (gvPath.rfind("api/", 0) == 0) {
    version = gvPath.substr(4);
  } else if (gvPath.rfind("apis/", 0) == 0) {
    std::string rest = gvPath.substr(5);
    auto slash = rest.find('/');
    if (slash == std::string::npos) return std::nullopt;
    group = rest.substr(0, slash);
    version = rest.substr(slash + 1);
  } else {
    return std::nullopt;
  }
  json paths = json::object(), schemas = json::object();
  bool found = false;
  const json stringParam = {{"type", "string"}, {"uniqueItems", true}};
  auto param = [&](const char* name, json schema = nullptr) {
    return json{{"name", name}, {"in", "query"}, {"schema", schema.is_null() ? stringParam : schema}};
  };
  for (const auto& t : registry.all()) {
    if (t->group != group || !std::count(t->versionOrder.begin(), t->versionOrder.end(), version)) continue;
    found = true;
    const VersionInfo* vi = t->version(version);
    std::string name = schemaName(*t, version);
    json gvk = {{"group", group}, {"version", version}, {"kind", t->kind}};
    json s = vi && vi->schema.is_object() ? vi->schema : json{{"type", "object"}};
    s["x-kubernetes-group-version-kind"] = json::array({gvk});
    schemas[name] = s;
    json ref = {{"$ref", "#/components/schemas/" + name}};
    json okResponse = {{"200", {{"description", "OK"}, {"content", {{"application/json", {{"schema", ref}}}}}}}};
    std::string prefix = (group.empty() ? "/api/" + version : "/apis/" + group + "/" + version) +
                         (t->namespaced ? "/namespaces/{namespace}/" : "/") + t->plural;
    std::string op = upperFirst(group.empty() ? "core" : group.substr(0, group.find('.'))) + upperFirst(version) +
                     (t->namespaced ? "Namespaced" : "") + t->kind;
    json writeParams = json::array({param("dryRun"), param("fieldManager"), param("fieldValidation")});
    json patchParams = writeParams;
    patchParams.push_back(param("force", {{"type", "boolean"}, {"uniqueItems", true}}));
    // No application/strategic-merge-patch+json here: kubectl then computes strategic merge
    // patches for built-in kinds from its compiled-in types, and JSON merge patches for CRs.
    json patchBody = {{"content",
                       {{"application/json-patch+json", {{"schema", {{"type", "object"}}}}},
                        {"application/merge-patch+json", {{"schema", {{"type", "object"}}}}},
                        {"application/apply-patch+yaml", {{"schema", {{"type", "object"}}}}}}},
                      {"required", true}};
    auto operation = [&](const std::string& verb, const std::string& action, json params) {
      json o = {{"operationId", verb + op}, {"x-kubernetes-action", action}, {"x-kubernetes-group-version-kind", gvk},
                {"parameters", params}, {"responses", okResponse}};
      return o;
    };
    json item = {{"get", operation("read", "get", json::array())},
                 {"put", operation("replace", "put", writeParams)},
                 {"patch", operation("patch", "patch", patchParams)},
                 {"delete", operation("delete", "delete", json::array({param("dryRun")}))}};
    item["put"]["requestBody"] = {{"content", {{"application/json", {{"schema", ref}}}}}, {"required", true}};
    item["patch"]["requestBody"] = patchBody;
    paths[prefix + "/{name}"] = item;
    json coll = {{"get", operation("list", "list", json::array())}, {"post", operation("create", "post", writeParams)}};
    coll["post"]["requestBody"] = {{"content", {{"application/json", {{"schema", ref}}}}}, {"required", true}};
    paths[prefix] = coll;
    if (vi && vi->hasStatus) {
      json st = {{"get", operation("read", "get", json::array())},
                 {"put", operation("replace", "put", writeParams)},
                 {"patch", operation("patch", "patch", patchParams)}};
      for (auto& [verb, o] : st.items()) o["operationId"] = o["operationId"].get<std::string>() + "Status";
      st["patch"]["requestBody"] = patchBody;
      paths[prefix + "/{name}/status"] = st;
    }
  }
  if (!found) return std::nullopt;
  return json{{"openapi", "3.0.0"},
              {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0-kube-test-apiserver"}}},
              {"paths", paths},
              {"components", {{"schemas", schemas}}}};
}

}  // namespace kta
