// The operator process (`flink-cpp operator`): informers for FlinkDeployments and their
// children, a rate-limited work queue, a fixed pool of reconcile workers, optional leader
// election on a Lease, Prometheus metrics with /healthz and /readyz, clean shutdown on SIGTERM.
//
//   flink-cpp operator [--kubeconfig PATH] [--namespaces a,b] [--workers N] [--metrics-port P]
//                      [--leader-elect] [--lease-namespace NS] [--lease-name NAME]
//                      [--resync-seconds S] [--default-image IMAGE] [--jobmanager-address service|pod-ip]
//                      [--health-port P] [--webhook-port P] [--webhook-configuration NAME]
//                      [--webhook-secret NAME] [--webhook-service NAME] [--webhook-names a,b]
//                      [--webhook-cert-validity SECONDS]
// --webhook-port serves the admission webhook (webhook/webhook_server.h) over HTTPS with a
// certificate the operator keeps in a Secret of its namespace (webhook/webhook_certificates.h;
// default flink-operator-webhook-secret, for Service flink-operator-webhook-service, valid one
// year, renewed with a third left) and whose CA it writes into the caBundle of the
// Validating/MutatingWebhookConfiguration --webhook-configuration; --webhook-names adds SANs.
// Environment: WATCH_NAMESPACES (comma separated, as the Apache operator's watchNamespaces),
// OPERATOR_NAMESPACE (Lease namespace), OPERATOR_NAME (the metrics' name label), KUBECONFIG,
// FLINK_CONF_DIR (config.yaml: the defaults under every FlinkDeployment, and the operator's own
// options under the Apache keys where no flag sets them: kubernetes.operator.reconcile.parallelism
// (--workers, default 16), .api.rate-limit.qps and .burst (client-side, default 2000 and 4000),
// .watched.namespaces, .leader-election.enabled, .leader-election.lease-name,
// .metrics.reporter.prom.port, .health.probe.enabled and .port; log4j-operator.properties: log levels).
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace flink {

int runOperator(const std::vector<std::string>& args, const std::atomic<bool>* stop);

}  // namespace flink
