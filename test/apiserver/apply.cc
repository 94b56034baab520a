#include "apply.h"

#include "patch.h"
#include "util.h"

#include <algorithm>

namespace kta {
namespace {

const char* kMetaFields[] = {"labels", "annotations", "ownerReferences", "finalizers"};

bool hasKeys(const json& e, const std::vector<std::string>& keys) {
  if (!e.is_object()) return false;
  for (const auto& k : keys)
    if (!e.contains(k)) return false;
  return true;
}

std::string keyToken(const json& e, const std::vector<std::string>& keys) {
  json k = json::object();
  for (const auto& key : keys) k[key] = e[key];
  return "k:" + k.dump();
}

void walk(FieldPath& path, const json& v, const json* s, FieldSet& out) {
  if (v.is_object() && !v.empty() && !schema::atomicMap(s)) {
    for (const auto& [k, c] : v.items()) {
      path.push_back("f:" + k);
      walk(path, c, schema::child(s, k), out);
      path.pop_back();
    }
    return;
  }
  if (v.is_array() && !v.empty()) {
    schema::ListKind lk = schema::forApply(s);
    if (lk.type == schema::ListKind::Map &&
        std::all_of(v.begin(), v.end(), [&](const json& e) { return hasKeys(e, lk.keys); })) {
      const json* itemSchema = schema::items(s);
      for (const auto& e : v) {
        path.push_back(keyToken(e, lk.keys));
        path.push_back(".");
        out.insert(path);
        path.pop_back();
        for (const auto& [k, c] : e.items()) {
          path.push_back("f:" + k);
          walk(path, c, schema::child(itemSchema, k), out);
          path.pop_back();
        }
        path.pop_back();
      }
      return;
    }
    if (lk.type == schema::ListKind::Set &&
        std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_primitive(); })) {
      for (const auto& e : v) {
        path.push_back("v:" + e.dump());
        out.insert(path);
        path.pop_back();
      }
      return;
    }
  }
  out.insert(path);
}

// Index in `list` of the element a "k:{...}" or "v:..." token names, or list.size().
size_t elementIndex(const json& list, const std::string& token) {
  if (!list.is_array()) return 0;
  json want = json::parse(token.substr(2), nullptr, false);
  if (want.is_discarded()) return list.size();
  for (size_t i = 0; i < list.size(); ++i) {
    const json& e = list[i];
    if (token[0] == 'v') {
      if (e == want) return i;
    } else if (e.is_object() && want.is_object()) {
      bool match = true;
      for (const auto& [k, v] : want.items())
        if (!e.contains(k) || e[k] != v) match = false;
      if (match) return i;
    }
  }
  return list.size();
}

json* elementFor(json& list, const std::string& token) {
  if (!list.is_array()) return nullptr;
  size_t i = elementIndex(list, token);
  return i < list.size() ? &list[i] : nullptr;
}

json* navigate(json& obj, const FieldPath& p, size_t len) {
  json* cur = &obj;
  for (size_t i = 0; i < len && cur; ++i) {
    const std::string& t = p[i];
    if (t == ".") continue;
    if (t.rfind("f:", 0) == 0) {
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(t.substr(2));
      cur = it == cur->end() ? nullptr : &*it;
    } else {
      cur = elementFor(*cur, t);
    }
  }
  return cur;
}

const json* valueAt(const json& obj, const FieldPath& p) { return navigate(const_cast<json&>(obj), p, p.size()); }

bool isPrefixOfAny(const FieldPath& prefix, const FieldSet& set) {
  auto it = set.lower_bound(prefix);
  return it != set.end() && it->size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), it->begin());
}

