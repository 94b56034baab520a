// Operators with two inputs, as in Flink's DataStream API: connected streams processed by a
// keyed co-process function, and window joins / co-groups of two streams.
//
//   people.connect(auctions)
//       .keyBy([](const Person& p) { return p.id; }, [](const Auction& a) { return a.seller; })
//       .process<Row>(std::make_shared<const MyJoin>());          // a KeyedCoProcessFunction
//
//   people.join(auctions)
//       .where([](const Person& p) { return p.id; })
//       .equalTo([](const Auction& a) { return a.seller; })
//       .window(TumblingEventTimeWindows::of(10'000))
//       .apply([](const Person& p, const Auction& a) { return Row{...}; });
//
// A two-input operator is always the head of its task. Its input watermark is the minimum over
// the channels of both inputs, checkpoint barriers are aligned across both inputs, and its
// input ends when both inputs ended (Flink's rules). Building is single-threaded, as the rest
// of the API; operators run on their task's thread. Included by flink/datastream.h.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "flink/datastream.h"

namespace flink {

/// Processes the elements of two keyed streams with per-key state S (Flink's
/// KeyedCoProcessFunction with one ValueState<S>). The operator owns the state: an S is
/// default-constructed on a key's first element, handed to every element of that key, and
/// checkpointed by key group (S must be serializable). Methods run on the task thread and
/// must not keep references to the state or the context.
template <class K, class IN1, class IN2, class OUT, class S>
class KeyedCoProcessFunction {
 public:
  using Key = K;
  using Input1 = IN1;
  using Input2 = IN2;
  using Result = OUT;
  using State = S;

  /// What an element comes with: its event timestamp (ms, or kNoTimestamp) and its key.
  class Context {
   public:
    Context(int64_t timestamp, const K& key) : timestamp_(timestamp), key_(key) {}
    int64_t timestamp() const { return timestamp_; }
    const K& getCurrentKey() const { return key_; }

   private:
    int64_t timestamp_;
    const K& key_;
  };

  virtual ~KeyedCoProcessFunction() = default;
  /// An element of the first input; results collected to `out` carry the element's timestamp.
  virtual void processElement1(const IN1& value, S& state, const Context& ctx, Collector<OUT>& out) const = 0;
  /// An element of the second input.
  virtual void processElement2(const IN2& value, S& state, const Context& ctx, Collector<OUT>& out) const = 0;
};

namespace detail {

/// Serializes per-key entries into OperatorSnapshot::keyedState by key group; `write(view)`
/// writes one entry after its key.
template <class K, class Map, class WriteFn>
void snapshotByKeyGroup(const Map& state, int maxParallelism, OperatorSnapshot& out, WriteFn write) {
  for (const auto& [key, value] : state) {
    DataOutputView view(&out.keyedState[assignToKeyGroup(KeyHash<K>()(key), maxParallelism)]);
    TypeSerializer<K>::serialize(key, view);
    write(value, view);
  }
}

template <class IN1, class IN2, class K, class F>
class KeyedCoProcessOperator final : public TwoInputOperator<IN1, IN2> {
  using S = typename F::State;
  using OUT = typename F::Result;

 public:
  KeyedCoProcessOperator(std::function<K(const IN1&)> key1, std::function<K(const IN2&)> key2,
                         std::shared_ptr<const F> fn, Output<OUT>* out)
      : key1_(std::move(key1)), key2_(std::move(key2)), fn_(std::move(fn)), out_(out), collector_(out) {}

  void processElement1(IN1&& v, int64_t ts) override {
    K key = key1_(v);
    collector_.timestamp = ts;
    fn_->processElement1(v, state_[key], typename F::Context(ts, key), collector_);
  }
  void processElement2(IN2&& v, int64_t ts) override {
    K key = key2_(v);
    collector_.timestamp = ts;
    fn_->processElement2(v, state_[key], typename F::Context(ts, key), collector_);
  }
  void processWatermark(int64_t wm) override { out_->emitWatermark(wm); }
  void endInput() override { out_->endInput(); }

  // Keyed state by key group: entries (key, state).
  void snapshotState(int64_t /*checkpointId*/, OperatorSnapshot& out) override {
    snapshotByKeyGroup<K>(state_, this->ctx_->maxParallelism, out,
                          [](const S& s, DataOutputView& view) { TypeSerializer<S>::serialize(s, view); });
  }
  Status initializeState(const RestoredState& state) override {
    for (const Buffer& b : state.keyedState) {
      DataInputView in(b.data(), b.size());
      while (!in.atEnd()) {
        K key{};
        TypeSerializer<K>::deserialize(key, in);
        TypeSerializer<S>::deserialize(state_[key], in);
      }
    }
    return Status::Ok();
  }

