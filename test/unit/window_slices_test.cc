// Tests of the WindowOperator's slice-based state (one accumulator per key and slice, windows
// merged from slices when they fire), its copy-on-write asynchronous snapshots, and the
// FlatHashMap behind it. The reference for window results is a direct evaluation of Flink's
// window semantics over the records (every window containing a record, late when the window
// fired), not the operator's own logic.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
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
#include "flink/flat_hash_map.h"
#include "flink/operators/stream_operator.h"

using namespace flink;

namespace {

using Event = std::pair<int64_t, int64_t>;                                    // key, value
using WindowResult = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>;  // start, end, key, count, sum

using testing::CountSum;
using CountSumAggregate = testing::CountSumAggregate<Event>;

using CollectingOutput = flink::testing::CollectingOutput<WindowResult>;

/// Keys of the operator: the record's int64 key itself, or it as a string (operators with
/// non-integer keys assemble windows another way).
int64_t keyOf(const Event& e, int64_t*) { return e.first; }
std::string keyOf(const Event& e, std::string*) { return std::to_string(e.first); }
int64_t toInt(int64_t k) { return k; }
int64_t toInt(const std::string& k) { return std::stoll(k); }

template <class K>
auto windowFunction() {
  return [](const K& key, const TimeWindow& w, CountSum&& r, Collector<WindowResult>& out) {
    out.collect(WindowResult{w.start, w.end, toInt(key), r.count, r.sum});
  };
}

template <class A, class K = int64_t>
struct Harness
    : testing::OneInputOperatorTestHarness<
          WindowResult, detail::WindowOperator<Event, K, CountSumAggregate, WindowResult, decltype(windowFunction<K>()), A>> {
  explicit Harness(A assigner, int maxParallelism = 128)
      : Harness::OneInputOperatorTestHarness([](const Event& e) { return keyOf(e, static_cast<K*>(nullptr)); }, assigner,
                                             std::make_shared<const CountSumAggregate>(), windowFunction<K>()) {
    this->ctx.taskName = "Window (1/1)";
    this->ctx.maxParallelism = maxParallelism;
  }
  void open() { REQUIRE(this->op.open(this->ctx).ok()); }
  void add(int64_t key, int64_t value, int64_t ts) { this->op.collect(Event{key, value}, ts); }
  /// Runs the steps, then a final watermark; with snapshotEvery > 0 takes (and materializes) a
  /// snapshot every that many steps, so that slices get several layers.
  template <class Steps>
  void replay(const Steps& steps, size_t snapshotEvery = 0) {
    for (size_t i = 0; i < steps.size(); ++i) {
      const auto& st = steps[i];
      if (snapshotEvery > 0 && i % snapshotEvery == snapshotEvery - 1) this->snapshot(static_cast<int64_t>(i));
      if (st.watermark) {
        this->op.emitWatermark(st.time);
      } else {
        add(st.key, st.value, st.time);
      }
    }
    this->op.emitWatermark(kMaxWatermark);
  }
  std::vector<WindowResult> results() const { return testing::sortedValues(this->out.records); }
};

RestoredState restoredFrom(const OperatorSnapshot& snap) { return testing::restoredFrom({snap}); }

struct Step {
  bool watermark = false;
  int64_t key = 0;
  int64_t value = 0;
  int64_t time = 0;  // record timestamp or watermark
};

/// Flink's semantics evaluated directly: a record counts in every window [s, s + size) that
/// contains it (s = offset mod slide) if that window has not fired, i.e. s + size - 1 > the
/// watermark at its arrival; a window fires at the first watermark >= s + size - 1 (or at the
/// end) and emits one row per key with records in it.
std::vector<WindowResult> reference(const std::vector<Step>& steps, int64_t size, int64_t slide, int64_t offset,
                                    int64_t* late) {
  std::map<std::tuple<int64_t, int64_t, int64_t>, CountSum> windows;  // (start, end, key)
  int64_t wm = kMinWatermark;
  *late = 0;
  for (const auto& st : steps) {
    if (st.watermark) {
      wm = std::max(wm, st.time);
      continue;
    }
    bool added = false;
    for (int64_t s = st.time - size - slide; s <= st.time; ++s) {
      if (((s - offset) % slide + slide) % slide != 0) continue;
      if (!(s <= st.time && st.time < s + size)) continue;
      if (s + size - 1 <= wm) continue;
      auto& acc = windows[{s, s + size, st.key}];
      acc.count += 1;
      acc.sum += st.value;
      added = true;
    }
    if (!added) ++*late;
  }
  std::vector<WindowResult> out;
  for (const auto& [w, acc] : windows) out.emplace_back(std::get<0>(w), std::get<1>(w), std::get<2>(w), acc.count, acc.sum);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Step> randomSteps(std::mt19937_64& rng, int n, int keys, int64_t maxDisorder) {
  std::vector<Step> steps;
  int64_t time = 0;
  for (int i = 0; i < n; ++i) {
    time += static_cast<int64_t>(rng() % 4);
    if (rng() % 10 == 0) {
      steps.push_back({true, 0, 0, time - maxDisorder});
    } else {
      int64_t ts = time - static_cast<int64_t>(rng() % static_cast<uint64_t>(maxDisorder + 1)) - 20;
      steps.push_back({false, static_cast<int64_t>(rng() % static_cast<uint64_t>(keys)),
                       static_cast<int64_t>(rng() % 100), ts});
    }
  }
  return steps;
}

}  // namespace

TEST_CASE("FlatHashMap inserts finds grows and copies", "[windows][slices]") {
  detail::FlatHashMap<int64_t, int64_t, detail::StdKeyHash<int64_t>> m;
  CHECK(m.empty());
  CHECK(m.find(1) == nullptr);
  for (int64_t k = -5000; k < 5000; ++k) {
    auto [v, inserted] = m.tryEmplace(k * 1024);  // keys that share low bits
    REQUIRE(inserted);
    CHECK(*v == 0);
    *v = k;
  }
  CHECK(m.size() == 10000);
  CHECK(m.capacity() * 7 >= m.size() * 10);
  for (int64_t k = -5000; k < 5000; ++k) {
    auto [v, inserted] = m.tryEmplace(k * 1024);
    REQUIRE_FALSE(inserted);
    REQUIRE(*v == k);
  }
  CHECK(m.find(3) == nullptr);
  auto copy = m;
  *copy.tryEmplace(0).first = 42;
  CHECK(*m.find(0) == 0);  // copies are independent
  CHECK(*copy.find(0) == 42);
  int64_t sum = 0;
  size_t n = 0;
  m.forEach([&](const int64_t& k, const int64_t& v) {
    CHECK(k == v * 1024);
    sum += v;
    ++n;
  });
  CHECK(n == 10000);
  CHECK(sum == -5000);
  m.clear();
  CHECK(m.empty());
  CHECK(m.find(1024) == nullptr);
  detail::FlatHashMap<std::string, int, detail::StdKeyHash<std::string>> s;
  s.reserve(100);
  size_t cap = s.capacity();
  for (int i = 0; i < 100; ++i) *s.tryEmplace("key" + std::to_string(i)).first = i;
  CHECK(s.capacity() == cap);
  CHECK(*s.find("key77") == 77);
}

TEST_CASE("Sliding and tumbling WindowOperators match the window semantics on random out-of-order input", "[windows][slices]") {
  struct Shape {
    int64_t size, slide, offset;
  };
  // slide divides size; slide does not (slices of gcd 2); tumbling as sliding; slide > size (gaps); offsets.
  std::vector<Shape> shapes = {{10, 2, 0}, {10, 4, 0}, {10, 4, 3}, {7, 7, 0}, {3, 5, 1}, {12, 3, -2}};
  std::mt19937_64 rng(20261122);
  for (const auto& shape : shapes) {
    for (int round = 0; round < 5; ++round) {
      auto steps = randomSteps(rng, 2000, 7, 15);
      int64_t expectedLate = 0;
      auto expected = reference(steps, shape.size, shape.slide, shape.offset, &expectedLate);
      Harness<SlidingEventTimeWindows> h(SlidingEventTimeWindows::of(shape.size, shape.slide, shape.offset));
      h.open();
      h.replay(steps, round % 2 == 1 ? 7 : 0);  // odd rounds: several layers per slice
      INFO("size " << shape.size << " slide " << shape.slide << " offset " << shape.offset << " round " << round);
      REQUIRE(h.results() == expected);
      CHECK(static_cast<int64_t>(h.metrics.numLateRecordsDropped.load()) == expectedLate);
      CHECK(h.op.numPendingWindows() == 0);
      // Every window fires at its end - 1, in order of window start.
      int64_t previousStart = INT64_MIN;
      for (const auto& [r, ts] : h.out.records) {
        CHECK(ts == std::get<1>(r) - 1);
        CHECK(std::get<0>(r) >= previousStart);
        previousStart = std::get<0>(r);
      }
      Harness<SlidingEventTimeWindows, std::string> strings(
          SlidingEventTimeWindows::of(shape.size, shape.slide, shape.offset));
      strings.open();
      strings.replay(steps, round % 2 == 1 ? 5 : 0);
      CHECK(strings.results() == expected);
      if (shape.size == shape.slide) {  // the tumbling assigner gives the same windows
        Harness<TumblingEventTimeWindows> t(TumblingEventTimeWindows::of(shape.size, shape.offset));
        t.open();
        t.replay(steps);
        CHECK(t.results() == expected);
      }
    }
  }
}

TEST_CASE("WindowOperator snapshot holds the state at the barrier although the task writes on before it is materialized", "[windows][slices][checkpoint]") {
  Harness<SlidingEventTimeWindows> h(SlidingEventTimeWindows::of(10, 5));
  h.open();
  h.add(1, 10, 3);  // slice [0, 5)
  h.add(2, 20, 7);  // slice [5, 10)
  OperatorSnapshot snap;
  h.op.snapshotState(1, snap);
  REQUIRE(snap.keyedState.empty());  // serialized asynchronously
  REQUIRE(snap.asyncPart);
  // The task thread goes on before the snapshot thread serializes: same slices, a new one.
  h.add(1, 100, 4);
  h.add(2, 200, 8);
  h.add(3, 300, 12);
  h.op.emitWatermark(4);  // fires [-5, 5) and keeps its slice for [0, 10)
  snap.materialize();
  REQUIRE_FALSE(snap.asyncPart);
  REQUIRE_FALSE(snap.keyedState.empty());

  // The running operator saw everything.
  h.op.emitWatermark(kMaxWatermark);
  CHECK(h.results() == std::vector<WindowResult>{{-5, 5, 1, 2, 110}, {0, 10, 1, 2, 110}, {0, 10, 2, 2, 220},
                                                 {5, 15, 2, 2, 220}, {5, 15, 3, 1, 300}, {10, 20, 3, 1, 300}});

  // The snapshot holds only the two records before the barrier.
  Harness<SlidingEventTimeWindows> r(SlidingEventTimeWindows::of(10, 5));
  REQUIRE(r.op.initializeState(restoredFrom(snap)).ok());
  r.open();
  r.op.emitWatermark(kMaxWatermark);
  CHECK(r.results() == std::vector<WindowResult>{{-5, 5, 1, 1, 10}, {0, 10, 1, 1, 10}, {0, 10, 2, 1, 20},
                                                 {5, 15, 2, 1, 20}});
}

TEST_CASE("WindowOperator restored from a checkpoint does not fire again the windows that fired before it", "[windows][slices][checkpoint]") {
  Harness<SlidingEventTimeWindows> h(SlidingEventTimeWindows::of(10, 5));
  h.open();
  h.add(1, 1, 7);         // slice [5, 10): windows [0, 10) and [5, 15)
  h.op.emitWatermark(9);  // [0, 10) fires; the slice stays for [5, 15)
  REQUIRE(h.results() == std::vector<WindowResult>{{0, 10, 1, 1, 1}});
  OperatorSnapshot snap;
  h.op.snapshotState(1, snap);
  snap.materialize();

  Harness<SlidingEventTimeWindows> r(SlidingEventTimeWindows::of(10, 5));
  REQUIRE(r.op.initializeState(restoredFrom(snap)).ok());
  r.open();
  CHECK(r.op.numPendingWindows() == 1);
  r.add(1, 5, 6);  // replayed after the barrier: only [5, 15) is open
  CHECK(r.metrics.numLateRecordsDropped.load() == 0);
  r.add(1, 5, 2);  // [-5, 5) and [0, 10) fired before the checkpoint: late
  CHECK(r.metrics.numLateRecordsDropped.load() == 1);
  r.op.emitWatermark(kMaxWatermark);
  CHECK(r.results() == std::vector<WindowResult>{{5, 15, 1, 2, 6}});
}

TEST_CASE("WindowOperator state of several subtasks restores into one - slices merged by key", "[windows][slices][checkpoint]") {
  // Two subtasks of parallelism 2 hold disjoint keys; rescaled to 1, one operator gets both.
  std::vector<OperatorSnapshot> snaps(2);
  for (int i = 0; i < 2; ++i) {
    Harness<SlidingEventTimeWindows> h(SlidingEventTimeWindows::of(4, 2), 8);
    h.open();
    for (int64_t k = i; k < 20; k += 2) h.add(k, k, k % 4);
    h.op.emitWatermark(1);
    h.op.snapshotState(1, snaps[i]);
    snaps[i].materialize();
  }
  Harness<SlidingEventTimeWindows> r(SlidingEventTimeWindows::of(4, 2), 8);
  RestoredState rs = restoredFrom(snaps[0]);
  rs.operatorStates.push_back(snaps[1].operatorState);
  for (const auto& [kg, bytes] : snaps[1].keyedState) rs.keyedState.push_back(bytes);
  REQUIRE(r.op.initializeState(rs).ok());
  r.open();
  r.op.emitWatermark(kMaxWatermark);
  // Window [-2, 2) fired before the checkpoint (watermark 1); [0, 4) and [2, 6) fire now.
  auto results = r.results();
  std::vector<WindowResult> expected;
  for (int64_t k = 0; k < 20; ++k) {
    expected.emplace_back(0, 4, k, 1, k);
    if (k % 4 >= 2) expected.emplace_back(2, 6, k, 1, k);
  }
  std::sort(expected.begin(), expected.end());
  CHECK(results == expected);
}

TEST_CASE("Zigzag varints round-trip every magnitude and reject truncated input", "[windows][slices][serialization]") {
  std::vector<int64_t> values = {0, 1, -1, 63, -64, 64, -65, 300, 1LL << 35, -(1LL << 35), INT64_MAX, INT64_MIN};
  Buffer b;
  DataOutputView out(&b);
  for (int64_t v : values) out.writeVarint(v);
  CHECK(b.size() == 1 + 1 + 1 + 1 + 1 + 2 + 2 + 2 + 6 + 6 + 10 + 10);
  DataInputView in(b.data(), b.size());
  for (int64_t v : values) CHECK(in.readVarint() == v);
  CHECK(in.atEnd());
  Buffer truncated(b.begin(), b.end() - 1);  // the last varint loses its final byte
  DataInputView t(truncated.data(), truncated.size());
  for (size_t i = 0; i + 1 < values.size(); ++i) t.readVarint();
  CHECK_THROWS_AS(t.readVarint(), SerializationError);
  Buffer endless(11, 0xFF);
  DataInputView e(endless.data(), endless.size());
  CHECK_THROWS_AS(e.readVarint(), SerializationError);
}

TEST_CASE("WindowOperator checkpoints reuse the bytes of unchanged layers and restore layered slices merged", "[windows][slices][checkpoint]") {
  Harness<SlidingEventTimeWindows> h(SlidingEventTimeWindows::of(10, 5));
  h.open();
  for (int64_t k = 0; k < 10000; ++k) h.add(k, k, k % 10);  // slices [0, 5) and [5, 10), 5000 keys each
  CHECK(h.op.numLayers() == 2);
  OperatorSnapshot first;
  h.op.snapshotState(1, first);
  first.materialize();
  OperatorSnapshot unchanged;  // no record in between: the same layers, the same bytes
  h.op.snapshotState(2, unchanged);
  unchanged.materialize();
  CHECK(unchanged.keyedState == first.keyedState);
  CHECK(h.op.numLayers() == 2);
  h.add(3, 1000, 2);  // slice [0, 5) is large: it gets a second layer
  h.add(10001, 7, 3);  // a new key in it
  CHECK(h.op.numLayers() == 3);
  OperatorSnapshot second;
  h.op.snapshotState(3, second);
  second.materialize();
  CHECK(second.keyedState != first.keyedState);
  h.add(3, 1, 4);  // the new layer is small: copied, not stacked
  CHECK(h.op.numLayers() == 3);
  for (int i = 0; i < 3; ++i) {  // more snapshots with large writes in between: at most 4 layers
    OperatorSnapshot more;
    h.op.snapshotState(4 + i, more);
    for (int64_t k = 0; k < 10000; k += 2) h.add(k, 1, 0);
  }
  CHECK(h.op.numLayers() <= 5);
  OperatorSnapshot last;
  h.op.snapshotState(9, last);
  last.materialize();

  Harness<SlidingEventTimeWindows> r(SlidingEventTimeWindows::of(10, 5));
  REQUIRE(r.op.initializeState(restoredFrom(last)).ok());
  r.open();
  CHECK(r.op.numLayers() == 2);  // a restore merges the layers of a slice
  r.op.emitWatermark(kMaxWatermark);
  h.op.emitWatermark(kMaxWatermark);
  auto results = h.results();
  CHECK(r.results() == results);
  CHECK(std::count(results.begin(), results.end(), WindowResult{0, 10, 3, 3, 1004}) == 1);
  CHECK(std::count(results.begin(), results.end(), WindowResult{-5, 5, 4, 4, 7}) == 1);
}

namespace {
/// An aggregate whose accumulator does not start at ACC{}: the smallest value (and how many).
struct MinCount {
  int64_t min = 0;
  int64_t count = 0;
  auto fields() { return std::tie(min, count); }
  auto fields() const { return std::tie(min, count); }
};
class MinAggregate final : public AggregateFunction<Event, MinCount, int64_t> {
 public:
  MinCount createAccumulator() const override { return {INT64_MAX, 0}; }
  void add(const Event& v, MinCount& acc) const override {
    acc.min = std::min(acc.min, v.second);
    ++acc.count;
  }
  int64_t getResult(const MinCount& acc) const override { return acc.min; }
  MinCount merge(const MinCount& a, const MinCount& b) const override {
    return {std::min(a.min, b.min), a.count + b.count};
  }
};
}  // namespace

TEST_CASE("WindowOperator starts every accumulator from createAccumulator", "[windows][slices]") {
  std::vector<std::tuple<int64_t, int64_t, int64_t>> fired;  // start, key, min
  auto fn = [&fired](const int64_t& key, const TimeWindow& w, int64_t&& min, Collector<int64_t>&) {
    fired.emplace_back(w.start, key, min);
  };
  struct Discard final : Output<int64_t> {
    void collect(int64_t&&, int64_t) override {}
    void emitWatermark(int64_t) override {}
    void endInput() override {}
  } out;
  detail::WindowOperator<Event, int64_t, MinAggregate, int64_t, decltype(fn), SlidingEventTimeWindows> op(
      [](const Event& e) { return e.first; }, SlidingEventTimeWindows::of(4, 2), std::make_shared<const MinAggregate>(),
      fn, &out);
  TaskMetrics metrics;
  Configuration config;
  RuntimeContext ctx;
  ctx.metrics = &metrics;
  ctx.config = &config;
  REQUIRE(op.open(ctx).ok());
  op.collect(Event{1, 5}, 1);  // slice [0, 2)
  op.collect(Event{1, 9}, 2);  // slice [2, 4)
  op.collect(Event{1, 3}, 3);
  op.emitWatermark(kMaxWatermark);
  std::sort(fired.begin(), fired.end());
  CHECK(fired == std::vector<std::tuple<int64_t, int64_t, int64_t>>{{-2, 1, 5}, {0, 1, 3}, {2, 1, 3}});
}
