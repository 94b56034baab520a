// The flight-delay job: per airport and tumbling event-time window, the number of departures,
// their total and their maximum departure delay.
//
// Input: CSV `date,delay,distance,origin,destination` with a header line (plain or .gz);
// `date` (YYYY-MM-DDTHH:MM, UTC) is the event time. Malformed lines are counted and skipped.
// Output: part files in --output, one line per (window, key):
//   window_start,window_end,key,flights,total_delay_min,max_delay_min   (times YYYY-MM-DDTHH:MM)
// total_delay_min is the sum of the delays (early departures count negative).
//
// Arguments: --input PATH --output DIR [--key origin|destination] [--window 1 h]
//            [--max-out-of-orderness 0 ms] [--records-per-second N]  (throttle per source subtask)
//            [--monitor-interval DURATION]  (unbounded: watch the input directory for new files)
// --input names a file, a directory (every file below it) or a glob, read as splits (a file per
// gzip file, 8 MiB byte ranges of plain text) that the JobManager hands to the source subtasks.
#include <charconv>
#include <climits>
#include <stdexcept>

#include "flink/connectors.h"
#include "flink/job.h"
#include "flight_delays.h"

namespace flinkcpp::examples {
namespace {

using namespace flink;

/// What crosses the network: the key and the delay (the timestamp travels with the record).
struct KeyedDelay {
  std::string key;
  int32_t delay = 0;
  auto fields() { return std::tie(key, delay); }
  auto fields() const { return std::tie(key, delay); }
};

struct DelayStats {
  int64_t flights = 0;
  int64_t totalDelay = 0;
  int64_t maxDelay = INT64_MIN;
  auto fields() { return std::tie(flights, totalDelay, maxDelay); }
  auto fields() const { return std::tie(flights, totalDelay, maxDelay); }
};

class DelayAggregate final : public AggregateFunction<KeyedDelay, DelayStats, DelayStats> {
 public:
  DelayStats createAccumulator() const override { return {}; }
  void add(const KeyedDelay& v, DelayStats& acc) const override {
    acc.flights += 1;
    acc.totalDelay += v.delay;
    acc.maxDelay = std::max<int64_t>(acc.maxDelay, v.delay);
  }
  DelayStats getResult(const DelayStats& acc) const override { return acc; }
  DelayStats merge(const DelayStats& a, const DelayStats& b) const override {
    return {a.flights + b.flights, a.totalDelay + b.totalDelay, std::max(a.maxDelay, b.maxDelay)};
  }
};

// Days since 1970-01-01 of a civil date, and back (H. Hinnant, "chrono-Compatible Low-Level
// Date Algorithms").
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool parseDigits(std::string_view s, int* out) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

/// Strict YYYY-MM-DDTHH:MM (UTC) to ms since the epoch.
bool parseFlightTime(std::string_view s, int64_t* ms) {
  if (s.size() != 16 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':') return false;
  int y, mo, d, h, mi;
  if (!parseDigits(s.substr(0, 4), &y) || !parseDigits(s.substr(5, 2), &mo) || !parseDigits(s.substr(8, 2), &d) ||
      !parseDigits(s.substr(11, 2), &h) || !parseDigits(s.substr(14, 2), &mi)) {
    return false;
  }
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || d < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0)) return false;
  *ms = ((daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 24 + h) * 60 + mi) * 60000;
  return true;
}

/// ms since the epoch to YYYY-MM-DDTHH:MM (UTC), appended to *out.
void formatFlightTime(int64_t ms, std::string* out) {
  int64_t minutes = ms / 60000 - (ms % 60000 < 0 ? 1 : 0);
  int64_t days = minutes / 1440;
  int64_t rem = minutes % 1440;
  if (rem < 0) {
    rem += 1440;
    --days;
  }
  int64_t y;
  unsigned m, d;
  civilFromDays(days, &y, &m, &d);
  char buf[40];
  int n = std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02d:%02d", static_cast<long long>(y), m, d,
                        static_cast<int>(rem / 60), static_cast<int>(rem % 60));
  out->append(buf, static_cast<size_t>(n));
}

