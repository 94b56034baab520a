// The Apache Flink Kubernetes Operator's metric names (metrics/apache_metrics.h): what its
// users' dashboards and alerts query, computed from FlinkDeployments, FlinkStateSnapshots and
// the operator's API request counter.
#include <prometheus/counter.h>
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>

#include "metrics/apache_metrics.h"

namespace {

using nlohmann::json;
using flink::k8s::OperatorIdentity;

json fd(const std::string& ns, const std::string& name, json status) {
  return {{"metadata", {{"namespace", ns}, {"name", name}}}, {"status", std::move(status)}};
}

/// The exposition text of the Apache metrics for these objects.
std::string scrape(const std::vector<json>& fds, const std::vector<json>& snapshots,
                   const std::vector<prometheus::MetricFamily>& own = {}) {
  prometheus::Registry registry;
  flink::k8s::collectApacheMetrics(registry, OperatorIdentity{"node-1", "flink-operator-abc", "operators"}, fds, snapshots,
                                   own);
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

/// The sample line of `name` whose labels contain every one of `labels`, or "".
std::string sample(const std::string& text, const std::string& name, const std::vector<std::string>& labels) {
  size_t pos = 0;
  while ((pos = text.find("\n" + name + "{", pos)) != std::string::npos) {
    size_t end = text.find('\n', pos + 1);
    std::string line = text.substr(pos + 1, end - pos - 1);
    bool all = true;
    for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
    if (all) return line;
    pos = end;
  }
  return "";
}

double value(const std::string& line) { return line.empty() ? -1 : std::stod(line.substr(line.rfind(' ') + 1)); }

}  // namespace

TEST_CASE("Apache operator metrics: FlinkDeployments counted per namespace, lifecycle state, JobManager status, version, usage",
          "[metrics]") {
  std::vector<json> fds = {
      fd("team-a", "one", {{"lifecycleState", "STABLE"}, {"jobManagerDeploymentStatus", "READY"},
                           {"clusterInfo", {{"flink-version", "1.19.0"}, {"total-cpu", "2.5"}, {"total-memory", "4294967296"}}}}),
      fd("team-a", "two", {{"lifecycleState", "STABLE"}, {"jobManagerDeploymentStatus", "READY"},
                           {"clusterInfo", {{"flink-version", "1.19.1"}, {"total-cpu", "1.0"}, {"total-memory", "1073741824"}}}}),
      fd("team-b", "three", json::object()),  // new: CREATED, no JobManager status yet
  };
  std::string text = scrape(fds, {});
  const std::string a = "resourcens=\"team-a\"", b = "resourcens=\"team-b\"", type = "resourcetype=\"FlinkDeployment\"";
  CHECK(value(sample(text, "flink_k8soperator_namespace_Count", {a, type})) == 2);
  CHECK(value(sample(text, "flink_k8soperator_namespace_Count", {b, type})) == 1);
  CHECK(value(sample(text, "flink_k8soperator_namespace_Lifecycle_State_STABLE_Count", {a})) == 2);
  CHECK(value(sample(text, "flink_k8soperator_namespace_Lifecycle_State_FAILED_Count", {a})) == 0);  // every state
  CHECK(value(sample(text, "flink_k8soperator_namespace_Lifecycle_State_CREATED_Count", {b})) == 1);
  CHECK(value(sample(text, "flink_k8soperator_namespace_JmDeploymentStatus_READY_Count", {a})) == 2);
  CHECK(value(sample(text, "flink_k8soperator_namespace_JmDeploymentStatus_ERROR_Count", {b})) == 0);
  CHECK(value(sample(text, "flink_k8soperator_namespace_FlinkVersion_1_19_0_Count", {a})) == 1);
  CHECK(value(sample(text, "flink_k8soperator_namespace_FlinkMinorVersion_1_19_Count", {a})) == 2);
  CHECK(value(sample(text, "flink_k8soperator_namespace_ResourceUsage_Cpu", {a})) == 3.5);
  CHECK(value(sample(text, "flink_k8soperator_namespace_ResourceUsage_Memory", {a})) == 5368709120.0);
  // The operator pod's labels.
  std::string line = sample(text, "flink_k8soperator_namespace_Count", {a});
  CHECK_THAT(line, Catch::Contains("host=\"node-1\"") && Catch::Contains("name=\"flink-operator-abc\"") &&
                       Catch::Contains("namespace=\"operators\""));
}

TEST_CASE("Apache operator metrics: FlinkStateSnapshots by kind and state, and the KubeClient request counts",
          "[metrics]") {
  std::vector<json> snapshots = {
      {{"metadata", {{"namespace", "team-a"}}}, {"spec", {{"savepoint", json::object()}}}, {"status", {{"state", "COMPLETED"}}}},
      {{"metadata", {{"namespace", "team-a"}}}, {"spec", {{"savepoint", json::object()}}}, {"status", {{"state", "FAILED"}}}},
      {{"metadata", {{"namespace", "team-a"}}}, {"spec", {{"checkpoint", json::object()}}}},
  };
  prometheus::Registry own;
  auto& requests = prometheus::BuildCounter().Name("flink_operator_api_requests_total").Register(own);
  requests.Add({{"verb", "GET"}, {"code", "200"}}).Increment(5);
  requests.Add({{"verb", "WATCH"}, {"code", "200"}}).Increment(2);
  requests.Add({{"verb", "PUT"}, {"code", "409"}}).Increment(1);
  requests.Add({{"verb", "PATCH"}, {"code", "0"}}).Increment(3);  // no answer
  std::string text = scrape({}, snapshots, own.Collect());
  const std::string a = "resourcens=\"team-a\"", type = "resourcetype=\"FlinkStateSnapshot\"";
  CHECK(value(sample(text, "flink_k8soperator_namespace_Savepoint_Count", {a, type})) == 2);
  CHECK(value(sample(text, "flink_k8soperator_namespace_Savepoint_State_COMPLETED_Count", {a, type})) == 1);
  CHECK(value(sample(text, "flink_k8soperator_namespace_Savepoint_State_FAILED_Count", {a, type})) == 1);
  CHECK(value(sample(text, "flink_k8soperator_namespace_Checkpoint_State_TRIGGER_PENDING_Count", {a, type})) == 1);
  CHECK(value(sample(text, "flink_k8soperator_namespace_Checkpoint_State_COMPLETED_Count", {a, type})) == 0);
  CHECK(value(sample(text, "flink_k8soperator_KubeClient_HttpRequest_Count", {})) == 11);
  CHECK(value(sample(text, "flink_k8soperator_KubeClient_HttpRequest_GET_Count", {})) == 7);  // watches are GETs
  CHECK(value(sample(text, "flink_k8soperator_KubeClient_HttpRequest_Failed_Count", {})) == 3);
  CHECK(value(sample(text, "flink_k8soperator_KubeClient_HttpResponse_Count", {})) == 8);
  CHECK(value(sample(text, "flink_k8soperator_KubeClient_HttpResponse_409_Count", {})) == 1);
  CHECK(sample(text, "flink_k8soperator_namespace_Count", {}).empty());  // no FlinkDeployment anywhere
}

TEST_CASE("apache metrics: JOSDK counters per resource, retries after a failure, dropped on deletion") {
  flink::k8s::JosdkCounters c;
  c.event("FlinkDeployment", "ns1", "a", "ADDED");
  c.reconciled("FlinkDeployment", "ns1", "a", false);
  c.reconciled("FlinkDeployment", "ns1", "a", true);  // a retry: the previous one failed
  c.reconciled("FlinkDeployment", "ns1", "a", true);
  c.event("FlinkDeployment", "ns1", "a", "UPDATED");
  c.event("FlinkDeployment", "ns1", "b", "ADDED");
  auto snap = c.snapshot();
  REQUIRE(snap.size() == 2);
  const auto& a = snap[0].name == "a" ? snap[0] : snap[1];
  CHECK(a.counts.at("Reconciliation") == 3);
  CHECK(a.counts.at("Reconciliation.failed") == 1);
  CHECK(a.counts.at("Reconciliation.finished") == 2);
  CHECK(a.counts.at("Reconciliation.retries") == 1);
  CHECK(a.counts.at("Resource.Event") == 2);
  CHECK(a.counts.at("Resource.Event.UPDATED") == 1);

  prometheus::Registry registry;
  flink::k8s::OperatorIdentity id{"host1", "op", "flink-system"};
  flink::k8s::collectApacheMetrics(registry, id, {}, {}, {}, snap);
  bool found = false;
  for (const auto& family : registry.Collect()) {
    if (family.name != "flink_k8soperator_namespace_resource_JOSDK_Reconciliation_retries_Count") continue;
    for (const auto& m : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& l : m.label) labels[l.name] = l.value;
      if (labels["resourcename"] == "a" && labels["resourcens"] == "ns1" && labels["resourcetype"] == "FlinkDeployment") {
        found = m.gauge.value == 1;
      }
    }
  }
  CHECK(found);
  c.event("FlinkDeployment", "ns1", "a", "DELETED");
  CHECK(c.snapshot().size() == 1);
}
