// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection: a
// candidate takes the Lease when it is free or its holder stopped renewing for
// leaseDurationSeconds, renews it every retry period, and gives up leadership when it could
// not renew within the renew deadline. Writes use the Lease's resourceVersion, so two
// replicas can never both win. Runs on its own thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "k8s/client.h"

namespace flink::k8s {

struct LeaderElectionConfig {
  std::string ns = "default";
  std::string leaseName = "flink-operator-lock";
  std::string identity;  // unique per replica (hostname + random)
  int leaseDurationSeconds = 15;
  int renewDeadlineSeconds = 10;
  int retryPeriodMs = 2000;
};

class LeaderElector {
 public:
  LeaderElector(std::shared_ptr<KubeApi> client, LeaderElectionConfig config);
  ~LeaderElector();
  /// onStarted runs (on the elector thread) when this replica becomes leader; onStopped when
  /// it loses the Lease after having led (the process should then exit, as controller-runtime does).
  void start(std::function<void()> onStarted, std::function<void()> onStopped);
  void stop();
  bool leading() const { return leading_.load(); }

 private:
  bool tryAcquireOrRenew();
  std::shared_ptr<KubeApi> client_;
  LeaderElectionConfig config_;
  std::atomic<bool> leading_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace flink::k8s
