// Tests of event-time progress: WatermarkGenerator (bounded out-of-orderness), the
// SourceOperator's watermarks and end of input, and watermark alignment across the channels of
// a NetworkInput fed with buffers written by RecordWriter.
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "collecting_output.h"

#include "flink/configuration.h"
#include "flink/datastream.h"
#include "flink/operators/stream_operator.h"

using namespace flink;

namespace {

template <class T>
using CollectingOutput = flink::testing::CollectingOutput<T>;

struct Reading {
  std::string sensor;
  int64_t time = 0;
  double value = 0;
  auto fields() { return std::tie(sensor, time, value); }
  auto fields() const { return std::tie(sensor, time, value); }
  bool operator==(const Reading& o) const { return sensor == o.sensor && time == o.time && value == o.value; }
};

constexpr int64_t kOneHourMs = 3'600'000;

// ---- SourceOperator harness -----------------------------------------------------------------

struct ReaderLog {
  bool opened = false;
  bool closed = false;
  int polls = 0;
};

/// Each pollNext() emits the next batch of (value, timestamp); an empty batch means "nothing
/// available right now". After the last batch it reports the end of input.
class ScriptedReader final : public SourceReader<int> {
 public:
  ScriptedReader(std::vector<std::vector<std::pair<int, int64_t>>> batches, std::shared_ptr<ReaderLog> log)
      : batches_(std::move(batches)), log_(std::move(log)) {}
  Status open(RuntimeContext&) override {
    log_->opened = true;
    return Status::Ok();
  }
  InputStatus pollNext(ReaderOutput<int>& out, int maxRecords) override {
    ++log_->polls;
    if (next_ == batches_.size()) return InputStatus::kEndOfInput;
    auto& batch = batches_[next_++];
    REQUIRE(static_cast<int>(batch.size()) <= maxRecords);
    for (auto& [v, ts] : batch) out.collect(int(v), ts);
    return batch.empty() ? InputStatus::kNothingAvailable : InputStatus::kMoreAvailable;
  }
  void close() override { log_->closed = true; }

 private:
  std::vector<std::vector<std::pair<int, int64_t>>> batches_;
  size_t next_ = 0;
  std::shared_ptr<ReaderLog> log_;
};

// ---- Network input harness ----------------------------------------------------------------------

/// A BufferSink that keeps what is sent, per channel.
struct CaptureSink final : BufferSink {
  explicit CaptureSink(int n) : channels(static_cast<size_t>(n)) {}
  int numChannels() const override { return static_cast<int>(channels.size()); }
  void send(int channel, Buffer&& buffer) override { channels.at(static_cast<size_t>(channel)).push_back(std::move(buffer)); }
  std::vector<std::vector<Buffer>> channels;
};

/// One upstream subtask: a RecordWriter<Reading> into a single-channel capture sink.
struct Producer {
  CaptureSink sink{1};
  TaskMetrics metrics;
  RecordWriter<Reading> writer{&sink, nullptr, 1 << 20, &metrics};
  size_t delivered = 0;
};

/// Flushes the producer and feeds its new buffers to `input` as `channel`. Returns the result of
/// the last processBuffer call (true once every channel has ended).
bool deliver(NetworkInputBase& input, int channel, Producer& p) {
  p.writer.flushAll();
  bool finished = input.finished();
  auto& buffers = p.sink.channels[0];
  REQUIRE(p.delivered < buffers.size());
  for (; p.delivered < buffers.size(); ++p.delivered) {
    const Buffer& b = buffers[p.delivered];
    finished = input.processBuffer(channel, b.data(), b.size());
  }
  return finished;
}

}  // namespace

// ---- WatermarkGenerator ---------------------------------------------------------------------------

