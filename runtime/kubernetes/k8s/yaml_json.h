// YAML to JSON as the Kubernetes API server takes it (manifests, pod templates), shared by the
// operator and the JobManager's native driver.
#pragma once

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace flink::k8s {

/// `n` as JSON: plain scalars typed with YAML 1.2's core schema (null, bool, int, float),
/// quoted scalars kept as strings, map entries with a non-scalar key skipped and null map
/// values dropped (as the API server drops them). An undefined or null node is JSON null.
/// Never throws.
nlohmann::json yamlToJson(const YAML::Node& n);

}  // namespace flink::k8s
