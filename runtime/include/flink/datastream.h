// The C++ DataStream API, modelled on Flink's Java DataStream API
// (https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/datastream/overview/).
//
//   StreamExecutionEnvironment env(conf);
//   env.fromSource(source, WatermarkStrategy<Flight>::forBoundedOutOfOrderness(0), "flights")
//      .keyBy([](const Flight& f) { return f.origin; })
//      .window(TumblingEventTimeWindows::of(3'600'000))
//      .aggregate(std::make_shared<DelayStats>(), formatWindow)
//      .sinkTo(FileSink<std::string>::forRowFormat(dir));
//   env.execute("flight-delays");
//
// Functions are C++ callables taking elements as `const T&`. Element types must be
// serializable (flink/serialization.h); keys must also have a KeyHash and operator==.
// Times are event-time milliseconds since the epoch. Building a pipeline is single-threaded.
#pragma once

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "flink/configuration.h"
#include "flink/flat_hash_map.h"
#include "flink/operators.h"
#include "flink/stream_graph.h"

namespace flink {

template <class T>
class DataStream;
template <class T, class K>
class KeyedStream;
template <class A, class B>
class ConnectedStreams;
template <class A, class B, bool kJoin, class K>
class TwoStreamWindowBuilder;
/// a.join(b): where(keyA).equalTo(keyB).window(assigner).apply(f) (connected_streams.h).
template <class A, class B>
using JoinedStreams = TwoStreamWindowBuilder<A, B, true, void>;
/// a.coGroup(b): where(keyA).equalTo(keyB).window(assigner).apply<R>(f) (connected_streams.h).
template <class A, class B>
using CoGroupedStreams = TwoStreamWindowBuilder<A, B, false, void>;

/// Receives the results of a flatMap or window function.
template <class T>
class Collector {
 public:
  virtual ~Collector() = default;
  virtual void collect(T&& value) = 0;
  void collect(const T& value) {
    T copy = value;
    collect(std::move(copy));
  }
};

// ---- Sources and sinks ----------------------------------------------------------------

template <class T>
class ReaderOutput {
 public:
  virtual ~ReaderOutput() = default;
  virtual void collect(T&& value, int64_t timestamp = kNoTimestamp) = 0;
};

/// Reads one subtask's share of a source. Runs on the task thread.
template <class T>
class SourceReader {
 public:
  virtual ~SourceReader() = default;
  /// Errors (e.g. a missing file, named in the message) fail the task.
  virtual Status open(RuntimeContext& ctx) = 0;
  /// Emits up to maxRecords records; may throw TaskFailure on I/O errors.
  virtual InputStatus pollNext(ReaderOutput<T>& output, int maxRecords) = 0;
  virtual void close() {}
  /// Writes the reader's position (checkpoint). A reader without state replays from the start.
  virtual void snapshotState(DataOutputView& /*out*/) {}
  /// Called before open() with the positions written by every subtask of the restored run.
  virtual Status restoreState(const std::vector<Buffer>& /*states*/) { return Status::Ok(); }
};

template <class T>
class Source {
 public:
  virtual ~Source() = default;
  virtual std::unique_ptr<SourceReader<T>> createReader() const = 0;
};

/// Writes one subtask's share of a stream. Runs on the task thread.
template <class T>
class SinkWriter {
 public:
  virtual ~SinkWriter() = default;
  virtual Status open(RuntimeContext& ctx) = 0;
  virtual void write(const T& value, int64_t timestamp) = 0;
  /// Called after the last record, before the final prepareCommit.
  virtual Status finish() { return Status::Ok(); }
  /// At a checkpoint barrier and after the input ended (kFinalCheckpointId): closes what was
  /// written so far and returns committables (e.g. pending file names) that Sink::commit makes
  /// visible once a checkpoint covering them completes (two-phase commit).
  virtual void prepareCommit(int64_t /*checkpointId*/, std::vector<std::string>* /*committables*/) {}
};

/// Where a sink subtask starts: the job, the attempt, and the checkpoint it was restored from.
struct SinkInitContext {
  std::string jobId;
  int attemptNumber = 0;  // the job's restart count: every subtask of a run has the same one
  int subtaskIndex = 0;
  /// The checkpoint or savepoint restored (its committables are already committed), or
  /// nullopt when the job starts fresh (no completed checkpoint).
  std::optional<int64_t> restoredCheckpointId;
  std::string restoredJobId;  // the job that wrote that checkpoint (another one for a savepoint)
};

/// A two-phase-commit sink (the shape of Flink's Sink V2 with a Committer): the writer
/// prepares committables at every checkpoint barrier and at the end of input; the sink operator
/// keeps every committable that is not yet committed in its checkpointed state and commits it,
/// on the TaskManager that runs the sink, once a checkpoint covering it completes or once every
/// task of the job reached the end of its input. A committable of a checkpoint that never
/// completes is carried into the next one, so none is ever dropped.
template <class T>
class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::unique_ptr<SinkWriter<T>> createWriter() const = 0;
  /// Runs on every sink subtask before it opens (concurrently on all of them, so it must
  /// tolerate the others doing the same), after the committables of a restored checkpoint were
  /// committed: prepares the output (e.g. creates a directory) and removes what earlier
  /// attempts left that the restored checkpoint does not cover.
  virtual Status initializeOutput(const SinkInitContext& /*ctx*/) const { return Status::Ok(); }
  /// Committer: makes committables visible. Runs on the sink's task thread. Must be idempotent
  /// and tolerate other subtasks committing the same committables at the same time (after a
  /// restore every subtask commits all the restored ones).
  virtual Status commit(const std::vector<std::string>& /*committables*/) const { return Status::Ok(); }
};

// ---- Event time -------------------------------------------------------------------------

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

/// Incremental aggregation, as Flink's AggregateFunction<IN, ACC, OUT>.
template <class IN, class ACC, class OUT>
class AggregateFunction {
 public:
  using Input = IN;
  using Accumulator = ACC;
  using Result = OUT;
  virtual ~AggregateFunction() = default;
  virtual ACC createAccumulator() const = 0;
  virtual void add(const IN& value, ACC& accumulator) const = 0;
  virtual OUT getResult(const ACC& accumulator) const = 0;
  virtual ACC merge(const ACC& a, const ACC& b) const = 0;
};

// ---- Operators instantiated by the API --------------------------------------------------

namespace detail {

/// The watermark up to which a window operator had fired its windows, from the operator
/// states of the subtasks that wrote a checkpoint (each an int64 first): their smallest, or
/// kMinWatermark when none wrote one. With aligned barriers every subtask of a keyed exchange
/// has the same watermark at a barrier.
inline int64_t restoredFiredWatermark(const RestoredState& state) {
  int64_t watermark = kMaxWatermark;
  bool found = false;
  for (const Buffer& b : state.operatorStates) {
    if (b.size() < sizeof(int64_t)) continue;
    DataInputView in(b.data(), b.size());
    watermark = std::min(watermark, in.readPod<int64_t>());
    found = true;
  }
  return found ? watermark : kMinWatermark;
}

/// A layer of windowed keyed state for asynchronous, incremental-in-CPU snapshots: a snapshot
/// freezes every layer (the task thread never writes a frozen layer again; later writes go to
/// a new layer), and a layer's serialized form (key group -> bytes) is made once, by the first
/// snapshot thread that needs it, and reused by every later checkpoint that still holds the
/// layer. Operators derive their layer type from it. `frozen` belongs to the task thread;
/// serialized() may be called from any thread.
class StateLayer {
 public:
  using Bytes = std::map<int, Buffer>;
  bool frozen = false;

