// The Nexmark generator, source and sinks (examples/jobs/nexmark/nexmark.h), and the generator
// job flinkcpp.nexmark.Generate: the events as CSV (--output DIR), or, without --output, into a
// DiscardingSink (the "source only" baseline of the benchmark).
#include "nexmark/nexmark.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>

#include "flink/job.h"

namespace flinkcpp::nexmark {

using namespace flink;

namespace {

// ---- Options ----------------------------------------------------------------------------

int64_t parseInt64(const std::string& key, const std::string& v, int64_t min) {
  int64_t out = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size()) {
    throw std::invalid_argument("--" + key + ": '" + v + "' is not an integer");
  }
  if (out < min) throw std::invalid_argument("--" + key + ": must be at least " + std::to_string(min) + ", got " + v);
  return out;
}

int parseInt(const std::string& key, const std::string& v, int min) {
  int64_t x = parseInt64(key, v, min);
  if (x > INT32_MAX) throw std::invalid_argument("--" + key + ": " + v + " is too large");
  return static_cast<int>(x);
}

/// Sizes as Nexmark's memory options: "200", "200b" or "200 b".
int parseBytes(const std::string& key, std::string v) {
  while (!v.empty() && (v.back() == 'b' || v.back() == 'B' || v.back() == ' ')) v.pop_back();
  return parseInt(key, v, 0);
}

bool parseBool(const std::string& key, const std::string& v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  throw std::invalid_argument("--" + key + ": expected true or false, got '" + v + "'");
}

double parseProbability(const std::string& key, const std::string& v) {
  size_t used = 0;
  double d = 0;
  try {
    d = std::stod(v, &used);
  } catch (...) {
    used = 0;
  }
  if (used == 0 || used != v.size() || !(d >= 0.0 && d <= 1.0)) {
    throw std::invalid_argument("--" + key + ": expected a probability in [0, 1], got '" + v + "'");
  }
  return d;
}

// ---- Randomness -------------------------------------------------------------------------

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// SplitMix64 (Steele, Lea, Flood 2014): a fast generator whose stream is a pure function of its
/// seed. One is seeded per event id.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() { return mix64(s_ += kGolden); }
  /// Uniform in [0, bound) for bound > 0 (multiply-high; bias below 2^-64 * bound).
  int64_t nextLong(int64_t bound) {
    return static_cast<int64_t>((static_cast<unsigned __int128>(next()) * static_cast<uint64_t>(bound)) >> 64);
  }
  int nextInt(int bound) { return static_cast<int>(nextLong(bound)); }
  double nextDouble() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t s_;
};

uint64_t eventSeed(uint64_t seed, int64_t eventId) { return mix64(seed * kGolden ^ static_cast<uint64_t>(eventId)); }

// ---- Strings (Nexmark's StringsGenerator) ------------------------------------------------

constexpr int kMinStringLength = 3;

/// Appends a random string of kMinStringLength .. maxLength-1 characters, each a space with
/// probability 1/13 and otherwise a uniform lowercase letter, trimmed (Nexmark's nextString).
void appendString(Rng& r, int maxLength, std::string* out) {
  int len = kMinStringLength + r.nextInt(maxLength - kMinStringLength);
  size_t start = out->size();
  out->resize(start + static_cast<size_t>(len));
  char* p = out->data() + start;
  uint64_t bits = 0;
  for (int i = 0; i < len; ++i, bits >>= 16) {
    if ((i & 3) == 0) bits = r.next();
    // 16 random bits to [0, 13 * 26): below 26 a space (1/13), else a letter (uniform).
    auto v = static_cast<uint32_t>(((bits & 0xFFFF) * (13 * 26)) >> 16);
    p[i] = v < 26 ? ' ' : static_cast<char>('a' + v % 26);
  }
  size_t first = out->find_first_not_of(' ', start);
  if (first == std::string::npos) {
    out->resize(start);
    return;
  }
  size_t last = out->find_last_not_of(' ');
  out->resize(last + 1);
  out->erase(start, first - start);
}

