// The Nexmark source, sinks, job options and CSV format (examples/jobs/nexmark/nexmark.h), and
// the generator job flinkcpp.nexmark.Generate: the events as CSV (--output DIR), or, without
// --output, into a DiscardingSink (the "source only" baseline of the benchmark).
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
using detail::nowMs;
using detail::parseInt;
using detail::parseInt64;

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
