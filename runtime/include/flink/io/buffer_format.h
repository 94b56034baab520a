// Internal: the format of a network buffer, shared by RecordWriter (flink/io/record_writer.h)
// and NetworkInput (flink/io/network_input.h).
#pragma once

#include <cstdint>

namespace flink {

/// Element tags inside a network buffer. A buffer holds whole elements:
/// record = tag, i64 timestamp, serialized value; watermark = tag, i64; end = tag.
/// barrier = tag, i64 checkpoint id (Carbone et al., "Lightweight Asynchronous Snapshots for
/// Distributed Dataflows", 2015).
enum : uint8_t { kTagRecord = 0, kTagWatermark = 1, kTagEndOfPartition = 2, kTagBarrier = 3 };

}  // namespace flink
