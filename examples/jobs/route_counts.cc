// An example of a job packaged as a shared library, loaded by the runtime at submission
// (job.jarURI pointing at the .so; see README "Writing your own job").
//
// Counts flights per route (origin-destination) and day of the flight-delay data set.
// Arguments: --input PATH --output DIR [--records-per-second N]  (throttle per source subtask, for tests)
// Output lines: day_start,route,flights   (day_start as epoch milliseconds)
#include <charconv>
#include <stdexcept>

#include "flink/connectors.h"
#include "flink/job.h"

namespace {

using namespace flink;

struct RouteEvent {
  int64_t time = 0;
  std::string route;
  auto fields() { return std::tie(time, route); }
  auto fields() const { return std::tie(time, route); }
};

struct Count final : AggregateFunction<RouteEvent, int64_t, int64_t> {
  int64_t createAccumulator() const override { return 0; }
  void add(const RouteEvent&, int64_t& acc) const override { ++acc; }
  int64_t getResult(const int64_t& acc) const override { return acc; }
  int64_t merge(const int64_t& a, const int64_t& b) const override { return a + b; }
};

// Days since the epoch of YYYY-MM-DD (H. Hinnant's days_from_civil).
bool parseDay(std::string_view s, int64_t* ms) {
  int y = 0, m = 0, d = 0;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return false;
  if (std::from_chars(s.data(), s.data() + 4, y).ec != std::errc() ||
      std::from_chars(s.data() + 5, s.data() + 7, m).ec != std::errc() ||
      std::from_chars(s.data() + 8, s.data() + 10, d).ec != std::errc() || m < 1 || m > 12 || d < 1 || d > 31) {
    return false;
  }
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  *ms = (era * 146097 + static_cast<int64_t>(doe) - 719468) * 86400000;
  return true;
}

bool parse(std::string_view line, RouteEvent& out, std::string* error) {
  size_t c1 = line.find(','), c2 = line.find(',', c1 + 1), c3 = line.find(',', c2 + 1), c4 = line.find(',', c3 + 1);
  if (c4 == std::string_view::npos || !parseDay(line.substr(0, c1), &out.time)) {
    *error = "not a flight record";
    return false;
  }
  out.route = std::string(line.substr(c3 + 1, c4 - c3 - 1)) + "-" + std::string(line.substr(c4 + 1));
  return true;
}

void routeCounts(StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
  std::string input, output;
  int64_t rate = 0;
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    if (args[i] == "--input") input = args[i + 1];
    if (args[i] == "--output") output = args[i + 1];
    if (args[i] == "--records-per-second") {
      const std::string& v = args[i + 1];
      auto r = std::from_chars(v.data(), v.data() + v.size(), rate);
      if (r.ec != std::errc() || r.ptr != v.data() + v.size() || rate < 0) {
        throw std::invalid_argument("--records-per-second: '" + v + "' is not a non-negative integer");
      }
    }
  }
  if (input.empty() || output.empty()) throw std::invalid_argument("usage: --input PATH --output DIR [--records-per-second N]");
  env.setGlobalJobParameter("output", output);
  env.fromSource<RouteEvent>(FileSource<RouteEvent>::forLines(input, parse, 1, rate),
                             WatermarkStrategy<RouteEvent>::forMonotonousTimestamps().withTimestampAssigner(
                                 [](const RouteEvent& e, int64_t) { return e.time; }),
                             "flights")
      .keyBy([](const RouteEvent& e) { return e.route; })
      .window(TumblingEventTimeWindows::of(86400000))
      .aggregate<std::string>(std::make_shared<const Count>(),
                              [](const std::string& route, const TimeWindow& w, int64_t&& n, Collector<std::string>& out) {
                                out.collect(std::to_string(w.start) + "," + route + "," + std::to_string(n));
                              })
      .sinkTo(FileSink<std::string>::forRowFormat(output, [](const std::string& v, std::string* l) { *l = v; }));
  env.execute("route-counts");
}

}  // namespace

FLINK_JOB("com.example.RouteCounts", routeCounts);
