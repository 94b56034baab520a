// Fuzz target: the data plane as a TaskManager receives it from another TaskManager
// (net/network_environment.h): a byte stream of frames (u32 length, u8 type, payload) as
// net::Connection cuts them, handed to InboundStreams (stream registration, buffers, close),
// and every buffer that reaches an input gate deserialized by a task's NetworkInput (records,
// watermarks, barriers, end of partition) of records of the flight-delay job's shape.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>

#include "fuzz_support.h"
#include "flink/io/network_input.h"
#include "net/network_environment.h"

namespace {

using namespace flink;
using Record = std::tuple<std::string, int32_t, std::vector<int64_t>>;

class Discard : public Output<Record> {
 public:
  void collect(Record&&, int64_t) override {}
  void emitWatermark(int64_t) override {}
  void endInput() override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* env = new net::NetworkEnvironment(Configuration());
  net::InboundStreams streams(*env, [](uint32_t, int) {});
  std::vector<std::string> keys;  // of the gates the frames named, released at the end
  try {
    size_t at = 0;
    while (size - at >= 5) {
      uint32_t len;
      std::memcpy(&len, data + at, 4);
      if (len == 0 || len > net::kMaxFrameBytes) break;  // as Connection::readLoop
      uint8_t type = data[at + 4];
      at += 5;
      size_t n = std::min<size_t>(len - 1, size - at);
      if (type == 1 && n >= 12) keys.emplace_back(reinterpret_cast<const char*>(data + at + 12), n - 12);
      streams.onFrame(type, Buffer(data + at, data + at + n));
      at += n;
    }
  } catch (const SerializationError&) {
    // The connection would be dropped.
  }
  streams.fail("end of input");
  // Drain what reached the gates into a task's input.
  TaskMetrics metrics;
  Discard out;
  for (const std::string& key : keys) {
    auto gate = env->gate(key, 1);
    NetworkInput<Record> input(&out, gate->numChannels(), &metrics);
    int channel;
    Buffer buffer;
    try {
      while (gate->poll(&channel, &buffer, 0)) {
        input.processBuffer(channel, buffer.data(), buffer.size());
        gate->recycle(channel);
      }
    } catch (const std::exception&) {
      // A malformed buffer or the failed gate: the task fails.
    }
    env->releaseGate(key);
  }
  return 0;
}
