// The Endpoints controller of kube-test-controllers: for every Service with a selector, an
// Endpoints object of the same name whose subsets list the status.podIP of the selected pods
// (not being deleted, not Failed/Succeeded, with an IP): Ready ones as addresses,
// the others as notReadyAddresses (all as addresses with publishNotReadyAddresses), each with
// nodeName and a targetRef to the pod, and the Service's ports (name, port = targetPort
// resolved against the pod's container ports by name or number, protocol, appProtocol).
// Pods with the same resolved ports share a subset, as in the real controller. The Endpoints
// carry the Service's labels (plus service.kubernetes.io/headless for headless Services).
// Endpoints of a deleted Service are deleted; those of Services without a selector are never
// touched. No EndpointSlices, no hostname/subdomain, no topology.
// Thread-safe: reconcile may run concurrently for different Services.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common.h"

namespace ktc {

class EndpointsReconciler final : public Reconciler {
 public:
  EndpointsReconciler(std::shared_ptr<KubeApi> api, Cache services, Cache endpoints, Cache pods);
  /// Key: the Service's "ns/name".
  Result reconcile(const std::string& ns, const std::string& name) override;
  /// Keys of the Services a pod event concerns: those that select the pod now and those whose
  /// Endpoints list it (its labels may have changed).
  std::vector<std::string> servicesOfPod(const json& pod) const;

 private:
  std::shared_ptr<KubeApi> api_;
  Cache services_, endpoints_, pods_;
};

}  // namespace ktc
