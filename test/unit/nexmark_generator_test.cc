// Tests of the Nexmark generator, source and job options (examples/jobs/nexmark/nexmark.h), and
// that the Nexmark example manifests load and build their jobs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "nexmark/nexmark.h"
#include "api/flink_deployment.h"
#include "flink/job.h"
#include "graph/job_graph.h"

using namespace flink;
using namespace flinkcpp::nexmark;

namespace {

GeneratorConfig smallConfig(int64_t numEvents) {
  GeneratorConfig c;
  c.numEvents = numEvents;
  c.tps = 1000;
  return c;
}

std::string csv(const Event& e) {
  std::string s;
  formatEventCsv(e, &s);
  return s;
}

struct Emitted {
  std::string row;
  int64_t timestamp;
  bool operator<(const Emitted& o) const { return std::tie(row, timestamp) < std::tie(o.row, o.timestamp); }
  bool operator==(const Emitted& o) const = default;
};

struct CollectingReaderOutput final : ReaderOutput<Event> {
  std::vector<Emitted> records;
  void collect(Event&& e, int64_t ts) override { records.push_back({csv(e), ts}); }
};

/// One source subtask driven directly: open, then pollNext until it returns kEndOfInput or
/// `maxRecords` records were emitted.
struct ReaderHarness {
  ReaderHarness(const GeneratorConfig& c, int subtask, int parallelism, const std::vector<Buffer>* restore = nullptr)
      : reader(NexmarkSource(c).createReader()) {
    ctx.subtaskIndex = subtask;
    ctx.parallelism = parallelism;
    ctx.metrics = &metrics;
    ctx.config = &config;
    if (restore) REQUIRE(reader->restoreState(*restore).ok());
    REQUIRE(reader->open(ctx).ok());
  }
  /// Returns true at the end of the input.
  bool poll(size_t maxRecords) {
    while (out.records.size() < maxRecords) {
      int n = static_cast<int>(std::min<size_t>(7, maxRecords - out.records.size()));
      if (reader->pollNext(out, n) == InputStatus::kEndOfInput) return true;
    }
    return false;
  }
  Buffer snapshot() {
    Buffer b;
    DataOutputView v(&b);
    reader->snapshotState(v);
    return b;
  }
  TaskMetrics metrics;
  Configuration config;
  RuntimeContext ctx;
  std::unique_ptr<SourceReader<Event>> reader;
  CollectingReaderOutput out;
};

std::vector<Emitted> sorted(std::vector<Emitted> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("Nexmark events follow the 1 to 3 to 46 mix by event number", "[nexmark]") {
  Generator g(smallConfig(0));
  Event e;
  std::map<int, int> counts;
  for (int64_t n = 0; n < 5000; ++n) {
    g.generate(n, e);
    int64_t rem = n % 50;
    int expected = rem < 1 ? Event::kPerson : rem < 4 ? Event::kAuction : Event::kBid;
    REQUIRE(e.type == expected);
    ++counts[e.type];
  }
  CHECK(counts[Event::kPerson] == 100);
  CHECK(counts[Event::kAuction] == 300);
  CHECK(counts[Event::kBid] == 4600);
}

TEST_CASE("Nexmark person and auction ids start at 1000 and grow by one per generated entity", "[nexmark]") {
  Generator g(smallConfig(0));
  Event e;
  int64_t nextPerson = 1000, nextAuction = 1000;
  for (int64_t n = 0; n < 20'000; ++n) {
    g.generate(n, e);
    if (e.isPerson()) {
      REQUIRE(e.person.id == nextPerson++);
    } else if (e.isAuction()) {
      REQUIRE(e.auction.id == nextAuction++);
      // Sellers are people generated so far, or a few "lead" ids ahead.
      REQUIRE(e.auction.seller >= 1000);
      REQUIRE(e.auction.seller < nextPerson + 10);
      REQUIRE(e.auction.category >= 10);
      REQUIRE(e.auction.category < 15);
      REQUIRE(e.auction.expires > e.auction.dateTime);
      REQUIRE(e.auction.reserve >= e.auction.initialBid);
    } else {
      // Bids go to the last numInFlightAuctions auctions (or a few lead ids ahead), or to the hot one.
      REQUIRE(e.bid.auction >= std::max<int64_t>(1000, nextAuction - 1 - 100));
      REQUIRE(e.bid.auction <= nextAuction - 1 + 10);
      REQUIRE(e.bid.bidder >= 1000);
      REQUIRE(e.bid.bidder < nextPerson + 10);
      REQUIRE(e.bid.price >= 100);
      REQUIRE(e.bid.price <= 100'000'000);
    }
  }
}

TEST_CASE("Nexmark hot auctions and hot bidders get their share of the bids", "[nexmark]") {
  Generator g(smallConfig(0));
  Event e;
  int bids = 0, hotAuction = 0, hotBidder = 0;
  for (int64_t n = 0; n < 200'000; ++n) {
    g.generate(n, e);
    if (!e.isBid()) continue;
    ++bids;
    int64_t lastAuction = lastBase0AuctionId(g.config(), n);
    int64_t lastPerson = lastBase0PersonId(g.config(), n);
    if (e.bid.auction == (lastAuction / 100) * 100 + 1000) ++hotAuction;
    if (e.bid.bidder == (lastPerson / 100) * 100 + 1 + 1000) ++hotBidder;
  }
  // P(hot auction) = 1 - 1/2 plus the chance that a random in-flight auction is the hot one;
  // P(hot bidder) = 1 - 1/4 plus the same kind of collision.
  CHECK(static_cast<double>(hotAuction) / bids == Approx(0.5).margin(0.03));
  CHECK(static_cast<double>(hotBidder) / bids == Approx(0.75).margin(0.03));
}

TEST_CASE("Nexmark event times advance by 1e6 / tps microseconds and about 10 percent are delayed up to 3 s", "[nexmark]") {
  GeneratorConfig c = smallConfig(0);
  c.tps = 4000;  // 250 us per event
  Generator g(c);
  Event e;
  int delayed = 0;
  const int n = 100'000;
  for (int64_t i = 0; i < n; ++i) {
    int64_t ts = g.generate(i, e);
    REQUIRE(ts == e.dateTime());
    int64_t undelayed = c.baseTime + (i * 250) / 1000;
    int64_t delay = undelayed - ts;
    REQUIRE(delay == g.delayMs(i));
    REQUIRE(delay >= 0);
    REQUIRE(delay <= 3000);
    if (delay > 0) ++delayed;
  }
  CHECK(static_cast<double>(delayed) / n == Approx(0.1).margin(0.01));

  c.probDelayedEvent = 0;
  Generator undelayedGen(c);
  Event u;
  for (int64_t i = 0; i < 1000; ++i) {
    CHECK(undelayedGen.generate(i, u) == c.baseTime + (i * 250) / 1000);
    g.generate(i, e);
    // The delay is drawn from its own stream: the content is the same.
    if (u.isBid()) CHECK(u.bid.price == e.bid.price);
  }
}

TEST_CASE("Nexmark prices are log-uniform from 1 to 1 M dollars in cents", "[nexmark]") {
  Generator g(smallConfig(0));
  Event e;
  int bids = 0, belowThousandDollars = 0, belowTenDollars = 0;
  int64_t lo = INT64_MAX, hi = 0;
  for (int64_t n = 0; n < 200'000; ++n) {
    g.generate(n, e);
    if (!e.isBid()) continue;
    ++bids;
    lo = std::min(lo, e.bid.price);
    hi = std::max(hi, e.bid.price);
    if (e.bid.price < 100'000) ++belowThousandDollars;  // 10^(6u) * 100 < 10^5 <=> u < 1/2
    if (e.bid.price < 1'000) ++belowTenDollars;          // u < 1/6
  }
  CHECK(lo >= 100);
  CHECK(lo < 110);
  CHECK(hi <= 100'000'000);
  CHECK(hi > 99'000'000);
  CHECK(static_cast<double>(belowThousandDollars) / bids == Approx(0.5).margin(0.01));
  CHECK(static_cast<double>(belowTenDollars) / bids == Approx(1.0 / 6).margin(0.01));
}

TEST_CASE("Nexmark events average the configured sizes", "[nexmark]") {
  Generator g(smallConfig(0));
  Event e;
  double bidBytes = 0, personBytes = 0, auctionBytes = 0;
  int bids = 0, people = 0, auctions = 0;
  for (int64_t n = 0; n < 50'000; ++n) {
    g.generate(n, e);
    if (e.isBid()) {
      bidBytes += 32 + e.bid.extra.size();
      ++bids;
    } else if (e.isPerson()) {
      const Person& p = e.person;
      personBytes += 8 + p.name.size() + p.emailAddress.size() + p.creditCard.size() + p.city.size() + p.state.size() +
                     p.extra.size();
      ++people;
    } else {
      const Auction& a = e.auction;
      auctionBytes += 8 + a.itemName.size() + a.description.size() + 40 + a.extra.size();
      ++auctions;
    }
  }
  CHECK(bidBytes / bids == Approx(100).margin(2));
  CHECK(personBytes / people == Approx(200).margin(5));
  CHECK(auctionBytes / auctions == Approx(500).margin(10));
}

TEST_CASE("Nexmark generation is a function of the seed and the event number", "[nexmark]") {
  Generator g(smallConfig(0));
  Event a, b;
  // Out of order and with a reused event: the same content.
  for (int64_t n : {7, 3, 1234, 0, 49, 50, 7}) {
    int64_t t1 = g.generate(n, a);
    Event fresh;
    int64_t t2 = g.generate(n, fresh);
    CHECK(t1 == t2);
    CHECK(csv(a) == csv(fresh));
  }
  GeneratorConfig other = smallConfig(0);
  other.seed = 42;
  Generator g2(other);
  int differ = 0;
  for (int64_t n = 0; n < 100; ++n) {
    g.generate(n, a);
    g2.generate(n, b);
    if (csv(a) != csv(b)) ++differ;
  }
  CHECK(differ > 90);
}

TEST_CASE("Nexmark source subtasks together emit exactly the events of one subtask", "[nexmark]") {
  GeneratorConfig c = smallConfig(2003);
  ReaderHarness one(c, 0, 1);
  REQUIRE(one.poll(100'000));
  REQUIRE(one.out.records.size() == 2003);
  for (int p : {2, 3}) {
    std::vector<Emitted> all;
    for (int s = 0; s < p; ++s) {
      ReaderHarness h(c, s, p);
      REQUIRE(h.poll(100'000));
      // Subtask s emits the event numbers s, s + p, ...: compare with the single subtask.
      for (size_t i = 0; i < h.out.records.size(); ++i) {
        REQUIRE(h.out.records[i] == one.out.records[static_cast<size_t>(s) + i * static_cast<size_t>(p)]);
      }
      all.insert(all.end(), h.out.records.begin(), h.out.records.end());
    }
    CHECK(sorted(all) == sorted(one.out.records));
  }
}

TEST_CASE("Nexmark source restores its position at another parallelism without loss or duplicates", "[nexmark]") {
  GeneratorConfig c = smallConfig(5000);
  ReaderHarness one(c, 0, 1);
  REQUIRE(one.poll(100'000));

  // Run 1 at parallelism 2: subtasks stop at different points and snapshot.
  std::vector<Emitted> emitted;
  std::vector<Buffer> states;
  size_t stopAt[] = {700, 1100};
  for (int s = 0; s < 2; ++s) {
    ReaderHarness h(c, s, 2);
    REQUIRE_FALSE(h.poll(stopAt[s]));
    emitted.insert(emitted.end(), h.out.records.begin(), h.out.records.end());
    states.push_back(h.snapshot());
  }
  // Run 2 at parallelism 3 from those states, snapshotting again midway.
  std::vector<Buffer> states2;
  for (int s = 0; s < 3; ++s) {
    ReaderHarness h(c, s, 3, &states);
    REQUIRE_FALSE(h.poll(300));
    emitted.insert(emitted.end(), h.out.records.begin(), h.out.records.end());
    states2.push_back(h.snapshot());
  }
  // Run 3 back at parallelism 2 from the second checkpoint, to the end.
  for (int s = 0; s < 2; ++s) {
    ReaderHarness h(c, s, 2, &states2);
    REQUIRE(h.poll(100'000));
    emitted.insert(emitted.end(), h.out.records.begin(), h.out.records.end());
  }
  REQUIRE(emitted.size() == one.out.records.size());
  CHECK(sorted(emitted) == sorted(one.out.records));
}

TEST_CASE("Nexmark rate-limited source emits no faster than tps", "[nexmark]") {
  GeneratorConfig c = smallConfig(1'000'000);
  c.tps = 2000;  // 2 events per ms
  c.rateLimited = true;
  ReaderHarness h(c, 0, 1);
  auto start = std::chrono::steady_clock::now();
  while (h.out.records.size() < 200) h.reader->pollNext(h.out, 64);
  double elapsedMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  // Event 199 is due 99.5 ms after the start.
  CHECK(elapsedMs >= 95);
}

TEST_CASE("Nexmark source throttled by records-per-second emits no faster", "[nexmark]") {
  GeneratorConfig c = smallConfig(1'000'000);
  c.recordsPerSecond = 5000;  // 5 per ms, whatever the event times
  ReaderHarness h(c, 0, 1);
  auto start = std::chrono::steady_clock::now();
  while (h.out.records.size() < 500) h.reader->pollNext(h.out, 64);
  double elapsedMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  CHECK(elapsedMs >= 95);
}

TEST_CASE("Nexmark events serialize as their type and valid member", "[nexmark]") {
  Generator g(smallConfig(0));
  for (int64_t n : {0, 1, 2, 3, 4, 10}) {
    Event e;
    g.generate(n, e);
    Buffer b;
    DataOutputView out(&b);
    TypeSerializer<Event>::serialize(e, out);
    Event back;
    DataInputView in(b.data(), b.size());
    TypeSerializer<Event>::deserialize(back, in);
    CHECK(in.atEnd());
    CHECK(back.sameAs(e));
    CHECK(csv(back) == csv(e));
  }
  Buffer bad;
  DataOutputView out(&bad);
  out.writePod<int32_t>(7);
  Event e;
  DataInputView in(bad.data(), bad.size());
  CHECK_THROWS_AS(TypeSerializer<Event>::deserialize(e, in), SerializationError);
}

TEST_CASE("Nexmark CSV rows have 24 columns and the bid columns of q0", "[nexmark]") {
  Generator g(smallConfig(0));
  for (int64_t n : {0, 1, 4}) {
    Event e;
    g.generate(n, e);
    std::string row = csv(e);
    CHECK(std::count(row.begin(), row.end(), ',') == 23);
    CHECK(row.find('"') == std::string::npos);
    CHECK(row.find('\n') == std::string::npos);
  }
  Bid b{1001, 2002, 345, 1436918400123, "xyz"};
  std::string line;
  formatBidCsv(b, &line);
  CHECK(line == "1001,2002,345,1436918400123,xyz");
}

TEST_CASE("Nexmark job options use Nexmark's names and reject unknown or bad values", "[nexmark]") {
  JobOptions o = parseJobOptions({"--events.num", "100000", "--tps=10000000", "--bid.proportion", "92",
                                  "--bid.avg-size", "120b", "--rate.limited", "true", "--base-time", "wallclock",
                                  "--output", "/tmp/x", "--watermark-delay", "5000", "--prob-delayed-event", "0"});
  CHECK(o.generator.numEvents == 100'000);
  CHECK(o.generator.tps == 10'000'000);
  CHECK(o.generator.bidProportion == 92);
  CHECK(o.generator.totalProportion() == 96);
  CHECK(o.generator.avgBidByteSize == 120);
  CHECK(o.generator.rateLimited);
  CHECK(o.generator.wallclockBaseTime);
  CHECK(o.generator.probDelayedEvent == 0);
  CHECK(o.output == "/tmp/x");
  CHECK(o.watermarkDelayMs == 5000);
  CHECK_THROWS_AS(parseJobOptions({"--events.number", "5"}), std::invalid_argument);
  CHECK_THROWS_AS(parseJobOptions({"--tps", "0"}), std::invalid_argument);
  CHECK_THROWS_AS(parseJobOptions({"--tps", "ten"}), std::invalid_argument);
  CHECK_THROWS_AS(parseJobOptions({"--prob-delayed-event", "1.5"}), std::invalid_argument);
  CHECK_THROWS_AS(parseJobOptions({"--events.num"}), std::invalid_argument);
  CHECK_THROWS_AS(parseJobOptions({"--auction.proportion", "0"}), std::invalid_argument);
}

TEST_CASE("Nexmark example manifests load and build their jobs", "[nexmark]") {
  const std::map<std::string, std::vector<std::string>> vertices = {
      {"q0", {"Source: nexmark -> Bids -> Sink: discard"}},
      {"q1", {"Source: nexmark -> Bids -> Dollars to euros -> Sink: discard"}},
      {"q2", {"Source: nexmark -> auction % 123 = 0 -> Project -> Sink: discard"}},
      {"q5",
       {"Source: nexmark -> Bids -> Auction", "AuctionBids(SlidingEventTimeWindows(10000, 2000)) -> LocalMax",
        "HotItems(TumblingEventTimeWindows(2000)) -> Sink: discard"}},
      {"q7",
       {"Source: nexmark -> Bids -> LocalMax -> Bid", "HighestBid(TumblingEventTimeWindows(10000)) -> Sink: discard"}},
      {"q3",
       {"Source: nexmark -> Persons in OR/ID/CA or auctions of category 10", "Persons -> Person", "Auctions -> Auction",
        "IncrementalJoin -> Sink: discard"}},
      {"q8",
       {"Source: nexmark -> Persons or auctions", "Persons -> Person", "Auctions -> Seller",
        "NewSellers(TumblingEventTimeWindows(10000)) -> Sink: discard"}},
      {"q11", {"Source: nexmark -> Bids -> Bidder", "UserSessions(EventTimeSessionWindows(10000)) -> Sink: discard"}},
      {"generate", {"Source: nexmark -> Sink: csv"}},
  };
  for (const auto& [name, expected] : vertices) {
    INFO(name);
    auto fd = k8s::loadFlinkDeployment(std::string(FLINK_SOURCE_DIR) + "/examples/nexmark/" + name + ".yaml");
    INFO(fd.status().message());
    REQUIRE(fd.ok());
    REQUIRE(fd->spec.job);
    CHECK(fd->spec.job->parallelism == (name == "generate" ? 1 : 2));
    JobSpec spec{fd->spec.job->jarURI, fd->spec.job->entryClass, fd->spec.job->args};
    auto env = buildJob(spec, Configuration());
    INFO(env.status().message());
    REQUIRE(env.ok());
    auto jg = buildJobGraph((*env)->streamGraph(), 2, 128);
    REQUIRE(jg.ok());
    std::vector<std::string> names;
    for (const auto& v : jg->vertices) names.push_back(v.name);
    CHECK(names == expected);
  }
}
