// The pod template of the JobManager and the TaskManager: the FlinkDeployment's pod templates
// merged, the generated main container overlaid on the template's flink-main-container.
// Internal to controller/resources.
//
// Merge rules: spec.podTemplate, then the component's podTemplate deep-merged over it (lists
// of objects merged by name, volumeMounts by mountPath, other lists replaced); then the
// generated main container overlaid on the template's flink-main-container: generated scalars
// win, env/ports/volumeMounts are upserted, resources are merged key by key and a template's
// command, probes and other fields are kept.
#pragma once

#include <nlohmann/json.hpp>

#include "api/flink_deployment.h"
#include "controller/resources.h"
#include "controller/resources/cluster_config.h"
#include "flink/configuration.h"

namespace flink::k8s::detail {

/// Deep merge of `over` onto `base` (the Apache operator's pod template merge): objects merged
/// key by key, lists whose elements all carry a string mountPath (else name) merged element by
/// element on that key, anything else replaced by `over`; a null `over` keeps `base`.
nlohmann::json deepMerge(const nlohmann::json& base, const nlohmann::json& over);

/// The pod template ({metadata, spec}) of the JobManager (`jm`) or the TaskManager: the
/// templates merged, the generated main container overlaid (image, args, env, `ports`,
/// resources from `conf`), the ConfigMap volume added, quantities canonical. Never fails.
nlohmann::json podTemplate(const FlinkDeployment& fd, const OperatorConfig& config, bool jm, const Configuration& conf,
                           const Ports& ports);

}  // namespace flink::k8s::detail
