// JSON (as the API server serves objects) to YAML nodes (what the FlinkDeployment parser
// reads), converted in memory: no text round trip. Strings stay strings (tagged "!", as quoted
// YAML scalars are), numbers and booleans are plain scalars with their JSON spelling, null is
// a null node. The nodes carry no source marks, so parse errors name the field path only.
#pragma once

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace flink::k8s {

YAML::Node jsonToYaml(const nlohmann::json& value);

}  // namespace flink::k8s
