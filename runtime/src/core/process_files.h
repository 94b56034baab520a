// The files a JobManager or TaskManager process writes its output to, as Flink's REST API
// serves them (/jobmanager/log, /jobmanager/stdout, /jobmanager/logs and the TaskManagers'
// equivalents): the log file is `log.file` of the configuration (Flink's key) or else the
// regular file behind the process's stderr; stdout is the regular file behind its stdout
// (both are the same file when a launcher such as run-local sends both there). A process whose
// output goes to a pipe or a terminal (a container's log) has no such file. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>

#include "flink/configuration.h"
#include "flink/status.h"

namespace flink::process_files {

/// The most of a file's end that is served (its head is cut): 4 MiB.
inline constexpr size_t kMaxServedBytes = 4u << 20;

/// The process's log file, or "" when it has none.
std::string logFile(const Configuration& config);
/// The regular file behind the process's stdout, or "" when there is none.
std::string stdoutFile();

/// "log", "stdout" or the name of a file in the log file's directory: its last kMaxServedBytes,
/// with bytes that are not UTF-8 replaced by '?'; an error when the process has no such file
/// (a name with '/' or starting with '.' is never found).
Result<std::string> read(const Configuration& config, const std::string& which);

/// Flink's LogListInfo: {"logs": [{"name", "size", "mtime"}]} of the regular files in the log
/// file's directory (none when the process has no log file).
nlohmann::json list(const Configuration& config);

/// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by '?'.
std::string toValidUtf8(std::string text);

}  // namespace flink::process_files
