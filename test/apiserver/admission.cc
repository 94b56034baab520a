#include "admission.h"

#include "patch.h"
#include "selectors.h"
#include "util.h"
#include "flink/common/certificates.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <set>

namespace kta {
namespace {

const std::string kGroup = "admissionregistration.k8s.io";
const std::string kValidating = kGroup + "/validatingwebhookconfigurations";
const std::string kMutating = kGroup + "/mutatingwebhookconfigurations";

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& arrayOr(const json& j, const char* key) {
  static const json kEmpty = json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

// `Unsupported value: "x": supported values: "a", "b"` (field.NotSupported).
std::string notSupported(const std::string& path, const json& value, std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "\"" : ", \"") + std::string(a) + "\"";
  return path + ": Unsupported value: " + value.dump() + ": supported values: " + list;
}

// Go's %#v of a []string, as field.Invalid prints list values.
std::string goStrings(const json& list) {
  std::string s = "[]string{";
  for (size_t i = 0; i < list.size(); ++i) s += (i ? ", " : "") + (list[i].is_string() ? list[i].dump() : json(list[i].dump()).dump());
  return s + "}";
}

bool contains(const json& list, const std::string& v) {
  return std::any_of(list.begin(), list.end(), [&](const json& e) { return e.is_string() && e == v; });
}

// ---- configuration: validation ---------------------------------------------------------------

// k8s.io/apimachinery/pkg/api/validation.IsFullyQualifiedName.
void validateWebhookName(const std::string& path, const std::string& name, std::vector<std::string>& errs) {
  if (name.empty()) return errs.push_back(path + ": Required value");
  std::string n = name.back() == '.' ? name.substr(0, name.size() - 1) : name;
  if (auto m = validateDns1123Subdomain(n); !m.empty())
    return errs.push_back(path + ": Invalid value: \"" + n + "\": " + m);
  if (std::count(n.begin(), n.end(), '.') < 2)
    errs.push_back(path + ": Invalid value: \"" + n + "\": should be a domain with at least three segments separated by dots");
}

void validateUrl(const std::string& path, const std::string& url, std::vector<std::string>& errs) {
  static const std::regex re(R"(^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, re)) return errs.push_back(path + ": Invalid value: \"" + url + "\": host must be specified");
  if (m[1] != "https") errs.push_back(path + ": Invalid value: \"" + m[1].str() + "\": 'https' is the only allowed URL scheme");
  if (m[2].length() == 0) errs.push_back(path + ": Invalid value: \"\": host must be specified");
  if (m[2].str().find('@') != std::string::npos)
    errs.push_back(path + ": Invalid value: \"" + m[2].str() + "\": user information is not permitted in the URL");
  if (m[5].matched) errs.push_back(path + ": Invalid value: \"" + m[5].str().substr(1) + "\": fragments are not permitted in the URL");
  if (m[4].matched) errs.push_back(path + ": Invalid value: \"" + m[4].str().substr(1) + "\": query parameters are not permitted in the URL");
}

void validateClientConfig(const std::string& path, const json& cc, std::vector<std::string>& errs) {
  bool hasUrl = cc.contains("url") && !cc["url"].is_null(), hasService = cc.contains("service") && !cc["service"].is_null();
  if (hasUrl == hasService) return errs.push_back(path + ": Required value: exactly one of url or service is required");
  if (hasUrl) return validateUrl(path + ".url", str(cc, "url"), errs);
  const json& s = cc["service"];
  std::string sp = path + ".service";
  if (str(s, "name").empty()) errs.push_back(sp + ".name: Required value: service name is required");
  if (str(s, "namespace").empty()) errs.push_back(sp + ".namespace: Required value: service namespace is required");
  if (s.contains("path") && !str(s, "path").empty() && str(s, "path")[0] != '/')
    errs.push_back(sp + ".path: Invalid value: \"" + str(s, "path") + "\": must start with a '/'");
  long long port = s.value("port", 443LL);
  if (port < 1 || port > 65535)
    errs.push_back(sp + ".port: Invalid value: " + std::to_string(port) + ": port is not valid: must be between 1 and 65535, inclusive");
}

void validateRule(const std::string& path, const json& r, std::vector<std::string>& errs) {
  const json& ops = arrayOr(r, "operations");
  if (ops.empty()) errs.push_back(path + ".operations: Required value");
  if (ops.size() > 1 && contains(ops, "*"))
    errs.push_back(path + ".operations: Invalid value: " + goStrings(ops) + ": if '*' is present, must not specify other operations");
  for (size_t i = 0; i < ops.size(); ++i)
    if (!contains(json{"*", "CONNECT", "CREATE", "DELETE", "UPDATE"}, ops[i].is_string() ? ops[i].get<std::string>() : ""))
      errs.push_back(notSupported(path + ".operations[" + std::to_string(i) + "]", ops[i], {"*", "CONNECT", "CREATE", "DELETE", "UPDATE"}));
  for (const char* list : {"apiGroups", "apiVersions", "resources"})
    if (arrayOr(r, list).empty()) errs.push_back(path + "." + list + ": Required value");
  const json& versions = arrayOr(r, "apiVersions");
  for (size_t i = 0; i < versions.size(); ++i)
    if (!versions[i].is_string() || versions[i] == "")
      errs.push_back(path + ".apiVersions[" + std::to_string(i) + "]: Required value: must not be empty");
  const json& resources = arrayOr(r, "resources");
  for (size_t i = 0; i < resources.size(); ++i)
    if (!resources[i].is_string() || resources[i] == "")
      errs.push_back(path + ".resources[" + std::to_string(i) + "]: Required value");
  std::string scope = r.contains("scope") ? str(r, "scope") : "*";
  if (scope != "*" && scope != "Cluster" && scope != "Namespaced")
    errs.push_back(notSupported(path + ".scope", r["scope"], {"*", "Cluster", "Namespaced"}));
}

void validateWebhook(const std::string& path, const json& h, bool mutating, std::vector<std::string>& errs) {
  validateWebhookName(path + ".name", str(h, "name"), errs);
  const json& rules = arrayOr(h, "rules");
  for (size_t i = 0; i < rules.size(); ++i) validateRule(path + ".rules[" + std::to_string(i) + "]", rules[i], errs);
  std::string fp = str(h, "failurePolicy");
  if (fp != "Fail" && fp != "Ignore") errs.push_back(notSupported(path + ".failurePolicy", h.value("failurePolicy", json("")), {"Fail", "Ignore"}));
  std::string mp = str(h, "matchPolicy");
  if (mp != "Exact" && mp != "Equivalent")
    errs.push_back(notSupported(path + ".matchPolicy", h.value("matchPolicy", json("")), {"Equivalent", "Exact"}));
  if (!h.contains("sideEffects") || h["sideEffects"].is_null())
    errs.push_back(path + ".sideEffects: Required value: must specify one of None, NoneOnDryRun");
  else if (h["sideEffects"] != "None" && h["sideEffects"] != "NoneOnDryRun")
    errs.push_back(notSupported(path + ".sideEffects", h["sideEffects"], {"None", "NoneOnDryRun"}));
  long long timeout = h.value("timeoutSeconds", 10LL);
  if (timeout < 1 || timeout > 30)
    errs.push_back(path + ".timeoutSeconds: Invalid value: " + std::to_string(timeout) + ": the timeout value must be between 1 and 30 seconds");
  const json& versions = arrayOr(h, "admissionReviewVersions");
  if (versions.empty())
    errs.push_back(path + ".admissionReviewVersions: Required value: must specify one of v1, v1beta1");
  else if (!contains(versions, "v1") && !contains(versions, "v1beta1"))
    errs.push_back(path + ".admissionReviewVersions: Invalid value: " + goStrings(versions) + ": must include at least one of v1, v1beta1");
  if (mutating) {
    std::string rp = str(h, "reinvocationPolicy");
    if (rp != "Never" && rp != "IfNeeded")
      errs.push_back(notSupported(path + ".reinvocationPolicy", h.value("reinvocationPolicy", json("")), {"IfNeeded", "Never"}));
  }
  for (const char* sel : {"namespaceSelector", "objectSelector"})
    if (h.contains(sel))
      if (auto s = LabelSelector::fromObject(h[sel]); !s)
        errs.push_back(path + "." + sel + ": Invalid value: " + h[sel].dump() + ": " + s.error().message);
  validateClientConfig(path + ".clientConfig", h.value("clientConfig", json::object()), errs);
}

// ---- calling --------------------------------------------------------------------------------

// A failure to call a webhook (webhookutil.ErrCallingWebhook): subject to failurePolicy.
struct CallFailure {
  std::string reason;  // "failed to call webhook: ..." or "received invalid webhook response: ..."
};

struct Endpoint {
  std::string host;      // what the certificate must be valid for, and the SNI name
  std::string address;   // where to connect (empty: resolve host)
  int port = 443;
  std::string path;
  std::string url;       // as Go prints the request's URL in errors (with the ?timeout= query)
};

// Go's url.Error wording for a request that failed: Post "<url>": <detail>.
CallFailure postFailed(const std::string& url, const std::string& detail) {
  return {"failed to call webhook: Post \"" + url + "\": " + detail};
}

// The ready address and port of a Service's endpoint for `servicePort` (EndpointSlices with
// label kubernetes.io/service-name, else the Endpoints object), as kube-apiserver's endpoint
// routing resolves it (k8s.io/apiserver/pkg/util/proxy.ResolveEndpoint).
std::optional<std::pair<std::string, int>> serviceEndpoint(const Store::Txn& txn, const std::string& ns,
                                                             const std::string& svc, const std::string& portName) {
  for (const auto& slice : txn.list("discovery.k8s.io/endpointslices", ns)) {
    const json* l = lookupPath(*slice, "metadata.labels");
    if (!l || !l->is_object() || l->value("kubernetes.io/service-name", "") != svc) continue;
    for (const auto& p : arrayOr(*slice, "ports")) {
      if (str(p, "name") != portName || !p.contains("port")) continue;
      for (const auto& e : arrayOr(*slice, "endpoints")) {
        const json* ready = lookupPath(e, "conditions.ready");
        if (ready && ready->is_boolean() && !ready->get<bool>()) continue;
        for (const auto& a : arrayOr(e, "addresses"))
          if (a.is_string()) return std::make_pair(a.get<std::string>(), p["port"].get<int>());
      }
    }
  }
  if (ObjPtr eps = txn.get("/endpoints", ns, svc))
    for (const auto& ss : arrayOr(*eps, "subsets"))
      for (const auto& p : arrayOr(ss, "ports"))
        if (str(p, "name") == portName && p.contains("port"))
          for (const auto& a : arrayOr(ss, "addresses"))
            if (!str(a, "ip").empty()) return std::make_pair(str(a, "ip"), p["port"].get<int>());
  return std::nullopt;
}

// Where clientConfig sends the request, or the failure to find out.
std::variant<Endpoint, CallFailure> resolve(const Store::Txn& txn, const json& cc, const std::string& query) {
  Endpoint ep;
  if (cc.contains("url") && cc["url"].is_string()) {
    static const std::regex re(R"(^https://(\[[^\]]+\]|[^/:?#]+)(:(\d+))?([^?#]*)$)");
    std::smatch m;
    std::string url = cc["url"];
    if (!std::regex_match(url, m, re)) return postFailed(url + query, "unsupported URL");
    ep.host = m[1];
    if (ep.host.front() == '[') ep.host = ep.host.substr(1, ep.host.size() - 2);
    ep.port = m[3].matched ? std::stoi(m[3]) : 443;
    ep.path = m[4].length() ? m[4].str() : "/";
    ep.url = url + query;
    return ep;
  }
  const json& s = cc.value("service", json::object());
  std::string ns = str(s, "namespace"), name = str(s, "name");
  int port = s.value("port", 443);
  ep.host = name + "." + ns + ".svc";
  ep.port = port;
  ep.path = str(s, "path").empty() ? "/" : str(s, "path");
  std::string url = "https://" + ep.host + ":" + std::to_string(port) + ep.path + query;
  ep.url = url;
  ObjPtr svc = txn.get("/services", ns, name);
  if (!svc) return postFailed(url, "service \"" + name + "\" not found");
  const json* ports = lookupPath(*svc, "spec.ports");
  const json* svcPort = nullptr;
  if (ports && ports->is_array())
    for (const auto& p : *ports)
      if (p.value("port", 0) == port) svcPort = &p;
  if (!svcPort) return postFailed(url, "no service port " + std::to_string(port) + " found for service \"" + name + "\"");
  auto target = serviceEndpoint(txn, ns, name, str(*svcPort, "name"));
  if (!target) return postFailed(url, "no endpoints available for service \"" + name + "\"");
  ep.address = target->first;
  ep.port = target->second;
  return ep;
}

// A store holding the certificates of a PEM bundle, or null when it holds none.
X509_STORE* storeFromPem(const std::string& pem) {
  auto certs = flink::certs::parseCertificates(pem, "caBundle");
  if (!certs.ok()) return nullptr;
  auto store = flink::certs::newTrustStore("", "caBundle");
  if (!store.ok()) return nullptr;
  for (auto& c : *certs) X509_STORE_add_cert(store->get(), c.get());
  return std::move(store).value().release();
}

// What Go's TLS stack says for a certificate OpenSSL refused.
std::string verifyFailure(long result, const std::string& host) {
  switch (result) {
    case X509_V_OK: return "tls: failed to verify certificate: x509: certificate is not valid for " + host;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
    default: return std::string("tls: failed to verify certificate: x509: ") + X509_verify_cert_error_string(result);
  }
}

// What client-go's REST client says for a non-2xx answer that is not a Status object.
std::string httpFailure(int code, const std::string& body) {
  json s = json::parse(body, nullptr, false);
  if (s.is_object() && s.value("kind", "") == "Status" && !str(s, "message").empty()) return str(s, "message");
  if (code == 404) return "the server could not find the requested resource";
  if (code == 500) return "an error on the server (" + json(body.empty() ? "unknown" : body.substr(0, 1024)).dump() +
                          ") has prevented the request from succeeding";
  return "the server responded with the status code " + std::to_string(code) + " but did not return more information";
}

// POSTs the AdmissionReview; the parsed response, or the failure.
std::variant<json, CallFailure> post(const Store::Txn& txn, const json& hook, const json& review) {
  const json& cc = hook.value("clientConfig", json::object());
  int timeout = hook.value("timeoutSeconds", 10);
  std::string query = "?timeout=" + std::to_string(timeout) + "s";
  auto where = resolve(txn, cc, query);
  if (auto* f = std::get_if<CallFailure>(&where)) return *f;
  const Endpoint& ep = std::get<Endpoint>(where);
  const std::string& url = ep.url;
  httplib::SSLClient client(ep.host, ep.port);
  if (!ep.address.empty()) client.set_hostname_addr_map({{ep.host, ep.address}});
  client.enable_server_certificate_verification(true);
  if (!str(cc, "caBundle").empty()) {
    auto pem = base64Decode(str(cc, "caBundle"));
    X509_STORE* store = pem ? storeFromPem(*pem) : nullptr;
    if (!store) return CallFailure{"could not get REST client: unable to load root certificates: unable to parse bytes as PEM block"};
    client.set_ca_cert_store(store);  // owned by the client's SSL context from here on
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  client.set_connection_timeout(std::min(timeout, 5), 0);
  client.set_read_timeout(timeout, 0);
  client.set_write_timeout(timeout, 0);
  client.set_keep_alive(false);
  auto res = client.Post((ep.path + query).c_str(), review.dump(), "application/json");
  std::string address = ep.address.empty() ? ep.host : ep.address;
  if (address.find(':') != std::string::npos) address = "[" + address + "]";
  std::string dial = "dial tcp " + address + ":" + std::to_string(ep.port);
  if (!res) {
    switch (res.error()) {
      case httplib::Error::Connection: return postFailed(url, dial + ": connect: connection refused");
      case httplib::Error::ConnectionTimeout: return postFailed(url, dial + ": i/o timeout");
      case httplib::Error::SSLServerVerification: return postFailed(url, verifyFailure(client.get_openssl_verify_result(), ep.host));
      case httplib::Error::Read:
        if (std::chrono::steady_clock::now() >= deadline - std::chrono::milliseconds(100))
          return postFailed(url, "context deadline exceeded");
        return postFailed(url, "EOF");
      default: return postFailed(url, httplib::to_string(res.error()));
    }
  }
  if (res->status < 200 || res->status > 299) return CallFailure{"failed to call webhook: " + httpFailure(res->status, res->body)};
  json out = json::parse(res->body, nullptr, false);
  if (!out.is_object())
    return CallFailure{"failed to call webhook: couldn't get version/kind; json parse error: unexpected end of JSON input"};
  return out;
}

struct Hook {
  const json* webhook;
  std::string version;  // the version of the resource the webhook gets the object at
};

bool ruleMatches(const json& rule, const AdmissionAttributes& a, const std::string& version) {
  auto any = [](const json& list, const std::string& v) { return contains(list, "*") || contains(list, v); };
  if (!any(arrayOr(rule, "operations"), a.operation) || !any(arrayOr(rule, "apiGroups"), a.type->group) ||
      !any(arrayOr(rule, "apiVersions"), version))
    return false;
  std::string scope = rule.contains("scope") ? str(rule, "scope") : "*";
  if ((scope == "Cluster" && !a.ns.empty()) || (scope == "Namespaced" && a.ns.empty())) return false;
  for (const auto& r : arrayOr(rule, "resources")) {
    if (!r.is_string()) continue;
    std::string res = r, sub;
    if (auto slash = res.find('/'); slash != std::string::npos) {
      sub = res.substr(slash + 1);
      res = res.substr(0, slash);
    }
    if ((res == "*" || res == a.type->plural) && (sub == "*" || sub == a.subresource)) return true;
  }
  return false;
}

// The version at which the webhook's rules match the request (matchPolicy Equivalent also
// tries the type's other served versions), or "".
std::string matchingVersion(const json& hook, const AdmissionAttributes& a) {
  std::vector<std::string> versions = {a.version};
  if (hook.value("matchPolicy", "Equivalent") == "Equivalent")
    for (const auto& v : a.type->versionOrder)
      if (v != a.version) versions.push_back(v);
  for (const auto& v : versions)
    for (const auto& rule : arrayOr(hook, "rules"))
      if (ruleMatches(rule, a, v)) return v;
  return "";
}

const json& labelsOf(const json* obj) {
  static const json kEmpty = json::object();
  const json* l = obj ? lookupPath(*obj, "metadata.labels") : nullptr;
  return l && l->is_object() ? *l : kEmpty;
}

// Whether the selectors let the webhook see the request; an unparsable selector is an error.
Result<bool> selected(const Store::Txn& txn, const json& hook, const AdmissionAttributes& a, const json& obj) {
  auto nsSel = LabelSelector::fromObject(hook.value("namespaceSelector", json::object()));
  if (!nsSel) return internalError(nsSel.error().message);
  if (!nsSel->empty()) {
    if (a.type->kind == "Namespace" && a.type->group.empty()) {
      if (!nsSel->matches(labelsOf(&obj))) return false;
    } else if (a.type->namespaced) {
      ObjPtr ns = txn.get("/namespaces", "", a.ns);
      if (!nsSel->matches(labelsOf(ns.get()))) return false;
    }
  }
  auto objSel = LabelSelector::fromObject(hook.value("objectSelector", json::object()));
  if (!objSel) return internalError(objSel.error().message);
  return objSel->empty() || objSel->matches(labelsOf(&obj)) || (a.oldObject && objSel->matches(labelsOf(a.oldObject)));
}

// The webhooks of all configurations of one kind (sorted by configuration name) that want the request.
Result<std::vector<Hook>> matchingHooks(const Store::Txn& txn, const std::string& resource, const AdmissionAttributes& a,
                                        const json& obj, std::vector<ObjPtr>& keep) {
  std::vector<Hook> out;
  // Requests for the webhook configurations themselves are never sent to webhooks.
  if (a.type->group == kGroup) return out;
  keep = txn.list(resource, "");
  for (const auto& config : keep)
    for (const auto& hook : arrayOr(*config, "webhooks")) {
      std::string v = matchingVersion(hook, a);
      if (v.empty()) continue;
      auto sel = selected(txn, hook, a, obj);
      if (!sel) return sel.error();
      if (*sel) out.push_back({&hook, v});
    }
  return out;
}

json gvk(const ResourceType& t, const std::string& v) { return {{"group", t.group}, {"version", v}, {"kind", t.kind}}; }
json gvr(const ResourceType& t, const std::string& v) { return {{"group", t.group}, {"version", v}, {"resource", t.plural}}; }

json reviewFor(const AdmissionAttributes& a, const std::string& version, const std::string& uid, const json& obj) {
  auto at = [&](const json& o) {
    json c = o;
    c["apiVersion"] = a.type->apiVersion(version);
    return c;
  };
  json options = {{"apiVersion", "meta.k8s.io/v1"}, {"kind", a.operation == "CREATE" ? "CreateOptions" : "UpdateOptions"}};
  if (a.dryRun) options["dryRun"] = json::array({"All"});
  if (!a.fieldManager.empty()) options["fieldManager"] = a.fieldManager;
  json req = {{"uid", uid},
              {"kind", gvk(*a.type, version)},
              {"resource", gvr(*a.type, version)},
              {"requestKind", gvk(*a.type, a.version)},
              {"requestResource", gvr(*a.type, a.version)},
              {"name", a.name},
              {"operation", a.operation},
              {"userInfo", {{"username", "kube-test-apiserver:admin"}, {"groups", {"system:masters", "system:authenticated"}}}},
              {"object", at(obj)},
              {"oldObject", a.oldObject ? at(*a.oldObject) : json(nullptr)},
              {"dryRun", a.dryRun},
              {"options", options}};
  if (!a.subresource.empty()) {
    req["subResource"] = a.subresource;
    req["requestSubResource"] = a.subresource;
  }
  if (!a.ns.empty()) req["namespace"] = a.ns;
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", req}};
}

// webhookrequest.VerifyAdmissionResponse: the response, or why it is not one.
std::variant<json, CallFailure> verify(const json& review, const std::string& uid, bool mutating) {
  auto invalid = [](const std::string& why) { return CallFailure{"received invalid webhook response: " + why}; };
  if (!review.contains("response") || !review["response"].is_object()) return invalid("webhook response was absent");
  const json& r = review["response"];
  if (str(r, "uid") != uid) return invalid("expected response.uid=\"" + uid + "\", got \"" + str(r, "uid") + "\"");
  std::string av = str(review, "apiVersion"), kind = str(review, "kind");
  if (av != "admission.k8s.io/v1" || kind != "AdmissionReview")
    return invalid("expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got " + av + ", Kind=" + kind);
  bool hasPatch = r.contains("patch") && !r["patch"].is_null() && r["patch"] != "";
  bool hasType = r.contains("patchType") && !r["patchType"].is_null();
  if (mutating) {
    if (hasPatch && !hasType) return invalid("webhook returned response.patch but not response.patchType");
    if (!hasPatch && hasType) return invalid("webhook returned response.patchType but not response.patch");
    if (hasType && str(r, "patchType") != "JSONPatch")
      return invalid("webhook returned invalid response.patchType of \"" + str(r, "patchType") + "\"");
  } else {
    if (hasPatch) return invalid("validating webhook may not return response.patch");
    if (hasType) return invalid("validating webhook may not return response.patchType");
  }
  return r;
}

// errors.ToStatusErr: the denial as the client sees it.
ApiError denied(const std::string& name, const json& response) {
  json status = response.value("status", json::object());
  if (!status.is_object()) status = json::object();
  ApiError e;
  e.code = std::max(400, status.value("code", 0));
  e.reason = str(status, "reason");
  std::string prefix = "admission webhook \"" + name + "\" denied the request";
  if (!str(status, "message").empty()) e.message = prefix + ": " + str(status, "message");
  else if (!e.reason.empty()) e.message = prefix + ": " + e.reason;
  else e.message = prefix + " without explanation";
  e.details = status.contains("details") ? status["details"] : json(nullptr);
  return e;
}

// One webhook call: the verified response, a denial/internal error, or a skipped failure (nullopt).
Result<std::optional<json>> call(const Store::Txn& txn, const json& hook, const AdmissionAttributes& a, const std::string& version,
                                 const json& obj, bool mutating, std::vector<std::string>& warnings) {
  std::string name = str(hook, "name");
  auto failed = [&](const CallFailure& f) -> Result<std::optional<json>> {
    if (hook.value("failurePolicy", "Fail") == "Ignore") return std::optional<json>();
    std::string msg = "failed calling webhook \"" + name + "\": " + f.reason;
    ApiError e = internalError("Internal error occurred: " + msg);
    e.details = {{"causes", {{{"message", msg}}}}};
    return e;
  };
  if (!contains(arrayOr(hook, "admissionReviewVersions"), "v1"))
    return failed({"could not create admission objects: webhook does not accept known AdmissionReview versions (v1)"});
  std::string uid = newUid();
  auto answer = post(txn, hook, reviewFor(a, version, uid, obj));
  if (auto* f = std::get_if<CallFailure>(&answer)) return failed(*f);
  auto response = verify(std::get<json>(answer), uid, mutating);
  if (auto* f = std::get_if<CallFailure>(&response)) return failed(*f);
  json& r = std::get<json>(response);
  for (const auto& w : arrayOr(r, "warnings"))
    if (w.is_string()) warnings.push_back(w);
  if (!r.value("allowed", false)) return denied(name, r);
  return std::optional<json>(std::move(r));
}

}  // namespace

void defaultWebhookConfiguration(json& obj, bool mutating) {
  if (!obj.contains("webhooks") || !obj["webhooks"].is_array()) return;
  for (auto& h : obj["webhooks"]) {
    if (!h.is_object()) continue;
    for (const auto& [k, v] : {std::pair<const char*, json>{"failurePolicy", "Fail"}, {"matchPolicy", "Equivalent"},
                               {"timeoutSeconds", 10}, {"namespaceSelector", json::object()}, {"objectSelector", json::object()}})
      if (!h.contains(k) || h[k].is_null()) h[k] = v;
    if (mutating && (!h.contains("reinvocationPolicy") || h["reinvocationPolicy"].is_null())) h["reinvocationPolicy"] = "Never";
    if (h.contains("rules") && h["rules"].is_array())
      for (auto& r : h["rules"])
        if (r.is_object() && (!r.contains("scope") || r["scope"].is_null())) r["scope"] = "*";
    json* svc = h.contains("clientConfig") && h["clientConfig"].is_object() && h["clientConfig"].contains("service")
                    ? &h["clientConfig"]["service"] : nullptr;
    if (svc && svc->is_object() && (!svc->contains("port") || (*svc)["port"].is_null())) (*svc)["port"] = 443;
  }
}

std::vector<std::string> validateWebhookConfiguration(const json& obj) {
  std::vector<std::string> errs;
  bool mutating = str(obj, "kind") == "MutatingWebhookConfiguration";
  const json& hooks = arrayOr(obj, "webhooks");
  std::set<std::string> names;
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::string path = "webhooks[" + std::to_string(i) + "]";
    if (!hooks[i].is_object()) {
      errs.push_back(path + ": Invalid value: " + hooks[i].dump() + ": must be an object");
      continue;
    }
    std::string name = str(hooks[i], "name");
    if (!name.empty() && !names.insert(name).second) errs.push_back(path + ".name: Duplicate value: \"" + name + "\"");
    validateWebhook(path, hooks[i], mutating, errs);
  }
  return errs;
}

Status callMutatingWebhooks(const Store::Txn& txn, const AdmissionAttributes& a, json& obj, std::vector<std::string>& warnings) {
  std::vector<ObjPtr> configs;
  auto hooks = matchingHooks(txn, kMutating, a, obj, configs);
  if (!hooks) return hooks.error();
  for (const auto& h : *hooks) {
    auto r = call(txn, *h.webhook, a, h.version, obj, true, warnings);
    if (!r) return r.error();
    if (!*r || !(*r)->contains("patch")) continue;
    std::string name = str(*h.webhook, "name");
    auto decoded = base64Decode(str(**r, "patch"));
    json patch = decoded ? json::parse(*decoded, nullptr, false) : json();
    if (!patch.is_array()) return internalError("Internal error occurred: the patch of webhook \"" + name + "\" is not a JSON patch");
    json at = obj;
    at["apiVersion"] = a.type->apiVersion(h.version);
    auto patched = applyJsonPatch(at, patch);
    if (!patched) return internalError("Internal error occurred: " + patched.error().message);
    if (!patched->is_object()) return internalError("Internal error occurred: the patched object is not a JSON object");
    obj = std::move(*patched);
    obj["apiVersion"] = a.type->apiVersion(a.version);
  }
  return Ok{};
}

Status callValidatingWebhooks(const Store::Txn& txn, const AdmissionAttributes& a, const json& obj, std::vector<std::string>& warnings) {
  std::vector<ObjPtr> configs;
  auto hooks = matchingHooks(txn, kValidating, a, obj, configs);
  if (!hooks) return hooks.error();
  for (const auto& h : *hooks)
    if (auto r = call(txn, *h.webhook, a, h.version, obj, false, warnings); !r) return r.error();
  return Ok{};
}

}  // namespace kta
