// Server-side apply and metadata.managedFields. Field sets are the API server's fieldsV1 trie
// ("f:spec" / "k:{\"name\":\"web\"}" / "v:\"x\"" / "." tokens), kept per (manager, operation,
// subresource). Update operations give the manager the fields whose values changed; Apply
// merges the applied configuration into the live object (maps recursively, lists by their
// x-kubernetes-list-type: map lists by keys, sets by value, others atomically), removes the
// fields this manager applied before but no longer applies (unless another manager owns them),
// and reports conflicts with other managers' fields whose value differs (409, unless force).
#pragma once

#include "errors.h"

#include <set>
#include <string>
#include <vector>

namespace kta {

using FieldPath = std::vector<std::string>;
using FieldSet = std::set<FieldPath>;

enum class FieldScope { All, NoStatus, StatusOnly };

struct ManagerContext {
  std::string manager;
  std::string subresource;  // "" or "status" or "scale"
  std::string apiVersion;   // recorded in managedFields entries
  FieldScope scope = FieldScope::All;
};

FieldSet fieldSetOf(const json& obj, const json* schema, FieldScope scope);
json toFieldsV1(const FieldSet& set);
FieldSet fromFieldsV1(const json& trie);
/// ".spec.template.spec.containers[name=\"web\"].image"
std::string fieldPathString(const FieldPath& path);

/// managedFields after an update (operation Update) from `old` (null for create) to `next`.
json managedFieldsAfterUpdate(const json* old, const json& next, const json* schema, const ManagerContext& ctx);

/// Server-side apply of `applied` onto `live` (null: the object does not exist yet). Returns the
/// merged object with metadata.managedFields set; 409 Conflict lists conflicting fields.
Result<json> serverSideApply(const json* live, const json& applied, const json* schema, const ManagerContext& ctx,
                             bool force);

}  // namespace kta