/// Eight lowercase letters from 64 random bits: byte b becomes 'a' + (b * 26 >> 8), computed
/// for the even and the odd bytes at once in 16-bit lanes.
inline uint64_t eightLetters(uint64_t bits) {
  constexpr uint64_t kLanes = 0x00FF00FF00FF00FFULL;
  uint64_t even = (((bits & kLanes) * 26) >> 8) & kLanes;
  uint64_t odd = ((((bits >> 8) & kLanes) * 26) >> 8) & kLanes;
  return (even | (odd << 8)) + 0x6161616161616161ULL;  // + 'a' in every byte, no carries (<= 'z')
}

/// Exactly `length` random lowercase letters.
void exactString(Rng& r, int length, std::string* out) {
  out->resize(static_cast<size_t>(length));
  char* p = out->data();
  size_t n = static_cast<size_t>(length);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t letters = eightLetters(r.next());
    std::memcpy(p + i, &letters, 8);
  }
  if (i < n) {
    uint64_t letters = eightLetters(r.next());
    std::memcpy(p + i, &letters, n - i);
  }
}

/// Padding such that currentSize + its length averages desiredAverageSize (uniform within
/// +-20%), as Nexmark's nextExtra.
void nextExtra(Rng& r, int currentSize, int desiredAverageSize, std::string* out) {
  if (currentSize > desiredAverageSize) {
    out->clear();
    return;
  }
  int desired = desiredAverageSize - currentSize;
  int delta = static_cast<int>(std::lround(desired * 0.2));
  int minSize = desired - delta;
  int size = minSize + (delta == 0 ? 0 : r.nextInt(2 * delta));
  exactString(r, size, out);
}

/// 2^(j / 256) for j in [0, 256).
struct Exp2Table {
  double v[256];
  Exp2Table() {
    for (int j = 0; j < 256; ++j) v[j] = std::exp2(j / 256.0);
  }
};
const Exp2Table kExp2;

/// 10^(6u) for u in [0, 1), to double precision (relative error ~1e-15) without libm:
/// 2^y with y = 6u log2(10) = (k + j / 256 + x / ln 2), as 2^k * 2^(j/256) * e^x, e^x by its
/// Taylor series (x < ln(2) / 256).
double pow10Times6(double u) {
  constexpr double kScale = 6 * 3.321928094887362 * 256;  // 6 log2(10) * 256
  constexpr double kLn2 = 0.6931471805599453;
  double y = u * kScale;
  auto i = static_cast<int64_t>(y);
  double x = (y - static_cast<double>(i)) * (kLn2 / 256);
  double ex = 1 + x * (1 + x * (0.5 + x * (1.0 / 6 + x * (1.0 / 24 + x * (1.0 / 120)))));
  return static_cast<double>(int64_t{1} << (i >> 8)) * kExp2.v[i & 255] * ex;
}

/// round(10^(6u) * 100) for u uniform in [0, 1): 100 .. 100'000'000 cents, log-uniform
/// (Nexmark's PriceGenerator).
int64_t nextPrice(Rng& r) { return static_cast<int64_t>(pow10Times6(r.nextDouble()) * 100.0 + 0.5); }

