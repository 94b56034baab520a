// Nexmark queries as DataStream jobs, with the semantics of the Flink Nexmark SQL queries
// (https://github.com/nexmark/nexmark/tree/master/nexmark-flink/src/main/resources/queries).
// Every job takes the arguments of parseJobOptions (generator options, --output DIR for CSV
// part files, otherwise a DiscardingSink). Output rows (CSV):
//
//   flinkcpp.nexmark.Q0  pass-through of the bids:       auction,bidder,price,dateTime,extra
//   flinkcpp.nexmark.Q1  currency conversion:            auction,bidder,price*0.908,dateTime,extra
//                        (price * 0.908 exactly, as Flink's DECIMAL(23, 3): three decimals)
//   flinkcpp.nexmark.Q2  selection, auction % 123 == 0:  auction,price
//   flinkcpp.nexmark.Q5  hot items: per 10 s window sliding by 2 s, the auction(s) with the
//                        most bids:                      window_start,window_end,auction,num
//                        (Flink's q5 projects away the window bounds; kept here for checking)
//   flinkcpp.nexmark.Q7  highest bid: per 10 s tumbling window, the bid(s) with the highest
//                        price:                          auction,bidder,price,dateTime,extra
//   flinkcpp.nexmark.Q3  local item suggestion: auctions of category 10 joined with their
//                        sellers in OR, ID or CA:        name,city,state,id
//   flinkcpp.nexmark.Q8  new users who opened an auction in the 10 s tumbling window in which
//                        they registered:               id,name,starttime
//   flinkcpp.nexmark.Q11 user sessions: bids per bidder and session (10 s gap):
//                                                        bidder,bid_count,starttime,endtime
//
// Times are ms since the epoch. Plans:
//
// Q5: bids -> auction -> keyBy(auction) -> SlidingEventTimeWindows(10 s, 2 s) count ->
//     (auction, count, window) with timestamp window end - 1 -> chained local max filter ->
//     keyBy(window end) -> TumblingEventTimeWindows(2 s) keeping the max count and the auctions
//     having it. A window's counts carry the timestamp end - 1 and leave the first window
//     operator before the watermark that fired it, so the second stage puts all counts of one
//     sliding window (one key) into one pane of its 2 s tumbling windows, which fires on the
//     next watermark. The local max filter (a combiner, as Flink's local-global aggregation)
//     forwards a count only if it is at least the largest count already forwarded for the
//     same window by this subtask: a smaller count cannot be the window's maximum.
// Q7: bids -> chained local max filter (per 10 s window: forward a bid only if its price is at
//     least the highest price this subtask forwarded for that window) -> keyBy(window start)
//     -> TumblingEventTimeWindows(10 s) keeping the max price and the bids having it. The
//     filter is exact: a dropped bid is below a bid of the same window that went ahead of it
//     on the same channel, so the dropped bid is neither the maximum nor (if that one was
//     late) on time. Flink's q7 joins every bid with the window maxima instead, and its
//     BETWEEN also matches a bid at exactly window_end; here a bid belongs to [start, end).
// Q3 and Q8 join people with auctions. Both come from the one Nexmark source (as in Flink's
// Nexmark, where the person, auction and bid views select from one datagen table), fanned out
// into a persons branch and an auctions branch, joined by a two-input operator keyed by person
// id / seller:
// Q3: people in OR, ID or CA, auctions of category 10 -> connect -> keyBy(id, seller) ->
//     IncrementalJoin, a KeyedCoProcessFunction keeping each person and the auctions that
//     arrived before their seller (a regular join: state is never dropped, as in Flink's q3).
// Q8: people, auction sellers -> coGroup where(id) equalTo(seller) in 10 s tumbling windows ->
//     each person of a window in which they also sold something (Flink's q8 joins the
//     windowed people with the windowed sellers; a coGroup emits one row per person and window
//     where a pairwise window join would emit one per auction).
// Q11: bids -> bidder -> keyBy(bidder) -> EventTimeSessionWindows(10 s) count.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "flink/connected_streams.h"
#include "flink/job.h"
#include "nexmark/nexmark.h"

