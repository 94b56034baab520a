#include "api.h"

#include "admission.h"
#include "apply.h"
#include "builtin.h"
#include "patch.h"
#include "selectors.h"
#include "structural_schema.h"
#include "util.h"

#include <algorithm>

namespace kta {
namespace {

const std::string kNamespaces = "/namespaces";
const std::string kCrds = "apiextensions.k8s.io/customresourcedefinitions";

std::string metaStr(const json& obj, const char* key) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  auto it = m->find(key);
  return it != m->end() && it->is_string() ? it->get<std::string>() : "";
}

bool hasMeta(const json& obj, const char* key) {
  auto m = obj.find("metadata");
  return m != obj.end() && m->is_object() && m->contains(key) && !(*m)[key].is_null();
}

std::vector<std::string> finalizers(const json& obj) {
  std::vector<std::string> out;
  const json* f = lookupPath(obj, "metadata.finalizers");
  if (f && f->is_array())
    for (const auto& e : *f)
      if (e.is_string()) out.push_back(e);
  return out;
}

FieldScope scopeFor(const VersionInfo& vi, const std::string& subresource) {
  if (subresource == "status") return FieldScope::StatusOnly;
  return vi.hasStatus ? FieldScope::NoStatus : FieldScope::All;
}

// Paths ("spec.foo", "spec.list[0].bar") present in `orig` but pruned from `pruned`.
void prunedPaths(const json& orig, const json& pruned, const std::string& prefix, std::vector<std::string>& out) {
  if (orig.is_object() && pruned.is_object()) {
    for (const auto& [k, v] : orig.items()) {
      std::string p = prefix.empty() ? k : prefix + "." + k;
      if (!pruned.contains(k)) out.push_back(p);
      else prunedPaths(v, pruned[k], p, out);
    }
  } else if (orig.is_array() && pruned.is_array() && orig.size() == pruned.size()) {
    for (size_t i = 0; i < orig.size(); ++i) prunedPaths(orig[i], pruned[i], prefix + "[" + std::to_string(i) + "]", out);
  }
}

// The API server decodes metadata into typed Go structs: wrong JSON types are a 400.
Status checkMetadataTypes(const ResourceType& type, const std::string& version, const json& obj) {
  auto bad = [&](const std::string& field, const char* want) {
    return badRequest(type.kind + " in version \"" + version + "\" cannot be handled as a " + type.kind +
                      ": json: cannot unmarshal into Go struct field ObjectMeta.metadata." + field + " of type " + want);
  };
  for (const char* k : {"apiVersion", "kind"})
    if (obj.contains(k) && !obj[k].is_string() && !obj[k].is_null()) return bad(k, "string");
  if (!obj.contains("metadata") || obj["metadata"].is_null()) return Ok{};
  const json& m = obj["metadata"];
  if (!m.is_object()) return bad("", "v1.ObjectMeta");
  for (const char* k : {"name", "generateName", "namespace", "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "selfLink"})
    if (m.contains(k) && !m[k].is_string() && !m[k].is_null()) return bad(k, "string");
  for (const char* k : {"generation", "deletionGracePeriodSeconds"})
    if (m.contains(k) && !m[k].is_number_integer() && !m[k].is_null()) return bad(k, "int64");
  for (const char* k : {"labels", "annotations"})
    if (m.contains(k) && !m[k].is_null()) {
      if (!m[k].is_object()) return bad(k, "map[string]string");
      for (const auto& [key, v] : m[k].items())
        if (!v.is_string()) return bad(k, "map[string]string");
    }
  if (m.contains("finalizers") && !m["finalizers"].is_null()) {
    if (!m["finalizers"].is_array()) return bad("finalizers", "[]string");
    for (const auto& f : m["finalizers"])
      if (!f.is_string()) return bad("finalizers", "[]string");
  }
  if (m.contains("ownerReferences") && !m["ownerReferences"].is_null()) {
    if (!m["ownerReferences"].is_array()) return bad("ownerReferences", "[]v1.OwnerReference");
    for (const auto& r : m["ownerReferences"]) {
      if (!r.is_object()) return bad("ownerReferences", "v1.OwnerReference");
      for (const char* k : {"apiVersion", "kind", "name", "uid"})
        if (r.contains(k) && !r[k].is_string()) return bad(std::string("ownerReferences.") + k, "string");
      for (const char* k : {"controller", "blockOwnerDeletion"})
        if (r.contains(k) && !r[k].is_boolean() && !r[k].is_null()) return bad(std::string("ownerReferences.") + k, "bool");
    }
  }
  if (m.contains("managedFields") && !m["managedFields"].is_null() && !m["managedFields"].is_array())
    return bad("managedFields", "[]v1.ManagedFieldsEntry");
  return Ok{};
}

bool specChanged(const json& a, const json& b, bool hasStatus) {
  json x = a, y = b;
  x.erase("metadata");
  y.erase("metadata");
  if (hasStatus) {
    x.erase("status");
    y.erase("status");
  }
  return x != y;
}

json crdStatus(const json& crd, const json* old) {
  const json& names = crd["spec"]["names"];
  json accepted = names;
  if (!accepted.contains("singular")) {
    std::string s = names.value("kind", "");
    std::transform(s.begin(), s.end(), s.begin(), ::tolower);
    accepted["singular"] = s;
  }
  if (!accepted.contains("listKind")) accepted["listKind"] = names.value("kind", "") + "List";
  std::string when = nowRfc3339();
  if (old)
    if (const json* c = lookupPath(*old, "status.conditions"); c && c->is_array() && !c->empty())
      when = (*c)[0].value("lastTransitionTime", when);
  json stored = json::array();
  for (const auto& v : crd["spec"]["versions"])
    if (v.value("storage", false)) stored.push_back(v["name"]);
  if (old)
    if (const json* sv = lookupPath(*old, "status.storedVersions"); sv && sv->is_array())
      for (const auto& v : *sv)
        if (std::find(stored.begin(), stored.end(), v) == stored.end()) stored.push_back(v);
  return {{"acceptedNames", accepted},
          {"conditions",
           {{{"type", "NamesAccepted"}, {"status", "True"}, {"reason", "NoConflicts"}, {"message", "no conflicts found"},
             {"lastTransitionTime", when}},
            {{"type", "Established"}, {"status", "True"}, {"reason", "InitialNamesAccepted"},
             {"message", "the initial names have been accepted"}, {"lastTransitionTime", when}}}},
          {"storedVersions", stored}};
}

}  // namespace

Api::Api(Store& store, Registry& registry) : store_(store), registry_(registry) {
  hooks_.deleteObject = [this](Txn& txn, const ObjectRef& ref) {
    if (TypePtr type = registry_.byKey(ref.resource)) (void)deleteObject(txn, *type, ref.ns, ref.name, "Background");
  };
  hooks_.dropOwnerRef = [](Txn& txn, const ObjectRef& ref, const std::string& uid) {
    ObjPtr obj = txn.get(ref.resource, ref.ns, ref.name);
    if (!obj) return;
    json next = *obj;
    json& refs = next["metadata"]["ownerReferences"];
    json kept = json::array();
    for (const auto& r : refs)
      if (!(r.is_object() && r.value("uid", "") == uid)) kept.push_back(r);
    if (kept.empty()) next["metadata"].erase("ownerReferences");
    else refs = kept;
    txn.put(ref.resource, std::move(next));
  };
}

json Api::present(const ResourceType& type, const std::string& version, const json& stored) {
  json out = stored;
  out["apiVersion"] = type.apiVersion(version);
  out["kind"] = type.kind;
  return out;
}

std::string Api::manager(const WriteOptions& o) const {
  if (!o.fieldManager.empty()) return o.fieldManager;
  std::string ua = o.userAgent.substr(0, o.userAgent.find('/'));
  return ua.empty() ? "unknown" : ua.substr(0, 128);
}

std::string Api::allocateClusterIp() {
  uint32_t n = nextIp_++;
  return "10.96." + std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255);
}

void Api::bootstrap() {
  Target t{registry_.byKey(kNamespaces), "v1", "", "", ""};
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    auto r = create(t, {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}},
                    WriteOptions{false, "kube-apiserver", "", "", false});
    (void)r;
  }
  json svc = {{"apiVersion", "v1"}, {"kind", "Service"},
              {"metadata", {{"name", "kubernetes"}, {"namespace", "default"},
                            {"labels", {{"component", "apiserver"}, {"provider", "kubernetes"}}}}},
              {"spec", {{"clusterIP", "10.96.0.1"}, {"clusterIPs", {"10.96.0.1"}},
                        {"ports", {{{"name", "https"}, {"port", 443}, {"protocol", "TCP"}, {"targetPort", 6443}}}}}}};
  (void)create(Target{registry_.byKey("/services"), "v1", "default", "", ""}, svc,
               WriteOptions{false, "kube-apiserver", "", "", false});
}

