// Tests of key groups (assignToKeyGroup / operatorIndexForKeyGroup / keyGroupRange), the stable
// key hash, hash partitioning by the API's record writers, and TypeSerializer round trips.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "collecting_output.h"

#include "flink/datastream.h"
#include "flink/operators/stream_operator.h"
#include "flink/serialization.h"

using namespace flink;

namespace {

const std::vector<std::pair<int, int>> kParallelisms = {  // (parallelism, maxParallelism)
    {1, 1}, {1, 128}, {2, 128}, {3, 128}, {7, 128}, {127, 128}, {128, 128}, {5, 7}, {10, 32768}, {3, 100}};

template <class T>
std::vector<uint8_t> serialize(const T& v) {
  std::vector<uint8_t> buf;
  DataOutputView out(&buf);
  TypeSerializer<T>::serialize(v, out);
  return buf;
}

template <class T>
T deserialize(const std::vector<uint8_t>& buf, size_t size) {
  DataInputView in(buf.data(), size);
  T v{};
  TypeSerializer<T>::deserialize(v, in);
  return v;
}

/// Serializes, checks the bytes are consumed exactly, and deserializes.
template <class T>
T roundTrip(const T& v) {
  auto buf = serialize(v);
  DataInputView in(buf.data(), buf.size());
  T copy{};
  TypeSerializer<T>::deserialize(copy, in);
  CHECK(in.atEnd());
  return copy;
}

/// Every strict prefix of the encoding of `v` must be rejected as truncated.
template <class T>
void checkTruncationsThrow(const T& v) {
  auto buf = serialize(v);
  REQUIRE(!buf.empty());
  for (size_t n = 0; n < buf.size(); ++n) {
    INFO("prefix of " << n << " of " << buf.size() << " bytes");
    CHECK_THROWS_AS(deserialize<T>(buf, n), SerializationError);
  }
}

enum class Color : uint8_t { kRed = 1, kGreen = 2, kBlue = 200 };

struct Inner {
  std::string name;
  std::optional<int32_t> weight;
  auto fields() { return std::tie(name, weight); }
  auto fields() const { return std::tie(name, weight); }
  bool operator==(const Inner& o) const { return name == o.name && weight == o.weight; }
};

struct Flight {
  int64_t time = 0;
  std::string origin;
  int32_t delay = 0;
  double distance = 0;
  bool cancelled = false;
  Color color = Color::kRed;
  std::vector<Inner> legs;
  std::pair<std::string, uint16_t> gate;
  auto fields() { return std::tie(time, origin, delay, distance, cancelled, color, legs, gate); }
  auto fields() const { return std::tie(time, origin, delay, distance, cancelled, color, legs, gate); }
  bool operator==(const Flight& o) const { return fields() == o.fields(); }
};

Flight sampleFlight() {
  Flight f;
  f.time = -1'234'567'890'123;
  f.origin = "SFO";
  f.delay = -7;
  f.distance = 2586.5;
  f.cancelled = true;
  f.color = Color::kBlue;
  f.legs = {{"first", 3}, {"", std::nullopt}, {std::string("n\0ul", 4), -1}};
  f.gate = {"G12", 65535};
  return f;
}

struct CaptureSink final : BufferSink {
  explicit CaptureSink(int n) : channels(static_cast<size_t>(n)) {}
  int numChannels() const override { return static_cast<int>(channels.size()); }
  void send(int channel, Buffer&& buffer) override { channels.at(static_cast<size_t>(channel)).push_back(std::move(buffer)); }
  std::vector<std::vector<Buffer>> channels;
};

class CountAggregate final : public AggregateFunction<std::pair<std::string, int32_t>, int, int> {
 public:
  int createAccumulator() const override { return 0; }
  void add(const std::pair<std::string, int32_t>&, int& acc) const override { ++acc; }
  int getResult(const int& acc) const override { return acc; }
  int merge(const int& a, const int& b) const override { return a + b; }
};

template <class T>
using CollectingOutput = flink::testing::CollectingOutput<T>;

}  // namespace

// ---- Key groups -----------------------------------------------------------------------------------

