// TaskMetrics (flink/operators/stream_operator.h).
#include "flink/operators/stream_operator.h"

namespace flink {

std::vector<std::pair<std::string, double>> TaskMetrics::snapshot() const {
  auto v = [](const std::atomic<uint64_t>& c) { return static_cast<double>(c.load(std::memory_order_relaxed)); };
  return {{"numRecordsIn", v(numRecordsIn)},
          {"numRecordsOut", v(numRecordsOut)},
          {"numRecordsDropped", v(numRecordsDropped)},
          {"numLateRecordsDropped", v(numLateRecordsDropped)},
          {"numFiredWindows", v(numFiredWindows)},
          {"numBytesIn", v(numBytesIn)},
          {"numBytesOut", v(numBytesOut)},
          {"sourceBytesRead", v(sourceBytesRead)},
          {"sourceBytesTotal", v(sourceBytesTotal)},
          {"idleTimeMs", v(idleTimeMs)},
          {"backPressuredTimeMs", v(backPressuredTimeMs)},
          {"currentInputWatermark", static_cast<double>(currentInputWatermark.load(std::memory_order_relaxed))}};
}

}  // namespace flink
