// Random identifiers shared by the runtime and the operator. Thread-safe.
#pragma once

#include <string>

namespace flink {

/// A random 32-hex-character id (Flink's JobID, ResourceID, trigger ids), from a per-thread
/// 64-bit Mersenne Twister seeded by std::random_device. Not for secrets.
std::string randomId();

}  // namespace flink
