// The Nexmark generator (examples/jobs/nexmark/nexmark.h): GeneratorConfig and Generator, the
// event model of the Nexmark benchmark as Beam and Flink's nexmark-flink generate it.
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

/// Sizes as Nexmark's memory options: "200", "200b" or "200 b".
int parseBytes(const std::string& key, std::string v) {
  while (!v.empty() && (v.back() == 'b' || v.back() == 'B' || v.back() == ' ')) v.pop_back();
  return detail::parseInt(key, v, 0);
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

}  // namespace

namespace detail {

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

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace detail

using detail::parseInt;
using detail::parseInt64;

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

namespace {

// One event of each kind, drawing from `r` in the order Nexmark's generator does.
void nextPerson(const GeneratorConfig& c, const LastIds& last, int64_t ts, Rng& r, Person& p) {
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
}

void nextAuction(const GeneratorConfig& c, const LastIds& last, int64_t eventNumber, int64_t ts, int64_t base, Rng& r,
                 Auction& a) {
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
}

void nextBid(const GeneratorConfig& c, const LastIds& last, int64_t ts, Rng& r, Bid& b) {
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

}  // namespace

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
    nextPerson(c, last, ts, r, out.person);
  } else if (rem < c.personProportion + c.auctionProportion) {
    out.type = Event::kAuction;
    nextAuction(c, last, eventNumber, ts, base, r, out.auction);
  } else {
    out.type = Event::kBid;
    nextBid(c, last, ts, r, out.bid);
  }
  return ts;
}

}  // namespace flinkcpp::nexmark
