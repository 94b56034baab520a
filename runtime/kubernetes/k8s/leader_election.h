// Leader election as client-go's leaderelection: a candidate takes the lock when it is free or
// its holder stopped renewing for leaseDurationSeconds, renews it every retry period, and gives
// up leadership when it could not renew within the renew deadline. Writes use the lock's
// resourceVersion, so two candidates can never both win. Runs on its own thread.
//
// Two locks, as client-go's resourcelock: a coordination.k8s.io/v1 Lease (the operator), or a
// ConfigMap whose annotation `control-plane.alpha.kubernetes.io/leader` holds the
// LeaderElectionRecord as JSON (holderIdentity, leaseDurationSeconds, acquireTime, renewTime,
// leaderTransitions) — the lock Flink's Kubernetes HA services use, on
// `<cluster-id>-cluster-config-map`. The ConfigMap's data is left to its other writers.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "k8s/client.h"

namespace flink::k8s {

enum class LockKind { kLease, kConfigMap };

struct LeaderElectionConfig {
  std::string ns = "default";
  std::string leaseName = "flink-operator-lock";  // the Lease or ConfigMap
  LockKind lock = LockKind::kLease;
  /// Labels of a ConfigMap lock this elector creates.
  std::map<std::string, std::string> labels;
  std::string identity;  // unique per candidate process
  int leaseDurationSeconds = 15;
  int64_t renewDeadlineMs = 10000;
  int64_t retryPeriodMs = 2000;
};

/// The annotation of a ConfigMap lock.
inline constexpr const char* kLeaderAnnotation = "control-plane.alpha.kubernetes.io/leader";

class LeaderElector {
 public:
  LeaderElector(std::shared_ptr<KubeApi> client, LeaderElectionConfig config);
  ~LeaderElector();
  /// onStarted runs (on the elector thread) when this replica becomes leader; onStopped when
  /// it loses the Lease after having led (the process should then exit, as controller-runtime does).
  void start(std::function<void()> onStarted, std::function<void()> onStopped);
  /// Stops campaigning and renewing; leading() is false afterwards. Idempotent.
  void stop();
  bool leading() const { return leading_.load(); }
  const LeaderElectionConfig& config() const { return config_; }

 private:
  bool tryAcquireOrRenew();
  bool configMap() const { return config_.lock == LockKind::kConfigMap; }
  std::shared_ptr<KubeApi> client_;
  LeaderElectionConfig config_;
  std::atomic<bool> leading_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace flink::k8s
