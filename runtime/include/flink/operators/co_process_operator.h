// The two-input operator behind connect().keyBy().process(): a KeyedCoProcessFunction with
// per-key state, checkpointed by key group.
#pragma once

#include <memory>
#include <unordered_map>
#include <utility>

#include "flink/functions.h"
#include "flink/operators/basic.h"
#include "flink/operators/stream_operator.h"
#include "flink/state/layered_state.h"

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
    restoreByKeyGroup<K>(state, [this](const K& key, DataInputView& in) { TypeSerializer<S>::deserialize(state_[key], in); });
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

}  // namespace detail

}  // namespace flink