// Removes the field at p; then drops maps left empty that nobody keeps.
void removePath(json& obj, const FieldPath& p, const FieldSet& keep) {
  if (p.empty()) return;
  FieldPath target = p;
  if (target.back() == ".") target.pop_back();  // the list element itself
  if (target.empty()) return;
  json* parent = navigate(obj, target, target.size() - 1);
  if (!parent) return;
  const std::string& last = target.back();
  if (last.rfind("f:", 0) == 0) {
    if (parent->is_object()) parent->erase(last.substr(2));
  } else if (parent->is_array()) {
    size_t i = elementIndex(*parent, last);
    if (i < parent->size()) parent->erase(i);
  }
  // Prune emptied containers upwards.
  for (size_t len = target.size() - 1; len > 0; --len) {
    FieldPath prefix(target.begin(), target.begin() + static_cast<long>(len));
    json* c = navigate(obj, prefix, len);
    if (!c || !(c->is_object() || c->is_array()) || !c->empty() || isPrefixOfAny(prefix, keep)) break;
    json* pp = navigate(obj, prefix, len - 1);
    if (!pp) break;
    const std::string& t = prefix.back();
    if (t.rfind("f:", 0) == 0 && pp->is_object()) pp->erase(t.substr(2));
    else break;
  }
}

json mergeApplied(json live, const json& applied, const json* s) {
  if (applied.is_object() && live.is_object() && !schema::atomicMap(s)) {
    for (const auto& [k, v] : applied.items()) {
      if (v.is_null()) live.erase(k);
      else live[k] = mergeApplied(live.contains(k) ? live[k] : json(nullptr), v, schema::child(s, k));
    }
    return live;
  }
  if (applied.is_array() && live.is_array()) {
    schema::ListKind lk = schema::forApply(s);
    if (lk.type == schema::ListKind::Map) {
      const json* itemSchema = schema::items(s);
      for (const auto& e : applied) {
        if (!hasKeys(e, lk.keys)) return applied;
        json* match = elementFor(live, keyToken(e, lk.keys));
        if (match) *match = mergeApplied(*match, e, itemSchema);
        else live.push_back(e);
      }
      return live;
    }
    if (lk.type == schema::ListKind::Set) {
      for (const auto& e : applied)
        if (std::find(live.begin(), live.end(), e) == live.end()) live.push_back(e);
      return live;
    }
  }
  return applied;
}

struct Entry {
  json raw;  // everything but fieldsV1
  FieldSet set;
  std::string manager, operation, subresource;
};

std::vector<Entry> readEntries(const json* obj) {
  std::vector<Entry> out;
  if (!obj) return out;
  const json* mf = lookupPath(*obj, "metadata.managedFields");
  if (!mf || !mf->is_array()) return out;
  for (const auto& e : *mf) {
    if (!e.is_object()) continue;
    Entry en;
    en.raw = e;
    en.raw.erase("fieldsV1");
    en.set = fromFieldsV1(e.value("fieldsV1", json::object()));
    en.manager = e.value("manager", "");
    en.operation = e.value("operation", "");
    en.subresource = e.value("subresource", "");
    out.push_back(std::move(en));
  }
  return out;
}

json writeEntries(const std::vector<Entry>& entries) {
  json out = json::array();
  for (const auto& e : entries) {
    if (e.set.empty()) continue;
    json j = e.raw;
    j["fieldsType"] = "FieldsV1";
    j["fieldsV1"] = toFieldsV1(e.set);
    out.push_back(j);
  }
  return out;
}

Entry& ownEntry(std::vector<Entry>& entries, const ManagerContext& ctx, const std::string& op) {
  for (auto& e : entries)
    if (e.manager == ctx.manager && e.operation == op && e.subresource == ctx.subresource) return e;
  Entry e;
  e.manager = ctx.manager;
  e.operation = op;
  e.subresource = ctx.subresource;
  e.raw = {{"manager", ctx.manager}, {"operation", op}};
  if (!ctx.subresource.empty()) e.raw["subresource"] = ctx.subresource;
  entries.push_back(std::move(e));
  return entries.back();
}

void touch(Entry& e, const ManagerContext& ctx) {
  e.raw["apiVersion"] = ctx.apiVersion;
  e.raw["time"] = nowRfc3339();
}

}  // namespace

