// The aggregate the window tests share: count and sum of the values of (key, value) records.
#pragma once

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "flink/datastream.h"

namespace flink::testing {

struct CountSum {
  int64_t count = 0;
  int64_t sum = 0;
  // Accumulators are serializable (window state is checkpointed).
  auto fields() { return std::tie(count, sum); }
  auto fields() const { return std::tie(count, sum); }
};

/// Event: a std::pair<Key, int64_t> (key, value).
template <class Event>
class CountSumAggregate final : public AggregateFunction<Event, CountSum, CountSum> {
 public:
  CountSum createAccumulator() const override { return {}; }
  void add(const Event& v, CountSum& acc) const override {
    acc.count += 1;
    acc.sum += v.second;
  }
  CountSum getResult(const CountSum& acc) const override { return acc; }
  CountSum merge(const CountSum& a, const CountSum& b) const override { return {a.count + b.count, a.sum + b.sum}; }
};

/// The values of (value, timestamp) records an output collected, sorted.
template <class R>
std::vector<R> sortedValues(const std::vector<std::pair<R, int64_t>>& records) {
  std::vector<R> v;
  for (const auto& r : records) v.push_back(r.first);
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace flink::testing
