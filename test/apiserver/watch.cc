#include "watch.h"

#include <algorithm>

namespace kta {

WatchSession::WatchSession(Store& store, WatchOptions opts) : store_(store), o_(std::move(opts)) {
  auto now = std::chrono::steady_clock::now();
  deadline_ = now + o_.timeout;
  nextBookmark_ = now + o_.bookmarkInterval;
  epoch_ = store_.log().watchEpoch();
}

bool WatchSession::selected(const json& obj) const {
  const json* labels = nullptr;
  if (auto m = obj.find("metadata"); m != obj.end() && m->is_object())
    if (auto l = m->find("labels"); l != m->end()) labels = &*l;
  static const json kEmpty = json::object();
  return o_.labels.matches(labels ? *labels : kEmpty) && o_.fields.matches(obj);
}

namespace {
// {"type":...,"object":...} in the real server's field order.
void line(std::string& out, const char* type, const json& object) {
  out += "{\"type\":\"";
  out += type;
  out += "\",\"object\":";
  out += object.dump();
  out += "}\n";
}
}  // namespace

void WatchSession::emit(std::string& out, const char* type, const json& object) { line(out, type, o_.render(object)); }

void WatchSession::emitEvent(std::string& out, const char* type, const Event& e) {
  const json& o = *e.object;
  auto field = [&](const char* k) -> const json* {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? &*it : nullptr;
  };
  const json* apiVersion = field("apiVersion");
  const json* kind = field("kind");
  if (!o_.plain || !apiVersion || !kind || apiVersion->get_ref<const std::string&>() != o_.type->apiVersion(o_.version) ||
      kind->get_ref<const std::string&>() != o_.type->kind)
    return emit(out, type, o);
  out += "{\"type\":\"";
  out += type;
  out += "\",\"object\":";
  out += e.objectText->of(o);
  out += "}\n";
}

void WatchSession::bookmark(std::string& out, bool initialEventsEnd) {
  json meta = {{"resourceVersion", std::to_string(cursor_)}};
  if (initialEventsEnd) meta["annotations"] = {{"k8s.io/initial-events-end", "true"}};
  json obj = {{"kind", o_.type->kind}, {"apiVersion", o_.type->apiVersion(o_.version)}, {"metadata", meta}};
  line(out, "BOOKMARK", obj);
}

void WatchSession::start(std::string& out) {
  started_ = true;
  if (o_.resourceVersion == 0 || o_.sendInitialEvents) {
    std::vector<ObjPtr> initial;
    uint64_t rv = store_.transact([&](Store::Txn& t) {
      initial = t.list(o_.type->key(), o_.ns);
      return t.currentRv();
    });
    for (const auto& obj : initial)
      if (selected(*obj)) emit(out, "ADDED", *obj);
    cursor_ = std::max(rv, o_.resourceVersion);
    if (o_.sendInitialEvents && o_.bookmarks) bookmark(out, true);
    return;
  }
  cursor_ = o_.resourceVersion;
}

bool WatchSession::poll(std::string& out) {
  if (done_) return false;
  if (!started_) {
    start(out);
    if (!out.empty()) return true;
  }
  std::vector<Event> events;
  uint64_t oldest = 0;
  auto expired = [&] {
    json status = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"status", "Failure"},
                   {"message", "too old resource version: " + std::to_string(cursor_) + " (" + std::to_string(oldest) + ")"},
                   {"reason", "Expired"}, {"code", 410}};
    line(out, "ERROR", status);
    done_ = true;
    return false;
  };
  if (!store_.log().since(cursor_, events, &oldest)) return expired();
  if (events.empty()) {
    auto now = std::chrono::steady_clock::now();
    auto until = std::min({deadline_, now + std::chrono::seconds(1), o_.bookmarks ? nextBookmark_ : deadline_});
    store_.log().waitNewer(cursor_, until, epoch_);
    if (!store_.log().since(cursor_, events, &oldest)) return expired();
  }
  const std::string key = o_.type->key();
  for (const Event& e : events) {
    cursor_ = e.rv;
    if (e.resource != key || (!o_.ns.empty() && e.ns != o_.ns)) continue;
    bool now = e.type != EventType::Deleted && selected(*e.object);
    bool before = e.previous && selected(*e.previous);
    if (e.type == EventType::Deleted) {
      if (before) emitEvent(out, "DELETED", e);
    } else if (now && before) {
      emitEvent(out, "MODIFIED", e);
    } else if (now) {
      emitEvent(out, "ADDED", e);
    } else if (before) {
      emitEvent(out, "DELETED", e);
    }
  }
  auto now = std::chrono::steady_clock::now();
  if (o_.bookmarks && now >= nextBookmark_) {
    bookmark(out, false);
    nextBookmark_ = now + o_.bookmarkInterval;
  }
  if (now >= deadline_ || store_.log().stopped() || store_.log().watchEpoch() != epoch_) {
    done_ = true;
    return false;
  }
  return true;
}

}  // namespace kta
