#include "builtin.h"

#include "admission.h"
#include "util.h"

#include <regex>

namespace kta {
namespace {

void setDefault(json& o, const char* key, json value) {
  if (!o.contains(key) || o[key].is_null()) o[key] = std::move(value);
}

std::string imageTag(const std::string& image) {
  auto at = image.find('@');
  if (at != std::string::npos) return "@digest";
  auto slash = image.rfind('/');
  auto colon = image.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return "";
  return image.substr(colon + 1);
}

void defaultContainer(json& c) {
  if (!c.is_object()) return;
  std::string tag = imageTag(c.value("image", ""));
  setDefault(c, "imagePullPolicy", tag.empty() || tag == "latest" ? "Always" : "IfNotPresent");
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  setDefault(c, "resources", json::object());
  if (c.contains("ports") && c["ports"].is_array())
    for (auto& p : c["ports"])
      if (p.is_object()) setDefault(p, "protocol", "TCP");
  if (c.contains("env") && c["env"].is_array())
    for (auto& e : c["env"])
      if (e.is_object() && e.contains("valueFrom") && e["valueFrom"].contains("fieldRef"))
        setDefault(e["valueFrom"]["fieldRef"], "apiVersion", "v1");
}

void defaultPodSpec(json& spec) {
  if (!spec.is_object()) return;
  setDefault(spec, "restartPolicy", "Always");
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "securityContext", json::object());
  setDefault(spec, "schedulerName", "default-scheduler");
  for (const char* list : {"containers", "initContainers"})
    if (spec.contains(list) && spec[list].is_array())
      for (auto& c : spec[list]) defaultContainer(c);
}

void defaultWorkload(json& obj, bool deployment) {
  if (!obj.contains("spec") || !obj["spec"].is_object()) obj["spec"] = json::object();
  json& spec = obj["spec"];
  setDefault(spec, "replicas", 1);
  setDefault(spec, "revisionHistoryLimit", 10);
  if (deployment) {
    setDefault(spec, "progressDeadlineSeconds", 600);
    setDefault(spec, "strategy", json::object());
    setDefault(spec["strategy"], "type", "RollingUpdate");
    if (spec["strategy"]["type"] == "RollingUpdate") {
      setDefault(spec["strategy"], "rollingUpdate", json::object());
      setDefault(spec["strategy"]["rollingUpdate"], "maxUnavailable", "25%");
      setDefault(spec["strategy"]["rollingUpdate"], "maxSurge", "25%");
    }
  }
  if (spec.contains("template") && spec["template"].is_object()) {
    json& tpl = spec["template"];
    if (tpl.contains("spec")) defaultPodSpec(tpl["spec"]);
    setDefault(tpl, "metadata", json::object());
    if (tpl["metadata"].is_object()) setDefault(tpl["metadata"], "creationTimestamp", nullptr);
  }
}

void defaultService(json& obj) {
  if (!obj.contains("spec") || !obj["spec"].is_object()) obj["spec"] = json::object();
  json& spec = obj["spec"];
  setDefault(spec, "type", "ClusterIP");
  setDefault(spec, "sessionAffinity", "None");
  if (spec["type"] != "ExternalName") {
    setDefault(spec, "internalTrafficPolicy", "Cluster");
    setDefault(spec, "ipFamilies", json::array({"IPv4"}));
    setDefault(spec, "ipFamilyPolicy", "SingleStack");
  }
  if (spec.contains("ports") && spec["ports"].is_array())
    for (auto& p : spec["ports"]) {
      if (!p.is_object()) continue;
      setDefault(p, "protocol", "TCP");
      if (p.contains("port")) setDefault(p, "targetPort", p["port"]);
    }
  if (spec["type"] == "NodePort" || spec["type"] == "LoadBalancer") setDefault(spec, "externalTrafficPolicy", "Cluster");
}

std::string validKeyMessage(const std::string& key) {
  static const std::regex re(R"([-._a-zA-Z0-9]+)");
  if (std::regex_match(key, re) && key.size() <= 253) return "";
  return "Invalid value: \"" + key + "\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
         "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
}

void validateContainers(const json& spec, const std::string& path, std::vector<std::string>& errs) {
  const json* cs = spec.is_object() && spec.contains("containers") ? &spec["containers"] : nullptr;
  if (!cs || !cs->is_array() || cs->empty()) {
    errs.push_back(path + ".containers: Required value");
    return;
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < cs->size(); ++i) {
    const json& c = (*cs)[i];
    std::string p = path + ".containers[" + std::to_string(i) + "]";
    std::string name = c.value("name", "");
    if (name.empty()) errs.push_back(p + ".name: Required value");
    else if (std::find(names.begin(), names.end(), name) != names.end())
      errs.push_back(p + ".name: Duplicate value: \"" + name + "\"");
    else if (auto m = validateDns1123Label(name); !m.empty())
      errs.push_back(p + ".name: Invalid value: \"" + name + "\": " + m);
    names.push_back(name);
    if (c.value("image", "").empty()) errs.push_back(p + ".image: Required value");
  }
}

std::string goMap(const json& m) {
  std::string s = "map[string]string{";
  bool first = true;
  for (const auto& [k, v] : m.items()) {
    s += (first ? "" : ", ") + json(k).dump() + ":" + (v.is_string() ? v.dump() : json(v.dump()).dump());
    first = false;
  }
  return s + "}";
}

}  // namespace

