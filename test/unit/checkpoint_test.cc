// Tests of the pieces behind exactly-once checkpoints: barrier alignment (BarrierAligner over a
// NetworkInput), keyed window state redistributed by key group on a parallelism change, the
// checkpoint storage format (checksums, truncation, findLatest) and the file source's positions
// restored at another parallelism.
#include <zlib.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "count_sum.h"
#include "temp_dir.h"

#include "checkpoint/storage.h"
#include "flink/configuration.h"
#include "flink/connectors.h"
#include "flink/datastream.h"
#include "flink/operators/stream_operator.h"
#include "flink/serialization.h"
#include "task/barrier_aligner.h"

using namespace flink;
namespace fs = std::filesystem;

namespace {

// ---- Barrier alignment ------------------------------------------------------------------

/// Records what the network input hands downstream.
struct ValueOutput final : Output<int64_t> {
  std::vector<int64_t> values;
  std::vector<int64_t> watermarks;
  int endInputs = 0;
  void collect(int64_t&& v, int64_t) override { values.push_back(v); }
  void emitWatermark(int64_t wm) override { watermarks.push_back(wm); }
  void endInput() override { ++endInputs; }
};

/// Captures the buffers a RecordWriter sends (one consumer channel).
struct CapturingSink final : BufferSink {
  std::vector<Buffer> sent;
  int numChannels() const override { return 1; }
  void send(int, Buffer&& b) override { sent.push_back(std::move(b)); }
};

/// The upstream side of one input channel: writes records, barriers and the end of partition
/// with a real RecordWriter, so the buffers have the wire format the task sees.
class Producer {
 public:
  Producer() : writer_(&sink_, nullptr, 1 << 20, &metrics_) {}
  Producer& records(std::initializer_list<int64_t> values) {
    for (int64_t v : values) writer_.collect(int64_t{v}, v);
    return *this;
  }
  Producer& record(int64_t v) {
    writer_.collect(int64_t{v}, v);
    return *this;
  }
  Producer& barrier(int64_t id) {
    writer_.broadcastBarrier(id);  // appends the barrier and sends the buffer at once
    return *this;
  }
  Producer& end() {
    writer_.endInput();
    return *this;
  }
  /// Every buffer sent so far (pending records flushed), in order.
  std::vector<Buffer> take() {
    writer_.flushAll();
    std::vector<Buffer> out = std::move(sink_.sent);
    sink_.sent.clear();
    return out;
  }
  /// Everything sent so far as ONE buffer (so a barrier can sit in the middle of a buffer).
  Buffer takeOne() {
    Buffer all;
    for (const Buffer& b : take()) all.insert(all.end(), b.begin(), b.end());
    return all;
  }

 private:
  TaskMetrics metrics_;
  CapturingSink sink_;
  RecordWriter<int64_t> writer_;
};

/// A BarrierAligner over a NetworkInput<int64_t>, recording alignments (with how many records
/// had been processed when the snapshot was taken) and recycled buffers per channel.
struct AlignerHarness {
  explicit AlignerHarness(int channels)
      : recycled(channels, 0), delivered(channels, 0), input(&out, channels, &metrics),
        aligner(
            &input,
            [this](int64_t id) {
              alignedIds.push_back(id);
              processedAtAlignment.push_back(out.values.size());
              alignmentMs.push_back(aligner.alignmentDurationMs());
              firstBarrierWallMs.push_back(aligner.firstBarrierWallMs());
            },
            [this](int channel) { recycled.at(channel)++; }) {}

  void deliver(int channel, Buffer b) {
    delivered.at(channel)++;
    aligner.onBuffer(channel, std::move(b));
  }
  /// Values of one channel (value / 1000 == channel), in processing order.
  std::vector<int64_t> channelValues(int channel) const {
    std::vector<int64_t> v;
    for (int64_t x : out.values) {
      if (x / 1000 == channel) v.push_back(x);
    }
    return v;
  }
  size_t indexOf(int64_t value) const {
    return static_cast<size_t>(std::find(out.values.begin(), out.values.end(), value) - out.values.begin());
  }
  /// Every delivered buffer was recycled exactly once, and nothing is held any more.
  void requireAllRecycled() const {
    for (size_t c = 0; c < delivered.size(); ++c) {
      INFO("channel " << c);
      REQUIRE(aligner.queued(static_cast<int>(c)) == 0);
      REQUIRE(recycled[c] == delivered[c]);
      REQUIRE_FALSE(aligner.blocked(static_cast<int>(c)));
    }
  }

