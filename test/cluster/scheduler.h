// The scheduler of kube-test-controllers: binds every active pod without spec.nodeName to the
// one node (--node) through the pods/binding subresource, as kube-scheduler binds a pod once it
// picked a node. No filtering or scoring: the test cluster has one node. Pods of every owner (or
// none: a JobManager's native TaskManager pods) are treated alike.
// Thread-safe: reconcile may run concurrently for different pods.
#pragma once

#include <memory>
#include <string>

#include "common.h"

namespace ktc {

class SchedulerReconciler final : public Reconciler {
 public:
  SchedulerReconciler(std::shared_ptr<KubeApi> api, Cache pods, std::string node);
  /// Key: the pod's "ns/name". Binds it when it is active and unscheduled; a pod bound
  /// meanwhile (409) or gone (404) is no error.
  Result reconcile(const std::string& ns, const std::string& name) override;
  /// Whether a pod event should be reconciled: the pod is active and has no node yet.
  static bool needsScheduling(const json& pod);

 private:
  std::shared_ptr<KubeApi> api_;
  Cache pods_;
  std::string node_;
};

}  // namespace ktc