TEST_CASE("BoundedOutOfOrderness watermark is max timestamp - bound - 1", "[watermarks]") {
  WatermarkGenerator<int> gen(WatermarkStrategy<int>::forBoundedOutOfOrderness(5));
  gen.setInterval(kOneHourMs);
  CollectingOutput<int> out;

  gen.emit(&out);  // nothing seen yet: no watermark
  CHECK(out.watermarks.empty());

  CHECK(gen.onElement(1, 100) == 100);
  CHECK(gen.onElement(2, 97) == 97);
  gen.emit(&out);
  CHECK(out.watermarks == std::vector<int64_t>{94});

  CHECK(gen.onElement(3, 130) == 130);
  gen.emit(&out);
  CHECK(out.watermarks == std::vector<int64_t>{94, 124});
}

TEST_CASE("Monotonous timestamps give watermark max timestamp - 1 - and negative times work", "[watermarks]") {
  WatermarkGenerator<int> gen(WatermarkStrategy<int>::forMonotonousTimestamps());
  CollectingOutput<int> out;
  gen.onElement(0, -1000);
  gen.emit(&out);
  gen.onElement(0, 0);
  gen.emit(&out);
  CHECK(out.watermarks == std::vector<int64_t>{-1001, -1});
}

TEST_CASE("Watermarks never decrease - even for out-of-order records", "[watermarks]") {
  WatermarkGenerator<int> gen(WatermarkStrategy<int>::forBoundedOutOfOrderness(10));
  CollectingOutput<int> out;
  gen.onElement(0, 500);
  gen.emit(&out);
  gen.onElement(0, 400);  // late: the max stays 500
  gen.emit(&out);
  gen.onElement(0, 505);
  gen.emit(&out);
  gen.onElement(0, 1);
  gen.emit(&out);
  CHECK(out.watermarks == std::vector<int64_t>{489, 494});
}

TEST_CASE("The timestamp assigner overrides the record's timestamp", "[watermarks]") {
  auto strategy = WatermarkStrategy<Reading>::forBoundedOutOfOrderness(0).withTimestampAssigner(
      [](const Reading& r, int64_t) { return r.time; });
  WatermarkGenerator<Reading> gen(strategy);
  CollectingOutput<Reading> out;
  CHECK(gen.onElement(Reading{"s", 42, 1.0}, 7) == 42);
  CHECK(gen.onElement(Reading{"s", 40, 1.0}, kNoTimestamp) == 40);
  gen.emit(&out);
  CHECK(out.watermarks == std::vector<int64_t>{41});
}

TEST_CASE("A watermark is emitted after 4096 records when the interval has not elapsed", "[watermarks]") {
  WatermarkGenerator<int> gen(WatermarkStrategy<int>::forBoundedOutOfOrderness(0));
  gen.setInterval(kOneHourMs);
  CollectingOutput<int> out;
  for (int i = 1; i < 4096; ++i) {
    gen.onElement(i, i);
    gen.afterElement(&out);
  }
  CHECK(out.watermarks.empty());
  gen.onElement(4096, 4096);
  gen.afterElement(&out);
  CHECK(out.watermarks == std::vector<int64_t>{4095});
  // The count starts over.
  for (int i = 4097; i < 4096 * 2; ++i) {
    gen.onElement(i, i);
    gen.afterElement(&out);
  }
  CHECK(out.watermarks.size() == 1);
  gen.onElement(8192, 8192);
  gen.afterElement(&out);
  CHECK(out.watermarks == std::vector<int64_t>{4095, 8191});
}

TEST_CASE("With an elapsed interval a watermark is emitted every 128 records", "[watermarks]") {
  WatermarkGenerator<int> gen(WatermarkStrategy<int>::forBoundedOutOfOrderness(0));
  gen.setInterval(0);  // always elapsed
  CollectingOutput<int> out;
  for (int i = 1; i < 128; ++i) {
    gen.onElement(i, i);
    gen.afterElement(&out);
  }
  CHECK(out.watermarks.empty());
  gen.onElement(128, 128);
  gen.afterElement(&out);
  CHECK(out.watermarks == std::vector<int64_t>{127});
}

