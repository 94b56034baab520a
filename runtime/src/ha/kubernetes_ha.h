// High availability on Kubernetes for the JobManager, after Flink's Kubernetes HA services
// (https://nightlies.apache.org/flink/flink-docs-stable/docs/deployment/ha/kubernetes_ha/):
//
//   <cluster-id>-cluster-config-map   leader election (annotation
//                                     control-plane.alpha.kubernetes.io/leader), the leader's
//                                     addresses (org.apache.flink.k8s.leader.*), and one
//                                     `executionPlan-<job-id>` entry per submitted job
//   <cluster-id>-<job-id>-config-map  `counter` (the next checkpoint id) and one
//                                     `checkpointID-<19 digits>` entry per retained checkpoint
//
// Both carry the labels app=<cluster-id>, configmap-type=high-availability,
// type=flink-native-kubernetes (how the Apache operator finds and deletes them). An entry's value
// is JSON: `path`, a file under <high-availability.storageDir>/<cluster-id>/ that holds the
// job's submission or the checkpoint's external pointer, plus that pointer inline
// (`externalPointer`, the chk-N directory) so that readers without the storage (the operator)
// see it too. Entries are written only while this JobManager leads.
//
// Threading: leader election runs on its own thread; checkpoint pointers and cleanups are
// written by one worker thread, in order, so the JobManager's main thread never waits on the
// API server for them. Job submissions are written synchronously (a job is not started before
// it is recoverable). Errors are values; asynchronous writes that fail are retried, then logged.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "flink/configuration.h"
#include "flink/status.h"
#include "k8s/client.h"
#include "k8s/leader_election.h"

namespace flink::ha {

/// high-availability.* with Flink's keys and defaults.
struct HaSettings {
  bool enabled = false;  // high-availability.type (or high-availability) is kubernetes
  std::string clusterId;   // high-availability.cluster-id, else kubernetes.cluster-id
  std::string ns;          // kubernetes.namespace, else the pod's namespace, else default
  std::string storageDir;  // high-availability.storageDir (path; file:// stripped)
  int leaseDurationSeconds = 15;  // high-availability.kubernetes.leader-election.lease-duration
  int64_t renewDeadlineMs = 15000;  // ...leader-election.renew-deadline
  int64_t retryPeriodMs = 5000;     // ...leader-election.retry-period

  /// Errors name the key: an unknown type, a missing storageDir, a bad duration.
  static Result<HaSettings> fromConfig(const Configuration& config);
  std::string clusterConfigMap() const { return clusterId + "-cluster-config-map"; }
  std::string jobConfigMap(const std::string& jobId) const { return clusterId + "-" + jobId + "-config-map"; }
};

/// A retained checkpoint as the job's HA ConfigMap records it.
struct CheckpointPointer {
  int64_t checkpointId = 0;
  std::string externalPointer;  // the chk-N directory
};

/// The data key of checkpoint `id` in a job ConfigMap: checkpointID-<19 digits>.
std::string checkpointKey(int64_t id);

class KubernetesHaServices {
 public:
  /// `identity`: this JobManager process (the pod name: a restarted container of the same pod
  /// takes the leadership back at once; another pod waits for the lease to expire).
  KubernetesHaServices(HaSettings settings, std::shared_ptr<k8s::KubeApi> client, std::string identity);
  ~KubernetesHaServices();

  /// Campaigns for leadership; blocks until this process leads (true) or *stop is set (false).
  /// onLost runs (on the election thread) if the leadership is lost later.
  bool awaitLeadership(const std::atomic<bool>* stop, std::function<void()> onLost);
  bool leading() const;
  /// Publishes the leader's RPC and REST addresses in the cluster ConfigMap.
  Status publishLeaderAddresses(const std::string& rpcAddress, const std::string& restAddress);

  /// Stores a job's submission (JSON) so that a new leader recovers it. Synchronous.
  Status putJobGraph(const std::string& jobId, const nlohmann::json& submission);
  /// The submissions of every job the cluster ConfigMap lists (unreadable ones are skipped
  /// with an error log).
  Result<std::vector<nlohmann::json>> recoverJobGraphs();
  /// The newest checkpoint the job's ConfigMap records, nullopt when none. Synchronous.
  Result<std::optional<CheckpointPointer>> latestCheckpoint(const std::string& jobId);
  /// Records a completed checkpoint (asynchronously), keeping the newest `numRetained`.
  void checkpointCompleted(const std::string& jobId, int64_t checkpointId, const std::string& externalPointer,
                           int numRetained);
  /// The job reached a globally terminal state: its job ConfigMap, its executionPlan entry and
  /// their files are removed (asynchronously), as Flink cleans a finished job's HA data.
  void jobTerminated(const std::string& jobId);
  /// Directory for a job's HA files (e.g. its library): <storageDir>/<cluster-id>/<sub>.
  std::string storagePath(const std::string& sub) const;
  /// Runs the queued writes, then stops the election (releasing nothing: a successor waits for
  /// the lease); nothing is written afterwards. Idempotent.
  void stop();

 private:
  /// Read-modify-write of a ConfigMap's data with optimistic concurrency (409 retried);
  /// creates it with the HA labels when absent and `create`. `mutate` returns false for "no
  /// change". Only while leading.
  Status updateData(const std::string& name, const std::function<bool(nlohmann::json& data)>& mutate, bool create);
  void post(std::function<void()> work);
  void workerLoop();

  HaSettings settings_;
  std::shared_ptr<k8s::KubeApi> client_;
  std::unique_ptr<k8s::LeaderElector> elector_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

/// The HA services when high-availability.type is kubernetes (the API server from the pod's
/// service account, or $KUBECONFIG), nullptr when HA is off; an error names the key or the
/// missing configuration.
Result<std::unique_ptr<KubernetesHaServices>> createHaServices(const Configuration& config);

}  // namespace flink::ha