FieldSet fieldSetOf(const json& obj, const json* s, FieldScope scope) {
  FieldSet out;
  if (!obj.is_object()) return out;
  FieldPath path;
  for (const auto& [k, v] : obj.items()) {
    if (k == "apiVersion" || k == "kind") continue;
    if (k == "status" ? scope == FieldScope::NoStatus : scope == FieldScope::StatusOnly) continue;
    if (k == "metadata") {
      if (!v.is_object()) continue;
      const json* ms = schema::child(s, "metadata");
      for (const char* mk : kMetaFields) {
        if (!v.contains(mk)) continue;
        path = {"f:metadata", std::string("f:") + mk};
        walk(path, v[mk], schema::child(ms, mk), out);
      }
      continue;
    }
    path = {"f:" + k};
    walk(path, v, schema::child(s, k), out);
  }
  return out;
}

json toFieldsV1(const FieldSet& set) {
  json trie = json::object();
  for (const auto& p : set) {
    json* cur = &trie;
    for (const auto& t : p) {
      if (!cur->contains(t)) (*cur)[t] = json::object();
      cur = &(*cur)[t];
    }
  }
  return trie;
}

namespace {
void collect(const json& node, FieldPath& path, FieldSet& out) {
  if (!node.is_object()) return;
  if (node.empty() && !path.empty()) {
    out.insert(path);
    return;
  }
  for (const auto& [k, v] : node.items()) {
    path.push_back(k);
    collect(v, path, out);
    path.pop_back();
  }
}
}  // namespace

FieldSet fromFieldsV1(const json& trie) {
  FieldSet out;
  FieldPath path;
  collect(trie, path, out);
  return out;
}

std::string fieldPathString(const FieldPath& path) {
  std::string s;
  for (const auto& t : path) {
    if (t == ".") continue;
    if (t.rfind("f:", 0) == 0) {
      s += "." + t.substr(2);
    } else if (t.rfind("k:", 0) == 0) {
      json k = json::parse(t.substr(2), nullptr, false);
      std::string inner;
      if (k.is_object())
        for (const auto& [kk, vv] : k.items()) inner += (inner.empty() ? "" : ",") + kk + "=" + vv.dump();
      s += "[" + inner + "]";
    } else {
      s += "[=" + t.substr(2) + "]";
    }
  }
  return s;
}

json managedFieldsAfterUpdate(const json* old, const json& next, const json* s, const ManagerContext& ctx) {
  std::vector<Entry> entries = readEntries(old);
  FieldSet newSet = fieldSetOf(next, s, ctx.scope), changed, removed;
  if (old) {
    FieldSet oldSet = fieldSetOf(*old, s, ctx.scope);
    for (const auto& p : newSet) {
      const json* before = valueAt(*old, p);
      if (!before || (p.back() != "." && *before != *valueAt(next, p))) changed.insert(p);
    }
    std::set_difference(oldSet.begin(), oldSet.end(), newSet.begin(), newSet.end(), std::inserter(removed, removed.end()));
  } else {
    changed = newSet;
  }
  if (changed.empty() && removed.empty()) return writeEntries(entries);
  Entry& own = ownEntry(entries, ctx, "Update");
  std::string ownKey = own.manager + "\n" + own.operation + "\n" + own.subresource;
  for (auto& e : entries) {
    if (e.manager + "\n" + e.operation + "\n" + e.subresource == ownKey) continue;
    for (const auto& p : changed) e.set.erase(p);
    for (const auto& p : removed) e.set.erase(p);
  }
  for (auto& e : entries) {
    if (e.manager + "\n" + e.operation + "\n" + e.subresource != ownKey) continue;
    for (const auto& p : changed) e.set.insert(p);
    FieldSet kept;
    for (const auto& p : e.set)
      if (newSet.count(p)) kept.insert(p);
    e.set = std::move(kept);
    touch(e, ctx);
  }
  return writeEntries(entries);
}

