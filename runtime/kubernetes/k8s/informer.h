// An informer: keeps a local cache of one resource type (in one namespace or all) from a
// list followed by a watch from the list's resourceVersion, with bookmarks; re-lists when the
// watch's version expired (410 Gone) and reconnects with jittered exponential backoff
// otherwise. Handlers see every change (and every object again at each re-list), so a
// controller can be level-triggered. Reads from the cache are thread-safe; handlers run on
// the informer's thread. Lists are paginated (`limit`, `continue`: at most pageSize objects per
// response).
// The cache keeps only what controllers read: metadata.managedFields is stripped from every
// object (handlers never see it either), an optional transform trims objects further (e.g. a
// child object to the few fields its owner compares), and each object is held as compact CBOR,
// decoded on get()/list() (a JSON tree costs ~10x its text in memory).
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "k8s/client.h"

namespace flink::k8s {

class Informer {
 public:
  enum class EventType { kAdded, kModified, kDeleted };
  using Handler = std::function<void(EventType, const nlohmann::json& object)>;
  /// A handler that also sees the cached object the event replaces (null for a new object).
  using ChangeHandler = std::function<void(EventType, const nlohmann::json& object, const nlohmann::json* previous)>;
  /// Trims an object (already without managedFields) before it is cached and handed to handlers.
  using Transform = std::function<void(nlohmann::json& object)>;

  /// Objects per page of a list (client-go's reflector uses 500 too).
  static constexpr int kDefaultPageSize = 500;
  Informer(std::shared_ptr<KubeApi> client, ResourceType type, std::string ns, std::string labelSelector = "",
           int pageSize = kDefaultPageSize);
  ~Informer();

  /// Call before start().
  void addHandler(Handler handler) { handlers_.push_back(std::move(handler)); }
  /// Call before start(). The previous object is decoded from the cache only when such a handler exists.
  void addChangeHandler(ChangeHandler handler) { changeHandlers_.push_back(std::move(handler)); }
  /// Call before start(). Must be idempotent.
  void setTransform(Transform transform) { transform_ = std::move(transform); }
  /// Called when a watch ends abnormally and is restarted (for metrics).
  void onWatchRestart(std::function<void(const std::string& reason)> f) { onRestart_ = std::move(f); }
  void start();
  void stop();
  /// True once the first list has been applied.
  bool synced() const { return synced_.load(); }

  std::optional<nlohmann::json> get(const std::string& ns, const std::string& name) const;
  std::vector<nlohmann::json> list() const;
  /// Calls f with each cached object, decoded one at a time (list() decodes all at once: large
  /// with thousands of objects). Objects added meanwhile may be missed. Do not call from a handler.
  void forEach(const std::function<void(const nlohmann::json&)>& f) const;
  /// "namespace/name" of every cached object (no decoding).
  std::vector<std::string> keys() const;
  /// Number of cached objects.
  size_t size() const;
  const ResourceType& type() const { return type_; }

 private:
  void run();
  bool relist(std::string* resourceVersion);
  /// Strips managedFields and applies the transform.
  void trim(nlohmann::json& object) const;
  /// trim(), then applyTrimmed().
  void apply(EventType type, const nlohmann::json& object);
  /// Caches a trimmed object (or removes it) and runs the handlers.
  void applyTrimmed(EventType type, const nlohmann::json& object);
  static std::string keyOf(const nlohmann::json& object);

  std::shared_ptr<KubeApi> client_;
  ResourceType type_;
  std::string ns_;
  std::string labelSelector_;
  int pageSize_;
  std::vector<Handler> handlers_;
  std::vector<ChangeHandler> changeHandlers_;
  Transform transform_;
  std::function<void(const std::string&)> onRestart_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<uint8_t>> cache_;  // "ns/name" -> the object as CBOR
  std::atomic<bool> synced_{false};
  std::mutex cancelMu_;
  std::function<void()> cancelWatch_;  // aborts the watch in flight; guarded by cancelMu_
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace flink::k8s
