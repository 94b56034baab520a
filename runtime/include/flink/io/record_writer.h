// Internal: the output side of a task's network boundary. Not for jobs to use; public only
// because the DataStream API's templates instantiate them per record type. A RecordWriter
// serializes records, watermarks, barriers and end-of-partition markers into buffers of
// taskmanager.memory.segment-size bytes per channel and hands full (or timed-out) buffers to a
// BufferSink (the runtime's result partition); hash partitioning by key group as Flink's
// KeyGroupStreamPartitioner.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "flink/io/buffer_format.h"
#include "flink/operators/stream_operator.h"
#include "flink/serialization.h"
#include "flink/stream_graph.h"

namespace flink {

/// Where a RecordWriter sends full buffers: one channel per consumer subtask. send() blocks
/// while the channel has no credit (backpressure) and throws TaskFailure when the job is
/// cancelled or the peer is lost.
class BufferSink {
 public:
  virtual ~BufferSink() = default;
  virtual int numChannels() const = 0;
  virtual void send(int channel, Buffer&& buffer) = 0;
};

/// Tail of a chain that serializes records into per-channel buffers.
class RecordWriterBase {
 public:
  virtual ~RecordWriterBase() = default;
  /// Output<T>* to hand to the last operator of the chain.
  virtual void* output() = 0;
  /// Sends every non-empty buffer (called on execution.buffer-timeout).
  virtual void flushAll() = 0;
  /// Appends a checkpoint barrier to every channel and sends it at once.
  virtual void broadcastBarrier(int64_t checkpointId) = 0;
};

/// Chooses the consumer channel of a record; nullptr means round-robin (rebalance).
using ChannelSelector = std::function<int(const void* record, int numChannels)>;

template <class T>
class RecordWriter final : public RecordWriterBase, public Output<T> {
 public:
  /// countRecordsOut: whether collect() counts numRecordsOut (off for the writers of a
  /// FanOutRecordWriter, which counts each record once).
  RecordWriter(BufferSink* sink, ChannelSelector selector, size_t segmentSize, TaskMetrics* metrics,
               bool countRecordsOut = true)
      : sink_(sink), selector_(std::move(selector)), segmentSize_(segmentSize), metrics_(metrics),
        countRecordsOut_(countRecordsOut), buffers_(sink->numChannels()) {
    for (auto& b : buffers_) b.reserve(segmentSize_ + 256);
  }
  void* output() override { return static_cast<Output<T>*>(this); }

  void collect(T&& value, int64_t timestamp) override {
    int n = static_cast<int>(buffers_.size());
    int c = n == 1 ? 0 : selector_ ? selector_(&value, n) : (next_ = (next_ + 1) % n);
    Buffer& b = buffers_[c];
    b.push_back(kTagRecord);
    DataOutputView out(&b);
    out.writePod(timestamp);
    TypeSerializer<T>::serialize(value, out);
    if (countRecordsOut_) TaskMetrics::inc(metrics_->numRecordsOut);
    if (b.size() >= segmentSize_) flush(c);
  }
  void emitWatermark(int64_t watermark) override {
    for (size_t c = 0; c < buffers_.size(); ++c) {
      buffers_[c].push_back(kTagWatermark);
      DataOutputView(&buffers_[c]).writePod(watermark);
      if (buffers_[c].size() >= segmentSize_) flush(static_cast<int>(c));
    }
  }
  void endInput() override {
    for (size_t c = 0; c < buffers_.size(); ++c) {
      buffers_[c].push_back(kTagEndOfPartition);
      flush(static_cast<int>(c));
    }
  }
  void broadcastBarrier(int64_t checkpointId) override {
    for (size_t c = 0; c < buffers_.size(); ++c) {
      buffers_[c].push_back(kTagBarrier);
      DataOutputView(&buffers_[c]).writePod(checkpointId);
      flush(static_cast<int>(c));
    }
  }
  void flushAll() override {
    for (size_t c = 0; c < buffers_.size(); ++c) {
      if (!buffers_[c].empty()) flush(static_cast<int>(c));
    }
  }

 private:
  void flush(int c) {
    Buffer out;
    out.reserve(segmentSize_ + 256);
    std::swap(out, buffers_[c]);
    TaskMetrics::inc(metrics_->numBytesOut, out.size());
    sink_->send(c, std::move(out));
  }
  BufferSink* sink_;
  ChannelSelector selector_;
  size_t segmentSize_;
  TaskMetrics* metrics_;
  bool countRecordsOut_;
  std::vector<Buffer> buffers_;
  int next_ = 0;
};

/// Ships one stream over several edges (fan-out): every record goes to every writer (whose
/// own numRecordsOut counting is off; a record counts once). Only used when a node's output has
/// several consumers, so linear pipelines keep one writer.
template <class T>
class FanOutRecordWriter final : public RecordWriterBase, public Output<T> {
 public:
  FanOutRecordWriter(std::vector<std::unique_ptr<RecordWriterBase>> writers, TaskMetrics* metrics)
      : writers_(std::move(writers)), metrics_(metrics) {
    for (auto& w : writers_) outputs_.push_back(static_cast<Output<T>*>(w->output()));
  }
  void* output() override { return static_cast<Output<T>*>(this); }
  void collect(T&& value, int64_t timestamp) override {
    TaskMetrics::inc(metrics_->numRecordsOut);
    for (size_t i = 0; i + 1 < outputs_.size(); ++i) {
      T copy = value;
      outputs_[i]->collect(std::move(copy), timestamp);
    }
    outputs_.back()->collect(std::move(value), timestamp);
  }
  void emitWatermark(int64_t watermark) override {
    for (auto* o : outputs_) o->emitWatermark(watermark);
  }
  void endInput() override {
    for (auto* o : outputs_) o->endInput();
  }
  void broadcastBarrier(int64_t checkpointId) override {
    for (auto& w : writers_) w->broadcastBarrier(checkpointId);
  }
  void flushAll() override {
    for (auto& w : writers_) w->flushAll();
  }

 private:
  std::vector<std::unique_ptr<RecordWriterBase>> writers_;
  TaskMetrics* metrics_;
  std::vector<Output<T>*> outputs_;
};

namespace detail {

template <class OUT>
auto writerFactory() {
  return [](const std::vector<WriterTarget>& targets, int maxParallelism, size_t segmentSize,
            TaskMetrics* metrics) -> std::unique_ptr<RecordWriterBase> {
    std::vector<std::unique_ptr<RecordWriterBase>> writers;
    for (const WriterTarget& t : targets) {
      ChannelSelector selector;
      if (t.edge->partitioning == Partitioning::kHash) {
        auto keyHash = t.edge->keyHash;
        selector = [keyHash, maxParallelism](const void* record, int n) {
          return operatorIndexForKeyGroup(assignToKeyGroup(keyHash(record), maxParallelism), maxParallelism, n);
        };
      }
      writers.push_back(std::make_unique<RecordWriter<OUT>>(t.sink, std::move(selector), segmentSize, metrics,
                                                            /*countRecordsOut=*/targets.size() == 1));
    }
    if (writers.size() == 1) return std::move(writers[0]);
    return std::make_unique<FanOutRecordWriter<OUT>>(std::move(writers), metrics);
  };
}

}  // namespace detail

}  // namespace flink
