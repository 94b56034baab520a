// Event-time windows and their assigners (Flink's TimeWindow, TumblingEventTimeWindows,
// SlidingEventTimeWindows, EventTimeSessionWindows). Times and sizes in ms.
#pragma once

#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace flink {

/// Event-time window [start, end): end exclusive, maxTimestamp() = end - 1.
struct TimeWindow {
  int64_t start = 0;
  int64_t end = 0;
  int64_t maxTimestamp() const { return end - 1; }
};

/// Tumbling windows of `size` ms aligned to the epoch plus `offset` ms, as Flink's
/// TumblingEventTimeWindows.
struct TumblingEventTimeWindows {
  /// Throws std::invalid_argument unless sizeMs > 0 and |offsetMs| < sizeMs.
  static TumblingEventTimeWindows of(int64_t sizeMs, int64_t offsetMs = 0) {
    if (sizeMs <= 0) throw std::invalid_argument("window size must be positive, got " + std::to_string(sizeMs) + " ms");
    if (offsetMs <= -sizeMs || offsetMs >= sizeMs) {
      throw std::invalid_argument("window offset must be smaller than the window size");
    }
    return {sizeMs, offsetMs};
  }
  int64_t windowStart(int64_t timestamp) const {
    int64_t r = (timestamp - offsetMs) % sizeMs;
    if (r < 0) r += sizeMs;
    return timestamp - r;
  }
  int64_t sizeMs;
  int64_t offsetMs;
};

/// Sliding (hopping) windows of `size` ms starting every `slide` ms, aligned to the epoch plus
/// `offset` ms, as Flink's SlidingEventTimeWindows: an element with timestamp t belongs to every
/// window [start, start + size) with start = offset (mod slide) and start <= t < start + size,
/// i.e. to ceil(size / slide) windows when slide divides size.
struct SlidingEventTimeWindows {
  /// Throws std::invalid_argument unless sizeMs > 0, slideMs > 0 and |offsetMs| < slideMs
  /// (Flink's preconditions).
  static SlidingEventTimeWindows of(int64_t sizeMs, int64_t slideMs, int64_t offsetMs = 0) {
    if (sizeMs <= 0) throw std::invalid_argument("window size must be positive, got " + std::to_string(sizeMs) + " ms");
    if (slideMs <= 0) throw std::invalid_argument("window slide must be positive, got " + std::to_string(slideMs) + " ms");
    if (offsetMs <= -slideMs || offsetMs >= slideMs) {
      throw std::invalid_argument("window offset must be smaller than the window slide");
    }
    return {sizeMs, slideMs, offsetMs};
  }
  /// Start of the last (latest-starting) window containing `timestamp`.
  int64_t lastWindowStart(int64_t timestamp) const {
    int64_t r = (timestamp - offsetMs) % slideMs;
    if (r < 0) r += slideMs;
    return timestamp - r;
  }
  /// Calls f(start) for every window containing `timestamp`, latest start first (the order of
  /// Flink's SlidingEventTimeWindows.assignWindows).
  template <class F>
  void forEachWindowStart(int64_t timestamp, F&& f) const {
    for (int64_t start = lastWindowStart(timestamp); start > timestamp - sizeMs; start -= slideMs) f(start);
  }
  int64_t sizeMs;
  int64_t slideMs;
  int64_t offsetMs;
};

/// Session windows, as Flink's EventTimeSessionWindows: an element with timestamp t opens the
/// window [t, t + gap); windows of one key that overlap or touch (Flink's TimeWindow.intersects:
/// a.start <= b.end && a.end >= b.start) merge into their cover, so a session ends `gap` ms after
/// its last element. The aggregate function's merge() combines the merged windows' accumulators.
struct EventTimeSessionWindows {
  /// Throws std::invalid_argument unless gapMs > 0.
  static EventTimeSessionWindows withGap(int64_t gapMs) {
    if (gapMs <= 0) throw std::invalid_argument("session gap must be positive, got " + std::to_string(gapMs) + " ms");
    return {gapMs};
  }
  int64_t gapMs;
};

namespace detail {

/// How a window assigner appears in operator names, e.g. "TumblingEventTimeWindows(60000)".
inline std::string describeAssigner(const TumblingEventTimeWindows& a) {
  return "TumblingEventTimeWindows(" + std::to_string(a.sizeMs) + ")";
}
inline std::string describeAssigner(const SlidingEventTimeWindows& a) {
  return "SlidingEventTimeWindows(" + std::to_string(a.sizeMs) + ", " + std::to_string(a.slideMs) + ")";
}
inline std::string describeAssigner(const EventTimeSessionWindows& a) {
  return "EventTimeSessionWindows(" + std::to_string(a.gapMs) + ")";
}

}  // namespace detail
}  // namespace flink