void Api::publishEndpoint(const std::string& ip, int port) {
  json ep = {{"apiVersion", "v1"}, {"kind", "Endpoints"},
             {"metadata", {{"name", "kubernetes"}, {"namespace", "default"},
                           {"labels", {{"endpointslice.kubernetes.io/skip-mirror", "true"}}}}},
             {"subsets", {{{"addresses", {{{"ip", ip}}}}, {"ports", {{{"name", "https"}, {"port", port}, {"protocol", "TCP"}}}}}}}};
  Target t{registry_.byKey("/endpoints"), "v1", "default", "kubernetes", ""};
  const WriteOptions o{false, "kube-apiserver", "", "", false};
  if (auto cur = get(t)) {
    ep["metadata"]["resourceVersion"] = cur->body["metadata"].value("resourceVersion", "");
    (void)update(t, ep, o);
  } else {
    (void)create(Target{t.type, "v1", "default", "", ""}, ep, o);
  }
}

Result<json> Api::decode(const Target& t, const json& body) const {
  if (!body.is_object()) return badRequest("the body of the request must be a JSON or YAML object");
  json obj = body;
  const ResourceType& type = *t.type;
  if (auto s = checkMetadataTypes(type, t.version, obj); !s) return s.error();
  std::string want = type.apiVersion(t.version);
  if (!obj.contains("apiVersion") || obj["apiVersion"].is_null() || obj["apiVersion"] == "") obj["apiVersion"] = want;
  if (!obj.contains("kind") || obj["kind"].is_null() || obj["kind"] == "") obj["kind"] = type.kind;
  if (!obj["apiVersion"].is_string() || obj["apiVersion"] != want)
    return badRequest("the API version in the data (" + obj["apiVersion"].dump() +
                      ") does not match the expected API version (" + want + ")");
  if (obj["kind"] != type.kind)
    return badRequest(type.kind + " in version \"" + t.version + "\" cannot be handled as a " + type.kind +
                      ": the kind in the data (" + obj["kind"].dump() + ") does not match the expected kind");
  if (!obj.contains("metadata") || obj["metadata"].is_null()) obj["metadata"] = json::object();
  if (!obj["metadata"].is_object()) return badRequest("metadata must be an object");
  json& m = obj["metadata"];
  if (type.namespaced) {
    std::string ns = m.value("namespace", "");
    if (!ns.empty() && ns != t.ns)
      return badRequest("the namespace of the provided object does not match the namespace sent on the request");
    m["namespace"] = t.ns;
  } else {
    m.erase("namespace");
  }
  return obj;
}

