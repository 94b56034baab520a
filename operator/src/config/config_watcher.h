// Dynamic reload of the operator's configuration, with the Apache operator's semantics
// (its FlinkConfigManager and the "Dynamic Operator Configuration" section of its
// operations/configuration docs): with kubernetes.operator.dynamic.config.enabled (default
// true) the operator re-reads its configuration directory ($FLINK_CONF_DIR, the chart's
// defaultConfiguration ConfigMap) every kubernetes.operator.dynamic.config.check.interval
// (default 5 min) and, when config.yaml / flink-conf.yaml differs from what it runs with,
// makes the new one the default configuration of every later reconcile (operator options read
// per reconcile, the flinkConfiguration defaults merged into each deployment,
// per-namespace/per-version defaults); log4j-operator.properties, when its text changed,
// sets the operator's log levels again (log4j's monitorInterval does that for the Apache
// operator). Files are compared by content, never by modification time: Kubernetes updates a
// ConfigMap volume by re-pointing its `..data` symlink, which leaves the files' own mtimes alone.
//
// Options read once at start (kRestartRequiredKeys: ports, watched namespaces, leader election,
// reconcile parallelism, the reload settings themselves) are logged as requiring a restart when
// they change; the new value is in the configuration but has no effect until then. A file that
// cannot be read or parsed is reported (poll's error) and the configuration in use is kept.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/operator_config_store.h"
#include "flink/status.h"

namespace flink::k8s {

/// Prefixes of the operator options that take effect only at start.
extern const std::vector<std::string> kRestartRequiredKeys;

/// kubernetes.operator.dynamic.config.* of a configuration.
struct DynamicConfigSettings {
  bool enabled = true;
  std::chrono::milliseconds checkInterval{std::chrono::minutes(5)};
  /// Reads the two keys (defaults when absent); an error names a malformed one.
  static Result<DynamicConfigSettings> fromConfiguration(const std::map<std::string, std::string>& conf);
};

/// The keys whose value differs between `before` and `after` (added and removed ones too) and
/// that start with one of kRestartRequiredKeys, sorted.
std::vector<std::string> restartRequiredChanges(const std::map<std::string, std::string>& before,
                                                const std::map<std::string, std::string>& after);

/// Watches one directory. Not thread-safe: poll() from one thread (the store it updates is).
class ConfigWatcher {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  /// `loaded`: the configuration the operator started with (read from `dir`); the current
  /// log4j-operator.properties text is read now. The first check is one interval after now.
  ConfigWatcher(std::string dir, std::map<std::string, std::string> loaded, std::shared_ptr<OperatorConfigStore> store,
                DynamicConfigSettings settings, Clock clock = std::chrono::steady_clock::now);

  /// When the check interval has passed since the last check, re-reads the directory and
  /// applies what changed (see above). Returns true when the default configuration changed
  /// (the caller re-reconciles every resource), false otherwise (nothing due, nothing changed,
  /// or only log levels); an error when config.yaml / flink-conf.yaml could not be read or
  /// parsed (the configuration in use kept; checked again one interval later). A malformed
  /// log4j-operator.properties is logged as an error and the log levels in use are kept.
  Result<bool> poll();
  /// poll() now, whatever the interval.
  Result<bool> check();

 private:
  std::string dir_;
  std::map<std::string, std::string> loaded_;  // the configuration in use
  std::string logText_;                         // the log4j-operator.properties in use ("" when absent)
  std::shared_ptr<OperatorConfigStore> store_;
  DynamicConfigSettings settings_;
  Clock clock_;
  std::chrono::steady_clock::time_point lastCheck_;
};

}  // namespace flink::k8s
