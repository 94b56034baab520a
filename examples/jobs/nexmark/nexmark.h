// Nexmark (https://github.com/nexmark/nexmark, derived from Apache Beam's NexmarkGenerator):
// the event model, a deterministic generator, a checkpointable source, a discarding sink, and
// what the Nexmark jobs (examples/jobs/nexmark_*.cc) share.
//
// The generator follows Nexmark's model: per 50 events 1 person, 3 auctions and 46 bids (the
// proportions are options); person and auction ids start at 1000 and grow with the event id;
// auctions are sold by "hot" sellers (1 - 1/hotSellersRatio of them, the first person of the
// last batch of 100) or by one of the last numActivePeople people; bids go to the hot auction
// (1 - 1/hotAuctionRatio, the first auction of the last batch of 100) or to one of the last
// numInFlightAuctions auctions (plus 10 "lead" ids not generated yet), by hot bidders
// (1 - 1/hotBiddersRatio, the second person of the last batch of 100) or an active person;
// prices are round(10^(6u) * 100) for u uniform in [0, 1); strings and `extra` padding as
// Nexmark's StringsGenerator, so that events average 200 / 500 / 100 bytes.
//
// Event number n (0-based, over the whole job) gets event time
//   baseTime + floor(floor(adjusted(n) * 1e6 / tps) / 1000)  ms
// (Nexmark's timestampForEvent with interEventDelayUs = 1e6 / tps), where adjusted(n) shuffles n
// inside groups of outOfOrderGroupSize events (1: no shuffle). Its content depends only on the
// seed and its event id (the PRNG is seeded per event), so subtask i of p generates the events
// n = i, i + p, i + 2p, ... and p subtasks together produce exactly the events of one.
//
// Delayed events: Nexmark's source holds back an event with probability probDelayedEvent for
// up to occasionalDelaySec seconds, so that it arrives after later events with its original
// timestamp. Here, with the same probability (drawn from a separate per-event PRNG stream, so
// that it does not change the events' content), event n stays at position n and its event time
// is moved back by a uniform delay in [1, occasionalDelaySec * 1000] ms: the same disorder (an
// event up to occasionalDelaySec older than those around it), without reordering across
// subtasks. The watermark strategy of the queries allows 4 s of out-of-orderness, as the
// Flink Nexmark DDL (WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND), so no event is
// late with the defaults.
//
// Differences from nexmark-flink: the PRNG is SplitMix64 (seeded per event id, so generation is
// deterministic and splittable; nexmark-flink's generator draws from an unseeded
// java.util.Random), and `extra` uses lowercase letters only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "flink/connectors.h"
#include "flink/datastream.h"

namespace flinkcpp::nexmark {

// ---- Model ------------------------------------------------------------------------------

struct Person {
  int64_t id = 0;
  std::string name;
  std::string emailAddress;
  std::string creditCard;
  std::string city;
  std::string state;
  int64_t dateTime = 0;  // ms since the epoch
  std::string extra;
  auto fields() { return std::tie(id, name, emailAddress, creditCard, city, state, dateTime, extra); }
  auto fields() const { return std::tie(id, name, emailAddress, creditCard, city, state, dateTime, extra); }
  bool operator==(const Person&) const = default;
};

struct Auction {
  int64_t id = 0;
  std::string itemName;
  std::string description;
  int64_t initialBid = 0;
  int64_t reserve = 0;
  int64_t dateTime = 0;
  int64_t expires = 0;
  int64_t seller = 0;
  int64_t category = 0;
  std::string extra;
  auto fields() {
    return std::tie(id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra);
  }
  auto fields() const {
    return std::tie(id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra);
  }
  bool operator==(const Auction&) const = default;
};

struct Bid {
  int64_t auction = 0;
  int64_t bidder = 0;
  int64_t price = 0;
  int64_t dateTime = 0;
  std::string extra;
  auto fields() { return std::tie(auction, bidder, price, dateTime, extra); }
  auto fields() const { return std::tie(auction, bidder, price, dateTime, extra); }
  bool operator==(const Bid&) const = default;
};

/// One Nexmark event: `type` says which member is valid (the others hold stale or default
/// values). Serialized compactly as the type and the valid member (TypeSerializer below).
struct Event {
  enum Type : int32_t { kPerson = 0, kAuction = 1, kBid = 2 };
  int32_t type = kBid;
  Person person;
  Auction auction;
  Bid bid;

