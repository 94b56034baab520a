// The body of a Kubernetes watch response: one JSON event object per line, arriving in chunks
// cut anywhere. Kept apart from the HTTP client so that it can be tested and fuzzed alone.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <string>

namespace flink::k8s {

/// Splits a watch stream into events. A line that is not JSON is skipped; a line longer than
/// the limit ends the stream with an error (the memory a hostile or broken server can make the
/// operator hold is bounded). Not thread-safe: one decoder per stream.
class WatchStreamDecoder {
 public:
  /// Far above any object the API server stores (etcd's limit is 1.5 MiB per object).
  static constexpr size_t kDefaultMaxLineBytes = 16u << 20;
  explicit WatchStreamDecoder(size_t maxLineBytes = kDefaultMaxLineBytes) : maxLineBytes_(maxLineBytes) {}

  enum class Outcome { kContinue, kStopped, kLineTooLong };
  /// Feeds one chunk; onEvent gets each complete event in order and returns false to stop
  /// (kStopped: the rest of the chunk is not decoded).
  Outcome feed(const char* data, size_t size, const std::function<bool(const nlohmann::json&)>& onEvent);
  /// Bytes held of an incomplete line.
  size_t pending() const { return buffer_.size(); }

 private:
  size_t maxLineBytes_;
  std::string buffer_;
};

}  // namespace flink::k8s
