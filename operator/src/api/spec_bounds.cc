#include "api/spec_bounds.h"

namespace flink::k8s {
namespace {

struct Walk {
  size_t nodes = 0;
  size_t bytes = 0;
  bool tooDeep = false;
  std::string deepPath;  // where the nesting passed the limit
  bool tooLarge() const { return nodes > kMaxSpecNodes || bytes > kMaxSpecBytes; }
};

// Recursion is bounded by kMaxSpecDepth: deeper values are not entered.
void walk(const nlohmann::json& v, const std::string& path, int depth, Walk* w) {
  if (w->tooDeep || w->tooLarge()) return;
  ++w->nodes;
  if (v.is_string()) w->bytes += v.get_ref<const std::string&>().size();
  if (!v.is_object() && !v.is_array()) return;
  if (depth >= kMaxSpecDepth) {
    w->tooDeep = true;
    w->deepPath = path;
    return;
  }
  if (v.is_object()) {
    for (const auto& [k, child] : v.items()) {
      w->bytes += k.size();
      walk(child, path + "." + k, depth + 1, w);
      if (w->tooDeep || w->tooLarge()) return;
    }
  } else {
    size_t i = 0;
    for (const auto& child : v) {
      walk(child, path + "[" + std::to_string(i++) + "]", depth + 1, w);
      if (w->tooDeep || w->tooLarge()) return;
    }
  }
}

void walk(const YAML::Node& v, const std::string& path, int depth, Walk* w) {
  if (!v.IsDefined() || w->tooDeep || w->tooLarge()) return;  // (a missing field is not defined)
  ++w->nodes;
  if (v.IsScalar()) w->bytes += v.Scalar().size();
  if (!v.IsMap() && !v.IsSequence()) return;
  if (depth >= kMaxSpecDepth) {
    w->tooDeep = true;
    w->deepPath = path;
    return;
  }
  size_t i = 0;
  for (const auto& item : v) {
    if (v.IsMap()) {
      std::string key = item.first.IsScalar() ? item.first.Scalar() : "<key>";
      walk(item.first, path, depth + 1, w);  // keys may be maps too
      walk(item.second, path + "." + key, depth + 1, w);
    } else {
      walk(item, path + "[" + std::to_string(i++) + "]", depth + 1, w);
    }
    if (w->tooDeep || w->tooLarge()) return;
  }
}

template <class Node>
Status check(const Node& value, const std::string& path) {
  Walk w;
  walk(value, path, 0, &w);
  if (w.tooDeep) {
    return Status::Error(w.deepPath + ": nested deeper than " + std::to_string(kMaxSpecDepth) + " levels");
  }
  if (w.nodes > kMaxSpecNodes) {
    return Status::Error(path + ": more than " + std::to_string(kMaxSpecNodes) + " values");
  }
  if (w.bytes > kMaxSpecBytes) {
    return Status::Error(path + ": larger than " + std::to_string(kMaxSpecBytes >> 20) + " MiB");
  }
  return Status::Ok();
}

}  // namespace

Status checkSpecBounds(const nlohmann::json& value, const std::string& path) { return check(value, path); }
Status checkSpecBounds(const YAML::Node& value, const std::string& path) { return check(value, path); }

}  // namespace flink::k8s
