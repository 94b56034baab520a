#include "flink/common/ids.h"

#include <fmt/format.h>

#include <random>

namespace flink {

std::string randomId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

}  // namespace flink
