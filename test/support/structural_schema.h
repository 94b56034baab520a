// Validation of Kubernetes objects against a CRD's structural openAPIV3Schema, as the API
// server does for custom resources
// (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation):
// type, properties, required, items, enum, additionalProperties, nullable, minimum/maximum,
// pattern, format, x-kubernetes-preserve-unknown-fields, x-kubernetes-int-or-string. Unknown
// fields are pruned (not errors) unless preserved, as Kubernetes does.
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace flinktest {

/// Validates `object` (a whole custom resource: apiVersion, kind, metadata, spec, status)
/// against `schema` (the version's schema.openAPIV3Schema). Returns errors in the API
/// server's wording, each naming the field path, e.g.
///   spec.job.parallelism: Invalid value: "string": spec.job.parallelism in body must be of type integer: "string"
/// and stores in *pruned (if not null) the object with unknown fields removed.
std::vector<std::string> validateStructural(const nlohmann::json& schema, const nlohmann::json& object,
                                            nlohmann::json* pruned);

}  // namespace flinktest