namespace flinkcpp::nexmark {
namespace {

using namespace flink;

constexpr int64_t kQ5SizeMs = 10'000;
constexpr int64_t kQ5SlideMs = 2'000;
constexpr int64_t kQ7SizeMs = 10'000;

// ---- Q0 -----------------------------------------------------------------------------------------

void q0(StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
  JobOptions options = parseJobOptions(args);
  auto bids = nexmarkEvents(env, options).filter([](const Event& e) { return e.isBid(); }, "Bids");
  sinkResults<Event>(bids, options, [](const Event& e, std::string* line) { formatBidCsv(e.bid, line); });
  env.execute("nexmark-q0");
}

// ---- Q1 -----------------------------------------------------------------------------------------

struct Q1Row {
  int64_t auction = 0;
  int64_t bidder = 0;
  int64_t priceMilli = 0;  // price * 0.908 in thousandths: price * 908
  int64_t dateTime = 0;
  std::string extra;
  auto fields() { return std::tie(auction, bidder, priceMilli, dateTime, extra); }
  auto fields() const { return std::tie(auction, bidder, priceMilli, dateTime, extra); }
};

/// Thousandths as a decimal with three fraction digits ("1234.500").
void appendMilli(std::string* out, int64_t milli) {
  if (milli < 0) {
    *out += '-';
    milli = -milli;
  }
  appendInt(out, milli / 1000);
  int64_t f = milli % 1000;
  char d[4] = {'.', static_cast<char>('0' + f / 100), static_cast<char>('0' + f / 10 % 10),
               static_cast<char>('0' + f % 10)};
  out->append(d, 4);
}

void q1(StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
  JobOptions options = parseJobOptions(args);
  auto rows = nexmarkEvents(env, options)
                  .filter([](const Event& e) { return e.isBid(); }, "Bids")
                  .map([](const Event& e) {
                    const Bid& b = e.bid;
                    return Q1Row{b.auction, b.bidder, b.price * 908, b.dateTime, b.extra};
                  }, "Dollars to euros");
  sinkResults<Q1Row>(rows, options, [](const Q1Row& r, std::string* line) {
    appendInt(line, r.auction);
    *line += ',';
    appendInt(line, r.bidder);
    *line += ',';
    appendMilli(line, r.priceMilli);
    *line += ',';
    appendInt(line, r.dateTime);
    *line += ',';
    *line += r.extra;
  });
  env.execute("nexmark-q1");
}

// ---- Q2 -----------------------------------------------------------------------------------------

struct Q2Row {
  int64_t auction = 0;
  int64_t price = 0;
  auto fields() { return std::tie(auction, price); }
  auto fields() const { return std::tie(auction, price); }
};

void q2(StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
  JobOptions options = parseJobOptions(args);
  auto rows = nexmarkEvents(env, options)
                  .filter([](const Event& e) { return e.isBid() && e.bid.auction % 123 == 0; }, "auction % 123 = 0")
                  .map([](const Event& e) { return Q2Row{e.bid.auction, e.bid.price}; }, "Project");
  sinkResults<Q2Row>(rows, options, [](const Q2Row& r, std::string* line) {
    appendInt(line, r.auction);
    *line += ',';
    appendInt(line, r.price);
  });
  env.execute("nexmark-q2");
}

// ---- Q5 -----------------------------------------------------------------------------------------

/// Bids of one auction in one sliding window.
struct AuctionCount {
  int64_t auction = 0;
  int64_t count = 0;
  int64_t windowStart = 0;
  int64_t windowEnd = 0;
  auto fields() { return std::tie(auction, count, windowStart, windowEnd); }
  auto fields() const { return std::tie(auction, count, windowStart, windowEnd); }
};

class CountBids final : public AggregateFunction<int64_t, int64_t, int64_t> {
 public:
  int64_t createAccumulator() const override { return 0; }
  void add(const int64_t&, int64_t& acc) const override { ++acc; }
  int64_t getResult(const int64_t& acc) const override { return acc; }
  int64_t merge(const int64_t& a, const int64_t& b) const override { return a + b; }
};

/// The largest count of a window and the auctions that have it.
struct HotItems {
  int64_t maxCount = -1;
  int64_t windowStart = 0;
  int64_t windowEnd = 0;
  std::vector<int64_t> auctions;
  auto fields() { return std::tie(maxCount, windowStart, windowEnd, auctions); }
  auto fields() const { return std::tie(maxCount, windowStart, windowEnd, auctions); }
};

class MaxCount final : public AggregateFunction<AuctionCount, HotItems, HotItems> {
 public:
  HotItems createAccumulator() const override { return {}; }
  void add(const AuctionCount& c, HotItems& acc) const override {
    if (c.count > acc.maxCount) {
      acc.maxCount = c.count;
      acc.windowStart = c.windowStart;
      acc.windowEnd = c.windowEnd;
      acc.auctions.clear();
    }
    if (c.count == acc.maxCount) acc.auctions.push_back(c.auction);
  }
  HotItems getResult(const HotItems& acc) const override { return acc; }
  HotItems merge(const HotItems& a, const HotItems& b) const override {
    if (a.maxCount != b.maxCount) return a.maxCount > b.maxCount ? a : b;
    HotItems m = a;
    m.auctions.insert(m.auctions.end(), b.auctions.begin(), b.auctions.end());
    return m;
  }
};

void q5(StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
  JobOptions options = parseJobOptions(args);
  auto counts =
      nexmarkEvents(env, options)
          .filter([](const Event& e) { return e.isBid(); }, "Bids")
          .map([](const Event& e) { return e.bid.auction; }, "Auction")
          .keyBy([](const int64_t& auction) { return auction; })
          .window(SlidingEventTimeWindows::of(kQ5SizeMs, kQ5SlideMs))
          .aggregate<AuctionCount>(
              std::make_shared<const CountBids>(),
              [](const int64_t& auction, const TimeWindow& w, int64_t&& n, Collector<AuctionCount>& out) {
                out.collect(AuctionCount{auction, n, w.start, w.end});
              },
              "AuctionBids");
  // Local pre-aggregation: a window's counts leave this subtask together (one pane fires at a
  // time), so the largest so far is the only state needed.
  auto candidates = counts.filter(
      [window = INT64_MIN, max = int64_t{0}](const AuctionCount& c) mutable {
        if (c.windowEnd != window) {
          window = c.windowEnd;
          max = c.count;
          return true;
        }
        if (c.count < max) return false;
        max = c.count;
        return true;
      },
      "LocalMax");
  auto hot = candidates.keyBy([](const AuctionCount& c) { return c.windowEnd; })
                 .window(TumblingEventTimeWindows::of(kQ5SlideMs))
                 .aggregate<AuctionCount>(
                     std::make_shared<const MaxCount>(),
                     [](const int64_t&, const TimeWindow&, HotItems&& h, Collector<AuctionCount>& out) {
                       for (int64_t a : h.auctions) out.collect(AuctionCount{a, h.maxCount, h.windowStart, h.windowEnd});
                     },
                     "HotItems");
  sinkResults<AuctionCount>(hot, options, [](const AuctionCount& c, std::string* line) {
    appendInt(line, c.windowStart);
    *line += ',';
    appendInt(line, c.windowEnd);
    *line += ',';
    appendInt(line, c.auction);
    *line += ',';
    appendInt(line, c.count);
  });
  env.execute("nexmark-q5");
}

// ---- Q7 -----------------------------------------------------------------------------------------

/// The highest price of a window and the bids that have it.
struct HighestBids {
  int64_t maxPrice = -1;
  std::vector<Bid> bids;
  auto fields() { return std::tie(maxPrice, bids); }
  auto fields() const { return std::tie(maxPrice, bids); }
};

class MaxPrice final : public AggregateFunction<Bid, HighestBids, HighestBids> {
 public:
  HighestBids createAccumulator() const override { return {}; }
  void add(const Bid& b, HighestBids& acc) const override {
    if (b.price > acc.maxPrice) {
      acc.maxPrice = b.price;
      acc.bids.clear();
    }
    if (b.price == acc.maxPrice) acc.bids.push_back(b);
  }
  HighestBids getResult(const HighestBids& acc) const override { return acc; }
  HighestBids merge(const HighestBids& a, const HighestBids& b) const override {
    if (a.maxPrice != b.maxPrice) return a.maxPrice > b.maxPrice ? a : b;
    HighestBids m = a;
    m.bids.insert(m.bids.end(), b.bids.begin(), b.bids.end());
    return m;
  }
};

int64_t windowStart(int64_t ts, int64_t size) {
  int64_t r = ts % size;
  return ts - (r < 0 ? r + size : r);
}

/// Per subtask, the highest price forwarded for each of the last few windows.
class LocalMaxPrice {
 public:
  bool operator()(const Event& e) {
    if (!e.isBid()) return false;
    int64_t start = windowStart(e.bid.dateTime, kQ7SizeMs);
    Slot& s = slots_[static_cast<uint64_t>(start / kQ7SizeMs) % kSlots];
    if (s.start != start) {
      if (s.start > start) return true;  // older than what the slot tracks: no information
      s.start = start;
      s.max = e.bid.price;
      return true;
    }
    if (e.bid.price < s.max) return false;
    s.max = e.bid.price;
    return true;
  }