  TaskMetrics metrics;
  ValueOutput out;
  std::vector<int> recycled;
  std::vector<int> delivered;
  std::vector<int64_t> alignedIds;
  std::vector<size_t> processedAtAlignment;
  std::vector<int64_t> alignmentMs;         // the aligner's alignment duration, at each alignment
  std::vector<int64_t> firstBarrierWallMs;  // when the first barrier of each alignment arrived
  NetworkInput<int64_t> input;
  BarrierAligner aligner;
};

using Values = std::vector<int64_t>;

// ---- Keyed window state -------------------------------------------------------------------

using Event = std::pair<std::string, int64_t>;  // key, value

using testing::CountSum;
using CountSumAggregate = testing::CountSumAggregate<Event>;

// What a window emits: key, window start, count, sum.
using Fired = std::tuple<std::string, int64_t, int64_t, int64_t>;

struct FiredOutput final : Output<Fired> {
  std::vector<Fired> fired;
  void collect(Fired&& v, int64_t) override { fired.push_back(std::move(v)); }
  void emitWatermark(int64_t) override {}
  void endInput() override {}
};

auto firedFunction() {
  return [](const std::string& key, const TimeWindow& w, CountSum&& r, Collector<Fired>& out) {
    out.collect(Fired{key, w.start, r.count, r.sum});
  };
}
using FiredFn = decltype(firedFunction());
using KeyedWindowOperator = detail::WindowOperator<Event, std::string, CountSumAggregate, Fired, FiredFn>;

constexpr int kMaxParallelism = 128;
constexpr int64_t kWindowMs = 1000;

int subtaskOf(const std::string& key, int parallelism) {
  return operatorIndexForKeyGroup(assignToKeyGroup(KeyHash<std::string>()(key), kMaxParallelism), kMaxParallelism,
                                  parallelism);
}

/// One subtask of a keyed window operator, as a task would run it.
struct WindowSubtask {
  WindowSubtask(int index, int parallelism)
      : op([](const Event& e) { return e.first; }, TumblingEventTimeWindows::of(kWindowMs),
           std::make_shared<const CountSumAggregate>(), firedFunction(), &out) {
    ctx.taskName = "Window (" + std::to_string(index + 1) + "/" + std::to_string(parallelism) + ")";
    ctx.subtaskIndex = index;
    ctx.parallelism = parallelism;
    ctx.maxParallelism = kMaxParallelism;
    ctx.metrics = &metrics;
    ctx.config = &config;
  }
  void open() { REQUIRE(op.open(ctx).ok()); }