TEST_CASE("An idle source emits its pending watermark once", "[watermarks]") {
  WatermarkGenerator<int> gen(WatermarkStrategy<int>::forBoundedOutOfOrderness(3));
  gen.setInterval(kOneHourMs);
  CollectingOutput<int> out;
  gen.onIdle(&out);  // nothing seen
  CHECK(out.watermarks.empty());
  gen.onElement(0, 50);
  gen.afterElement(&out);
  CHECK(out.watermarks.empty());
  gen.onIdle(&out);
  CHECK(out.watermarks == std::vector<int64_t>{46});
  gen.onIdle(&out);  // no record since: nothing new
  CHECK(out.watermarks.size() == 1);
}

TEST_CASE("noWatermarks never emits watermarks", "[watermarks]") {
  WatermarkGenerator<int> gen(WatermarkStrategy<int>::noWatermarks());
  gen.setInterval(0);
  CollectingOutput<int> out;
  for (int i = 0; i < 5000; ++i) {
    CHECK(gen.onElement(i, i) == i);
    gen.afterElement(&out);
  }
  gen.onIdle(&out);
  CHECK(out.watermarks.empty());
}

// ---- SourceOperator ------------------------------------------------------------------------

TEST_CASE("SourceOperator emits records - an idle watermark - then kMaxWatermark and endInput", "[watermarks]") {
  auto log = std::make_shared<ReaderLog>();
  auto reader = std::make_unique<ScriptedReader>(
      std::vector<std::vector<std::pair<int, int64_t>>>{{{1, 100}, {2, 90}, {3, 120}}, {}, {{4, 130}}, {}},
      log);
  CollectingOutput<int> out;
  detail::SourceOperator<int> op(std::move(reader), WatermarkStrategy<int>::forBoundedOutOfOrderness(5), &out);
  TaskMetrics metrics;
  Configuration config;
  config.set(options::kAutoWatermarkInterval, "1 h");
  RuntimeContext ctx;
  ctx.metrics = &metrics;
  ctx.config = &config;
  REQUIRE(op.open(ctx).ok());
  CHECK(log->opened);

  CHECK(op.emitNext(10) == InputStatus::kMoreAvailable);
  CHECK(out.events == "rrr");
  CHECK(op.emitNext(10) == InputStatus::kNothingAvailable);
  CHECK(out.watermarks == std::vector<int64_t>{114});
  CHECK(op.emitNext(10) == InputStatus::kMoreAvailable);
  CHECK(op.emitNext(10) == InputStatus::kNothingAvailable);
  CHECK(out.watermarks == std::vector<int64_t>{114, 124});
  CHECK(out.endInputs == 0);
  CHECK(op.emitNext(10) == InputStatus::kEndOfInput);

  CHECK(out.events == "rrrwrwwe");
  CHECK(out.watermarks == std::vector<int64_t>{114, 124, kMaxWatermark});
  CHECK(out.endInputs == 1);
  CHECK(out.records == std::vector<std::pair<int, int64_t>>{{1, 100}, {2, 90}, {3, 120}, {4, 130}});
  CHECK(metrics.numRecordsIn.load() == 4);
  REQUIRE(op.close().ok());
  CHECK(log->closed);
}

TEST_CASE("SourceOperator without watermarks still ends with kMaxWatermark", "[watermarks]") {
  auto log = std::make_shared<ReaderLog>();
  auto reader = std::make_unique<ScriptedReader>(
      std::vector<std::vector<std::pair<int, int64_t>>>{{{7, kNoTimestamp}}, {}}, log);
  CollectingOutput<int> out;
  detail::SourceOperator<int> op(std::move(reader), WatermarkStrategy<int>::noWatermarks(), &out);
  TaskMetrics metrics;
  Configuration config;
  RuntimeContext ctx;
  ctx.metrics = &metrics;
  ctx.config = &config;
  REQUIRE(op.open(ctx).ok());
  CHECK(op.emitNext(1) == InputStatus::kMoreAvailable);
  CHECK(op.emitNext(1) == InputStatus::kNothingAvailable);
  CHECK(op.emitNext(1) == InputStatus::kEndOfInput);
  CHECK(out.events == "rwe");
  CHECK(out.watermarks == std::vector<int64_t>{kMaxWatermark});
  CHECK(out.records[0].second == kNoTimestamp);
}

