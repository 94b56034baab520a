#include "task/barrier_aligner.h"

#include <algorithm>

namespace flink {

BarrierAligner::BarrierAligner(NetworkInputBase* input, AlignedFn onAligned, RecycleFn recycle)
    : input_(input), onAligned_(std::move(onAligned)), recycle_(std::move(recycle)),
      pending_(input->numChannels()), blocked_(input->numChannels(), false) {}

void BarrierAligner::onBuffer(int channel, Buffer&& buffer) {
  pending_[channel].push_back(Pending{std::move(buffer), 0});
  drain();
}

void BarrierAligner::poll() {
  if (aligning_ != 0 && alignmentDone()) {
    completeAlignment();
    drain();
  }
}

bool BarrierAligner::alignmentDone() const {
  for (int c = 0; c < input_->numChannels(); ++c) {
    if (!blocked_[c] && !input_->channelFinished(c)) return false;
  }
  return true;
}

void BarrierAligner::completeAlignment() {
  int64_t id = aligning_;
  lastCheckpoint_ = aligning_;
  aligning_ = 0;
  std::fill(blocked_.begin(), blocked_.end(), false);
  alignmentDurationMs_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - alignmentStart_).count();
  firstBarrierWallMs_ = alignmentStartWallMs_;
  onAligned_(id);
}

void BarrierAligner::drain() {
  bool progress = true;
  while (progress) {
    progress = false;
    for (int c = 0; c < input_->numChannels(); ++c) {
      while (!blocked_[c] && !pending_[c].empty()) {
        Pending& p = pending_[c].front();
        auto r = input_->process(c, p.buffer.data(), p.buffer.size(), p.offset);
        progress = true;
        if (r.kind == NetworkInputBase::Progress::kConsumed) {
          pending_[c].pop_front();
          recycle_(c);
          continue;
        }
        p.offset = r.offset;
        if (r.checkpointId <= lastCheckpoint_) continue;  // barrier of a checkpoint already done
        if (aligning_ != 0 && r.checkpointId > aligning_) {
          // A newer checkpoint started: the one being aligned was abandoned.
          std::fill(blocked_.begin(), blocked_.end(), false);
        }
        if (r.checkpointId > aligning_) {  // the first barrier of this checkpoint
          alignmentStart_ = std::chrono::steady_clock::now();
          alignmentStartWallMs_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch()).count();
        }
        if (r.checkpointId >= aligning_) {
          aligning_ = r.checkpointId;
          blocked_[c] = true;
        }
        if (alignmentDone()) completeAlignment();
      }
    }
  }
}

}  // namespace flink
