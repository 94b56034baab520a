// Tests of jobs that are DAGs rather than pipelines: the job graph of union, connect and
// fan-out (and the errors for shapes that stay invalid), the input watermark of a two-input
// task (minimum over the channels of both inputs), barrier alignment across two inputs, and
// the keyed state of two-input operators, snapshot and restored by key group.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "collecting_output.h"

#include "flink/connected_streams.h"
#include "flink/datastream.h"
#include "flink/operators/stream_operator.h"
#include "graph/job_graph.h"
#include "task/barrier_aligner.h"

using namespace flink;

namespace {

template <class T>
class NullSink final : public Sink<T> {
 public:
  std::unique_ptr<SinkWriter<T>> createWriter() const override { return nullptr; }
};

JobGraph build(const StreamGraph& g, int parallelism = 2) {
  auto jg = buildJobGraph(g, parallelism, 128);
  INFO(jg.status().message());
  REQUIRE(jg.ok());
  return *jg;
}

/// Counts the elements of each key over both inputs, emitting (key, count so far, input).
struct Counted {
  int64_t key = 0;
  int64_t count = 0;
  int input = 0;
  auto fields() { return std::tie(key, count, input); }
  auto fields() const { return std::tie(key, count, input); }
};

class CountBoth final : public KeyedCoProcessFunction<int64_t, int64_t, std::string, Counted, int64_t> {
 public:
  void processElement1(const int64_t&, int64_t& n, const Context& ctx, Collector<Counted>& out) const override {
    out.collect(Counted{ctx.getCurrentKey(), ++n, 1});
  }
  void processElement2(const std::string&, int64_t& n, const Context& ctx, Collector<Counted>& out) const override {
    out.collect(Counted{ctx.getCurrentKey(), ++n, 2});
  }
};

int64_t keyOfString(const std::string& s) { return std::stoll(s); }

/// numbers.connect(words).keyBy(...).process(CountBoth) -> sink, returns the graph.
void connectedJob(StreamExecutionEnvironment& env) {
  auto numbers = env.fromCollection<int64_t>({1, 2, 3}, "numbers");
  auto words = env.fromCollection<std::string>({"1", "2"}, "words");
  numbers.connect(words)
      .keyBy([](const int64_t& n) { return n; }, [](const std::string& s) { return keyOfString(s); })
      .process(std::make_shared<const CountBoth>(), "CountBoth")
      .map([](const Counted& c) { return c.count; }, "Count")
      .sinkTo(std::make_shared<NullSink<int64_t>>(), "out");
  env.execute("connected");
}

template <class T>
using CollectingOutput = flink::testing::CollectingOutput<T>;

/// A two-input operator that records what the task hands it.
struct RecordingTwoInput final : TwoInputOperator<int64_t, std::string> {
  std::vector<int64_t> first;
  std::vector<std::string> second;
  std::vector<int64_t> watermarks;
  int endInputs = 0;
  void processElement1(int64_t&& v, int64_t) override { first.push_back(v); }
  void processElement2(std::string&& v, int64_t) override { second.push_back(std::move(v)); }
  void processWatermark(int64_t wm) override { watermarks.push_back(wm); }
  void endInput() override { ++endInputs; }
};

struct CapturingSink final : BufferSink {
  std::vector<Buffer> sent;
  int numChannels() const override { return 1; }
  void send(int, Buffer&& b) override { sent.push_back(std::move(b)); }
};

/// One upstream channel of element type T, written with a real RecordWriter.
template <class T>
class Producer {
 public:
  Producer() : writer_(&sink_, nullptr, 1 << 20, &metrics_) {}
  Producer& record(T v, int64_t ts = 0) {
    writer_.collect(std::move(v), ts);
    return *this;
  }
  Producer& watermark(int64_t wm) {
    writer_.emitWatermark(wm);
    return *this;
  }
  Producer& barrier(int64_t id) {
    writer_.broadcastBarrier(id);
    return *this;
  }
  Producer& end() {
    writer_.endInput();
    return *this;
  }
  Buffer take() {
    writer_.flushAll();
    Buffer all;
    for (const Buffer& b : sink_.sent) all.insert(all.end(), b.begin(), b.end());
    sink_.sent.clear();
    return all;
  }

 private:
  TaskMetrics metrics_;
  CapturingSink sink_;
  RecordWriter<T> writer_;
};

void feed(NetworkInputBase& input, int channel, Buffer b) { input.processBuffer(channel, b.data(), b.size()); }

}  // namespace

// ---- Job graph shapes -----------------------------------------------------------------------

