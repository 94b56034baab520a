// The Apache Flink Kubernetes Operator's lifecycle timers (its LifecycleMetrics and
// ResourceLifecycleMetricTracker; "Lifecycle metrics" in its operations/metrics docs): how long
// FlinkDeployments stay in each lifecycle state and take for each tracked transition, as
// histograms of whole seconds, system-wide and per namespace:
//   flink_k8soperator_FlinkDeployment_Lifecycle_State_<STATE>_TimeSeconds      (host, name, namespace)
//   flink_k8soperator_FlinkDeployment_Lifecycle_Transition_<T>_TimeSeconds
//   flink_k8soperator_namespace_Lifecycle_State_<STATE>_TimeSeconds            (+ resourcens, resourcetype)
//   flink_k8soperator_namespace_Lifecycle_Transition_<T>_TimeSeconds
// exported as Flink's Prometheus reporter exports a histogram: a summary with the quantiles
// 0.5, 0.75, 0.95, 0.98, 0.99 and 0.999 of the last `sampleSize` values
// (kubernetes.operator.metrics.histogram.sample.size, 1000) and _count (every value recorded),
// plus the _sum prometheus-cpp's serializer always writes.
//
// Semantics followed: a resource's tracker starts in its current state (entered at
// metadata.creationTimestamp when CREATED, else when first seen). Each state remembers when it
// was entered and last seen. Entering a terminal state (SUSPENDED, STABLE, ROLLED_BACK, FAILED)
// ends every other state's stay: each recorded state's entered-to-last-seen time goes to its
// State histogram and is forgotten; entering UPGRADING does the same for all states but the one
// it came from. Transitions (to the new state, from a state still remembered) go to their
// Transition histogram, timed from when `from` was last seen or when it was entered:
//   Resume        SUSPENDED -> STABLE (last seen)
//   Upgrade       STABLE -> STABLE (last seen: STABLE is remembered through UPGRADING and DEPLOYED)
//   Suspend       DEPLOYED|STABLE|ROLLED_BACK -> UPGRADING|SUSPENDED (last seen)
//   Stabilization DEPLOYED -> STABLE (entered)        Rollback DEPLOYED -> ROLLED_BACK (entered)
//   Submission    UPGRADING -> DEPLOYED, ROLLING_BACK -> ROLLED_BACK (last seen)
// Thread-safe (one mutex): informer threads update, the metrics endpoint collects.
#pragma once

#include <prometheus/metric_family.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "metrics/apache_metrics.h"

namespace flink::k8s {

/// A window of the last values recorded and the count of all of them (Flink's
/// DescriptiveStatisticsHistogram). Not synchronized.
class SampleWindow {
 public:
  explicit SampleWindow(size_t size = 1000) : size_(size) {}
  void update(double value);
  /// The q-quantile (0 < q <= 1) of the window, interpolated as commons-math's default
  /// percentile estimate (position q * (n + 1)); 0 when empty.
  double quantile(double q) const;
  /// Every value recorded, and their sum (not only the window's).
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  size_t size_;
  std::deque<double> values_;
  uint64_t count_ = 0;
  double sum_ = 0;
};

class LifecycleMetrics {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  explicit LifecycleMetrics(Clock clock = std::chrono::system_clock::now, size_t sampleSize = 1000);

  /// A FlinkDeployment as the API server has it now (status.lifecycleState, CREATED when
  /// absent; metadata.namespace, name, creationTimestamp).
  void onUpdate(const nlohmann::json& flinkDeployment);
  /// The resource is gone: its tracker is dropped (the histograms keep what they recorded).
  void onRemove(const std::string& ns, const std::string& name);
  /// The summaries above, once a FlinkDeployment was seen: every state and transition
  /// system-wide, and per namespace that had one.
  std::vector<prometheus::MetricFamily> collect(const OperatorIdentity& id) const;

 private:
  struct Stay {
    std::chrono::system_clock::time_point entered, lastSeen;
  };
  struct Tracker {
    std::string state;
    std::map<std::string, Stay> stays;
  };
  /// The system-wide histogram of `metric` ("State_X" or "Transition_T") and the namespace's.
  void record(const std::string& ns, const std::string& metric, double seconds);
  void enter(Tracker& t, const std::string& ns, const std::string& state, std::chrono::system_clock::time_point now);

  Clock clock_;
  size_t sampleSize_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Tracker> trackers_;         // guarded by mu_
  std::map<std::string, std::map<std::string, SampleWindow>> histograms_;   // ns ("" = system) -> metric; guarded by mu_
};

}  // namespace flink::k8s
