// Tests of buildJobGraph: operator chaining, partitioning of the edges between vertices,
// stable vertex ids, and the errors for unsupported shapes.
#include <cctype>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "flink/configuration.h"
#include "flink/connectors.h"
#include "flink/datastream.h"
#include "flink/job.h"
#include "graph/job_graph.h"

using namespace flink;

namespace {

struct Flight {
  int64_t time = 0;
  std::string origin;
  int32_t delay = 0;
  auto fields() { return std::tie(time, origin, delay); }
  auto fields() const { return std::tie(time, origin, delay); }
};

using KeyedDelay = std::pair<std::string, int32_t>;

class DelaySum final : public AggregateFunction<KeyedDelay, int64_t, int64_t> {
 public:
  int64_t createAccumulator() const override { return 0; }
  void add(const KeyedDelay& v, int64_t& acc) const override { acc += v.second; }
  int64_t getResult(const int64_t& acc) const override { return acc; }
  int64_t merge(const int64_t& a, const int64_t& b) const override { return a + b; }
};

/// A sink that discards its input (building the graph never creates writers).
template <class T>
class NullSink final : public Sink<T> {
 public:
  std::unique_ptr<SinkWriter<T>> createWriter() const override { return nullptr; }
};

/// source -> map -> keyBy/window -> sink, as the flight-delay job.
void flightDelaysLike(StreamExecutionEnvironment& env) {
  auto strategy = WatermarkStrategy<Flight>::forMonotonousTimestamps().withTimestampAssigner(
      [](const Flight& f, int64_t) { return f.time; });
  env.fromSource<Flight>(std::make_shared<detail::CollectionSource<Flight>>(std::vector<Flight>{}), strategy,
                         "flights")
      .map([](const Flight& f) { return KeyedDelay{f.origin, f.delay}; })
      .keyBy([](const KeyedDelay& d) { return d.first; })
      .window(TumblingEventTimeWindows::of(3'600'000))
      .aggregate<std::string>(std::make_shared<const DelaySum>(),
                              [](const std::string& k, const TimeWindow&, int64_t&& sum, Collector<std::string>& out) {
                                out.collect(k + "," + std::to_string(sum));
                              })
      .sinkTo(std::make_shared<NullSink<std::string>>(), "delays");
  env.execute("flight-delays-like");
}

JobGraph build(const StreamGraph& g, int parallelism = 2, int maxParallelism = 128) {
  auto jg = buildJobGraph(g, parallelism, maxParallelism);
  INFO(jg.status().message());
  REQUIRE(jg.ok());
  return *jg;
}

bool isHexId(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("The flight-delays pipeline chains into two vertices joined by a hash edge", "[job-graph]") {
  StreamExecutionEnvironment env;
  flightDelaysLike(env);
  JobGraph jg = build(env.streamGraph(), 2);

  CHECK(jg.jobName == "flight-delays-like");
  REQUIRE(jg.vertices.size() == 2);
  const JobVertex& source = jg.vertices[0];
  const JobVertex& window = jg.vertices[1];
  CHECK(source.name == "Source: flights -> Map");
  CHECK(window.name == "Window(TumblingEventTimeWindows(3600000)) -> Sink: delays");
  CHECK(source.chain == std::vector<int>{0, 1});
  CHECK(window.chain == std::vector<int>{2, 3});
  CHECK(source.isSource());
  CHECK_FALSE(window.isSource());
  CHECK(source.parallelism == 2);
  CHECK(window.parallelism == 2);
  CHECK(source.maxParallelism == 128);

  REQUIRE(jg.edges.size() == 1);
  const JobEdge& edge = jg.edges[0];
  CHECK(edge.sourceVertex == 0);
  CHECK(edge.targetVertex == 1);
  CHECK(edge.partitioning == Partitioning::kHash);
  CHECK(source.outputs == std::vector<int>{0});
  CHECK(window.inputs == std::vector<int>{0});
  CHECK(source.inputs.empty());
  CHECK(window.isSink());
  CHECK(env.streamGraph().edges[static_cast<size_t>(edge.streamEdge)].source == 1);
  CHECK(env.streamGraph().edges[static_cast<size_t>(edge.streamEdge)].target == 2);
  CHECK(jg.requiredSlots() == 2);
}

TEST_CASE("The registered flight-delay job builds the same two-vertex graph", "[job-graph]") {
  JobSpec spec{"builtin://flink-cpp", "flinkcpp.examples.FlightDelays",
               {"--input", "/nonexistent/flights.csv", "--output", "/nonexistent/out", "--window", "15 min"}};
  Configuration conf;
  conf.set(options::kParallelismDefault, "3");
  auto env = buildJob(spec, conf);
  INFO(env.status().message());
  REQUIRE(env.ok());
  JobGraph jg = build((*env)->streamGraph(), 3);
  REQUIRE(jg.vertices.size() == 2);
  CHECK(jg.vertices[0].name == "Source: flights -> Project");
  CHECK(jg.vertices[1].name == "DelayStats(TumblingEventTimeWindows(900000)) -> Sink: part files");
  CHECK(jg.vertices[0].parallelism == 3);
  REQUIRE(jg.edges.size() == 1);
  CHECK(jg.edges[0].partitioning == Partitioning::kHash);
}

TEST_CASE("A forward edge between different parallelisms becomes an unchained rebalance", "[job-graph]") {
  StreamExecutionEnvironment env;
  env.fromCollection<int>({1, 2, 3}, "numbers")
      .map([](const int& x) { return x * 2; }, "Double")
      .setParallelism(3)
      .filter([](const int& x) { return x > 2; })
      .sinkTo(std::make_shared<NullSink<int>>(), "out");
  env.execute("rescale");
  JobGraph jg = build(env.streamGraph(), 2);

  // Every operator without an explicit parallelism gets the default one (2), as in Flink.
  REQUIRE(jg.vertices.size() == 3);
  CHECK(jg.vertices[0].name == "Source: numbers");
  CHECK(jg.vertices[0].parallelism == 2);
  CHECK(jg.vertices[1].name == "Double");
  CHECK(jg.vertices[1].parallelism == 3);
  CHECK(jg.vertices[2].name == "Filter -> Sink: out");
  CHECK(jg.vertices[2].parallelism == 2);
  REQUIRE(jg.edges.size() == 2);
  CHECK(jg.edges[0].sourceVertex == 0);
  CHECK(jg.edges[0].targetVertex == 1);
  CHECK(jg.edges[0].partitioning == Partitioning::kRebalance);
  CHECK(jg.edges[1].sourceVertex == 1);
  CHECK(jg.edges[1].targetVertex == 2);
  CHECK(jg.edges[1].partitioning == Partitioning::kRebalance);
  // The StreamGraph edges themselves stay forward.
  for (const auto& e : env.streamGraph().edges) CHECK(e.partitioning == Partitioning::kForward);
  CHECK(jg.requiredSlots() == 3);
}

TEST_CASE("An explicit rebalance is not chained even with equal parallelism", "[job-graph]") {
  StreamExecutionEnvironment env;
  env.fromCollection<int>({1}, "numbers").rebalance().map([](const int& x) { return x + 1; }).sinkTo(
      std::make_shared<NullSink<int>>());
  env.execute("rebalance");
  JobGraph jg = build(env.streamGraph(), 2);
  REQUIRE(jg.vertices.size() == 2);
  CHECK(jg.vertices[0].name == "Source: numbers");
  CHECK(jg.vertices[1].name == "Map -> Sink: Sink");
  REQUIRE(jg.edges.size() == 1);
  CHECK(jg.edges[0].partitioning == Partitioning::kRebalance);
}

TEST_CASE("A stream consumed twice fans out to two vertices", "[job-graph][dag]") {
  StreamExecutionEnvironment env;
  auto parsed = env.fromCollection<int>({1, 2}, "numbers").map([](const int& x) { return x; }, "Parse");
  parsed.sinkTo(std::make_shared<NullSink<int>>(), "first");
  parsed.sinkTo(std::make_shared<NullSink<int>>(), "second");
  env.execute("twice");
  JobGraph jg = build(env.streamGraph(), 2);
  // Consumers of a fanned-out stream are not chained to it.
  REQUIRE(jg.vertices.size() == 3);
  CHECK(jg.vertices[0].name == "Source: numbers -> Parse");
  CHECK(jg.vertices[1].name == "Sink: first");
  CHECK(jg.vertices[2].name == "Sink: second");
  CHECK(jg.vertices[0].outputs == std::vector<int>{0, 1});
  CHECK(jg.vertices[1].inputs == std::vector<int>{0});
  CHECK(jg.vertices[2].inputs == std::vector<int>{1});
  for (const JobEdge& e : jg.edges) CHECK(e.partitioning == Partitioning::kForward);
  CHECK(jg.numInputChannels(1) == 1);
  CHECK(jg.requiredSlots() == 2);
}

TEST_CASE("Vertex ids are 32 hex chars - distinct - and stable across builds", "[job-graph]") {
  StreamExecutionEnvironment env1, env2;
  flightDelaysLike(env1);
  flightDelaysLike(env2);
  JobGraph a = build(env1.streamGraph(), 2);
  JobGraph b = build(env2.streamGraph(), 2);
  JobGraph c = build(env1.streamGraph(), 4);  // parallelism does not change the ids
  REQUIRE(a.vertices.size() == 2);
  REQUIRE(b.vertices.size() == 2);
  std::set<std::string> ids;
  for (size_t i = 0; i < a.vertices.size(); ++i) {
    INFO("vertex " << i << " id " << a.vertices[i].id);
    CHECK(isHexId(a.vertices[i].id));
    CHECK(a.vertices[i].id == b.vertices[i].id);
    CHECK(a.vertices[i].id == c.vertices[i].id);
    ids.insert(a.vertices[i].id);
    REQUIRE(a.vertices[i].operatorIds.size() == a.vertices[i].chain.size());
    for (size_t k = 0; k < a.vertices[i].operatorIds.size(); ++k) {
      CHECK(isHexId(a.vertices[i].operatorIds[k]));
      CHECK(a.vertices[i].operatorIds[k] == b.vertices[i].operatorIds[k]);
      ids.insert(a.vertices[i].operatorIds[k]);
    }
  }
  CHECK(ids.size() == 2 + 4);  // two vertex ids and four operator ids, all distinct

  // A uid on an operator changes the id of its vertex only.
  StreamExecutionEnvironment env3;
  flightDelaysLike(env3);
  env3.streamGraph().nodes[2].uid = "delay-window";
  JobGraph d = build(env3.streamGraph(), 2);
  CHECK(d.vertices[0].id == a.vertices[0].id);
  CHECK(d.vertices[1].id != a.vertices[1].id);
  CHECK(isHexId(d.vertices[1].id));
}

TEST_CASE("Parallelism above the max parallelism is an error", "[job-graph]") {
  StreamExecutionEnvironment env;
  flightDelaysLike(env);
  auto tooWide = buildJobGraph(env.streamGraph(), 129, 128);
  REQUIRE_FALSE(tooWide.ok());
  CHECK_THAT(tooWide.status().message(),
             Catch::Contains("129") && Catch::Contains(options::kMaxParallelism) && Catch::Contains("128"));

  StreamExecutionEnvironment env2;
  env2.fromCollection<int>({1}, "numbers").map([](const int& x) { return x; }, "Wide").setParallelism(9).sinkTo(
      std::make_shared<NullSink<int>>());
  env2.execute("wide");
  auto wideOp = buildJobGraph(env2.streamGraph(), 1, 8);
  REQUIRE_FALSE(wideOp.ok());
  CHECK_THAT(wideOp.status().message(), Catch::Contains("'Wide'") && Catch::Contains("9"));
  CHECK(buildJobGraph(env2.streamGraph(), 1, 9).ok());

  CHECK_FALSE(buildJobGraph(env2.streamGraph(), 0, 128).ok());
  CHECK_FALSE(buildJobGraph(env2.streamGraph(), 1, 0).ok());
}
