// What a FlinkDeployment becomes in Kubernetes (standalone mode, as the Apache Flink
// Kubernetes Operator's standalone deployments): pure functions from the resource to the
// desired child objects, and the validation rules the Apache operator applies.
//
// Children (namespace of the FlinkDeployment, labels app=<name>, component=jobmanager|taskmanager,
// an ownerReference to the FlinkDeployment with controller=true, blockOwnerDeletion=true):
//   ConfigMap  flink-config-<name>    config.yaml / flink-conf.yaml (flinkConfiguration plus the
//                                     computed keys) and the logging configuration
//   Service    <name>                 JobManager RPC (6123) and blob server (6124), headless
//   Service    <name>-rest            REST API (8081)
//   Deployment <name>                 JobManager: container flink-main-container, args
//                                     `standalone-job --job-classname C [args]` (application) or
//                                     `jobmanager` (session)
//   Deployment <name>-taskmanager     TaskManagers: args `taskmanager`, replicas
//                                     taskManager.replicas or ceil(parallelism / slots)
// The container arguments work for the project's runtime image and for the official Flink
// image, whose entrypoint takes the same first arguments.
//
// Implemented under controller/resources/: children.cc (the objects) and validation.cc (the
// rules), on internal parts in namespace flink::k8s::detail: quantities.h (memory and CPU),
// yaml_json.h, cluster_config.h (the configuration and ports), component_resources.h (memory
// and container resources), pod_template.h (template merging) and object_meta.h.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "api/flink_deployment.h"
#include "flink/status.h"

namespace flink::k8s {

/// Operator-wide settings (Helm values defaultConfiguration, image defaults).
struct OperatorConfig {
  std::string defaultImage = "flink-cpp:latest";
  std::map<std::string, std::string> defaultConfiguration;  // applied under each flinkConfiguration
  /// How the operator reaches a JobManager's REST API: "service" (the `<name>-rest` Service's
  /// DNS name and rest.port, as in a cluster with DNS) or "pod-ip" (the ready address and port
  /// of the Service's Endpoints: for operators running outside the cluster network's DNS, such
  /// as on the project's test cluster).
  std::string jobManagerAddress = "service";
};

std::string configMapName(const FlinkDeployment& fd);     // flink-config-<name>
std::string jobManagerName(const FlinkDeployment& fd);    // <name>
std::string taskManagerName(const FlinkDeployment& fd);   // <name>-taskmanager
std::string restServiceName(const FlinkDeployment& fd);   // <name>-rest

/// The desired children, in creation order (ConfigMap, Services, JobManager Deployment,
/// TaskManager Deployment), as complete Kubernetes objects (apiVersion, kind, metadata, spec/data).
std::vector<nlohmann::json> desiredResources(const FlinkDeployment& fd, const OperatorConfig& config);

/// The Apache operator's validation rules (its DefaultValidator) that apply here, on the
/// deployment's flinkConfiguration over `config.defaultConfiguration`: a DNS-1035 name of at
/// most 45 characters; a supported flinkVersion (v1_15 and newer); no kubernetes.namespace,
/// kubernetes.cluster-id or high-availability.cluster-id; logConfiguration keys
/// log4j-console.properties / logback-console.xml only; positive slots, parallelism and
/// replicas, jobManager.replicas > 1 only with high availability; a jar URI, a checkpoint
/// directory for the savepoint and last-state upgrade modes and a savepoint directory for
/// everything that takes savepoints; memory (spec or configuration), CPU and ephemeral
/// storage; well-typed pod templates; no switch between session and application mode or
/// between native and standalone relative to `lastValid` (if any); a serviceAccount; sane
/// autoscaler factors. The error starts with the path of the field
/// (e.g. "spec.flinkConfiguration.kubernetes.namespace: ...").
Status validateFlinkDeployment(const FlinkDeployment& fd, const FlinkDeployment* lastValid, const OperatorConfig& config);
/// The same with the operator's built-in defaults (no default configuration).
Status validateFlinkDeployment(const FlinkDeployment& fd, const FlinkDeployment* lastValid);

}  // namespace flink::k8s
