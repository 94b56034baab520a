#include "container_spec.h"

#include <algorithm>

#include "addresses.h"

namespace kubelet {

using nlohmann::json;

std::string expandVars(const std::string& in, const std::map<std::string, std::string>& vars) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '$' || i + 1 >= in.size()) {
      out += in[i];
      continue;
    }
    if (in[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    size_t close = in[i + 1] == '(' ? in.find(')', i + 2) : std::string::npos;
    if (close == std::string::npos) {
      out += in[i];
      continue;
    }
    auto it = vars.find(in.substr(i + 2, close - i - 2));
    out += it != vars.end() ? it->second : in.substr(i, close - i + 1);
    i = close;
  }
  return out;
}

std::string imageRepository(const std::string& image) {
  std::string s = image.substr(0, image.find('@'));
  size_t slash = s.rfind('/');
  std::string last = slash == std::string::npos ? s : s.substr(slash + 1);
  return last.substr(0, last.find(':'));
}

bool isRunnableImage(const std::string& image) {
  std::string repo = imageRepository(image);
  return repo == "flink-cpp" || repo == "flink-cpp-operator";
}

std::optional<std::string> podField(const json& pod, const std::string& fieldPath, const std::string& podIP) {
  const json& meta = pod.value("metadata", json::object());
  if (fieldPath == "metadata.name" || fieldPath == "metadata.namespace" || fieldPath == "metadata.uid") {
    return meta.value(fieldPath.substr(9), "");
  }
  if (fieldPath == "spec.nodeName") return pod.value("spec", json::object()).value("nodeName", "");
  if (fieldPath == "status.podIP") return podIP;
  if (fieldPath == "status.hostIP") return std::string(kBridgeIP);
  for (std::string map : {"labels", "annotations"}) {
    std::string prefix = "metadata." + map + "['";
    if (fieldPath.rfind(prefix, 0) == 0 && fieldPath.size() > prefix.size() + 2) {
      std::string key = fieldPath.substr(prefix.size(), fieldPath.size() - prefix.size() - 2);
      return meta.value(map, json::object()).value(key, "");
    }
  }
  return std::nullopt;
}

namespace {

// The value of a configMapKeyRef/secretKeyRef; nullopt (and no error) when optional and missing.
flink::Result<std::optional<std::string>> keyRef(const json& ref, const std::string& kind, const ObjectLookup& lookup) {
  std::string name = ref.value("name", "");
  std::string key = ref.value("key", "");
  bool optional = ref.value("optional", false);
  auto obj = lookup(kind, name);
  const json data = obj ? obj->value("data", json::object()) : json::object();
  if (!data.contains(key)) {
    if (optional) return std::optional<std::string>();
    return flink::Status::Error(kind + " " + name + (obj ? " has no key " + key : " not found"));
  }
  std::string v = data[key].get<std::string>();
  return std::optional<std::string>(kind == "Secret" ? base64Decode(v) : v);
}

flink::Result<std::optional<std::string>> envValue(const json& pod, const json& e, const std::string& podIP,
                                                   const ObjectLookup& lookup) {
  const json& from = e["valueFrom"];
  if (from.contains("fieldRef")) {
    std::string path = from["fieldRef"].value("fieldPath", "");
    auto v = podField(pod, path, podIP);
    if (!v) return flink::Status::Error("unsupported fieldRef " + path);
    return std::optional<std::string>(*v);
  }
  if (from.contains("configMapKeyRef")) return keyRef(from["configMapKeyRef"], "ConfigMap", lookup);
  if (from.contains("secretKeyRef")) return keyRef(from["secretKeyRef"], "Secret", lookup);
  return flink::Status::Error("env " + e.value("name", "") + ": unsupported valueFrom");
}

}  // namespace

flink::Result<std::map<std::string, std::string>> containerEnv(const json& pod, const json& container,
                                                               const std::string& podIP, const ObjectLookup& lookup) {
  const json& meta = pod.value("metadata", json::object());
  std::map<std::string, std::string> env = {
      {"PATH", "/opt/flink/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"HOSTNAME", podHostname(pod)},
      {"HOME", containerRunAs(pod, container).uid.value_or(0) == 0 ? "/root" : "/"}};
  if (isRunnableImage(container.value("image", ""))) {
    env["FLINK_HOME"] = "/opt/flink";
    env["FLINK_CONF_DIR"] = "/opt/flink/conf";
  }
  for (const json& e : container.value("env", json::array())) {
    std::string name = e.value("name", "");
    if (!e.contains("valueFrom")) {
      env[name] = expandVars(e.value("value", ""), env);
      continue;
    }
    auto v = envValue(pod, e, podIP, lookup);
    if (!v.ok()) return v.status().withContext("env " + name);
    if (v.value()) env[name] = *v.value();
  }
  return env;
}

std::vector<std::string> containerArgv(const json& container, const std::string& flinkCpp,
                                       const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv;
  const json command = container.value("command", json::array());
  if (command.empty()) {
    argv.push_back(flinkCpp);
  } else {
    for (const json& w : command) argv.push_back(expandVars(w.get<std::string>(), env));
    if (argv[0] == "flink-cpp" || argv[0] == "/opt/flink/bin/flink-cpp") argv[0] = flinkCpp;
  }
  for (const json& w : container.value("args", json::array())) argv.push_back(expandVars(w.get<std::string>(), env));
  return argv;
}

RunAs containerRunAs(const json& pod, const json& container) {
  const json podCtx = pod.value("spec", json::object()).value("securityContext", json::object());
  const json ctx = container.value("securityContext", json::object());
  auto id = [&](const char* key) -> std::optional<int64_t> {
    for (const json* c : {&ctx, &podCtx}) {
      if (c->contains(key) && (*c)[key].is_number_integer()) return (*c)[key].get<int64_t>();
    }
    return std::nullopt;
  };
  RunAs r{id("runAsUser"), id("runAsGroup"), {}};
  if (podCtx.contains("fsGroup") && podCtx["fsGroup"].is_number_integer()) r.groups.push_back(podCtx["fsGroup"].get<int64_t>());
  for (const json& g : podCtx.value("supplementalGroups", json::array())) {
    if (g.is_number_integer() && std::find(r.groups.begin(), r.groups.end(), g.get<int64_t>()) == r.groups.end()) {
      r.groups.push_back(g.get<int64_t>());
    }
  }
  return r;
}

std::string podHostname(const json& pod) {
  std::string name = pod.value("spec", json::object()).value("hostname", "");
  if (name.empty()) name = pod.value("metadata", json::object()).value("name", "");
  if (name.size() > 63) name.resize(63);
  while (!name.empty() && (name.back() == '-' || name.back() == '.')) name.pop_back();
  return name;
}

std::string base64Decode(const std::string& in) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    size_t v = kAlphabet.find(c);
    if (c == '=' || v == std::string::npos) continue;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace kubelet
