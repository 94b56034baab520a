// The operator interfaces that the DataStream API instantiates and the runtime drives.
// A task owns one chain of operators and runs it on one thread: none of these objects is
// thread-safe, except TaskMetrics, whose counters other threads may read at any time.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flink/configuration.h"
#include "flink/serialization.h"
#include "flink/status.h"

namespace flink {

/// Bytes: network buffers and serialized state.
using Buffer = std::vector<uint8_t>;

inline constexpr int64_t kNoTimestamp = INT64_MIN;
inline constexpr int64_t kMinWatermark = INT64_MIN;
/// The watermark a bounded source emits at its end: fires every remaining event-time timer.
inline constexpr int64_t kMaxWatermark = INT64_MAX;

/// Counters of one subtask, with Flink's metric names. Written by the task thread only
/// (relaxed atomics), read by the TaskManager's metric reporter.
struct TaskMetrics {
  std::atomic<uint64_t> numRecordsIn{0};           // records entering the chain
  std::atomic<uint64_t> numRecordsOut{0};          // records leaving the chain (network or sink)
  std::atomic<uint64_t> numRecordsDropped{0};      // malformed input records, skipped
  std::atomic<uint64_t> numLateRecordsDropped{0};  // records behind the watermark, dropped by windows
  std::atomic<uint64_t> numFiredWindows{0};        // (key, window) panes emitted
  std::atomic<uint64_t> numBytesIn{0};             // bytes received from the network
  std::atomic<uint64_t> numBytesOut{0};            // bytes sent to the network
  std::atomic<uint64_t> sourceBytesRead{0};        // input file bytes consumed (progress)
  std::atomic<uint64_t> sourceBytesTotal{0};       // input file size
  std::atomic<uint64_t> idleTimeMs{0};             // waiting for input
  std::atomic<uint64_t> backPressuredTimeMs{0};    // waiting for output credit
  std::atomic<int64_t> currentInputWatermark{kMinWatermark};

  static void inc(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  /// Name/value pairs with Flink's metric names, for reporting.
  std::vector<std::pair<std::string, double>> snapshot() const;
};

/// What an operator knows about where it runs.
struct RuntimeContext {
  std::string jobId;
  std::string taskName;
  int subtaskIndex = 0;
  int parallelism = 1;
  int maxParallelism = 128;
  int attemptNumber = 0;
  TaskMetrics* metrics = nullptr;
  const Configuration* config = nullptr;
};

/// Downstream side of a stream of T: records with their event timestamps, watermarks, end.
template <class T>
class Output {
 public:
  virtual ~Output() = default;
  /// timestamp is event time in ms since the epoch, or kNoTimestamp.
  virtual void collect(T&& value, int64_t timestamp) = 0;
  /// All later records have timestamps > watermark (ms).
  virtual void emitWatermark(int64_t watermark) = 0;
  /// No further input will arrive.
  virtual void endInput() = 0;
};

/// Checkpoint id of the "final checkpoint": what a sink prepares after its input ended
/// (prepareCommit), and the notification that every task of the job reached the end of its
/// input, so that everything prepared may be committed (notifyCheckpointComplete). As Flink's
/// final checkpoint (FLIP-147), it covers every checkpoint before it.
inline constexpr int64_t kFinalCheckpointId = -1;

/// The state of one operator at a checkpoint. Operator state is redistributed as a union list
/// on restore (every subtask sees every entry); keyed state is organised by key group and a
/// subtask restores the key groups of its range, whatever the parallelism that wrote them.
///
/// Asynchronous snapshots (Flink's asynchronous phase of a state backend snapshot): an operator
/// whose state is large may, in snapshotState, only freeze its state (e.g. take copy-on-write
/// references) and set `asyncPart`; materialize() runs it once, off the task thread, before the
/// state is written. asyncPart must not touch the operator: it fills operatorState/keyedState
/// from what it captured.
struct OperatorSnapshot {
  Buffer operatorState;
  std::map<int, Buffer> keyedState;       // key group -> serialized entries
  /// Files the checkpoint covers that are not yet durable (a sink's pending files): the
  /// TaskManager fsyncs them before it acknowledges the checkpoint.
  std::vector<std::string> committables;
  std::function<void(OperatorSnapshot&)> asyncPart;

