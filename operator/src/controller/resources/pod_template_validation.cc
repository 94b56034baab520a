#include "controller/resources/pod_template_validation.h"

#include <fmt/format.h>

#include "controller/resources/yaml_json.h"

#include <initializer_list>

namespace flink::k8s::detail {
namespace {

const char* kindOf(const YAML::Node& n) {
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  if (!n.IsScalar()) return "null";
  auto j = yamlToJson(n);
  return j.is_string() ? "a string" : j.is_boolean() ? "a boolean" : j.is_number() ? "a number" : "null";
}

bool absent(const YAML::Node& n) { return !n.IsDefined() || n.IsNull(); }

/// A scalar that is a string as the API server reads it (not a number, boolean or null).
bool isString(const YAML::Node& n) { return n.IsScalar() && yamlToJson(n).is_string(); }

Status expect(const YAML::Node& n, YAML::NodeType::value type, const std::string& path) {
  if (absent(n) || n.Type() == type) return Status::Ok();
  const char* want = type == YAML::NodeType::Map ? "a map" : type == YAML::NodeType::Sequence ? "a list" : "a scalar";
  return Status::Error(fmt::format("{}: expected {}, got {}", path, want, kindOf(n)));
}

/// A map of strings (labels, annotations, nodeSelector).
Status stringMap(const YAML::Node& n, const std::string& path) {
  Status s = expect(n, YAML::NodeType::Map, path);
  if (!s.ok() || absent(n)) return s;
  for (const auto& kv : n) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (!isString(kv.second)) return Status::Error(fmt::format("{}.{}: expected a string, got {}", path, key, kindOf(kv.second)));
  }
  return Status::Ok();
}

/// A list of maps whose `name` (when given) is a string.
Status namedList(const YAML::Node& n, const std::string& path) {
  Status s = expect(n, YAML::NodeType::Sequence, path);
  if (!s.ok() || absent(n)) return s;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string item = fmt::format("{}[{}]", path, i);
    if (!n[i].IsMap()) return Status::Error(fmt::format("{}: expected a map, got {}", item, kindOf(n[i])));
    const YAML::Node name = n[i]["name"];
    if (!absent(name) && !isString(name)) return Status::Error(fmt::format("{}.name: expected a string, got {}", item, kindOf(name)));
  }
  return Status::Ok();
}

Status container(const YAML::Node& c, const std::string& path) {
  for (const char* list : {"env", "ports", "volumeMounts", "envFrom"}) {
    Status s = namedList(c[list], path + "." + list);
    if (!s.ok()) return s;
  }
  for (const char* list : {"args", "command"}) {
    Status s = expect(c[list], YAML::NodeType::Sequence, path + "." + list);
    if (!s.ok()) return s;
  }
  for (const char* map : {"resources", "securityContext", "readinessProbe", "livenessProbe", "startupProbe"}) {
    Status s = expect(c[map], YAML::NodeType::Map, path + "." + map);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

Status validatePodTemplateStructure(const YAML::Node& t, const std::string& path) {
  if (absent(t)) return Status::Ok();
  Status s = expect(t, YAML::NodeType::Map, path);
  if (s.ok()) s = expect(t["metadata"], YAML::NodeType::Map, path + ".metadata");
  if (s.ok() && !absent(t["metadata"])) s = stringMap(t["metadata"]["labels"], path + ".metadata.labels");
  if (s.ok() && !absent(t["metadata"])) s = stringMap(t["metadata"]["annotations"], path + ".metadata.annotations");
  if (s.ok()) s = expect(t["spec"], YAML::NodeType::Map, path + ".spec");
  if (!s.ok() || absent(t["spec"])) return s;
  const YAML::Node spec = t["spec"];
  for (const char* list : {"containers", "initContainers", "volumes", "imagePullSecrets", "tolerations"}) {
    s = list == std::string("tolerations") ? expect(spec[list], YAML::NodeType::Sequence, path + ".spec." + list)
                                           : namedList(spec[list], path + ".spec." + list);
    if (!s.ok()) return s;
  }
  for (const char* list : {"containers", "initContainers"}) {
    const YAML::Node cs = spec[list];
    for (size_t i = 0; !absent(cs) && i < cs.size(); ++i) {
      s = container(cs[i], fmt::format("{}.spec.{}[{}]", path, list, i));
      if (!s.ok()) return s;
    }
  }
  s = stringMap(spec["nodeSelector"], path + ".spec.nodeSelector");
  if (s.ok()) s = expect(spec["securityContext"], YAML::NodeType::Map, path + ".spec.securityContext");
  if (s.ok()) s = expect(spec["affinity"], YAML::NodeType::Map, path + ".spec.affinity");
  return s;
}

}  // namespace flink::k8s::detail
