// Aligned checkpoint barriers for a task with several input channels (Flink's
// CheckpointBarrierHandler in exactly-once mode; Carbone et al. 2015, section 3.3): once a
// channel delivered the barrier of checkpoint n, its later data waits, unprocessed and
// holding its credit, until every channel that has not ended delivered barrier n; then the
// task snapshots and forwards the barrier, and the blocked channels resume in order.
// Owned by the task thread (not thread-safe).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <vector>

#include "flink/io/network_input.h"
#include "flink/operators/stream_operator.h"

namespace flink {

class BarrierAligner {
 public:
  using AlignedFn = std::function<void(int64_t checkpointId)>;
  using RecycleFn = std::function<void(int channel)>;

  BarrierAligner(NetworkInputBase* input, AlignedFn onAligned, RecycleFn recycle);

  /// A buffer of `channel` arrived: queue it and process everything that is not blocked.
  void onBuffer(int channel, Buffer&& buffer);
  /// Re-checks alignment (a channel may have ended) and processes what became unblocked.
  void poll();

  bool blocked(int channel) const { return blocked_[channel]; }
  int64_t aligning() const { return aligning_; }
  size_t queued(int channel) const { return pending_[channel].size(); }
  /// Of the alignment that completed last (read them in the AlignedFn): milliseconds from its
  /// first barrier to its last one (Flink's alignment duration; 0 with a single channel), and
  /// the wall-clock time (ms since the epoch) its first barrier arrived. One clock read per
  /// barrier that starts or ends an alignment, nothing per record.
  int64_t alignmentDurationMs() const { return alignmentDurationMs_; }
  int64_t firstBarrierWallMs() const { return firstBarrierWallMs_; }

 private:
  struct Pending {
    Buffer buffer;
    size_t offset = 0;
  };
  void drain();
  bool alignmentDone() const;
  void completeAlignment();

  NetworkInputBase* input_;
  AlignedFn onAligned_;
  RecycleFn recycle_;
  std::vector<std::deque<Pending>> pending_;
  std::vector<bool> blocked_;
  int64_t aligning_ = 0;  // checkpoint being aligned, 0 if none
  int64_t lastCheckpoint_ = 0;
  std::chrono::steady_clock::time_point alignmentStart_{};
  int64_t alignmentStartWallMs_ = 0;
  int64_t alignmentDurationMs_ = 0;
  int64_t firstBarrierWallMs_ = 0;
};

}  // namespace flink