  bool isPerson() const { return type == kPerson; }
  bool isAuction() const { return type == kAuction; }
  bool isBid() const { return type == kBid; }
  int64_t dateTime() const {
    return type == kPerson ? person.dateTime : type == kAuction ? auction.dateTime : bid.dateTime;
  }
  /// Equal type and equal valid member.
  bool sameAs(const Event& o) const {
    if (type != o.type) return false;
    return type == kPerson ? person == o.person : type == kAuction ? auction == o.auction : bid == o.bid;
  }
};

// ---- Generator --------------------------------------------------------------------------

/// Generator parameters, with Nexmark's defaults. Job arguments use Nexmark's option names
/// (see parseGeneratorOption).
struct GeneratorConfig {
  int64_t numEvents = 0;  // events.num; 0: unbounded
  int64_t tps = 10'000;   // tps / first-event.rate: events per second of event time, all subtasks together
  int personProportion = 1;
  int auctionProportion = 3;
  int bidProportion = 46;
  int hotAuctionRatio = 2;
  int hotSellersRatio = 4;
  int hotBiddersRatio = 4;
  int avgPersonByteSize = 200;
  int avgAuctionByteSize = 500;
  int avgBidByteSize = 100;
  int numActivePeople = 1000;
  int numInFlightAuctions = 100;
  int64_t outOfOrderGroupSize = 1;
  double probDelayedEvent = 0.1;
  int64_t occasionalDelaySec = 3;
  /// Event time of event 0 (ms since the epoch): a fixed instant so that runs are reproducible.
  int64_t baseTime = 1'436'918'400'000;  // 2015-07-15T00:00:00Z
  /// Use the wall clock when a source subtask opens as its base time (for latency runs; not
  /// reproducible, and subtasks' clocks differ by their start-up skew).
  bool wallclockBaseTime = false;
  uint64_t seed = 0;
  /// Emit event n no earlier than (start of the subtask) + (its undelayed event time - baseTime),
  /// i.e. at `tps` events per second of wall-clock time (Nexmark's rate.limited).
  bool rateLimited = false;
  /// Throttle: at most this many events per second of wall-clock time per source subtask
  /// (0: none), whatever their event times; for tests that need a job to run for a while.
  int64_t recordsPerSecond = 0;

  int totalProportion() const { return personProportion + auctionProportion + bidProportion; }
  double interEventDelayUs() const { return 1e6 / static_cast<double>(tps); }
  /// Event number n shuffled within its group of outOfOrderGroupSize events (Nexmark's
  /// nextAdjustedEventNumber).
  int64_t adjustedEventNumber(int64_t n) const {
    if (outOfOrderGroupSize <= 1) return n;
    int64_t base = (n / outOfOrderGroupSize) * outOfOrderGroupSize;
    return base + (n * 953) % outOfOrderGroupSize;
  }
  /// Undelayed event time of event number n (Nexmark's timestampForEvent), with `base`.
  int64_t timestampForEvent(int64_t eventNumber, int64_t base) const {
    return base + static_cast<int64_t>(static_cast<double>(eventNumber) * interEventDelayUs()) / 1000;
  }
  int64_t timestampForEvent(int64_t eventNumber) const { return timestampForEvent(eventNumber, baseTime); }
  /// Throws std::invalid_argument for inconsistent values.
  void validate() const;
};

/// Applies option `key` (without the leading "--") with `value`. Returns false for a key that
/// is not a generator option; throws std::invalid_argument for a bad value. Keys: events.num,
/// tps (alias first-event.rate), rate.limited, person.proportion, auction.proportion,
/// bid.proportion, bid.hot-ratio.auctions, bid.hot-ratio.bidders, auction.hot-ratio.sellers,
/// person.avg-size, auction.avg-size, bid.avg-size, num-active-people, num-in-flight-auctions,
/// out-of-order-group-size, prob-delayed-event, occasional-delay-sec, base-time (ms since the
/// epoch or "wallclock"), seed, records-per-second.
bool parseGeneratorOption(GeneratorConfig& config, const std::string& key, const std::string& value);

/// Nexmark's id arithmetic (base 0, i.e. before adding the first ids 1000).
int64_t lastBase0PersonId(const GeneratorConfig& c, int64_t eventId);
int64_t lastBase0AuctionId(const GeneratorConfig& c, int64_t eventId);

inline constexpr int64_t kFirstPersonId = 1000;
inline constexpr int64_t kFirstAuctionId = 1000;
inline constexpr int64_t kFirstCategoryId = 10;

/// Generates events by number. Stateless apart from its configuration: thread-compatible.
class Generator {
 public:
  explicit Generator(GeneratorConfig config)
      : c_(std::move(config)),
        interEventDelayUs_(c_.interEventDelayUs()),
        total_(c_.totalProportion()),
        delayThreshold_(c_.occasionalDelaySec > 0 ? static_cast<uint64_t>(c_.probDelayedEvent * 0x1.0p53) : 0) {}
  const GeneratorConfig& config() const { return c_; }
  /// config().timestampForEvent(eventNumber, base), without recomputing the inter-event delay.
  int64_t timestampForEvent(int64_t eventNumber, int64_t base) const {
    return base + static_cast<int64_t>(static_cast<double>(eventNumber) * interEventDelayUs_) / 1000;
  }
  /// Fills `out` with event number n (0-based) and returns its event time. Reuses the string
  /// capacity of `out`. `base` is the event time of event 0 (normally config().baseTime).
  int64_t generate(int64_t n, Event& out, int64_t base) const;
  int64_t generate(int64_t n, Event& out) const { return generate(n, out, c_.baseTime); }
  /// The delay in ms (0 if not delayed) by which event number n's event time is moved back.
  int64_t delayMs(int64_t eventId) const;

