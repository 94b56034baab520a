#include "patch.h"

#include <algorithm>
#include <optional>

namespace kta {

namespace schema {

const json* child(const json* s, const std::string& field) {
  if (!s || !s->is_object()) return nullptr;
  auto p = s->find("properties");
  if (p != s->end() && p->is_object()) {
    auto it = p->find(field);
    if (it != p->end()) return &*it;
  }
  auto a = s->find("additionalProperties");
  if (a != s->end() && a->is_object()) return &*a;
  return nullptr;
}

const json* items(const json* s) {
  if (!s || !s->is_object()) return nullptr;
  auto it = s->find("items");
  return it != s->end() && it->is_object() ? &*it : nullptr;
}

ListKind forPatch(const json* s) {
  ListKind k;
  if (!s || !s->is_object()) return k;
  std::string strategy = s->value("x-kubernetes-patch-strategy", "");
  if (strategy.find("merge") == std::string::npos) return k;
  std::string key = s->value("x-kubernetes-patch-merge-key", "");
  if (key.empty()) {
    k.type = ListKind::Set;
  } else {
    k.type = ListKind::Map;
    k.keys = {key};
  }
  return k;
}

ListKind forApply(const json* s) {
  ListKind k;
  if (!s || !s->is_object()) return k;
  std::string type = s->value("x-kubernetes-list-type", "");
  if (type == "map") {
    k.type = ListKind::Map;
    for (const auto& key : s->value("x-kubernetes-list-map-keys", json::array()))
      if (key.is_string()) k.keys.push_back(key);
    if (k.keys.empty()) k.type = ListKind::Atomic;
    return k;
  }
  if (type == "set") {
    k.type = ListKind::Set;
    return k;
  }
  if (type == "atomic") return k;
  return forPatch(s);
}

bool atomicMap(const json* s) {
  return s && s->is_object() && (s->value("x-kubernetes-map-type", "") == "atomic" ||
                                 s->value("x-kubernetes-patch-strategy", "") == "replace");
}

}  // namespace schema

Result<json> applyMergePatch(const json& target, const json& patch) {
  if (!patch.is_object()) return badRequest("merge patch must be a JSON object");
  json out = target;
  out.merge_patch(patch);
  return out;
}

Result<json> applyJsonPatch(const json& target, const json& patch) {
  if (!patch.is_array()) return badRequest("json patch must be an array of operations");
  try {
    return target.patch(patch);
  } catch (const json::exception& e) {
    std::string what = e.what();
    auto pos = what.find("] ");
    return ApiError{422, "Invalid", "the server rejected our request due to an error in our request: " +
                                        (pos == std::string::npos ? what : what.substr(pos + 2)), nullptr};
  }
}

namespace {

bool isDirective(const std::string& k) { return !k.empty() && k[0] == '$'; }

json stripDirectives(const json& v) {
  if (v.is_object()) {
    json out = json::object();
    for (const auto& [k, c] : v.items())
      if (!isDirective(k)) out[k] = stripDirectives(c);
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& e : v) {
      if (e.is_object() && e.contains("$patch") && e.size() == 1) continue;
      out.push_back(stripDirectives(e));
    }
    return out;
  }
  return v;
}

const json* findByKey(const json& list, const std::string& key, const json& value, size_t* index) {
  for (size_t i = 0; i < list.size(); ++i)
    if (list[i].is_object() && list[i].contains(key) && list[i][key] == value) {
      if (index) *index = i;
      return &list[i];
    }
  return nullptr;
}

class Smp {
 public:
  std::optional<ApiError> error;

