#include "config/config_watcher.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "flink/common/log.h"
#include "flink/configuration.h"

namespace flink::k8s {

const std::vector<std::string> kRestartRequiredKeys = {
    "kubernetes.operator.reconcile.parallelism",  "kubernetes.operator.metrics.reporter.prom.port",
    "kubernetes.operator.watched.namespaces",     "kubernetes.operator.leader-election.",
    "kubernetes.operator.health.probe.",          "kubernetes.operator.dynamic.config.",
    "kubernetes.operator.dynamic.namespaces.enabled"};

namespace {

constexpr const char* kEnabled = "kubernetes.operator.dynamic.config.enabled";
constexpr const char* kInterval = "kubernetes.operator.dynamic.config.check.interval";
constexpr const char* kLogFile = "log4j-operator.properties";

/// The text of dir/name ("" when absent or unreadable: a missing file sets no levels).
std::string readText(const std::string& dir, const std::string& name) {
  std::ifstream in(dir + "/" + name);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool restartRequired(const std::string& key) {
  for (const auto& prefix : kRestartRequiredKeys) {
    if (key.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

}  // namespace

Result<DynamicConfigSettings> DynamicConfigSettings::fromConfiguration(const std::map<std::string, std::string>& conf) {
  Configuration c;
  for (const auto& [k, v] : conf) c.set(k, v);
  DynamicConfigSettings s;
  auto enabled = c.getBool(kEnabled, s.enabled);
  if (!enabled.ok()) return enabled.status();
  auto interval = c.getDurationMs(kInterval, s.checkInterval.count());
  if (!interval.ok()) return interval.status();
  if (*interval <= 0) return Status::Error(fmt::format("{}: must be positive, got '{}'", kInterval, c.getString(kInterval, "")));
  s.enabled = *enabled;
  s.checkInterval = std::chrono::milliseconds(*interval);
  return s;
}

std::vector<std::string> restartRequiredChanges(const std::map<std::string, std::string>& before,
                                                const std::map<std::string, std::string>& after) {
  std::vector<std::string> changed;
  auto consider = [&](const std::string& key) {
    if (!restartRequired(key)) return;
    auto b = before.find(key), a = after.find(key);
    bool same = b != before.end() && a != after.end() && b->second == a->second;
    if (!same) changed.push_back(key);
  };
  for (const auto& [k, v] : before) consider(k);
  for (const auto& [k, v] : after) {
    if (!before.count(k)) consider(k);
  }
  std::sort(changed.begin(), changed.end());
  return changed;
}

ConfigWatcher::ConfigWatcher(std::string dir, std::map<std::string, std::string> loaded,
                             std::shared_ptr<OperatorConfigStore> store, DynamicConfigSettings settings, Clock clock)
    : dir_(std::move(dir)),
      loaded_(std::move(loaded)),
      logText_(readText(dir_, kLogFile)),
      store_(std::move(store)),
      settings_(settings),
      clock_(std::move(clock)),
      lastCheck_(clock_()) {}

Result<bool> ConfigWatcher::poll() {
  if (!settings_.enabled || clock_() - lastCheck_ < settings_.checkInterval) return false;
  return check();
}

Result<bool> ConfigWatcher::check() {
  lastCheck_ = clock_();
  if (std::string text = readText(dir_, kLogFile); text != logText_) {
    auto applied = log::configureFromFile(dir_, kLogFile);
    if (applied.ok()) {
      logText_ = text;
      log::info("reloaded {} from {}", kLogFile, dir_);
    } else {
      log::error("{} (keeping the previous log levels)", applied.status().message());
    }
  }
  auto loaded = Configuration::loadFromDirectory(dir_);
  if (!loaded.ok()) {
    return Status::Error(loaded.status().message() + " (keeping the previous operator configuration)");
  }
  const auto& next = loaded->entries();
  if (next == loaded_) return false;
  for (const auto& key : restartRequiredChanges(loaded_, next)) {
    auto a = next.find(key);
    log::warn("{} changed to '{}': requires a restart of the operator to take effect", key,
              a == next.end() ? std::string("(unset)") : a->second);
  }
  log::info("reloaded the operator configuration from {} ({} keys)", dir_, next.size());
  loaded_ = next;
  store_->setDefaults(next);
  return true;
}

}  // namespace flink::k8s