 private:
  int64_t delayFor(uint64_t eventSeed) const;
  GeneratorConfig c_;
  double interEventDelayUs_;
  int64_t total_;
  uint64_t delayThreshold_;  // probDelayedEvent * 2^53
};

// ---- Source -----------------------------------------------------------------------------

/// A Source of the events 0 .. numEvents-1 (unbounded if numEvents is 0); subtask i of p emits
/// the event numbers n = i (mod p) in increasing order, each with its event time as the record
/// timestamp. Checkpointed position: entries (parallelism, subtask, next event number), its own
/// and those it restored, so that a restore at any parallelism skips exactly the events emitted
/// before the checkpoint.
class NexmarkSource final : public flink::Source<Event> {
 public:
  explicit NexmarkSource(GeneratorConfig config) : config_(std::move(config)) {}
  std::unique_ptr<flink::SourceReader<Event>> createReader() const override;
  const GeneratorConfig& config() const { return config_; }

 private:
  GeneratorConfig config_;
};

/// The watermark strategy of the queries: bounded out-of-orderness (Nexmark's DDL: 4 s).
flink::WatermarkStrategy<Event> nexmarkWatermarks(int64_t maxOutOfOrdernessMs);

// ---- Sinks ------------------------------------------------------------------------------

/// Where a DiscardingSink writes latency samples, if anywhere.
struct LatencyOptions {
  std::string filePrefix;  // empty: no latency measurement
  int sampleEvery = 100;   // one sample per this many records
};

namespace detail {

/// `v` as an integer >= min; std::invalid_argument naming --key otherwise (job options).
int64_t parseInt64(const std::string& key, const std::string& v, int64_t min);
/// As parseInt64, and at most INT32_MAX.
int parseInt(const std::string& key, const std::string& v, int min);
/// Wall-clock time in ms since the epoch.
int64_t nowMs();

/// Counts what a DiscardingSink subtask received and (optionally) samples latencies: wall-clock
/// now minus the record's timestamp, in µs, written to `<prefix>.<subtask>` when the input
/// ends. Logs a summary line to stderr (the TaskManager log).
class DiscardCounter {
 public:
  explicit DiscardCounter(LatencyOptions latency) : latency_(std::move(latency)) {}
  void open(const flink::RuntimeContext& ctx);
  void record(int64_t timestamp) {
    ++count_;
    if (!latency_.filePrefix.empty() && --untilSample_ == 0) sample(timestamp);
  }
  void finish();

 private:
  void sample(int64_t timestamp);
  LatencyOptions latency_;
  std::string task_;
  int subtask_ = 0;
  uint64_t count_ = 0;
  int untilSample_ = 1;
  std::vector<int64_t> samplesUs_;
};
}  // namespace detail

/// A sink that drops its records and counts them (Flink's DiscardingSink / Nexmark's blackhole
/// connector), optionally measuring latency (see LatencyOptions).
template <class T>
class DiscardingSink final : public flink::Sink<T> {
 public:
  explicit DiscardingSink(LatencyOptions latency = {}) : latency_(std::move(latency)) {}
  std::unique_ptr<flink::SinkWriter<T>> createWriter() const override { return std::make_unique<Writer>(latency_); }

