// The pod template of the JobManager and the TaskManager: the FlinkDeployment's pod templates
// merged, the generated main container overlaid on the template's flink-main-container.
// Internal to controller/resources.
//
// Merge rules: spec.podTemplate, then the component's podTemplate deep-merged over it. Lists
// of objects merge by position, the Apache operator's default, or by name (volumeMounts by
// mountPath) with kubernetes.operator.pod-template.merge-arrays-by-name: true; lists of
// scalars are replaced (where the Apache operator keeps the common template's leading
// elements). Then the generated main container is overlaid on the merged template's
// flink-main-container, found by name in either mode as the Apache operator and Flink find it
// (so with merge by position a component template lists its containers in the common
// template's order): generated scalars win, env/ports/volumeMounts are upserted, resources
// are merged key by key and a template's command, probes and other fields are kept.
#pragma once

#include <nlohmann/json.hpp>

#include "api/flink_deployment.h"
#include "controller/resources.h"
#include "controller/resources/cluster_config.h"
#include "flink/configuration.h"

namespace flink::k8s::detail {

/// How deepMerge merges two lists of objects (kubernetes.operator.pod-template.merge-arrays-by-name).
enum class ListMerge {
  kByPosition,  // element i onto element i, the rest appended (the Apache default, false)
  kByName,      // elements with the same mountPath (else name) merged, the others appended (true)
};

/// Deep merge of `over` onto `base` (the Apache operator's pod template merge): objects merged
/// key by key; two lists merged as `lists` says when all their elements are objects (by name
/// only when every element of both carries a string mountPath, else name; by position
/// otherwise, as the Apache operator falls back to); any other list, and any other value,
/// replaced by `over`; a null `over` keeps `base`.
nlohmann::json deepMerge(const nlohmann::json& base, const nlohmann::json& over, ListMerge lists = ListMerge::kByName);

/// kubernetes.operator.pod-template.merge-arrays-by-name from flinkConfiguration, else the
/// operator's default configuration; false (by position) unless "true".
ListMerge podTemplateListMerge(const FlinkDeployment& fd, const OperatorConfig& config);

/// The pod template ({metadata, spec}) of the JobManager (`jm`) or the TaskManager: the
/// templates merged, the generated main container overlaid (image, args, env, `ports`,
/// resources from `conf`), the ConfigMap volume added, quantities canonical. Never fails.
nlohmann::json podTemplate(const FlinkDeployment& fd, const OperatorConfig& config, bool jm, const Configuration& conf,
                           const Ports& ports);

}  // namespace flink::k8s::detail
