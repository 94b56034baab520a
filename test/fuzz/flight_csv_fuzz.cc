// Fuzz target: the flight-delay source's CSV records (examples/jobs/flight_delays.h), one line
// per input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "flight_delays.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  flinkcpp::examples::Flight f;
  std::string error;
  bool ok = flinkcpp::examples::parseFlight(line, f, &error);
  if (ok == !error.empty()) __builtin_trap();  // exactly one of a record or an error
  if (ok) {
    // A parsed time formats back to the column it came from.
    std::string formatted;
    flinkcpp::examples::formatFlightTime(f.time, &formatted);
    if (line.substr(0, 16) != formatted) __builtin_trap();
  }
  return 0;
}
