// The Deployment controller of kube-test-controllers: one ReplicaSet per pod template, named
// <deployment>-<hash> where hash (templateHash) is a stable 10-character hash of
// spec.template, also set as label pod-template-hash on the ReplicaSet, its selector and its
// template; the ReplicaSet has an ownerReference (controller: true) to the Deployment and the
// annotation deployment.kubernetes.io/revision.
//
// Strategies, simplified: Recreate scales old ReplicaSets to 0 and creates (or scales up) the
// new one only when their pods are gone; RollingUpdate scales the new ReplicaSet to
// spec.replicas at once and the old ones to 0 once the new one has all its pods ready
// (maxSurge and maxUnavailable are ignored). Old ReplicaSets beyond revisionHistoryLimit
// (default 10) are deleted once scaled down. Not supported: paused, progressDeadlineSeconds
// (no ProgressDeadlineExceeded), minReadySeconds, collisionCount, rollback annotations.
//
// Status as kube-controller-manager reports it: observedGeneration, replicas, updatedReplicas,
// readyReplicas, availableReplicas (= ready), unavailableReplicas, and the conditions Available
// (True when availableReplicas >= spec.replicas) and Progressing (reason NewReplicaSetAvailable
// when the new ReplicaSet is complete, else ReplicaSetUpdated).
// Thread-safe: reconcile may run concurrently for different Deployments.
#pragma once

#include <memory>
#include <string>

#include "common.h"

namespace ktc {

/// The pod-template-hash of a pod template: 10 characters of [bcdfghjklmnpqrstvwxz2456789],
/// a function of the template's content only.
std::string templateHash(const json& podTemplate);

class DeploymentReconciler final : public Reconciler {
 public:
  DeploymentReconciler(std::shared_ptr<KubeApi> api, Cache deployments, Cache replicaSets, Cache pods);
  Result reconcile(const std::string& ns, const std::string& name) override;
  /// The Deployment key ("ns/name") of a pod, through its controlling ReplicaSet (for watches).
  std::optional<std::string> deploymentOfPod(const json& pod) const;

 private:
  std::optional<std::string> scale(const json& rs, long long replicas);
  std::optional<std::string> createReplicaSet(const json& d, const std::string& hash, long long replicas, long long revision);
  bool podsGone(const std::string& ns, const std::vector<json>& replicaSets) const;

  std::shared_ptr<KubeApi> api_;
  Cache deployments_, replicaSets_, pods_;
};

}  // namespace ktc