TEST_CASE("Every key group maps to exactly one subtask - inside that subtask's range", "[keygroups]") {
  for (auto [parallelism, maxParallelism] : kParallelisms) {
    INFO("parallelism " << parallelism << ", max parallelism " << maxParallelism);
    std::vector<int> owner(static_cast<size_t>(maxParallelism), -1);
    for (int g = 0; g < maxParallelism; ++g) {
      int idx = operatorIndexForKeyGroup(g, maxParallelism, parallelism);
      REQUIRE(idx >= 0);
      REQUIRE(idx < parallelism);
      auto [first, last] = keyGroupRange(idx, maxParallelism, parallelism);
      INFO("key group " << g << " -> subtask " << idx << " with range [" << first << ", " << last << "]");
      REQUIRE(first <= g);
      REQUIRE(g <= last);
      owner[static_cast<size_t>(g)] = idx;
    }
    // The ranges are non-empty, contiguous, ascending and cover [0, maxParallelism) exactly once.
    int expectedFirst = 0;
    for (int i = 0; i < parallelism; ++i) {
      auto [first, last] = keyGroupRange(i, maxParallelism, parallelism);
      INFO("subtask " << i << " range [" << first << ", " << last << "]");
      REQUIRE(first == expectedFirst);
      REQUIRE(last >= first);
      for (int g = first; g <= last; ++g) REQUIRE(owner[static_cast<size_t>(g)] == i);
      expectedFirst = last + 1;
    }
    REQUIRE(expectedFirst == maxParallelism);
  }
}

TEST_CASE("Key group ranges match Flink's KeyGroupRangeAssignment", "[keygroups]") {
  // Flink: parallelism 3, max parallelism 128 -> [0,42], [43,85], [86,127].
  CHECK(keyGroupRange(0, 128, 3) == std::pair<int, int>{0, 42});
  CHECK(keyGroupRange(1, 128, 3) == std::pair<int, int>{43, 85});
  CHECK(keyGroupRange(2, 128, 3) == std::pair<int, int>{86, 127});
  CHECK(operatorIndexForKeyGroup(42, 128, 3) == 0);
  CHECK(operatorIndexForKeyGroup(43, 128, 3) == 1);
  CHECK(operatorIndexForKeyGroup(127, 128, 3) == 2);
}

TEST_CASE("assignToKeyGroup stays between 0 and maxParallelism - 1", "[keygroups]") {
  for (int maxParallelism : {1, 2, 7, 128, 32768}) {
    for (uint32_t h : {0u, 1u, 0x7fffffffu, 0x80000000u, 0xffffffffu, 0x12345678u}) {
      int g = assignToKeyGroup(h, maxParallelism);
      CHECK(g >= 0);
      CHECK(g < maxParallelism);
    }
  }
  CHECK(assignToKeyGroup(0x248bfa47u, 128) == static_cast<int>(murmurMix(0x248bfa47u) % 128));
}

// ---- Stable hashing -----------------------------------------------------------------------------

TEST_CASE("murmur3_32 matches the MurmurHash3_x86_32 reference", "[keygroups][hash]") {
  CHECK(murmur3_32("", 0) == 0u);
  CHECK(murmur3_32("", 0, 1) == 0x514E28B7u);
  CHECK(murmur3_32("", 0, 0xffffffffu) == 0x81F16F39u);
  const uint8_t zeros[4] = {0, 0, 0, 0};
  CHECK(murmur3_32(zeros, 4, 0) == 0x2362F9DEu);
  CHECK(murmur3_32("hello", 5, 0) == 0x248bfa47u);
  CHECK(murmur3_32("a", 1, 0x9747b28cu) == 0x7FA09EA6u);
  CHECK(murmur3_32("abc", 3, 0x9747b28cu) == 0xC84A62DDu);
  CHECK(murmur3_32("abcd", 4, 0x9747b28cu) == 0xF0478627u);
  CHECK(murmur3_32("aaaa", 4, 0x9747b28cu) == 0x5A97808Au);
  CHECK(murmur3_32("Hello, world!", 13, 0x9747b28cu) == 0x24884CBAu);
  const std::string fox = "The quick brown fox jumps over the lazy dog";
  CHECK(murmur3_32(fox.data(), fox.size(), 0x9747b28cu) == 0x2FA826CDu);
  CHECK(murmur3_32(fox.data(), fox.size(), 0) == 0x2E4FF723u);
}

TEST_CASE("KeyHash<std::string> is murmur3_32 with seed 0", "[keygroups][hash]") {
  CHECK(KeyHash<std::string>()("") == 0u);
  CHECK(KeyHash<std::string>()("hello") == 0x248bfa47u);
  const std::string fox = "The quick brown fox jumps over the lazy dog";
  CHECK(KeyHash<std::string>()(fox) == 0x2E4FF723u);
  // Depends on the bytes only, not on the string object.
  std::string a = "JFK", b = std::string("xJFK").substr(1);
  CHECK(KeyHash<std::string>()(a) == KeyHash<std::string>()(b));
}

