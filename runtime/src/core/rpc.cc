#include "core/rpc.h"

#include <fmt/format.h>

#include <random>

namespace flink::rpc {

std::string randomId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

}  // namespace flink::rpc