// ---- reads --------------------------------------------------------------------------------------

json Api::scaleOf(const ResourceType& type, const VersionInfo& vi, const json& obj) const {
  const json* spec = lookupPath(obj, vi.scale->specReplicasPath);
  const json* status = lookupPath(obj, vi.scale->statusReplicasPath);
  std::string selector;
  if (!type.custom) {
    auto sel = LabelSelector::fromObject(obj.value("spec", json::object()).value("selector", json::object()));
    if (sel) selector = sel->toString();
  } else if (const json* s = lookupPath(obj, vi.scale->labelSelectorPath); s && s->is_string()) {
    selector = *s;
  }
  json meta = {{"name", metaStr(obj, "name")}, {"uid", metaStr(obj, "uid")},
               {"resourceVersion", metaStr(obj, "resourceVersion")}, {"creationTimestamp", metaStr(obj, "creationTimestamp")}};
  if (type.namespaced) meta["namespace"] = metaStr(obj, "namespace");
  json st = {{"replicas", status && status->is_number() ? status->get<long long>() : 0}};
  if (!selector.empty()) st["selector"] = selector;
  return {{"kind", "Scale"}, {"apiVersion", "autoscaling/v1"}, {"metadata", meta},
          {"spec", {{"replicas", spec && spec->is_number() ? spec->get<long long>() : 0}}}, {"status", st}};
}

Result<Reply> Api::get(const Target& t) {
  const ResourceType& type = *t.type;
  const VersionInfo* vi = type.version(t.version);
  if ((t.subresource == "status" && !vi->hasStatus) || (t.subresource == "scale" && !vi->scale) ||
      (!t.subresource.empty() && t.subresource != "status" && t.subresource != "scale"))
    return ApiError{404, "NotFound", "the server could not find the requested resource", json::object()};
  ObjPtr obj = store_.transact([&](Txn& txn) { return txn.get(type.key(), t.ns, t.name); });
  if (!obj) return notFound(type.group, type.plural, t.name);
  if (t.subresource == "scale") return Reply{scaleOf(type, *vi, *obj)};
  return Reply{present(type, t.version, *obj)};
}

Result<Reply> Api::list(const Target& t, const ListOptions& o) {
  const ResourceType& type = *t.type;
  auto labels = LabelSelector::parse(o.labelSelector);
  if (!labels) return labels.error();
  auto fields = FieldSelector::parse(o.fieldSelector);
  if (!fields) return fields.error();
  std::string startAfter;
  if (!o.continueToken.empty()) {
    auto decoded = base64Decode(o.continueToken);
    json tok = decoded ? json::parse(*decoded, nullptr, false) : json();
    if (!tok.is_object() || !tok.contains("start"))
      return ApiError{400, "BadRequest", "continue key is not valid: malformed token", nullptr};
    startAfter = tok["start"];
  }
  std::vector<ObjPtr> objs;
  uint64_t rv = store_.transact([&](Txn& txn) {
    objs = txn.list(type.key(), t.ns);
    return txn.currentRv();
  });
  json items = json::array();
  static const json kEmpty = json::object();
  size_t remaining = 0;
  std::string cont;
  for (const auto& obj : objs) {
    std::string key = metaStr(*obj, "namespace") + "/" + metaStr(*obj, "name");
    if (!startAfter.empty() && key <= startAfter) continue;
    const json* l = lookupPath(*obj, "metadata.labels");
    if (!labels->matches(l ? *l : kEmpty) || !fields->matches(*obj)) continue;
    if (o.limit && items.size() >= o.limit) {
      ++remaining;
      continue;
    }
    items.push_back(present(type, t.version, *obj));
    if (o.limit && items.size() == o.limit) cont = key;
  }
  json meta = {{"resourceVersion", std::to_string(rv)}};
  if (remaining) {
    meta["continue"] = base64Encode(json{{"rv", rv}, {"start", cont}}.dump());
    meta["remainingItemCount"] = remaining;
  }
  return Reply{{{"kind", type.listKind}, {"apiVersion", type.apiVersion(t.version)}, {"metadata", meta}, {"items", items}}};
}

// ---- admission: defaulting, validation, pruning ----------------------------------------------

// Order as in kube-apiserver: defaulting (at decoding), mutating webhooks, validation (and, for
// custom resources, pruning), validating webhooks. Webhooks are called with the store lock held
// (see admission.h); /scale writes are not sent to webhooks.
Status Api::admit(Txn& txn, const Target& t, const json* old, json& obj, const WriteOptions& o,
                  std::vector<std::string>& warnings) {
  const ResourceType& type = *t.type;
  AdmissionAttributes attrs{t.type, t.version, t.ns, metaStr(obj, "name"), t.subresource, old ? "UPDATE" : "CREATE",
                            old, o.dryRun, o.fieldManager};
  bool webhooks = t.subresource != "scale";
  if (!type.custom)
    if (auto s = defaultBuiltin(type.kind, obj); !s) return s.error();
  if (!old && type.kind == "Pod" && type.group.empty() && t.subresource.empty()) mountServiceAccountToken(obj);
  if (webhooks) {
    if (auto s = callMutatingWebhooks(txn, attrs, obj, warnings); !s) return s.error();
    if (!type.custom)
      if (auto s = defaultBuiltin(type.kind, obj); !s) return s.error();
  }
  if (auto s = validateAndPrune(t, old, obj, o, warnings); !s) return s;
  if (webhooks) return callValidatingWebhooks(txn, attrs, obj, warnings);
  return Ok{};
}

