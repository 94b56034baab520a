// The pod status the test kubelet reports: container states as the kubelet tracks them and
// the pods/status document computed from them (phase, conditions, containerStatuses,
// initContainerStatuses, hostIP, podIP(s), startTime). Pure functions, thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace kubelet {

struct ContainerState {
  enum Kind { kWaiting, kRunning, kTerminated };
  Kind kind = kWaiting;
  /// waiting: ContainerCreating, PodInitializing, ErrImagePull, CrashLoopBackOff,
  /// CreateContainerConfigError; terminated: Completed, Error.
  std::string reason = "ContainerCreating";
  std::string message;
  int exitCode = 0;
  std::string startedAt;   // running and terminated
  std::string finishedAt;  // terminated
};

struct ContainerRecord {
  std::string name;
  std::string image;
  ContainerState state;
  std::optional<ContainerState> lastTerminated;  // lastState.terminated
  int restartCount = 0;
  bool ready = false;
};

/// Everything the kubelet knows about one pod's containers.
struct PodView {
  std::vector<ContainerRecord> initContainers;
  std::vector<ContainerRecord> containers;
  std::string restartPolicy = "Always";
  std::string podIP;
  std::string hostIP;
  std::string startTime;
};

/// UTC RFC 3339 with seconds: 2024-05-01T12:00:00Z.
std::string rfc3339(std::time_t t);
/// "Completed" for exit code 0, else "Error".
std::string terminatedReason(int exitCode);

nlohmann::json containerStateJson(const ContainerState& s);
nlohmann::json containerStatusJson(const ContainerRecord& c);

/// Pending (initializing, images missing, nothing started yet), Running (a container runs or
/// restarts), Succeeded (all containers ended with 0 and none will restart), Failed (all ended,
/// one non-zero and none will restart; or an init container failed under restartPolicy Never).
std::string podPhase(const PodView& view);

/// The status document. Conditions keep their lastTransitionTime from previous (the pod's
/// current status) while their status is unchanged; otherwise they get now.
nlohmann::json podStatus(const PodView& view, const nlohmann::json& previous, const std::string& now);

}  // namespace kubelet
