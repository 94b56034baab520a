// Patching: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and strategic merge patch as
// the API server applies it to built-in kinds (lists merged by their patch merge key, e.g.
// containers/env/volumes by name, container ports by containerPort, service ports by port;
// other lists replaced; directives $patch: replace|delete|merge, $setElementOrder/<field>,
// $deleteFromPrimitiveList/<field>, $retainKeys). The list metadata comes from OpenAPI-style
// schemas (x-kubernetes-patch-merge-key / -strategy, x-kubernetes-list-type / -map-keys),
// navigated with the helpers in namespace schema (a null schema means "unknown: atomic").
#pragma once

#include "errors.h"

#include <string>
#include <vector>

namespace kta {

namespace schema {
const json* child(const json* s, const std::string& field);
const json* items(const json* s);
struct ListKind {
  enum Type { Atomic, Map, Set } type = Atomic;
  std::vector<std::string> keys;
};
/// How strategic merge patch treats the list described by s.
ListKind forPatch(const json* s);
/// How server-side apply treats it (x-kubernetes-list-type, else the patch metadata).
ListKind forApply(const json* s);
bool atomicMap(const json* s);
}  // namespace schema

Result<json> applyMergePatch(const json& target, const json& patch);
Result<json> applyJsonPatch(const json& target, const json& patch);
Result<json> applyStrategicMergePatch(const json& target, const json& patch, const json* schema);

}  // namespace kta
