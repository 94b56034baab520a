// The Apache operator's lifecycle timers (metrics/lifecycle_metrics.h) with a manual clock:
// which state and transition times a FlinkDeployment's lifecycle records, and how they are
// exported (Flink's Prometheus reporter's summaries).
#include <catch2/catch.hpp>
#include <prometheus/text_serializer.h>

#include "metrics/lifecycle_metrics.h"

using namespace flink::k8s;
using nlohmann::json;

namespace {

struct Timeline {
  std::chrono::system_clock::time_point now = start();
  LifecycleMetrics metrics{[this] { return now; }};

  /// The FlinkDeployment ns/app, created 10 s before the first `now`, in `state` ("" = no status).
  static json fd(const std::string& ns, const std::string& state) {
    json obj = {{"metadata", {{"namespace", ns}, {"name", "app"}, {"creationTimestamp", "2019-12-31T23:59:50Z"}}}};
    if (!state.empty()) obj["status"] = {{"lifecycleState", state}};
    return obj;
  }
  void at(int secondsFromStart, const std::string& state, const std::string& ns = "team") {
    now = start() + std::chrono::seconds(secondsFromStart);
    metrics.onUpdate(fd(ns, state));
  }
  static std::chrono::system_clock::time_point start() {  // 2020-01-01T00:00:00Z
    return std::chrono::system_clock::time_point(std::chrono::seconds(1577836800));
  }
};

/// The summary of `family` for namespace `ns` ("" = the system-wide one).
const prometheus::ClientMetric* find(const std::vector<prometheus::MetricFamily>& families, const std::string& family,
                                     const std::string& ns) {
  for (const auto& f : families) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      std::string resourcens;
      for (const auto& l : m.label) {
        if (l.name == "resourcens") resourcens = l.value;
      }
      if (resourcens == ns) return &m;
    }
  }
  return nullptr;
}

double median(const prometheus::ClientMetric& m) {
  for (const auto& q : m.summary.quantile) {
    if (q.quantile == 0.5) return q.value;
  }
  return -1;
}

}  // namespace

TEST_CASE("SampleWindow: a sliding window of values, commons-math percentile positions, count and sum of all",
          "[lifecycle-metrics]") {
  SampleWindow w(100);
  CHECK(w.quantile(0.5) == 0);
  for (int i = 1; i <= 100; ++i) w.update(i);
  CHECK(w.quantile(0.5) == Approx(50.5));
  CHECK(w.quantile(0.999) == 100);
  CHECK(w.quantile(0.001) == 1);
  SampleWindow small(3);
  for (double v : {100.0, 100.0, 1.0, 2.0, 3.0}) small.update(v);
  CHECK(small.count() == 5);
  CHECK(small.sum() == 206);
  CHECK(small.quantile(0.999) == 3);  // the two 100s left the window
}