  /// The layer's bytes; the first call runs serialize(Bytes&).
  template <class F>
  std::shared_ptr<const Bytes> serialized(F&& serialize) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (!bytes_) {
      auto bytes = std::make_shared<Bytes>();
      serialize(*bytes);
      bytes_ = std::move(bytes);
    }
    return bytes_;
  }

 private:
  mutable std::mutex mu_;
  mutable std::shared_ptr<const Bytes> bytes_;
};

/// Layers by window or slice start, oldest first; only the last of a start may be unfrozen.
template <class L>
using LayersByStart = std::map<int64_t, std::vector<std::shared_ptr<L>>>;
template <class L>
using FrozenLayers = std::vector<std::pair<int64_t, std::shared_ptr<const L>>>;

/// Freezes every layer (task thread, at the barrier) and returns them for the asynchronous part.
template <class L>
std::shared_ptr<const FrozenLayers<L>> freezeLayers(const LayersByStart<L>& layers) {
  auto frozen = std::make_shared<FrozenLayers<L>>();
  for (const auto& [start, stack] : layers) {
    for (const auto& layer : stack) {
      layer->frozen = true;
      frozen->emplace_back(start, layer);
    }
  }
  return frozen;
}

/// The asynchronous part of a layered snapshot: every frozen layer's bytes
/// (serialize(layer, start, Bytes&) for a layer not serialized yet), concatenated by key group
/// into snap.keyedState.
template <class L, class F>
void writeLayers(const FrozenLayers<L>& frozen, F serialize, OperatorSnapshot& snap) {
  std::vector<std::shared_ptr<const StateLayer::Bytes>> all;
  all.reserve(frozen.size());
  std::map<int, size_t> sizes;
  for (const auto& [start, layer] : frozen) {
    all.push_back(layer->serialized([&, start = start](StateLayer::Bytes& bytes) { serialize(*layer, start, bytes); }));
    for (const auto& [kg, bytes] : *all.back()) sizes[kg] += bytes.size();
  }
  for (const auto& [kg, size] : sizes) snap.keyedState[kg].reserve(snap.keyedState[kg].size() + size);
  for (const auto& bytes : all) {
    for (const auto& [kg, b] : *bytes) {
      Buffer& out = snap.keyedState[kg];
      out.insert(out.end(), b.begin(), b.end());
    }
  }
}

/// snapshotState() of a layered window operator: the watermark up to which windows fired as
/// operator state (read back by restoredFiredWatermark), every layer frozen now, and an
/// asyncPart that writes them with serialize(layer, start, maxParallelism, Bytes&).
template <class L, class F>
void snapshotLayers(OperatorSnapshot& out, int64_t firedWatermark, const LayersByStart<L>& layers, int maxParallelism,
                    F serialize) {
  DataOutputView(&out.operatorState).writePod(firedWatermark);
  out.asyncPart = [frozen = freezeLayers(layers), maxParallelism, serialize](OperatorSnapshot& snap) {
    writeLayers(*frozen, [&](const L& layer, int64_t start, StateLayer::Bytes& bytes) {
      serialize(layer, start, maxParallelism, bytes);
    }, snap);
  };
}

template <class K>
struct StdKeyHash {
  size_t operator()(const K& k) const { return KeyHash<K>()(k); }
};

template <class IN, class OUT, class F>
class MapOperator final : public OneInputOperator<IN> {
 public:
  MapOperator(F f, Output<OUT>* out) : f_(std::move(f)), out_(out) {}
  void collect(IN&& v, int64_t ts) override { out_->collect(f_(v), ts); }
  void emitWatermark(int64_t wm) override { out_->emitWatermark(wm); }
  void endInput() override { out_->endInput(); }

 private:
  F f_;
  Output<OUT>* out_;
};

template <class T, class F>
class FilterOperator final : public OneInputOperator<T> {
 public:
  FilterOperator(F f, Output<T>* out) : f_(std::move(f)), out_(out) {}
  void collect(T&& v, int64_t ts) override {
    if (f_(std::as_const(v))) out_->collect(std::move(v), ts);
  }
  void emitWatermark(int64_t wm) override { out_->emitWatermark(wm); }
  void endInput() override { out_->endInput(); }

 private:
  F f_;
  Output<T>* out_;
};

template <class OUT>
class TimestampedCollector final : public Collector<OUT> {
 public:
  explicit TimestampedCollector(Output<OUT>* out) : out_(out) {}
  void collect(OUT&& v) override { out_->collect(std::move(v), timestamp); }
  using Collector<OUT>::collect;
  int64_t timestamp = kNoTimestamp;

 private:
  Output<OUT>* out_;
};

template <class IN, class OUT, class F>
class FlatMapOperator final : public OneInputOperator<IN> {
 public:
  FlatMapOperator(F f, Output<OUT>* out) : f_(std::move(f)), out_(out), collector_(out) {}
  void collect(IN&& v, int64_t ts) override {
    collector_.timestamp = ts;
    f_(std::as_const(v), collector_);
  }
  void emitWatermark(int64_t wm) override { out_->emitWatermark(wm); }
  void endInput() override { out_->endInput(); }

 private:
  F f_;
  Output<OUT>* out_;
  TimestampedCollector<OUT> collector_;
};

template <class T>
class TimestampsAndWatermarksOperator final : public OneInputOperator<T> {
 public:
  TimestampsAndWatermarksOperator(WatermarkStrategy<T> s, Output<T>* out) : gen_(std::move(s)), out_(out) {}
  Status open(RuntimeContext& ctx) override {
    auto interval = ctx.config->getDurationMs(options::kAutoWatermarkInterval, 200);
    if (!interval.ok()) return interval.status();
    gen_.setInterval(*interval);
    return OneInputOperator<T>::open(ctx);
  }
  void collect(T&& v, int64_t ts) override {
    ts = gen_.onElement(v, ts);
    out_->collect(std::move(v), ts);
    gen_.afterElement(out_);
  }
  // Upstream watermarks are replaced by this strategy's, except the final one.
  void emitWatermark(int64_t wm) override {
    if (wm == kMaxWatermark) out_->emitWatermark(wm);
  }
  void endInput() override { out_->endInput(); }

 private:
  WatermarkGenerator<T> gen_;
  Output<T>* out_;
};