  /// Runs and clears asyncPart (no-op without one). Any thread; once per snapshot.
  void materialize() {
    if (!asyncPart) return;
    auto part = std::move(asyncPart);
    asyncPart = nullptr;
    part(*this);
  }
};

/// What an operator gets back on restore (empty when the job starts fresh).
struct RestoredState {
  bool restored = false;
  int64_t checkpointId = 0;
  std::string jobId;  // the job that wrote the checkpoint (another one when restoring a savepoint)
  std::vector<Buffer> operatorStates;  // one per subtask of the run that wrote the checkpoint
  std::vector<Buffer> keyedState;      // entries of the key groups in this subtask's range
};

/// Base of every operator in a chain. open() runs before the first record, close() after
/// endInput (a sink prepares its final committables there). Errors while running are thrown
/// as TaskFailure.
class StreamOperatorBase {
 public:
  virtual ~StreamOperatorBase() = default;
  virtual Status open(RuntimeContext& ctx) {
    ctx_ = &ctx;
    return Status::Ok();
  }
  virtual Status close() { return Status::Ok(); }
  /// Output<IN>* of a one-input operator or TwoInputOperator<IN1, IN2>* of a two-input one
  /// (type-erased, as the node's createNetworkInput expects), nullptr for sources.
  virtual void* input() { return nullptr; }
  /// Called before open() with the state to restore.
  virtual Status initializeState(const RestoredState&) { return Status::Ok(); }
  /// Copies the operator's state at a barrier (synchronously, on the task thread); writing it
  /// to storage happens afterwards, off the task thread.
  virtual void snapshotState(int64_t /*checkpointId*/, OperatorSnapshot& /*out*/) {}
  /// Checkpoint `checkpointId` completed on every task, or kFinalCheckpointId: every task of
  /// the job reached the end of its input (after close()). Runs on the task thread, possibly
  /// for a checkpoint older than the latest snapshotState; a notification may be skipped, so
  /// it covers every earlier checkpoint. A sink commits here; an error fails the task.
  virtual Status notifyCheckpointComplete(int64_t /*checkpointId*/) { return Status::Ok(); }

 protected:
  RuntimeContext* ctx_ = nullptr;
};

/// An error that fails the task; its message becomes the job's root exception.
struct TaskFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class IN>
class OneInputOperator : public StreamOperatorBase, public Output<IN> {
 public:
  void* input() override { return static_cast<Output<IN>*>(this); }
};

/// An operator with two inputs of types IN1 and IN2 (Flink's TwoInputStreamOperator), always
/// the head of its task. The task calls processWatermark with the minimum watermark over the
/// channels of both inputs, and endInput once both inputs ended.
template <class IN1, class IN2>
class TwoInputOperator : public StreamOperatorBase {
 public:
  /// timestamp: event time in ms, or kNoTimestamp.
  virtual void processElement1(IN1&& value, int64_t timestamp) = 0;
  virtual void processElement2(IN2&& value, int64_t timestamp) = 0;
  virtual void processWatermark(int64_t watermark) = 0;
  virtual void endInput() = 0;
  void* input() override { return static_cast<TwoInputOperator<IN1, IN2>*>(this); }
};

enum class InputStatus { kMoreAvailable, kNothingAvailable, kEndOfInput };

/// Head of a source chain: the task calls emitNext until kEndOfInput.
class SourceOperatorBase : public StreamOperatorBase {
 public:
  /// Emits up to maxRecords records downstream.
  virtual InputStatus emitNext(int maxRecords) = 0;
  /// Stop with drain: emits the final watermark (fires every event-time timer) before the
  /// savepoint barrier.
  virtual void emitFinalWatermark() = 0;
  /// Ends the input after a stop: downstream operators see the end of their input.
  virtual void stopInput() = 0;
};

// ---- Network boundary ----------------------------------------------------------------

/// Where a RecordWriter sends full buffers: one channel per consumer subtask. send() blocks
/// while the channel has no credit (backpressure) and throws TaskFailure when the job is
/// cancelled or the peer is lost.
class BufferSink {
 public:
  virtual ~BufferSink() = default;
  virtual int numChannels() const = 0;
  virtual void send(int channel, Buffer&& buffer) = 0;
};

/// Element tags inside a network buffer. A buffer holds whole elements:
/// record = tag, i64 timestamp, serialized value; watermark = tag, i64; end = tag.
/// barrier = tag, i64 checkpoint id (Carbone et al., "Lightweight Asynchronous Snapshots for
/// Distributed Dataflows", 2015).
enum : uint8_t { kTagRecord = 0, kTagWatermark = 1, kTagEndOfPartition = 2, kTagBarrier = 3 };

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

}  // namespace flink
