// Tests of SlidingEventTimeWindows with the WindowOperator, and of EventTimeSessionWindows with
// the SessionWindowOperator (added to flink/datastream.h for Nexmark's q5 and q11), driven
// directly with a collecting Output.
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

using Event = std::pair<std::string, int64_t>;                                  // key, value
using WindowResult = std::tuple<std::string, int64_t, int64_t, int64_t, int64_t>;  // key, start, end, count, sum

using testing::CountSum;
using CountSumAggregate = testing::CountSumAggregate<Event>;

template <class R>
using CollectingOutput = flink::testing::CollectingOutput<R>;

auto windowFunction() {
  return [](const std::string& key, const TimeWindow& w, CountSum&& r, Collector<WindowResult>& out) {
    out.collect(WindowResult{key, w.start, w.end, r.count, r.sum});
  };
}
using WindowFn = decltype(windowFunction());
using SlidingOperator =
    detail::WindowOperator<Event, std::string, CountSumAggregate, WindowResult, WindowFn, SlidingEventTimeWindows>;

template <class Op, class Assigner>
struct BasicHarness : testing::OneInputOperatorTestHarness<WindowResult, Op> {
  explicit BasicHarness(Assigner assigner)
      : testing::OneInputOperatorTestHarness<WindowResult, Op>([](const Event& e) { return e.first; }, assigner,
                                                               std::make_shared<const CountSumAggregate>(),
                                                               windowFunction()) {
    this->ctx.taskName = "Window (1/1)";
    this->open();
  }
  void add(const std::string& key, int64_t value, int64_t ts) { this->op.collect(Event{key, value}, ts); }
  std::vector<WindowResult> results() const { return testing::sortedValues(this->out.records); }
};
using Harness = BasicHarness<SlidingOperator, SlidingEventTimeWindows>;
using SessionOperator = detail::SessionWindowOperator<Event, std::string, CountSumAggregate, WindowResult, WindowFn>;
using SessionHarness = BasicHarness<SessionOperator, EventTimeSessionWindows>;

std::vector<int64_t> starts(const SlidingEventTimeWindows& w, int64_t ts) {
  std::vector<int64_t> v;
  w.forEachWindowStart(ts, [&](int64_t s) { v.push_back(s); });
  return v;
}

}  // namespace

TEST_CASE("SlidingEventTimeWindows assigns size over slide windows - latest start first", "[windows][sliding]") {
  auto w = SlidingEventTimeWindows::of(10, 2);
  CHECK(starts(w, 0) == std::vector<int64_t>{0, -2, -4, -6, -8});
  CHECK(starts(w, 13) == std::vector<int64_t>{12, 10, 8, 6, 4});
  CHECK(starts(w, -1) == std::vector<int64_t>{-2, -4, -6, -8, -10});
  // A slide that does not divide the size: 2 or 3 windows.
  auto odd = SlidingEventTimeWindows::of(10, 4);
  CHECK(starts(odd, 8) == std::vector<int64_t>{8, 4, 0});
  CHECK(starts(odd, 10) == std::vector<int64_t>{8, 4});
  // Offset.
  auto off = SlidingEventTimeWindows::of(10, 5, 3);
  CHECK(starts(off, 3) == std::vector<int64_t>{3, -2});
  CHECK(starts(off, 2) == std::vector<int64_t>{-2, -7});
  // Every window contains the timestamp.
  for (int64_t ts = -50; ts <= 50; ++ts) {
    for (int64_t s : starts(odd, ts)) {
      CHECK(s <= ts);
      CHECK(ts < s + 10);
      CHECK(((s % 4) + 4) % 4 == 0);
    }
  }
  // Tumbling is the special case slide == size.
  auto t = TumblingEventTimeWindows::of(10);
  auto s = SlidingEventTimeWindows::of(10, 10);
  for (int64_t ts = -25; ts <= 25; ++ts) CHECK(starts(s, ts) == std::vector<int64_t>{t.windowStart(ts)});
}

TEST_CASE("SlidingEventTimeWindows::of rejects a non-positive size or slide and an offset not smaller than the slide", "[windows][sliding]") {
  CHECK_THROWS_AS(SlidingEventTimeWindows::of(0, 1), std::invalid_argument);
  CHECK_THROWS_AS(SlidingEventTimeWindows::of(10, 0), std::invalid_argument);
  CHECK_THROWS_AS(SlidingEventTimeWindows::of(10, -2), std::invalid_argument);
  CHECK_THROWS_AS(SlidingEventTimeWindows::of(10, 2, 2), std::invalid_argument);
  CHECK_THROWS_AS(SlidingEventTimeWindows::of(10, 2, -2), std::invalid_argument);
  CHECK_NOTHROW(SlidingEventTimeWindows::of(10, 2, 1));
  CHECK_NOTHROW(SlidingEventTimeWindows::of(2, 10));  // slide larger than size: gaps, as in Flink
}

