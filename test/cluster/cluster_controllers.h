// kube-test-controllers' controllers (Deployment, ReplicaSet, Endpoints, the scheduler) wired to shared
// informers over one API: one informer per resource type and watched namespace (or one for all
// namespaces), each controller a flink::k8s::Controller with its own work queue and workers.
// Lifecycle: startInformers(), wait until synced(), startControllers() (reconciling before the
// caches are complete would create pods twice), stop(). Not restartable. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "controller/controller.h"
#include "deployment_controller.h"
#include "endpoints_controller.h"
#include "replicaset_controller.h"
#include "scheduler.h"

namespace ktc {

class ClusterControllers {
 public:
  struct Options {
    std::vector<std::string> namespaces;  // empty: all namespaces
    std::string node = "test-node";       // spec.nodeName of every new pod
    int workers = 2;                      // per controller
  };

  ClusterControllers(std::shared_ptr<KubeApi> api, Options options);
  /// stop().
  ~ClusterControllers();
  ClusterControllers(const ClusterControllers&) = delete;
  ClusterControllers& operator=(const ClusterControllers&) = delete;

  void startInformers();
  /// True once every informer has completed its first list.
  bool synced() const;
  void startControllers();
  /// Stops the controllers (finishing the reconciles in progress), then the informers. Idempotent.
  void stop();

 private:
  using Informers = std::vector<std::unique_ptr<Informer>>;
  Informers informersFor(const ResourceType& type);
  static Cache cacheOf(const Informers& informers);
  std::vector<Informer*> all() const;

  std::shared_ptr<KubeApi> api_;
  Options options_;
  Informers deployments_, replicaSets_, pods_, services_, endpoints_, slices_;
  DeploymentReconciler deploymentReconciler_;
  ReplicaSetReconciler replicaSetReconciler_;
  EndpointsReconciler endpointsReconciler_;
  SchedulerReconciler schedulerReconciler_;
  flink::k8s::Controller deploymentController_, replicaSetController_, endpointsController_, schedulerController_;
};

}  // namespace ktc
