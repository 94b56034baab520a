#include "api/json_yaml.h"

namespace flink::k8s {

YAML::Node jsonToYaml(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      YAML::Node map(YAML::NodeType::Map);
      for (const auto& [k, v] : value.items()) map[k] = jsonToYaml(v);
      return map;
    }
    case nlohmann::json::value_t::array: {
      YAML::Node seq(YAML::NodeType::Sequence);
      for (const auto& v : value) seq.push_back(jsonToYaml(v));
      return seq;
    }
    case nlohmann::json::value_t::string: {
      YAML::Node s(value.get<std::string>());
      s.SetTag("!");
      return s;
    }
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return YAML::Node(YAML::NodeType::Null);
    default:
      return YAML::Node(value.dump());  // numbers and booleans, as JSON spells them
  }
}

}  // namespace flink::k8s