TEST_CASE("KeyHash of integers and tuples is deterministic", "[keygroups][hash]") {
  CHECK(KeyHash<int64_t>()(0) == 0u);
  CHECK(KeyHash<int64_t>()(42) == 42u);
  CHECK(KeyHash<int64_t>()(int64_t{1} << 32) == 1u);  // as Java's Long.hashCode
  CHECK(KeyHash<int32_t>()(7) == 7u);
  using Key = std::tuple<std::string, int32_t>;
  Key k{"hello", 3};
  CHECK(KeyHash<Key>()(k) == (17u * 31u + 0x248bfa47u) * 31u + 3u);
  std::pair<std::string, int32_t> p{"hello", 3};
  CHECK(KeyHash<std::pair<std::string, int32_t>>()(p) == 0x248bfa47u * 31u + 3u);
}

TEST_CASE("String keys spread over all subtasks", "[keygroups][hash]") {
  for (auto [parallelism, maxParallelism] : std::vector<std::pair<int, int>>{{2, 128}, {4, 128}, {8, 128}, {3, 7}}) {
    INFO("parallelism " << parallelism << ", max parallelism " << maxParallelism);
    const int numKeys = 2000;
    std::vector<int> perSubtask(static_cast<size_t>(parallelism), 0);
    std::set<int> groups;
    for (int i = 0; i < numKeys; ++i) {
      std::string key = "key-" + std::to_string(i);
      int g = assignToKeyGroup(KeyHash<std::string>()(key), maxParallelism);
      groups.insert(g);
      ++perSubtask[static_cast<size_t>(operatorIndexForKeyGroup(g, maxParallelism, parallelism))];
    }
    CHECK(static_cast<int>(groups.size()) == maxParallelism);  // every key group is used
    for (int i = 0; i < parallelism; ++i) {
      // A subtask's fair share is proportional to the number of key groups it owns.
      auto [first, last] = keyGroupRange(i, maxParallelism, parallelism);
      int fair = numKeys * (last - first + 1) / maxParallelism;
      INFO("subtask " << i << " got " << perSubtask[static_cast<size_t>(i)] << " keys, fair share " << fair);
      CHECK(perSubtask[static_cast<size_t>(i)] > fair * 3 / 4);
      CHECK(perSubtask[static_cast<size_t>(i)] < fair * 5 / 4);
    }
  }
}

TEST_CASE("A keyBy record writer routes each key to the subtask owning its key group", "[keygroups]") {
  using Rec = std::pair<std::string, int32_t>;
  StreamExecutionEnvironment env;
  env.fromCollection<Rec>({}, "records")
      .keyBy([](const Rec& r) { return r.first; })
      .window(TumblingEventTimeWindows::of(10))
      .aggregate<Rec>(std::make_shared<const CountAggregate>(),
                      [](const std::string& k, const TimeWindow&, int&& n, Collector<Rec>& out) {
                        out.collect(Rec{k, n});
                      });
  const StreamGraph& g = env.streamGraph();
  REQUIRE(g.edges.size() == 1);
  REQUIRE(g.edges[0].partitioning == Partitioning::kHash);

  const int parallelism = 3, maxParallelism = 128;
  CaptureSink sink(parallelism);
  TaskMetrics metrics;
  auto writer = g.nodes[0].createWriter({WriterTarget{&sink, &g.edges[0]}}, maxParallelism, 1 << 20, &metrics);
  auto* out = static_cast<Output<Rec>*>(writer->output());
  for (int i = 0; i < 300; ++i) out->collect(Rec{"k" + std::to_string(i % 60), i}, i);
  out->endInput();

  std::map<std::string, int> subtaskOfKey;
  int total = 0;
  for (int c = 0; c < parallelism; ++c) {
    CollectingOutput<Rec> received;
    TaskMetrics m;
    NetworkInput<Rec> input(&received, 1, &m);
    for (const auto& b : sink.channels[static_cast<size_t>(c)]) input.processBuffer(0, b.data(), b.size());
    CHECK_FALSE(received.records.empty());
    auto [first, last] = keyGroupRange(c, maxParallelism, parallelism);
    for (const auto& [r, ts] : received.records) {
      int kg = assignToKeyGroup(KeyHash<std::string>()(r.first), maxParallelism);
      INFO("key " << r.first << " key group " << kg << " on subtask " << c);
      CHECK(kg >= first);
      CHECK(kg <= last);
      auto [it, inserted] = subtaskOfKey.emplace(r.first, c);
      CHECK(it->second == c);
      ++total;
    }
  }
  CHECK(total == 300);
  CHECK(subtaskOfKey.size() == 60);
}

