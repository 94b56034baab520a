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
#include "flink/eventtime.h"
#include "flink/functions.h"
#include "flink/io/network_input.h"
#include "flink/io/record_writer.h"
#include "flink/operators/basic.h"
#include "flink/operators/session_window_operator.h"
#include "flink/operators/sink_operator.h"
#include "flink/operators/source_operator.h"
#include "flink/operators/window_operator.h"
#include "flink/sink.h"
#include "flink/source.h"
#include "flink/windowing/windows.h"
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
  node.createEnumerator = [source] { return source->createEnumerator(); };
  return DataStream<T>(this, addNode(std::move(node)));
}

template <class T>
DataStream<T> StreamExecutionEnvironment::fromCollection(std::vector<T> elements, const std::string& name) {
  return fromSource<T>(std::make_shared<detail::CollectionSource<T>>(std::move(elements)),
                       WatermarkStrategy<T>::noWatermarks(), name);
}

}  // namespace flink

