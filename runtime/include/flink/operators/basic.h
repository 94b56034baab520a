// The one-input operators behind map, filter, flatMap and assignTimestampsAndWatermarks.
#pragma once

#include <utility>

#include "flink/eventtime.h"
#include "flink/functions.h"
#include "flink/operators/stream_operator.h"

namespace flink {
namespace detail {

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

}  // namespace detail
}  // namespace flink
