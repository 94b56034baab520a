// YAML to JSON. See yaml_json.h. YAML nulls are dropped from maps, as the API server drops
// them, so that the objects compare equal to the live ones.
#include "k8s/yaml_json.h"

#include <regex>
#include <utility>

namespace flink::k8s {
namespace {

using json = nlohmann::json;

/// A plain scalar typed with YAML 1.2's core schema (null, bool, int, float); quoted
/// scalars stay strings.
json scalarToJson(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  const std::string& tag = n.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return s;
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  try {
    if (std::regex_match(s, kInt)) return std::stoll(s);
    if (std::regex_match(s, kFloat)) return std::stod(s);
  } catch (...) {
  }
  return s;
}

}  // namespace

json yamlToJson(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return nullptr;
  if (n.IsScalar()) return scalarToJson(n);
  if (n.IsSequence()) {
    json a = json::array();
    for (const auto& item : n) a.push_back(yamlToJson(item));
    return a;
  }
  json o = json::object();
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) continue;
    json v = yamlToJson(kv.second);
    if (!v.is_null()) o[kv.first.Scalar()] = std::move(v);  // the API server drops nulls too
  }
  return o;
}

}  // namespace flink::k8s