TEST_CASE("A union feeds one vertex over one input edge per stream", "[dag][job-graph]") {
  StreamExecutionEnvironment env;
  auto a = env.fromCollection<int>({1}, "a");
  auto b = env.fromCollection<int>({2}, "b");
  auto c = env.fromCollection<int>({3}, "c").setParallelism(3);
  a.union_(b, c).map([](const int& x) { return x; }, "Map").sinkTo(std::make_shared<NullSink<int>>(), "out");
  env.execute("union");
  JobGraph jg = build(env.streamGraph(), 2);

  REQUIRE(jg.vertices.size() == 4);
  const JobVertex& map = jg.vertices[3];
  CHECK(map.name == "Map -> Sink: out");
  REQUIRE(map.inputs.size() == 3);
  CHECK(jg.vertices[0].isSource());
  CHECK(jg.vertices[2].isSource());
  // Forward edges of equal parallelism: one channel each; a forward edge from parallelism 3
  // becomes a rebalance with 3 channels. The gate's channels are the edges' in order.
  CHECK(jg.edges[map.inputs[0]].partitioning == Partitioning::kForward);
  CHECK(jg.edges[map.inputs[2]].partitioning == Partitioning::kRebalance);
  CHECK(jg.channelOffset(map.inputs[0]) == 0);
  CHECK(jg.channelOffset(map.inputs[1]) == 1);
  CHECK(jg.channelOffset(map.inputs[2]) == 2);
  CHECK(jg.numInputChannels(map.index) == 5);
  CHECK(jg.requiredSlots() == 3);
}

TEST_CASE("A two-input operator heads its vertex and its successors chain to it", "[dag][job-graph]") {
  StreamExecutionEnvironment env;
  connectedJob(env);
  JobGraph jg = build(env.streamGraph(), 2);

  REQUIRE(jg.vertices.size() == 3);
  CHECK(jg.vertices[0].name == "Source: numbers");
  CHECK(jg.vertices[1].name == "Source: words");
  const JobVertex& co = jg.vertices[2];
  CHECK(co.name == "CountBoth -> Count -> Sink: out");
  REQUIRE(co.inputs.size() == 2);
  const StreamGraph& sg = env.streamGraph();
  CHECK(sg.edges[jg.edges[co.inputs[0]].streamEdge].typeNumber == 0);
  CHECK(sg.edges[jg.edges[co.inputs[1]].streamEdge].typeNumber == 1);
  CHECK(jg.edges[co.inputs[0]].partitioning == Partitioning::kHash);
  CHECK(jg.edges[co.inputs[1]].partitioning == Partitioning::kHash);
  CHECK(jg.numInputChannels(co.index) == 4);
  CHECK(jg.channelOffset(co.inputs[1]) == 2);
}

TEST_CASE("A stream fanned out and joined again forms a diamond", "[dag][job-graph]") {
  StreamExecutionEnvironment env;
  auto events = env.fromCollection<int64_t>({1, 2, 3, 4}, "events");
  auto even = events.filter([](const int64_t& x) { return x % 2 == 0; }, "Even");
  auto odd = events.filter([](const int64_t& x) { return x % 2 == 1; }, "Odd").map(
      [](const int64_t& x) { return std::to_string(x); }, "ToString");
  even.connect(odd)
      .keyBy([](const int64_t& n) { return n / 2; }, [](const std::string& s) { return keyOfString(s) / 2; })
      .process(std::make_shared<const CountBoth>(), "CountBoth")
      .sinkTo(std::make_shared<NullSink<Counted>>(), "out");
  env.execute("diamond");
  JobGraph jg = build(env.streamGraph(), 2);

  REQUIRE(jg.vertices.size() == 4);
  CHECK(jg.vertices[0].name == "Source: events");
  CHECK(jg.vertices[0].outputs.size() == 2);
  CHECK(jg.vertices[1].name == "Even");
  CHECK(jg.vertices[2].name == "Odd -> ToString");
  CHECK(jg.vertices[3].name == "CountBoth -> Sink: out");
  CHECK(jg.vertices[3].inputs.size() == 2);
}

