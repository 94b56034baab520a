// The deserialization loop of NetworkInputBase (flink/io/network_input.h).
#include "flink/io/network_input.h"

namespace flink {

NetworkInputBase::NetworkInputBase(int numChannels, TaskMetrics* metrics)
    : metrics_(metrics), channelWatermark_(numChannels, kMinWatermark), channelFinished_(numChannels, false) {}

NetworkInputBase::Progress NetworkInputBase::process(int channel, const uint8_t* data, size_t size, size_t offset) {
  TaskMetrics::inc(metrics_->numBytesIn, size - offset);
  DataInputView in(data + offset, size - offset);
  while (!in.atEnd()) {
    uint8_t tag = in.readPod<uint8_t>();
    if (tag == kTagRecord) {
      int64_t ts = in.readPod<int64_t>();
      emitRecord(channel, in, ts);
    } else if (tag == kTagBarrier) {
      Progress p;
      p.kind = Progress::kBarrier;
      p.checkpointId = in.readPod<int64_t>();
      p.offset = size - in.remaining();
      return p;
    } else if (tag == kTagWatermark || tag == kTagEndOfPartition) {
      if (tag == kTagWatermark) {
        channelWatermark_[channel] = std::max(channelWatermark_[channel], in.readPod<int64_t>());
      } else if (!channelFinished_[channel]) {
        channelFinished_[channel] = true;
        ++finishedChannels_;
      }
      // The input watermark is the minimum over channels still running; once every channel
      // ended, the last watermarks they sent are final.
      int64_t minWm = kMaxWatermark;
      bool any = false;
      for (size_t c = 0; c < channelWatermark_.size(); ++c) {
        if (channelFinished_[c]) continue;
        any = true;
        minWm = std::min(minWm, channelWatermark_[c]);
      }
      if (!any) minWm = *std::min_element(channelWatermark_.begin(), channelWatermark_.end());
      if (minWm > currentWatermark_) {
        currentWatermark_ = minWm;
        metrics_->currentInputWatermark.store(minWm, std::memory_order_relaxed);
        emitWatermark(minWm);
      }
      if (finished()) endInput();
    } else {
      throw SerializationError("unknown element tag " + std::to_string(tag) + " in network buffer");
    }
  }
  return Progress{};
}

bool NetworkInputBase::processBuffer(int channel, const uint8_t* data, size_t size) {
  size_t offset = 0;
  for (;;) {
    Progress p = process(channel, data, size, offset);
    if (p.kind == Progress::kConsumed) break;
    offset = p.offset;
  }
  return finished();
}

}  // namespace flink