  // nullopt: the map was deleted ($patch: delete).
  std::optional<json> mergeMap(json orig, const json& patch, const json* s) {
    if (!patch.is_object()) return patch;
    if (!orig.is_object()) orig = json::object();
    if (auto d = patch.find("$patch"); d != patch.end()) {
      if (*d == "replace") return stripDirectives(patch);
      if (*d == "delete") return std::nullopt;
      if (*d != "merge") {
        error = badRequest("unknown patch type: " + d->dump());
        return orig;
      }
    }
    for (const auto& [k, v] : patch.items()) {
      if (k == "$patch" || k == "$retainKeys" || k.rfind("$setElementOrder/", 0) == 0) continue;
      if (k.rfind("$deleteFromPrimitiveList/", 0) == 0) {
        std::string field = k.substr(25);
        if (orig.contains(field) && orig[field].is_array() && v.is_array()) {
          json kept = json::array();
          for (const auto& e : orig[field])
            if (std::find(v.begin(), v.end(), e) == v.end()) kept.push_back(e);
          orig[field] = kept;
        }
        continue;
      }
      if (isDirective(k)) {
        error = badRequest("unknown patch directive " + k);
        continue;
      }
      if (v.is_null()) {
        orig.erase(k);
        continue;
      }
      const json* c = schema::child(s, k);
      if (v.is_object()) {
        if (schema::atomicMap(c)) {
          orig[k] = stripDirectives(v);
          continue;
        }
        auto r = mergeMap(orig.contains(k) ? orig[k] : json(nullptr), v, c);
        if (r) orig[k] = std::move(*r);
        else orig.erase(k);
      } else if (v.is_array()) {
        orig[k] = mergeList(orig.contains(k) ? orig[k] : json(nullptr), v, c);
      } else {
        orig[k] = v;
      }
    }
    for (const auto& [k, v] : patch.items()) {
      if (k.rfind("$setElementOrder/", 0) != 0) continue;
      std::string field = k.substr(17);
      if (orig.contains(field) && orig[field].is_array() && v.is_array())
        reorder(orig[field], v, schema::forPatch(schema::child(s, field)));
    }
    if (auto r = patch.find("$retainKeys"); r != patch.end() && r->is_array()) {
      std::vector<std::string> drop;
      for (const auto& [k, v] : orig.items())
        if (std::find(r->begin(), r->end(), k) == r->end()) drop.push_back(k);
      for (const auto& k : drop) orig.erase(k);
    }
    return orig;
  }

  json mergeList(json orig, const json& patch, const json* s) {
    schema::ListKind lk = schema::forPatch(s);
    for (const auto& e : patch)
      if (e.is_object() && e.size() == 1 && e.value("$patch", "") == "replace") return stripDirectives(patch);
    if (lk.type == schema::ListKind::Atomic) return stripDirectives(patch);
    if (!orig.is_array()) orig = json::array();
    if (lk.type == schema::ListKind::Set) {
      for (const auto& e : patch)
        if (std::find(orig.begin(), orig.end(), e) == orig.end()) orig.push_back(e);
      return orig;
    }
    const std::string& key = lk.keys[0];
    const json* itemSchema = schema::items(s);
    for (const auto& p : patch) {
      if (!p.is_object() || !p.contains(key)) {
        if (!p.is_object()) orig.push_back(p);
        continue;
      }
      size_t idx = 0;
      const json* existing = findByKey(orig, key, p[key], &idx);
      if (p.value("$patch", "") == "delete") {
        json kept = json::array();
        for (const auto& e : orig)
          if (!(e.is_object() && e.contains(key) && e[key] == p[key])) kept.push_back(e);
        orig = kept;
        continue;
      }
      if (existing) {
        auto r = mergeMap(orig[idx], p, itemSchema);
        if (r) orig[idx] = std::move(*r);
        else orig.erase(idx);
      } else {
        auto r = mergeMap(json::object(), p, itemSchema);
        if (r) orig.push_back(std::move(*r));
      }
    }
    return orig;
  }

  static void reorder(json& list, const json& order, const schema::ListKind& lk) {
    auto position = [&](const json& e) -> size_t {
      for (size_t i = 0; i < order.size(); ++i) {
        if (lk.type == schema::ListKind::Map) {
          const std::string& key = lk.keys[0];
          if (e.is_object() && order[i].is_object() && e.contains(key) && order[i].contains(key) && e[key] == order[i][key])
            return i;
        } else if (e == order[i]) {
          return i;
        }
      }
      return order.size();
    };
    std::vector<json> elems(list.begin(), list.end());
    std::stable_sort(elems.begin(), elems.end(), [&](const json& a, const json& b) { return position(a) < position(b); });
    list = json(elems);
  }
};

}  // namespace

Result<json> applyStrategicMergePatch(const json& target, const json& patch, const json* s) {
  if (!patch.is_object()) return badRequest("strategic merge patch must be a JSON object");
  Smp smp;
  auto r = smp.mergeMap(target, patch, s);
  if (smp.error) return *smp.error;
  if (!r) return badRequest("$patch: delete is not allowed at the top level");
  return std::move(*r);
}

}  // namespace kta
