// Event time: how a stream gets timestamps and watermarks (Flink's WatermarkStrategy and
// WatermarkGenerator, org.apache.flink.api.common.eventtime). Times are ms since the epoch.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>

#include "flink/operators/stream_operator.h"

namespace flink {

/// How a stream gets timestamps and watermarks. Bounded out-of-orderness follows Flink's
/// BoundedOutOfOrdernessWatermarks: watermark = max timestamp seen - maxOutOfOrderness - 1.
template <class T>
struct WatermarkStrategy {
  using TimestampAssigner = std::function<int64_t(const T& element, int64_t recordTimestamp)>;

  static WatermarkStrategy forBoundedOutOfOrderness(int64_t maxOutOfOrdernessMs) {
    WatermarkStrategy s;
    s.emitsWatermarks = true;
    s.maxOutOfOrdernessMs = maxOutOfOrdernessMs;
    return s;
  }
  static WatermarkStrategy forMonotonousTimestamps() { return forBoundedOutOfOrderness(0); }
  static WatermarkStrategy noWatermarks() { return WatermarkStrategy(); }
  WatermarkStrategy withTimestampAssigner(TimestampAssigner assigner) const {
    WatermarkStrategy s = *this;
    s.timestampAssigner = std::move(assigner);
    return s;
  }

  bool emitsWatermarks = false;
  int64_t maxOutOfOrdernessMs = 0;
  TimestampAssigner timestampAssigner;
};

/// Applies a WatermarkStrategy to a stream: assigns timestamps and emits watermarks at most
/// every `emitEveryRecords` records or `intervalMs` (pipeline.auto-watermark-interval), and
/// the final kMaxWatermark when input ends.
template <class T>
class WatermarkGenerator {
 public:
  explicit WatermarkGenerator(WatermarkStrategy<T> strategy) : s_(std::move(strategy)) {}
  void setInterval(int64_t intervalMs) { intervalMs_ = intervalMs; }

  /// Returns the element's timestamp; may emit a watermark to `out` after the record.
  int64_t onElement(const T& value, int64_t timestamp) {
    if (s_.timestampAssigner) timestamp = s_.timestampAssigner(value, timestamp);
    if (timestamp != kNoTimestamp && timestamp > maxTimestamp_) maxTimestamp_ = timestamp;
    return timestamp;
  }
  /// Called after each record was emitted.
  void afterElement(Output<T>* out) {
    if (!s_.emitsWatermarks) return;
    if (++sinceEmit_ >= kEmitEveryRecords || ((sinceEmit_ & 127) == 0 && intervalElapsed())) emit(out);
  }
  /// Called when the source is idle.
  void onIdle(Output<T>* out) {
    if (s_.emitsWatermarks && sinceEmit_ > 0) emit(out);
  }
  void emit(Output<T>* out) {
    sinceEmit_ = 0;
    lastEmitTime_ = std::chrono::steady_clock::now();
    if (maxTimestamp_ == kMinWatermark) return;
    int64_t wm = maxTimestamp_ - s_.maxOutOfOrdernessMs - 1;
    if (wm > lastWatermark_) {
      lastWatermark_ = wm;
      out->emitWatermark(wm);
    }
  }

 private:
  static constexpr int kEmitEveryRecords = 4096;
  bool intervalElapsed() const {
    return std::chrono::steady_clock::now() - lastEmitTime_ >= std::chrono::milliseconds(intervalMs_);
  }
  WatermarkStrategy<T> s_;
  int64_t maxTimestamp_ = kMinWatermark;
  int64_t lastWatermark_ = kMinWatermark;
  int64_t intervalMs_ = 200;
  int sinceEmit_ = 0;
  std::chrono::steady_clock::time_point lastEmitTime_ = std::chrono::steady_clock::now();
};

}  // namespace flink
