// Logging to stderr in Flink's console layout (its log4j-console.properties pattern
// "%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n"):
//   2026-01-01 12:00:00,123 INFO  org.apache.flink.runtime.jobmanager    [] - message
// Each process logs under one logger, named after its component (setComponent): jobmanager ->
// org.apache.flink.runtime.jobmanager, taskmanager -> org.apache.flink.runtime.taskexecutor,
// operator -> org.apache.flink.kubernetes.operator, any other c -> org.apache.flink.c. Levels
// come from the root logger and named loggers (a logger applies to its name and the names below
// it: org.apache.flink.runtime covers the JobManager and the TaskManager), as log4j's
// configuration sets them (configureFromDirectory). Thread-safe (one write per line).
#pragma once

#include <fmt/format.h>

#include <map>
#include <string>

#include "flink/status.h"

namespace flink::log {

enum class Level { kDebug, kInfo, kWarn, kError, kOff };
void setComponent(const std::string& name);
/// The logger name of the process (see above).
std::string loggerName();
/// The root level and per-logger levels (logger name -> level); replaces earlier settings.
void setLevels(Level root, std::map<std::string, Level> loggers);
/// Whether a line of `level` is written under the current settings.
bool enabled(Level level);
void write(Level level, const std::string& message);

/// Reads the levels from `dir`/`file` when it exists: log4j 2 properties (rootLogger.level,
/// rootLogger = LEVEL[, appenders], logger.<id>.name + logger.<id>.level), log4j 1 properties
/// (log4j.rootLogger = LEVEL[, ...], log4j.logger.<name> = LEVEL[, ...]), or, for a name ending in
/// .xml, logback (<root level="...">, <logger name="..." level="...">). Levels TRACE/ALL read
/// as DEBUG, FATAL as ERROR. Returns true when the file was read and applied, false when it is
/// absent; an error names the file, line and value it cannot read (nothing is applied then).
Result<bool> configureFromFile(const std::string& dir, const std::string& file);
/// The runtime's logging configuration: log4j-console.properties in `dir`, else
/// logback-console.xml (what a FlinkDeployment's spec.logConfiguration puts there).
Result<bool> configureFromDirectory(const std::string& dir);

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kDebug)) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
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
