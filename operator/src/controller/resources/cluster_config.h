// The Flink configuration of a cluster (what the ConfigMap holds) and the ports it settles.
// Internal to controller/resources.
//
// Port names are Flink's: jobmanager-rpc (6123), blobserver (6124), rest (8081), plus metrics
// (metrics.reporter.prom.port, the first port of a range, 9249 unless set) and, on
// TaskManagers, data (taskmanager.data.port, 6121 unless set). The ports come from the merged
// configuration when it holds a plain port number.
#pragma once

#include <map>
#include <string>

#include "api/flink_deployment.h"
#include "controller/resources.h"
#include "flink/configuration.h"

namespace flink::k8s::detail {

inline constexpr int kDefaultRpcPort = 6123;
inline constexpr int kDefaultBlobPort = 6124;
inline constexpr int kDefaultRestPort = 8081;
inline constexpr int kDefaultDataPort = 6121;
inline constexpr int kMetricsPort = 9249;

/// In native mode the ConfigMap holds the TaskManager pod template under this key, mounted
/// with the configuration at kConfDir (the JobManager reads it from there).
inline constexpr const char* kTaskManagerPodTemplateKey = "taskmanager-pod-template.yaml";
inline constexpr const char* kConfDir = "/opt/flink/conf";

/// The ports of a cluster (TCP port numbers, 1 to 65535).
struct Ports {
  int rpc = kDefaultRpcPort;
  int blob = kDefaultBlobPort;
  int rest = kDefaultRestPort;
  int data = kDefaultDataPort;
  int metrics = kMetricsPort;
};

/// Whether high availability is on: high-availability.type (or the older high-availability)
/// set to anything but "none" (case-insensitive, blank counts as unset).
bool highAvailabilityEnabled(const std::map<std::string, std::string>& conf);

/// Where the generated TLS Secret (<name>-internal-tls) is mounted in JobManager and TaskManager
/// pods (read-only): tls.crt, tls.key, ca.crt.
inline constexpr const char* kTlsMountDir = "/opt/flink/tls";
inline constexpr const char* kTlsVolume = "flink-internal-tls";
/// Whether the effective configuration asks the operator to generate the TLS Secret
/// (kubernetes.operator.security.ssl.generate: true).
bool generatesTls(const Configuration& conf);

/// The configuration written to the ConfigMap: the operator's defaultConfiguration under the
/// FlinkDeployment's effective configuration, plus the computed keys (JobManager address and
/// ports, cluster id and namespace, the high-availability cluster id, execution target, the
/// job jar's classpath, with native mode (FlinkDeploymentSpec::nativeKubernetes) Flink's
/// kubernetes.* keys of a native cluster: execution.target kubernetes-application or
/// kubernetes-session, kubernetes.container.image.ref, kubernetes.taskmanager.cpu.amount,
/// kubernetes.service-account and kubernetes.pod-template-file.taskmanager; and each process size as a Flink size, from resource.memory unless
/// only the configuration sizes the component). Stores the ports it settles in
/// `*ports` (a configured plain port number, else the default). Never fails: values that do
/// not parse are left to validation.
Configuration clusterConfiguration(const FlinkDeployment& fd, const OperatorConfig& config, Ports* ports);

}  // namespace flink::k8s::detail
