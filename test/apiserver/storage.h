// In-memory object storage: objects per resource type keyed by (namespace, name), one global
// resourceVersion counter, indexes by uid and by owner uid (for garbage collection), and the
// event log watches read from (a window of the last N events; older resourceVersions are
// "expired" -> 410 Gone). All reads and writes go through Store::transact, which runs a function
// under the store's lock with a Txn; writes assign resourceVersions and append events.
// Store::restore loads a saved state (persist.h): the objects and the counter come back, the
// event log starts empty at that resourceVersion (older versions are expired, as after a real
// API server's restart or an etcd compaction).
#pragma once

#include "errors.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace kta {

using ObjPtr = std::shared_ptr<const json>;

enum class EventType { Added, Modified, Deleted };
const char* eventTypeName(EventType t);

/// The JSON text of an event's object, made once and shared by every watch that sends the
/// object as stored (the watch fan-out then costs one serialization per event, not one per watch).
class SharedDump {
 public:
  const std::string& of(const json& object) {
    std::call_once(once_, [&] { text_ = object.dump(); });
    return text_;
  }

 private:
  std::once_flag once_;
  std::string text_;
};

struct Event {
  uint64_t rv = 0;
  EventType type = EventType::Added;
  std::string resource;  // ResourceType::key()
  std::string ns, name;
  ObjPtr object;    // state after the change (for Deleted: the last state, with a new resourceVersion)
  ObjPtr previous;  // state before (null for Added)
  std::shared_ptr<SharedDump> objectText = std::make_shared<SharedDump>();  // of `object`
};

class EventLog {
 public:
  explicit EventLog(size_t capacity) : capacity_(capacity ? capacity : 1) {}
  void append(Event e);
  /// Appends events with rv > after to out. False when `after` is older than the window
  /// (events after it were dropped); *oldest then holds the oldest rv a watch may start from.
  bool since(uint64_t after, std::vector<Event>& out, uint64_t* oldest) const;
  /// Blocks until an event newer than `after` exists, `deadline` passes, shutdown() or
  /// endWatches() (the watch epoch differs from `epoch`).
  void waitNewer(uint64_t after, std::chrono::steady_clock::time_point deadline, uint64_t epoch) const;
  uint64_t lastRv() const;
  /// Forgets all events and starts the window at `rv`: a watch from an older version is expired.
  void resetTo(uint64_t rv);
  void shutdown();
  bool stopped() const;
  /// Ends the watches open now (as if their timeoutSeconds had passed); later ones are unaffected.
  void endWatches();
  uint64_t watchEpoch() const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<Event> events_;
  size_t capacity_;
  uint64_t trimmedUpTo_ = 0;  // largest rv dropped from the window
  uint64_t last_ = 0;
  uint64_t epoch_ = 0;  // incremented by endWatches()
  bool stopped_ = false;
};

struct ObjectRef {
  std::string resource, ns, name;
  auto operator<=>(const ObjectRef&) const = default;
};

class Store {
 public:
  class Txn;
  explicit Store(size_t history) : log_(history) {}

  template <class F>
  auto transact(F&& f) {
    std::lock_guard lk(mu_);
    Txn t(*this);
    return f(t);
  }
  EventLog& log() { return log_; }
  /// Replaces all objects (no watch events) and sets the resourceVersion counter to at least
  /// `rv`; the event log restarts empty at the resulting counter. For start-up, before serving.
  void restore(uint64_t rv, const std::vector<std::pair<std::string, json>>& objects);

 private:
  using Bucket = std::map<std::pair<std::string, std::string>, ObjPtr>;  // (ns, name) -> object
  void indexOwners(const ObjectRef& ref, const json* before, const json* after);

  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
  std::unordered_map<std::string, ObjectRef> byUid_;
  std::unordered_map<std::string, std::set<ObjectRef>> byOwner_;
  uint64_t rv_ = 0;
  EventLog log_;
};

class Store::Txn {
 public:
  explicit Txn(Store& s) : s_(s) {}
  ObjPtr get(const std::string& resource, const std::string& ns, const std::string& name) const;
  /// Objects of a resource, sorted by namespace then name; ns "" = all namespaces.
  std::vector<ObjPtr> list(const std::string& resource, const std::string& ns) const;
  /// Every stored object with its resource key, sorted by resource, namespace and name.
  std::vector<std::pair<std::string, ObjPtr>> all() const;
  uint64_t currentRv() const { return s_.rv_; }
  /// Stores obj under its metadata namespace/name with a new resourceVersion; emits
  /// ADDED or MODIFIED. Returns the stored object.
  ObjPtr put(const std::string& resource, json obj);
  /// Removes the object; emits DELETED carrying its last state (or `finalState`) with a new
  /// resourceVersion. Returns that.
  ObjPtr erase(const std::string& resource, const std::string& ns, const std::string& name,
               const json* finalState = nullptr);
  std::optional<ObjectRef> findUid(const std::string& uid) const;
  std::vector<ObjectRef> dependentsOf(const std::string& ownerUid) const;
  /// Owner uids referenced by some object's ownerReferences that name no stored object.
  std::vector<std::string> danglingOwners() const;

 private:
  Store& s_;
};

}  // namespace kta
