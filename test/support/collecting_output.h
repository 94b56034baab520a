// The one Output<T> test harness: collects what an operator (or a NetworkInput) emits, in order,
// as Flink's tests collect a harness's output. Not thread-safe (single task thread).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "flink/operators/stream_operator.h"

namespace flink::testing {

template <class T>
struct CollectingOutput final : Output<T> {
  std::vector<std::pair<T, int64_t>> records;  // (value, timestamp)
  std::vector<int64_t> watermarks;
  int endInputs = 0;
  std::string events;  // "r" record, "w" watermark, "e" endInput, in arrival order

  void collect(T&& value, int64_t timestamp) override {
    records.emplace_back(std::move(value), timestamp);
    events += 'r';
  }
  void emitWatermark(int64_t watermark) override {
    watermarks.push_back(watermark);
    events += 'w';
  }
  void endInput() override {
    ++endInputs;
    events += 'e';
  }
};

}  // namespace flink::testing