void mountServiceAccountToken(json& pod) {
  if (!pod.contains("spec") || !pod["spec"].is_object()) return;
  json& spec = pod["spec"];
  if (!spec.contains("serviceAccountName") || spec["serviceAccountName"] == "") {
    spec["serviceAccountName"] = spec.value("serviceAccount", "") != "" ? spec["serviceAccount"] : json("default");
  }
  if (spec.contains("automountServiceAccountToken") && spec["automountServiceAccountToken"] == false) return;
  const std::string path = "/var/run/secrets/kubernetes.io/serviceaccount";
  for (const char* list : {"initContainers", "containers"}) {
    for (const json& c : spec.value(list, json::array())) {
      for (const json& m : c.value("volumeMounts", json::array())) {
        if (m.value("mountPath", "") == path) return;
      }
    }
  }
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";  // the API server's name suffix letters
  std::string suffix;
  for (char c : randomHex(5)) suffix += kAlphabet[static_cast<unsigned char>(c) % (sizeof kAlphabet - 1)];
  const std::string name = "kube-api-access-" + suffix;
  json sources = json::array(
      {{{"serviceAccountToken", {{"expirationSeconds", 3607}, {"path", "token"}}}},
       {{"configMap", {{"name", "kube-root-ca.crt"}, {"items", {{{"key", "ca.crt"}, {"path", "ca.crt"}}}}}}},
       {{"downwardAPI", {{"items", {{{"path", "namespace"}, {"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", "metadata.namespace"}}}}}}}}}});
  if (!spec.contains("volumes") || !spec["volumes"].is_array()) spec["volumes"] = json::array();
  spec["volumes"].push_back({{"name", name}, {"projected", {{"defaultMode", 420}, {"sources", sources}}}});
  for (const char* list : {"initContainers", "containers"}) {
    if (!spec.contains(list) || !spec[list].is_array()) continue;
    for (json& c : spec[list]) {
      if (!c.contains("volumeMounts") || !c["volumeMounts"].is_array()) c["volumeMounts"] = json::array();
      c["volumeMounts"].push_back({{"name", name}, {"readOnly", true}, {"mountPath", path}});
    }
  }
}

Status defaultBuiltin(const std::string& kind, json& obj) {
  auto undecodable = [&](const std::string& field, const char* type) {
    return badRequest(kind + " in version \"v1\" cannot be handled as a " + kind + ": json: cannot unmarshal into Go " +
                      "struct field " + kind + "." + field + " of type " + type);
  };
  if (kind == "ConfigMap")
    for (const char* field : {"data", "binaryData"})
      if (obj.contains(field) && !obj[field].is_null()) {
        if (!obj[field].is_object()) return undecodable(field, "map[string]string");
        for (const auto& [k, v] : obj[field].items())
          if (!v.is_string()) return undecodable(field, "string");
      }
  if ((kind == "Deployment" || kind == "ReplicaSet") && obj.contains("spec")) {
    if (!obj["spec"].is_object()) return undecodable("spec", "object");
    const json& r = obj["spec"].contains("replicas") ? obj["spec"]["replicas"] : json(nullptr);
    if (!r.is_null() && !r.is_number_integer()) return undecodable("spec.replicas", "int32");
  }
  if (kind == "Deployment" || kind == "ReplicaSet") {
    defaultWorkload(obj, kind == "Deployment");
  } else if (kind == "Pod") {
    if (obj.contains("spec")) defaultPodSpec(obj["spec"]);
  } else if (kind == "Service") {
    defaultService(obj);
  } else if (kind == "Secret") {
    setDefault(obj, "type", "Opaque");
    if (obj.contains("stringData") && obj["stringData"].is_object()) {
      for (const auto& [k, v] : obj["stringData"].items())
        obj["data"][k] = base64Encode(v.is_string() ? v.get<std::string>() : v.dump());
      obj.erase("stringData");
    }
    if (obj.contains("data") && obj["data"].is_object())
      for (const auto& [k, v] : obj["data"].items())
        if (!v.is_string() || !base64Decode(v.get<std::string>()))
          return badRequest("Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 0");
  } else if (kind == "ValidatingWebhookConfiguration" || kind == "MutatingWebhookConfiguration") {
    defaultWebhookConfiguration(obj, kind == "MutatingWebhookConfiguration");
  } else if (kind == "Namespace") {
    if (obj.contains("metadata") && obj["metadata"].contains("name") && obj["metadata"]["name"].is_string())
      obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = obj["metadata"]["name"];
    setDefault(obj, "spec", json::object());
    setDefault(obj["spec"], "finalizers", json::array({"kubernetes"}));
    setDefault(obj, "status", json::object());
    setDefault(obj["status"], "phase", "Active");
  }
  return Ok{};
}

