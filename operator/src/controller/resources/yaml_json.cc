// Lookups in YAML as written. See yaml_json.h.
#include "controller/resources/yaml_json.h"

#include "flink/common/strings.h"

namespace flink::k8s::detail {

bool hasScalar(const YAML::Node& n, const std::vector<std::string>& path, size_t i) {
  if (!n.IsDefined()) return false;
  if (i == path.size()) return n.IsScalar() && !trim(n.Scalar()).empty();
  if (!n.IsMap()) return false;
  const YAML::Node child = n[path[i]];
  return hasScalar(child, path, i + 1);
}

bool hasMap(const YAML::Node& n, const std::vector<std::string>& path, size_t i) {
  if (!n.IsDefined()) return false;
  if (i == path.size()) return n.IsMap();
  if (!n.IsMap()) return false;
  const YAML::Node child = n[path[i]];
  return hasMap(child, path, i + 1);
}

}  // namespace flink::k8s::detail
