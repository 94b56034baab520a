// Minimal logging to stderr: "2026-01-01 12:00:00.123 INFO  component  message".
// Thread-safe (one write per line).
#pragma once

#include <fmt/format.h>

#include <string>

namespace flink::log {

enum class Level { kDebug, kInfo, kWarn, kError };
void setComponent(const std::string& name);
void write(Level level, const std::string& message);

template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace flink::log