TEST_CASE("Lifecycle timers follow a deployment, a stable run, an upgrade and a suspend, per namespace and system-wide",
          "[lifecycle-metrics]") {
  Timeline t;
  OperatorIdentity id{"host", "op", "flink-system"};
  CHECK(t.metrics.collect(id).empty());  // nothing before the first FlinkDeployment

  t.at(0, "");           // CREATED since its creationTimestamp
  t.at(1, "DEPLOYED");
  t.at(6, "DEPLOYED");   // last seen DEPLOYED at 6 s
  t.at(21, "STABLE");    // Stabilization: 20 s since DEPLOYED was entered; DEPLOYED stayed 1..6 s
  t.at(30, "STABLE");
  t.at(100, "UPGRADING");  // Suspend: 70 s since STABLE was last seen
  t.at(110, "DEPLOYED");   // Submission: 10 s since UPGRADING was last seen
  t.at(130, "STABLE");     // Stabilization 20 s again; Upgrade: 100 s since STABLE was last seen
  t.at(200, "SUSPENDED");  // Suspend: 70 s since STABLE was last seen (130 s)

  auto families = t.metrics.collect(id);
  for (const std::string ns : {"", "team"}) {
    const std::string prefix = ns.empty() ? "flink_k8soperator_FlinkDeployment_Lifecycle_" : "flink_k8soperator_namespace_Lifecycle_";
    auto metric = [&](const std::string& m) {
      const auto* found = find(families, prefix + m + "_TimeSeconds", ns);
      REQUIRE(found);
      return *found;
    };
    INFO("scope " << (ns.empty() ? "system" : ns));
    CHECK(metric("Transition_Stabilization").summary.sample_count == 2);
    CHECK(median(metric("Transition_Stabilization")) == 20);
    CHECK(metric("Transition_Suspend").summary.sample_count == 2);
    CHECK(median(metric("Transition_Suspend")) == 70);
    CHECK(median(metric("Transition_Submission")) == 10);
    CHECK(metric("Transition_Upgrade").summary.sample_count == 1);
    CHECK(median(metric("Transition_Upgrade")) == 100);
    CHECK(metric("Transition_Resume").summary.sample_count == 0);
    CHECK(metric("Transition_Rollback").summary.sample_count == 0);
    // States end when a terminal state is entered: DEPLOYED 1..6 s, then 110..110 s; STABLE
    // 130..130 s (entered again at 130 s) when SUSPENDED came; UPGRADING 100..100 s.
    CHECK(metric("State_DEPLOYED").summary.sample_count == 2);
    CHECK(metric("State_DEPLOYED").summary.sample_sum == 5);
    CHECK(metric("State_STABLE").summary.sample_count == 1);
    CHECK(metric("State_CREATED").summary.sample_count == 1);
    CHECK(metric("State_SUSPENDED").summary.sample_count == 0);
  }
  const auto* stab = find(families, "flink_k8soperator_namespace_Lifecycle_Transition_Stabilization_TimeSeconds", "team");
  REQUIRE(stab);
  std::map<std::string, std::string> labels;
  for (const auto& l : stab->label) labels[l.name] = l.value;
  CHECK(labels == std::map<std::string, std::string>{{"host", "host"},
                                                     {"name", "op"},
                                                     {"namespace", "flink-system"},
                                                     {"resourcens", "team"},
                                                     {"resourcetype", "FlinkDeployment"}});
  std::string text = prometheus::TextSerializer().Serialize(families);
  CHECK_THAT(text, Catch::Contains("# TYPE flink_k8soperator_FlinkDeployment_Lifecycle_State_STABLE_TimeSeconds summary"));
  CHECK_THAT(text, Catch::Contains("flink_k8soperator_namespace_Lifecycle_Transition_Suspend_TimeSeconds_count{"));
  CHECK_THAT(text, Catch::Contains("quantile=\"0.999\""));
}

TEST_CASE("Lifecycle timers: a rollback, a resume, CREATED timed from creationTimestamp, removed resources forgotten",
          "[lifecycle-metrics]") {
  Timeline t;
  OperatorIdentity id{"h", "n", "o"};
  t.at(0, "");  // created 10 s before
  t.at(30, "SUSPENDED");  // terminal: CREATED stayed from its creation to when last seen (10 s)
  t.at(40, "SUSPENDED");
  t.at(45, "DEPLOYED", "team");
  t.at(50, "STABLE");     // Resume: 10 s since SUSPENDED was last seen at 40 s
  t.at(60, "UPGRADING");
  t.at(65, "DEPLOYED");
  t.at(95, "ROLLING_BACK");
  t.at(100, "ROLLED_BACK");  // Rollback: 35 s since DEPLOYED was entered (65 s); Submission 5 s
  auto families = t.metrics.collect(id);
  const std::string p = "flink_k8soperator_FlinkDeployment_Lifecycle_";
  REQUIRE(find(families, p + "State_CREATED_TimeSeconds", ""));
  CHECK(find(families, p + "State_CREATED_TimeSeconds", "")->summary.sample_sum == 10);
  CHECK(median(*find(families, p + "Transition_Resume_TimeSeconds", "")) == 10);
  CHECK(median(*find(families, p + "Transition_Rollback_TimeSeconds", "")) == 35);
  CHECK(median(*find(families, p + "Transition_Submission_TimeSeconds", "")) == 5);

  CHECK(find(families, p + "Transition_Stabilization_TimeSeconds", "")->summary.sample_count == 1);  // 45 -> 50 s

  // Removed, then seen again (SUSPENDED, then STABLE): a new tracker, no transition from the
  // old one's states; the histograms keep what they had.
  t.metrics.onRemove("team", "app");
  t.at(200, "DEPLOYED");
  t.at(210, "STABLE");
  families = t.metrics.collect(id);
  CHECK(find(families, p + "Transition_Resume_TimeSeconds", "")->summary.sample_count == 1);
  CHECK(find(families, p + "Transition_Rollback_TimeSeconds", "")->summary.sample_count == 1);
  CHECK(find(families, p + "Transition_Stabilization_TimeSeconds", "")->summary.sample_count == 2);
}
