// The children of a FlinkDeployment (ConfigMap, Services, Deployments; the Ingress is in
// ingress.cc): the object builders behind desiredResources (controller/resources.h). They follow the Apache operator's
// standalone deployments, whose decorators live in flink-kubernetes-standalone.
//
// The JobManager Deployment uses the Recreate strategy (never two JobManagers running the
// same application during a rollout); the headless JobManager Service publishes not-ready
// addresses so TaskManagers can resolve the JobManager before its readiness probe passes.
#include "controller/resources.h"

#include "controller/resources/cluster_config.h"
#include "controller/resources/object_meta.h"
#include "controller/resources/pod_template.h"
#include "flink/common/certificates.h"
#include "flink/common/strings.h"

#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace flink::k8s {
namespace {

using json = nlohmann::json;
using detail::clusterConfiguration;
using detail::labels;
using detail::metadata;
using detail::podTemplate;
using detail::Ports;

constexpr const char* kLogConfigKeys[] = {"log4j-console.properties", "logback-console.xml"};

json servicePort(const char* name, int number) {
  return json{{"name", name}, {"port", number}, {"targetPort", number}, {"protocol", "TCP"}};
}

/// The ConfigMap: config.yaml from Flink 1.19 on (and when the version is not given), the
/// legacy flink-conf.yaml before; the logging configuration next to it; in native mode the
/// TaskManager pod template (`tmPod`, a Pod object written as JSON, which is YAML).
json configMap(const FlinkDeployment& fd, const Configuration& conf, const json& tmPod) {
  auto version = parseFlinkVersion(fd.spec.flinkVersion);
  bool legacy = version && *version < std::make_pair(1, 19);
  json data = json::object();
  data[legacy ? "flink-conf.yaml" : "config.yaml"] = conf.toYaml();
  for (const char* key : kLogConfigKeys) {
    auto it = fd.spec.logConfiguration.find(key);
    if (it != fd.spec.logConfiguration.end()) data[key] = it->second;
  }
  if (!tmPod.is_null()) data[detail::kTaskManagerPodTemplateKey] = tmPod.dump(2) + "\n";
  return json{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", metadata(fd, configMapName(fd), nullptr)},
              {"data", data}};
}

/// The JobManager's headless Service (RPC, blob server). With Kubernetes HA only the leader
/// opens its ports and becomes ready, so only ready addresses are published: TaskManagers
/// reach the leader, never a standby.
json jobManagerService(const FlinkDeployment& fd, const Configuration& conf, const Ports& ports) {
  return json{{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", metadata(fd, jobManagerName(fd), "jobmanager")},
              {"spec",
               {{"clusterIP", "None"},
                {"publishNotReadyAddresses", !detail::highAvailabilityEnabled(conf.entries())},
                {"selector", labels(fd, "jobmanager")},
                {"ports", json::array({servicePort("jobmanager-rpc", ports.rpc), servicePort("blobserver", ports.blob)})}}}};
}

/// The JobManager's REST Service, of the type kubernetes.rest-service.exposed.type.
json restService(const FlinkDeployment& fd, const Configuration& conf, const Ports& ports) {
  json restSpec = {{"type", "ClusterIP"},
                   {"selector", labels(fd, "jobmanager")},
                   {"ports", json::array({servicePort("rest", ports.rest)})}};
  std::string exposed = lower(conf.getString("kubernetes.rest-service.exposed.type", "ClusterIP"));
  if (exposed == "nodeport") {
    restSpec["type"] = "NodePort";
  } else if (exposed == "loadbalancer") {
    restSpec["type"] = "LoadBalancer";
  } else if (exposed == "headless_clusterip") {
    restSpec["clusterIP"] = "None";
  }
  return json{{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", metadata(fd, restServiceName(fd), "jobmanager")},
              {"spec", restSpec}};
}

json deployment(const FlinkDeployment& fd, const OperatorConfig& config, bool jm, const Configuration& conf,
                const Ports& ports) {
  const char* component = jm ? "jobmanager" : "taskmanager";
  json spec = {{"replicas", jm ? fd.spec.jobManager.replicas : fd.taskManagerReplicas()},
               {"selector", {{"matchLabels", labels(fd, component)}}},
               {"template", podTemplate(fd, config, jm, conf, ports)}};
  if (jm) spec["strategy"] = {{"type", "Recreate"}};
  return json{{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", metadata(fd, jm ? jobManagerName(fd) : taskManagerName(fd), component)},
              {"spec", spec}};
}

}  // namespace

std::string configMapName(const FlinkDeployment& fd) { return "flink-config-" + fd.name; }
std::string jobManagerName(const FlinkDeployment& fd) { return fd.name; }
std::string taskManagerName(const FlinkDeployment& fd) { return fd.name + "-taskmanager"; }
std::string restServiceName(const FlinkDeployment& fd) { return fd.name + "-rest"; }
std::string tlsSecretName(const FlinkDeployment& fd) { return fd.name + "-internal-tls"; }

Result<json> newTlsSecret(const FlinkDeployment& fd, std::chrono::seconds validity) {
  auto ca = certs::newCertificateAuthority(fd.name + "-ca", "flink-cpp " + fd.namespace_ + "/" + fd.name, validity);
  if (!ca.ok()) return ca.status();
  // The names a client may use: the Services (short, namespaced, cluster-local) and loopback.
  std::vector<std::string> sans = {"localhost", "127.0.0.1"};
  for (const std::string& svc : {jobManagerName(fd), restServiceName(fd)}) {
    for (const std::string& suffix : {std::string(), "." + fd.namespace_, "." + fd.namespace_ + ".svc",
                                      "." + fd.namespace_ + ".svc.cluster.local"})
      sans.push_back(svc + suffix);
  }
  auto peer = certs::issuePeerCertificate(*ca, fd.name, sans, validity);
  if (!peer.ok()) return peer.status();
  return json{{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", metadata(fd, tlsSecretName(fd), nullptr)},
              {"type", "kubernetes.io/tls"},
              {"data",
               {{"tls.crt", base64Encode(peer->certPem)},
                {"tls.key", base64Encode(peer->keyPem)},
                {"ca.crt", base64Encode(ca->certPem)}}}};
}

std::vector<nlohmann::json> desiredResources(const FlinkDeployment& fd, const OperatorConfig& config) {
  Ports ports;
  const Configuration conf = clusterConfiguration(fd, config, &ports);
  // Native mode: no TaskManager Deployment; the JobManager creates pods from this template.
  json tmPod;
  if (fd.spec.nativeKubernetes()) {
    tmPod = {{"apiVersion", "v1"}, {"kind", "Pod"}};
    tmPod.update(podTemplate(fd, config, false, conf, ports));
  }
  std::vector<nlohmann::json> out = {configMap(fd, conf, tmPod), jobManagerService(fd, conf, ports), restService(fd, conf, ports),
                                     deployment(fd, config, true, conf, ports)};
  if (tmPod.is_null()) out.push_back(deployment(fd, config, false, conf, ports));
  // An invalid template never gets here: validateFlinkDeployment rejects it first.
  if (auto ingress = desiredIngress(fd, ports.rest); ingress.ok() && *ingress) out.push_back(std::move(**ingress));
  return out;
}

}  // namespace flink::k8s
