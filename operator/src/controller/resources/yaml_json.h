// YAML as the FlinkDeployment model keeps it (podTemplate, resources, the spec as written) to
// JSON as the API server takes it, and lookups in the spec as written. Internal to
// controller/resources.
#pragma once

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "k8s/yaml_json.h"

#include <cstddef>
#include <string>
#include <vector>

namespace flink::k8s::detail {

/// k8s/yaml_json.h: YAML to JSON as the API server takes it.
using k8s::yamlToJson;

/// Whether a non-blank scalar stands at `path` (map keys, from `path[i]` on) under `n`.
/// Inserts nothing into `n`.
bool hasScalar(const YAML::Node& n, const std::vector<std::string>& path, size_t i = 0);

/// Whether a map stands at `path` (map keys, from `path[i]` on) under `n`. Inserts nothing.
bool hasMap(const YAML::Node& n, const std::vector<std::string>& path, size_t i = 0);

}  // namespace flink::k8s::detail
