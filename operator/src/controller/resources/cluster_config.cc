// The cluster configuration. See cluster_config.h.
#include "controller/resources/cluster_config.h"

#include "controller/resources/component_resources.h"
#include "controller/resources/quantities.h"
#include "flink/common/strings.h"

#include <fmt/format.h>

namespace flink::k8s::detail {
namespace {

/// A port number in the configuration when it is a plain port, else the default.
int configuredPort(const Configuration& conf, const char* key, int def) {
  auto v = conf.get(key);
  if (!v) return def;
  try {
    size_t pos = 0;
    std::string t = trim(*v);
    int p = std::stoi(t, &pos);
    if (pos == t.size() && p > 0 && p < 65536) return p;
  } catch (...) {
  }
  return def;
}

/// metrics.reporter.prom.port: a port or a range "9249-9259" (Flink's reporter binds the first
/// free one; one process per pod binds the first).
int metricsPort(const Configuration& conf) {
  auto v = conf.get("metrics.reporter.prom.port");
  if (!v) return kMetricsPort;
  Configuration first;
  first.set("p", trim(v->substr(0, v->find('-'))));
  return configuredPort(first, "p", kMetricsPort);
}

}  // namespace

bool highAvailabilityEnabled(const std::map<std::string, std::string>& conf) {
  for (const char* key : {"high-availability.type", "high-availability"}) {
    auto it = conf.find(key);
    if (it == conf.end()) continue;
    std::string v = lower(trim(it->second));
    if (!v.empty() && v != "none") return true;
  }
  return false;
}

bool generatesTls(const Configuration& conf) {
  auto v = conf.getBool(kGenerateTlsKey, false);
  return v.ok() && *v;
}

Configuration clusterConfiguration(const FlinkDeployment& fd, const OperatorConfig& config, Ports* ports) {
  Configuration c;
  for (const auto& [k, v] : config.defaultConfiguration) c.set(k, v);
  c.addAll(fd.effectiveConfiguration());

  ports->rpc = configuredPort(c, options::kRpcPort, kDefaultRpcPort);
  ports->blob = configuredPort(c, "blob.server.port", kDefaultBlobPort);
  ports->rest = configuredPort(c, options::kRestPort, kDefaultRestPort);
  ports->data = configuredPort(c, options::kTaskManagerDataPort, kDefaultDataPort);
  ports->metrics = metricsPort(c);

  c.set(options::kRpcAddress, jobManagerName(fd));
  c.set(options::kRpcPort, std::to_string(ports->rpc));
  c.set("blob.server.port", std::to_string(ports->blob));
  c.set(options::kRestAddress, jobManagerName(fd));
  c.set(options::kRestPort, std::to_string(ports->rest));
  c.set(options::kTaskManagerDataPort, std::to_string(ports->data));
  c.set("kubernetes.cluster-id", fd.name);
  c.set("kubernetes.namespace", fd.namespace_);
  if (highAvailabilityEnabled(c.entries())) c.set("high-availability.cluster-id", fd.name);
  c.set(options::kShutdownOnFinish, "false");
  if (!fd.deployJobId.empty()) {
    // The operator decides the job ID and the restore path per deployment (job lifecycle).
    c.set(options::kJobId, fd.deployJobId);
    c.remove("execution.savepoint.path");
    if (fd.deployRestorePath) c.set("execution.savepoint.path", *fd.deployRestorePath);
  }
  // As the Apache operator's standalone clusters: the job jar on the classpath (local:// is
  // native mode's scheme for a file in the image), remote execution target.
  c.set("execution.target", "remote");
  if (fd.spec.nativeKubernetes()) {
    // As Flink's native clusters: the JobManager's ResourceManager creates the TaskManager pods
    // from the template the operator would have put in a TaskManager Deployment.
    c.set("execution.target", fd.spec.job ? "kubernetes-application" : "kubernetes-session");
    c.set("kubernetes.container.image.ref", fd.spec.image.empty() ? config.defaultImage : fd.spec.image);
    c.set("kubernetes.taskmanager.cpu.amount", fmt::format("{}", fd.spec.taskManager.resource.cpu));
    if (!fd.spec.serviceAccount.empty()) c.set("kubernetes.service-account", fd.spec.serviceAccount);
    c.set("kubernetes.pod-template-file.taskmanager", std::string(kConfDir) + "/" + kTaskManagerPodTemplateKey);
  }
  if (fd.spec.job) {
    const std::string& jar = fd.spec.job->jarURI;
    if (jar.rfind("local://", 0) == 0) {
      c.set("pipeline.classpaths", "file://" + jar.substr(8));
    } else if (jar.rfind("file:", 0) == 0) {
      c.set("pipeline.classpaths", jar);
    }
  }

  if (generatesTls(c)) {
    // The one flag: internal TLS and REST TLS with client authentication, from the Secret the
    // operator generates; keys the user set explicitly win (e.g. security.ssl.rest.enabled: false).
    std::string dir = kTlsMountDir;
    auto setDefault = [&c](const std::string& key, const std::string& value) {
      if (!c.contains(key)) c.set(key, value);
    };
    setDefault("security.ssl.internal.enabled", "true");
    setDefault("security.ssl.rest.enabled", "true");
    setDefault("security.ssl.rest.authentication-enabled", "true");
    for (const char* scope : {"internal", "rest"}) {
      std::string p = std::string("security.ssl.") + scope + ".";
      setDefault(p + "key", dir + "/tls.key");
      setDefault(p + "cert.chain", dir + "/tls.crt");
      setDefault(p + "trustedcerts", dir + "/ca.crt");
    }
  }

  for (bool jm : {true, false}) {
    bool configured = false;
    for (const auto& k : memoryConfigKeys(jm)) configured = configured || c.contains(k);
    if (memorySpec(fd, jm).inSpec || !configured) {
      auto bytes = memoryBytes(processMemory(fd, jm, c));
      if (bytes.ok()) c.set(processSizeKey(jm), flinkMemory(*bytes));
    }
  }
  return c;
}

}  // namespace flink::k8s::detail
