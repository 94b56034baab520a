// The memory and CPU of the JobManager and TaskManager: what the spec says about memory (the
// spec as written), the process size, and the main container's resource requirements.
// Internal to controller/resources.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "api/flink_deployment.h"
#include "flink/configuration.h"

namespace flink::k8s::detail {

/// What the spec says about one component's memory, read from the spec as written when
/// available (the model fills defaults in).
struct MemorySpec {
  bool inSpec = false;        // resource.memory or resources.{requests,limits}.memory given
  bool resourceGiven = false; // `resource` given
  bool resourcesGiven = false;
};

/// The MemorySpec of the JobManager (`jm`) or the TaskManager: from fd.specNode when the
/// resource was parsed, else (built in code) from the model.
MemorySpec memorySpec(const FlinkDeployment& fd, bool jm);

/// The Flink key of a component's process size: {jobmanager,taskmanager}.memory.process.size.
const char* processSizeKey(bool jm);

/// Flink memory keys that size a component without resource.memory.
std::vector<std::string> memoryConfigKeys(bool jm);

/// The process memory of a component as written (a Flink size or a Kubernetes quantity):
/// resource.memory when given, else the process size in `conf` when it parses, else the
/// model's default.
std::string processMemory(const FlinkDeployment& fd, bool jm, const Configuration& conf);

/// The main container's resources (Kubernetes ResourceRequirements): `fromTemplate` (when an
/// object), then the spec's `resources` (memory as Kubernetes quantities), then requests and
/// limits from `resource`: memory from processMemory as a canonical quantity, CPU cores in
/// millicores, ephemeral storage as given. Limits are scaled by
/// kubernetes.<component>.{cpu,memory}.limit-factor in `conf` (a factor below 1 or not a number
/// counts as 1; a scaled memory limit is rounded down to whole MiB). Never fails: memory that
/// does not parse is passed through (validation reports it).
nlohmann::json containerResources(const FlinkDeployment& fd, bool jm, const Configuration& conf,
                                  const nlohmann::json& fromTemplate);

}  // namespace flink::k8s::detail