 private:
  static constexpr size_t kSlots = 4;
  struct Slot {
    int64_t start = INT64_MIN;
    int64_t max = 0;
  };
  Slot slots_[kSlots];
};

void q7(StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
  JobOptions options = parseJobOptions(args);
  auto highest = nexmarkEvents(env, options)
                     .filter(LocalMaxPrice(), "Bids -> LocalMax")
                     .map([](const Event& e) { return e.bid; }, "Bid")
                     .keyBy([](const Bid& b) { return windowStart(b.dateTime, kQ7SizeMs); })
                     .window(TumblingEventTimeWindows::of(kQ7SizeMs))
                     .aggregate<Bid>(
                         std::make_shared<const MaxPrice>(),
                         [](const int64_t&, const TimeWindow&, HighestBids&& h, Collector<Bid>& out) {
                           for (Bid& b : h.bids) out.collect(std::move(b));
                         },
                         "HighestBid");
  sinkResults<Bid>(highest, options, [](const Bid& b, std::string* line) { formatBidCsv(b, line); });
  env.execute("nexmark-q7");
}

// ---- Q3 -----------------------------------------------------------------------------------------

struct Q3Person {
  int64_t id = 0;
  std::string name, city, state;
  auto fields() { return std::tie(id, name, city, state); }
  auto fields() const { return std::tie(id, name, city, state); }
};

struct Q3Auction {
  int64_t id = 0;
  int64_t seller = 0;
  auto fields() { return std::tie(id, seller); }
  auto fields() const { return std::tie(id, seller); }
};

struct Q3Row {
  std::string name, city, state;
  int64_t auction = 0;
  auto fields() { return std::tie(name, city, state, auction); }
  auto fields() const { return std::tie(name, city, state, auction); }
};

/// Per person id: the person (once seen) and the auctions that arrived before them.
struct Q3State {
  std::optional<Q3Person> person;
  std::vector<int64_t> pending;
  auto fields() { return std::tie(person, pending); }
  auto fields() const { return std::tie(person, pending); }
};

/// Keyed incremental inner join of people with the auctions they sell: an auction meets its
/// seller whichever arrives first (the state is the operator's keyed state, checkpointed by
/// key group).
class IncrementalJoin final : public KeyedCoProcessFunction<int64_t, Q3Person, Q3Auction, Q3Row, Q3State> {
 public:
  void processElement1(const Q3Person& p, Q3State& state, const Context&, Collector<Q3Row>& out) const override {
    for (int64_t a : state.pending) out.collect(Q3Row{p.name, p.city, p.state, a});
    state.pending = {};
    state.person = p;
  }
  void processElement2(const Q3Auction& a, Q3State& state, const Context&, Collector<Q3Row>& out) const override {
    if (state.person) {
      out.collect(Q3Row{state.person->name, state.person->city, state.person->state, a.id});
    } else {
      state.pending.push_back(a.id);
    }
  }
};

void q3(StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
  JobOptions options = parseJobOptions(args);
  // Both filters run chained to the source, before the fan-out: a fanned-out stream is shipped
  // once per consumer (fan-out consumers are not chained), so only the ~2 % of events that
  // either side keeps leave the source's task.
  auto events = nexmarkEvents(env, options)
                    .filter(
                        [](const Event& e) {
                          if (e.isAuction()) return e.auction.category == 10;
                          if (!e.isPerson()) return false;
                          const std::string& s = e.person.state;
                          return s == "OR" || s == "ID" || s == "CA";
                        },
                        "Persons in OR/ID/CA or auctions of category 10");
  auto persons =
      events.filter([](const Event& e) { return e.isPerson(); }, "Persons")
          .map([](const Event& e) { return Q3Person{e.person.id, e.person.name, e.person.city, e.person.state}; },
               "Person");
  auto auctions = events.filter([](const Event& e) { return e.isAuction(); }, "Auctions")
                      .map([](const Event& e) { return Q3Auction{e.auction.id, e.auction.seller}; }, "Auction");
  auto joined = persons.connect(auctions)
                    .keyBy([](const Q3Person& p) { return p.id; }, [](const Q3Auction& a) { return a.seller; })
                    .process(std::make_shared<const IncrementalJoin>(), "IncrementalJoin");
  sinkResults<Q3Row>(joined, options, [](const Q3Row& r, std::string* line) {
    *line += r.name;
    *line += ',';
    *line += r.city;
    *line += ',';
    *line += r.state;
    *line += ',';
    appendInt(line, r.auction);
  });
  env.execute("nexmark-q3");
}

// ---- Q8 -----------------------------------------------------------------------------------------

struct Q8Person {
  int64_t id = 0;
  std::string name;
  auto fields() { return std::tie(id, name); }
  auto fields() const { return std::tie(id, name); }
};

struct Q8Row {
  int64_t id = 0;
  std::string name;
  int64_t starttime = 0;
  auto fields() { return std::tie(id, name, starttime); }
  auto fields() const { return std::tie(id, name, starttime); }
};

constexpr int64_t kQ8SizeMs = 10'000;

void q8(StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
  JobOptions options = parseJobOptions(args);
  // As in q3: bids (92 % of the events) are dropped before the fan-out.
  auto events = nexmarkEvents(env, options)
                    .filter([](const Event& e) { return e.isPerson() || e.isAuction(); }, "Persons or auctions");
  auto persons = events.filter([](const Event& e) { return e.isPerson(); }, "Persons")
                     .map([](const Event& e) { return Q8Person{e.person.id, e.person.name}; }, "Person");
  auto sellers = events.filter([](const Event& e) { return e.isAuction(); }, "Auctions")
                     .map([](const Event& e) { return e.auction.seller; }, "Seller");
  auto rows = persons.coGroup(sellers)
                  .where([](const Q8Person& p) { return p.id; })
                  .equalTo([](const int64_t& seller) { return seller; })
                  .window(TumblingEventTimeWindows::of(kQ8SizeMs))
                  .apply<Q8Row>(
                      [](const int64_t&, const TimeWindow& w, const std::vector<Q8Person>& registered,
                         const std::vector<int64_t>& sold, Collector<Q8Row>& out) {
                        if (sold.empty()) return;
                        for (const Q8Person& p : registered) out.collect(Q8Row{p.id, p.name, w.start});
                      },
                      "NewSellers");
  sinkResults<Q8Row>(rows, options, [](const Q8Row& r, std::string* line) {
    appendInt(line, r.id);
    *line += ',';
    *line += r.name;
    *line += ',';
    appendInt(line, r.starttime);
  });
  env.execute("nexmark-q8");
}

// ---- Q11 ----------------------------------------------------------------------------------------

constexpr int64_t kQ11GapMs = 10'000;

struct Q11Row {
  int64_t bidder = 0;
  int64_t count = 0;
  int64_t starttime = 0;
  int64_t endtime = 0;
  auto fields() { return std::tie(bidder, count, starttime, endtime); }
  auto fields() const { return std::tie(bidder, count, starttime, endtime); }
};

void q11(StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
  JobOptions options = parseJobOptions(args);
  auto rows = nexmarkEvents(env, options)
                  .filter([](const Event& e) { return e.isBid(); }, "Bids")
                  .map([](const Event& e) { return e.bid.bidder; }, "Bidder")
                  .keyBy([](const int64_t& bidder) { return bidder; })
                  .window(EventTimeSessionWindows::withGap(kQ11GapMs))
                  .aggregate<Q11Row>(
                      std::make_shared<const CountBids>(),
                      [](const int64_t& bidder, const TimeWindow& w, int64_t&& n, Collector<Q11Row>& out) {
                        out.collect(Q11Row{bidder, n, w.start, w.end});
                      },
                      "UserSessions");
  sinkResults<Q11Row>(rows, options, [](const Q11Row& r, std::string* line) {
    appendInt(line, r.bidder);
    *line += ',';
    appendInt(line, r.count);
    *line += ',';
    appendInt(line, r.starttime);
    *line += ',';
    appendInt(line, r.endtime);
  });
  env.execute("nexmark-q11");
}

}  // namespace

FLINK_JOB("flinkcpp.nexmark.Q0", q0);
FLINK_JOB("flinkcpp.nexmark.Q1", q1);
FLINK_JOB("flinkcpp.nexmark.Q2", q2);
FLINK_JOB("flinkcpp.nexmark.Q5", q5);
FLINK_JOB("flinkcpp.nexmark.Q7", q7);
FLINK_JOB("flinkcpp.nexmark.Q3", q3);
FLINK_JOB("flinkcpp.nexmark.Q8", q8);
FLINK_JOB("flinkcpp.nexmark.Q11", q11);

}  // namespace flinkcpp::nexmark
