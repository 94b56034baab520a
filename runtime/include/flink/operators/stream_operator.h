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

class SplitReaderContext;  // flink/source.h

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
  /// Split assignment for the source reader at the head of a source task (FLIP-27); nullptr
  /// in other tasks and when no JobMaster runs the task.
  SplitReaderContext* splits = nullptr;
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

}  // namespace flink