TEST_CASE("Invalid shapes are errors naming the operator", "[dag][job-graph]") {
  StreamExecutionEnvironment env;
  connectedJob(env);
  StreamGraph g = env.streamGraph();
  SECTION("a two-input operator without its second input") {
    int co = 2;
    REQUIRE(g.nodes[co].twoInput);
    for (int e : g.nodes[co].inEdges) g.edges[e].typeNumber = 0;
    auto jg = buildJobGraph(g, 2, 128);
    REQUIRE_FALSE(jg.ok());
    CHECK_THAT(jg.status().message(), Catch::Contains("'CountBoth'") && Catch::Contains("second input"));
  }
  SECTION("an operator without input") {
    g.nodes[3].inEdges.clear();
    auto jg = buildJobGraph(g, 2, 128);
    REQUIRE_FALSE(jg.ok());
    CHECK_THAT(jg.status().message(), Catch::Contains("'Count'") && Catch::Contains("no input"));
  }
  SECTION("a one-input operator fed as a second input") {
    g.edges[g.nodes[3].inEdges[0]].typeNumber = 1;
    auto jg = buildJobGraph(g, 2, 128);
    REQUIRE_FALSE(jg.ok());
    CHECK_THAT(jg.status().message(), Catch::Contains("'Count'"));
  }
}

TEST_CASE("A fanned-out stream sends every record watermark and end to each consumer", "[dag][network]") {
  StreamExecutionEnvironment env;
  auto numbers = env.fromCollection<int64_t>({}, "numbers");
  numbers.sinkTo(std::make_shared<NullSink<int64_t>>(), "first");
  numbers.sinkTo(std::make_shared<NullSink<int64_t>>(), "second");
  const StreamGraph& g = env.streamGraph();
  REQUIRE(g.nodes[0].outEdges.size() == 2);

  CapturingSink first, second;
  TaskMetrics metrics;
  auto writer = g.nodes[0].createWriter({{&first, &g.edges[0]}, {&second, &g.edges[1]}}, 128, 1 << 20, &metrics);
  auto* out = static_cast<Output<int64_t>*>(writer->output());
  for (int64_t i = 0; i < 5; ++i) out->collect(int64_t{i}, i);
  out->emitWatermark(4);
  out->endInput();
  CHECK(metrics.numRecordsOut.load() == 5);  // a record counts once, whatever the consumers

  for (CapturingSink* sink : {&first, &second}) {
    CollectingOutput<int64_t> received;
    TaskMetrics m;
    NetworkInput<int64_t> input(&received, 1, &m);
    for (const Buffer& b : sink->sent) input.processBuffer(0, b.data(), b.size());
    REQUIRE(received.records.size() == 5);
    for (int64_t i = 0; i < 5; ++i) CHECK(received.records[static_cast<size_t>(i)] == std::pair<int64_t, int64_t>{i, i});
    CHECK(received.watermarks == std::vector<int64_t>{4});
    CHECK(received.endInputs == 1);
  }
}

// ---- Watermarks and barriers across inputs ----------------------------------------------------

TEST_CASE("The watermark of a two-input task is the minimum over the channels of both inputs", "[dag][watermarks]") {
  RecordingTwoInput op;
  TaskMetrics metrics;
  // Channels 0 and 1 belong to input 1, channel 2 to input 2.
  TwoInputNetworkInput<int64_t, std::string> input(&op, {0, 0, 1}, &metrics);
  Producer<int64_t> a0, a1;
  Producer<std::string> b0;

  feed(input, 0, a0.record(1).watermark(100).take());
  feed(input, 1, a1.record(2).watermark(200).take());
  CHECK(op.watermarks.empty());  // input 2 has no watermark yet
  feed(input, 2, b0.record("x").watermark(50).take());
  CHECK(op.watermarks == std::vector<int64_t>{50});
  feed(input, 2, b0.watermark(300).take());
  CHECK(op.watermarks == std::vector<int64_t>{50, 100});
  feed(input, 0, a0.watermark(250).take());
  CHECK(op.watermarks == std::vector<int64_t>{50, 100, 200});
  CHECK(op.first == std::vector<int64_t>{1, 2});
  CHECK(op.second == std::vector<std::string>{"x"});
  CHECK(metrics.currentInputWatermark.load() == 200);

  // Input 1 ends: the watermark follows input 2 alone; the end comes when both ended.
  feed(input, 0, a0.end().take());
  feed(input, 1, a1.end().take());
  CHECK(op.endInputs == 0);
  CHECK(op.watermarks.back() == 300);
  feed(input, 2, b0.watermark(400).end().take());
  CHECK(op.watermarks.back() == 400);
  CHECK(op.endInputs == 1);
  CHECK(input.finished());
}