TEST_CASE("SourceOperator::open fails on a malformed auto-watermark interval - naming the key", "[watermarks]") {
  auto reader = std::make_unique<ScriptedReader>(std::vector<std::vector<std::pair<int, int64_t>>>{},
                                                 std::make_shared<ReaderLog>());
  CollectingOutput<int> out;
  detail::SourceOperator<int> op(std::move(reader), WatermarkStrategy<int>::forMonotonousTimestamps(), &out);
  TaskMetrics metrics;
  Configuration config;
  config.set(options::kAutoWatermarkInterval, "soon");
  RuntimeContext ctx;
  ctx.metrics = &metrics;
  ctx.config = &config;
  Status s = op.open(ctx);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains(options::kAutoWatermarkInterval));
}

TEST_CASE("TimestampsAndWatermarksOperator replaces upstream watermarks except the final one", "[watermarks]") {
  CollectingOutput<int> out;
  detail::TimestampsAndWatermarksOperator<int> op(
      WatermarkStrategy<int>::forBoundedOutOfOrderness(1).withTimestampAssigner([](int v, int64_t) { return v * 10; }),
      &out);
  TaskMetrics metrics;
  Configuration config;
  config.set(options::kAutoWatermarkInterval, "1 h");
  RuntimeContext ctx;
  ctx.metrics = &metrics;
  ctx.config = &config;
  REQUIRE(op.open(ctx).ok());
  op.collect(3, kNoTimestamp);
  op.emitWatermark(1'000'000);  // upstream watermark: dropped
  CHECK(out.watermarks.empty());
  CHECK(out.records == std::vector<std::pair<int, int64_t>>{{3, 30}});
  op.emitWatermark(kMaxWatermark);
  op.endInput();
  CHECK(out.events == "rwe");
  CHECK(out.watermarks == std::vector<int64_t>{kMaxWatermark});
}

// ---- NetworkInput: watermark alignment --------------------------------------------------------------

TEST_CASE("NetworkInput delivers records and the minimum watermark over channels", "[watermarks][network-input]") {
  CollectingOutput<Reading> out;
  TaskMetrics metrics;
  NetworkInput<Reading> input(&out, 2, &metrics);
  Producer p0, p1;

  p0.writer.collect(Reading{"a", 1, 0.5}, 1);
  p0.writer.emitWatermark(10);
  CHECK_FALSE(deliver(input, 0, p0));
  // Channel 1 has sent no watermark yet: it holds the input back.
  CHECK(out.watermarks.empty());
  REQUIRE(out.records.size() == 1);
  CHECK(out.records[0] == std::make_pair(Reading{"a", 1, 0.5}, int64_t{1}));

  p1.writer.emitWatermark(5);
  deliver(input, 1, p1);
  CHECK(out.watermarks == std::vector<int64_t>{5});
  CHECK(metrics.currentInputWatermark.load() == 5);

  p1.writer.collect(Reading{"b", 7, -1.25}, 7);
  p1.writer.emitWatermark(20);
  deliver(input, 1, p1);
  CHECK(out.watermarks == std::vector<int64_t>{5, 10});

  p0.writer.emitWatermark(8);  // a channel's watermark does not go back
  deliver(input, 0, p0);
  CHECK(out.watermarks == std::vector<int64_t>{5, 10});

  p0.writer.emitWatermark(15);
  deliver(input, 0, p0);
  CHECK(out.watermarks == std::vector<int64_t>{5, 10, 15});
  CHECK(out.events == "rwrww");
  CHECK(metrics.currentInputWatermark.load() == 15);
  CHECK(metrics.numRecordsIn.load() == 2);
  CHECK(metrics.numBytesIn.load() == p0.metrics.numBytesOut.load() + p1.metrics.numBytesOut.load());
  CHECK_FALSE(input.finished());
}

