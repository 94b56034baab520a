// The ReplicaSet controller of kube-test-controllers: keeps spec.replicas active Pods per
// ReplicaSet (pods it controls through an ownerReference with controller: true) and reports
// status.replicas, fullyLabeledReplicas, readyReplicas, availableReplicas and
// observedGeneration. New pods are named <rs>-<5 random characters>, carry the template's
// labels and annotations, an ownerReference to the ReplicaSet and the template's spec with
// spec.nodeName set to the one node (the trivial scheduler). Surplus pods are deleted
// not-ready (and unscheduled, pending) first; deleted pods and pods in phase Failed or
// Succeeded are replaced (the terminated ones are left for inspection, as kube-controller-
// manager does). Pods are not adopted or released by selector, minReadySeconds is ignored.
//
// Expectations, as the real controller's: pods created or deleted by one reconcile must show
// up in (or leave) the pod cache before the next reconcile creates or deletes more (it still
// updates the status), so a lagging informer never makes it create twice; unmet expectations
// expire after 30 s.
// Thread-safe: reconcile may run concurrently for different ReplicaSets.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common.h"

namespace ktc {

class ReplicaSetReconciler final : public Reconciler {
 public:
  /// replicaSets and pods read the informers' caches; node goes into every new pod's spec.nodeName.
  ReplicaSetReconciler(std::shared_ptr<KubeApi> api, Cache replicaSets, Cache pods, std::string node);
  Result reconcile(const std::string& ns, const std::string& name) override;

 private:
  struct Pending {
    std::set<std::string> creates, deletes;  // pod names
    std::chrono::steady_clock::time_point since;
  };
  bool expectationsMet(const std::string& ns, const std::string& key);
  void expect(const std::string& key, Pending pending);
  std::optional<std::string> createPod(const json& rs, std::string* created);

  std::shared_ptr<KubeApi> api_;
  Cache replicaSets_, pods_;
  std::string node_;
  std::mutex mu_;
  std::map<std::string, Pending> pending_;  // "ns/name" of the ReplicaSet -> what it waits for
};

}  // namespace ktc
