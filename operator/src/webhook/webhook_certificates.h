// The admission webhook's TLS material without cert-manager: a self-signed CA and a server
// certificate kept in a Secret (type kubernetes.io/tls: tls.crt, tls.key, ca.crt, plus ca.key
// and ca-bundle.crt), and the caBundle of the webhook configurations the API server uses to
// trust it. The Secret is the source of truth, so every operator replica serves the same
// certificate and a restarted operator keeps it.
//
// reconcile() (level-triggered, idempotent; call at start and then every checkInterval()):
//  1. reads the Secret; creates the CA when it is missing, does not parse or has less than a
//     third of its validity left (the new bundle keeps the old CA while it is valid, so
//     clients that still trust only the old one keep working); issues a new server
//     certificate when it is missing, not signed by the current CA or has less
//     than a third of its validity left; writes the Secret (create, or update with the read
//     resourceVersion: a concurrent writer wins and the next round adopts its result);
//  2. sets webhooks[*].clientConfig.caBundle of each configured Validating/
//     MutatingWebhookConfiguration to the bundle where it differs (update with resourceVersion);
//     a configuration that does not exist is skipped (the chart may have webhook.create false).
// Errors (API errors, an unparseable certificate) are returned; the previous material stays in use.
// Not thread-safe: one owner (the operator's main loop) calls reconcile().
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flink/common/certificates.h"
#include "k8s/client.h"

namespace flink::k8s {

struct WebhookCertificateOptions {
  std::string ns;                  // the operator's namespace (the Secret's and the Service's)
  std::string secretName = "flink-operator-webhook-secret";
  std::string serviceName = "flink-operator-webhook-service";
  std::vector<std::string> extraNames;  // more SANs (e.g. 127.0.0.1 for an operator outside the cluster)
  /// The ValidatingWebhookConfiguration and MutatingWebhookConfiguration to keep the caBundle of
  /// (the chart names both flink-operator-<namespace>-webhook-configuration).
  std::string webhookConfiguration;
  std::chrono::seconds certValidity{365 * 24 * 3600};  // the server certificate's; the CA gets 10x
};

class WebhookCertificates {
 public:
  /// nowSeconds: the clock (seconds since the epoch), injected for tests.
  WebhookCertificates(std::shared_ptr<KubeApi> api, WebhookCertificateOptions options,
                      std::function<int64_t()> nowSeconds = nullptr);

  /// One round as described above; the server certificate and key to serve afterwards.
  Result<certs::KeyPair> reconcile();
  /// How often to call reconcile(): a tenth of the certificate validity, between 1 s and 10 min.
  std::chrono::seconds checkInterval() const;
  /// The DNS names of the server certificate: <service>, <service>.<ns>, <service>.<ns>.svc,
  /// <service>.<ns>.svc.cluster.local, then extraNames.
  std::vector<std::string> serverNames() const;

 private:
  bool expiring(const std::string& certPem, std::chrono::seconds validity) const;
  Status patchCaBundles(const std::string& bundlePem);

  std::shared_ptr<KubeApi> api_;
  WebhookCertificateOptions options_;
  std::function<int64_t()> now_;
};

}  // namespace flink::k8s
