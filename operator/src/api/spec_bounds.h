// Bounds on the size and nesting of a custom resource's spec, checked before it is converted or
// parsed: a spec as the API server or a manifest gives it may be arbitrarily large or deep, and
// the converters recurse over it and index its maps by key (quadratic in a map's size in
// yaml-cpp). A spec within the bounds is far larger than any real one.
#pragma once

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>

#include "flink/status.h"

namespace flink::k8s {

/// Deepest nesting of maps and lists below `spec` (a pod template is about 10 deep).
inline constexpr int kMaxSpecDepth = 64;
/// Most values (maps, lists and scalars) in a spec.
inline constexpr size_t kMaxSpecNodes = 20000;
/// Most bytes of keys and scalars in a spec (etcd stores at most 1.5 MiB per object).
inline constexpr size_t kMaxSpecBytes = 4u << 20;

/// Checks `value` (found at field path `path`, e.g. "spec") against the bounds; the error
/// names the field where the nesting got too deep, or `path` for the size.
Status checkSpecBounds(const nlohmann::json& value, const std::string& path);
Status checkSpecBounds(const YAML::Node& value, const std::string& path);

}  // namespace flink::k8s
