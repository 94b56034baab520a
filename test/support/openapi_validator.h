// Minimal OpenAPI 3.0 response-schema validator for tests.
//
// Checks that JSON bodies produced by our Flink-compatible REST API have the
// shapes declared by Flink's OpenAPI spec (test/compat/rest_v1_dispatcher.yml).
//
// Contract:
//  * load() parses the YAML once (yaml-cpp) into nlohmann::json. Plain YAML
//    scalars become null/bool/integer/number/string per the YAML 1.2 core
//    schema; quoted scalars are always strings.
//  * Supported schema keywords: $ref (to "#/..." pointers in the same file),
//    type, nullable, enum, format (int32/int64 range only), pattern (ECMAScript
//    regex, unanchored search), properties, required, additionalProperties
//    (schema or bool), items, allOf, anyOf, oneOf, discriminator (propertyName +
//    mapping). Other keywords are ignored.
//  * oneOf is checked like anyOf (at least one alternative must match): the
//    alternatives in Flink's generated spec overlap, so "exactly one" would
//    reject real Flink responses.
//  * strict mode: for an object schema that declares properties (its own plus
//    those of its allOf parts) and has no additionalProperties, any other
//    property in the body is reported. This catches misspelt field names.
//
// Errors: every message has the form "<json-pointer>: <description>", where the
// pointer (RFC 6901) locates the offending value in the body; the root is the
// empty pointer, so root-level messages start with ": ". A missing required
// property is reported at the pointer of the object that lacks it. Lookup
// failures (unknown path/method/status/component) are reported the same way at
// the root. An empty vector means the body is valid.
//
// Thread safety: the object is immutable after load(); all const methods may be
// called concurrently from multiple threads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace flinktest {

/// YAML to JSON as the API server reads a manifest: plain scalars per the YAML 1.2 core
/// schema (null, booleans, integers, floats), quoted or tagged scalars stay strings.
nlohmann::json yamlToJson(const YAML::Node& node);


class OpenApiValidator {
 public:
  // Loads an OpenAPI 3 YAML file. Returns std::nullopt and sets *error (naming
  // the file) on failure: unreadable file, YAML syntax error, or a document
  // without an "openapi: 3.x" version or a "paths" map. `error` may be null.
  static std::optional<OpenApiValidator> load(const std::string& path, std::string* error);

  // Validates `body` against the schema of the application/json response
  // declared for pathTemplate (e.g. "/jobs/{jobid}"), method (e.g. "get",
  // case-insensitive) and status (e.g. "200"). An unknown path, method or
  // status is itself an error. If the response declares no JSON content, the
  // body must be null or an empty object (Flink's EmptyResponseBody).
  std::vector<std::string> validateResponse(const std::string& pathTemplate, const std::string& method,
                                            const std::string& status, const nlohmann::json& body,
                                            bool strict = true) const;

  // Validates `body` against components/schemas/<componentName>, e.g.
  // "JobDetailsInfo". An unknown component name is an error.
  std::vector<std::string> validateSchema(const std::string& componentName, const nlohmann::json& body,
                                          bool strict = true) const;

 private:
  explicit OpenApiValidator(nlohmann::json spec) : spec_(std::move(spec)) {}

  std::vector<std::string> validateAgainst(const nlohmann::json& schema, const nlohmann::json& body,
                                           bool strict) const;

  nlohmann::json spec_;
};

}  // namespace flinktest
