#include "config/operator_config_store.h"

#include <optional>
#include <regex>

namespace flink::k8s {

namespace {

const std::string kDefaultsPrefix = "kubernetes.operator.default-configuration.";

bool startsWith(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

/// Sets every key under `prefix` of `from`, the prefix removed, in `to`.
void overlay(const std::map<std::string, std::string>& from, const std::string& prefix,
             std::map<std::string, std::string>& to) {
  for (auto it = from.lower_bound(prefix); it != from.end() && startsWith(it->first, prefix); ++it) {
    if (it->first.size() > prefix.size()) to[it->first.substr(prefix.size())] = it->second;
  }
}

}  // namespace

std::map<std::string, std::string> resolveDefaults(const std::map<std::string, std::string>& defaults,
                                                   const std::string& ns, const std::string& flinkVersion) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : defaults) {
    if (!startsWith(k, kDefaultsPrefix)) out[k] = v;
  }
  if (!ns.empty()) overlay(defaults, kNamespaceDefaultsPrefix + ns + ".", out);
  auto version = parseFlinkVersion(flinkVersion);
  if (!version) return out;
  // "vX_Y+." prefixes of versions up to the resource's, older first, then the exact version.
  std::map<std::pair<int, int>, std::string> orLater;
  static const std::regex kOrLater(R"((v\d+_\d+)\+\..*)");
  const std::string versions = kVersionDefaultsPrefix;
  for (auto it = defaults.lower_bound(versions); it != defaults.end() && startsWith(it->first, versions); ++it) {
    std::smatch m;
    std::string rest = it->first.substr(versions.size());
    if (!std::regex_match(rest, m, kOrLater)) continue;
    auto v = parseFlinkVersion(m[1].str());
    if (v && *v <= *version) orLater[*v] = versions + m[1].str() + "+.";
  }
  for (const auto& [v, prefix] : orLater) overlay(defaults, prefix, out);
  overlay(defaults, versions + flinkVersion + ".", out);
  return out;
}

OperatorConfigStore::OperatorConfigStore(OperatorConfig initial)
    : current_(std::make_shared<const OperatorConfig>(std::move(initial))) {}

std::shared_ptr<const OperatorConfig> OperatorConfigStore::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

std::shared_ptr<const OperatorConfig> OperatorConfigStore::forResource(const std::string& ns,
                                                                       const std::string& flinkVersion) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = resolved_[{ns, flinkVersion}];
  if (!slot) {
    OperatorConfig c = *current_;
    c.defaultConfiguration = resolveDefaults(current_->defaultConfiguration, ns, flinkVersion);
    slot = std::make_shared<const OperatorConfig>(std::move(c));
  }
  return slot;
}

void OperatorConfigStore::setDefaults(std::map<std::string, std::string> defaults) {
  std::lock_guard<std::mutex> lock(mu_);
  OperatorConfig c = *current_;
  c.defaultConfiguration = std::move(defaults);
  current_ = std::make_shared<const OperatorConfig>(std::move(c));
  resolved_.clear();
}

}  // namespace flink::k8s
