// The processes of a local cluster: `flink-cpp <role> ...` children of this process (the same
// executable), each with FLINK_CONF_DIR set and stdout+stderr in its own log file. Children get
// SIGKILL when the runner dies (PR_SET_PDEATHSIG), so none outlives it. Not thread-safe: one
// thread spawns, polls and stops.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "flink/status.h"

namespace flink {

struct ChildProcess {
  std::string name;  // e.g. "jobmanager", "taskmanager-0-3"
  pid_t pid = -1;    // -1 once reaped (or never started)
  std::string log;   // path of its stdout+stderr
};

class ProcessGroup {
 public:
  /// confDir becomes the children's FLINK_CONF_DIR; logs go to logDir/NAME.log.
  ProcessGroup(std::string confDir, std::string logDir);
  /// stopAll().
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  /// Starts `flink-cpp args...` named `name` in slot `slot`: replaces the (exited) process
  /// there, or appends when slot == size(). Errors when fork fails.
  Status spawn(size_t slot, const std::string& name, const std::vector<std::string>& args);
  /// Whether the slot's process still runs; reaps it when it exited (its wait status then goes
  /// to *exitStatus when given). Never blocks.
  bool alive(size_t slot, int* exitStatus = nullptr);
  const ChildProcess& operator[](size_t slot) const { return children_[slot]; }
  size_t size() const { return children_.size(); }

  /// SIGTERM to every child, the last started first; SIGKILL to those still running after
  /// 10 s; reaps them all. Idempotent.
  void stopAll();
  /// Peak resident set size (VmHWM) of each child, "NAME 12.3 MB, ..." in slot order (0.0 MB
  /// for one that is no longer running).
  std::string peakRssSummary() const;

 private:
  std::string confDir_;
  std::string logDir_;
  std::vector<ChildProcess> children_;
};

/// "exit code N" or "killed by signal N" for a waitpid status.
std::string describeExit(int status);

/// The last `lines` lines of a text file, each indented by four spaces and ending in "\n".
std::string tailLines(const std::string& path, size_t lines);

}  // namespace flink
