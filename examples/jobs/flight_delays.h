// The flight-delay job's input records (flight_delays.cc), exposed for tests and fuzzing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

namespace flinkcpp::examples {

/// One CSV line `date,delay,distance,origin,destination`.
struct Flight {
  int64_t time = 0;  // ms since epoch
  int32_t delay = 0;
  int32_t distance = 0;
  std::string origin;
  std::string destination;
  auto fields() { return std::tie(time, delay, distance, origin, destination); }
  auto fields() const { return std::tie(time, delay, distance, origin, destination); }
};

/// Parses one CSV line into `f`; false with *error set (naming the bad column) otherwise.
bool parseFlight(std::string_view line, Flight& f, std::string* error);
/// Strict YYYY-MM-DDTHH:MM (UTC) to ms since the epoch.
bool parseFlightTime(std::string_view s, int64_t* ms);
/// ms since the epoch to YYYY-MM-DDTHH:MM (UTC), appended to *out.
void formatFlightTime(int64_t ms, std::string* out);

}  // namespace flinkcpp::examples