TEST_CASE("Sliding WindowOperator adds a record to every window and fires them in order", "[windows][sliding]") {
  Harness h(SlidingEventTimeWindows::of(10, 5));
  h.add("a", 1, 3);   // windows [-5, 5) and [0, 10)
  h.add("a", 10, 7);  // [0, 10) and [5, 15)
  h.add("b", 100, 12);  // [5, 15) and [10, 20)
  CHECK(h.op.numPendingWindows() == 4);
  h.op.emitWatermark(4);
  CHECK(h.results() == std::vector<WindowResult>{{"a", -5, 5, 1, 1}});
  CHECK(h.out.records[0].second == 4);  // end - 1
  h.op.emitWatermark(14);
  CHECK(h.results() == std::vector<WindowResult>{{"a", -5, 5, 1, 1}, {"a", 0, 10, 2, 11}, {"a", 5, 15, 1, 10},
                                                 {"b", 5, 15, 1, 100}});
  h.op.emitWatermark(kMaxWatermark);
  CHECK(h.out.records.size() == 5);
  CHECK(h.out.records.back().first == WindowResult{"b", 10, 20, 1, 100});
  CHECK(h.out.watermarks == std::vector<int64_t>{4, 14, kMaxWatermark});
  CHECK(h.op.numPendingWindows() == 0);
  CHECK(h.metrics.numFiredWindows.load() == 5);
}

TEST_CASE("Sliding WindowOperator drops a record only from windows that fired - late when all did", "[windows][sliding]") {
  Harness h(SlidingEventTimeWindows::of(10, 5));
  h.op.emitWatermark(9);  // [0, 10) and earlier are done
  h.add("a", 1, 7);       // [0, 10) fired, [5, 15) open: not late
  CHECK(h.metrics.numLateRecordsDropped.load() == 0);
  h.add("a", 1, 4);  // [-5, 5) and [0, 10) fired: late
  CHECK(h.metrics.numLateRecordsDropped.load() == 1);
  h.op.emitWatermark(kMaxWatermark);
  CHECK(h.results() == std::vector<WindowResult>{{"a", 5, 15, 1, 1}});
}

TEST_CASE("Sliding WindowOperator state restores by key group into another operator", "[windows][sliding][checkpoint]") {
  Harness h(SlidingEventTimeWindows::of(10, 5));
  h.add("a", 1, 3);
  h.add("b", 2, 7);
  OperatorSnapshot snap;
  h.op.snapshotState(1, snap);
  snap.materialize();
  RestoredState restored;
  restored.restored = true;
  for (auto& [kg, bytes] : snap.keyedState) restored.keyedState.push_back(bytes);
  Harness r(SlidingEventTimeWindows::of(10, 5));
  REQUIRE(r.op.initializeState(restored).ok());
  CHECK(r.op.numPendingWindows() == 3);
  r.add("a", 5, 8);
  r.op.emitWatermark(kMaxWatermark);
  CHECK(r.results() == std::vector<WindowResult>{{"a", -5, 5, 1, 1}, {"a", 0, 10, 2, 6}, {"a", 5, 15, 1, 5},
                                                 {"b", 0, 10, 1, 2}, {"b", 5, 15, 1, 2}});
}

