// The Apache Flink Kubernetes Operator's metrics, under its names and labels, so that the
// dashboards and alerts its users built keep working (its docs, "Metrics and Logging": the
// operator's metric groups as Flink's Prometheus reporter exports them: the logical scope
// k8soperator[.namespace] plus the metric's path, '.' and other characters outside
// [a-zA-Z0-9_:] as '_', the scope variables as labels, counters and meters as gauges).
//
// Exported, computed at scrape time from the informer caches and the API request counts:
//   namespace scope (labels host, name, namespace, resourcens, resourcetype):
//     FlinkDeployment:    flink_k8soperator_namespace_Count,
//                         ..._Lifecycle_State_<STATE>_Count (every lifecycle state),
//                         ..._JmDeploymentStatus_<STATUS>_Count (READY, DEPLOYED_NOT_READY,
//                         DEPLOYING, MISSING, ERROR), ..._FlinkVersion_<v>_Count,
//                         ..._FlinkMinorVersion_<v>_Count, ..._ResourceUsage_Cpu (cores),
//                         ..._ResourceUsage_Memory (bytes), from status.clusterInfo
//     FlinkStateSnapshot: ..._Savepoint_Count, ..._Savepoint_State_<STATE>_Count,
//                         ..._Checkpoint_Count, ..._Checkpoint_State_<STATE>_Count
//   system scope (labels host, name, namespace):
//     flink_k8soperator_KubeClient_HttpRequest_Count, ..._HttpRequest_<METHOD>_Count,
//     ..._HttpRequest_Failed_Count (no answer), ..._HttpResponse_Count,
//     ..._HttpResponse_<code>_Count
//   resource scope (labels host, name, namespace, resourcens, resourcename, resourcetype):
//     flink_k8soperator_namespace_resource_JOSDK_<path>_Count from `josdk` (metrics/josdk_metrics.h)
// The lifecycle state and transition timers are metrics/lifecycle_metrics.h. Not exported
// (yet): autoscaler metrics.
// A namespace's gauges appear once it holds a resource of that type.
#pragma once

#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <nlohmann/json.hpp>

#include "metrics/josdk_metrics.h"

#include <string>
#include <vector>

namespace flink::k8s {

/// The FlinkDeployment lifecycle states (status.lifecycleState) the Apache operator's metrics name.
inline constexpr const char* kLifecycleStates[] = {"CREATED",      "SUSPENDED",   "UPGRADING", "DEPLOYED", "STABLE",
                                                   "ROLLING_BACK", "ROLLED_BACK", "FAILED",    "DELETING", "DELETED"};

/// The operator pod the metrics come from (the labels host, name and namespace).
struct OperatorIdentity {
  std::string host;
  std::string name;
  std::string ns;
};

/// Registers and sets the gauges above in `registry` (fresh per scrape). `flinkDeployments` and
/// `snapshots`: objects as the API server has them (any namespaces); `collected`: the operator's
/// own families (Registry::Collect()), of which flink_operator_api_requests_total{verb,code}
/// feeds the KubeClient metrics (verb WATCH counts as GET; code 0 = no answer). Pure; thread
/// safety is the registry's.
void collectApacheMetrics(prometheus::Registry& registry, const OperatorIdentity& id,
                          const std::vector<nlohmann::json>& flinkDeployments,
                          const std::vector<nlohmann::json>& snapshots,
                          const std::vector<prometheus::MetricFamily>& collected,
                          const std::vector<JosdkCounters::Resource>& josdk = {});

}  // namespace flink::k8s