Status Api::validateAndPrune(const Target& t, const json* old, json& obj, const WriteOptions& o,
                             std::vector<std::string>& warnings) {
  const ResourceType& type = *t.type;
  std::string name = metaStr(obj, "name");
  if (auto errs = validateMetadata(obj); !errs.empty()) return invalid(type.group, type.kind, name, errs);
  if (!type.custom) {
    std::vector<std::string> errs;
    if (type.kind == "CustomResourceDefinition") {
      errs = Registry::validateCrd(obj);
      if (errs.empty()) {
        if (!obj["spec"].contains("conversion")) obj["spec"]["conversion"] = {{"strategy", "None"}};
        for (auto& v : obj["spec"]["versions"])
          if (!v.contains("served")) v["served"] = true;
        if (old) {
          const json* og = lookupPath(*old, "spec.group");
          const json* op = lookupPath(*old, "spec.names.plural");
          if (og && *og != obj["spec"]["group"]) errs.push_back("spec.group: Invalid value: " + obj["spec"]["group"].dump() + ": field is immutable");
          if (op && *op != obj["spec"]["names"]["plural"])
            errs.push_back("status.storedVersions: Invalid value: changing spec.names.plural is not supported");
        }
        if (errs.empty()) obj["status"] = crdStatus(obj, old);
      }
    } else {
      errs = validateBuiltin(type.kind, obj, old);
    }
    if (!errs.empty()) return invalid(type.group, type.kind, name, errs);
    return Ok{};
  }
  const VersionInfo* vi = type.version(t.version);
  json pruned;
  std::vector<std::string> errs = flinktest::validateStructural(vi->schema, obj, &pruned);
  if (!errs.empty()) return invalid(type.group, type.kind, name, errs);
  if (!pruned.is_object()) pruned = obj;
  pruned["metadata"] = obj["metadata"];
  pruned["apiVersion"] = obj["apiVersion"];
  pruned["kind"] = obj["kind"];
  std::vector<std::string> unknown;
  prunedPaths(obj, pruned, "", unknown);
  if (!unknown.empty() && o.fieldValidation != "Ignore") {
    std::string list;
    for (const auto& u : unknown) list += (list.empty() ? "" : ", ") + std::string("unknown field \"") + u + "\"";
    if (o.fieldValidation == "Strict")
      return badRequest(type.kind + " in version \"" + t.version + "\" cannot be handled as a " + type.kind +
                        ": strict decoding error: " + list);
    for (const auto& u : unknown) warnings.push_back("unknown field \"" + u + "\"");
  }
  obj = std::move(pruned);
  return Ok{};
}

// ---- create -------------------------------------------------------------------------------------

Result<Reply> Api::create(const Target& t, const json& body, const WriteOptions& o) {
  if (t.subresource == "binding" && t.type->kind == "Pod" && t.type->group.empty()) return bind(t, body, o);
  if (!t.subresource.empty() || !t.name.empty())
    return methodNotAllowed("the server does not allow this method on the requested resource");
  auto obj = decode(t, body);
  if (!obj) return obj.error();
  return store_.transact([&](Txn& txn) { return createIn(txn, t, std::move(*obj), o, nullptr); });
}

// POST pods/<name>/binding (what kube-scheduler does): sets spec.nodeName of a pod that has
// none; 409 when it is already bound. Answers a Success Status, as the real server does.
Result<Reply> Api::bind(const Target& t, const json& body, const WriteOptions& o) {
  if (!body.is_object() || body.value("kind", "Binding") != "Binding") return badRequest("expected a Binding object");
  const json target = body.value("target", json::object());
  const std::string node = target.is_object() ? target.value("name", "") : "";
  if (node.empty()) return invalid("", "Binding", t.name, {"target.name: Required value"});
  if (target.value("kind", "Node") != "Node") return invalid("", "Binding", t.name, {"target.kind: Unsupported value"});
  return store_.transact([&](Txn& txn) -> Result<Reply> {
    ObjPtr old = txn.get(t.type->key(), t.ns, t.name);
    if (!old) return notFound("", "pods", t.name);
    json next = present(*t.type, t.version, *old);
    const std::string bound = next.value("spec", json::object()).value("nodeName", "");
    if (!bound.empty())
      return conflict("", "pods/binding", t.name, "pod " + t.name + " is already assigned to node \"" + bound + "\"");
    if (hasMeta(next, "deletionTimestamp")) return conflict("", "pods/binding", t.name, "pod " + t.name + " is being deleted");
    next["spec"]["nodeName"] = node;
    Target podTarget = t;
    podTarget.subresource.clear();
    auto r = commitUpdate(txn, podTarget, old, std::move(next), o, false, false);
    if (!r) return r.error();
    return Reply{successStatus(), 201, {}};
  });
}

