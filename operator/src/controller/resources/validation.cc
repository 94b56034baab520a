// The Apache operator's validation rules (its DefaultValidator) that apply to standalone
// deployments: the implementation of validateFlinkDeployment (controller/resources.h). Every
// error starts with the path of the field it is about. Rules are checked in order and the
// first failure is reported, as the Apache operator does; the configuration they read is the
// operator's default configuration under the deployment's flinkConfiguration.
//
// Left out on purpose: high availability for kubernetes.operator.deployment.rollback.enabled
// (our rollback restores from the savepoint or the checkpoints of the fixed job ID, no HA
// needed), a flinkVersion change after a last-state suspend (the runtime's checkpoints do not
// depend on flinkVersion, and lastReconciledSpec holds the old spec while an upgrade is
// stopped), and the ingress template (spec.ingress is not part of the model yet).
#include "controller/resources.h"

#include "controller/resources/cluster_config.h"
#include "controller/resources/component_resources.h"
#include "controller/resources/pod_template_validation.h"
#include "controller/resources/quantities.h"
#include "flink/common/strings.h"

#include <fmt/format.h>

#include <initializer_list>
#include <map>
#include <optional>
#include <regex>
#include <string>

namespace flink::k8s {
namespace {

using detail::highAvailabilityEnabled;
using detail::memoryBytes;
using detail::memoryConfigKeys;
using detail::MemorySpec;
using detail::memorySpec;
using FlinkConf = std::map<std::string, std::string>;

/// The value of `key` (trimmed), or "" when absent.
std::string get(const FlinkConf& conf, const std::string& key) {
  auto it = conf.find(key);
  return it == conf.end() ? std::string() : trim(it->second);
}

/// The first non-empty value among `keys`.
std::string firstSet(const FlinkConf& conf, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (std::string v = get(conf, k); !v.empty()) return v;
  }
  return "";
}

/// A scalar under spec.job as written ("" when absent or not a scalar).
std::string jobScalar(const FlinkDeployment& fd, const char* key) {
  YAML::Node job = fd.specNode ? fd.specNode["job"] : YAML::Node();
  YAML::Node n = job && job.IsMap() ? job[key] : YAML::Node();
  return n && n.IsScalar() ? n.Scalar() : std::string();
}

/// The path of a flinkConfiguration key, with a note when the value comes from the operator's
/// default configuration rather than the deployment.
std::string confPath(const FlinkDeployment& fd, const std::string& key) {
  std::string path = "spec.flinkConfiguration." + key;
  if (fd.spec.flinkConfiguration.count(key) == 0) path += " (from the operator's default configuration)";
  return path;
}

/// The name: a DNS-1035 label of at most 45 characters (the JobManager Service is named after it).
Status validateName(const FlinkDeployment& fd) {
  static const std::regex kDns1035("[a-z]([-a-z0-9]*[a-z0-9])?");
  if (fd.name.empty()) return Status::Error("metadata.name: FlinkDeployment name must be defined");
  if (fd.name.size() > 45) {
    return Status::Error(fmt::format("metadata.name: Invalid FlinkDeployment name '{}': must be no more than 45 characters (got {})",
                                     fd.name, fd.name.size()));
  }
  if (!std::regex_match(fd.name, kDns1035)) {
    return Status::Error(fmt::format(
        "metadata.name: Invalid FlinkDeployment name '{}': must be a DNS-1035 label (lower-case letters, digits and "
        "'-', starting with a letter and ending with a letter or digit)",
        fd.name));
  }
  return Status::Ok();
}

/// flinkVersion: required, and one this operator supports (v1_15 and newer, as the Apache
/// operator; the CRD lists the names).
Status validateFlinkVersion(const FlinkDeployment& fd) {
  static const std::regex kSupported("v1_(1[5-9]|20)|v2_[0-9]+");
  const std::string& v = fd.spec.flinkVersion;
  if (trim(v).empty()) return Status::Error("spec.flinkVersion: Flink version must be defined (e.g. v1_20 or v2_2)");
  if (!std::regex_match(v, kSupported)) {
    return Status::Error(fmt::format(
        "spec.flinkVersion: Flink version '{}' is not supported by this operator (v1_15 to v1_20 and v2_x are)", v));
  }
  return Status::Ok();
}

/// Keys the operator sets itself and a deployment may not: the cluster's namespace and ids.
Status validateForbiddenKeys(const FlinkDeployment& fd, const FlinkConf& conf) {
  for (const char* key : {"kubernetes.namespace", "kubernetes.cluster-id", "high-availability.cluster-id"}) {
    if (conf.count(key) != 0) {
      return Status::Error(fmt::format("{}: Forbidden Flink configuration key: the operator sets {} itself",
                                       confPath(fd, key), key));
    }
  }
  return Status::Ok();
}

/// Operator options that depend on others: the health check restarts the cluster through
/// JobManager deployment recovery.
Status validateOperatorOptions(const FlinkDeployment& fd, const FlinkConf& conf) {
  const std::string recovery = "kubernetes.operator.jm-deployment-recovery.enabled";
  if (lower(get(conf, "kubernetes.operator.cluster.health-check.enabled")) == "true" && lower(get(conf, recovery)) == "false") {
    return Status::Error(fmt::format(
        "{}: JobManager deployment recovery must be enabled for the cluster health check "
        "(kubernetes.operator.cluster.health-check.enabled)",
        confPath(fd, recovery)));
  }
  return Status::Ok();
}

/// logConfiguration: only the files Flink's images read.
Status validateLogConfiguration(const FlinkDeployment& fd) {
  for (const auto& [key, value] : fd.spec.logConfiguration) {
    if (key != "log4j-console.properties" && key != "logback-console.xml") {
      return Status::Error(fmt::format(
          "spec.logConfiguration.{}: Invalid log configuration key: allowed are log4j-console.properties and "
          "logback-console.xml",
          key));
    }
  }
  return Status::Ok();
}

/// Slots and parallelism: positive integers.
Status validatePositiveIntegers(const FlinkConf& conf) {
  for (const char* key : {options::kNumTaskSlots, options::kParallelismDefault}) {
    auto it = conf.find(key);
    if (it == conf.end()) continue;
    bool ok = false;
    try {
      size_t pos = 0;
      std::string t = trim(it->second);
      ok = std::stoi(t, &pos) >= 1 && pos == t.size();
    } catch (...) {
    }
    if (!ok) {
      return Status::Error(fmt::format("spec.flinkConfiguration.{}: must be a positive integer, got '{}'", key, it->second));
    }
  }
  return Status::Ok();
}

/// heartbeat.interval positive, heartbeat.timeout larger (the error names the key at fault).
Status validateHeartbeat(const FlinkDeployment& fd) {
  Configuration c = fd.effectiveConfiguration();
  auto heartbeat = HeartbeatSettings::fromConfig(c);
  if (heartbeat.ok()) return Status::Ok();
  auto interval = c.getDurationMs(options::kHeartbeatInterval, 10000);
  const char* key = !interval.ok() || *interval <= 0 ? options::kHeartbeatInterval : options::kHeartbeatTimeout;
  return Status::Error(fmt::format("spec.flinkConfiguration.{}: {}", key, heartbeat.status().message()));
}

/// A duration option that is set to more than zero.
bool durationEnabled(const FlinkConf& conf, const char* key) {
  std::string v = get(conf, key);
  if (v.empty()) return false;
  auto ms = parseDurationMs(v);
  return !ms.ok() || *ms > 0;  // an unparseable value counts as set
}

/// What needs a savepoint directory: the savepoint upgrade mode, manual savepoints, periodic
/// savepoints, and a maximum checkpoint age for last-state upgrades (which falls back to a
/// savepoint upgrade).
Status validateSavepointDirectory(const FlinkDeployment& fd, const JobSpec& job, const FlinkConf& conf) {
  if (!firstSet(conf, {"state.savepoints.dir", "execution.checkpointing.savepoint-dir"}).empty()) return Status::Ok();
  const char* path = "spec.flinkConfiguration.state.savepoints.dir";
  if (job.upgradeMode == "savepoint") {
    return Status::Error(fmt::format(
        "{}: Job could not be upgraded with savepoint while config key[state.savepoints.dir] is not set", path));
  }
  if (!jobScalar(fd, "savepointTriggerNonce").empty()) {
    return Status::Error(fmt::format(
        "{}: must be set for a manual savepoint (spec.job.savepointTriggerNonce)", path));
  }
  if (durationEnabled(conf, "kubernetes.operator.periodic.savepoint.interval")) {
    return Status::Error(fmt::format(
        "{}: must be set for periodic savepoints (kubernetes.operator.periodic.savepoint.interval)", path));
  }
  if (!get(conf, "kubernetes.operator.job.upgrade.last-state.max.allowed.checkpoint.age").empty()) {
    return Status::Error(fmt::format(
        "{}: must be set for kubernetes.operator.job.upgrade.last-state.max.allowed.checkpoint.age, which upgrades "
        "with a savepoint when the last checkpoint is older",
        path));
  }
  return Status::Ok();
}

/// The job: parallelism, jar URI, a checkpoint directory for the savepoint and last-state
/// upgrade modes (last-state resumes from the checkpoints of the fixed job ID), a savepoint
/// directory for what takes savepoints.
Status validateJob(const FlinkDeployment& fd, const JobSpec& job, const FlinkConf& conf) {
  if (job.parallelism && *job.parallelism < 1) {
    return Status::Error(fmt::format("spec.job.parallelism: Job parallelism must be larger than 0, got {}", *job.parallelism));
  }
  if (trim(job.jarURI).empty()) return Status::Error("spec.job.jarURI: Jar URI must be defined");
  if (job.upgradeMode != "stateless" && job.upgradeMode != "savepoint" && job.upgradeMode != "last-state") {
    return Status::Error(fmt::format(
        "spec.job.upgradeMode: expected 'stateless', 'savepoint' or 'last-state', got '{}'", job.upgradeMode));
  }
  if (job.state != "running" && job.state != "suspended") {
    return Status::Error(fmt::format("spec.job.state: expected 'running' or 'suspended', got '{}'", job.state));
  }
  if (job.upgradeMode == "savepoint" || job.upgradeMode == "last-state") {
    if (firstSet(conf, {"state.checkpoints.dir", "execution.checkpointing.dir"}).empty()) {
      return Status::Error(fmt::format(
          "spec.flinkConfiguration.state.checkpoints.dir: Checkpoint directory[state.checkpoints.dir] must be defined "
          "for {} upgrade mode",
          job.upgradeMode));
    }
  }
  return validateSavepointDirectory(fd, job, conf);
}

/// A Kubernetes quantity of bytes given in the spec (ephemeral storage).
Status validateStorage(const std::optional<std::string>& storage, const std::string& path, const char* comp) {
  if (!storage) return Status::Ok();
  auto bytes = memoryBytes(*storage);
  if (!bytes.ok()) {
    return Status::Error(fmt::format("{}: {} resource ephemeral storage parse error: {}", path, comp, bytes.status().message()));
  }
  if (*bytes <= 0) return Status::Error(fmt::format("{}: {} resource ephemeral storage must be positive", path, comp));
  return Status::Ok();
}

/// The memory, CPU and ephemeral storage of the JobManager (`jm`) or the TaskManager; memory
/// may come from the configuration's process, Flink or heap sizes instead.
Status validateResources(const FlinkDeployment& fd, const FlinkConf& conf, bool jm) {
  const char* comp = jm ? "JobManager" : "TaskManager";
  const std::string path = jm ? "spec.jobManager" : "spec.taskManager";
  const MemorySpec ms = memorySpec(fd, jm);
  bool configured = false;
  for (const auto& k : memoryConfigKeys(jm)) configured = configured || conf.count(k) != 0;
  if (!ms.inSpec && !configured) {
    return Status::Error(fmt::format("{}.resource.memory: {} resource memory must be defined.", path, comp));
  }
  const Resource& r = jm ? fd.spec.jobManager.resource : fd.spec.taskManager.resource;
  if (ms.inSpec) {
    auto bytes = memoryBytes(r.memory);
    if (!bytes.ok()) {
      return Status::Error(fmt::format("{}.resource.memory: {} resource memory parse error: {}", path, comp,
                                       bytes.status().message()));
    }
    if (*bytes <= 0) return Status::Error(fmt::format("{}.resource.memory: {} resource memory must be positive", path, comp));
  }
  if (!(r.cpu > 0)) return Status::Error(fmt::format("{}.resource.cpu: {} resource cpu must be positive", path, comp));
  return validateStorage(r.ephemeralStorage, path + ".resource.ephemeralStorage", comp);
}

/// JobManager and TaskManager replicas.
Status validateReplicas(const FlinkDeployment& fd, const FlinkConf& conf) {
  if (fd.spec.jobManager.replicas < 1) {
    return Status::Error("spec.jobManager.replicas: JobManager replicas should not be configured less than one.");
  }
  if (fd.spec.jobManager.replicas > 1 && !highAvailabilityEnabled(conf)) {
    return Status::Error(
        "spec.jobManager.replicas: High availability should be enabled when starting standalone JobManagers with more "
        "than one replica (set high-availability.type)");
  }
  if (fd.spec.taskManager.replicas && *fd.spec.taskManager.replicas < 1) {
    return Status::Error("spec.taskManager.replicas: TaskManager replicas should not be configured less than one.");
  }
  return Status::Ok();
}

/// spec.serviceAccount: required, as the Apache operator requires it (the pods' account).
Status validateServiceAccount(const FlinkDeployment& fd) {
  if (trim(fd.spec.serviceAccount).empty()) {
    return Status::Error(
        "spec.serviceAccount: must be defined (with the Helm chart: the name of its jobServiceAccount, 'flink' by "
        "default)");
  }
  return Status::Ok();
}

/// The autoscaler's factors and utilization targets, when it is enabled: numbers, not
/// negative (read under job.autoscaler. and the older kubernetes.operator.job.autoscaler.).
Status validateAutoscaler(const FlinkDeployment& fd, const FlinkConf& conf) {
  auto key = [&](const std::string& name) {
    std::string k = "job.autoscaler." + name;
    return conf.count(k) || !conf.count("kubernetes.operator." + k) ? k : "kubernetes.operator." + k;
  };
  if (lower(get(conf, key("enabled"))) != "true") return Status::Ok();
  for (const char* name : {"scale-down.max-factor", "scale-up.max-factor", "target.utilization", "target.utilization.boundary"}) {
    std::string k = key(name);
    std::string v = get(conf, k);
    if (v.empty()) continue;
    bool ok = false;
    try {
      size_t pos = 0;
      ok = std::stod(v, &pos) >= 0 && pos == v.size();
    } catch (...) {
    }
    if (!ok) return Status::Error(fmt::format("{}: must be a number of at least 0, got '{}'", confPath(fd, k), v));
  }
  return Status::Ok();
}

/// Changes a deployed resource may not make relative to `lastValid`: between session and
/// application mode, between native and standalone mode, and a savepointRedeployNonce change
/// without initialSavepointPath.
Status validateSpecChange(const FlinkDeployment& fd, const FlinkDeployment* lastValid) {
  if (!lastValid) return Status::Ok();
  if (fd.spec.job && !lastValid->spec.job) return Status::Error("spec.job: Cannot switch from session to job cluster");
  if (!fd.spec.job && lastValid->spec.job) return Status::Error("spec.job: Cannot switch from job to session cluster");
  // An unset spec.mode deploys a TaskManager Deployment, an explicit `native` none: no switch
  // between them either.
  if (fd.spec.mode != lastValid->spec.mode || fd.spec.nativeKubernetes() != lastValid->spec.nativeKubernetes()) {
    auto describe = [](const FlinkDeployment& d) { return d.spec.modeSet ? d.spec.mode : std::string("unset-mode"); };
    return Status::Error(fmt::format("spec.mode: Cannot switch from {} to {} kubernetes cluster: delete and recreate the "
                                     "FlinkDeployment instead",
                                     describe(*lastValid), describe(fd)));
  }
  if (fd.spec.job && !fd.spec.job->initialSavepointPath) {
    // savepointRedeployNonce redeploys the job from initialSavepointPath (Apache operator).
    std::string nonce = jobScalar(fd, "savepointRedeployNonce");
    if (!nonce.empty() && nonce != jobScalar(*lastValid, "savepointRedeployNonce")) {
      return Status::Error("spec.job.initialSavepointPath: savepointRedeployNonce changed, which redeploys the job from "
                           "initialSavepointPath: it must be set");
    }
  }
  return Status::Ok();
}

}  // namespace