  TaskMetrics metrics;
  Configuration config;
  RuntimeContext ctx;
  FiredOutput out;
  KeyedWindowOperator op;
};

// An entry of the window operator's keyed state: window start, key, count, sum.
using StateEntry = std::tuple<int64_t, std::string, int64_t, int64_t>;

std::vector<StateEntry> decodeEntries(const Buffer& b) {
  std::vector<StateEntry> out;
  DataInputView in(b.data(), b.size());
  while (!in.atEnd()) {  // blocks [slice start, n, n x (key, accumulator)]
    auto start = in.readPod<int64_t>();
    auto n = in.readPod<uint32_t>();
    for (uint32_t i = 0; i < n; ++i) {
      std::string key;
      TypeSerializer<std::string>::deserialize(key, in);
      CountSum acc;
      TypeSerializer<CountSum>::deserialize(acc, in);
      out.emplace_back(start, key, acc.count, acc.sum);
    }
  }
  return out;
}

// ---- Files --------------------------------------------------------------------------------

/// A fresh directory for one test.
struct TempDir : flink::testing::TempDir {
  TempDir() : flink::testing::TempDir("checkpoint-test") {}
};

Buffer readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Buffer((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void writeAll(const std::string& path, const Buffer& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
void flipByte(const std::string& path, size_t offset) {
  Buffer b = readAll(path);
  REQUIRE(offset < b.size());
  b[offset] ^= 0xFF;
  writeAll(path, b);
}

checkpoint::TaskState sampleTaskState() {
  checkpoint::TaskState state;
  OperatorSnapshot a;
  a.operatorState = {1, 2, 3, 4, 5};
  a.keyedState[0] = {9};
  a.keyedState[77] = Buffer(1000, 0xAB);
  a.keyedState[127] = {};
  state.emplace_back("0123456789abcdef0123456789abcdef", std::move(a));
  state.emplace_back("fedcba9876543210fedcba9876543210", OperatorSnapshot{});  // stateless operator
  return state;
}

checkpoint::Metadata sampleMetadata(int64_t id) {
  checkpoint::Metadata m;
  m.jobId = "d7c11951157d8d48dc7c2636ac63223e";
  m.checkpointId = id;
  m.timestampMs = 1700000000000 + id;
  m.savepoint = false;
  m.maxParallelism = 128;
  m.operators["op-a"] = {2, {"v0-0-0", "v0-1-0"}};
  m.operators["op-b"] = {3, {"v1-0-0", "v1-1-0", "v1-2-0"}};
  m.stateSize = 4242;
  return m;
}


}  // namespace

// =================================================================================================
// BarrierAligner
// =================================================================================================

TEST_CASE("BarrierAligner holds data behind a barrier until every channel delivered it", "[checkpoint][aligner]") {
  AlignerHarness h(2);
  Producer p0, p1;

  // Channel 0: records, barrier 1 and more records in the same buffer.
  h.deliver(0, p0.records({1, 2}).barrier(1).records({3, 4}).takeOne());
  REQUIRE(h.out.values == Values{1, 2});
  REQUIRE(h.aligner.blocked(0));
  REQUIRE(h.aligner.aligning() == 1);
  REQUIRE(h.recycled[0] == 0);  // the rest of the buffer is held, not recycled
  // A later buffer of the blocked channel waits too.
  h.deliver(0, p0.records({5}).takeOne());
  REQUIRE(h.aligner.queued(0) == 2);
  REQUIRE(h.out.values == Values{1, 2});

  // Channel 1 is not blocked: its data flows.
  h.deliver(1, p1.records({1001, 1002}).takeOne());
  REQUIRE(h.out.values == Values{1, 2, 1001, 1002});
  REQUIRE(h.recycled[1] == 1);
  REQUIRE(h.alignedIds.empty());

  // Barrier 1 on channel 1 (after a record, with one behind it): aligned.
  h.deliver(1, p1.records({1003}).barrier(1).records({1004}).takeOne());
  REQUIRE(h.alignedIds == std::vector<int64_t>{1});
  // The snapshot saw exactly the records before the barriers.
  REQUIRE(h.processedAtAlignment == std::vector<size_t>{5});
  Values before(h.out.values.begin(), h.out.values.begin() + 5);
  std::sort(before.begin(), before.end());
  REQUIRE(before == Values{1, 2, 1001, 1002, 1003});
  // Then the held data, each channel in order.
  REQUIRE(h.out.values.size() == 9);
  REQUIRE(h.channelValues(0) == Values{1, 2, 3, 4, 5});
  REQUIRE(h.channelValues(1) == Values{1001, 1002, 1003, 1004});
  REQUIRE(h.aligner.aligning() == 0);
  h.requireAllRecycled();

  // The next checkpoint aligns the same way.
  h.deliver(1, p1.barrier(2).records({1005}).takeOne());
  REQUIRE(h.aligner.blocked(1));
  REQUIRE(h.channelValues(1).back() == 1004);
  h.deliver(0, p0.barrier(2).takeOne());
  REQUIRE(h.alignedIds == std::vector<int64_t>{1, 2});
  REQUIRE(h.processedAtAlignment.back() == 9);
  REQUIRE(h.channelValues(1).back() == 1005);
  h.requireAllRecycled();

  // The alignment duration runs from the first barrier to the last (Flink's alignment
  // duration in the checkpoint statistics): at least the time between them.
  auto wallNow = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  };
  int64_t wallBefore = wallNow();
  h.deliver(0, p0.barrier(3).takeOne());
  int64_t wallAfter = wallNow();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  h.deliver(1, p1.barrier(3).takeOne());
  REQUIRE(h.alignedIds == std::vector<int64_t>{1, 2, 3});
  REQUIRE(h.alignmentMs.size() == 3);
  CHECK(h.alignmentMs.back() >= 20);
  CHECK(h.firstBarrierWallMs.back() >= wallBefore);
  CHECK(h.firstBarrierWallMs.back() <= wallAfter);
  for (int64_t ms : h.alignmentMs) CHECK(ms >= 0);
}

TEST_CASE("BarrierAligner with three channels blocks each channel at its barrier until the last one arrives", "[checkpoint][aligner]") {
  AlignerHarness h(3);
  Producer p0, p1, p2;

  h.deliver(0, p0.records({1}).barrier(7).takeOne());
  REQUIRE(h.aligner.blocked(0));
  // A barrier arriving while another channel is blocked: that channel blocks too.
  h.deliver(1, p1.records({1001}).barrier(7).records({1002}).takeOne());
  REQUIRE(h.aligner.blocked(0));
  REQUIRE(h.aligner.blocked(1));
  REQUIRE(h.alignedIds.empty());
  h.deliver(0, p0.records({2, 3}).takeOne());
  h.deliver(1, p1.records({1003}).takeOne());
  REQUIRE(h.out.values == Values{1, 1001});

  // The third channel flows until its barrier.
  h.deliver(2, p2.records({2001, 2002}).takeOne());
  REQUIRE(h.out.values == Values{1, 1001, 2001, 2002});
  REQUIRE(h.alignedIds.empty());
  h.deliver(2, p2.barrier(7).records({2003}).takeOne());
  REQUIRE(h.alignedIds == std::vector<int64_t>{7});
  REQUIRE(h.processedAtAlignment == std::vector<size_t>{4});
  for (int64_t held : {2, 3, 1002, 1003, 2003}) REQUIRE(h.indexOf(held) >= 4);
  REQUIRE(h.channelValues(0) == Values{1, 2, 3});
  REQUIRE(h.channelValues(1) == Values{1001, 1002, 1003});
  REQUIRE(h.channelValues(2) == Values{2001, 2002, 2003});
  h.requireAllRecycled();
}

TEST_CASE("BarrierAligner counts a channel that ended as aligned", "[checkpoint][aligner]") {
  SECTION("the channel ends before the barrier arrives elsewhere") {
    AlignerHarness h(2);
    Producer p0, p1;
    h.deliver(1, p1.records({1001}).end().takeOne());
    REQUIRE(h.input.channelFinished(1));
    h.deliver(0, p0.records({1}).barrier(1).records({2}).end().takeOne());
    REQUIRE(h.alignedIds == std::vector<int64_t>{1});
    REQUIRE(h.processedAtAlignment == std::vector<size_t>{2});
    REQUIRE(h.channelValues(0) == Values{1, 2});
    REQUIRE(h.input.finished());
    REQUIRE(h.out.endInputs == 1);
    h.requireAllRecycled();
  }
  SECTION("the channel ends while another one is blocked") {
    AlignerHarness h(2);
    Producer p0, p1;
    h.deliver(0, p0.records({1}).barrier(1).records({2}).end().takeOne());
    REQUIRE(h.aligner.blocked(0));
    h.deliver(1, p1.records({1001, 1002}).end().takeOne());
    h.aligner.poll();  // the task polls after every buffer
    REQUIRE(h.alignedIds == std::vector<int64_t>{1});
    REQUIRE(h.processedAtAlignment == std::vector<size_t>{3});
    REQUIRE(h.indexOf(2) == 3);
    REQUIRE(h.input.finished());
    REQUIRE(h.out.endInputs == 1);
    h.requireAllRecycled();
  }
  SECTION("with one live channel of three the barrier aligns at once") {
    AlignerHarness h(3);
    Producer p0, p1, p2;
    h.deliver(0, p0.end().takeOne());
    h.deliver(2, p2.records({2001}).end().takeOne());
    h.deliver(1, p1.records({1001}).barrier(3).records({1002}).takeOne());
    REQUIRE(h.alignedIds == std::vector<int64_t>{3});
    REQUIRE(h.processedAtAlignment == std::vector<size_t>{2});
    REQUIRE(h.channelValues(1) == Values{1001, 1002});
    REQUIRE_FALSE(h.aligner.blocked(1));
    h.requireAllRecycled();
  }
}

TEST_CASE("BarrierAligner abandons an older alignment when a newer barrier arrives", "[checkpoint][aligner]") {
  AlignerHarness h(3);
  Producer p0, p1, p2;

  h.deliver(0, p0.barrier(1).records({1, 2}).takeOne());
  REQUIRE(h.aligner.aligning() == 1);
  REQUIRE(h.out.values.empty());

  // Channel 1 skips barrier 1 (its producer declined it) and delivers barrier 2: checkpoint 1
  // is abandoned, channel 0 resumes, channel 1 blocks for checkpoint 2.
  h.deliver(1, p1.barrier(2).records({1001}).takeOne());
  REQUIRE(h.aligner.aligning() == 2);
  REQUIRE_FALSE(h.aligner.blocked(0));
  REQUIRE(h.aligner.blocked(1));
  REQUIRE(h.channelValues(0) == Values{1, 2});
  REQUIRE(h.channelValues(1).empty());

  // Barrier 1 arriving late on channel 2 neither blocks it nor completes anything.
  h.deliver(2, p2.records({2001}).barrier(1).records({2002}).takeOne());
  REQUIRE_FALSE(h.aligner.blocked(2));
  REQUIRE(h.channelValues(2) == Values{2001, 2002});
  REQUIRE(h.alignedIds.empty());

  h.deliver(0, p0.barrier(2).records({3}).takeOne());
  REQUIRE(h.aligner.blocked(0));
  REQUIRE(h.alignedIds.empty());
  h.deliver(2, p2.barrier(2).records({2003}).takeOne());
  REQUIRE(h.alignedIds == std::vector<int64_t>{2});  // never 1
  REQUIRE(h.processedAtAlignment == std::vector<size_t>{4});
  REQUIRE(h.channelValues(0) == Values{1, 2, 3});
  REQUIRE(h.channelValues(1) == Values{1001});
  REQUIRE(h.channelValues(2) == Values{2001, 2002, 2003});
  h.requireAllRecycled();

  // A barrier of a checkpoint at or before the last aligned one is ignored.
  h.deliver(0, p0.barrier(1).records({4}).barrier(2).records({5}).takeOne());
  REQUIRE_FALSE(h.aligner.blocked(0));
  REQUIRE(h.aligner.aligning() == 0);
  REQUIRE(h.channelValues(0) == Values{1, 2, 3, 4, 5});
  REQUIRE(h.alignedIds == std::vector<int64_t>{2});
  h.requireAllRecycled();
}

TEST_CASE("BarrierAligner snapshots a consistent cut for random buffer splits and interleavings", "[checkpoint][aligner]") {
  constexpr int kChannels = 3;
  constexpr int kCheckpoints = 6;
  constexpr int kRecords = 400;  // per channel
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    // Per channel: records c*1000+i with barriers 1..kCheckpoints at random positions; the
    // expected cut of checkpoint k is every record before barrier k on every channel.
    std::vector<std::vector<Buffer>> buffers(kChannels);
    std::map<int64_t, std::set<int64_t>> cut;  // checkpoint -> records before its barriers
    for (int c = 0; c < kChannels; ++c) {
      std::vector<int> barrierAt;
      for (int k = 0; k < kCheckpoints; ++k) barrierAt.push_back(static_cast<int>(rng() % (kRecords + 1)));
      std::sort(barrierAt.begin(), barrierAt.end());
      Producer p;
      std::vector<Buffer> raw;
      size_t nextBarrier = 0;
      for (int i = 0; i <= kRecords; ++i) {
        while (nextBarrier < barrierAt.size() && barrierAt[nextBarrier] == i) {
          int64_t id = static_cast<int64_t>(nextBarrier) + 1;
          for (int j = 0; j < i; ++j) cut[id].insert(c * 1000 + j);
          p.barrier(id);
          ++nextBarrier;
        }
        if (i < kRecords) {
          p.record(c * 1000 + i);
          if (rng() % 16 == 0) {
            for (auto& b : p.take()) raw.push_back(std::move(b));
          }
        }
      }
      p.end();
      for (auto& b : p.take()) raw.push_back(std::move(b));
      // Merge random runs of consecutive buffers so barriers also sit mid-buffer.
      for (size_t i = 0; i < raw.size();) {
        size_t n = 1 + rng() % 3;
        Buffer merged;
        for (size_t j = i; j < std::min(raw.size(), i + n); ++j) merged.insert(merged.end(), raw[j].begin(), raw[j].end());
        buffers[c].push_back(std::move(merged));
        i += n;
      }
    }

    AlignerHarness h(kChannels);
    std::vector<size_t> next(kChannels, 0);
    for (;;) {
      std::vector<int> live;
      for (int c = 0; c < kChannels; ++c) {
        if (next[c] < buffers[c].size()) live.push_back(c);
      }
      if (live.empty()) break;
      int c = live[rng() % live.size()];
      h.deliver(c, std::move(buffers[c][next[c]++]));
      h.aligner.poll();
    }
    REQUIRE(h.input.finished());
    std::vector<int64_t> expectedIds;
    for (int k = 1; k <= kCheckpoints; ++k) expectedIds.push_back(k);
    REQUIRE(h.alignedIds == expectedIds);
    for (int k = 1; k <= kCheckpoints; ++k) {
      INFO("checkpoint " << k);
      // What had been processed when checkpoint k was snapshotted (the output only grows).
      auto end = h.out.values.begin() + static_cast<std::ptrdiff_t>(h.processedAtAlignment[k - 1]);
      std::set<int64_t> snapshot(h.out.values.begin(), end);
      REQUIRE(snapshot.size() == h.processedAtAlignment[k - 1]);
      REQUIRE(snapshot == cut[k]);
    }
    for (int c = 0; c < kChannels; ++c) {
      Values expected;
      for (int i = 0; i < kRecords; ++i) expected.push_back(c * 1000 + i);
      REQUIRE(h.channelValues(c) == expected);
    }
    h.requireAllRecycled();
  }
}

// =================================================================================================
// Keyed state redistribution by key group
// =================================================================================================

TEST_CASE("WindowOperator state snapshotted at parallelism 2 restores into 3 subtasks by key-group range", "[checkpoint][keygroups]") {
  constexpr int kKeys = 500;
  auto key = [](int k) { return "K" + std::to_string(k); };
  // Phase 1 (before the checkpoint): windows [0,1000), [1000,2000), [2000,3000); the watermark
  // 999 fires the first window before the snapshot.
  std::vector<std::pair<Event, int64_t>> phase1, phase2;
  for (int k = 0; k < kKeys; ++k) {
    for (int i = 0; i <= k % 4; ++i) phase1.push_back({{key(k), k * 10 + i}, 100 + i});
    if (k % 3 != 0) phase1.push_back({{key(k), -k}, 1500});
    if (k % 5 == 0) phase1.push_back({{key(k), 7}, 2999});
    // Phase 2 (after the restore): open windows and a new one.
    if (k % 2 == 0) phase2.push_back({{key(k), 1}, 1999});
    phase2.push_back({{key(k), k}, 2500});
    if (k % 7 == 0) phase2.push_back({{key(k), 3}, 3100});
  }

  // Reference: one subtask sees everything, no checkpoint.
  WindowSubtask reference(0, 1);
  reference.open();
  for (auto [e, ts] : phase1) reference.op.collect(std::move(e), ts);
  reference.op.emitWatermark(999);

  // The run at parallelism 2, routed by key group as the network does.
  std::vector<std::unique_ptr<WindowSubtask>> old;
  for (int i = 0; i < 2; ++i) {
    old.push_back(std::make_unique<WindowSubtask>(i, 2));
    old.back()->open();
  }
  for (auto [e, ts] : phase1) {
    int s = subtaskOf(e.first, 2);
    old[s]->op.collect(std::move(e), ts);
  }
  std::vector<Fired> firedBefore;
  std::vector<OperatorSnapshot> snapshots(2);
  for (int i = 0; i < 2; ++i) {
    old[i]->op.emitWatermark(999);
    firedBefore.insert(firedBefore.end(), old[i]->out.fired.begin(), old[i]->out.fired.end());
    old[i]->op.snapshotState(1, snapshots[i]);
    snapshots[i].materialize();  // the asynchronous part, as the TaskExecutor's snapshot thread runs it
  }
  {
    std::vector<Fired> a = firedBefore, b = reference.out.fired;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    REQUIRE(a == b);
    REQUIRE(a.size() == static_cast<size_t>(kKeys));  // every key had a record in window [0,1000)
  }

  // The snapshot: every key group written by the subtask that owns it; entries of open windows.
  std::multiset<StateEntry> original;
  std::set<int> groups;
  for (int i = 0; i < 2; ++i) {
    auto [first, last] = keyGroupRange(i, kMaxParallelism, 2);
    for (const auto& [kg, bytes] : snapshots[i].keyedState) {
      REQUIRE(kg >= first);
      REQUIRE(kg <= last);
      REQUIRE(groups.insert(kg).second);
      for (const auto& entry : decodeEntries(bytes)) {
        REQUIRE(assignToKeyGroup(KeyHash<std::string>()(std::get<1>(entry)), kMaxParallelism) == kg);
        original.insert(entry);
      }
    }
  }
  // Open panes: window [1000,2000) of the 333 keys with k % 3 != 0, [2000,3000) of the 100 with k % 5 == 0.
  REQUIRE(original.size() == 333 + 100);
  for (const auto& e : original) REQUIRE(std::get<0>(e) >= 1000);  // the fired window is gone

  // Restore into 3 subtasks as Task::restoreState does: the key groups of each one's range.
  std::vector<std::unique_ptr<WindowSubtask>> restored;
  std::multiset<StateEntry> reRead;
  std::vector<std::set<std::string>> keysOf(3);
  for (int i = 0; i < 3; ++i) {
    auto [first, last] = keyGroupRange(i, kMaxParallelism, 3);
    RestoredState rs;
    rs.restored = true;
    rs.checkpointId = 1;
    for (const auto& snap : snapshots) {
      for (const auto& [kg, bytes] : snap.keyedState) {
        if (kg >= first && kg <= last) rs.keyedState.push_back(bytes);
      }
    }
    restored.push_back(std::make_unique<WindowSubtask>(i, 3));
    REQUIRE(restored.back()->op.initializeState(rs).ok());
    restored.back()->open();
    // What the subtask holds now, seen through its own next snapshot.
    OperatorSnapshot again;
    restored.back()->op.snapshotState(2, again);
    again.materialize();
    for (const auto& [kg, bytes] : again.keyedState) {
      REQUIRE(kg >= first);
      REQUIRE(kg <= last);
      for (const auto& entry : decodeEntries(bytes)) {
        REQUIRE(subtaskOf(std::get<1>(entry), 3) == i);
        keysOf[i].insert(std::get<1>(entry));
        reRead.insert(entry);
      }
    }
  }
  // The union of the restored panes is the original state, and no key is in two subtasks.
  REQUIRE(reRead == original);
  for (int i = 0; i < 3; ++i) {
    REQUIRE_FALSE(keysOf[i].empty());
    for (int j = i + 1; j < 3; ++j) {
      std::vector<std::string> both;
      std::set_intersection(keysOf[i].begin(), keysOf[i].end(), keysOf[j].begin(), keysOf[j].end(),
                            std::back_inserter(both));
      INFO("subtasks " << i << " and " << j);
      REQUIRE(both.empty());
    }
  }

  // Windows fire the same results as without the checkpoint and rescale.
  for (auto [e, ts] : phase2) {
    int s = subtaskOf(e.first, 3);
    Event copy = e;
    restored[s]->op.collect(std::move(copy), ts);
    reference.op.collect(std::move(e), ts);
  }
  std::vector<Fired> firedAfter;
  for (auto& s : restored) {
    s->op.emitWatermark(kMaxWatermark);
    REQUIRE(s->op.numPendingWindows() == 0);
    for (const auto& f : s->out.fired) {
      REQUIRE(subtaskOf(std::get<0>(f), 3) == s->ctx.subtaskIndex);
      firedAfter.push_back(f);
    }
  }
  reference.op.emitWatermark(kMaxWatermark);
  std::vector<Fired> all = firedBefore;
  all.insert(all.end(), firedAfter.begin(), firedAfter.end());
  std::vector<Fired> expected = reference.out.fired;
  std::sort(all.begin(), all.end());
  std::sort(expected.begin(), expected.end());
  REQUIRE(all.size() == expected.size());
  REQUIRE(all == expected);
}

// =================================================================================================
// Checkpoint storage
// =================================================================================================

TEST_CASE("writeTaskState and readTaskState round-trip operator and keyed state", "[checkpoint][storage]") {
  TempDir dir;
  std::string path = dir.str("v0-1-0");
  auto state = sampleTaskState();
  auto written = checkpoint::writeTaskState(path, state);
  REQUIRE(written.ok());
  REQUIRE(*written == static_cast<int64_t>(fs::file_size(path)));
  REQUIRE_FALSE(fs::exists(path + ".tmp"));

  auto read = checkpoint::readTaskState(path);
  REQUIRE(read.ok());
  REQUIRE(read->size() == state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    REQUIRE((*read)[i].first == state[i].first);
    REQUIRE((*read)[i].second.operatorState == state[i].second.operatorState);
    REQUIRE((*read)[i].second.keyedState == state[i].second.keyedState);
  }

  // An empty task state is a valid file too.
  REQUIRE(checkpoint::writeTaskState(dir.str("empty"), {}).ok());
  auto empty = checkpoint::readTaskState(dir.str("empty"));
  REQUIRE(empty.ok());
  REQUIRE(empty->empty());
}

TEST_CASE("readTaskState detects a flipped byte or a truncated file and names the path", "[checkpoint][storage]") {
  TempDir dir;
  std::string path = dir.str("state");
  REQUIRE(checkpoint::writeTaskState(path, sampleTaskState()).ok());
  const Buffer good = readAll(path);
  REQUIRE(good.size() > 100);

  SECTION("a flipped payload byte") {
    for (size_t offset : {size_t{16}, size_t{40}, good.size() / 2, good.size() - 1}) {
      writeAll(path, good);
      flipByte(path, offset);
      auto r = checkpoint::readTaskState(path);
      INFO("offset " << offset);
      REQUIRE_FALSE(r.ok());
      REQUIRE_THAT(r.status().message(), Catch::Contains(path));
      REQUIRE_THAT(r.status().message(), Catch::Contains("corrupt"));
    }
  }
  SECTION("a flipped checksum byte") {
    flipByte(path, 5);
    auto r = checkpoint::readTaskState(path);
    REQUIRE_FALSE(r.ok());
    REQUIRE_THAT(r.status().message(), Catch::Contains(path));
  }
  SECTION("a flipped magic byte") {
    flipByte(path, 0);
    auto r = checkpoint::readTaskState(path);
    REQUIRE_FALSE(r.ok());
    REQUIRE_THAT(r.status().message(), Catch::Contains(path));
  }
  SECTION("a truncated file") {
    for (size_t size : {good.size() - 1, good.size() / 2, size_t{20}, size_t{10}, size_t{0}}) {
      writeAll(path, Buffer(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(size)));
      auto r = checkpoint::readTaskState(path);
      INFO("truncated to " << size << " bytes");
      REQUIRE_FALSE(r.ok());
      REQUIRE_THAT(r.status().message(), Catch::Contains(path));
    }
  }
  SECTION("bytes appended") {
    Buffer longer = good;
    longer.push_back(0);
    writeAll(path, longer);
    auto r = checkpoint::readTaskState(path);
    REQUIRE_FALSE(r.ok());
    REQUIRE_THAT(r.status().message(), Catch::Contains(path));
  }
  SECTION("a missing file") {
    auto r = checkpoint::readTaskState(dir.str("no-such-state"));
    REQUIRE_FALSE(r.ok());
    REQUIRE_THAT(r.status().message(), Catch::Contains(dir.str("no-such-state")));
  }
}

TEST_CASE("writeMetadata and readMetadata round-trip and reject a corrupt _metadata", "[checkpoint][storage]") {
  TempDir dir;
  std::string chk = dir.str("chk-3");
  fs::create_directories(chk);
  auto m = sampleMetadata(3);
  REQUIRE(checkpoint::writeMetadata(chk, m).ok());
  REQUIRE(fs::exists(chk + "/_metadata"));
  auto r = checkpoint::readMetadata(chk);
  REQUIRE(r.ok());
  REQUIRE(r->jobId == m.jobId);
  REQUIRE(r->checkpointId == 3);
  REQUIRE(r->timestampMs == m.timestampMs);
  REQUIRE(r->savepoint == m.savepoint);
  REQUIRE(r->maxParallelism == 128);
  REQUIRE(r->stateSize == 4242);
  REQUIRE(r->operators.size() == 2);
  REQUIRE(r->operators.at("op-b").parallelism == 3);
  REQUIRE(r->operators.at("op-b").files == m.operators.at("op-b").files);

  flipByte(chk + "/_metadata", 30);
  auto bad = checkpoint::readMetadata(chk);
  REQUIRE_FALSE(bad.ok());
  REQUIRE_THAT(bad.status().message(), Catch::Contains(chk + "/_metadata"));
}

TEST_CASE("findLatest returns the newest verified checkpoint and skips a corrupt newest one", "[checkpoint][storage]") {
  TempDir dir;
  std::string job = dir.str("d7c11951157d8d48dc7c2636ac63223e");
  auto make = [&](int64_t id) {
    std::string chk = job + "/chk-" + std::to_string(id);
    fs::create_directories(chk);
    REQUIRE(checkpoint::writeMetadata(chk, sampleMetadata(id)).ok());
    return chk;
  };

  SECTION("numeric order: chk-10 is newer than chk-9") {
    make(2);
    make(9);
    std::string newest = make(10);
    fs::create_directories(job + "/chk-11");  // in progress: no _metadata yet
    auto r = checkpoint::findLatest(job);
    REQUIRE(r.ok());
    REQUIRE(r->first == newest);
    REQUIRE(r->second.checkpointId == 10);
  }
  SECTION("a corrupt newest checkpoint falls back to the previous one") {
    std::string previous = make(9);
    std::string newest = make(10);
    flipByte(newest + "/_metadata", 20);
    auto r = checkpoint::findLatest(job);
    REQUIRE(r.ok());
    REQUIRE(r->first == previous);
    REQUIRE(r->second.checkpointId == 9);
  }
  SECTION("a truncated newest checkpoint falls back to the previous one") {
    std::string previous = make(4);
    std::string newest = make(5);
    fs::resize_file(newest + "/_metadata", fs::file_size(newest + "/_metadata") - 3);
    auto r = checkpoint::findLatest(job);
    REQUIRE(r.ok());
    REQUIRE(r->first == previous);
  }
  SECTION("no usable checkpoint is an error") {
    std::string only = make(1);
    flipByte(only + "/_metadata", 25);
    REQUIRE_FALSE(checkpoint::findLatest(job).ok());
    REQUIRE_FALSE(checkpoint::findLatest(dir.str("no-such-job")).ok());
  }
}