template <class T>
class SourceOperator final : public SourceOperatorBase, private ReaderOutput<T> {
 public:
  SourceOperator(std::unique_ptr<SourceReader<T>> reader, WatermarkStrategy<T> s, Output<T>* out)
      : reader_(std::move(reader)), gen_(std::move(s)), out_(out) {}
  Status open(RuntimeContext& ctx) override {
    SourceOperatorBase::open(ctx);
    auto interval = ctx.config->getDurationMs(options::kAutoWatermarkInterval, 200);
    if (!interval.ok()) return interval.status();
    gen_.setInterval(*interval);
    return reader_->open(ctx);
  }
  InputStatus emitNext(int maxRecords) override {
    InputStatus s = reader_->pollNext(*this, maxRecords);
    if (s == InputStatus::kNothingAvailable) gen_.onIdle(out_);
    if (s == InputStatus::kEndOfInput) {
      out_->emitWatermark(kMaxWatermark);
      out_->endInput();
    }
    return s;
  }
  Status close() override {
    reader_->close();
    return Status::Ok();
  }
  Status initializeState(const RestoredState& state) override {
    return state.restored ? reader_->restoreState(state.operatorStates) : Status::Ok();
  }
  void emitFinalWatermark() override { out_->emitWatermark(kMaxWatermark); }
  void stopInput() override { out_->endInput(); }
  void snapshotState(int64_t, OperatorSnapshot& out) override {
    DataOutputView view(&out.operatorState);
    reader_->snapshotState(view);
  }

 private:
  void collect(T&& v, int64_t ts) override {
    ts = gen_.onElement(v, ts);
    TaskMetrics::inc(ctx_->metrics->numRecordsIn);
    out_->collect(std::move(v), ts);
    gen_.afterElement(out_);
  }
  std::unique_ptr<SourceReader<T>> reader_;
  WatermarkGenerator<T> gen_;
  Output<T>* out_;
};

/// Runs a Sink: its writer, and the committer side (Flink's CommitterOperator, chained to the
/// writer). Operator state: every committable not yet committed, with the checkpoint that
/// prepared it (so a restore commits them, whichever subtask restores them).
template <class T>
class SinkOperator final : public OneInputOperator<T> {
 public:
  explicit SinkOperator(std::shared_ptr<const Sink<T>> sink) : sink_(std::move(sink)), writer_(sink_->createWriter()) {}
  Status initializeState(const RestoredState& state) override {
    if (!state.restored) return Status::Ok();
    restoredCheckpointId_ = state.checkpointId;
    restoredJobId_ = state.jobId;
    try {
      for (const Buffer& b : state.operatorStates) {
        DataInputView in(b.data(), b.size());
        auto n = in.readVarint();
        for (int64_t i = 0; i < n; ++i) {
          in.readVarint();  // the checkpoint that prepared it: covered by the restored one
          std::string c;
          TypeSerializer<std::string>::deserialize(c, in);
          restoredCommittables_.push_back(std::move(c));
        }
      }
    } catch (const SerializationError& e) {
      return Status::Error(std::string("sink state is corrupt: ") + e.what());
    }
    return Status::Ok();
  }
  Status open(RuntimeContext& ctx) override {
    OneInputOperator<T>::open(ctx);
    // The restored checkpoint completed: what it had prepared is committed first (every
    // subtask commits the whole list, idempotently), then the output is cleaned.
    if (!restoredCommittables_.empty()) {
      Status s = sink_->commit(restoredCommittables_);
      if (!s.ok()) return s.withContext("committing the output of restored checkpoint " + std::to_string(*restoredCheckpointId_));
      restoredCommittables_.clear();
    }
    Status s = sink_->initializeOutput({ctx.jobId, ctx.attemptNumber, ctx.subtaskIndex, restoredCheckpointId_, restoredJobId_});
    if (!s.ok()) return s;
    return writer_->open(ctx);
  }
  void collect(T&& v, int64_t ts) override {
    writer_->write(v, ts);
    TaskMetrics::inc(this->ctx_->metrics->numRecordsOut);
  }
  void emitWatermark(int64_t) override {}
  void endInput() override {}
  Status close() override {
    Status s = writer_->finish();
    if (!s.ok()) return s;
    prepare(kFinalCheckpointId, nullptr);
    return Status::Ok();
  }
  void snapshotState(int64_t checkpointId, OperatorSnapshot& out) override {
    prepare(checkpointId, &out.committables);
    DataOutputView view(&out.operatorState);
    view.writeVarint(static_cast<int64_t>(pending_.size()));
    for (const auto& [id, c] : pending_) {
      view.writeVarint(id);
      TypeSerializer<std::string>::serialize(c, view);
    }
  }
  Status notifyCheckpointComplete(int64_t checkpointId) override {
    // Everything prepared up to that checkpoint (also for checkpoints that failed before it);
    // the final notification covers all.
    std::vector<std::string> due;
    size_t n = 0;
    while (n < pending_.size() && (checkpointId == kFinalCheckpointId || pending_[n].first <= checkpointId)) {
      due.push_back(pending_[n++].second);
    }
    if (due.empty()) return Status::Ok();
    Status s = sink_->commit(due);
    if (!s.ok()) return s.withContext("committing the output of checkpoint " + (checkpointId == kFinalCheckpointId ? std::string("final") : std::to_string(checkpointId)));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    return Status::Ok();
  }

 private:
  // Prepared in checkpoint order, the final ones last.
  void prepare(int64_t checkpointId, std::vector<std::string>* durable) {
    std::vector<std::string> fresh;
    writer_->prepareCommit(checkpointId, &fresh);
    for (auto& c : fresh) {
      if (durable) durable->push_back(c);
      pending_.emplace_back(checkpointId == kFinalCheckpointId ? INT64_MAX : checkpointId, std::move(c));
    }
  }
  std::shared_ptr<const Sink<T>> sink_;
  std::unique_ptr<SinkWriter<T>> writer_;
  std::vector<std::pair<int64_t, std::string>> pending_;  // (checkpoint id, committable), not yet committed
  std::optional<int64_t> restoredCheckpointId_;
  std::string restoredJobId_;
  std::vector<std::string> restoredCommittables_;
};

/// Keyed event-time window with incremental aggregation, for tumbling windows (A =
/// TumblingEventTimeWindows) and sliding windows (A = SlidingEventTimeWindows), with Flink's
/// WindowOperator semantics: a window fires when the watermark reaches its maxTimestamp, with
/// that timestamp; allowed lateness 0: a record goes to those of its windows that have not fired
/// and is dropped and counted as late only when all of them fired (or it falls in a gap between
/// windows when slide > size).
///
/// State is kept per slice, not per window (the slicing of Flink SQL's window aggregates and of
/// Krishnamurthy et al., "On-the-fly sharing for streamed aggregation", SIGMOD 2006): time is
/// cut into slices of gcd(size, slide) ms, every window is a run of whole slices, and a record
/// updates one accumulator (its key in its slice) instead of one per window. When a window
/// fires, its slices' accumulators are combined with AGG::merge. Tumbling windows are the case
/// slice == window. A slice is dropped once the last window containing it fired.
///
/// Snapshots are asynchronous and incremental in CPU: a slice is a stack of layers
/// (open-addressing maps, flat_hash_map.h); snapshotState() freezes every layer (never written
/// again: the next write to that slice opens a new layer on top, merged with AGG::merge when
/// the window fires) and hands references to OperatorSnapshot::asyncPart, which serializes by
/// key group off the task thread. A layer is serialized once and its bytes are reused by every
/// later checkpoint that still contains it, so a checkpoint serializes only what changed since
/// the previous one (as RocksDB's incremental checkpoints upload only new SST files).
/// Checkpointed: per key group, blocks [slice start, n, n x (key, accumulator)] (integers as
/// varints, CompactSerializer; a slice may have several blocks, merged on restore); as operator
/// state, the watermark up to which windows fired, so that a restore does not fire them again.
template <class T, class K, class AGG, class R, class WF, class A = TumblingEventTimeWindows>
class WindowOperator final : public OneInputOperator<T> {
  using ACC = typename AGG::Accumulator;
  using SliceMap = FlatHashMap<K, ACC, StdKeyHash<K>>;

