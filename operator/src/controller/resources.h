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
//   Ingress    <name>                 only with spec.ingress: networking.k8s.io/v1, one rule to the
//                                     REST Service's rest port (ingress.cc)
// The container arguments work for the project's runtime image and for the official Flink
// image, whose entrypoint takes the same first arguments.
//
// Implemented under controller/resources/: children.cc (the objects), ingress.cc and validation.cc (the
// rules), on internal parts in namespace flink::k8s::detail: quantities.h (memory and CPU),
// yaml_json.h, cluster_config.h (the configuration and ports), component_resources.h (memory
// and container resources), pod_template.h (template merging) and object_meta.h.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
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

std::string ingressName(const FlinkDeployment& fd);       // <name>
std::string tlsSecretName(const FlinkDeployment& fd);     // <name>-internal-tls

/// flinkConfiguration key: "true" makes the operator generate the deployment's TLS material (a
/// CA and one certificate it signed, for serverAuth and clientAuth, SANs the Services' names) in
/// the Secret <name>-internal-tls (kubernetes.io/tls: tls.crt, tls.key, ca.crt; owned by the
/// FlinkDeployment, kept across reconciles), mount it into the JobManager and TaskManager pods at
/// /opt/flink/tls, and set security.ssl.internal.* and security.ssl.rest.* (with
/// authentication-enabled) to it unless they are set; the operator then talks https to the
/// REST API with that certificate.
inline constexpr const char* kGenerateTlsKey = "kubernetes.operator.security.ssl.generate";
/// flinkConfiguration key for user-managed REST TLS: the name of a Secret (kubernetes.io/tls:
/// tls.crt, tls.key and ca.crt, in the deployment's namespace) holding the client certificate
/// the operator presents to the REST API and the CA it trusts for the server.
inline constexpr const char* kRestClientSecretKey = "kubernetes.operator.security.ssl.rest.client-secret";

/// The Secret kubernetes.operator.security.ssl.generate asks for, with a new CA and a
/// certificate valid `validity` from now; an OpenSSL failure is the error.
Result<nlohmann::json> newTlsSecret(const FlinkDeployment& fd, std::chrono::seconds validity);

/// The desired children, in creation order (ConfigMap, Services, JobManager Deployment,
/// TaskManager Deployment, then the Ingress when spec.ingress is set), as complete Kubernetes
/// objects (apiVersion, kind, metadata, spec/data).
std::vector<nlohmann::json> desiredResources(const FlinkDeployment& fd, const OperatorConfig& config);

/// Where spec.ingress.template points once expanded: the rule's host and path (each may be empty).
struct IngressUrl {
  std::string host;
  std::string path;
};

/// Expands an ingress template as the Apache operator does: {{name}} and {{namespace}} (any
/// letter case) are replaced, "http://" is put in front unless the template starts with http://
/// or https://, and the result is read as a URL: its host (without user info and port) becomes
/// the rule's host, its path (without query and fragment) the rule's path. So
/// "{{name}}.{{namespace}}.flink.k8s.io" is host-based, "/{{namespace}}/{{name}}(/|$)(.*)"
/// path-based and "flink.k8s.io/{{namespace}}/{{name}}" both. Stricter than the Apache
/// operator, which leaves it to the API server: an unknown placeholder (such as {{url}}), a host
/// that is not a DNS-1123 subdomain (a leading "*." allowed) or a port that is not a number is an
/// error naming spec.ingress.template.
Result<IngressUrl> expandIngressTemplate(const std::string& urlTemplate, const std::string& name,
                                         const std::string& ns);

/// The Ingress of spec.ingress (nullopt without one): metadata.name <name>, labels
/// spec.ingress.labels plus app=<name>, annotations spec.ingress.annotations, an ownerReference
/// to the FlinkDeployment; spec.ingressClassName className, tls as given, and one rule (host and
/// path from expandIngressTemplate, pathType ImplementationSpecific) to the <name>-rest Service
/// on `restPort`. The Apache operator adds no annotation of its own: a path-based template on
/// ingress-nginx needs the user's nginx.ingress.kubernetes.io/rewrite-target, as its docs show.
Result<std::optional<nlohmann::json>> desiredIngress(const FlinkDeployment& fd, int restPort);

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
/// autoscaler factors; an ingress template that expands (expandIngressTemplate). The error starts with the path of the field
/// (e.g. "spec.flinkConfiguration.kubernetes.namespace: ...").
Status validateFlinkDeployment(const FlinkDeployment& fd, const FlinkDeployment* lastValid, const OperatorConfig& config);
/// The same with the operator's built-in defaults (no default configuration).
Status validateFlinkDeployment(const FlinkDeployment& fd, const FlinkDeployment* lastValid);

}  // namespace flink::k8s