std::vector<std::string> validateMetadata(const json& obj) {
  std::vector<std::string> errs;
  const json* labels = lookupPath(obj, "metadata.labels");
  static const std::regex valueRe(R"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])");
  static const std::regex nameRe(R"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)");
  auto keyErrors = [&](const std::string& field, const std::string& key) {
    auto slash = key.find('/');
    std::string prefix = slash == std::string::npos ? "" : key.substr(0, slash);
    std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
    if (!prefix.empty() && !validateDns1123Subdomain(prefix).empty())
      errs.push_back(field + ": Invalid value: \"" + key + "\": prefix part " + validateDns1123Subdomain(prefix));
    if (name.empty() || name.size() > 63 || !std::regex_match(name, nameRe))
      errs.push_back(field + ": Invalid value: \"" + key + "\": name part must consist of alphanumeric characters, "
                     "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
                     "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  };
  if (labels && labels->is_object())
    for (const auto& [k, v] : labels->items()) {
      keyErrors("metadata.labels", k);
      std::string value = v.is_string() ? v.get<std::string>() : v.dump();
      if (!value.empty() && (value.size() > 63 || !std::regex_match(value, valueRe)))
        errs.push_back("metadata.labels: Invalid value: \"" + value + "\": a valid label must be an empty string or "
                       "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                       "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                       "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
    }
  const json* annotations = lookupPath(obj, "metadata.annotations");
  if (annotations && annotations->is_object()) {
    size_t total = 0;
    for (const auto& [k, v] : annotations->items()) {
      keyErrors("metadata.annotations", k);
      total += k.size() + (v.is_string() ? v.get<std::string>().size() : v.dump().size());
    }
    if (total > 262144)
      errs.push_back("metadata.annotations: Too long: may not be more than 262144 bytes");
  }
  return errs;
}

std::vector<std::string> validateName(const std::string& kind, const std::string& name) {
  if (name.empty()) return {"metadata.name: Required value: name or generateName is required"};
  std::string msg = (kind == "Service" || kind == "Namespace") ? validateDns1123Label(name) : validateDns1123Subdomain(name);
  if (msg.empty()) return {};
  return {"metadata.name: Invalid value: \"" + name + "\": " + msg};
}

std::vector<std::string> validateBuiltin(const std::string& kind, const json& obj, const json* old) {
  std::vector<std::string> errs;
  const json spec = obj.value("spec", json::object());
  if (kind == "Deployment" || kind == "ReplicaSet") {
    const json* sel = lookupPath(obj, "spec.selector");
    if (!sel || !sel->is_object() || sel->empty()) {
      errs.push_back("spec.selector: Required value");
    } else {
      const json* labels = lookupPath(obj, "spec.template.metadata.labels");
      const json ml = sel->value("matchLabels", json::object());
      bool match = labels && labels->is_object();
      if (match)
        for (const auto& [k, v] : ml.items())
          if (!labels->contains(k) || (*labels)[k] != v) match = false;
      if (!match)
        errs.push_back("spec.template.metadata.labels: Invalid value: " + goMap(labels ? *labels : json::object()) +
                       ": `selector` does not match template `labels`");
      if (old) {
        const json* oldSel = lookupPath(*old, "spec.selector");
        if (oldSel && *oldSel != *sel)
          errs.push_back("spec.selector: Invalid value: " + sel->dump() + ": field is immutable");
      }
    }
    const json* r = lookupPath(obj, "spec.replicas");
    if (r && r->is_number() && r->get<long long>() < 0)
      errs.push_back("spec.replicas: Invalid value: " + r->dump() + ": must be greater than or equal to 0");
    validateContainers(spec.value("template", json::object()).value("spec", json::object()), "spec.template.spec", errs);
  } else if (kind == "Pod") {
    validateContainers(spec, "spec", errs);
  } else if (kind == "Service") {
    std::string type = spec.value("type", "ClusterIP");
    const json ports = spec.value("ports", json::array());
    if (type != "ExternalName" && spec.value("clusterIP", "") != "None" && ports.empty())
      errs.push_back("spec.ports: Required value");
    for (size_t i = 0; i < ports.size(); ++i) {
      const json& p = ports[i];
      long long port = p.value("port", 0LL);
      if (port < 1 || port > 65535)
        errs.push_back("spec.ports[" + std::to_string(i) + "].port: Invalid value: " + std::to_string(port) +
                       ": must be between 1 and 65535, inclusive");
      if (ports.size() > 1 && p.value("name", "").empty())
        errs.push_back("spec.ports[" + std::to_string(i) + "].name: Required value");
    }
  } else if (kind == "ConfigMap") {
    for (const char* field : {"data", "binaryData"})
      if (obj.contains(field) && obj[field].is_object())
        for (const auto& [k, v] : obj[field].items())
          if (auto m = validKeyMessage(k); !m.empty()) errs.push_back(std::string(field) + "[" + k + "]: " + m);
  } else if (kind == "ValidatingWebhookConfiguration" || kind == "MutatingWebhookConfiguration") {
    errs = validateWebhookConfiguration(obj);
  } else if (kind == "Event") {
    if (!obj.contains("involvedObject")) errs.push_back("involvedObject: Required value");
  }
  return errs;
}

}  // namespace kta
