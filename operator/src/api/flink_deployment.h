// The FlinkDeployment custom resource (flink.apache.org/v1beta1), field-compatible with the
// Apache Flink Kubernetes Operator's CRD (https://nightlies.apache.org/flink/flink-kubernetes-operator-docs-stable/docs/custom-resource/reference/).
// Parsed from YAML with validation errors that name the file, line and field path.
// Fields this model does not interpret (podTemplate, ...) are kept as YAML.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flink/configuration.h"
#include "flink/status.h"

namespace flink::k8s {

struct Resource {
  double cpu = 1.0;
  std::string memory = "1024m";
  std::optional<std::string> ephemeralStorage;
};

struct JobManagerSpec {
  Resource resource;          // `resource` (Flink style), or derived from `resources.requests`
  bool resourceSet = false;   // `resource` or `resources` given
  YAML::Node resources;       // `resources` (Kubernetes ResourceRequirements), kept as given
  int replicas = 1;
  YAML::Node podTemplate;
};

struct TaskManagerSpec {
  Resource resource;
  bool resourceSet = false;
  YAML::Node resources;
  std::optional<int> replicas;
  YAML::Node podTemplate;
};

struct JobSpec {
  std::string jarURI;
  std::string entryClass;
  std::vector<std::string> args;
  std::optional<int> parallelism;
  std::string upgradeMode = "stateless";  // stateless | savepoint | last-state
  std::string state = "running";          // running | suspended
  std::optional<std::string> initialSavepointPath;
  bool allowNonRestoredState = false;
};

/// One entry of spec.ingress.tls (networking.k8s.io/v1 IngressTLS).
struct IngressTls {
  std::vector<std::string> hosts;
  std::string secretName;
};

/// spec.ingress: an Ingress to the JobManager's REST Service (the Apache operator's IngressSpec).
struct IngressSpec {
  std::string urlTemplate;  // `template`: host and/or path with {{name}} and {{namespace}}
  std::string className;
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> labels;
  std::vector<IngressTls> tls;
};

struct FlinkDeploymentSpec {
  std::string image;
  std::string imagePullPolicy;
  std::string flinkVersion;
  std::string serviceAccount;
  std::string mode = "native";  // native | standalone
  /// spec.mode was written in the manifest. Only an explicit `mode: native` deploys natively
  /// (the JobManager creates its TaskManager pods); without it the operator keeps deploying a
  /// TaskManager Deployment, as it did before native mode existed.
  bool modeSet = false;
  /// True for an explicit `spec.mode: native`.
  bool nativeKubernetes() const { return modeSet && mode == "native"; }
  std::map<std::string, std::string> flinkConfiguration;  // nested YAML flattened to dotted keys
  std::map<std::string, std::string> logConfiguration;
  JobManagerSpec jobManager;
  TaskManagerSpec taskManager;
  std::optional<JobSpec> job;
  std::optional<IngressSpec> ingress;
  YAML::Node podTemplate;
};

struct FlinkDeployment {
  std::string apiVersion;
  std::string kind;
  std::string name;
  std::string namespace_ = "default";
  std::string uid;
  int64_t generation = 0;
  std::map<std::string, std::string> labels;
  FlinkDeploymentSpec spec;
  YAML::Node specNode;  // spec as written, for status.lastReconciledSpec
  /// Set by the operator for the cluster it deploys, never read from YAML: the fixed job ID
  /// ($internal.pipeline.job-id, 32 hex digits) and where the job starts from
  /// (execution.savepoint.path; nullopt = empty state). With no deployJobId the spec's
  /// initialSavepointPath applies (the embedded runner).
  std::string deployJobId;
  std::optional<std::string> deployRestorePath;

  /// taskmanager.numberOfTaskSlots from flinkConfiguration (default 1).
  int taskSlots() const;
  /// As the Apache operator: taskManager.replicas x slots when taskManager.replicas is set (the
  /// scale subresource's replicas; job.parallelism is then ignored), else job.parallelism, else
  /// parallelism.default, else 1.
  int parallelism() const;
  /// taskManager.replicas, else ceil(parallelism / slots).
  int taskManagerReplicas() const;
  /// flinkConfiguration plus the keys derived from the spec (parallelism, application job).
  Configuration effectiveConfiguration() const;
};

/// Parses one FlinkDeployment document. `source` (a file name) prefixes errors, which have
/// the form "<source>:<line>: <field path>: <problem>".
Result<FlinkDeployment> parseFlinkDeployment(const YAML::Node& doc, const std::string& source);
/// Loads the first FlinkDeployment of a (possibly multi-document) YAML file.
Result<FlinkDeployment> loadFlinkDeployment(const std::string& path);

/// A spec.flinkVersion ("v1_19", the leading v optional) as {major, minor}; nullopt when not of
/// that form.
std::optional<std::pair<int, int>> parseFlinkVersion(const std::string& version);

}  // namespace flink::k8s
