// The ResourceManager's Kubernetes driver (native mode, Flink's KubernetesResourceManagerDriver):
// the JobManager asks the API server for TaskManager pods as its jobs need slots, replaces pods
// that fail or vanish while they are still needed, releases TaskManagers that stay idle for
// resourcemanager.taskmanager-timeout, deletes the pods of earlier JobManager attempts when it
// starts and its own pods when it stops.
//
// Pods are named <kubernetes.cluster-id>-taskmanager-<attempt>-<n> (attempt: one more than the
// highest attempt among the cluster's TaskManager pods found at start; n counts from 1), built
// from kubernetes.pod-template-file.taskmanager, labelled app=<cluster-id>,
// component=taskmanager, type=flink-native-kubernetes, restartPolicy Never (a failed pod is
// replaced, not restarted), owned (controller: false) by the JobManager Deployment named
// <cluster-id> when it exists. The main container gets -Djobmanager.rpc.address=<this
// JobManager's address> and -Dtaskmanager.resource-id=<pod name>, so a registered TaskManager
// maps to its pod.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "flink/configuration.h"
#include "flink/status.h"
#include "k8s/client.h"
#include "k8s/informer.h"

namespace flink {

class JobMaster;
class ResourceManager;

/// What native mode needs from the configuration.
struct NativeKubernetesSettings {
  std::string clusterId;            // kubernetes.cluster-id
  std::string ns;                   // kubernetes.namespace
  nlohmann::json podTemplate;       // the Pod of kubernetes.pod-template-file.taskmanager ({} if none)
  std::string image;                // kubernetes.container.image.ref
  std::string cpu;                  // kubernetes.taskmanager.cpu.amount (cores), "" if unset
  std::string memory;               // taskmanager.memory.process.size (a Flink size), "" if unset
  int slotsPerTaskManager = 1;      // taskmanager.numberOfTaskSlots
  int64_t idleTimeoutMs = 30000;    // resourcemanager.taskmanager-timeout
  std::string jobManagerAddress;    // what the TaskManagers connect to

  /// nullopt when the configuration does not ask for native mode (execution.target is neither
  /// kubernetes-application nor kubernetes-session and no TaskManager pod template is set);
  /// an error when it does but a value is invalid or the template file cannot be read or
  /// parsed (JSON or YAML). `podIp` is this JobManager's pod IP (empty: jobmanager.rpc.address).
  static Result<std::optional<NativeKubernetesSettings>> fromConfig(const Configuration& config, const std::string& podIp);
};

/// Pods to create: TaskManagers needed for `slotDemand` slots (ceil(demand / slots per
/// TaskManager)) minus the `livePods` already created and not failed (registered or pending).
/// Never negative.
int taskManagerPodsToCreate(int slotDemand, int slotsPerTaskManager, int livePods);

/// Slots the jobs still need: the required slots of every job that has not reached a globally
/// terminal state (0 for a job whose graph is not built yet).
int slotDemand(const std::vector<const JobMaster*>& jobs);

/// The TaskManager pod `name` from the settings' template (see the file comment). `ownerUid`:
/// the JobManager Deployment's uid, empty for no owner reference.
nlohmann::json taskManagerPod(const NativeKubernetesSettings& s, const std::string& name, const std::string& ownerUid);

/// The driver. Every API call runs on its own thread, which syncs every 200 ms, with exponential
/// backoff (1 s up to 30 s) after a failure, which is logged: update() never blocks on the API
/// server.
/// Thread safety: update() and stop() from the JobManager's main thread only.
class KubernetesResourceDriver {
 public:
  KubernetesResourceDriver(std::shared_ptr<k8s::KubeApi> api, NativeKubernetesSettings settings);
  /// stop(false) when still running.
  ~KubernetesResourceDriver();
  KubernetesResourceDriver(const KubernetesResourceDriver&) = delete;
  KubernetesResourceDriver& operator=(const KubernetesResourceDriver&) = delete;

  /// Starts the worker thread: clean-up of earlier attempts' pods, the owner lookup, the pod
  /// watch, then pods on demand.
  void start();
  /// Main thread, each loop: the slot demand and the registered TaskManagers. Returns the ids
  /// of TaskManagers released now (idle past the timeout while the others cover the demand);
  /// the caller disconnects them, the driver deletes their pods.
  std::vector<std::string> update(int slotDemand, const ResourceManager& rm, std::chrono::steady_clock::time_point now);
  /// Whether a TaskManager may register: false for this attempt's pods that were released or
  /// failed (their process may still be running until the pod is gone) and for pods of earlier
  /// attempts (<cluster-id>-taskmanager-<a>-<n> not created by this driver), true for this
  /// attempt's live pods and any TaskManager not named like a pod of the cluster. Logs the
  /// first refusal of each id. Thread-safe.
  bool accepts(const std::string& taskManagerId);
  /// Ends the worker; with deletePods, deletes this attempt's pods first (a few seconds at most).
  void stop(bool deletePods);

  /// For tests and logs (thread-safe): this attempt's number (0 before the start-up finished),
  /// and the pods created and not yet gone.
  int attempt() const;
  std::vector<std::string> livePods() const;

 private:
  struct PodState {
    bool gone = false;      // failed, succeeded, deleted or released
    bool seen = false;      // the watch showed it
    bool deleteSent = false;
  };
  void run();
  bool startUp();
  void syncPods();
  void onPodEvent(k8s::Informer::EventType type, const nlohmann::json& pod);
  void backoff(const std::string& what, const k8s::ApiResponse& r);
  bool waitFor(std::chrono::milliseconds d);  // false when stopping

  std::shared_ptr<k8s::KubeApi> api_;
  NativeKubernetesSettings s_;
  std::unique_ptr<k8s::Informer> pods_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  int slotDemand_ = 0;                    // guarded by mu_
  std::map<std::string, PodState> own_;   // guarded by mu_: this attempt's pods by name
  int attempt_ = 0;                       // guarded by mu_
  bool stopping_ = false;                 // guarded by mu_
  bool deleteOnStop_ = false;             // guarded by mu_

  // Worker thread only.
  std::string ownerUid_;
  int nextIndex_ = 1;
  std::chrono::milliseconds delay_{0};

  std::set<std::string> declined_;        // guarded by mu_: ids whose registration was refused

  // Main thread only: since when each registered TaskManager has had all its slots free.
  std::map<std::string, std::chrono::steady_clock::time_point> idleSince_;

  std::thread thread_;
};

/// The started driver for this JobManager; nullptr when the configuration does not ask for
/// native mode, or when it does but no in-cluster API configuration exists (logged: the
/// TaskManagers must then come from elsewhere, as with run-local). An error for invalid
/// native settings. The pod IP comes from $_POD_IP_ADDRESS (set by the operator's pod template).
Result<std::unique_ptr<KubernetesResourceDriver>> startKubernetesDriver(const Configuration& config);

}  // namespace flink
