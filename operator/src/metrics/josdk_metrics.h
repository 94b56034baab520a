// Per-resource reconciliation and event counters under the names the Apache operator forwards
// from the Java Operator SDK (its OperatorJosdkMetrics, "JOSDK" group of the resource scope):
// for each FlinkDeployment, Reconciliation (reconciles started), Reconciliation.retries (started
// after a failed one), Reconciliation.finished, Reconciliation.failed, Resource.Event and
// Resource.Event.<ADDED|UPDATED|DELETED> (watch events). collectApacheMetrics exports them as
// flink_k8soperator_namespace_resource_JOSDK_<path>_Count with the labels host, name, namespace,
// resourcens, resourcename, resourcetype. A resource's counters go when it is deleted (the
// series end), so the memory is bounded by the live resources. Not exported: JOSDK's cleanup
// counter and its execution-time histograms (flink_operator_reconcile_duration_seconds has them).
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace flink::k8s {

class JosdkCounters {
 public:
  struct Resource {
    std::string type, ns, name;
    std::map<std::string, uint64_t> counts;  // path (e.g. "Reconciliation.retries") -> count
  };
  /// A reconcile of the resource ended; ok: it succeeded.
  void reconciled(const std::string& type, const std::string& ns, const std::string& name, bool ok);
  /// A watch event of the resource: action ADDED, UPDATED or DELETED (DELETED drops its counters).
  void event(const std::string& type, const std::string& ns, const std::string& name, const std::string& action);
  /// The counters now, per resource.
  std::vector<Resource> snapshot() const;

 private:
  struct State {
    std::map<std::string, uint64_t> counts;
    bool lastFailed = false;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, State> byResource_;  // (type, ns, name)
};

}  // namespace flink::k8s