 private:
  std::function<K(const IN1&)> key1_;
  std::function<K(const IN2&)> key2_;
  std::shared_ptr<const F> fn_;
  Output<OUT>* out_;
  TimestampedCollector<OUT> collector_;
  std::unordered_map<K, S, StdKeyHash<K>> state_;
};

/// Keyed tumbling event-time windows over two inputs (Flink's window co-group, on which its
/// window join is built): per (key, window) the elements of both inputs are buffered; when the
/// watermark reaches the window's maxTimestamp, fn(key, window, firsts, seconds, out) runs for
/// every key with elements, results carrying the timestamp maxTimestamp. A record whose window
/// already fired is late: dropped and counted. Checkpointed: keyed state by key group, entries
/// (key, window start, firsts, seconds), a (key, window) possibly in several entries whose
/// elements add up; operator state, the watermark up to which windows fired.
///
/// Snapshots are asynchronous, as the WindowOperator's: a window's state is a stack of layers;
/// the barrier freezes them (later elements go to a new layer), the snapshot thread serializes
/// each layer once and later checkpoints reuse its bytes.
template <class IN1, class IN2, class K, class R, class CG>
class WindowCoGroupOperator final : public TwoInputOperator<IN1, IN2> {
  struct Pane {
    std::vector<IN1> first;
    std::vector<IN2> second;
  };
  using Panes = std::unordered_map<K, Pane, StdKeyHash<K>>;
  struct Layer : StateLayer {
    Panes panes;
  };

 public:
  WindowCoGroupOperator(std::function<K(const IN1&)> key1, std::function<K(const IN2&)> key2,
                        TumblingEventTimeWindows assigner, CG fn, Output<R>* out)
      : key1_(std::move(key1)), key2_(std::move(key2)), assigner_(assigner), fn_(std::move(fn)), out_(out),
        collector_(out) {}

  void processElement1(IN1&& v, int64_t ts) override {
    if (Pane* p = pane(ts, key1_(v))) p->first.push_back(std::move(v));
  }
  void processElement2(IN2&& v, int64_t ts) override {
    if (Pane* p = pane(ts, key2_(v))) p->second.push_back(std::move(v));
  }
  void processWatermark(int64_t wm) override {
    if (wm <= watermark_) return;
    watermark_ = wm;
    while (!windows_.empty() && windows_.begin()->first + assigner_.sizeMs - 1 <= wm) {
      auto node = windows_.extract(windows_.begin());
      TimeWindow w{node.key(), node.key() + assigner_.sizeMs};
      collector_.timestamp = w.maxTimestamp();
      const auto& layers = node.mapped();
      Panes merged;  // several layers: each key's elements in arrival order
      if (layers.size() > 1) {
        for (const auto& layer : layers) {
          for (const auto& [key, p] : layer->panes) {
            Pane& m = merged[key];
            m.first.insert(m.first.end(), p.first.begin(), p.first.end());
            m.second.insert(m.second.end(), p.second.begin(), p.second.end());
          }
        }
      }
      for (const auto& [key, p] : layers.size() > 1 ? merged : layers.front()->panes) {
        fn_(key, w, p.first, p.second, collector_);
        TaskMetrics::inc(this->ctx_->metrics->numFiredWindows);
      }
    }
    out_->emitWatermark(wm);
  }
  void endInput() override { out_->endInput(); }

  void snapshotState(int64_t /*checkpointId*/, OperatorSnapshot& out) override {
    snapshotLayers(out, watermark_, windows_, this->ctx_->maxParallelism,
                   [](const Layer& layer, int64_t start, int maxParallelism, StateLayer::Bytes& bytes) {
                     OperatorSnapshot tmp;
                     snapshotByKeyGroup<K>(layer.panes, maxParallelism, tmp, [start](const Pane& p, DataOutputView& view) {
                       view.writePod(start);
                       TypeSerializer<std::vector<IN1>>::serialize(p.first, view);
                       TypeSerializer<std::vector<IN2>>::serialize(p.second, view);
                     });
                     bytes = std::move(tmp.keyedState);
                   });
  }
  Status initializeState(const RestoredState& state) override {
    // Windows up to the smallest watermark of the subtasks that wrote the state fired.
    watermark_ = restoredFiredWatermark(state);
    for (const Buffer& b : state.keyedState) {
      DataInputView in(b.data(), b.size());
      while (!in.atEnd()) {
        K key{};
        TypeSerializer<K>::deserialize(key, in);
        auto start = in.readPod<int64_t>();
        Pane restored;
        TypeSerializer<std::vector<IN1>>::deserialize(restored.first, in);
        TypeSerializer<std::vector<IN2>>::deserialize(restored.second, in);
        Pane& p = writableLayer(start).panes[key];
        for (auto& v : restored.first) p.first.push_back(std::move(v));
        for (auto& v : restored.second) p.second.push_back(std::move(v));
      }
    }
    return Status::Ok();
  }