const char* const kUsStates[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
const char* const kUsCities[] = {"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
                                 "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
const char* const kFirstNames[] = {"Peter", "Paul", "Luke", "John", "Saul", "Vicky",
                                   "Kate",  "Julie", "Sarah", "Deiter", "Walter"};
const char* const kLastNames[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                  "Walton", "Smith",  "Jones",   "Noris"};
template <class A>
constexpr int count(const A& a) {
  return static_cast<int>(sizeof(a) / sizeof(a[0]));
}

// ---- Ids ----------------------------------------------------------------------------------

constexpr int kPersonIdLead = 10;
constexpr int kAuctionIdLead = 10;
constexpr int kHotSellerRatio = 100;
constexpr int kHotAuctionRatio = 100;
constexpr int kHotBidderRatio = 100;
constexpr int kNumCategories = 5;

/// The last person and auction ids (base 0) at an event id: Nexmark's lastBase0PersonId and
/// lastBase0AuctionId from one division.
struct LastIds {
  int64_t person;
  int64_t auction;
};
/// For the event at `offset` in epoch `epoch` (event id = epoch * totalProportion + offset).
LastIds lastIds(const GeneratorConfig& c, int64_t epoch, int64_t offset) {
  LastIds ids;
  // The last person of this epoch (the current one when about to generate a person).
  ids.person = epoch * c.personProportion + std::min<int64_t>(offset, c.personProportion - 1);
  if (offset < c.personProportion) {
    ids.auction = (epoch - 1) * c.auctionProportion + c.auctionProportion - 1;  // last of the previous epoch
  } else if (offset >= c.personProportion + c.auctionProportion) {
    ids.auction = epoch * c.auctionProportion + c.auctionProportion - 1;  // last of this epoch
  } else {
    ids.auction = epoch * c.auctionProportion + offset - c.personProportion;  // the current one
  }
  return ids;
}
LastIds lastIds(const GeneratorConfig& c, int64_t eventId) {
  int64_t total = c.totalProportion();
  return lastIds(c, eventId / total, eventId % total);
}

/// A random person among the last numActivePeople, plus a few not generated yet.
int64_t nextBase0PersonId(const GeneratorConfig& c, int64_t lastPerson, Rng& r) {
  int64_t numPeople = lastPerson + 1;
  int64_t activePeople = std::min<int64_t>(numPeople, c.numActivePeople);
  int64_t n = r.nextLong(activePeople + kPersonIdLead);
  return numPeople - activePeople + n;
}

/// A random auction among the last numInFlightAuctions, plus a few not generated yet.
int64_t nextBase0AuctionId(const GeneratorConfig& c, int64_t lastAuction, Rng& r) {
  int64_t maxAuction = lastAuction;
  int64_t minAuction = std::max<int64_t>(maxAuction - c.numInFlightAuctions, 0);
  return minAuction + r.nextLong(maxAuction - minAuction + 1 + kAuctionIdLead);
}

/// Auction length with an average of the time until numInFlightAuctions more auctions exist.
int64_t nextAuctionLengthMs(const GeneratorConfig& c, int64_t eventNumber, int64_t timestamp, int64_t base, Rng& r) {
  int64_t numEventsForAuctions =
      static_cast<int64_t>(c.numInFlightAuctions) * c.totalProportion() / c.auctionProportion;
  int64_t futureAuction = c.timestampForEvent(eventNumber + numEventsForAuctions, base);
  int64_t horizonMs = futureAuction - timestamp;
  return 1 + r.nextLong(std::max<int64_t>(horizonMs * 2, 1));
}

void appendDigits4(std::string* out, int v) {
  char d[4] = {static_cast<char>('0' + v / 1000), static_cast<char>('0' + v / 100 % 10),
               static_cast<char>('0' + v / 10 % 10), static_cast<char>('0' + v % 10)};
  out->append(d, 4);
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// ---- GeneratorConfig ------------------------------------------------------------------------

void GeneratorConfig::validate() const {
  if (tps <= 0) throw std::invalid_argument("--tps must be positive");
  if (personProportion < 0 || auctionProportion < 0 || bidProportion < 0 || totalProportion() <= 0) {
    throw std::invalid_argument("the event proportions must be non-negative and not all 0");
  }
  if (auctionProportion == 0 && (bidProportion > 0)) {
    // Auction lengths divide by the auction proportion; bids need auctions.
    throw std::invalid_argument("--auction.proportion must be positive when bids are generated");
  }
  if (personProportion == 0 && totalProportion() > 0) {
    throw std::invalid_argument("--person.proportion must be positive (auctions and bids need people)");
  }
  if (hotAuctionRatio < 1 || hotSellersRatio < 1 || hotBiddersRatio < 1) {
    throw std::invalid_argument("the hot ratios must be at least 1");
  }
  if (numActivePeople < 1 || numInFlightAuctions < 1) {
    throw std::invalid_argument("--num-active-people and --num-in-flight-auctions must be positive");
  }
  if (outOfOrderGroupSize < 1) throw std::invalid_argument("--out-of-order-group-size must be at least 1");
}

bool parseGeneratorOption(GeneratorConfig& c, const std::string& key, const std::string& value) {
  if (key == "events.num") {
    c.numEvents = parseInt64(key, value, 0);
  } else if (key == "tps" || key == "first-event.rate") {
    c.tps = parseInt64(key, value, 1);
  } else if (key == "rate.limited") {
    c.rateLimited = parseBool(key, value);
  } else if (key == "person.proportion") {
    c.personProportion = parseInt(key, value, 0);
  } else if (key == "auction.proportion") {
    c.auctionProportion = parseInt(key, value, 0);
  } else if (key == "bid.proportion") {
    c.bidProportion = parseInt(key, value, 0);
  } else if (key == "bid.hot-ratio.auctions") {
    c.hotAuctionRatio = parseInt(key, value, 1);
  } else if (key == "bid.hot-ratio.bidders") {
    c.hotBiddersRatio = parseInt(key, value, 1);
  } else if (key == "auction.hot-ratio.sellers") {
    c.hotSellersRatio = parseInt(key, value, 1);
  } else if (key == "person.avg-size") {
    c.avgPersonByteSize = parseBytes(key, value);
  } else if (key == "auction.avg-size") {
    c.avgAuctionByteSize = parseBytes(key, value);
  } else if (key == "bid.avg-size") {
    c.avgBidByteSize = parseBytes(key, value);
  } else if (key == "num-active-people") {
    c.numActivePeople = parseInt(key, value, 1);
  } else if (key == "num-in-flight-auctions") {
    c.numInFlightAuctions = parseInt(key, value, 1);
  } else if (key == "out-of-order-group-size") {
    c.outOfOrderGroupSize = parseInt64(key, value, 1);
  } else if (key == "prob-delayed-event") {
    c.probDelayedEvent = parseProbability(key, value);
  } else if (key == "occasional-delay-sec") {
    c.occasionalDelaySec = parseInt64(key, value, 0);
  } else if (key == "base-time") {
    if (value == "wallclock") {
      c.wallclockBaseTime = true;
    } else {
      c.wallclockBaseTime = false;
      c.baseTime = parseInt64(key, value, 0);
    }
  } else if (key == "seed") {
    c.seed = static_cast<uint64_t>(parseInt64(key, value, 0));
  } else if (key == "records-per-second") {
    c.recordsPerSecond = parseInt64(key, value, 0);
  } else {
    return false;
  }
  return true;
}

int64_t lastBase0PersonId(const GeneratorConfig& c, int64_t eventId) { return lastIds(c, eventId).person; }

int64_t lastBase0AuctionId(const GeneratorConfig& c, int64_t eventId) { return lastIds(c, eventId).auction; }

// ---- Generator ------------------------------------------------------------------------------

int64_t Generator::delayMs(int64_t eventId) const { return delayFor(eventSeed(c_.seed, eventId)); }

int64_t Generator::delayFor(uint64_t seed) const {
  if (delayThreshold_ == 0) return 0;
  // Its own stream, so that the delay settings do not change the events' content: delayed
  // with probability delayThreshold_ / 2^53, by 1 + uniform [0, occasionalDelaySec s).
  uint64_t h = mix64(seed ^ 0xD1B54A32D192ED03ULL);
  if ((h >> 11) >= delayThreshold_) return 0;
  return 1 + Rng(h).nextLong(c_.occasionalDelaySec * 1000);
}

int64_t Generator::generate(int64_t n, Event& out, int64_t base) const {
  const GeneratorConfig& c = c_;
  int64_t eventNumber = c.adjustedEventNumber(n);
  int64_t eventId = eventNumber;  // first event id 0
  uint64_t seed = eventSeed(c.seed, eventId);
  int64_t ts = timestampForEvent(eventNumber, base) - delayFor(seed);
  Rng r(seed);
  int64_t epoch = eventId / total_;
  int64_t rem = eventId - epoch * total_;
  LastIds last = lastIds(c, epoch, rem);

  if (rem < c.personProportion) {
    out.type = Event::kPerson;
    Person& p = out.person;
    p.id = last.person + kFirstPersonId;
    p.name.assign(kFirstNames[r.nextInt(count(kFirstNames))]);
    p.name += ' ';
    p.name += kLastNames[r.nextInt(count(kLastNames))];
    p.emailAddress.clear();
    appendString(r, 7, &p.emailAddress);
    p.emailAddress += '@';
    appendString(r, 5, &p.emailAddress);
    p.emailAddress += ".com";
    p.creditCard.clear();
    for (int i = 0; i < 4; ++i) {
      if (i > 0) p.creditCard += ' ';
      appendDigits4(&p.creditCard, r.nextInt(10000));
    }
    p.city.assign(kUsCities[r.nextInt(count(kUsCities))]);
    p.state.assign(kUsStates[r.nextInt(count(kUsStates))]);
    p.dateTime = ts;
    int currentSize = static_cast<int>(8 + p.name.size() + p.emailAddress.size() + p.creditCard.size() +
                                       p.city.size() + p.state.size());
    nextExtra(r, currentSize, c.avgPersonByteSize, &p.extra);
  } else if (rem < c.personProportion + c.auctionProportion) {
    out.type = Event::kAuction;
    Auction& a = out.auction;
    a.id = last.auction + kFirstAuctionId;
    int64_t seller;
    if (r.nextInt(c.hotSellersRatio) > 0) {
      // A hot seller: the first person of the last batch of kHotSellerRatio people.
      seller = (last.person / kHotSellerRatio) * kHotSellerRatio;
    } else {
      seller = nextBase0PersonId(c, last.person, r);
    }
    a.seller = seller + kFirstPersonId;
    a.category = kFirstCategoryId + r.nextInt(kNumCategories);
    a.initialBid = nextPrice(r);
    a.dateTime = ts;
    a.expires = ts + nextAuctionLengthMs(c, eventNumber, ts, base, r);
    a.itemName.clear();
    appendString(r, 20, &a.itemName);
    a.description.clear();
    appendString(r, 100, &a.description);
    a.reserve = a.initialBid + nextPrice(r);
    int currentSize = static_cast<int>(8 + a.itemName.size() + a.description.size() + 8 + 8 + 8 + 8 + 8);
    nextExtra(r, currentSize, c.avgAuctionByteSize, &a.extra);
  } else {
    out.type = Event::kBid;
    Bid& b = out.bid;
    // The price first: its long floating-point chain then overlaps with the rest.
    b.price = nextPrice(r);
    int64_t auction;
    if (r.nextInt(c.hotAuctionRatio) > 0) {
      // The hot auction: the first of the last batch of kHotAuctionRatio auctions.
      auction = (last.auction / kHotAuctionRatio) * kHotAuctionRatio;
    } else {
      auction = nextBase0AuctionId(c, last.auction, r);
    }
    b.auction = auction + kFirstAuctionId;
    int64_t bidder;
    if (r.nextInt(c.hotBiddersRatio) > 0) {
      // A hot bidder: the second person of the last batch (so that it is not a hot seller).
      bidder = (last.person / kHotBidderRatio) * kHotBidderRatio + 1;
    } else {
      bidder = nextBase0PersonId(c, last.person, r);
    }
    b.bidder = bidder + kFirstPersonId;
    b.dateTime = ts;
    nextExtra(r, 8 + 8 + 8 + 8, c.avgBidByteSize, &b.extra);
  }
  return ts;
}

// ---- Source ---------------------------------------------------------------------------------

namespace {

/// Position entry: event numbers n < next with n % parallelism == subtask were emitted.
struct Done {
  int64_t parallelism, subtask, next;
};

class NexmarkReader final : public SourceReader<Event> {
 public:
  explicit NexmarkReader(const GeneratorConfig& config) : gen_(config) {}

  Status open(RuntimeContext& ctx) override {
    const GeneratorConfig& c = gen_.config();
    step_ = ctx.parallelism;
    subtask_ = ctx.subtaskIndex;
    limit_ = c.numEvents > 0 ? c.numEvents : INT64_MAX;
    wallStartMs_ = nowMs();
    throttleStart_ = std::chrono::steady_clock::now();
    base_ = c.wallclockBaseTime ? wallStartMs_ : c.baseTime;
    next_ = subtask_;
    for (const Done& d : done_) {
      if (d.parallelism == step_ && d.subtask == subtask_) next_ = std::max(next_, d.next);
    }
    skipDone();
    return Status::Ok();
  }

  InputStatus pollNext(ReaderOutput<Event>& out, int maxRecords) override {
    const GeneratorConfig& c = gen_.config();
    int64_t now = c.rateLimited ? nowMs() : 0;
    if (c.recordsPerSecond > 0) {
      double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - throttleStart_).count();
      int64_t allowed = static_cast<int64_t>(elapsed * static_cast<double>(c.recordsPerSecond)) - throttled_;
      if (allowed <= 0) return next_ < limit_ ? InputStatus::kNothingAvailable : InputStatus::kEndOfInput;
      maxRecords = static_cast<int>(std::min<int64_t>(maxRecords, allowed));
      throttled_ += maxRecords;
    }
    for (int i = 0; i < maxRecords; ++i) {
      if (next_ >= limit_) return InputStatus::kEndOfInput;
      if (c.rateLimited) {
        int64_t due = wallStartMs_ + (gen_.timestampForEvent(c.adjustedEventNumber(next_), base_) - base_);
        if (due > now) return i == 0 ? InputStatus::kNothingAvailable : InputStatus::kMoreAvailable;
      }
      int64_t ts = gen_.generate(next_, event_, base_);
      next_ += step_;
      if (!done_.empty()) skipDone();
      // Downstream operators normally read the event without moving from it, so its strings
      // keep their capacity for the next one; if one does move, generate() refills them.
      out.collect(std::move(event_), ts);
    }
    return next_ < limit_ ? InputStatus::kMoreAvailable : InputStatus::kEndOfInput;
  }

  void snapshotState(DataOutputView& out) override {
    auto write = [&](const Done& d) {
      out.writePod(d.parallelism);
      out.writePod(d.subtask);
      out.writePod(d.next);
    };
    write({step_, subtask_, next_});
    for (const Done& d : done_) write(d);
  }

  Status restoreState(const std::vector<Buffer>& states) override {
    std::map<std::pair<int64_t, int64_t>, int64_t> best;  // (parallelism, subtask) -> max next
    for (const Buffer& b : states) {
      DataInputView in(b.data(), b.size());
      while (!in.atEnd()) {
        Done d{};
        d.parallelism = in.readPod<int64_t>();
        d.subtask = in.readPod<int64_t>();
        d.next = in.readPod<int64_t>();
        if (d.parallelism <= 0 || d.subtask < 0 || d.subtask >= d.parallelism) {
          return Status::Error("corrupt Nexmark source position (" + std::to_string(d.parallelism) + ", " +
                               std::to_string(d.subtask) + ")");
        }
        auto& n = best[{d.parallelism, d.subtask}];
        n = std::max(n, d.next);
      }
    }
    done_.clear();
    for (const auto& [ps, next] : best) done_.push_back({ps.first, ps.second, next});
    return Status::Ok();
  }

 private:
  bool isDone(int64_t n) const {
    for (const Done& d : done_) {
      if (n % d.parallelism == d.subtask && n < d.next) return true;
    }
    return false;
  }
  void skipDone() {
    while (next_ < limit_ && isDone(next_)) next_ += step_;
  }

  Generator gen_;
  Event event_;
  std::vector<Done> done_;
  int64_t step_ = 1;
  int64_t subtask_ = 0;
  int64_t next_ = 0;
  int64_t limit_ = 0;
  int64_t base_ = 0;
  int64_t wallStartMs_ = 0;
  std::chrono::steady_clock::time_point throttleStart_;
  int64_t throttled_ = 0;  // records allowed by the throttle so far
};

}  // namespace

std::unique_ptr<SourceReader<Event>> NexmarkSource::createReader() const {
  return std::make_unique<NexmarkReader>(config_);
}

WatermarkStrategy<Event> nexmarkWatermarks(int64_t maxOutOfOrdernessMs) {
  // The reader gives every record its event time: no timestamp assigner needed.
  return WatermarkStrategy<Event>::forBoundedOutOfOrderness(maxOutOfOrdernessMs);
}

// ---- Sinks ----------------------------------------------------------------------------------

namespace detail {

void DiscardCounter::open(const RuntimeContext& ctx) {
  task_ = ctx.taskName;
  subtask_ = ctx.subtaskIndex;
  untilSample_ = std::max(1, latency_.sampleEvery);
}

void DiscardCounter::sample(int64_t timestamp) {
  untilSample_ = std::max(1, latency_.sampleEvery);
  if (timestamp == kNoTimestamp) return;
  int64_t nowUs =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  samplesUs_.push_back(nowUs - timestamp * 1000);
}

void DiscardCounter::finish() {
  std::string line = "Nexmark DiscardingSink " + task_ + ": " + std::to_string(count_) + " records";
  if (!latency_.filePrefix.empty()) {
    std::string path = latency_.filePrefix + "." + std::to_string(subtask_);
    {
      std::ofstream f(path);
      for (int64_t us : samplesUs_) f << us << '\n';
    }
    line += ", " + std::to_string(samplesUs_.size()) + " latency samples";
    if (!samplesUs_.empty()) {
      std::vector<int64_t> s = samplesUs_;
      std::sort(s.begin(), s.end());
      auto pct = [&](double p) { return static_cast<double>(s[static_cast<size_t>(p * (s.size() - 1))]) / 1000.0; };
      char buf[96];
      std::snprintf(buf, sizeof(buf), " (p50 %.2f ms, p99 %.2f ms)", pct(0.5), pct(0.99));
      line += buf;
    }
    line += " in " + path;
  }
  line += "\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace detail

// ---- Job options and CSV ----------------------------------------------------------------------

JobOptions parseJobOptions(const std::vector<std::string>& args) {
  JobOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + a + "' (expected --key value)");
    std::string key = a.substr(2), value;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.resize(eq);
    } else {
      if (i + 1 >= args.size()) throw std::invalid_argument("argument " + a + " needs a value");
      value = args[++i];
    }
    if (parseGeneratorOption(o.generator, key, value)) continue;
    if (key == "output") {
      o.output = value;
    } else if (key == "watermark-delay") {
      o.watermarkDelayMs = parseInt64(key, value, 0);
    } else if (key == "latency-file") {
      o.latency.filePrefix = value;
    } else if (key == "latency-sample") {
      o.latency.sampleEvery = parseInt(key, value, 1);
    } else {
      throw std::invalid_argument(
          "unknown argument '" + a +
          "' (expected --output, --watermark-delay, --latency-file, --latency-sample or a generator option: "
          "--events.num, --tps, --rate.limited, --person.proportion, --auction.proportion, --bid.proportion, "
          "--bid.hot-ratio.auctions, --bid.hot-ratio.bidders, --auction.hot-ratio.sellers, --person.avg-size, "
          "--auction.avg-size, --bid.avg-size, --num-active-people, --num-in-flight-auctions, "
          "--out-of-order-group-size, --prob-delayed-event, --occasional-delay-sec, --base-time, --seed, "
          "--records-per-second)");
    }
  }
  o.generator.validate();
  return o;
}

DataStream<Event> nexmarkEvents(StreamExecutionEnvironment& env, const JobOptions& options) {
  const GeneratorConfig& g = options.generator;
  env.setGlobalJobParameter("events.num", std::to_string(g.numEvents));
  env.setGlobalJobParameter("tps", std::to_string(g.tps));
  return env.fromSource<Event>(std::make_shared<const NexmarkSource>(g), nexmarkWatermarks(options.watermarkDelayMs),
                               "nexmark");
}

void appendInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void formatBidCsv(const Bid& b, std::string* out) {
  appendInt(out, b.auction);
  *out += ',';
  appendInt(out, b.bidder);
  *out += ',';
  appendInt(out, b.price);
  *out += ',';
  appendInt(out, b.dateTime);
  *out += ',';
  *out += b.extra;
}

void formatEventCsv(const Event& e, std::string* out) {
  appendInt(out, e.type);
  auto s = [&](const std::string& v) {
    *out += ',';
    *out += v;
  };
  auto i = [&](int64_t v) {
    *out += ',';
    appendInt(out, v);
  };
  if (e.isPerson()) {
    const Person& p = e.person;
    i(p.id), s(p.name), s(p.emailAddress), s(p.creditCard), s(p.city), s(p.state), i(p.dateTime), s(p.extra);
  } else {
    out->append(8, ',');
  }
  if (e.isAuction()) {
    const Auction& a = e.auction;
    i(a.id), s(a.itemName), s(a.description), i(a.initialBid), i(a.reserve), i(a.dateTime), i(a.expires),
        i(a.seller), i(a.category), s(a.extra);
  } else {
    out->append(10, ',');
  }
  if (e.isBid()) {
    *out += ',';
    formatBidCsv(e.bid, out);
  } else {
    out->append(5, ',');
  }
}

namespace {

/// flinkcpp.nexmark.Generate: the events as CSV rows (formatEventCsv) in --output DIR; without
/// --output into a DiscardingSink, which measures the generator alone.
void generateJob(StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
  JobOptions options = parseJobOptions(args);
  sinkResults<Event>(nexmarkEvents(env, options), options,
                     [](const Event& e, std::string* line) { formatEventCsv(e, line); });
  env.execute("nexmark-generate");
}

}  // namespace

FLINK_JOB("flinkcpp.nexmark.Generate", generateJob);

}  // namespace flinkcpp::nexmark
