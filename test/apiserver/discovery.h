// Discovery documents (/version, /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>)
// in the legacy (unaggregated) format kubectl falls back to, and a minimal OpenAPI v3 (the
// /openapi/v3 index and one document per group-version) that tells kubectl which kinds accept
// the fieldValidation parameter (so kubectl leaves validation to the server) and holds each
// kind's schema (the CRD's, or the built-in partial ones).
#pragma once

#include "registry.h"

#include <optional>
#include <string>

namespace kta {

json versionInfo();
json apiVersions(const std::string& serverAddress);
json apiGroupList(const Registry& registry);
std::optional<json> apiGroup(const Registry& registry, const std::string& group);
std::optional<json> apiResourceList(const Registry& registry, const std::string& group, const std::string& version);

json openapiV3Index(const Registry& registry);
/// `gvPath` is "api/v1" or "apis/<group>/<version>".
std::optional<json> openapiV3Document(const Registry& registry, const std::string& gvPath);

}  // namespace kta
