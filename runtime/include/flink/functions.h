// User functions of the DataStream API that are classes rather than callables: the Collector
// that receives a flatMap or window function's results, and AggregateFunction (Flink's
// org.apache.flink.api.common.functions). Called on the task thread.
#pragma once

#include <utility>

namespace flink {

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

}  // namespace flink
