// Readiness and liveness probes: tcpSocket (connect from the host to podIP:port through the
// bridge), httpGet (GET http://podIP:port/path, 2xx/3xx is success) and exec (the command in
// the container's network and mount namespaces, via nsenter; exit 0 is success). Ports may be
// numbers or container port names. startupProbe and grpc probes are not supported.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "container_spec.h"

namespace kubelet {

/// Runs one probe attempt (blocking for at most the probe's timeoutSeconds, default 1).
/// pid: the container's process (for exec probes, which run in its network, mount and UTS
/// namespaces as runAs). Thread-safe.
bool runProbe(const nlohmann::json& probe, const nlohmann::json& container, const std::string& podIP, pid_t pid,
              const RunAs& runAs = {});

/// The argv prefix that runs a command in the namespaces of process pid (network, mount, UTS)
/// and its working directory, as runAs: nsenter -t PID -n -m -u -w [setpriv ...] --. The
/// command's words follow it (looked up in the PATH of the environment it is started with).
std::vector<std::string> enterArgv(pid_t pid, const RunAs& runAs);

/// The verdict of one probe of one container run: initialDelaySeconds, periodSeconds (10),
/// failureThreshold (3), successThreshold (1). Not thread-safe (one owner).
class ProbeTracker {
 public:
  using Clock = std::chrono::steady_clock;
  /// initial: the verdict before the thresholds are reached (false for readiness, true for liveness).
  ProbeTracker(nlohmann::json probe, Clock::time_point started, bool initial);
  bool due(Clock::time_point now) const { return now >= next_; }
  /// Records an attempt made at now and schedules the next one.
  void record(bool success, Clock::time_point now);
  bool verdict() const { return verdict_; }
  const nlohmann::json& probe() const { return probe_; }

 private:
  nlohmann::json probe_;
  Clock::time_point next_;
  int failures_ = 0;
  int successes_ = 0;
  bool verdict_;
};

}  // namespace kubelet
