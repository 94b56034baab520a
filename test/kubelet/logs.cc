#include "logs.h"

#include <cerrno>
#include <cstdlib>

namespace kubelet {

flink::Result<LogRun> selectLogRun(const ContainerRecord& rec, const std::vector<LogRun>& runs, bool previous,
                                   const std::string& pod) {
  const std::string who = "container \"" + rec.name + "\" in pod \"" + pod + "\"";
  const bool terminated = rec.state.kind == ContainerState::kTerminated;
  if (previous) {
    // lastState.terminated: the run before the current one (running, or ended for good), or
    // the last one while the container waits to restart.
    size_t back = rec.state.kind == ContainerState::kWaiting ? 1 : 2;
    if (!rec.lastTerminated || runs.size() < back) {
      return flink::Status::Error("previous terminated container \"" + rec.name + "\" in pod \"" + pod + "\" not found");
    }
    return runs[runs.size() - back];
  }
  if (!runs.empty() && (rec.state.kind == ContainerState::kRunning || terminated || rec.lastTerminated)) {
    return runs.back();
  }
  if (terminated) return flink::Status::Error(who + " is terminated");
  if (rec.state.reason == "ErrImagePull") return flink::Status::Error(who + " is waiting to start: image can't be pulled");
  if (rec.state.reason == "ImagePullBackOff") {
    return flink::Status::Error(who + " is waiting to start: trying and failing to pull image");
  }
  return flink::Status::Error(who + " is waiting to start: " + rec.state.reason);
}

size_t tailStart(const std::string& text, int64_t n) {
  if (n <= 0) return text.size();
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;  // the final newline ends the last line
  while (pos > 0) {
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) return 0;
    if (--n == 0) return nl + 1;
    pos = nl;
  }
  return 0;
}

std::optional<int64_t> parseInteger(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || !end || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(v);
}

}  // namespace kubelet