// ---- Serialization --------------------------------------------------------------------------------

TEST_CASE("TypeSerializer round-trips arithmetic types and enums", "[serialization]") {
  CHECK(roundTrip<int8_t>(-128) == -128);
  CHECK(roundTrip<uint8_t>(255) == 255);
  CHECK(roundTrip<int16_t>(-32768) == -32768);
  CHECK(roundTrip<int32_t>(INT32_MIN) == INT32_MIN);
  CHECK(roundTrip<uint32_t>(0xdeadbeefu) == 0xdeadbeefu);
  CHECK(roundTrip<int64_t>(INT64_MIN) == INT64_MIN);
  CHECK(roundTrip<uint64_t>(UINT64_MAX) == UINT64_MAX);
  CHECK(roundTrip<double>(-0.1) == -0.1);
  CHECK(roundTrip<float>(3.25f) == 3.25f);
  CHECK(roundTrip<bool>(true));
  CHECK(roundTrip<char>('z') == 'z');
  CHECK(roundTrip<Color>(Color::kBlue) == Color::kBlue);
  CHECK(serialize<int32_t>(0x01020304) == std::vector<uint8_t>{4, 3, 2, 1});  // little-endian
}

TEST_CASE("TypeSerializer round-trips strings as u32 length + bytes", "[serialization]") {
  CHECK(serialize<std::string>("ab") == std::vector<uint8_t>{2, 0, 0, 0, 'a', 'b'});
  CHECK(roundTrip<std::string>("") == "");
  std::string withNul("a\0b\xff", 4);
  CHECK(roundTrip(withNul) == withNul);
  std::string big(100'000, 'x');
  big[54'321] = 'y';
  CHECK(roundTrip(big) == big);
}

TEST_CASE("TypeSerializer round-trips pairs - tuples - vectors and optionals", "[serialization]") {
  std::pair<std::string, int64_t> p{"SFO", -5};
  CHECK(roundTrip(p) == p);
  std::tuple<int32_t, std::string, double, bool> t{7, "x", 1.5, false};
  CHECK(roundTrip(t) == t);
  std::vector<std::vector<std::string>> vv{{}, {"a"}, {"b", "", "c"}};
  CHECK(roundTrip(vv) == vv);
  CHECK(roundTrip(std::vector<int32_t>{}).empty());
  CHECK(roundTrip(std::optional<int32_t>{}) == std::nullopt);
  CHECK(roundTrip(std::optional<int32_t>{0}) == std::optional<int32_t>{0});
  CHECK(roundTrip(std::optional<std::string>{"v"}) == std::optional<std::string>{"v"});
  std::vector<std::optional<std::pair<int8_t, std::string>>> mixed{std::nullopt, std::make_pair(int8_t{-1}, "z")};
  CHECK(roundTrip(mixed) == mixed);
  // Deserializing into a non-empty value replaces it.
  auto buf = serialize(std::optional<int32_t>{});
  DataInputView in(buf.data(), buf.size());
  std::optional<int32_t> target = 5;
  TypeSerializer<std::optional<int32_t>>::deserialize(target, in);
  CHECK_FALSE(target.has_value());
}

TEST_CASE("TypeSerializer round-trips a struct with fields()", "[serialization]") {
  Flight f = sampleFlight();
  CHECK(roundTrip(f) == f);
  Flight empty;
  CHECK(roundTrip(empty) == empty);
}

TEST_CASE("Truncated input throws SerializationError", "[serialization]") {
  checkTruncationsThrow<int64_t>(42);
  checkTruncationsThrow<std::string>("truncated");
  checkTruncationsThrow(std::vector<std::string>{"a", "bc", ""});
  checkTruncationsThrow(std::tuple<int32_t, std::string>{1, "two"});
  checkTruncationsThrow(std::optional<std::string>{"x"});
  checkTruncationsThrow(sampleFlight());

  // A string whose length prefix claims more bytes than there are.
  std::vector<uint8_t> lying{10, 0, 0, 0, 'a', 'b'};
  CHECK_THROWS_AS(deserialize<std::string>(lying, lying.size()), SerializationError);
}
