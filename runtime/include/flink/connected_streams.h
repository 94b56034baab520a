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
// of the API; operators run on their task's thread. Include it to use connect, join or coGroup.
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
#include "flink/operators/co_process_operator.h"
#include "flink/operators/window_co_group_operator.h"

namespace flink {

namespace detail {

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
