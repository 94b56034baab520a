// Structure checks of a FlinkDeployment's pod templates (spec.podTemplate and those of
// spec.jobManager / spec.taskManager). The CRD keeps pod templates unvalidated, as the Apache
// CRD does, so a wrong type would reach the merge (and be dropped silently) or the API server
// (which refuses the Deployment). Checked here: the types of the fields the operator merges or
// that a PodSpec requires (maps, lists of maps, strings), not the whole PodSpec schema.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "flink/status.h"

namespace flink::k8s::detail {

/// OK for an absent or null template; otherwise an error naming the field path under `path`
/// (e.g. "spec.taskManager.podTemplate.spec.containers[1]: expected a map, got a scalar").
Status validatePodTemplateStructure(const YAML::Node& podTemplate, const std::string& path);

}  // namespace flink::k8s::detail
