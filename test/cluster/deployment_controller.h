// The Deployment controller of kube-test-controllers: one ReplicaSet per pod template, named
// <deployment>-<hash> where hash (templateHash) is a stable 10-character hash of
// spec.template, also set as label pod-template-hash on the ReplicaSet, its selector and its
// template; the ReplicaSet has an ownerReference (controller: true) to the Deployment and the
// annotation deployment.kubernetes.io/revision.
//
// Strategies: Recreate scales old ReplicaSets to 0 and creates (or scales up) the new one only
// when their pods are gone. RollingUpdate as kube-controller-manager's rolling.go, one step per
// reconcile: the new ReplicaSet grows while the sum of all ReplicaSets' spec.replicas stays
// within replicas + maxSurge; old ReplicaSets shrink (unavailable ones first, then oldest
// revision first) while the available pods stay at least replicas - maxUnavailable
// (resolveFenceposts). Old ReplicaSets beyond revisionHistoryLimit
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
#include <utility>
#include <vector>

#include "common.h"

namespace ktc {

/// The pod-template-hash of a pod template: 10 characters of [bcdfghjklmnpqrstvwxz2456789],
/// a function of the template's content only.
std::string templateHash(const json& podTemplate);

/// maxSurge and maxUnavailable of a RollingUpdate strategy (spec.strategy.rollingUpdate; each an
/// integer or "N%", default "25%") resolved against replicas: the surge percentage rounds up,
/// the unavailable one down, and when both come to 0 maxUnavailable is 1, as the real
/// controller's ResolveFenceposts. maxUnavailable is capped at replicas. Malformed values count 0.
std::pair<long long, long long> resolveFenceposts(const json& rollingUpdate, long long replicas);

/// The spec.replicas the new ReplicaSet may have now: up to replicas, while the sum of every
/// ReplicaSet's spec.replicas (otherTotal: all but the new one) stays within replicas + maxSurge.
long long newReplicaSetTarget(long long replicas, long long maxSurge, long long otherTotal, long long newCurrent);

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
  /// One step of a rolling update; true when it changed a ReplicaSet (the next reconcile goes on).
  bool rollingStep(const json& d, const std::optional<json>& newRs, std::vector<json> old, const std::string& hash,
                   long long revision, std::optional<std::string>& error);

  std::shared_ptr<KubeApi> api_;
  Cache deployments_, replicaSets_, pods_;
};

}  // namespace ktc
