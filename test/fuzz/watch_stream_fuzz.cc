// Fuzz target: a Kubernetes watch stream (WatchStreamDecoder), cut into chunks. The first byte
// of the input sets the chunk size; the decoder's line limit is small so that it is reached.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "k8s/watch_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = data[0] % 64 + 1;
  flink::k8s::WatchStreamDecoder decoder(4096);
  size_t events = 0;
  for (size_t at = 1; at < size; at += chunk) {
    size_t n = std::min(chunk, size - at);
    auto outcome = decoder.feed(reinterpret_cast<const char*>(data + at), n, [&](const nlohmann::json& event) {
      ++events;
      (void)event.contains("type");
      return events < 1000;
    });
    if (outcome != flink::k8s::WatchStreamDecoder::Outcome::kContinue) break;
    if (decoder.pending() > 4096) __builtin_trap();  // the limit holds
  }
  return 0;
}