  /// Integer keys: every layer knows its smallest and largest key, so that assembling a window
  /// looks a key up only in the layers whose range contains it (keys that grow with time, such
  /// as ids, then meet almost no other layer).
  static constexpr bool kKeyRanges = std::is_integral_v<K>;

  struct Layer : StateLayer {
    SliceMap map;
    K minKey{};
    K maxKey{};

    /// Call after inserting `key`.
    void inserted(const K& key) {
      if constexpr (kKeyRanges) {
        if (map.size() == 1) {
          minKey = maxKey = key;
        } else {
          minKey = std::min(minKey, key);
          maxKey = std::max(maxKey, key);
        }
      }
    }
    bool mayContain(const K& key) const {
      if constexpr (kKeyRanges) return !(key < minKey || maxKey < key);
      return true;
    }
  };
  using Slice = std::vector<std::shared_ptr<Layer>>;  // oldest first; only the last may be unfrozen

 public:
  WindowOperator(std::function<K(const T&)> key, A assigner, std::shared_ptr<const AGG> agg, WF windowFn,
                 Output<R>* out)
      : key_(std::move(key)), agg_(std::move(agg)), windowFn_(std::move(windowFn)), out_(out), collector_(out) {
    if constexpr (std::is_same_v<A, TumblingEventTimeWindows>) {
      sizeMs_ = slideMs_ = assigner.sizeMs;
    } else {
      sizeMs_ = assigner.sizeMs;
      slideMs_ = assigner.slideMs;
    }
    offsetMs_ = assigner.offsetMs;
    sliceMs_ = std::gcd(sizeMs_, slideMs_);
  }

  void collect(T&& v, int64_t ts) override {
    if (ts == kNoTimestamp) {
      throw TaskFailure("event-time window received a record without timestamp: assign a WatermarkStrategy");
    }
    int64_t lastEnd = floorTo(ts, slideMs_) + sizeMs_;  // end of the latest window containing ts
    if (ts >= lastEnd || lastEnd - 1 <= watermark_) {
      TaskMetrics::inc(this->ctx_->metrics->numLateRecordsDropped);
      return;
    }
    Layer& layer = writableLayer(floorTo(ts, sliceMs_));
    K key = key_(v);
    auto [acc, inserted] = layer.map.tryEmplace(key);
    if (inserted) {
      *acc = agg_->createAccumulator();
      layer.inserted(key);
    }
    agg_->add(v, *acc);
  }

  void emitWatermark(int64_t wm) override {
    if (wm <= watermark_) return;
    int64_t previous = watermark_;
    watermark_ = wm;
    this->ctx_->metrics->currentInputWatermark.store(wm, std::memory_order_relaxed);
    fireWindows(previous, wm);
    out_->emitWatermark(wm);
  }
  void endInput() override { out_->endInput(); }

  void snapshotState(int64_t /*checkpointId*/, OperatorSnapshot& out) override {
    snapshotLayers(out, watermark_, slices_, this->ctx_->maxParallelism, &WindowOperator::serialize);
    cached_ = nullptr;  // the next write opens a new layer
  }

  Status initializeState(const RestoredState& state) override {
    watermark_ = restoredFiredWatermark(state);
    for (const Buffer& b : state.keyedState) {
      DataInputView in(b.data(), b.size());
      while (!in.atEnd()) {
        auto start = in.readPod<int64_t>();
        auto n = in.readPod<uint32_t>();
        Layer& layer = writableLayer(start);
        for (uint32_t i = 0; i < n; ++i) {
          K key{};
          CompactSerializer<K>::deserialize(key, in);
          ACC acc{};
          CompactSerializer<ACC>::deserialize(acc, in);
          auto [slot, inserted] = layer.map.tryEmplace(key);
          if (inserted) {
            *slot = std::move(acc);
            layer.inserted(key);
          } else {
            *slot = agg_->merge(*slot, acc);
          }
        }
      }
    }
    return Status::Ok();
  }

  /// Windows that hold state and have not fired.
  size_t numPendingWindows() const {
    std::set<int64_t> starts;
    for (const auto& [start, layers] : slices_) {
      for (int64_t s = floorTo(start, slideMs_); s + sizeMs_ > start; s -= slideMs_) {
        if (s + sizeMs_ - 1 > watermark_) starts.insert(s);
      }
    }
    return starts.size();
  }
  /// Layers of all slices (a slice gets a new layer when written after a snapshot).
  size_t numLayers() const {
    size_t n = 0;
    for (const auto& [start, layers] : slices_) n += layers.size();
    return n;
  }

 private:
  /// Largest t' <= t with t' = offset (mod unit).
  int64_t floorTo(int64_t t, int64_t unit) const {
    int64_t r = (t - offsetMs_) % unit;
    if (r < 0) r += unit;
    return t - r;
  }
  /// Smallest t' >= t with t' = offset (mod unit).
  int64_t ceilTo(int64_t t, int64_t unit) const {
    int64_t f = floorTo(t, unit);
    return f == t ? t : f + unit;
  }

  /// The writable (top, unfrozen) layer of the slice starting at `start`, created if needed.
  /// A new latest slice is sized like the one before it (no rehashing while it fills).
  Layer& writableLayer(int64_t start) {
    if (cached_ != nullptr && cachedStart_ == start) return *cached_;
    auto it = slices_.find(start);
    if (it == slices_.end()) {
      size_t expected = 0;
      if (!slices_.empty() && slices_.rbegin()->first < start) {
        for (const auto& layer : slices_.rbegin()->second) expected += layer->map.size();
      }
      it = slices_.emplace(start, Slice{}).first;
      it->second.push_back(std::make_shared<Layer>());
      it->second.back()->map.reserve(expected);
    } else if (it->second.back()->frozen) {
      openLayer(it->second);
    }
    cached_ = it->second.back().get();
    cachedStart_ = start;
    return *cached_;
  }