 private:
  /// The pane of (key, window of ts), or nullptr for a late record.
  Pane* pane(int64_t ts, K&& key) {
    if (ts == kNoTimestamp) {
      throw TaskFailure("event-time window received a record without timestamp: assign a WatermarkStrategy");
    }
    int64_t start = assigner_.windowStart(ts);
    if (start + assigner_.sizeMs - 1 <= watermark_) {
      TaskMetrics::inc(this->ctx_->metrics->numLateRecordsDropped);
      return nullptr;
    }
    return &writableLayer(start).panes[std::move(key)];
  }

  Layer& writableLayer(int64_t start) {
    auto& layers = windows_[start];
    if (layers.empty() || layers.back()->frozen) layers.push_back(std::make_shared<Layer>());
    return *layers.back();
  }

  std::function<K(const IN1&)> key1_;
  std::function<K(const IN2&)> key2_;
  TumblingEventTimeWindows assigner_;
  CG fn_;
  Output<R>* out_;
  TimestampedCollector<R> collector_;
  int64_t watermark_ = kMinWatermark;
  LayersByStart<Layer> windows_;  // window start -> layers of key -> pane
};

/// Adds a two-input node fed by `a` (input 1) and `b` (input 2), both hash-partitioned by key.
template <class A, class B, class K, class R, class Factory>
DataStream<R> addTwoInputNode(const DataStream<A>& a, const DataStream<B>& b, std::function<K(const A&)> keyA,
                              std::function<K(const B&)> keyB, const std::string& name, Factory factory) {
  StreamExecutionEnvironment* env = a.env();
  StreamNode node;
  node.name = name;
  node.twoInput = true;
  node.createOperator = [factory](void* out) -> std::unique_ptr<StreamOperatorBase> { return factory(out); };
  node.createWriter = writerFactory<R>();
  node.createNetworkInput = [](void* input, std::vector<uint8_t> inputOfChannel,
                               TaskMetrics* metrics) -> std::unique_ptr<NetworkInputBase> {
    return std::make_unique<TwoInputNetworkInput<A, B>>(static_cast<TwoInputOperator<A, B>*>(input),
                                                        std::move(inputOfChannel), metrics);
  };
  int id = env->addNode(std::move(node));
  a.addEdgesTo(id, Partitioning::kHash, KeyedStream<A, K>(a, keyA).keyHash(), 0);
  b.addEdgesTo(id, Partitioning::kHash, KeyedStream<B, K>(b, keyB).keyHash(), 1);
  return DataStream<R>(env, id);
}

}  // namespace detail

/// Two connected streams keyed by their own key selectors (same key type K).
template <class A, class B, class K>
class KeyedConnectedStreams {
 public:
  KeyedConnectedStreams(DataStream<A> a, DataStream<B> b, std::function<K(const A&)> keyA,
                        std::function<K(const B&)> keyB)
      : a_(std::move(a)), b_(std::move(b)), keyA_(std::move(keyA)), keyB_(std::move(keyB)) {}

  /// Runs `fn` (a KeyedCoProcessFunction<K, A, B, OUT, S>) on the elements of both streams,
  /// partitioned by key.
  template <class F>
  DataStream<typename F::Result> process(std::shared_ptr<const F> fn, const std::string& name = "KeyedCoProcess") {
    static_assert(std::is_same_v<typename F::Key, K> && std::is_same_v<typename F::Input1, A> &&
                      std::is_same_v<typename F::Input2, B>,
                  "the function's key and input types must match the connected streams");
    using R = typename F::Result;
    auto keyA = keyA_;
    auto keyB = keyB_;
    return detail::addTwoInputNode<A, B, K, R>(a_, b_, keyA_, keyB_, name, [keyA, keyB, fn](void* out) {
      return std::make_unique<detail::KeyedCoProcessOperator<A, B, K, F>>(keyA, keyB, fn, static_cast<Output<R>*>(out));
    });
  }

 private:
  DataStream<A> a_;
  DataStream<B> b_;
  std::function<K(const A&)> keyA_;
  std::function<K(const B&)> keyB_;
};

/// Result of DataStream<A>::connect(DataStream<B>).
template <class A, class B>
class ConnectedStreams {
 public:
  ConnectedStreams(DataStream<A> a, DataStream<B> b) : a_(std::move(a)), b_(std::move(b)) {}

