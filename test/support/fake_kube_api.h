// The one fake of KubeApi (runtime/kubernetes/k8s/client.h) for controller unit tests: an in-memory
// object store with the API server's behaviour that the operator relies on: create (409 when the
// name exists), get of objects and of collections (a List with a resourceVersion), replace and
// the status subresource (409 on a stale resourceVersion), JSON merge patch, delete, a
// resourceVersion per write, metadata.generation bumped on spec changes, and watches from a
// resourceVersion that stream every later change of the collection, finalizers (a delete marks
// deletionTimestamp; the object goes with its last finalizer). It is not the test API
// server (test/apiserver/, for end-to-end tests): no validation, no garbage collection, no
// selectors. Thread-safe. Counts the writes and deletes, so tests can assert that a reconcile was
// a no-op, and tells whether an informer has caught up with it (caughtUp). eventually() polls a
// condition for tests that wait on informers.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "k8s/client.h"
#include "k8s/informer.h"

namespace flink::k8s::testing {

class FakeKubeApi final : public KubeApi {
 public:
  ApiResponse get(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string p = stripQuery(path);
    auto it = objects_.find(p);
    if (it != objects_.end()) return {200, it->second, ""};
    nlohmann::json items = nlohmann::json::array();
    for (const auto& [k, v] : objects_) {
      if (inCollection(k, p)) items.push_back(v);
    }
    if (items.empty() && !isCollection(p)) return notFound(p);
    // Pages (limit, continue = "page-<items already served>"), in key order.
    ++listRequests_;
    size_t limit = std::stoul(queryValue(path, "limit", "0"));
    std::string token = queryValue(path, "continue", "");
    size_t from = token.rfind("page-", 0) == 0 ? std::stoul(token.substr(5)) : 0;
    nlohmann::json meta = {{"resourceVersion", std::to_string(rv_)}};
    if (limit || from) {
      nlohmann::json page = nlohmann::json::array();
      for (size_t i = from; i < items.size() && (!limit || page.size() < limit); ++i) page.push_back(items[i]);
      if (from + page.size() < items.size()) meta["continue"] = "page-" + std::to_string(from + page.size());
      largestList_ = std::max(largestList_, page.size());
      items = std::move(page);
    }
    largestList_ = std::max(largestList_, items.size());
    return {200, {{"kind", "List"}, {"items", items}, {"metadata", meta}}, ""};
  }