namespace {

bool parseInt(std::string_view s, int32_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

bool parseFlight(std::string_view line, Flight& f, std::string* error) {
  std::string_view cols[5];
  size_t n = 0, start = 0;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == ',') {
      if (n == 5) {
        *error = "expected 5 columns (date,delay,distance,origin,destination), got more";
        return false;
      }
      cols[n++] = line.substr(start, i - start);
      start = i + 1;
    }
  }
  if (n != 5) {
    *error = "expected 5 columns (date,delay,distance,origin,destination), got " + std::to_string(n);
    return false;
  }
  if (!parseFlightTime(cols[0], &f.time)) {
    *error = "bad date '" + std::string(cols[0]) + "' (expected YYYY-MM-DDTHH:MM)";
    return false;
  }
  if (!parseInt(cols[1], &f.delay)) {
    *error = "non-numeric delay '" + std::string(cols[1]) + "'";
    return false;
  }
  if (!parseInt(cols[2], &f.distance)) {
    *error = "non-numeric distance '" + std::string(cols[2]) + "'";
    return false;
  }
  if (cols[3].empty() || cols[4].empty()) {
    *error = "empty origin or destination";
    return false;
  }
  f.origin.assign(cols[3]);
  f.destination.assign(cols[4]);
  return true;
}

namespace {

void flightDelays(StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
  std::string input, output, key = "origin", window = "1 h", outOfOrderness = "0 ms", monitor;
  int64_t rate = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::invalid_argument("argument " + args[i] + " needs a value");
      return args[++i];
    };
    if (args[i] == "--input") {
      input = value();
    } else if (args[i] == "--output") {
      output = value();
    } else if (args[i] == "--key") {
      key = value();
    } else if (args[i] == "--window") {
      window = value();
    } else if (args[i] == "--max-out-of-orderness") {
      outOfOrderness = value();
    } else if (args[i] == "--monitor-interval") {
      monitor = value();
    } else if (args[i] == "--records-per-second") {
      std::string v = value();
      auto r = std::from_chars(v.data(), v.data() + v.size(), rate);
      if (r.ec != std::errc() || r.ptr != v.data() + v.size() || rate < 0) {
        throw std::invalid_argument("--records-per-second: '" + v + "' is not a non-negative integer");
      }
    } else {
      throw std::invalid_argument("unknown argument '" + args[i] +
                                  "' (expected --input, --output, --key, --window, --max-out-of-orderness, "
                                  "--records-per-second, --monitor-interval)");
    }
  }
  if (input.empty()) throw std::invalid_argument("--input PATH is required");
  if (output.empty()) throw std::invalid_argument("--output DIR is required");
  if (key != "origin" && key != "destination") {
    throw std::invalid_argument("--key must be 'origin' or 'destination', got '" + key + "'");
  }
  auto windowMs = parseDurationMs(window);
  if (!windowMs.ok()) throw std::invalid_argument("--window: " + windowMs.status().message());
  if (*windowMs <= 0) throw std::invalid_argument("--window must be positive");
  auto oooMs = parseDurationMs(outOfOrderness);
  if (!oooMs.ok()) throw std::invalid_argument("--max-out-of-orderness: " + oooMs.status().message());
  int64_t monitorMs = 0;
  if (!monitor.empty()) {
    auto ms = parseDurationMs(monitor);
    if (!ms.ok()) throw std::invalid_argument("--monitor-interval: " + ms.status().message());
    if (*ms <= 0) throw std::invalid_argument("--monitor-interval must be positive");
    monitorMs = *ms;
  }
  env.setGlobalJobParameter("input", input);
  env.setGlobalJobParameter("output", output);

  bool byOrigin = key == "origin";
  auto strategy = WatermarkStrategy<Flight>::forBoundedOutOfOrderness(*oooMs).withTimestampAssigner(
      [](const Flight& f, int64_t) { return f.time; });
  auto source = FileSource<Flight>::forLines(input, parseFlight, /*skipHeaderLines=*/1, rate);
  if (monitorMs > 0) source = source->monitorContinuously(monitorMs);
  env.fromSource<Flight>(source, strategy, "flights")
      .map([byOrigin](const Flight& f) { return KeyedDelay{byOrigin ? f.origin : f.destination, f.delay}; },
           "Project")
      .keyBy([](const KeyedDelay& d) { return d.key; })
      .window(TumblingEventTimeWindows::of(*windowMs))
      .aggregate<std::string>(
          std::make_shared<const DelayAggregate>(),
          [](const std::string& k, const TimeWindow& w, DelayStats&& s, Collector<std::string>& out) {
            std::string line;
            formatFlightTime(w.start, &line);
            line += ',';
            formatFlightTime(w.end, &line);
            line += ',' + k + ',' + std::to_string(s.flights) + ',' + std::to_string(s.totalDelay) + ',' +
                    std::to_string(s.maxDelay);
            out.collect(std::move(line));
          },
          "DelayStats")
      .sinkTo(FileSink<std::string>::forRowFormat(output, [](const std::string& v, std::string* line) { *line = v; }),
              "part files");
  env.execute("flight-delays");
}

}  // namespace

FLINK_JOB("flinkcpp.examples.FlightDelays", flightDelays);

}  // namespace flinkcpp::examples
