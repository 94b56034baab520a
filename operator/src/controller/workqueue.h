// A work queue of object keys ("namespace/name"), as client-go's rate-limited queue: a key
// waiting in the queue is held once however often it is added; a key being processed is
// never handed to a second worker (if it is added meanwhile, it is queued again when done);
// failures back off per key exponentially (5 ms doubling up to 5 min) until forget().
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace flink::k8s {

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  void add(const std::string& key);
  void addAfter(const std::string& key, std::chrono::milliseconds delay);
  /// Re-adds after the key's backoff (which doubles with every call until forget()).
  void addRateLimited(const std::string& key);
  void forget(const std::string& key);
  int failures(const std::string& key) const;
  /// Blocks for the next key; false once shut down.
  bool get(std::string* key, Clock::duration* waited = nullptr);
  void done(const std::string& key);
  void shutdown();
  size_t depth() const;

 private:
  void addLocked(const std::string& key);
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;
  std::set<std::string> processing_;
  std::map<std::string, Clock::time_point> enqueuedAt_;
  std::multimap<Clock::time_point, std::string> delayed_;
  std::map<std::string, int> failures_;
  bool shutdown_ = false;
};

}  // namespace flink::k8s
