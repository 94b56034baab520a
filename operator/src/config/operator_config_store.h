// The operator's configuration as the reconcilers see it: the chart's defaultConfiguration
// (config.yaml / flink-conf.yaml of the operator), swapped whole by the dynamic reload
// (config_watcher.h), and resolved per resource with the Apache operator's per-namespace and
// per-Flink-version defaults (its FlinkConfigManager.getDefaultConfig, "Configuration" in its
// operations docs), lowest precedence first:
//   1. every plain key of the default configuration;
//   2. kubernetes.operator.default-configuration.namespace.<namespace>.<key> of the resource's
//      namespace;
//   3. kubernetes.operator.default-configuration.flink-version.<vX_Y>+.<key> for every vX_Y not
//      newer than the resource's spec.flinkVersion, older versions first;
//   4. kubernetes.operator.default-configuration.flink-version.<spec.flinkVersion>.<key>;
// and then, outside this file, the resource's own spec.flinkConfiguration over all of them.
// Unlike the Apache operator, the prefixed keys themselves are left out of the resolved
// defaults, so that one namespace's settings never land in another's Flink ConfigMaps.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "controller/resources.h"

namespace flink::k8s {

inline constexpr const char* kNamespaceDefaultsPrefix = "kubernetes.operator.default-configuration.namespace.";
inline constexpr const char* kVersionDefaultsPrefix = "kubernetes.operator.default-configuration.flink-version.";

/// The defaults that apply to a resource of namespace `ns` and spec.flinkVersion `flinkVersion`
/// ("v1_18"; "" or a malformed version: no version defaults), in the order above. Pure.
std::map<std::string, std::string> resolveDefaults(const std::map<std::string, std::string>& defaults,
                                                   const std::string& ns, const std::string& flinkVersion);

/// Holds the current OperatorConfig; readers get immutable snapshots, so a reconcile keeps one
/// consistent configuration while a reload swaps in the next. Thread-safe.
class OperatorConfigStore {
 public:
  explicit OperatorConfigStore(OperatorConfig initial);

  /// The configuration as loaded (defaultConfiguration unresolved, with the prefixed keys).
  std::shared_ptr<const OperatorConfig> current() const;
  /// The configuration for one resource: defaultConfiguration = resolveDefaults(...). Cached
  /// per (namespace, version) until the next setDefaults.
  std::shared_ptr<const OperatorConfig> forResource(const std::string& ns, const std::string& flinkVersion) const;
  /// Replaces the default configuration (the other fields stay); readers holding an older
  /// snapshot keep it.
  void setDefaults(std::map<std::string, std::string> defaults);

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const OperatorConfig> current_;  // guarded by mu_
  mutable std::map<std::pair<std::string, std::string>, std::shared_ptr<const OperatorConfig>> resolved_;  // guarded by mu_
};

}  // namespace flink::k8s