  ApiResponse post(const std::string& path, const nlohmann::json& body) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto refused = refusal(path)) return *refused;
    std::string key = stripQuery(path) + "/" + body["metadata"].value("name", "");
    if (objects_.count(key)) return {409, {{"reason", "AlreadyExists"}}, "already exists: " + key};
    nlohmann::json obj = body;
    obj["metadata"]["uid"] = "uid-" + std::to_string(++uid_);
    obj["metadata"]["generation"] = 1;
    return store(key, std::move(obj), "ADDED");
  }

  ApiResponse put(const std::string& path, const nlohmann::json& body) override {
    std::lock_guard<std::mutex> lock(mu_);
    bool statusOnly = path.size() > 7 && path.compare(path.size() - 7, 7, "/status") == 0;
    if (auto refused = refusal(path)) return *refused;
    std::string key = statusOnly ? path.substr(0, path.size() - 7) : stripQuery(path);
    auto it = objects_.find(key);
    if (it == objects_.end()) return notFound(key);
    std::string expected = body["metadata"].value("resourceVersion", "");
    if (!expected.empty() && expected != it->second["metadata"].value("resourceVersion", "")) {
      return {409, {{"reason", "Conflict"}}, "the object has been modified"};
    }
    nlohmann::json obj = it->second;
    if (statusOnly) {
      obj["status"] = body.value("status", nlohmann::json::object());
    } else {
      nlohmann::json status = obj.value("status", nlohmann::json());
      bool specChanged = obj.value("spec", nlohmann::json()) != body.value("spec", nlohmann::json());
      nlohmann::json meta = obj["metadata"];
      obj = body;
      obj["metadata"]["uid"] = meta["uid"];
      obj["metadata"]["generation"] = meta.value("generation", 1) + (specChanged ? 1 : 0);
      if (!status.is_null()) obj["status"] = status;
    }
    return store(key, std::move(obj), "MODIFIED");
  }

  ApiResponse patch(const std::string& path, const nlohmann::json& body, const std::string& = "") override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto refused = refusal(path)) return *refused;
    std::string key = stripQuery(path);
    auto it = objects_.find(key);
    if (it == objects_.end()) return notFound(key);
    nlohmann::json obj = it->second;
    nlohmann::json before = obj.value("spec", nlohmann::json());
    obj.merge_patch(body);
    if (obj.value("spec", nlohmann::json()) != before) obj["metadata"]["generation"] = obj["metadata"].value("generation", 1) + 1;
    return store(key, std::move(obj), "MODIFIED");
  }

  ApiResponse del(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string key = stripQuery(path);
    auto it = objects_.find(key);
    if (it == objects_.end()) return notFound(key);
    nlohmann::json obj = it->second;
    if (!obj["metadata"].value("finalizers", nlohmann::json::array()).empty()) {
      // As the API server: an object with finalizers is only marked; it goes when they are removed.
      if (!obj["metadata"].contains("deletionTimestamp")) {
        std::time_t t = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char now[32];
        std::strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
        obj["metadata"]["deletionTimestamp"] = now;
        return store(key, std::move(obj), "MODIFIED");
      }
      return {200, obj, ""};
    }
    objects_.erase(it);
    ++deletes_;
    obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
    events_.push_back({rv_, key, {{"type", "DELETED"}, {"object", obj}}});
    cv_.notify_all();
    return {200, obj, ""};
  }

  ApiResponse watch(const std::string& path, const std::function<bool(const nlohmann::json&)>& onEvent,
                    const std::atomic<bool>* stop, std::function<void()>* cancel = nullptr,
                    std::mutex* cancelMu = nullptr) override {
    std::string collection = stripQuery(path);
    int64_t from = std::stoll(queryValue(path, "resourceVersion", "0"));
    bool cancelled = false;
    if (cancel) {
      std::lock_guard<std::mutex> lock(*cancelMu);
      *cancel = [this, &cancelled] {
        std::lock_guard<std::mutex> l(mu_);
        cancelled = true;
        cv_.notify_all();
      };
    }
    std::unique_lock<std::mutex> lock(mu_);
    size_t next = 0;
    for (;;) {
      for (; next < events_.size(); ++next) {
        const Event& e = events_[next];
        if (e.rv <= from || !inCollection(e.key, collection)) continue;
        nlohmann::json ev = e.event;
        lock.unlock();
        bool more = onEvent(ev);
        lock.lock();
        if (!more) return finishWatch(cancel, cancelMu, lock, {200, {}, ""});
      }
      if (cancelled || stop->load()) return finishWatch(cancel, cancelMu, lock, {200, {}, ""});
      cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
  }

  /// Every object whose path is in `collection` (e.g. types::kDeployment.collectionPath(ns)).
  std::vector<nlohmann::json> list(const std::string& collection) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<nlohmann::json> out;
    for (const auto& [k, v] : objects_) {
      if (inCollection(k, collection)) out.push_back(v);
    }
    return out;
  }
  /// Writes (post, put, patch) to paths starting with `prefix` are refused with `status` and
  /// `message`, as an API server refuses an object it cannot decode; an empty message lifts it.
  void refuseWrites(const std::string& prefix, int status, const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (message.empty()) {
      refusals_.erase(prefix);
    } else {
      refusals_[prefix] = ApiResponse{status, {{"message", message}}, message};
    }
  }
  /// Number of writes (post, put, patch) so far.
  int writes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_;
  }
  /// Number of collection GETs (list pages) so far.
  int listRequests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return listRequests_;
  }
  /// Most items any list response held.
  size_t largestList() const {
    std::lock_guard<std::mutex> lock(mu_);
    return largestList_;
  }
  /// Number of successful deletes so far.
  int deletes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return deletes_;
  }
  /// True when the informer's cache holds exactly the objects of its type in namespace ns, at
  /// their current resourceVersions.
  bool caughtUp(const Informer& informer, const std::string& ns) const {
    auto want = list(informer.type().collectionPath(ns));
    if (want.size() != informer.list().size()) return false;
    for (const auto& w : want) {
      auto h = informer.get(ns, w["metadata"]["name"].get<std::string>());
      if (!h || (*h)["metadata"]["resourceVersion"] != w["metadata"]["resourceVersion"]) return false;
    }
    return true;
  }

 private:
  struct Event {
    int64_t rv;
    std::string key;
    nlohmann::json event;
  };

  std::optional<ApiResponse> refusal(const std::string& path) const {
    for (const auto& [prefix, r] : refusals_) {
      if (path.compare(0, prefix.size(), prefix) == 0) return r;
    }
    return std::nullopt;
  }
  ApiResponse store(const std::string& key, nlohmann::json obj, const char* type) {
    obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
    if (obj["metadata"].contains("deletionTimestamp") &&
        obj["metadata"].value("finalizers", nlohmann::json::array()).empty()) {
      objects_.erase(key);  // the last finalizer removed: the object goes
      ++deletes_;
      events_.push_back({rv_, key, {{"type", "DELETED"}, {"object", obj}}});
      cv_.notify_all();
      return {200, obj, ""};
    }
    objects_[key] = obj;
    events_.push_back({rv_, key, {{"type", type}, {"object", obj}}});
    ++writes_;
    cv_.notify_all();
    return {type[0] == 'A' ? 201 : 200, obj, ""};
  }
  ApiResponse finishWatch(std::function<void()>* cancel, std::mutex* cancelMu, std::unique_lock<std::mutex>& lock,
                          ApiResponse r) {
    lock.unlock();
    if (cancel) {
      std::lock_guard<std::mutex> l(*cancelMu);
      *cancel = nullptr;
    }
    return r;
  }
  static ApiResponse notFound(const std::string& key) { return {404, {{"reason", "NotFound"}}, "not found: " + key}; }
  static std::string stripQuery(const std::string& path) { return path.substr(0, path.find('?')); }
  static std::string queryValue(const std::string& path, const std::string& key, const std::string& def) {
    auto q = path.find('?');
    if (q == std::string::npos) return def;
    std::string query = "&" + path.substr(q + 1);
    auto at = query.find("&" + key + "=");
    if (at == std::string::npos) return def;
    auto start = at + key.size() + 2;
    std::string v = query.substr(start, query.find('&', start) - start);
    return v.empty() ? def : v;
  }
  // Collections are the paths whose last segment is a resource plural (no object name after it).
  static bool isCollection(const std::string& p) {
    auto n = p.find("/namespaces/");
    if (n == std::string::npos) return false;
    return std::count(p.begin() + static_cast<std::ptrdiff_t>(n), p.end(), '/') == 3;
  }
  static bool inCollection(const std::string& key, const std::string& collection) {
    return key.size() > collection.size() + 1 && key.compare(0, collection.size(), collection) == 0 &&
           key[collection.size()] == '/' && key.find('/', collection.size() + 1) == std::string::npos;
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int listRequests_ = 0;     // GETs of collections (pages)
  size_t largestList_ = 0;   // most items in one list response
  std::map<std::string, nlohmann::json> objects_;  // object path -> object
  std::vector<Event> events_;
  std::map<std::string, ApiResponse> refusals_;  // path prefix -> the answer to a write
  int64_t rv_ = 0;
  int uid_ = 0;
  int writes_ = 0;
  int deletes_ = 0;
};

/// Polls pred every 10 ms for up to 5 s; its last answer.
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace flink::k8s::testing
