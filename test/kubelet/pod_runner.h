// Runs one pod on the test kubelet, on its own thread: network namespace and address, hosts
// file, volumes, init containers in order (each to completion), then the containers with
// restarts per restartPolicy (back-off 1 s doubling to 30 s, reset after 60 s of running),
// readiness and liveness probes. Pods with an image this kubelet cannot run start nothing:
// those containers wait with ErrImagePull, the others with ContainerCreating.
// requestStop() terminates the pod: SIGTERM to every process group, then SIGKILL after
// terminationGracePeriodSeconds (capped at 10 s), then the network is removed.
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <thread>

#include "addresses.h"
#include "container_spec.h"
#include "kubelet_server.h"
#include "netns.h"
#include "status.h"

namespace kubelet {

struct RunnerConfig {
  std::string prefix;    // names of namespaces and links
  std::string flinkCpp;  // the executable of flink-cpp images
  std::string workDir;   // pod files go to <workDir>/<ns>/<pod>
  AddressPool* addresses = nullptr;
  /// Writes the pod's hosts file (called once before the first process starts).
  std::function<void(const nlohmann::json& pod, const std::string& podIP, const std::string& netns)> writeHosts;
  /// ConfigMaps and Secrets of the pod's namespace.
  ObjectLookup lookup;
  /// What serviceAccountToken volume sources hold.
  std::string serviceAccountToken;
  /// Variables every container gets unless its env sets them (KUBERNETES_SERVICE_HOST/PORT).
  std::function<std::map<std::string, std::string>()> clusterEnv;
};

class PodRunner {
 public:
  PodRunner(nlohmann::json pod, RunnerConfig config);
  /// requestStop() and waits until the pod's processes and network are gone.
  ~PodRunner();
  PodRunner(const PodRunner&) = delete;
  PodRunner& operator=(const PodRunner&) = delete;

  void start();
  /// Begins termination; returns at once.
  void requestStop() { stop_ = true; }
  /// True once every process has exited and the network is removed after requestStop().
  bool finished() const { return finished_; }
  bool stopping() const { return stop_; }
  /// The current container states, addresses and start time.
  PodView view() const;
  const PodNetNames& names() const { return names_; }
  /// The log of a container (init or regular) by name: its file, state and runs; nullopt for a
  /// name the pod does not have.
  std::optional<ContainerLog> containerLog(const std::string& container) const;
  /// What `kubectl exec` needs of a running container (init or regular) by name; nullopt when
  /// the pod has no such container or it is not running.
  std::optional<ExecTarget> execTarget(const std::string& container) const;
  /// The pod as it was when the runner started.
  const nlohmann::json& pod() const { return pod_; }

 private:
  struct Slot;
  void run();
  bool prepare();
  flink::Status setUpNetworkAndVolumes();
  bool runInitContainers(std::vector<Slot>& slots);
  void superviseContainers(std::vector<Slot>& slots);
  void step(Slot& slot, bool init);
  void reap(Slot& slot, bool init, int waitStatus);
  void startContainer(Slot& slot);
  void probe(Slot& slot);
  void terminateAll();
  void publish();
  std::string logPath(const Slot& s) const;
  void endRun(Slot& s);
  void setWaiting(std::vector<Slot>& slots, const std::string& reason, const std::string& message);

  nlohmann::json pod_;
  RunnerConfig config_;
  PodNetNames names_;
  std::string podDir_;
  std::string restartPolicy_;
  std::vector<Slot> initSlots_;
  std::vector<Slot> slots_;
  std::string podIP_;
  std::string startTime_;
  mutable std::mutex mu_;  // guards view_, logs_ and execTargets_
  PodView view_;
  std::map<std::string, ContainerLog> logs_;  // by container name
  std::map<std::string, ExecTarget> execTargets_;  // running containers by name
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

}  // namespace kubelet
