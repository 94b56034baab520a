// A work queue of object keys ("namespace/name"), as client-go's rate-limited queue: a key
// waiting in the queue is held once however often it is added; a key being processed is
// never handed to a second worker (if it is added meanwhile, it is queued again when done);
// failures back off per key exponentially (5 ms doubling up to 5 min) until forget().
// Two lanes: keys added with Priority::kHigh (a new object, a spec change, a deletion) are
// handed out before any kLow key (periodic resyncs, requeues, status-only events), so a change
// is acted on at once even while thousands of keys wait for their resync; within a lane keys
// go in FIFO order. A waiting kLow key that is added with kHigh moves to the high lane.
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
  enum class Priority { kHigh, kLow };

  void add(const std::string& key, Priority priority = Priority::kHigh);
  void addAfter(const std::string& key, std::chrono::milliseconds delay, Priority priority = Priority::kLow);
  /// Re-adds (kLow) after the key's backoff (which doubles with every call until forget()).
  void addRateLimited(const std::string& key);
  void forget(const std::string& key);
  int failures(const std::string& key) const;
  /// Blocks for the next key (high lane first); false once shut down.
  bool get(std::string* key, Clock::duration* waited = nullptr);
  void done(const std::string& key);
  void shutdown();
  /// Keys waiting (not counting keys that wait for their processing to end).
  size_t depth() const;

 private:
  void addLocked(const std::string& key, Priority priority);
  void pushLocked(const std::string& key, Priority priority);
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> high_, low_;  // may hold stale entries, skipped by get()
  std::map<std::string, Priority> dirty_;  // keys waiting, with their lane
  std::set<std::string> processing_;
  std::map<std::string, Clock::time_point> enqueuedAt_;
  std::multimap<Clock::time_point, std::pair<std::string, Priority>> delayed_;
  std::map<std::string, int> failures_;
  bool shutdown_ = false;
};

}  // namespace flink::k8s