Result<Reply> Api::createIn(Txn& txn, const Target& t, json obj, const WriteOptions& o, const json* applyManaged) {
  const ResourceType& type = *t.type;
  const VersionInfo& vi = *type.version(t.version);
  json& m = obj["metadata"];
  std::string name = m.value("name", "");
  if (name.empty() && !m.value("generateName", "").empty()) {
    do name = m["generateName"].get<std::string>() + randomNameSuffix();
    while (txn.get(type.key(), t.ns, name));
    m["name"] = name;
  }
  if (auto errs = validateName(type.kind, name); !errs.empty()) return invalid(type.group, type.kind, name, errs);
  if (type.namespaced) {
    ObjPtr ns = txn.get(kNamespaces, "", t.ns);
    if (!ns) return notFound("", "namespaces", t.ns);
    if (hasMeta(*ns, "deletionTimestamp"))
      return ApiError{403, "Forbidden",
                      type.plural + " \"" + name + "\" is forbidden: unable to create new content in namespace " + t.ns +
                          " because it is being terminated",
                      {{"name", name}, {"kind", type.plural}}};
  }
  if (txn.get(type.key(), t.ns, name)) return alreadyExists(type.group, type.plural, name);
  if (!metaStr(obj, "resourceVersion").empty())
    return internalError("resourceVersion should not be set on objects to be created");
  m["uid"] = newUid();
  m["creationTimestamp"] = nowRfc3339();
  for (const char* k : {"deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields", "resourceVersion"})
    m.erase(k);
  if (type.tracksGeneration) m["generation"] = 1;
  else m.erase("generation");
  if (vi.hasStatus && type.kind != "Namespace") {
    if (type.kind == "Pod") obj["status"] = {{"phase", "Pending"}, {"qosClass", "BestEffort"}};
    else obj.erase("status");
  }
  std::vector<std::string> warnings;
  if (auto s = admit(txn, t, nullptr, obj, o, warnings); !s) return s.error();
  if (type.kind == "Service") {
    json& spec = obj["spec"];
    if (spec.value("type", "") != "ExternalName" && spec.value("clusterIP", "").empty()) {
      std::string ip = allocateClusterIp();
      spec["clusterIP"] = ip;
      spec["clusterIPs"] = json::array({ip});
    } else if (spec.contains("clusterIP") && !spec.contains("clusterIPs")) {
      spec["clusterIPs"] = json::array({spec["clusterIP"]});
    }
    if (spec.value("type", "") == "NodePort" || spec.value("type", "") == "LoadBalancer")
      for (auto& p : spec["ports"])
        if (!p.contains("nodePort")) p["nodePort"] = 30000 + (nextIp_++ % 2768);
  }
  ManagerContext ctx{manager(o), "", type.apiVersion(t.version), scopeFor(vi, "")};
  obj["metadata"]["managedFields"] = applyManaged ? *applyManaged : managedFieldsAfterUpdate(nullptr, obj, &vi.schema, ctx);
  if (obj["metadata"]["managedFields"].empty()) obj["metadata"].erase("managedFields");
  if (o.dryRun) return Reply{obj, 201, warnings};
  json stored = std::move(obj);
  stored["apiVersion"] = type.apiVersion(type.storageVersion);
  ObjPtr s = txn.put(type.key(), std::move(stored));
  afterWrite(txn, type, nullptr, *s);
  return Reply{present(type, t.version, *s), 201, warnings};
}

// ---- update -------------------------------------------------------------------------------------

Result<Reply> Api::update(const Target& t, const json& body, const WriteOptions& o) {
  const ResourceType& type = *t.type;
  const VersionInfo& vi = *type.version(t.version);
  if ((t.subresource == "status" && !vi.hasStatus) || (t.subresource == "scale" && !vi.scale) ||
      (!t.subresource.empty() && t.subresource != "status" && t.subresource != "scale"))
    return ApiError{404, "NotFound", "the server could not find the requested resource", json::object()};
  if (t.subresource == "scale") {
    return store_.transact([&](Txn& txn) -> Result<Reply> {
      ObjPtr old = txn.get(type.key(), t.ns, t.name);
      if (!old) return notFound(type.group, type.plural, t.name);
      return updateScale(txn, t, old, body, o);
    });
  }
  auto obj = decode(t, body);
  if (!obj) return obj.error();
  std::string name = metaStr(*obj, "name");
  if (name != t.name)
    return badRequest("the name of the object (" + name + ") does not match the name on the URL (" + t.name + ")");
  return store_.transact([&](Txn& txn) -> Result<Reply> {
    ObjPtr old = txn.get(type.key(), t.ns, t.name);
    if (!old) return notFound(type.group, type.plural, t.name);
    return commitUpdate(txn, t, old, std::move(*obj), o, false, true);
  });
}