  /// Partitions both streams by key; the selectors must return the same key type.
  template <class FA, class FB, class K = std::decay_t<std::invoke_result_t<FA&, const A&>>>
  KeyedConnectedStreams<A, B, K> keyBy(FA keyA, FB keyB) {
    static_assert(std::is_same_v<K, std::decay_t<std::invoke_result_t<FB&, const B&>>>,
                  "both key selectors must return the same key type");
    return KeyedConnectedStreams<A, B, K>(a_, b_, std::function<K(const A&)>(keyA), std::function<K(const B&)>(keyB));
  }

 private:
  DataStream<A> a_;
  DataStream<B> b_;
};

/// Builder of a window join (kJoin) or window co-group of two streams:
/// where(keyA).equalTo(keyB).window(assigner).apply(f). Only tumbling event-time windows.
template <class A, class B, bool kJoin, class K>
class TwoStreamWindowBuilder {
 public:
  TwoStreamWindowBuilder(DataStream<A> a, DataStream<B> b, std::function<K(const A&)> keyA = nullptr)
      : a_(std::move(a)), b_(std::move(b)), keyA_(std::move(keyA)) {}

  /// The key of the first stream.
  template <class FA, class K2 = std::decay_t<std::invoke_result_t<FA&, const A&>>>
  TwoStreamWindowBuilder<A, B, kJoin, K2> where(FA keyA) const {
    return TwoStreamWindowBuilder<A, B, kJoin, K2>(a_, b_, std::function<K2(const A&)>(keyA));
  }
  /// The key of the second stream (the same type as where's).
  template <class FB>
  TwoStreamWindowBuilder equalTo(FB keyB) const {
    static_assert(std::is_same_v<K, std::decay_t<std::invoke_result_t<FB&, const B&>>>,
                  "equalTo must return the key type of where");
    TwoStreamWindowBuilder b = *this;
    b.keyB_ = std::function<K(const B&)>(keyB);
    return b;
  }
  TwoStreamWindowBuilder window(TumblingEventTimeWindows assigner) const {
    TwoStreamWindowBuilder b = *this;
    b.assigner_ = assigner;
    return b;
  }

  /// Join: f(const A&, const B&) -> R for every pair with equal keys in the same window,
  /// emitted when the window fires with its maxTimestamp. Throws std::logic_error if
  /// where/equalTo/window is missing.
  template <class F, class R = std::decay_t<std::invoke_result_t<F&, const A&, const B&>>>
    requires kJoin
  DataStream<R> apply(F f, const std::string& name = "Window Join") {
    return build<R>(name, [f](const K&, const TimeWindow&, const std::vector<A>& as, const std::vector<B>& bs,
                              Collector<R>& out) mutable {
      for (const A& x : as) {
        for (const B& y : bs) out.collect(f(x, y));
      }
    });
  }

  /// Co-group: f(const K& key, const TimeWindow& w, const std::vector<A>&, const std::vector<B>&,
  /// Collector<R>&) once per key with elements in the window, when it fires (results carry
  /// the window's maxTimestamp). Throws std::logic_error if where/equalTo/window is missing.
  template <class R, class F>
    requires(!kJoin)
  DataStream<R> apply(F f, const std::string& name = "Window CoGroup") {
    return build<R>(name, std::move(f));
  }

 private:
  template <class, class, bool, class>
  friend class TwoStreamWindowBuilder;

  template <class R, class CG>
  DataStream<R> build(const std::string& name, CG fn) {
    if (!keyA_ || !keyB_ || !assigner_) {
      throw std::logic_error(name + ": call where(), equalTo() and window() before apply()");
    }
    auto keyA = keyA_;
    auto keyB = keyB_;
    auto assigner = *assigner_;
    return detail::addTwoInputNode<A, B, K, R>(
        a_, b_, keyA_, keyB_, name + "(" + detail::describeAssigner(assigner) + ")",
        [keyA, keyB, assigner, fn](void* out) {
          return std::make_unique<detail::WindowCoGroupOperator<A, B, K, R, CG>>(keyA, keyB, assigner, fn,
                                                                                 static_cast<Output<R>*>(out));
        });
  }

  DataStream<A> a_;
  DataStream<B> b_;
  std::function<K(const A&)> keyA_;
  std::function<K(const B&)> keyB_;
  std::optional<TumblingEventTimeWindows> assigner_;
};

template <class T>
template <class B>
ConnectedStreams<T, B> DataStream<T>::connect(const DataStream<B>& other) const {
  return ConnectedStreams<T, B>(*this, other);
}

template <class T>
template <class B>
JoinedStreams<T, B> DataStream<T>::join(const DataStream<B>& other) const {
  return JoinedStreams<T, B>(*this, other);
}

template <class T>
template <class B>
CoGroupedStreams<T, B> DataStream<T>::coGroup(const DataStream<B>& other) const {
  return CoGroupedStreams<T, B>(*this, other);
}

}  // namespace flink
