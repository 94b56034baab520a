#include "storage.h"

namespace kta {

const char* eventTypeName(EventType t) {
  switch (t) {
    case EventType::Added: return "ADDED";
    case EventType::Modified: return "MODIFIED";
    case EventType::Deleted: return "DELETED";
  }
  return "ERROR";
}

void EventLog::append(Event e) {
  {
    std::lock_guard lk(mu_);
    last_ = e.rv;
    events_.push_back(std::move(e));
    while (events_.size() > capacity_) {
      trimmedUpTo_ = events_.front().rv;
      events_.pop_front();
    }
  }
  cv_.notify_all();
}

bool EventLog::since(uint64_t after, std::vector<Event>& out, uint64_t* oldest) const {
  std::lock_guard lk(mu_);
  if (after < trimmedUpTo_) {
    if (oldest) *oldest = trimmedUpTo_;
    return false;
  }
  // Events are in rv order: binary search the first one after `after`.
  auto it = std::upper_bound(events_.begin(), events_.end(), after, [](uint64_t v, const Event& e) { return v < e.rv; });
  out.insert(out.end(), it, events_.end());
  return true;
}

void EventLog::waitNewer(uint64_t after, std::chrono::steady_clock::time_point deadline, uint64_t epoch) const {
  std::unique_lock lk(mu_);
  cv_.wait_until(lk, deadline, [&] { return stopped_ || last_ > after || epoch_ != epoch; });
}

void EventLog::resetTo(uint64_t rv) {
  {
    std::lock_guard lk(mu_);
    events_.clear();
    trimmedUpTo_ = rv;
    last_ = rv;
  }
  cv_.notify_all();
}

void EventLog::endWatches() {
  {
    std::lock_guard lk(mu_);
    ++epoch_;
  }
  cv_.notify_all();
}

uint64_t EventLog::watchEpoch() const {
  std::lock_guard lk(mu_);
  return epoch_;
}

uint64_t EventLog::lastRv() const {
  std::lock_guard lk(mu_);
  return last_;
}

void EventLog::shutdown() {
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

bool EventLog::stopped() const {
  std::lock_guard lk(mu_);
  return stopped_;
}

namespace {

std::string metaString(const json& obj, const char* key) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  auto it = m->find(key);
  return it != m->end() && it->is_string() ? it->get<std::string>() : "";
}

std::vector<std::string> ownerUids(const json* obj) {
  std::vector<std::string> out;
  if (!obj || !obj->contains("metadata")) return out;
  const json& m = (*obj)["metadata"];
  if (!m.contains("ownerReferences") || !m["ownerReferences"].is_array()) return out;
  for (const auto& r : m["ownerReferences"])
    if (r.is_object() && r.contains("uid") && r["uid"].is_string()) out.push_back(r["uid"]);
  return out;
}

}  // namespace

void Store::indexOwners(const ObjectRef& ref, const json* before, const json* after) {
  for (const auto& u : ownerUids(before)) {
    auto it = byOwner_.find(u);
    if (it == byOwner_.end()) continue;
    it->second.erase(ref);
    if (it->second.empty()) byOwner_.erase(it);
  }
  for (const auto& u : ownerUids(after)) byOwner_[u].insert(ref);
  std::string oldUid = before ? metaString(*before, "uid") : "", newUid = after ? metaString(*after, "uid") : "";
  if (!oldUid.empty() && oldUid != newUid) byUid_.erase(oldUid);
  if (!newUid.empty()) byUid_[newUid] = ref;
}

ObjPtr Store::Txn::get(const std::string& resource, const std::string& ns, const std::string& name) const {
  auto b = s_.buckets_.find(resource);
  if (b == s_.buckets_.end()) return nullptr;
  auto it = b->second.find({ns, name});
  return it == b->second.end() ? nullptr : it->second;
}

std::vector<ObjPtr> Store::Txn::list(const std::string& resource, const std::string& ns) const {
  std::vector<ObjPtr> out;
  auto b = s_.buckets_.find(resource);
  if (b == s_.buckets_.end()) return out;
  if (ns.empty()) {
    for (const auto& [k, v] : b->second) out.push_back(v);
  } else {
    for (auto it = b->second.lower_bound({ns, ""}); it != b->second.end() && it->first.first == ns; ++it)
      out.push_back(it->second);
  }
  return out;
}

ObjPtr Store::Txn::put(const std::string& resource, json obj) {
  uint64_t rv = ++s_.rv_;
  obj["metadata"]["resourceVersion"] = std::to_string(rv);
  std::string ns = metaString(obj, "namespace"), name = metaString(obj, "name");
  auto stored = std::make_shared<const json>(std::move(obj));
  auto& slot = s_.buckets_[resource][{ns, name}];
  ObjPtr previous = slot;
  slot = stored;
  s_.indexOwners({resource, ns, name}, previous.get(), stored.get());
  s_.log_.append({rv, previous ? EventType::Modified : EventType::Added, resource, ns, name, stored, previous});
  return stored;
}

ObjPtr Store::Txn::erase(const std::string& resource, const std::string& ns, const std::string& name,
                         const json* finalState) {
  auto b = s_.buckets_.find(resource);
  if (b == s_.buckets_.end()) return nullptr;
  auto it = b->second.find({ns, name});
  if (it == b->second.end()) return nullptr;
  ObjPtr previous = it->second;
  b->second.erase(it);
  s_.indexOwners({resource, ns, name}, previous.get(), nullptr);
  uint64_t rv = ++s_.rv_;
  json last = finalState ? *finalState : *previous;
  last["metadata"]["resourceVersion"] = std::to_string(rv);
  auto final = std::make_shared<const json>(std::move(last));
  s_.log_.append({rv, EventType::Deleted, resource, ns, name, final, previous});
  return final;
}

std::vector<std::pair<std::string, ObjPtr>> Store::Txn::all() const {
  std::vector<std::pair<std::string, ObjPtr>> out;
  for (const auto& [resource, bucket] : s_.buckets_)
    for (const auto& [key, obj] : bucket) out.emplace_back(resource, obj);
  return out;
}

void Store::restore(uint64_t rv, const std::vector<std::pair<std::string, json>>& objects) {
  std::lock_guard lk(mu_);
  buckets_.clear();
  byUid_.clear();
  byOwner_.clear();
  rv_ = rv;
  for (const auto& [resource, obj] : objects) {
    std::string ns = metaString(obj, "namespace"), name = metaString(obj, "name");
    auto stored = std::make_shared<const json>(obj);
    auto& slot = buckets_[resource][{ns, name}];
    ObjPtr previous = slot;
    slot = stored;
    indexOwners({resource, ns, name}, previous.get(), stored.get());
    std::string v = metaString(obj, "resourceVersion");
    if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos) rv_ = std::max<uint64_t>(rv_, std::stoull(v));
  }
  log_.resetTo(rv_);
}

std::optional<ObjectRef> Store::Txn::findUid(const std::string& uid) const {
  auto it = s_.byUid_.find(uid);
  if (it == s_.byUid_.end()) return std::nullopt;
  return it->second;
}

std::vector<ObjectRef> Store::Txn::dependentsOf(const std::string& ownerUid) const {
  auto it = s_.byOwner_.find(ownerUid);
  if (it == s_.byOwner_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<std::string> Store::Txn::danglingOwners() const {
  std::vector<std::string> out;
  for (const auto& [uid, deps] : s_.byOwner_)
    if (!s_.byUid_.count(uid)) out.push_back(uid);
  return out;
}

}  // namespace kta