Result<Reply> Api::commitUpdate(Txn& txn, const Target& t, const ObjPtr& old, json next, const WriteOptions& o,
                                bool isApply, bool requireRv) {
  const ResourceType& type = *t.type;
  const VersionInfo& vi = *type.version(t.version);
  json cur = present(type, t.version, *old);
  if (!next.is_object()) return badRequest("the patched object is not a JSON object");
  if (auto s = checkMetadataTypes(type, t.version, next); !s) return s.error();
  if (!next.contains("metadata") || !next["metadata"].is_object()) next["metadata"] = json::object();
  json& m = next["metadata"];
  std::string name = metaStr(cur, "name");
  if (m.value("name", "") != name)
    return badRequest("the name of the object (" + m.value("name", "") + ") does not match the name on the URL (" + name + ")");
  if (type.namespaced) {
    if (!m.value("namespace", "").empty() && m["namespace"] != t.ns)
      return badRequest("the namespace of the provided object does not match the namespace sent on the request");
    m["namespace"] = t.ns;
  } else {
    m.erase("namespace");
  }
  if (next.value("kind", type.kind) != type.kind || next.value("apiVersion", type.apiVersion(t.version)) != type.apiVersion(t.version))
    return badRequest("the kind or API version in the data does not match the request");
  next["apiVersion"] = type.apiVersion(t.version);
  next["kind"] = type.kind;
  std::string rv = m.contains("resourceVersion") && m["resourceVersion"].is_string() ? m["resourceVersion"].get<std::string>() : "";
  std::string oldRv = metaStr(cur, "resourceVersion");
  if (!rv.empty() && rv != oldRv) return conflict(type.group, type.plural, name);
  if (rv.empty() && requireRv && !type.allowUnconditionalUpdate)
    return invalid(type.group, type.kind, name, {"metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"});
  m["resourceVersion"] = oldRv;
  for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"}) {
    if (hasMeta(cur, k)) m[k] = cur["metadata"][k];
    else m.erase(k);
  }
  m.erase("selfLink");
  json applyManaged = isApply ? m.value("managedFields", json::array()) : json();
  if (t.subresource == "status") {
    json status = next.contains("status") ? next["status"] : json();
    next = cur;
    if (status.is_null()) next.erase("status");
    else next["status"] = status;
  } else if (vi.hasStatus) {
    if (cur.contains("status")) next["status"] = cur["status"];
    else next.erase("status");
  }
  if (hasMeta(cur, "deletionTimestamp")) {
    std::vector<std::string> before = finalizers(cur), added;
    for (const auto& f : finalizers(next))
      if (std::find(before.begin(), before.end(), f) == before.end()) added.push_back("\"" + f + "\"");
    if (!added.empty()) {
      std::string list;
      for (const auto& a : added) list += (list.empty() ? "" : ", ") + a;
      return invalid(type.group, type.kind, name,
                     {"metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, "
                      "found new finalizers []string{" + list + "}"});
    }
  }
  std::vector<std::string> warnings;
  if (auto s = admit(txn, t, &cur, next, o, warnings); !s) return s.error();
  if (type.kind == "Service" && next.contains("spec") && cur.contains("spec")) {
    for (const char* k : {"clusterIP", "clusterIPs"})
      if (!next["spec"].contains(k) && cur["spec"].contains(k)) next["spec"][k] = cur["spec"][k];
    if (next["spec"].contains("ports") && cur["spec"].contains("ports"))
      for (auto& p : next["spec"]["ports"])
        for (const auto& q : cur["spec"]["ports"])
          if (!p.contains("nodePort") && q.contains("nodePort") && p.value("port", 0) == q.value("port", 0)) p["nodePort"] = q["nodePort"];
  }
  if (type.tracksGeneration) {
    long long gen = cur["metadata"].value("generation", 1LL);
    bool statusAware = vi.hasStatus;
    next["metadata"]["generation"] = specChanged(cur, next, statusAware) ? gen + 1 : gen;
  }
  ManagerContext ctx{manager(o), t.subresource, type.apiVersion(t.version), scopeFor(vi, t.subresource)};
  if (isApply) next["metadata"]["managedFields"] = applyManaged;
  else next["metadata"]["managedFields"] = managedFieldsAfterUpdate(&cur, next, &vi.schema, ctx);
  if (next["metadata"]["managedFields"].empty()) next["metadata"].erase("managedFields");

  if (next == cur) return Reply{cur, 200, warnings};
  if (o.dryRun) return Reply{next, 200, warnings};
  const bool finalDelete = hasMeta(next, "deletionTimestamp") && finalizers(next).empty();
  json stored = std::move(next);
  stored["apiVersion"] = type.apiVersion(type.storageVersion);
  if (finalDelete) {
    ObjPtr final = txn.erase(type.key(), t.ns, name, &stored);
    afterDelete(txn, type, *final, "Background");
    return Reply{present(type, t.version, *final), 200, warnings};
  }
  ObjPtr s = txn.put(type.key(), std::move(stored));
  afterWrite(txn, type, &cur, *s);
  return Reply{present(type, t.version, *s), 200, warnings};
}

Result<Reply> Api::updateScale(Txn& txn, const Target& t, const ObjPtr& old, const json& scale, const WriteOptions& o) {
  const ResourceType& type = *t.type;
  const VersionInfo& vi = *type.version(t.version);
  const json* replicas = lookupPath(scale, "spec.replicas");
  if (!replicas || !replicas->is_number_integer())
    return ApiError{422, "Invalid", "Scale.autoscaling \"" + t.name + "\" is invalid: spec.replicas: Required value", nullptr};
  if (replicas->get<long long>() < 0)
    return ApiError{422, "Invalid", "Scale.autoscaling \"" + t.name + "\" is invalid: spec.replicas: Invalid value: " +
                                        replicas->dump() + ": must be greater than or equal to 0", nullptr};
  json next = present(type, t.version, *old);
  std::string rv = metaStr(scale, "resourceVersion");
  if (!rv.empty()) next["metadata"]["resourceVersion"] = rv;
  setPath(next, vi.scale->specReplicasPath, *replicas);
  auto r = commitUpdate(txn, t, old, std::move(next), o, false, false);
  if (!r) return r.error();
  r->body = scaleOf(type, vi, r->body);
  return r;
}

