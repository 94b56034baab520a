// Fuzz target: Flink duration and memory-size strings (parseDurationMs, parseMemoryBytes) and
// their round trip through formatDurationMs.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "flink/configuration.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto ms = flink::parseDurationMs(text);
  if (ms.ok() && *ms >= 0) {
    auto again = flink::parseDurationMs(flink::formatDurationMs(*ms));
    if (!again.ok() || *again != *ms) __builtin_trap();
  }
  (void)flink::parseMemoryBytes(text);
  return 0;
}
