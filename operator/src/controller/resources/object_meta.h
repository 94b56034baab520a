// The metadata every child of a FlinkDeployment carries: labels app=<name> and
// component=jobmanager|taskmanager, the FlinkDeployment's namespace, and an ownerReference to
// it. Internal to controller/resources.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "api/flink_deployment.h"

namespace flink::k8s::detail {

/// The labels {app: <name>} plus {component: `component`} unless `component` is null; also
/// the Deployments' selectors.
nlohmann::json labels(const FlinkDeployment& fd, const char* component);

/// The metadata of the child `name`: namespace, labels(fd, component) and an ownerReference
/// to `fd` (controller=true, blockOwnerDeletion=true).
nlohmann::json metadata(const FlinkDeployment& fd, const std::string& name, const char* component);

}  // namespace flink::k8s::detail