TEST_CASE("NetworkInput: a finished channel stops holding the watermark back", "[watermarks][network-input]") {
  CollectingOutput<Reading> out;
  TaskMetrics metrics;
  NetworkInput<Reading> input(&out, 3, &metrics);
  Producer p0, p1, p2;

  p1.writer.emitWatermark(7);
  deliver(input, 1, p1);
  p2.writer.emitWatermark(30);
  deliver(input, 2, p2);
  CHECK(out.watermarks.empty());  // channel 0 is still at the minimum

  p0.writer.endInput();  // ends without a watermark
  CHECK_FALSE(deliver(input, 0, p0));
  CHECK(out.watermarks == std::vector<int64_t>{7});

  p1.writer.emitWatermark(12);
  p1.writer.endInput();
  CHECK_FALSE(deliver(input, 1, p1));
  CHECK(out.watermarks == std::vector<int64_t>{7, 12, 30});
  CHECK(out.endInputs == 0);
  CHECK_FALSE(input.finished());
}

TEST_CASE("NetworkInput calls endInput once - when every channel has ended", "[watermarks][network-input]") {
  CollectingOutput<Reading> out;
  TaskMetrics metrics;
  NetworkInput<Reading> input(&out, 2, &metrics);
  Producer p0, p1;

  p1.writer.collect(Reading{"x", 40, 1}, 40);
  p1.writer.emitWatermark(40);
  deliver(input, 1, p1);

  // What a bounded upstream task sends at its end.
  p0.writer.emitWatermark(kMaxWatermark);
  p0.writer.endInput();
  CHECK_FALSE(deliver(input, 0, p0));
  CHECK(out.watermarks == std::vector<int64_t>{40});
  CHECK(out.endInputs == 0);
  CHECK_FALSE(input.finished());

  p1.writer.collect(Reading{"y", 41, 2}, 41);
  p1.writer.emitWatermark(kMaxWatermark);
  p1.writer.endInput();
  CHECK(deliver(input, 1, p1));
  CHECK(input.finished());
  CHECK(out.endInputs == 1);
  CHECK(out.watermarks == std::vector<int64_t>{40, kMaxWatermark});
  CHECK(out.events == "rwrwe");
  CHECK(metrics.currentInputWatermark.load() == kMaxWatermark);
}

TEST_CASE("RecordWriter fills buffers with whole elements and broadcasts watermarks", "[watermarks][network-input]") {
  CaptureSink sink(2);
  TaskMetrics writerMetrics;
  // A tiny segment size: buffers are sent as soon as they reach 64 bytes.
  RecordWriter<Reading> writer(&sink, nullptr, 64, &writerMetrics);
  for (int i = 0; i < 50; ++i) writer.collect(Reading{"sensor-" + std::to_string(i), i, i * 0.5}, i);
  writer.emitWatermark(49);
  writer.endInput();
  CHECK(writerMetrics.numRecordsOut.load() == 50);

  for (int c = 0; c < 2; ++c) {
    INFO("channel " << c);
    REQUIRE(sink.channels[static_cast<size_t>(c)].size() > 2);
    CollectingOutput<Reading> out;
    TaskMetrics metrics;
    NetworkInput<Reading> input(&out, 1, &metrics);
    // Each buffer parses on its own: no element straddles two buffers.
    const auto& buffers = sink.channels[static_cast<size_t>(c)];
    for (size_t i = 0; i < buffers.size(); ++i) {
      CHECK(input.processBuffer(0, buffers[i].data(), buffers[i].size()) == (i + 1 == buffers.size()));
    }
    // Round-robin: every other record, in order.
    REQUIRE(out.records.size() == 25);
    for (size_t i = 1; i < out.records.size(); ++i) {
      CHECK(out.records[i].second == out.records[i - 1].second + 2);
    }
    CHECK(out.watermarks == std::vector<int64_t>{49});
    CHECK(out.endInputs == 1);
  }
}

TEST_CASE("NetworkInput rejects an unknown element tag", "[watermarks][network-input]") {
  CollectingOutput<Reading> out;
  TaskMetrics metrics;
  NetworkInput<Reading> input(&out, 1, &metrics);
  Buffer bad{0x7f};
  CHECK_THROWS_AS(input.processBuffer(0, bad.data(), bad.size()), SerializationError);
  Buffer truncated{kTagWatermark, 1, 2};
  CHECK_THROWS_AS(input.processBuffer(0, truncated.data(), truncated.size()), SerializationError);
}