  /// Makes the top layer of `slice` writable after a snapshot froze it, keeping the number of
  /// layers small: a small top layer (late records into an older slice) is copied; a large one
  /// gets a new empty layer on top; a slice with kMaxLayers layers is compacted into one.
  void openLayer(Slice& slice) {
    static constexpr size_t kMaxLayers = 4;
    static constexpr size_t kSmallLayer = 4096;
    size_t below = 0;
    for (size_t i = 0; i + 1 < slice.size(); ++i) below += slice[i]->map.size();
    const Layer& top = *slice.back();
    if (top.map.size() <= kSmallLayer || top.map.size() * 8 <= below) {
      auto copy = std::make_shared<Layer>();
      copy->map = top.map;
      copy->minKey = top.minKey;
      copy->maxKey = top.maxKey;
      slice.back() = std::move(copy);
    } else if (slice.size() < kMaxLayers) {
      slice.push_back(std::make_shared<Layer>());
    } else {
      auto largest = std::max_element(slice.begin(), slice.end(), [](const auto& a, const auto& b) {
        return a->map.size() < b->map.size();
      });
      auto merged = std::make_shared<Layer>();
      merged->map = (*largest)->map;
      merged->minKey = (*largest)->minKey;
      merged->maxKey = (*largest)->maxKey;
      for (const auto& layer : slice) {
        if (layer == *largest) continue;
        layer->map.forEach([&](const K& key, const ACC& acc) {
          auto [slot, inserted] = merged->map.tryEmplace(key);
          if (inserted) {
            *slot = acc;
            merged->inserted(key);
          } else {
            *slot = agg_->merge(*slot, acc);
          }
        });
      }
      slice.assign(1, std::move(merged));
    }
  }

  /// Serializes a layer by key group: per group one block [start, n, n x (key, accumulator)].
  static void serialize(const Layer& layer, int64_t start, int maxParallelism, StateLayer::Bytes& bytes) {
    std::vector<Buffer> groups(static_cast<size_t>(maxParallelism));
    std::vector<uint32_t> count(groups.size());
    if constexpr (std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<ACC>) {
      size_t expected = layer.map.size() / groups.size() + 4;
      for (auto& g : groups) g.reserve(12 + expected * (sizeof(K) + sizeof(ACC)) * 3 / 4);
    }
    layer.map.forEach([&](const K& key, const ACC& acc) {
      auto kg = static_cast<size_t>(assignToKeyGroup(KeyHash<K>()(key), maxParallelism));
      DataOutputView view(&groups[kg]);
      if (count[kg]++ == 0) {
        view.writePod(start);
        view.writePod(uint32_t{0});
      }
      CompactSerializer<K>::serialize(key, view);
      CompactSerializer<ACC>::serialize(acc, view);
    });
    for (size_t kg = 0; kg < groups.size(); ++kg) {
      if (count[kg] == 0) continue;
      std::memcpy(groups[kg].data() + sizeof(int64_t), &count[kg], sizeof(uint32_t));
      groups[kg].shrink_to_fit();
      bytes.emplace(static_cast<int>(kg), std::move(groups[kg]));
    }
  }

  /// Fires, in order, the windows whose maxTimestamp is in (previous, wm] and that contain
  /// state; then drops the slices no window needs any more.
  void fireWindows(int64_t previous, int64_t wm) {
    if (slices_.empty()) return;
    int64_t lo = slices_.begin()->first - sizeMs_ + 1;  // the first window containing the first slice
    if (previous != kMinWatermark) lo = std::max(lo, previous - sizeMs_ + 2);
    for (int64_t s = ceilTo(lo, slideMs_); s + sizeMs_ - 1 <= wm;) {
      auto first = slices_.lower_bound(s);
      if (first == slices_.end()) break;
      if (first->first >= s + sizeMs_) {  // an empty window: skip to the next one with state
        s = ceilTo(first->first - sizeMs_ + 1, slideMs_);
        continue;
      }
      fireWindow(TimeWindow{s, s + sizeMs_}, first);
      s += slideMs_;
    }
    bool dropped = false;
    while (!slices_.empty() && floorTo(slices_.begin()->first, slideMs_) + sizeMs_ - 1 <= wm) {
      slices_.erase(slices_.begin());
      dropped = true;
    }
    if (dropped) cached_ = nullptr;
  }

  void fireWindow(const TimeWindow& window, typename std::map<int64_t, Slice>::iterator first) {
    collector_.timestamp = window.maxTimestamp();
    auto emit = [&](const K& key, const ACC& acc) {
      windowFn_(key, window, agg_->getResult(acc), collector_);
      TaskMetrics::inc(this->ctx_->metrics->numFiredWindows);
    };
    layers_.clear();
    for (auto it = first; it != slices_.end() && it->first < window.end; ++it) {
      for (const auto& layer : it->second) layers_.push_back(layer.get());
    }
    if (layers_.size() == 1) {
      layers_[0]->map.forEach(emit);  // one slice, one layer: no merge
      return;
    }
    if constexpr (kKeyRanges) {
      // Each key is emitted with the first layer that has it, merged with the later ones.
      for (size_t i = 0; i < layers_.size(); ++i) {
        layers_[i]->map.forEach([&](const K& key, const ACC& acc) {
          for (size_t j = 0; j < i; ++j) {
            if (layers_[j]->mayContain(key) && layers_[j]->map.find(key) != nullptr) return;
          }
          ACC total = acc;
          for (size_t j = i + 1; j < layers_.size(); ++j) {
            if (!layers_[j]->mayContain(key)) continue;
            if (const ACC* other = layers_[j]->map.find(key)) total = agg_->merge(total, *other);
          }
          emit(key, total);
        });
      }
    } else {
      // Copy the largest layer (fewest inserts) and merge the others into it.
      auto largest = std::max_element(layers_.begin(), layers_.end(), [](const Layer* a, const Layer* b) {
        return a->map.size() < b->map.size();
      });
      std::iter_swap(layers_.begin(), largest);
      merged_ = layers_[0]->map;
      for (size_t i = 1; i < layers_.size(); ++i) {
        layers_[i]->map.forEach([&](const K& key, const ACC& acc) {
          auto [slot, inserted] = merged_.tryEmplace(key);
          *slot = inserted ? acc : agg_->merge(*slot, acc);
        });
      }
      merged_.forEach(emit);
    }
  }

  std::function<K(const T&)> key_;
  int64_t sizeMs_ = 0;
  int64_t slideMs_ = 0;
  int64_t offsetMs_ = 0;
  int64_t sliceMs_ = 0;
  std::shared_ptr<const AGG> agg_;
  WF windowFn_;
  Output<R>* out_;
  TimestampedCollector<R> collector_;
  int64_t watermark_ = kMinWatermark;
  LayersByStart<Layer> slices_;  // slice start -> layers of key -> accumulator
  Layer* cached_ = nullptr;          // the unfrozen layer written last
  int64_t cachedStart_ = 0;
  std::vector<const Layer*> layers_;  // scratch: the layers of the window firing
  SliceMap merged_;                   // scratch for windows of several layers (non-integer keys)
};

