#include "flink/configuration.h"

#include "flink/common/strings.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace flink {
namespace {

// Splits "15 min" into (15, "min"). Fails when there is no leading integer.
bool splitNumberUnit(const std::string& text, int64_t* number, std::string* unit) {
  std::string t = trim(text);
  size_t i = 0;
  if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
  size_t digits = i;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
  if (i == digits) return false;
  try {
    *number = std::stoll(t.substr(0, i));
  } catch (...) {
    return false;
  }
  *unit = lower(trim(t.substr(i)));
  return true;
}

void flatten(const YAML::Node& node, const std::string& prefix, Configuration* out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      std::string key = kv.first.as<std::string>();
      flatten(kv.second, prefix.empty() ? key : prefix + "." + key, out);
    }
  } else if (node.IsSequence()) {
    // Flink writes lists as "a;b;c" in the legacy format.
    std::string joined;
    for (const auto& item : node) {
      if (!joined.empty()) joined += ";";
      joined += item.IsScalar() ? item.as<std::string>() : YAML::Dump(item);
    }
    out->set(prefix, joined);
  } else if (node.IsScalar()) {
    out->set(prefix, node.as<std::string>());
  } else if (node.IsNull()) {
    out->set(prefix, "");
  }
}

}  // namespace

Result<int64_t> parseDurationMs(const std::string& text) {
  int64_t n = 0;
  std::string unit;
  if (!splitNumberUnit(text, &n, &unit) || n < 0) {
    return Status::Error("invalid duration '" + text + "' (expected e.g. '1 h', '15 min', '500 ms')");
  }
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"", 1},          {"ms", 1},          {"milli", 1},          {"millis", 1},
      {"millisecond", 1}, {"milliseconds", 1}, {"s", 1000},        {"sec", 1000},
      {"secs", 1000},   {"second", 1000},   {"seconds", 1000},     {"m", 60000},
      {"min", 60000},   {"mins", 60000},    {"minute", 60000},     {"minutes", 60000},
      {"h", 3600000},   {"hour", 3600000},  {"hours", 3600000},    {"d", 86400000},
      {"day", 86400000}, {"days", 86400000}};
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    if (n > INT64_MAX / factor) return Status::Error("duration '" + text + "' is too large");
    return n * factor;
  }
  return Status::Error("invalid duration '" + text + "': unknown unit '" + unit + "'");
}

std::string formatDurationMs(int64_t ms) {
  if (ms != 0 && ms % 86400000 == 0) return std::to_string(ms / 86400000) + " d";
  if (ms != 0 && ms % 3600000 == 0) return std::to_string(ms / 3600000) + " h";
  if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + " min";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

Result<int64_t> parseMemoryBytes(const std::string& text) {
  int64_t n = 0;
  std::string unit;
  if (!splitNumberUnit(text, &n, &unit) || n < 0) {
    return Status::Error("invalid memory size '" + text + "' (expected e.g. '1024m', '1g')");
  }
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"", 1},          {"b", 1},          {"bytes", 1},        {"k", 1LL << 10}, {"kb", 1LL << 10},
      {"kibibytes", 1LL << 10}, {"m", 1LL << 20}, {"mb", 1LL << 20}, {"mebibytes", 1LL << 20},
      {"g", 1LL << 30}, {"gb", 1LL << 30}, {"gibibytes", 1LL << 30}, {"t", 1LL << 40},
      {"tb", 1LL << 40}, {"mi", 1LL << 20}, {"gi", 1LL << 30}, {"ki", 1LL << 10}};
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    if (n > INT64_MAX / factor) return Status::Error("memory size '" + text + "' is too large");
    return n * factor;
  }
  return Status::Error("invalid memory size '" + text + "': unknown unit '" + unit + "'");
}

Result<Configuration> Configuration::parseYaml(const std::string& text, const std::string& source) {
  Configuration conf;
  try {
    YAML::Node root = YAML::Load(text);
    if (!root || root.IsNull()) return conf;
    if (!root.IsMap()) return Status::Error(source + ": expected a map of configuration keys");
    flatten(root, "", &conf);
  } catch (const YAML::Exception& e) {
    return Status::Error(source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return conf;
}

Result<Configuration> Configuration::loadFromDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  for (const char* name : {"config.yaml", "flink-conf.yaml"}) {
    fs::path p = fs::path(dir) / name;
    std::error_code ec;
    if (!fs::exists(p, ec)) continue;
    std::ifstream in(p);
    if (!in) return Status::Error("cannot read " + p.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return parseYaml(ss.str(), p.string());
  }
  return Configuration();
}

std::optional<std::string> Configuration::get(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Configuration::getString(const std::string& key, const std::string& def) const {
  auto v = get(key);
  return v ? *v : def;
}

Result<int64_t> Configuration::getInt(const std::string& key, int64_t def) const {
  auto v = get(key);
  if (!v) return def;
  try {
    size_t pos = 0;
    int64_t n = std::stoll(trim(*v), &pos);
    if (pos == trim(*v).size()) return n;
  } catch (...) {
  }
  return Status::Error("configuration key '" + key + "': '" + *v + "' is not an integer");
}

Result<int64_t> Configuration::getDurationMs(const std::string& key, int64_t defMs) const {
  auto v = get(key);
  if (!v) return defMs;
  auto r = parseDurationMs(*v);
  if (!r) return Status::Error("configuration key '" + key + "': " + r.status().message());
  return r;
}

Result<bool> Configuration::getBool(const std::string& key, bool def) const {
  auto v = get(key);
  if (!v) return def;
  std::string s = lower(trim(*v));
  if (s == "true") return true;
  if (s == "false") return false;
  return Status::Error("configuration key '" + key + "': '" + *v + "' is not true or false");
}

void Configuration::addAll(const Configuration& other) {
  for (const auto& [k, v] : other.values_) values_[k] = v;
}

std::string Configuration::toYaml() const {
  std::string out;
  for (const auto& [k, v] : values_) {
    YAML::Emitter e;
    e << YAML::DoubleQuoted << v;
    out += k + ": " + e.c_str() + "\n";
  }
  return out;
}

Result<HeartbeatSettings> HeartbeatSettings::fromConfig(const Configuration& config) {
  auto interval = config.getDurationMs(options::kHeartbeatInterval, 10000);
  if (!interval.ok()) return interval.status();
  auto timeout = config.getDurationMs(options::kHeartbeatTimeout, 50000);
  if (!timeout.ok()) return timeout.status();
  if (*interval <= 0) return Status::Error(std::string(options::kHeartbeatInterval) + " must be positive");
  if (*timeout <= *interval) {
    return Status::Error(std::string(options::kHeartbeatTimeout) + " (" + formatDurationMs(*timeout) +
                         ") must be larger than " + options::kHeartbeatInterval + " (" + formatDurationMs(*interval) + ")");
  }
  return HeartbeatSettings{*interval, *timeout};
}

}  // namespace flink
