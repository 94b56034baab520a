// Flink configuration: a flat map of dotted keys to string values, read from `config.yaml`
// (nested or flat YAML, Flink 1.19+), legacy `flink-conf.yaml` ("key: value" lines) and a
// manifest's `flinkConfiguration`. Unknown keys are kept and ignored, as Flink does.
// Syntax of durations and memory sizes follows Flink's TimeUtils/MemorySize
// (https://nightlies.apache.org/flink/flink-docs-stable/docs/deployment/config/).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "flink/status.h"

namespace flink {

/// Parses a Flink duration ("1 h", "15 min", "30s", "500 ms", "2 d", a bare number = ms).
/// Returns milliseconds, or an error naming the text.
Result<int64_t> parseDurationMs(const std::string& text);
/// Formats milliseconds the way Flink prints durations ("3600000 ms" style kept simple: "1 h").
std::string formatDurationMs(int64_t ms);
/// Parses a memory size ("1024m", "1g", "512 mb", "1gb", bare number = bytes) into bytes.
Result<int64_t> parseMemoryBytes(const std::string& text);

class Configuration;
/// heartbeat.interval and heartbeat.timeout (ms; defaults 10 s and 50 s, as Flink's), checked
/// as Flink checks them: both positive and the timeout larger than the interval (a timeout
/// below the interval would declare every peer lost). Errors name the keys and values.
struct HeartbeatSettings {
  int64_t intervalMs = 10000;
  int64_t timeoutMs = 50000;
  static Result<HeartbeatSettings> fromConfig(const Configuration& config);
};

/// A set of configuration options. Value semantics; not synchronized (copy it per thread).
class Configuration {
 public:
  /// Loads `config.yaml` (or, if absent, `flink-conf.yaml`) from `dir`. A missing dir or
  /// files give an empty configuration; a malformed file is an error naming file and line.
  static Result<Configuration> loadFromDirectory(const std::string& dir);
  /// Parses YAML text (nested maps are flattened to dotted keys). `source` names it in errors.
  static Result<Configuration> parseYaml(const std::string& text, const std::string& source);

  void set(const std::string& key, const std::string& value) { values_[key] = value; }
  bool contains(const std::string& key) const { return values_.count(key) != 0; }
  void remove(const std::string& key) { values_.erase(key); }
  std::optional<std::string> get(const std::string& key) const;
  std::string getString(const std::string& key, const std::string& def) const;
  /// Typed getters: the default when absent; an error naming the key when malformed.
  Result<int64_t> getInt(const std::string& key, int64_t def) const;
  Result<int64_t> getDurationMs(const std::string& key, int64_t defMs) const;
  Result<bool> getBool(const std::string& key, bool def) const;
  /// Overlays every entry of `other` on this one.
  void addAll(const Configuration& other);
  const std::map<std::string, std::string>& entries() const { return values_; }
  /// Renders as flat `key: value` YAML (valid as both config.yaml and flink-conf.yaml).
  std::string toYaml() const;

 private:
  std::map<std::string, std::string> values_;
};

/// Option keys with Flink's names and defaults.
namespace options {
inline constexpr const char* kNumTaskSlots = "taskmanager.numberOfTaskSlots";  // default 1
inline constexpr const char* kParallelismDefault = "parallelism.default";      // default 1
inline constexpr const char* kMaxParallelism = "pipeline.max-parallelism";     // default 128
inline constexpr const char* kRpcAddress = "jobmanager.rpc.address";           // default localhost
inline constexpr const char* kRpcPort = "jobmanager.rpc.port";                 // default 6123
inline constexpr const char* kRestAddress = "rest.address";                    // default localhost
inline constexpr const char* kRestBindAddress = "rest.bind-address";           // default 0.0.0.0
inline constexpr const char* kRestPort = "rest.port";                          // default 8081
/// Largest request body the REST API accepts (bytes). Flink's key; our default is 1 MiB, not
/// Flink's 100 MiB: every body our endpoints take is a small JSON object (a savepoint or stop
/// request is under 1 KB), and the limit bounds the memory a request can take.
inline constexpr const char* kRestMaxContentLength = "rest.server.max-content-length";  // default 1 MiB
inline constexpr const char* kHeartbeatInterval = "heartbeat.interval";        // default 10 s
inline constexpr const char* kHeartbeatTimeout = "heartbeat.timeout";          // default 50 s
inline constexpr const char* kTaskManagerHost = "taskmanager.host";
inline constexpr const char* kTaskManagerDataPort = "taskmanager.data.port";   // default 0
inline constexpr const char* kSlotRequestTimeout = "slot.request.timeout";     // default 5 min
inline constexpr const char* kRegistrationInitialTimeout = "cluster.registration.initial-timeout";
inline constexpr const char* kRegistrationMaxTimeout = "cluster.registration.max-timeout";
inline constexpr const char* kBufferTimeout = "execution.buffer-timeout";      // default 100 ms
inline constexpr const char* kSegmentSize = "taskmanager.memory.segment-size"; // default 32 kb
inline constexpr const char* kBuffersPerChannel = "taskmanager.network.memory.buffers-per-channel";
inline constexpr const char* kAutoWatermarkInterval = "pipeline.auto-watermark-interval";
inline constexpr const char* kShutdownOnFinish = "execution.shutdown-on-application-finish";
inline constexpr const char* kJobId = "$internal.pipeline.job-id";
/// Internal: the JobManager writes its bound ports here ("rpc.port=N\nrest.port=M\n").
inline constexpr const char* kPortFile = "$internal.local.port-file";
}  // namespace options

}  // namespace flink