/// Keyed event-time session windows with incremental aggregation (EventTimeSessionWindows).
/// State: key -> its open sessions (start, end, accumulator); an element's window [t, t + gap)
/// merges with every session it intersects (accumulators combined with AGG::merge). A session
/// fires when the watermark reaches end - 1, with that timestamp. An element is late (dropped
/// and counted) only when its window is late and merges with no open session, as in Flink.
/// Timers: every session has one pending timer at or before its end - 1; when it comes due and
/// the session has grown since, it is registered again at the new end - 1 (so extending a
/// session costs no timer update).
template <class T, class K, class AGG, class R, class WF>
class SessionWindowOperator final : public OneInputOperator<T> {
  using ACC = typename AGG::Accumulator;

 public:
  SessionWindowOperator(std::function<K(const T&)> key, EventTimeSessionWindows assigner,
                        std::shared_ptr<const AGG> agg, WF windowFn, Output<R>* out)
      : key_(std::move(key)), gap_(assigner.gapMs), agg_(std::move(agg)), windowFn_(std::move(windowFn)),
        out_(out), collector_(out) {}

  void collect(T&& v, int64_t ts) override {
    if (ts == kNoTimestamp) {
      throw TaskFailure("event-time window received a record without timestamp: assign a WatermarkStrategy");
    }
    K key = key_(v);
    auto found = state_.find(key);
    Session merged{ts, ts + gap_, ACC{}, kMinWatermark};
    bool mergedAny = false;
    if (found != state_.end()) {
      auto& sessions = found->second;
      for (size_t i = 0; i < sessions.size();) {
        Session& s = sessions[i];
        if (s.start <= merged.end && s.end >= merged.start) {
          merged.start = std::min(merged.start, s.start);
          merged.end = std::max(merged.end, s.end);
          merged.acc = mergedAny ? agg_->merge(merged.acc, s.acc) : std::move(s.acc);
          merged.timer = std::max(merged.timer, s.timer);
          mergedAny = true;
          s = std::move(sessions.back());
          sessions.pop_back();
        } else {
          ++i;
        }
      }
    }
    if (!mergedAny) {
      if (merged.end - 1 <= watermark_) {
        TaskMetrics::inc(this->ctx_->metrics->numLateRecordsDropped);
        return;
      }
      merged.acc = agg_->createAccumulator();
      merged.timer = merged.end - 1;
      timers_.emplace(merged.timer, key);
    }
    agg_->add(v, merged.acc);
    if (found == state_.end()) found = state_.try_emplace(std::move(key)).first;
    found->second.push_back(std::move(merged));
  }

  void emitWatermark(int64_t wm) override {
    if (wm <= watermark_) return;
    watermark_ = wm;
    this->ctx_->metrics->currentInputWatermark.store(wm, std::memory_order_relaxed);
    while (!timers_.empty() && timers_.begin()->first <= wm) {
      auto node = timers_.extract(timers_.begin());
      auto it = state_.find(node.mapped());
      if (it == state_.end()) continue;  // a stale timer of a session that fired
      auto& sessions = it->second;
      for (size_t i = 0; i < sessions.size();) {
        Session& s = sessions[i];
        if (s.end - 1 <= wm) {
          TimeWindow window{s.start, s.end};
          collector_.timestamp = window.maxTimestamp();
          windowFn_(it->first, window, agg_->getResult(s.acc), collector_);
          TaskMetrics::inc(this->ctx_->metrics->numFiredWindows);
          s = std::move(sessions.back());
          sessions.pop_back();
          continue;
        }
        if (s.timer <= wm) {  // its timer came due, but the session grew since
          s.timer = s.end - 1;
          timers_.emplace(s.timer, it->first);
        }
        ++i;
      }
      if (sessions.empty()) state_.erase(it);
    }
    out_->emitWatermark(wm);
  }
  void endInput() override { out_->endInput(); }

  /// Keyed state by key group: entries (key, number of sessions, (start, end, accumulator)...).
  void snapshotState(int64_t /*checkpointId*/, OperatorSnapshot& out) override {
    for (const auto& [key, sessions] : state_) {
      DataOutputView view(&out.keyedState[assignToKeyGroup(KeyHash<K>()(key), this->ctx_->maxParallelism)]);
      TypeSerializer<K>::serialize(key, view);
      view.writePod(static_cast<uint32_t>(sessions.size()));
      for (const Session& s : sessions) {
        view.writePod(s.start);
        view.writePod(s.end);
        TypeSerializer<ACC>::serialize(s.acc, view);
      }
    }
  }
  Status initializeState(const RestoredState& state) override {
    for (const Buffer& b : state.keyedState) {
      DataInputView in(b.data(), b.size());
      while (!in.atEnd()) {
        K key{};
        TypeSerializer<K>::deserialize(key, in);
        auto n = in.readPod<uint32_t>();
        auto& sessions = state_[key];
        for (uint32_t i = 0; i < n; ++i) {
          Session s;
          s.start = in.readPod<int64_t>();
          s.end = in.readPod<int64_t>();
          TypeSerializer<ACC>::deserialize(s.acc, in);
          s.timer = s.end - 1;
          timers_.emplace(s.timer, key);
          sessions.push_back(std::move(s));
        }
      }
    }
    return Status::Ok();
  }

  /// Open sessions over all keys.
  size_t numPendingWindows() const {
    size_t n = 0;
    for (const auto& [key, sessions] : state_) n += sessions.size();
    return n;
  }

 private:
  struct Session {
    int64_t start = 0;
    int64_t end = 0;
    ACC acc{};
    int64_t timer = kMinWatermark;  // the pending timer's time (<= end - 1)
  };
  std::function<K(const T&)> key_;
  int64_t gap_;
  std::shared_ptr<const AGG> agg_;
  WF windowFn_;
  Output<R>* out_;
  TimestampedCollector<R> collector_;
  int64_t watermark_ = kMinWatermark;
  std::unordered_map<K, std::vector<Session>, StdKeyHash<K>> state_;
  std::multimap<int64_t, K> timers_;  // maxTimestamp -> key, possibly stale
};

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

template <class IN>
auto networkInputFactory() {
  return [](void* input, std::vector<uint8_t> inputOfChannel, TaskMetrics* metrics) -> std::unique_ptr<NetworkInputBase> {
    return std::make_unique<NetworkInput<IN>>(static_cast<Output<IN>*>(input), static_cast<int>(inputOfChannel.size()),
                                              metrics);
  };
}

}  // namespace detail

// ---- Environment and streams ------------------------------------------------------------

/// Entry to the API. In a job's main(), execute() does not run the job: it hands the finished
/// StreamGraph to the runtime, which runs the same main() in every process.
class StreamExecutionEnvironment {
 public:
  explicit StreamExecutionEnvironment(Configuration config = {}) : config_(std::move(config)) {}

  /// Default parallelism of operators that set none (-1: parallelism.default).
  void setParallelism(int parallelism) { parallelism_ = parallelism; }
  int getParallelism() const { return parallelism_; }
  const Configuration& getConfiguration() const { return config_; }
  /// Shown under /jobs/{id}/config (e.g. where the output goes).
  void setGlobalJobParameter(const std::string& key, const std::string& value) {
    graph_.globalJobParameters[key] = value;
  }

  template <class T>
  DataStream<T> fromSource(std::shared_ptr<const Source<T>> source, WatermarkStrategy<T> strategy,
                           const std::string& name);

