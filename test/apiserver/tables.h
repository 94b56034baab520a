// Server-side printing for `kubectl get`: meta.k8s.io/v1 Table objects with the columns the real
// API server uses for the built-in kinds (NAME/DATA/AGE for ConfigMaps, NAME READY UP-TO-DATE
// AVAILABLE AGE for Deployments, ...) and a CRD version's additionalPrinterColumns for custom
// resources, evaluated with a JSONPath subset (.a.b, ['k'], [n], [*], [?(@.f=="v")]).
#pragma once

#include "errors.h"
#include "registry.h"

#include <string>
#include <vector>

namespace kta {

/// True when an Accept header asks for meta.k8s.io Table output.
bool wantsTable(const std::string& accept);
/// Values selected by a JSONPath expression (with or without surrounding braces).
std::vector<json> evalJsonPath(const json& obj, const std::string& expr);

/// A Table of `objects` (already at the requested version). includeObject is None, Metadata
/// (the default: rows carry PartialObjectMetadata) or Object.
json toTable(const ResourceType& type, const std::string& version, const std::vector<json>& objects,
             const std::string& resourceVersion, const std::string& includeObject);

}  // namespace kta
