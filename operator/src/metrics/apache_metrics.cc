#include "metrics/apache_metrics.h"

#include <prometheus/gauge.h>

#include <cctype>
#include <map>

namespace flink::k8s {

using nlohmann::json;

namespace {

/// A metric path component as Flink's Prometheus reporter writes it: characters outside
/// [a-zA-Z0-9_:] become '_'.
std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' ? c : '_';
  return out;
}

/// string field of an object, "" when absent or not a string.
std::string text(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const char* const kJmStatuses[] = {"READY", "DEPLOYED_NOT_READY", "DEPLOYING", "MISSING", "ERROR"};
const char* const kSnapshotStates[] = {"COMPLETED", "FAILED", "IN_PROGRESS", "TRIGGER_PENDING", "ABANDONED"};

class Gauges {
 public:
  Gauges(prometheus::Registry& registry, const OperatorIdentity& id) : registry_(registry), id_(id) {}

  /// Sets flink_k8soperator_namespace_<path> of (resourcens, resourcetype); adds when `add`.
  void ns(const std::string& path, const std::string& resourceNs, const std::string& type, double value, bool add = false) {
    auto& g = family("flink_k8soperator_namespace_" + path)
                  .Add({{"host", id_.host}, {"name", id_.name}, {"namespace", id_.ns}, {"resourcens", resourceNs},
                        {"resourcetype", type}});
    add ? g.Increment(value) : g.Set(value);
  }
  /// flink_k8soperator_namespace_resource_<path> of one resource.
  void resource(const std::string& path, const std::string& resourceNs, const std::string& resourceName,
                const std::string& type, double value) {
    family("flink_k8soperator_namespace_resource_" + path)
        .Add({{"host", id_.host}, {"name", id_.name}, {"namespace", id_.ns}, {"resourcens", resourceNs},
              {"resourcename", resourceName}, {"resourcetype", type}})
        .Set(value);
  }
  void system(const std::string& path, double value) {
    family("flink_k8soperator_" + path).Add({{"host", id_.host}, {"name", id_.name}, {"namespace", id_.ns}}).Increment(value);
  }

 private:
  prometheus::Family<prometheus::Gauge>& family(const std::string& name) {
    auto it = families_.find(name);
    if (it != families_.end()) return *it->second;
    auto& f = prometheus::BuildGauge().Name(name).Help("Apache Flink Kubernetes Operator metric").Register(registry_);
    families_[name] = &f;
    return f;
  }

  prometheus::Registry& registry_;
  const OperatorIdentity& id_;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> families_;
};

}  // namespace

void collectApacheMetrics(prometheus::Registry& registry, const OperatorIdentity& id, const std::vector<json>& flinkDeployments,
                          const std::vector<json>& snapshots, const std::vector<prometheus::MetricFamily>& collected,
                          const std::vector<JosdkCounters::Resource>& josdk) {
  Gauges g(registry, id);
  for (const auto& r : josdk) {
    for (const auto& [path, n] : r.counts) g.resource("JOSDK_" + sanitize(path) + "_Count", r.ns, r.name, r.type, static_cast<double>(n));
  }
  const std::string fdType = "FlinkDeployment";
  std::map<std::string, bool> seen;
  for (const json& fd : flinkDeployments) {
    std::string ns = text(fd.value("metadata", json::object()), "namespace");
    if (!seen[ns]) {
      // Every state of a namespace with resources, zero or not (as the Apache operator registers them).
      seen[ns] = true;
      g.ns("Count", ns, fdType, 0);
      for (const char* s : kLifecycleStates) g.ns(std::string("Lifecycle_State_") + s + "_Count", ns, fdType, 0);
      for (const char* s : kJmStatuses) g.ns(std::string("JmDeploymentStatus_") + s + "_Count", ns, fdType, 0);
      g.ns("ResourceUsage_Cpu", ns, fdType, 0);
      g.ns("ResourceUsage_Memory", ns, fdType, 0);
    }
    json status = fd.value("status", json::object());
    if (!status.is_object()) status = json::object();
    g.ns("Count", ns, fdType, 1, true);
    std::string lifecycle = text(status, "lifecycleState");
    g.ns("Lifecycle_State_" + sanitize(lifecycle.empty() ? "CREATED" : lifecycle) + "_Count", ns, fdType, 1, true);
    if (std::string jm = text(status, "jobManagerDeploymentStatus"); !jm.empty()) {
      g.ns("JmDeploymentStatus_" + sanitize(jm) + "_Count", ns, fdType, 1, true);
    }
    json info = status.value("clusterInfo", json::object());
    if (!info.is_object()) continue;
    if (std::string version = text(info, "flink-version"); !version.empty()) {
      g.ns("FlinkVersion_" + sanitize(version) + "_Count", ns, fdType, 1, true);
      size_t second = version.find('.', version.find('.') + 1);
      g.ns("FlinkMinorVersion_" + sanitize(version.substr(0, second)) + "_Count", ns, fdType, 1, true);
    }
    try {
      if (std::string cpu = text(info, "total-cpu"); !cpu.empty()) g.ns("ResourceUsage_Cpu", ns, fdType, std::stod(cpu), true);
      if (std::string mem = text(info, "total-memory"); !mem.empty()) {
        g.ns("ResourceUsage_Memory", ns, fdType, std::stod(mem), true);
      }
    } catch (...) {
      // Not a number (written by someone else): left out.
    }
  }
  std::map<std::string, bool> seenSnapshots;
  for (const json& s : snapshots) {
    std::string ns = text(s.value("metadata", json::object()), "namespace");
    if (!seenSnapshots[ns]) {
      seenSnapshots[ns] = true;
      for (const char* kind : {"Savepoint", "Checkpoint"}) {
        g.ns(std::string(kind) + "_Count", ns, "FlinkStateSnapshot", 0);
        for (const char* st : kSnapshotStates) {
          g.ns(std::string(kind) + "_State_" + st + "_Count", ns, "FlinkStateSnapshot", 0);
        }
      }
    }
    json spec = s.value("spec", json::object());
    std::string kind = spec.is_object() && spec.value("checkpoint", json()).is_object() ? "Checkpoint" : "Savepoint";
    json status = s.value("status", json::object());
    std::string state = status.is_object() ? text(status, "state") : "";
    g.ns(kind + "_Count", ns, "FlinkStateSnapshot", 1, true);
    g.ns(kind + "_State_" + sanitize(state.empty() ? "TRIGGER_PENDING" : state) + "_Count", ns, "FlinkStateSnapshot", 1, true);
  }
  // KubeClient: from the operator's own request counter.
  g.system("KubeClient_HttpRequest_Count", 0);
  g.system("KubeClient_HttpRequest_Failed_Count", 0);
  g.system("KubeClient_HttpResponse_Count", 0);
  for (const auto& family : collected) {
    if (family.name != "flink_operator_api_requests_total") continue;
    for (const auto& m : family.metric) {
      std::string verb, code;
      for (const auto& l : m.label) {
        if (l.name == "verb") verb = l.value;
        if (l.name == "code") code = l.value;
      }
      double n = m.counter.value;
      g.system("KubeClient_HttpRequest_Count", n);
      g.system("KubeClient_HttpRequest_" + sanitize(verb == "WATCH" ? "GET" : verb) + "_Count", n);
      if (code.empty() || code == "0") {
        g.system("KubeClient_HttpRequest_Failed_Count", n);
      } else {
        g.system("KubeClient_HttpResponse_Count", n);
        g.system("KubeClient_HttpResponse_" + sanitize(code) + "_Count", n);
      }
    }
  }
}

}  // namespace flink::k8s