TEST_CASE("Checkpoint barriers align across the channels of two inputs", "[dag][checkpoint][aligner]") {
  RecordingTwoInput op;
  TaskMetrics metrics;
  TwoInputNetworkInput<int64_t, std::string> input(&op, {0, 1}, &metrics);
  std::vector<int64_t> aligned;
  std::vector<size_t> seenAtAlignment;
  BarrierAligner aligner(
      &input,
      [&](int64_t id) {
        aligned.push_back(id);
        seenAtAlignment.push_back(op.first.size() + op.second.size());
      },
      [](int) {});
  Producer<int64_t> a;
  Producer<std::string> b;

  // Input 1 delivers barrier 1 first: its later records wait; input 2 keeps flowing.
  aligner.onBuffer(0, a.record(1).barrier(1).record(2).take());
  CHECK(aligner.blocked(0));
  CHECK(op.first == std::vector<int64_t>{1});
  aligner.onBuffer(1, b.record("x").take());
  CHECK(op.second == std::vector<std::string>{"x"});
  CHECK(aligned.empty());
  // Input 2's barrier completes the alignment; the snapshot saw exactly the records before
  // the barriers of both inputs, then the held records follow.
  aligner.onBuffer(1, b.barrier(1).record("y").take());
  CHECK(aligned == std::vector<int64_t>{1});
  CHECK(seenAtAlignment == std::vector<size_t>{2});
  CHECK(op.first == std::vector<int64_t>{1, 2});
  CHECK(op.second == std::vector<std::string>{"x", "y"});

  // An input that ended needs no barrier.
  aligner.onBuffer(1, b.end().take());
  aligner.onBuffer(0, a.record(3).barrier(2).end().take());
  CHECK(aligned == std::vector<int64_t>{1, 2});
  CHECK(op.first == std::vector<int64_t>{1, 2, 3});
  CHECK(op.endInputs == 1);
}

// ---- Keyed state of two-input operators -------------------------------------------------------

namespace {

struct Operators {
  RuntimeContext ctx;
  TaskMetrics metrics;
  Configuration config;
  CollectingOutput<Counted> out;
  std::unique_ptr<StreamOperatorBase> op;
  TwoInputOperator<int64_t, std::string>* two = nullptr;

  Operators(const StreamGraph& g, int node, int subtask, int parallelism, const std::vector<OperatorSnapshot>& restore) {
    ctx.subtaskIndex = subtask;
    ctx.parallelism = parallelism;
    ctx.maxParallelism = 128;
    ctx.metrics = &metrics;
    ctx.config = &config;
    op = g.nodes[static_cast<size_t>(node)].createOperator(static_cast<Output<Counted>*>(&out));
    two = static_cast<TwoInputOperator<int64_t, std::string>*>(op->input());
    RestoredState state;
    state.restored = !restore.empty();
    auto [first, last] = keyGroupRange(subtask, 128, parallelism);
    for (const auto& snap : restore) {
      state.operatorStates.push_back(snap.operatorState);
      for (const auto& [kg, bytes] : snap.keyedState) {
        if (kg >= first && kg <= last) state.keyedState.push_back(bytes);
      }
    }
    REQUIRE(op->initializeState(state).ok());
    REQUIRE(op->open(ctx).ok());
  }
  OperatorSnapshot snapshot() {
    OperatorSnapshot s;
    op->snapshotState(1, s);
    s.materialize();
    return s;
  }
};

bool ownedBy(int64_t key, int subtask, int parallelism) {
  return operatorIndexForKeyGroup(assignToKeyGroup(KeyHash<int64_t>()(key), 128), 128, parallelism) == subtask;
}

}  // namespace

TEST_CASE("Keyed co-process state is snapshot by key group and restored at another parallelism", "[dag][checkpoint]") {
  StreamExecutionEnvironment env;
  connectedJob(env);
  const StreamGraph& g = env.streamGraph();
  const int co = 2;

  // One subtask sees keys 0..19 on both inputs.
  Operators before(g, co, 0, 1, {});
  for (int64_t k = 0; k < 20; ++k) {
    before.two->processElement1(int64_t{k}, 10);
    before.two->processElement2(std::to_string(k), 20);
  }
  REQUIRE(before.out.records.size() == 40);
  CHECK(before.out.records[1].first.count == 2);
  CHECK(before.out.records[1].first.input == 2);
  CHECK(before.out.records[1].second == 20);  // results carry the element's timestamp
  OperatorSnapshot snap = before.snapshot();
  CHECK(snap.keyedState.size() > 1);

  // Restored into two subtasks: each gets the counts of its own keys, and only those.
  for (int subtask = 0; subtask < 2; ++subtask) {
    Operators after(g, co, subtask, 2, {snap});
    for (int64_t k = 0; k < 20; ++k) {
      if (!ownedBy(k, subtask, 2)) continue;
      after.two->processElement1(int64_t{k}, 30);
    }
    REQUIRE_FALSE(after.out.records.empty());
    for (const auto& [c, ts] : after.out.records) {
      INFO("key " << c.key);
      CHECK(ownedBy(c.key, subtask, 2));
      CHECK(c.count == 3);
    }
    // A key this subtask does not own starts from zero: its state is not here.
    for (int64_t k = 0; k < 20; ++k) {
      if (ownedBy(k, subtask, 2)) continue;
      after.two->processElement1(int64_t{k}, 30);
      CHECK(after.out.records.back().first.count == 1);
      break;
    }
  }
}

