// An informer: keeps a local cache of one resource type (in one namespace or all) from a
// list followed by a watch from the list's resourceVersion, with bookmarks; re-lists when the
// watch's version expired (410 Gone) and reconnects with jittered exponential backoff
// otherwise. Handlers see every change (and every object again at each re-list), so a
// controller can be level-triggered. Reads from the cache are thread-safe; handlers run on
// the informer's thread. Lists are paginated (`limit`, `continue`: at most pageSize objects per
// response).
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

  /// Objects per page of a list (client-go's reflector uses 500 too).
  static constexpr int kDefaultPageSize = 500;
  Informer(std::shared_ptr<KubeApi> client, ResourceType type, std::string ns, std::string labelSelector = "",
           int pageSize = kDefaultPageSize);
  ~Informer();

  void addHandler(Handler handler) { handlers_.push_back(std::move(handler)); }
  /// Called when a watch ends abnormally and is restarted (for metrics).
  void onWatchRestart(std::function<void(const std::string& reason)> f) { onRestart_ = std::move(f); }
  void start();
  void stop();
  /// True once the first list has been applied.
  bool synced() const { return synced_.load(); }

  std::optional<nlohmann::json> get(const std::string& ns, const std::string& name) const;
  std::vector<nlohmann::json> list() const;
  const ResourceType& type() const { return type_; }

 private:
  void run();
  bool relist(std::string* resourceVersion);
  void apply(EventType type, const nlohmann::json& object);
  static std::string keyOf(const nlohmann::json& object);

  std::shared_ptr<KubeApi> client_;
  ResourceType type_;
  std::string ns_;
  std::string labelSelector_;
  int pageSize_;
  std::vector<Handler> handlers_;
  std::function<void(const std::string&)> onRestart_;
  mutable std::mutex mu_;
  std::map<std::string, nlohmann::json> cache_;  // "ns/name" -> object
  std::atomic<bool> synced_{false};
  std::mutex cancelMu_;
  std::function<void()> cancelWatch_;  // aborts the watch in flight; guarded by cancelMu_
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace flink::k8s