  /// A bounded source of the given elements; subtask i emits elements i, i+p, i+2p, ...
  template <class T>
  DataStream<T> fromCollection(std::vector<T> elements, const std::string& name = "Collection Source");

  /// Marks the pipeline complete under `jobName`. Calling it twice is an error.
  void execute(const std::string& jobName);

  bool executed() const { return executed_; }
  StreamGraph& streamGraph() { return graph_; }
  const StreamGraph& streamGraph() const { return graph_; }

  /// Used by the API templates.
  int addNode(StreamNode node) {
    node.id = static_cast<int>(graph_.nodes.size());
    if (node.parallelism < 0) node.parallelism = parallelism_;
    graph_.nodes.push_back(std::move(node));
    return graph_.nodes.back().id;
  }
  void addEdge(StreamEdge edge) {
    int idx = static_cast<int>(graph_.edges.size());
    graph_.nodes[edge.source].outEdges.push_back(idx);
    graph_.nodes[edge.target].inEdges.push_back(idx);
    graph_.edges.push_back(std::move(edge));
  }

 private:
  Configuration config_;
  StreamGraph graph_;
  int parallelism_ = -1;
  bool executed_ = false;
};

/// Result of sinkTo(): lets the sink be named and given a parallelism.
class DataStreamSink {
 public:
  DataStreamSink(StreamExecutionEnvironment* env, int node) : env_(env), node_(node) {}
  DataStreamSink& name(const std::string& n) {
    env_->streamGraph().nodes[node_].name = "Sink: " + n;
    return *this;
  }
  DataStreamSink& uid(const std::string& u) {
    env_->streamGraph().nodes[node_].uid = u;
    return *this;
  }
  DataStreamSink& setParallelism(int p) {
    env_->streamGraph().nodes[node_].parallelism = p;
    return *this;
  }

 private:
  StreamExecutionEnvironment* env_;
  int node_;
};

template <class T>
class DataStream {
 public:
  DataStream(StreamExecutionEnvironment* env, int node) : env_(env), node_(node) {}
  int nodeId() const { return node_; }
  StreamExecutionEnvironment* env() const { return env_; }

  template <class F, class R = std::decay_t<std::invoke_result_t<F&, T&>>>
  DataStream<R> map(F f, const std::string& name = "Map") {
    return transform<R>(name, Partitioning::kForward, nullptr, [f](void* out) {
      return std::make_unique<detail::MapOperator<T, R, F>>(f, static_cast<Output<R>*>(out));
    });
  }

  template <class F>
  DataStream<T> filter(F f, const std::string& name = "Filter") {
    return transform<T>(name, Partitioning::kForward, nullptr, [f](void* out) {
      return std::make_unique<detail::FilterOperator<T, F>>(f, static_cast<Output<T>*>(out));
    });
  }

  /// f(const T&, Collector<R>&) emits zero or more results per element.
  template <class R, class F>
  DataStream<R> flatMap(F f, const std::string& name = "FlatMap") {
    return transform<R>(name, Partitioning::kForward, nullptr, [f](void* out) {
      return std::make_unique<detail::FlatMapOperator<T, R, F>>(f, static_cast<Output<R>*>(out));
    });
  }

  DataStream<T> assignTimestampsAndWatermarks(WatermarkStrategy<T> strategy) {
    return transform<T>("Timestamps/Watermarks", Partitioning::kForward, nullptr, [strategy](void* out) {
      return std::make_unique<detail::TimestampsAndWatermarksOperator<T>>(strategy, static_cast<Output<T>*>(out));
    });
  }

  /// Partitions by key: records with equal keys go to the same subtask (by key group).
  template <class F, class K = std::decay_t<std::invoke_result_t<F&, const T&>>>
  KeyedStream<T, K> keyBy(F keySelector) {
    return KeyedStream<T, K>(*this, std::function<K(const T&)>(keySelector));
  }

  /// The union of this stream with `others` (same element type), as Flink's union: the next
  /// operator consumes all of them, each over its own edge; its input watermark is the
  /// minimum over all of them. `union` is a C++ keyword, hence the underscore. name(), uid()
  /// and setParallelism() of the result apply to this stream's operator only; a rebalance()
  /// before the union applies to the edges of every stream.
  template <class... S>
  DataStream<T> union_(const S&... others) const {
    static_assert((std::is_same_v<S, DataStream<T>> && ...), "union_ needs streams of the same element type");
    DataStream<T> u = *this;
    auto add = [&u](const DataStream<T>& o) {
      u.unioned_.push_back(o.node_);
      u.unioned_.insert(u.unioned_.end(), o.unioned_.begin(), o.unioned_.end());
    };
    (add(others), ...);
    return u;
  }

  /// This stream and `other` as the two inputs of one operator (connected_streams.h).
  template <class B>
  ConnectedStreams<T, B> connect(const DataStream<B>& other) const;
  /// Window join: pairs of this stream and `other` with equal keys in the same window
  /// (connected_streams.h).
  template <class B>
  JoinedStreams<T, B> join(const DataStream<B>& other) const;
  /// Window co-group: per key and window, all elements of both streams (connected_streams.h).
  template <class B>
  CoGroupedStreams<T, B> coGroup(const DataStream<B>& other) const;

  /// Distributes records round-robin over the next operator's subtasks.
  DataStream<T> rebalance() {
    rebalanceNext_ = true;
    return *this;
  }

  DataStreamSink sinkTo(std::shared_ptr<const Sink<T>> sink, const std::string& name = "Sink") {
    StreamNode node;
    node.name = "Sink: " + name;
    node.isSink = true;
    node.createOperator = [sink](void*) { return std::make_unique<detail::SinkOperator<T>>(sink); };
    node.createNetworkInput = detail::networkInputFactory<T>();
    int id = env_->addNode(std::move(node));
    addEdgesTo(id, Partitioning::kForward, nullptr);
    return DataStreamSink(env_, id);
  }

  DataStream<T>& name(const std::string& n) {
    env_->streamGraph().nodes[node_].name = n;
    return *this;
  }
  DataStream<T>& uid(const std::string& u) {
    env_->streamGraph().nodes[node_].uid = u;
    return *this;
  }
  DataStream<T>& setParallelism(int p) {
    env_->streamGraph().nodes[node_].parallelism = p;
    return *this;
  }

  /// Adds a one-input operator consuming this stream (used by the API itself).
  template <class R, class Factory>
  DataStream<R> transform(const std::string& name, Partitioning partitioning,
                          std::function<uint32_t(const void*)> keyHash, Factory factory) {
    StreamNode node;
    node.name = name;
    node.createOperator = [factory](void* out) -> std::unique_ptr<StreamOperatorBase> { return factory(out); };
    node.createWriter = detail::writerFactory<R>();
    node.createNetworkInput = detail::networkInputFactory<T>();
    int id = env_->addNode(std::move(node));
    addEdgesTo(id, partitioning, std::move(keyHash));
    return DataStream<R>(env_, id);
  }

