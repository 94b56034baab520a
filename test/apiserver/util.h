// Small helpers shared by the test API server: RFC 3339 time, UIDs and generated names,
// Kubernetes' human-readable durations ("5m3s"), YAML-to-JSON conversion, base64, version
// priority ordering (v1 > v1beta1 > v1alpha1) and name validation.
#pragma once

#include "errors.h"

#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace kta {

std::string nowRfc3339();
std::optional<std::time_t> parseRfc3339(const std::string& s);
/// k8s.io/apimachinery/pkg/util/duration.HumanDuration of the time since `rfc3339`.
std::string ageSince(const std::string& rfc3339);
std::string humanDuration(long long seconds);

std::string newUid();
/// 5 characters from the alphabet the API server uses for metadata.generateName.
std::string randomNameSuffix();
/// 32 hex characters from a CSPRNG.
std::string randomHex(size_t bytes);

std::string base64Encode(const std::string& data);
std::optional<std::string> base64Decode(const std::string& data);

/// Parses a YAML (or JSON) document into JSON with YAML 1.2 core-schema scalars.
Result<json> parseYamlOrJson(const std::string& text);
/// All documents of a multi-document YAML stream.
Result<std::vector<json>> parseYamlDocuments(const std::string& text);

/// Kubernetes version priority: true when a sorts before b (GA > beta > alpha > other).
bool versionHigherPriority(const std::string& a, const std::string& b);

/// Empty when `name` is a valid DNS-1123 subdomain, else the API server's message.
std::string validateDns1123Subdomain(const std::string& name);
std::string validateDns1123Label(const std::string& name);

/// Dotted access into objects ("spec.taskManager.replicas"); nullptr when absent.
const json* lookupPath(const json& obj, const std::string& dotted);
/// Sets a dotted path, creating intermediate objects.
void setPath(json& obj, const std::string& dotted, json value);

}  // namespace kta