 private:
  class Writer final : public flink::SinkWriter<T> {
   public:
    explicit Writer(LatencyOptions latency) : counter_(std::move(latency)) {}
    flink::Status open(flink::RuntimeContext& ctx) override {
      counter_.open(ctx);
      return flink::Status::Ok();
    }
    void write(const T&, int64_t timestamp) override { counter_.record(timestamp); }
    flink::Status finish() override {
      counter_.finish();
      return flink::Status::Ok();
    }

   private:
    detail::DiscardCounter counter_;
  };
  LatencyOptions latency_;
};

// ---- What the jobs share ----------------------------------------------------------------

/// Arguments of every Nexmark job: the generator options plus
///   --output DIR            write CSV part files to DIR (FileSink); without it, discard
///   --watermark-delay MS    bounded out-of-orderness of the watermarks (default 4000)
///   --latency-file PREFIX   DiscardingSink: write latency samples (µs) to PREFIX.<subtask>
///   --latency-sample N      one latency sample per N records (default 100)
/// Values may be given as "--key value" or "--key=value".
struct JobOptions {
  GeneratorConfig generator;
  std::string output;
  int64_t watermarkDelayMs = 4000;
  LatencyOptions latency;
};
/// Throws std::invalid_argument naming the bad or unknown argument.
JobOptions parseJobOptions(const std::vector<std::string>& args);

/// The generated events as a stream with timestamps and watermarks.
flink::DataStream<Event> nexmarkEvents(flink::StreamExecutionEnvironment& env, const JobOptions& options);

/// Sinks `stream` to CSV part files in options.output (formatted by `encoder`), or to a
/// DiscardingSink when no output is set.
template <class T>
flink::DataStreamSink sinkResults(flink::DataStream<T> stream, const JobOptions& options,
                                  typename flink::FileSink<T>::Encoder encoder) {
  if (!options.output.empty()) {
    stream.env()->setGlobalJobParameter("output", options.output);
    return stream.sinkTo(flink::FileSink<T>::forRowFormat(options.output, std::move(encoder)), "csv");
  }
  return stream.sinkTo(std::make_shared<const DiscardingSink<T>>(options.latency), "discard");
}

/// CSV helpers: integers in decimal, strings as they are (generated strings contain no commas,
/// quotes or line breaks).
void appendInt(std::string* out, int64_t v);
/// Event as one CSV row of 24 columns: type, then the 8 person, 10 auction and 5 bid columns,
/// those of the other types empty (the layout of Nexmark's datagen table, flattened).
void formatEventCsv(const Event& e, std::string* out);
/// Bid columns: auction,bidder,price,dateTime,extra.
void formatBidCsv(const Bid& b, std::string* out);

}  // namespace flinkcpp::nexmark

namespace flink {
/// Compact Event encoding: the type, then only the valid member.
template <>
struct TypeSerializer<flinkcpp::nexmark::Event> {
  using Event = flinkcpp::nexmark::Event;
  static void serialize(const Event& v, DataOutputView& out) {
    out.writePod(v.type);
    switch (v.type) {
      case Event::kPerson: TypeSerializer<flinkcpp::nexmark::Person>::serialize(v.person, out); break;
      case Event::kAuction: TypeSerializer<flinkcpp::nexmark::Auction>::serialize(v.auction, out); break;
      default: TypeSerializer<flinkcpp::nexmark::Bid>::serialize(v.bid, out); break;
    }
  }
  static void deserialize(Event& v, DataInputView& in) {
    v.type = in.readPod<int32_t>();
    switch (v.type) {
      case Event::kPerson: TypeSerializer<flinkcpp::nexmark::Person>::deserialize(v.person, in); break;
      case Event::kAuction: TypeSerializer<flinkcpp::nexmark::Auction>::deserialize(v.auction, in); break;
      case Event::kBid: TypeSerializer<flinkcpp::nexmark::Bid>::deserialize(v.bid, in); break;
      default: throw SerializationError("bad Nexmark event type " + std::to_string(v.type));
    }
  }
};
}  // namespace flink