TEST_CASE("A window join pairs equal keys of one window when the watermark passes it", "[dag][windows]") {
  StreamExecutionEnvironment env;
  auto numbers = env.fromCollection<int64_t>({}, "numbers");
  auto words = env.fromCollection<std::string>({}, "words");
  numbers.join(words)
      .where([](const int64_t& n) { return n % 10; })
      .equalTo([](const std::string& s) { return keyOfString(s) % 10; })
      .window(TumblingEventTimeWindows::of(100))
      .apply([](const int64_t& n, const std::string& s) { return Counted{n, keyOfString(s), 0}; }, "Join")
      .sinkTo(std::make_shared<NullSink<Counted>>(), "out");
  env.execute("join");
  const StreamGraph& g = env.streamGraph();
  REQUIRE(g.nodes[2].name == "Join(TumblingEventTimeWindows(100))");
  JobGraph jg = build(g, 2);
  CHECK(jg.vertices.back().inputs.size() == 2);

  auto run = [&](Operators& o, int64_t offset) {
    o.two->processElement1(int64_t{1 + offset}, 10);
    o.two->processElement1(int64_t{11 + offset}, 20);
    o.two->processElement2(std::to_string(21 + offset), 30);
    o.two->processElement2(std::to_string(2 + offset), 40);  // no partner
    o.two->processElement2(std::to_string(31 + offset), 150);  // next window
  };
  Operators fresh(g, 2, 0, 1, {});
  run(fresh, 0);
  fresh.two->processWatermark(98);
  CHECK(fresh.out.records.empty());
  fresh.two->processWatermark(99);
  REQUIRE(fresh.out.records.size() == 2);  // (1, 21) and (11, 21)
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (const auto& [c, ts] : fresh.out.records) {
    pairs.emplace_back(c.key, c.count);
    CHECK(ts == 99);
  }
  std::sort(pairs.begin(), pairs.end());
  CHECK(pairs == std::vector<std::pair<int64_t, int64_t>>{{1, 21}, {11, 21}});
  CHECK(fresh.out.watermarks == std::vector<int64_t>{98, 99});
  // A record of a window that fired is late.
  fresh.two->processElement1(int64_t{31}, 50);
  CHECK(fresh.metrics.numLateRecordsDropped.load() == 1);

  // Snapshot with an open window; a restored operator fires it.
  Operators before(g, 2, 0, 1, {});
  run(before, 0);
  before.two->processElement1(int64_t{41}, 160);
  OperatorSnapshot snap = before.snapshot();
  Operators after(g, 2, 0, 1, {snap});
  after.two->processWatermark(kMaxWatermark);
  REQUIRE(after.out.records.size() == 3);
  CHECK(after.out.records.back().first.key == 41);
  CHECK(after.out.records.back().first.count == 31);
  CHECK(after.out.records.back().second == 199);

  // Elements after a snapshot go to a new layer of the window: the running operator sees all of
  // them, the first snapshot none of the later ones, a second snapshot all.
  auto pairsOf = [](const Operators& o) {
    std::vector<std::pair<int64_t, int64_t>> v;
    for (const auto& [c, ts] : o.out.records) v.emplace_back(c.key, c.count);
    std::sort(v.begin(), v.end());
    return v;
  };
  Operators layered(g, 2, 0, 1, {});
  layered.two->processElement1(int64_t{1}, 10);
  OperatorSnapshot early = layered.snapshot();
  layered.two->processElement2(std::to_string(21), 30);  // partner of 1, in a new layer
  layered.two->processElement1(int64_t{11}, 20);
  OperatorSnapshot late = layered.snapshot();
  layered.two->processWatermark(kMaxWatermark);
  CHECK(pairsOf(layered) == std::vector<std::pair<int64_t, int64_t>>{{1, 21}, {11, 21}});
  Operators fromEarly(g, 2, 0, 1, {early});
  fromEarly.two->processWatermark(kMaxWatermark);
  CHECK(fromEarly.out.records.empty());
  Operators fromLate(g, 2, 0, 1, {late});
  fromLate.two->processWatermark(kMaxWatermark);
  CHECK(pairsOf(fromLate) == pairsOf(layered));
}
