// The Endpoints controller of kube-test-controllers: for every Service with a selector, an
// Endpoints object of the same name whose subsets list the status.podIP of the selected pods
// (not being deleted, not Failed/Succeeded, with an IP): Ready ones as addresses,
// the others as notReadyAddresses (all as addresses with publishNotReadyAddresses), each with
// nodeName and a targetRef to the pod, and the Service's ports (name, port = targetPort
// resolved against the pod's container ports by name or number, protocol, appProtocol).
// Pods with the same resolved ports share a subset, as in the real controller. The Endpoints
// carry the Service's labels (plus service.kubernetes.io/headless for headless Services).
// Endpoints of a deleted Service are deleted; those of Services without a selector are never
// touched. No hostname/subdomain, no topology.
// The same reconcile keeps the Service's discovery.k8s.io/v1 EndpointSlices: one per set of
// resolved ports (a placeholder without endpoints or ports when no pod matches), named
// <service>-<5 characters from the ports>, labelled kubernetes.io/service-name and
// endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io (plus the Service's
// labels), owned by the Service, addressType IPv4, endpoints with addresses [podIP],
// conditions ready/serving (Ready, or publishNotReadyAddresses) and terminating false,
// nodeName and targetRef; ports with name ("" when unnamed), port, protocol, appProtocol.
// Slices of that Service it no longer wants are deleted; no 100-endpoint split.
// Thread-safe: reconcile may run concurrently for different Services.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.h"

namespace ktc {

class EndpointsReconciler final : public Reconciler {
 public:
  EndpointsReconciler(std::shared_ptr<KubeApi> api, Cache services, Cache endpoints, Cache pods, Cache slices);
  /// Key: the Service's "ns/name".
  Result reconcile(const std::string& ns, const std::string& name) override;
  /// Keys of the Services a pod event concerns: those that select the pod now and those whose
  /// Endpoints list it (its labels may have changed).
  std::vector<std::string> servicesOfPod(const json& pod) const;
  /// The Service key ("ns/name") of an EndpointSlice this controller manages, if it is one.
  static std::optional<std::string> serviceOfSlice(const json& slice);

 private:
  /// Brings the Service's slices to `want` (by name); deletes its other slices.
  std::optional<std::string> syncSlices(const std::string& ns, const std::string& service, const std::vector<json>& want);

  std::shared_ptr<KubeApi> api_;
  Cache services_, endpoints_, pods_, slices_;
};

}  // namespace ktc