Result<json> serverSideApply(const json* live, const json& applied, const json* s, const ManagerContext& ctx, bool force) {
  std::vector<Entry> entries = readEntries(live);
  FieldSet newSet = fieldSetOf(applied, s, ctx.scope);
  size_t ownIndex = entries.size();
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].manager == ctx.manager && entries[i].operation == "Apply" && entries[i].subresource == ctx.subresource)
      ownIndex = i;
  FieldSet oldSet = ownIndex < entries.size() ? entries[ownIndex].set : FieldSet{};

  // Conflicts: fields another manager owns whose live value differs from the applied one.
  std::vector<std::pair<std::string, FieldPath>> conflicts;
  if (live) {
    for (const auto& p : newSet) {
      if (p.back() == ".") continue;
      const json* lv = valueAt(*live, p);
      const json* av = valueAt(applied, p);
      if (!lv || !av || *lv == *av) continue;
      for (size_t i = 0; i < entries.size(); ++i)
        if (i != ownIndex && entries[i].set.count(p)) conflicts.push_back({entries[i].manager, p});
    }
  }
  if (!conflicts.empty() && !force) {
    json causes = json::array();
    std::map<std::string, std::vector<std::string>> byManager;
    for (const auto& [m, p] : conflicts) {
      causes.push_back({{"reason", "FieldManagerConflict"},
                        {"message", "conflict with \"" + m + "\" using " + ctx.apiVersion},
                        {"field", fieldPathString(p)}});
      byManager[m].push_back(fieldPathString(p));
    }
    std::string msg = "Apply failed with " + std::to_string(conflicts.size()) +
                      (conflicts.size() == 1 ? " conflict: " : " conflicts: ");
    bool first = true;
    for (const auto& [m, paths] : byManager) {
      if (!first) msg += "\n";
      first = false;
      if (paths.size() == 1 && conflicts.size() == 1) {
        msg += "conflict with \"" + m + "\" using " + ctx.apiVersion + ": " + paths[0];
      } else {
        msg += "conflicts with \"" + m + "\" using " + ctx.apiVersion + ":";
        for (const auto& p : paths) msg += "\n- " + p;
      }
    }
    return ApiError{409, "Conflict", msg, {{"causes", causes}}};
  }
  for (const auto& [m, p] : conflicts)
    for (size_t i = 0; i < entries.size(); ++i)
      if (i != ownIndex && entries[i].manager == m) entries[i].set.erase(p);

  FieldSet others;
  for (size_t i = 0; i < entries.size(); ++i)
    if (i != ownIndex) others.insert(entries[i].set.begin(), entries[i].set.end());
  FieldSet keep = newSet;
  keep.insert(others.begin(), others.end());

  json obj = live ? *live : json::object();
  for (const auto& p : oldSet)
    if (!newSet.count(p) && !others.count(p)) removePath(obj, p, keep);

  // Merge what the scope allows: identity comes from the live object (or the applied one on create).
  json body = applied;
  body.erase("metadata");
  if (ctx.scope == FieldScope::NoStatus) body.erase("status");
  if (ctx.scope == FieldScope::StatusOnly) body = json{{"status", applied.value("status", json::object())}};
  const json* ts = s;
  obj = mergeApplied(obj, body, ts);
  if (applied.contains("metadata") && applied["metadata"].is_object() && ctx.scope != FieldScope::StatusOnly) {
    json& m = obj["metadata"];
    if (!m.is_object()) m = json::object();
    const json* ms = schema::child(s, "metadata");
    for (const char* mk : kMetaFields)
      if (applied["metadata"].contains(mk))
        m[mk] = mergeApplied(m.contains(mk) ? m[mk] : json(nullptr), applied["metadata"][mk], schema::child(ms, mk));
  }

  bool existed = ownIndex < entries.size();
  Entry& own = ownEntry(entries, ctx, "Apply");
  if (!existed || own.set != newSet || own.raw.value("apiVersion", "") != ctx.apiVersion) touch(own, ctx);
  own.set = newSet;
  obj["metadata"]["managedFields"] = writeEntries(entries);
  return obj;
}

}  // namespace kta
