// Container logs of the test kubelet, as `kubectl logs` reads them: each container's output is
// appended to one file per container (<work-dir>/<ns>/<pod>/<container>.log) across restarts,
// and each run of the container is the byte range [begin, end) of that file. These pure
// functions pick the run a request reads (the current or --previous instance) with the real
// kubelet's error wording, and cut it to --tail lines or --limit-bytes. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "flink/status.h"
#include "status.h"

namespace kubelet {

/// One run (instance) of a container: a byte range of its log file; end is unset while it runs.
struct LogRun {
  uint64_t begin = 0;
  std::optional<uint64_t> end;
};

/// The query of GET /containerLogs/{ns}/{pod}/{container}.
struct LogQuery {
  bool follow = false;
  bool previous = false;
  std::optional<int64_t> tailLines;   // last N lines (0: none)
  std::optional<int64_t> limitBytes;  // at most N bytes
};

/// Parses the query parameters follow, previous, tailLines and limitBytes (other parameters
/// are ignored). Errors: a non-boolean follow/previous, a negative or non-integer number.
/// get(name) returns the parameter's value or nullopt when absent.
template <typename Get>
flink::Result<LogQuery> parseLogQuery(Get get);

/// The run a request reads, as the kubelet chooses the container instance: previous: the one
/// lastState.terminated describes; else the running one, or the terminated one, or (waiting
/// to restart) the last one. Errors (HTTP 400) in the kubelet's words, e.g.
/// `previous terminated container "c" in pod "p" not found`,
/// `container "c" in pod "p" is waiting to start: image can't be pulled`.
flink::Result<LogRun> selectLogRun(const ContainerRecord& rec, const std::vector<LogRun>& runs, bool previous,
                                   const std::string& pod);

/// The offset in text where its last n lines start (a final line without newline counts).
size_t tailStart(const std::string& text, int64_t n);

/// Parses a base-10 integer; nullopt unless the whole string is one.
std::optional<int64_t> parseInteger(const std::string& s);

template <typename Get>
flink::Result<LogQuery> parseLogQuery(Get get) {
  LogQuery q;
  for (auto [name, field] : {std::pair<const char*, bool*>{"follow", &q.follow}, {"previous", &q.previous}}) {
    std::optional<std::string> v = get(name);
    if (!v || v->empty()) continue;
    if (*v != "true" && *v != "false" && *v != "1" && *v != "0") {
      return flink::Status::Error(std::string(name) + ": invalid boolean \"" + *v + "\"");
    }
    *field = *v == "true" || *v == "1";
  }
  for (auto [name, field] : {std::pair<const char*, std::optional<int64_t>*>{"tailLines", &q.tailLines},
                             {"limitBytes", &q.limitBytes}}) {
    std::optional<std::string> v = get(name);
    if (!v || v->empty()) continue;
    std::optional<int64_t> n = parseInteger(*v);
    if (!n || *n < 0) return flink::Status::Error(std::string(name) + ": must be a non-negative integer, got \"" + *v + "\"");
    *field = n;
  }
  return q;
}

}  // namespace kubelet