// ---- patch --------------------------------------------------------------------------------------

Result<Reply> Api::patch(const Target& t, const std::string& contentType, const std::string& body, const WriteOptions& o) {
  const ResourceType& type = *t.type;
  const VersionInfo& vi = *type.version(t.version);
  if ((t.subresource == "status" && !vi.hasStatus) || (t.subresource == "scale" && !vi.scale) ||
      (!t.subresource.empty() && t.subresource != "status" && t.subresource != "scale"))
    return ApiError{404, "NotFound", "the server could not find the requested resource", json::object()};
  std::string ct = contentType.substr(0, contentType.find(';'));
  bool apply = ct == "application/apply-patch+yaml" || ct == "application/apply-patch+json" || ct == "application/apply-patch+cbor";
  if (ct != "application/merge-patch+json" && ct != "application/json-patch+json" &&
      ct != "application/strategic-merge-patch+json" && !apply)
    return unsupportedMediaType("the body of the request was in an unknown format - accepted media types include: "
                                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml" +
                                std::string(type.custom ? "" : ", application/strategic-merge-patch+json"));
  json p;
  if (apply) {
    auto parsed = parseYamlOrJson(body);
    if (!parsed) return parsed.error();
    p = std::move(*parsed);
    if (o.fieldManager.empty())
      return invalid("", "PatchOptions", "", {"fieldManager: Required value: is required for apply patch"});
  } else {
    p = json::parse(body, nullptr, false);
    if (p.is_discarded()) return badRequest("error decoding patch: invalid JSON");
  }
  if (ct == "application/strategic-merge-patch+json" && type.custom)
    return unsupportedMediaType("the body of the request was in an unknown format - accepted media types include: "
                                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
  return store_.transact([&](Txn& txn) -> Result<Reply> {
    ObjPtr old = txn.get(type.key(), t.ns, t.name);
    ManagerContext ctx{manager(o), t.subresource, type.apiVersion(t.version), scopeFor(vi, t.subresource)};
    if (!old) {
      if (!apply || !t.subresource.empty()) return notFound(type.group, type.plural, t.name);
      auto applied = decode(t, p);
      if (!applied) return applied.error();
      if (metaStr(*applied, "name") != t.name)
        return badRequest("the name of the object (" + metaStr(*applied, "name") + ") does not match the name on the URL (" + t.name + ")");
      auto merged = serverSideApply(nullptr, *applied, &vi.schema, ctx, o.force);
      if (!merged) return merged.error();
      json obj = *applied;
      json managed = (*merged)["metadata"]["managedFields"];
      return createIn(txn, t, std::move(obj), o, &managed);
    }
    json cur = t.subresource == "scale" ? scaleOf(type, vi, *old) : present(type, t.version, *old);
    Result<json> next = json();
    if (ct == "application/merge-patch+json") next = applyMergePatch(cur, p);
    else if (ct == "application/json-patch+json") next = applyJsonPatch(cur, p);
    else if (ct == "application/strategic-merge-patch+json")
      next = applyStrategicMergePatch(cur, p, t.subresource == "scale" ? nullptr : &vi.schema);
    else {
      if (t.subresource == "scale") next = applyMergePatch(cur, p);
      else {
        auto applied = decode(t, p);
        if (!applied) return applied.error();
        if (metaStr(*applied, "name") != t.name)
          return badRequest("the name of the object (" + metaStr(*applied, "name") + ") does not match the name on the URL (" + t.name + ")");
        next = serverSideApply(&cur, *applied, &vi.schema, ctx, o.force);
      }
    }
    if (!next) return next.error();
    if (t.subresource == "scale") return updateScale(txn, t, old, *next, o);
    return commitUpdate(txn, t, old, std::move(*next), o, apply, false);
  });
}

// ---- delete -------------------------------------------------------------------------------------

Result<Reply> Api::remove(const Target& t, const DeleteOptions& o) {
  const ResourceType& type = *t.type;
  if (!t.subresource.empty()) return methodNotAllowed("the server does not allow this method on the requested resource");
  return store_.transact([&](Txn& txn) -> Result<Reply> {
    ObjPtr obj = txn.get(type.key(), t.ns, t.name);
    if (!obj) return notFound(type.group, type.plural, t.name);
    if (!o.preconditionUid.empty() && o.preconditionUid != metaStr(*obj, "uid"))
      return conflict(type.group, type.plural, t.name,
                      "Precondition failed: UID in precondition: " + o.preconditionUid + ", UID in object meta: " + metaStr(*obj, "uid"));
    if (!o.preconditionRv.empty() && o.preconditionRv != metaStr(*obj, "resourceVersion"))
      return conflict(type.group, type.plural, t.name,
                      "Precondition failed: ResourceVersion in precondition: " + o.preconditionRv +
                          ", ResourceVersion in object meta: " + metaStr(*obj, "resourceVersion"));
    if (o.dryRun) return Reply{present(type, t.version, *obj)};
    auto r = deleteObject(txn, type, t.ns, t.name, o.propagationPolicy);
    if (!r) return r.error();
    return Reply{present(type, t.version, *r)};
  });
}

Result<Reply> Api::removeCollection(const Target& t, const ListOptions& lo, const DeleteOptions& o) {
  auto listed = list(t, lo);
  if (!listed) return listed.error();
  json deleted = json::array();
  for (const auto& item : listed->body["items"]) {
    Target one = t;
    one.name = metaStr(item, "name");
    one.ns = metaStr(item, "namespace");
    auto r = remove(one, o);
    if (r) deleted.push_back(r->body);
  }
  listed->body["items"] = deleted;
  return listed;
}

Result<json> Api::deleteObject(Txn& txn, const ResourceType& type, const std::string& ns, const std::string& name,
                               const std::string& policy) {
  if (type.key() == kNamespaces) return deleteNamespace(txn, name);
  ObjPtr obj = txn.get(type.key(), ns, name);
  if (!obj) return notFound(type.group, type.plural, name);
  if (!finalizers(*obj).empty()) {
    if (hasMeta(*obj, "deletionTimestamp")) return *obj;
    json next = *obj;
    next["metadata"]["deletionTimestamp"] = nowRfc3339();
    next["metadata"]["deletionGracePeriodSeconds"] = 0;
    if (type.tracksGeneration) next["metadata"]["generation"] = next["metadata"].value("generation", 1LL) + 1;
    ObjPtr s = txn.put(type.key(), std::move(next));
    if (policy == "Orphan") collectDependents(txn, metaStr(*s, "uid"), true, hooks_);
    return *s;
  }
  ObjPtr final = txn.erase(type.key(), ns, name);
  afterDelete(txn, type, *final, policy);
  return *final;
}

Result<json> Api::deleteNamespace(Txn& txn, const std::string& name) {
  ObjPtr ns = txn.get(kNamespaces, "", name);
  if (!ns) return notFound("", "namespaces", name);
  if (name == "default" || name == "kube-system" || name == "kube-public")
    return ApiError{403, "Forbidden", "namespaces \"" + name + "\" is forbidden: this namespace may not be deleted",
                    {{"name", name}, {"kind", "namespaces"}}};
  if (!hasMeta(*ns, "deletionTimestamp")) {
    json next = *ns;
    next["metadata"]["deletionTimestamp"] = nowRfc3339();
    next["metadata"]["deletionGracePeriodSeconds"] = 0;
    next["status"]["phase"] = "Terminating";
    ns = txn.put(kNamespaces, std::move(next));
  }
  bool empty = true;
  for (const auto& type : registry_.all()) {
    if (!type->namespaced) continue;
    for (const auto& obj : txn.list(type->key(), name)) {
      if (!hasMeta(*obj, "deletionTimestamp")) (void)deleteObject(txn, *type, name, metaStr(*obj, "name"), "Background");
    }
    if (!txn.list(type->key(), name).empty()) empty = false;
  }
  if (!empty) return *ns;
  json final = *ns;
  final["spec"]["finalizers"] = json::array();
  ObjPtr gone = txn.erase(kNamespaces, "", name, &final);
  collectDependents(txn, metaStr(*gone, "uid"), false, hooks_);
  return *gone;
}

void Api::afterWrite(Txn& txn, const ResourceType& type, const json* old, const json& stored) {
  if (type.key() == kCrds) {
    TypePtr nt = Registry::typeFromCrd(stored);
    if (old) {
      TypePtr ot = Registry::typeFromCrd(*old);
      if (ot->key() != nt->key()) registry_.uninstall(ot->key());
    }
    registry_.install(nt);
  } else if (type.key() == kNamespaces && !old) {
    std::string ns = metaStr(stored, "name");
    // What the service-account and root-CA-publisher controllers add to each new namespace.
    if (!txn.get("/serviceaccounts", ns, "default"))
      txn.put("/serviceaccounts", {{"apiVersion", "v1"}, {"kind", "ServiceAccount"},
                                   {"metadata", {{"name", "default"}, {"namespace", ns}, {"uid", newUid()},
                                                 {"creationTimestamp", nowRfc3339()}}}});
    if (!clusterCa_.empty() && !txn.get("/configmaps", ns, "kube-root-ca.crt"))
      txn.put("/configmaps", {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                              {"metadata", {{"name", "kube-root-ca.crt"}, {"namespace", ns}, {"uid", newUid()},
                                            {"creationTimestamp", nowRfc3339()},
                                            {"annotations", {{"kubernetes.io/description",
                                                              "Contains a CA bundle that can be used to verify the "
                                                              "kube-apiserver when using internal endpoints such as the "
                                                              "internal service IP or kubernetes.default.svc. No other "
                                                              "usage is guaranteed across distributions of Kubernetes "
                                                              "clusters."}}}}},
                              {"data", {{"ca.crt", clusterCa_}}}});
  }
}

void Api::afterDelete(Txn& txn, const ResourceType& type, const json& final, const std::string& policy) {
  if (type.key() == kCrds) {
    TypePtr ct = Registry::typeFromCrd(final);
    for (const auto& obj : txn.list(ct->key(), "")) {
      ObjPtr gone = txn.erase(ct->key(), metaStr(*obj, "namespace"), metaStr(*obj, "name"));
      collectDependents(txn, metaStr(*gone, "uid"), false, hooks_);
    }
    registry_.uninstall(ct->key());
  }
  collectDependents(txn, metaStr(final, "uid"), policy == "Orphan", hooks_);
}

void Api::sweep() {
  store_.transact([&](Txn& txn) {
    collectDangling(txn, hooks_);
    for (const auto& ns : txn.list(kNamespaces, ""))
      if (hasMeta(*ns, "deletionTimestamp")) (void)deleteNamespace(txn, metaStr(*ns, "name"));
    return 0;
  });
}

}  // namespace kta
