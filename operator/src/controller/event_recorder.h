// Records Kubernetes Events (v1 Event) about a FlinkDeployment, as the Apache operator's
// EventRecorder does: reason, message and type (Normal or Warning), reported by
// "flink-kubernetes-operator". The same (object, reason, message) within this process is counted
// on one Event (count, lastTimestamp) instead of creating a new one, so a reconcile that repeats
// an error does not flood the namespace. Thread-safe. Failures to record are logged, never
// returned: an event is information, not state.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "k8s/client.h"

namespace flink::k8s {

/// The current time as Kubernetes writes timestamps (RFC 3339, UTC, seconds: 2026-12-07T10:00:00Z).
std::string nowRfc3339();
/// Wall-clock time in ms since the epoch (status timestamps).
int64_t nowMs();
/// An RFC 3339 timestamp in UTC (2026-12-07T10:00:00Z, fractions ignored) as ms since the epoch;
/// nullopt when it does not parse.
std::optional<int64_t> parseRfc3339Ms(const std::string& timestamp);

class EventRecorder {
 public:
  explicit EventRecorder(std::shared_ptr<KubeApi> client) : client_(std::move(client)) {}
  /// `involved`: the object the event is about (its apiVersion, kind and metadata name the
  /// event's involvedObject; a FlinkDeployment when it has no kind).
  void record(const nlohmann::json& involved, const std::string& type, const std::string& reason,
              const std::string& message);

 private:
  std::shared_ptr<KubeApi> client_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, int>> events_;  // dedupe key -> (event name, count); guarded by mu_
};

}  // namespace flink::k8s
