// The Apache operator's validation rules that apply to standalone deployments: the
// implementation of validateFlinkDeployment (controller/resources.h). Every error names the
// field it is about.
#include "controller/resources.h"

#include "controller/resources/cluster_config.h"
#include "controller/resources/component_resources.h"
#include "controller/resources/pod_template_validation.h"
#include "controller/resources/quantities.h"
#include "flink/common/strings.h"

#include <fmt/format.h>

#include <map>
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

/// The job: parallelism, jar URI, a checkpoint directory for the savepoint and last-state
/// upgrade modes.
Status validateJob(const JobSpec& job, const FlinkConf& conf) {
  if (job.parallelism && *job.parallelism < 1) {
    return Status::Error(fmt::format("spec.job.parallelism: Job parallelism must be larger than 0, got {}", *job.parallelism));
  }
  if (trim(job.jarURI).empty()) return Status::Error("spec.job.jarURI: Jar URI must be defined");
  if (job.upgradeMode == "savepoint" || job.upgradeMode == "last-state") {
    bool checkpointDir = false;
    for (const char* key : {"state.checkpoints.dir", "execution.checkpointing.dir"}) {
      auto it = conf.find(key);
      checkpointDir = checkpointDir || (it != conf.end() && !trim(it->second).empty());
    }
    if (!checkpointDir) {
      return Status::Error(fmt::format(
          "spec.flinkConfiguration.state.checkpoints.dir: Checkpoint directory[state.checkpoints.dir] must be defined "
          "for {} upgrade mode",
          job.upgradeMode));
    }
  }
  if (job.upgradeMode == "savepoint") {
    bool savepointDir = false;
    for (const char* key : {"state.savepoints.dir", "execution.checkpointing.savepoint-dir"}) {
      auto it = conf.find(key);
      savepointDir = savepointDir || (it != conf.end() && !trim(it->second).empty());
    }
    if (!savepointDir) {
      return Status::Error(
          "spec.flinkConfiguration.state.savepoints.dir: Job could not be upgraded with savepoint while config "
          "key[state.savepoints.dir] is not set");
    }
  }
  return Status::Ok();
}

/// The memory and CPU of the JobManager (`jm`) or the TaskManager.
Status validateResources(const FlinkDeployment& fd, bool jm) {
  const auto& conf = fd.spec.flinkConfiguration;
  const char* comp = jm ? "JobManager" : "TaskManager";
  const std::string path = jm ? "spec.jobManager" : "spec.taskManager";
  const MemorySpec ms = memorySpec(fd, jm);
  bool configured = false;
  for (const auto& k : memoryConfigKeys(jm)) configured = configured || conf.count(k) != 0;
  if (!ms.inSpec && !configured) {
    return Status::Error(fmt::format("{}.resource.memory: {} resource memory must be defined.", path, comp));
  }
  if (ms.inSpec) {
    const Resource& r = jm ? fd.spec.jobManager.resource : fd.spec.taskManager.resource;
    auto bytes = memoryBytes(r.memory);
    if (!bytes.ok()) {
      return Status::Error(fmt::format("{}.resource.memory: {} resource memory parse error: {}", path, comp,
                                       bytes.status().message()));
    }
    if (*bytes <= 0) return Status::Error(fmt::format("{}.resource.memory: {} resource memory must be positive", path, comp));
  }
  const Resource& r = jm ? fd.spec.jobManager.resource : fd.spec.taskManager.resource;
  if (!(r.cpu > 0)) return Status::Error(fmt::format("{}.resource.cpu: {} resource cpu must be positive", path, comp));
  return Status::Ok();
}

/// JobManager and TaskManager replicas.
Status validateReplicas(const FlinkDeployment& fd) {
  const auto& conf = fd.spec.flinkConfiguration;
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

/// No switch between session and application mode.
Status validateModeSwitch(const FlinkDeployment& fd, const FlinkDeployment* lastValid) {
  if (lastValid) {
    if (fd.spec.job && !lastValid->spec.job) return Status::Error("spec.job: Cannot switch from session to job cluster");
    if (!fd.spec.job && lastValid->spec.job) return Status::Error("spec.job: Cannot switch from job to session cluster");
  }
  return Status::Ok();
}

}  // namespace

Status validateFlinkDeployment(const FlinkDeployment& fd, const FlinkDeployment* lastValid) {
  Status s = validateName(fd);
  if (s.ok()) s = validatePositiveIntegers(fd.spec.flinkConfiguration);
  if (s.ok()) {
    auto heartbeat = HeartbeatSettings::fromConfig(fd.effectiveConfiguration());
    if (!heartbeat.ok()) s = Status::Error("spec.flinkConfiguration: " + heartbeat.status().message());
  }
  if (s.ok() && fd.spec.job) s = validateJob(*fd.spec.job, fd.spec.flinkConfiguration);
  if (s.ok()) s = validateResources(fd, true);
  if (s.ok()) s = validateResources(fd, false);
  if (s.ok()) s = validateReplicas(fd);
  if (s.ok()) s = detail::validatePodTemplateStructure(fd.spec.podTemplate, "spec.podTemplate");
  if (s.ok()) s = detail::validatePodTemplateStructure(fd.spec.jobManager.podTemplate, "spec.jobManager.podTemplate");
  if (s.ok()) s = detail::validatePodTemplateStructure(fd.spec.taskManager.podTemplate, "spec.taskManager.podTemplate");
  if (s.ok()) s = validateModeSwitch(fd, lastValid);
  if (s.ok() && fd.spec.ingress) s = expandIngressTemplate(fd.spec.ingress->urlTemplate, fd.name, fd.namespace_).status();
  if (s.ok() && fd.spec.job && lastValid && !fd.spec.job->initialSavepointPath) {
    // savepointRedeployNonce redeploys the job from initialSavepointPath (Apache operator).
    auto nonce = [](const FlinkDeployment& d) {
      YAML::Node n = d.specNode["job"] ? d.specNode["job"]["savepointRedeployNonce"] : YAML::Node();
      return n && n.IsScalar() ? n.Scalar() : std::string();
    };
    if (nonce(fd) != nonce(*lastValid) && !nonce(fd).empty()) {
      s = Status::Error("spec.job.initialSavepointPath: savepointRedeployNonce changed, which redeploys the job from "
                        "initialSavepointPath: it must be set");
    }
  }
  return s;
}

}  // namespace flink::k8s