Status validateFlinkDeployment(const FlinkDeployment& fd, const FlinkDeployment* lastValid) {
  return validateFlinkDeployment(fd, lastValid, OperatorConfig{});
}

Status validateFlinkDeployment(const FlinkDeployment& fd, const FlinkDeployment* lastValid, const OperatorConfig& config) {
  FlinkConf conf = config.defaultConfiguration;
  for (const auto& [k, v] : fd.spec.flinkConfiguration) conf[k] = v;
  Status s = validateName(fd);
  if (s.ok()) s = validateFlinkVersion(fd);
  if (s.ok()) s = validateForbiddenKeys(fd, conf);
  if (s.ok()) s = validateOperatorOptions(fd, conf);
  if (s.ok()) s = validatePositiveIntegers(fd.spec.flinkConfiguration);
  if (s.ok()) s = validateHeartbeat(fd);
  if (s.ok()) s = validateLogConfiguration(fd);
  if (s.ok() && fd.spec.job) s = validateJob(fd, *fd.spec.job, conf);
  if (s.ok()) s = validateResources(fd, conf, true);
  if (s.ok()) s = validateResources(fd, conf, false);
  if (s.ok()) s = validateReplicas(fd, conf);
  if (s.ok()) s = detail::validatePodTemplateStructure(fd.spec.podTemplate, "spec.podTemplate");
  if (s.ok()) s = detail::validatePodTemplateStructure(fd.spec.jobManager.podTemplate, "spec.jobManager.podTemplate");
  if (s.ok()) s = detail::validatePodTemplateStructure(fd.spec.taskManager.podTemplate, "spec.taskManager.podTemplate");
  if (s.ok()) s = validateSpecChange(fd, lastValid);
  if (s.ok()) s = validateServiceAccount(fd);
  if (s.ok()) s = validateAutoscaler(fd, conf);
  if (s.ok() && fd.spec.ingress) s = expandIngressTemplate(fd.spec.ingress->urlTemplate, fd.name, fd.namespace_).status();
  return s;
}

}  // namespace flink::k8s