TEST_CASE("KeyedStream::window with SlidingEventTimeWindows names and builds a sliding WindowOperator", "[windows][sliding]") {
  StreamExecutionEnvironment env;
  env.fromCollection<Event>({}, "events")
      .keyBy([](const Event& e) { return e.first; })
      .window(SlidingEventTimeWindows::of(10'000, 2'000))
      .aggregate<WindowResult>(std::make_shared<const CountSumAggregate>(), windowFunction(), "Hot");
  const auto& nodes = env.streamGraph().nodes;
  REQUIRE(nodes.size() == 2);
  CHECK(nodes[1].name == "Hot(SlidingEventTimeWindows(10000, 2000))");
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
  in->collect(Event{"x", 1}, 9'999);
  in->emitWatermark(kMaxWatermark);
  CHECK(out.records.size() == 5);
}

TEST_CASE("EventTimeSessionWindows::withGap rejects a non-positive gap", "[windows][sessions]") {
  CHECK_THROWS_AS(EventTimeSessionWindows::withGap(0), std::invalid_argument);
  CHECK_THROWS_AS(EventTimeSessionWindows::withGap(-1), std::invalid_argument);
  CHECK(EventTimeSessionWindows::withGap(10).gapMs == 10);
}

TEST_CASE("Session windows merge windows that overlap or touch - also when a late element bridges two", "[windows][sessions]") {
  SessionHarness h(EventTimeSessionWindows::withGap(10));
  h.add("a", 1, 0);   // [0, 10)
  h.add("a", 2, 30);  // [30, 40)
  h.add("a", 4, 15);  // [15, 25): touches neither
  CHECK(h.op.numPendingWindows() == 3);
  h.add("a", 8, 10);  // [10, 20) touches [0, 10) and overlaps [15, 25): [0, 25)
  CHECK(h.op.numPendingWindows() == 2);
  h.add("a", 16, 20);  // [20, 30) touches [30, 40): one session [0, 40)
  CHECK(h.op.numPendingWindows() == 1);
  h.add("b", 100, 5);  // another key
  h.op.emitWatermark(kMaxWatermark);
  CHECK(h.results() == std::vector<WindowResult>{{"a", 0, 40, 5, 31}, {"b", 5, 15, 1, 100}});
  CHECK(h.op.numPendingWindows() == 0);
}

TEST_CASE("Session windows fire at end - 1 after the session stopped growing", "[windows][sessions]") {
  SessionHarness h(EventTimeSessionWindows::withGap(10));
  h.add("a", 1, 0);  // timer at 9
  h.add("a", 1, 8);  // session [0, 18)
  h.op.emitWatermark(9);
  CHECK(h.out.records.empty());  // the timer at 9 found the session grown: again at 17
  h.add("a", 1, 12);  // [0, 22)
  h.op.emitWatermark(17);
  CHECK(h.out.records.empty());
  h.op.emitWatermark(21);
  REQUIRE(h.out.records.size() == 1);
  CHECK(h.out.records[0].first == WindowResult{"a", 0, 22, 3, 3});
  CHECK(h.out.records[0].second == 21);
  CHECK(h.out.watermarks == std::vector<int64_t>{9, 17, 21});
  CHECK(h.metrics.numFiredWindows.load() == 1);
  // After firing, the key starts over.
  h.add("a", 7, 25);
  h.op.emitWatermark(kMaxWatermark);
  CHECK(h.out.records.back().first == WindowResult{"a", 25, 35, 1, 7});
}

TEST_CASE("Session windows drop an element as late only if it joins no open session", "[windows][sessions]") {
  SessionHarness h(EventTimeSessionWindows::withGap(10));
  h.add("a", 1, 18);  // [18, 28)
  h.op.emitWatermark(20);
  h.add("a", 1, 9);  // [9, 19) is late alone but overlaps [18, 28): [9, 28)
  CHECK(h.metrics.numLateRecordsDropped.load() == 0);
  h.add("b", 1, 5);  // [5, 15): late, no open session of b
  CHECK(h.metrics.numLateRecordsDropped.load() == 1);
  h.op.emitWatermark(kMaxWatermark);
  CHECK(h.results() == std::vector<WindowResult>{{"a", 9, 28, 2, 2}});
}

TEST_CASE("Session window state restores by key group into another operator", "[windows][sessions][checkpoint]") {
  SessionHarness h(EventTimeSessionWindows::withGap(10));
  h.add("a", 1, 0);
  h.add("a", 2, 30);
  h.add("b", 3, 4);
  OperatorSnapshot snap;
  h.op.snapshotState(1, snap);
  snap.materialize();
  RestoredState restored;
  restored.restored = true;
  for (auto& [kg, bytes] : snap.keyedState) restored.keyedState.push_back(bytes);
  SessionHarness r(EventTimeSessionWindows::withGap(10));
  REQUIRE(r.op.initializeState(restored).ok());
  CHECK(r.op.numPendingWindows() == 3);
  r.add("a", 4, 20);  // bridges [0, 10) and [30, 40)? [20, 30) touches [30, 40) only
  r.op.emitWatermark(9);
  CHECK(r.results() == std::vector<WindowResult>{{"a", 0, 10, 1, 1}});
  r.op.emitWatermark(kMaxWatermark);
  CHECK(r.results() == std::vector<WindowResult>{{"a", 0, 10, 1, 1}, {"a", 20, 40, 2, 6}, {"b", 4, 14, 1, 3}});
}

TEST_CASE("KeyedStream::window with EventTimeSessionWindows names and builds a session operator", "[windows][sessions]") {
  StreamExecutionEnvironment env;
  env.fromCollection<Event>({}, "events")
      .keyBy([](const Event& e) { return e.first; })
      .window(EventTimeSessionWindows::withGap(10'000))
      .aggregate<WindowResult>(std::make_shared<const CountSumAggregate>(), windowFunction(), "Sessions");
  const auto& nodes = env.streamGraph().nodes;
  REQUIRE(nodes.size() == 2);
  CHECK(nodes[1].name == "Sessions(EventTimeSessionWindows(10000))");
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
  in->collect(Event{"x", 1}, 100);
  in->collect(Event{"x", 1}, 10'099);
  in->emitWatermark(kMaxWatermark);
  REQUIRE(out.records.size() == 1);
  CHECK(out.records[0].first == WindowResult{"x", 100, 20'099, 2, 2});
}
