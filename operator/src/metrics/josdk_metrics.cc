#include "metrics/josdk_metrics.h"

namespace flink::k8s {

void JosdkCounters::reconciled(const std::string& type, const std::string& ns, const std::string& name, bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  State& s = byResource_[{type, ns, name}];
  s.counts["Reconciliation"]++;
  if (s.lastFailed) s.counts["Reconciliation.retries"]++;
  s.counts[ok ? "Reconciliation.finished" : "Reconciliation.failed"]++;
  s.lastFailed = !ok;
}

void JosdkCounters::event(const std::string& type, const std::string& ns, const std::string& name, const std::string& action) {
  std::lock_guard<std::mutex> lock(mu_);
  if (action == "DELETED") {
    byResource_.erase({type, ns, name});
    return;
  }
  State& s = byResource_[{type, ns, name}];
  s.counts["Resource.Event"]++;
  s.counts["Resource.Event." + action]++;
}

std::vector<JosdkCounters::Resource> JosdkCounters::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Resource> out;
  out.reserve(byResource_.size());
  for (const auto& [key, s] : byResource_) out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), s.counts});
  return out;
}

}  // namespace flink::k8s
