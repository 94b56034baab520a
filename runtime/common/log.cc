#include "flink/common/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace flink::log {
namespace {
std::string& component() {
  static std::string c = "flink";
  return c;
}
}  // namespace

void setComponent(const std::string& name) { component() = name; }

void write(Level level, const std::string& message) {
  static const char* kNames[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
  std::string line = fmt::format("{}.{:03d} {} {} {}\n", ts, static_cast<int>(ms), kNames[static_cast<int>(level)],
                                 component(), message);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace flink::log
