#include "metrics/lifecycle_metrics.h"

#include <algorithm>
#include <cmath>

#include "controller/event_recorder.h"

namespace flink::k8s {

using nlohmann::json;

namespace {

struct Transition {
  const char* from;
  const char* to;
  bool fromLastSeen;  // time from when `from` was last seen, else from when it was entered
  const char* name;
};

// The transitions the Apache operator tracks (LifecycleMetrics.TRACKED_TRANSITIONS).
const Transition kTransitions[] = {
    {"SUSPENDED", "STABLE", true, "Resume"},          {"STABLE", "STABLE", true, "Upgrade"},
    {"DEPLOYED", "UPGRADING", true, "Suspend"},       {"STABLE", "UPGRADING", true, "Suspend"},
    {"ROLLED_BACK", "UPGRADING", true, "Suspend"},    {"DEPLOYED", "SUSPENDED", true, "Suspend"},
    {"STABLE", "SUSPENDED", true, "Suspend"},         {"ROLLED_BACK", "SUSPENDED", true, "Suspend"},
    {"DEPLOYED", "STABLE", false, "Stabilization"},   {"DEPLOYED", "ROLLED_BACK", false, "Rollback"},
    {"UPGRADING", "DEPLOYED", true, "Submission"},    {"ROLLING_BACK", "ROLLED_BACK", true, "Submission"}};
const char* const kTransitionNames[] = {"Resume", "Upgrade", "Suspend", "Stabilization", "Rollback", "Submission"};
const double kQuantiles[] = {0.5, 0.75, 0.95, 0.98, 0.99, 0.999};

bool terminal(const std::string& state) {
  return state == "SUSPENDED" || state == "STABLE" || state == "ROLLED_BACK" || state == "FAILED";
}

double seconds(std::chrono::system_clock::duration d) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

std::string text(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

void SampleWindow::update(double value) {
  values_.push_back(value);
  if (values_.size() > size_) values_.pop_front();
  ++count_;
  sum_ += value;
}

double SampleWindow::quantile(double q) const {
  if (values_.empty()) return 0;
  std::vector<double> v(values_.begin(), values_.end());
  std::sort(v.begin(), v.end());
  const double n = static_cast<double>(v.size());
  const double pos = q * (n + 1);
  if (pos < 1) return v.front();
  if (pos >= n) return v.back();
  const double lower = v[static_cast<size_t>(pos) - 1], upper = v[static_cast<size_t>(pos)];
  return lower + (pos - std::floor(pos)) * (upper - lower);
}

LifecycleMetrics::LifecycleMetrics(Clock clock, size_t sampleSize) : clock_(std::move(clock)), sampleSize_(sampleSize) {}

void LifecycleMetrics::record(const std::string& ns, const std::string& metric, double value) {
  for (const std::string& scope : {std::string(), ns}) {
    histograms_[scope].try_emplace(metric, sampleSize_).first->second.update(value);
  }
}

void LifecycleMetrics::enter(Tracker& t, const std::string& ns, const std::string& state,
                             std::chrono::system_clock::time_point now) {
  auto [it, added] = t.stays.try_emplace(state, Stay{now, now});
  if (!added) {
    if (state != t.state) it->second.entered = now;
    it->second.lastSeen = now;
  }
  if (state == t.state) return;
  // The stays that this state ends (the Apache operator's getClearedStatesAfterTransition).
  for (auto s = t.stays.begin(); s != t.stays.end();) {
    bool ends = terminal(state) ? s->first != state : state == "UPGRADING" && s->first != state && s->first != t.state;
    if (!ends) {
      ++s;
      continue;
    }
    record(ns, "State_" + s->first, seconds(s->second.lastSeen - s->second.entered));
    s = t.stays.erase(s);
  }
  t.state = state;
}

void LifecycleMetrics::onUpdate(const json& fd) {
  json meta = fd.value("metadata", json::object());
  json status = fd.value("status", json::object());
  if (!meta.is_object()) return;
  if (!status.is_object()) status = json::object();
  const std::string ns = text(meta, "namespace"), name = text(meta, "name");
  std::string state = text(status, "lifecycleState");
  if (state.empty()) state = "CREATED";
  const auto now = clock_();
  std::lock_guard<std::mutex> lock(mu_);
  histograms_.try_emplace("");
  histograms_.try_emplace(ns);
  auto it = trackers_.find({ns, name});
  if (it == trackers_.end()) {
    auto since = now;
    if (state == "CREATED") {
      if (auto ms = parseRfc3339Ms(text(meta, "creationTimestamp"))) {
        since = std::chrono::system_clock::time_point(std::chrono::milliseconds(*ms));
      }
    }
    Tracker t;
    t.state = state;
    t.stays[state] = Stay{since, since};
    it = trackers_.emplace(std::make_pair(ns, name), std::move(t)).first;
  }
  Tracker& t = it->second;
  if (state != t.state) {
    for (const Transition& tr : kTransitions) {
      if (state != tr.to) continue;
      auto from = t.stays.find(tr.from);
      if (from == t.stays.end()) continue;
      record(ns, std::string("Transition_") + tr.name,
             seconds(now - (tr.fromLastSeen ? from->second.lastSeen : from->second.entered)));
    }
  }
  enter(t, ns, state, now);
}

void LifecycleMetrics::onRemove(const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  trackers_.erase({ns, name});
}

std::vector<prometheus::MetricFamily> LifecycleMetrics::collect(const OperatorIdentity& id) const {
  std::vector<std::string> metrics;
  for (const char* s : kLifecycleStates) metrics.push_back(std::string("State_") + s);
  for (const char* t : kTransitionNames) metrics.push_back(std::string("Transition_") + t);
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, prometheus::MetricFamily> families;
  const SampleWindow empty(0);
  for (const auto& [ns, byMetric] : histograms_) {
    for (const auto& metric : metrics) {
      std::string name = ns.empty() ? "flink_k8soperator_FlinkDeployment_Lifecycle_" + metric + "_TimeSeconds"
                                    : "flink_k8soperator_namespace_Lifecycle_" + metric + "_TimeSeconds";
      auto& family = families[name];
      family.name = name;
      family.help = "Apache Flink Kubernetes Operator lifecycle timer (seconds)";
      family.type = prometheus::MetricType::Summary;
      auto h = byMetric.find(metric);
      const SampleWindow& w = h == byMetric.end() ? empty : h->second;
      prometheus::ClientMetric m;
      m.label = {{"host", id.host}, {"name", id.name}, {"namespace", id.ns}};
      if (!ns.empty()) {
        m.label.push_back({"resourcens", ns});
        m.label.push_back({"resourcetype", "FlinkDeployment"});
      }
      m.summary.sample_count = w.count();
      m.summary.sample_sum = w.sum();
      for (double q : kQuantiles) m.summary.quantile.push_back({q, w.quantile(q)});
      family.metric.push_back(std::move(m));
    }
  }
  std::vector<prometheus::MetricFamily> out;
  for (auto& [name, f] : families) out.push_back(std::move(f));
  return out;
}

}  // namespace flink::k8s
