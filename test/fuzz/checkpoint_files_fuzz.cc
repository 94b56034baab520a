// Fuzz target: checkpoint files read from shared storage: `_metadata` and task state files
// (checkpoint/storage.h), as whole files (header, CRC) and as payloads behind a valid header.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzz_support.h"
#include "checkpoint/storage.h"

namespace {

flink::Buffer withHeader(const char magic[4], const uint8_t* data, size_t size) {
  flink::Buffer file(16 + size);
  uint32_t c = static_cast<uint32_t>(crc32(0L, data, static_cast<uInt>(size)));
  uint64_t n = size;
  std::memcpy(file.data(), magic, 4);
  std::memcpy(file.data() + 4, &c, 4);
  std::memcpy(file.data() + 8, &n, 8);
  if (size) std::memcpy(file.data() + 16, data, size);
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace flink::checkpoint;
  flink::Buffer raw(data, data + size);
  (void)decodeMetadata(raw, "_metadata");
  (void)decodeTaskState(raw, "state");
  auto meta = decodeMetadata(withHeader("FCM1", data, size), "_metadata");
  if (meta.ok()) {
    // What was accepted writes back and reads back the same.
    std::string text = meta->toJson().dump();
    auto again = decodeMetadata(withHeader("FCM1", reinterpret_cast<const uint8_t*>(text.data()), text.size()), "again");
    if (!again.ok() || again->toJson() != meta->toJson()) __builtin_trap();
  }
  (void)decodeTaskState(withHeader("FCS1", data, size), "state");
  return 0;
}
