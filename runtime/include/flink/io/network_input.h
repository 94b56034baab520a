// Internal: the input side of a task's network boundary. Not for jobs to use; public only
// because the DataStream API's templates instantiate them per record type. A NetworkInput
// deserializes the buffers of every input channel and tracks each channel's watermark (the
// input watermark is their minimum) and end of partition.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "flink/io/buffer_format.h"
#include "flink/operators/stream_operator.h"
#include "flink/serialization.h"

namespace flink {

/// Head of a chain fed by the network: deserializes buffers and aligns watermarks across
/// channels (the input watermark is the minimum over channels that have not ended). A task
/// with several inputs has one NetworkInputBase over the channels of all of them, so the
/// watermark is the minimum over all inputs and barriers align across all inputs.
class NetworkInputBase {
 public:
  NetworkInputBase(int numChannels, TaskMetrics* metrics);
  virtual ~NetworkInputBase() = default;

  struct Progress {
    enum Kind { kConsumed, kBarrier } kind = kConsumed;
    int64_t checkpointId = 0;  // for kBarrier
    size_t offset = 0;         // for kBarrier: where the rest of the buffer starts
  };
  /// Processes the elements of one buffer of `channel` from `offset` up to the end of the
  /// buffer or just past a checkpoint barrier, which it reports.
  Progress process(int channel, const uint8_t* data, size_t size, size_t offset);
  /// Processes a whole buffer, ignoring barriers. Returns true once every channel has ended.
  bool processBuffer(int channel, const uint8_t* data, size_t size);
  /// Channels that delivered their end-of-partition: they need no barrier to align.
  bool channelFinished(int channel) const { return channelFinished_[channel]; }
  int numChannels() const { return static_cast<int>(channelFinished_.size()); }
  bool finished() const { return finishedChannels_ == static_cast<int>(channelWatermark_.size()); }

 protected:
  /// Deserializes one record of `channel` and hands it on.
  virtual void emitRecord(int channel, DataInputView& in, int64_t timestamp) = 0;
  virtual void emitWatermark(int64_t watermark) = 0;
  virtual void endInput() = 0;
  TaskMetrics* metrics_;

 private:
  std::vector<int64_t> channelWatermark_;
  std::vector<bool> channelFinished_;
  int finishedChannels_ = 0;
  int64_t currentWatermark_ = kMinWatermark;
};

template <class T>
class NetworkInput final : public NetworkInputBase {
 public:
  NetworkInput(Output<T>* out, int numChannels, TaskMetrics* metrics)
      : NetworkInputBase(numChannels, metrics), out_(out) {}

 protected:
  void emitRecord(int /*channel*/, DataInputView& in, int64_t timestamp) override {
    T value{};
    TypeSerializer<T>::deserialize(value, in);
    TaskMetrics::inc(metrics_->numRecordsIn);
    out_->collect(std::move(value), timestamp);
  }
  void emitWatermark(int64_t watermark) override { out_->emitWatermark(watermark); }
  void endInput() override { out_->endInput(); }

 private:
  Output<T>* out_;
};

/// The network input of a two-input operator: inputOfChannel[c] (0 or 1) says which input
/// channel c belongs to.
template <class IN1, class IN2>
class TwoInputNetworkInput final : public NetworkInputBase {
 public:
  TwoInputNetworkInput(TwoInputOperator<IN1, IN2>* op, std::vector<uint8_t> inputOfChannel, TaskMetrics* metrics)
      : NetworkInputBase(static_cast<int>(inputOfChannel.size()), metrics), op_(op),
        inputOfChannel_(std::move(inputOfChannel)) {}

 protected:
  void emitRecord(int channel, DataInputView& in, int64_t timestamp) override {
    TaskMetrics::inc(metrics_->numRecordsIn);
    if (inputOfChannel_[channel] == 0) {
      IN1 value{};
      TypeSerializer<IN1>::deserialize(value, in);
      op_->processElement1(std::move(value), timestamp);
    } else {
      IN2 value{};
      TypeSerializer<IN2>::deserialize(value, in);
      op_->processElement2(std::move(value), timestamp);
    }
  }
  void emitWatermark(int64_t watermark) override { op_->processWatermark(watermark); }
  void endInput() override { op_->endInput(); }

 private:
  TwoInputOperator<IN1, IN2>* op_;
  std::vector<uint8_t> inputOfChannel_;
};

namespace detail {

template <class IN>
auto networkInputFactory() {
  return [](void* input, std::vector<uint8_t> inputOfChannel, TaskMetrics* metrics) -> std::unique_ptr<NetworkInputBase> {
    return std::make_unique<NetworkInput<IN>>(static_cast<Output<IN>*>(input), static_cast<int>(inputOfChannel.size()),
                                              metrics);
  };
}

}  // namespace detail

}  // namespace flink
