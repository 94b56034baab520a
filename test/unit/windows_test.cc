// Tests of the keyed tumbling event-time WindowOperator (flink::detail::WindowOperator) and of
// TumblingEventTimeWindows, driven directly with a collecting Output.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "collecting_output.h"
#include "operator_test_harness.h"

#include "count_sum.h"

#include "flink/configuration.h"
#include "flink/datastream.h"
#include "flink/operators/stream_operator.h"

using namespace flink;

namespace {

// What the window function emits: key, window start, window end, count, sum.
using WindowResult = std::tuple<std::string, int64_t, int64_t, int64_t, int64_t>;
// Input: key and value.
using Event = std::pair<std::string, int64_t>;

using testing::CountSum;
using CountSumAggregate = testing::CountSumAggregate<Event>;

/// Records everything an operator emits, in order.
template <class R>
using CollectingOutput = flink::testing::CollectingOutput<R>;

auto windowFunction() {
  return [](const std::string& key, const TimeWindow& w, CountSum&& r, Collector<WindowResult>& out) {
    out.collect(WindowResult{key, w.start, w.end, r.count, r.sum});
  };
}

using WindowFn = decltype(windowFunction());
using TestWindowOperator = detail::WindowOperator<Event, std::string, CountSumAggregate, WindowResult, WindowFn>;

/// A WindowOperator wired to a collecting output, opened with metrics and a configuration.
struct Harness : testing::OneInputOperatorTestHarness<WindowResult, TestWindowOperator> {
  explicit Harness(TumblingEventTimeWindows assigner)
      : OneInputOperatorTestHarness([](const Event& e) { return e.first; }, assigner,
                                    std::make_shared<const CountSumAggregate>(), windowFunction()) {
    ctx.taskName = "Window (1/1)";
    open();
  }
  void add(const std::string& key, int64_t value, int64_t ts) { op.collect(Event{key, value}, ts); }
};

/// Results sorted (a window fires its keys in hash-map order).
std::vector<WindowResult> sortedResults(const CollectingOutput<WindowResult>& out, size_t from = 0) {
  std::vector<WindowResult> v;
  for (size_t i = from; i < out.records.size(); ++i) v.push_back(out.records[i].first);
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("TumblingEventTimeWindows::windowStart aligns windows to the epoch", "[windows]") {
  auto w = TumblingEventTimeWindows::of(10);
  CHECK(w.windowStart(0) == 0);
  CHECK(w.windowStart(9) == 0);
  CHECK(w.windowStart(10) == 10);
  CHECK(w.windowStart(19) == 10);
  CHECK(w.windowStart(-1) == -10);
  CHECK(w.windowStart(-10) == -10);
  CHECK(w.windowStart(-11) == -20);

  auto hour = TumblingEventTimeWindows::of(3'600'000);
  CHECK(hour.windowStart(1'700'000'000'123) == 1'699'999'200'000);
  CHECK(hour.windowStart(1'699'999'200'000) == 1'699'999'200'000);
  CHECK(hour.windowStart(1'699'999'199'999) == 1'699'995'600'000);
}

TEST_CASE("TumblingEventTimeWindows::windowStart honours a positive or negative offset", "[windows]") {
  auto w = TumblingEventTimeWindows::of(10, 3);
  CHECK(w.windowStart(3) == 3);
  CHECK(w.windowStart(12) == 3);
  CHECK(w.windowStart(13) == 13);
  CHECK(w.windowStart(2) == -7);
  CHECK(w.windowStart(-7) == -7);
  CHECK(w.windowStart(-8) == -17);

  auto n = TumblingEventTimeWindows::of(10, -3);
  CHECK(n.windowStart(7) == 7);
  CHECK(n.windowStart(6) == -3);
  CHECK(n.windowStart(-3) == -3);
  CHECK(n.windowStart(-4) == -13);

  // A 15-minute offset on hourly windows: [00:15, 01:15).
  auto q = TumblingEventTimeWindows::of(3'600'000, 900'000);
  CHECK(q.windowStart(900'000) == 900'000);
  CHECK(q.windowStart(899'999) == -2'700'000);
  CHECK(q.windowStart(4'499'999) == 900'000);
}

TEST_CASE("TumblingEventTimeWindows::windowStart puts every timestamp in one window - start <= ts < end", "[windows]") {
  for (int64_t size : {1, 3, 10, 60}) {
    for (int64_t offset : {int64_t{0}, int64_t{1}, size - 1, -(size - 1)}) {
      if (offset >= size) continue;  // Flink requires |offset| < size
      auto w = TumblingEventTimeWindows::of(size, offset);
      for (int64_t ts = -200; ts <= 200; ++ts) {
        int64_t start = w.windowStart(ts);
        INFO("size " << size << " offset " << offset << " ts " << ts << " start " << start);
        REQUIRE(start <= ts);
        REQUIRE(ts < start + size);
        REQUIRE((start - offset) % size == 0);
      }
    }
  }
}

TEST_CASE("WindowOperator assigns records to windows with exclusive ends - including negative timestamps", "[windows]") {
  Harness h(TumblingEventTimeWindows::of(10));
  h.add("a", 1, 0);     // [0, 10)
  h.add("a", 2, 9);     // [0, 10)
  h.add("a", 4, 10);    // [10, 20)
  h.add("b", 8, 5);     // [0, 10)
  h.add("a", 16, -1);   // [-10, 0)
  h.add("a", 32, -10);  // [-10, 0)
  h.add("a", 64, -11);  // [-20, -10)
  CHECK(h.op.numPendingWindows() == 4);
  CHECK(h.out.records.empty());

  h.op.emitWatermark(kMaxWatermark);
  CHECK(sortedResults(h.out) == std::vector<WindowResult>{{"a", -20, -10, 1, 64},
                                                          {"a", -10, 0, 2, 48},
                                                          {"a", 0, 10, 2, 3},
                                                          {"a", 10, 20, 1, 4},
                                                          {"b", 0, 10, 1, 8}});
  CHECK(h.metrics.numFiredWindows.load() == 5);
  CHECK(h.op.numPendingWindows() == 0);
  CHECK(h.metrics.numLateRecordsDropped.load() == 0);
}

TEST_CASE("WindowOperator fires a window only when the watermark reaches end - 1", "[windows]") {
  Harness h(TumblingEventTimeWindows::of(10));
  h.add("a", 1, -11);  // [-20, -10)
  h.add("a", 1, -5);   // [-10, 0)
  h.add("a", 1, 3);    // [0, 10)
  h.add("b", 1, 7);    // [0, 10)

  h.op.emitWatermark(-12);
  CHECK(h.out.records.empty());
  h.op.emitWatermark(-11);  // end - 1 of [-20, -10)
  REQUIRE(h.out.records.size() == 1);
  CHECK(h.out.records[0].first == WindowResult{"a", -20, -10, 1, 1});

  h.op.emitWatermark(8);  // fires [-10, 0) only: [0, 10) needs 9
  REQUIRE(h.out.records.size() == 2);
  CHECK(h.out.records[1].first == WindowResult{"a", -10, 0, 1, 1});
  CHECK(h.op.numPendingWindows() == 1);

  h.op.emitWatermark(9);
  CHECK(sortedResults(h.out, 2) == std::vector<WindowResult>{{"a", 0, 10, 1, 1}, {"b", 0, 10, 1, 1}});
  CHECK(h.op.numPendingWindows() == 0);
  CHECK(h.metrics.numFiredWindows.load() == 4);
  CHECK(h.metrics.currentInputWatermark.load() == 9);
}

TEST_CASE("WindowOperator results carry timestamp end - 1 and precede the forwarded watermark", "[windows]") {
  Harness h(TumblingEventTimeWindows::of(100));
  h.add("x", 5, 150);
  h.add("y", 6, 199);
  h.add("x", 7, 250);

  h.op.emitWatermark(120);  // nothing fires, the watermark is still forwarded
  CHECK(h.out.events == "w");
  h.op.emitWatermark(205);  // fires [100, 200)
  CHECK(h.out.events == "wrrw");
  CHECK(h.out.watermarks == std::vector<int64_t>{120, 205});
  for (const auto& r : h.out.records) CHECK(r.second == 199);

  h.op.endInput();
  CHECK(h.out.endInputs == 1);
  CHECK(h.out.events == "wrrwe");
}

TEST_CASE("WindowOperator ignores watermarks that do not advance", "[windows]") {
  Harness h(TumblingEventTimeWindows::of(10));
  h.op.emitWatermark(50);
  h.op.emitWatermark(50);
  h.op.emitWatermark(20);
  CHECK(h.out.watermarks == std::vector<int64_t>{50});
  CHECK(h.metrics.currentInputWatermark.load() == 50);
  // A record for a window that ended before the (retained) watermark 50 is still late.
  h.add("a", 1, 35);
  CHECK(h.metrics.numLateRecordsDropped.load() == 1);
}

TEST_CASE("WindowOperator drops records whose window already fired and counts them", "[windows]") {
  Harness h(TumblingEventTimeWindows::of(10));
  h.add("a", 1, 2);
  h.op.emitWatermark(9);  // fires [0, 10)
  REQUIRE(h.out.records.size() == 1);

  h.add("a", 100, 3);  // [0, 10) already fired: late
  h.add("b", 100, 9);  // same window, another key: late too
  CHECK(h.metrics.numLateRecordsDropped.load() == 2);
  CHECK(h.op.numPendingWindows() == 0);

  h.op.emitWatermark(kMaxWatermark);
  CHECK(h.out.records.size() == 1);  // no second firing of [0, 10)
  CHECK(h.metrics.numFiredWindows.load() == 1);
}

TEST_CASE("WindowOperator counts out-of-order records whose window is still open", "[windows]") {
  Harness h(TumblingEventTimeWindows::of(10));
  h.add("a", 1, 18);
  h.op.emitWatermark(12);
  h.add("a", 2, 11);  // behind the watermark, but [10, 20) has not fired
  h.add("a", 4, 10);
  h.add("a", 8, 15);
  h.add("a", 16, 9);  // [0, 10) ended at 9 <= 12: late
  CHECK(h.metrics.numLateRecordsDropped.load() == 1);

  h.op.emitWatermark(19);
  REQUIRE(h.out.records.size() == 1);
  CHECK(h.out.records[0].first == WindowResult{"a", 10, 20, 4, 15});
  CHECK(h.out.records[0].second == 19);
}

TEST_CASE("WindowOperator applies the window offset when assigning and firing", "[windows]") {
  Harness h(TumblingEventTimeWindows::of(10, 3));
  h.add("k", 1, 2);   // [-7, 3)
  h.add("k", 2, 3);   // [3, 13)
  h.add("k", 4, -7);  // [-7, 3)
  h.add("k", 8, -8);  // [-17, -7)

  h.op.emitWatermark(2);
  REQUIRE(h.out.records.size() == 2);
  CHECK(h.out.records[0].first == WindowResult{"k", -17, -7, 1, 8});
  CHECK(h.out.records[0].second == -8);
  CHECK(h.out.records[1].first == WindowResult{"k", -7, 3, 2, 5});
  CHECK(h.out.records[1].second == 2);

  h.op.emitWatermark(12);
  REQUIRE(h.out.records.size() == 3);
  CHECK(h.out.records[2].first == WindowResult{"k", 3, 13, 1, 2});
  CHECK(h.out.records[2].second == 12);
}

TEST_CASE("WindowOperator fails the task for a record without timestamp", "[windows]") {
  Harness h(TumblingEventTimeWindows::of(10));
  CHECK_THROWS_AS(h.add("a", 1, kNoTimestamp), TaskFailure);
  CHECK(h.op.numPendingWindows() == 0);
}

TEST_CASE("WindowedStream::aggregate creates a WindowOperator that runs the pipeline's functions", "[windows]") {
  StreamExecutionEnvironment env;
  env.fromCollection<Event>({}, "events")
      .keyBy([](const Event& e) { return e.first; })
      .window(TumblingEventTimeWindows::of(60'000))
      .aggregate<WindowResult>(std::make_shared<const CountSumAggregate>(), windowFunction(), "Stats");
  const auto& nodes = env.streamGraph().nodes;
  REQUIRE(nodes.size() == 2);
  CHECK(nodes[1].name == "Stats(TumblingEventTimeWindows(60000))");
  REQUIRE(env.streamGraph().edges.size() == 1);
  CHECK(env.streamGraph().edges[0].partitioning == Partitioning::kHash);

  CollectingOutput<WindowResult> out;
  auto op = nodes[1].createOperator(&out);
  TaskMetrics metrics;
  Configuration config;
  RuntimeContext ctx;
  ctx.metrics = &metrics;
  ctx.config = &config;
  REQUIRE(op->open(ctx).ok());
  auto* in = static_cast<Output<Event>*>(op->input());
  REQUIRE(in != nullptr);
  in->collect(Event{"SFO", 10}, 59'999);
  in->collect(Event{"SFO", 20}, 1'000);
  in->collect(Event{"JFK", 5}, 60'000);
  in->emitWatermark(59'999);
  REQUIRE(out.records.size() == 1);
  CHECK(out.records[0].first == WindowResult{"SFO", 0, 60'000, 2, 30});
  in->collect(Event{"SFO", 1}, 30'000);
  CHECK(metrics.numLateRecordsDropped.load() == 1);
  in->emitWatermark(kMaxWatermark);
  in->endInput();
  REQUIRE(out.records.size() == 2);
  CHECK(out.records[1].first == WindowResult{"JFK", 60'000, 120'000, 1, 5});
  CHECK(out.watermarks == std::vector<int64_t>{59'999, kMaxWatermark});
  CHECK(out.endInputs == 1);
}

TEST_CASE("Out-of-order records within the BoundedOutOfOrderness bound are all counted", "[windows]") {
  Harness h(TumblingEventTimeWindows::of(10));
  WatermarkGenerator<Event> gen(WatermarkStrategy<Event>::forBoundedOutOfOrderness(5));
  // The worst case for lateness: a watermark after every record.
  auto process = [&](int64_t ts) {
    Event e{"k", ts};
    int64_t t = gen.onElement(e, ts);
    h.op.collect(std::move(e), t);
    gen.emit(&h.op);
  };
  process(3);   // watermark -3
  process(11);  // watermark 5
  process(7);   // 4 behind the max: [0, 10) is still open
  process(14);  // watermark 8
  process(9);   // 5 behind the max, exactly the bound: still open
  CHECK(h.out.records.empty());
  process(15);  // watermark 9: fires [0, 10)
  REQUIRE(h.out.records.size() == 1);
  CHECK(h.out.records[0].first == WindowResult{"k", 0, 10, 3, 3 + 7 + 9});
  process(2);  // 13 behind the max, beyond the bound: late
  CHECK(h.metrics.numLateRecordsDropped.load() == 1);
  h.op.emitWatermark(kMaxWatermark);
  REQUIRE(h.out.records.size() == 2);
  CHECK(h.out.records[1].first == WindowResult{"k", 10, 20, 3, 11 + 14 + 15});
  CHECK(h.out.watermarks == std::vector<int64_t>{-3, 5, 8, 9, kMaxWatermark});
}

TEST_CASE("TumblingEventTimeWindows::of rejects a non-positive size and an offset not smaller than the size", "[windows]") {
  REQUIRE_THROWS_AS(TumblingEventTimeWindows::of(0), std::invalid_argument);
  REQUIRE_THROWS_AS(TumblingEventTimeWindows::of(-5), std::invalid_argument);
  REQUIRE_THROWS_AS(TumblingEventTimeWindows::of(10, 10), std::invalid_argument);
  REQUIRE_THROWS_AS(TumblingEventTimeWindows::of(10, -10), std::invalid_argument);
  REQUIRE_NOTHROW(TumblingEventTimeWindows::of(10, 9));
}