  /// Adds the edges from this stream (every stream of a union) to node `target`, feeding its
  /// input `typeNumber` (used by the API itself).
  void addEdgesTo(int target, Partitioning p, std::function<uint32_t(const void*)> keyHash, int typeNumber = 0) const {
    if (p == Partitioning::kForward && rebalanceNext_) p = Partitioning::kRebalance;
    for (size_t i = 0; i <= unioned_.size(); ++i) {
      StreamEdge e;
      e.source = i == 0 ? node_ : unioned_[i - 1];
      e.target = target;
      e.partitioning = p;
      e.keyHash = keyHash;
      e.typeNumber = typeNumber;
      env_->addEdge(std::move(e));
    }
  }

 private:
  StreamExecutionEnvironment* env_;
  int node_;
  std::vector<int> unioned_;  // the other streams of a union
  bool rebalanceNext_ = false;
};

template <class T, class K, class A = TumblingEventTimeWindows>
class WindowedStream;

template <class T, class K>
class KeyedStream {
 public:
  KeyedStream(DataStream<T> stream, std::function<K(const T&)> key) : stream_(std::move(stream)), key_(std::move(key)) {}

  WindowedStream<T, K> window(TumblingEventTimeWindows assigner) {
    return WindowedStream<T, K>(stream_, key_, assigner);
  }
  WindowedStream<T, K, SlidingEventTimeWindows> window(SlidingEventTimeWindows assigner) {
    return WindowedStream<T, K, SlidingEventTimeWindows>(stream_, key_, assigner);
  }
  WindowedStream<T, K, EventTimeSessionWindows> window(EventTimeSessionWindows assigner) {
    return WindowedStream<T, K, EventTimeSessionWindows>(stream_, key_, assigner);
  }

  /// Stable hash of a record's key, for hash partitioning by key group.
  std::function<uint32_t(const void*)> keyHash() const {
    auto key = key_;
    return [key](const void* record) { return KeyHash<K>()(key(*static_cast<const T*>(record))); };
  }

 private:
  DataStream<T> stream_;
  std::function<K(const T&)> key_;
};

/// A keyed stream with a window assigner A (TumblingEventTimeWindows, SlidingEventTimeWindows or
/// EventTimeSessionWindows).
template <class T, class K, class A>
class WindowedStream {
 public:
  WindowedStream(DataStream<T> stream, std::function<K(const T&)> key, A assigner)
      : stream_(std::move(stream)), key_(std::move(key)), assigner_(assigner) {}

  /// Aggregates each (key, window) incrementally with `agg`; when the window fires,
  /// windowFn(const K& key, const TimeWindow& w, AGG::Result&& result, Collector<R>& out) emits.
  template <class R, class AGG, class WF>
  DataStream<R> aggregate(std::shared_ptr<const AGG> agg, WF windowFn, const std::string& name = "Window") {
    auto key = key_;
    auto assigner = assigner_;
    KeyedStream<T, K> keyed(stream_, key_);
    return stream_.template transform<R>(
        name + "(" + detail::describeAssigner(assigner_) + ")", Partitioning::kHash, keyed.keyHash(),
        [key, assigner, agg, windowFn](void* out) -> std::unique_ptr<StreamOperatorBase> {
          if constexpr (std::is_same_v<A, EventTimeSessionWindows>) {
            return std::make_unique<detail::SessionWindowOperator<T, K, AGG, R, WF>>(
                key, assigner, agg, windowFn, static_cast<Output<R>*>(out));
          } else {
            return std::make_unique<detail::WindowOperator<T, K, AGG, R, WF, A>>(key, assigner, agg, windowFn,
                                                                                  static_cast<Output<R>*>(out));
          }
        });
  }

 private:
  DataStream<T> stream_;
  std::function<K(const T&)> key_;
  A assigner_;
};

// ---- Template definitions of the environment --------------------------------------------

template <class T>
DataStream<T> StreamExecutionEnvironment::fromSource(std::shared_ptr<const Source<T>> source,
                                                     WatermarkStrategy<T> strategy, const std::string& name) {
  StreamNode node;
  node.name = "Source: " + name;
  node.isSource = true;
  node.createOperator = [source, strategy](void* out) -> std::unique_ptr<StreamOperatorBase> {
    return std::make_unique<detail::SourceOperator<T>>(source->createReader(), strategy,
                                                        static_cast<Output<T>*>(out));
  };
  node.createWriter = detail::writerFactory<T>();
  return DataStream<T>(this, addNode(std::move(node)));
}

namespace detail {
template <class T>
class CollectionReader final : public SourceReader<T> {
 public:
  explicit CollectionReader(std::shared_ptr<const std::vector<T>> elements) : elements_(std::move(elements)) {}
  Status open(RuntimeContext& ctx) override {
    next_ = static_cast<size_t>(ctx.subtaskIndex);
    step_ = static_cast<size_t>(ctx.parallelism);
    for (const Buffer& b : restored_) {
      DataInputView in(b.data(), b.size());
      auto oldStep = in.readPod<uint64_t>();
      auto oldNext = in.readPod<uint64_t>();
      done_.push_back({oldStep, oldNext});
    }
    return Status::Ok();
  }
  InputStatus pollNext(ReaderOutput<T>& out, int maxRecords) override {
    for (int i = 0; i < maxRecords && next_ < elements_->size(); ++i, next_ += step_) {
      if (isDone(next_)) continue;
      T copy = (*elements_)[next_];
      out.collect(std::move(copy));
    }
    return next_ < elements_->size() ? InputStatus::kMoreAvailable : InputStatus::kEndOfInput;
  }
  // Position: (parallelism, subtask, next index) of every subtask; on restore, element i is
  // done when the subtask that owned it had passed it.
  void snapshotState(DataOutputView& out) override {
    out.writePod(static_cast<uint64_t>(step_));
    out.writePod(static_cast<uint64_t>(next_));
  }
  Status restoreState(const std::vector<Buffer>& states) override {
    restored_ = states;
    return Status::Ok();
  }

 private:
  std::vector<Buffer> restored_;
  std::shared_ptr<const std::vector<T>> elements_;
  bool isDone(size_t i) const {
    for (const auto& [oldStep, oldNext] : done_) {
      if (oldNext % oldStep == i % oldStep) return i < oldNext;
    }
    return false;
  }
  std::vector<std::pair<uint64_t, uint64_t>> done_;
  size_t next_ = 0;
  size_t step_ = 1;
};

template <class T>
class CollectionSource final : public Source<T> {
 public:
  explicit CollectionSource(std::vector<T> elements)
      : elements_(std::make_shared<const std::vector<T>>(std::move(elements))) {}
  std::unique_ptr<SourceReader<T>> createReader() const override {
    return std::make_unique<CollectionReader<T>>(elements_);
  }

 private:
  std::shared_ptr<const std::vector<T>> elements_;
};
}  // namespace detail

template <class T>
DataStream<T> StreamExecutionEnvironment::fromCollection(std::vector<T> elements, const std::string& name) {
  return fromSource<T>(std::make_shared<detail::CollectionSource<T>>(std::move(elements)),
                       WatermarkStrategy<T>::noWatermarks(), name);
}

}  // namespace flink

#include "flink/connected_streams.h"
