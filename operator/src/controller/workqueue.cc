#include "controller/workqueue.h"

namespace flink::k8s {

void WorkQueue::pushLocked(const std::string& key, Priority priority) {
  (priority == Priority::kHigh ? high_ : low_).push_back(key);
  cv_.notify_one();
}

void WorkQueue::addLocked(const std::string& key, Priority priority) {
  if (shutdown_) return;
  auto it = dirty_.find(key);
  if (it != dirty_.end()) {
    if (priority == Priority::kHigh && it->second == Priority::kLow) {
      it->second = Priority::kHigh;  // its low-lane entry becomes stale
      if (!processing_.count(key)) pushLocked(key, Priority::kHigh);
    }
    return;
  }
  dirty_.emplace(key, priority);
  enqueuedAt_.emplace(key, Clock::now());
  if (processing_.count(key)) return;  // queued again by done()
  pushLocked(key, priority);
}

void WorkQueue::add(const std::string& key, Priority priority) {
  std::lock_guard<std::mutex> lock(mu_);
  addLocked(key, priority);
}

void WorkQueue::addAfter(const std::string& key, std::chrono::milliseconds delay, Priority priority) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutdown_) return;
  if (delay.count() <= 0) return addLocked(key, priority);
  delayed_.emplace(Clock::now() + delay, std::make_pair(key, priority));
  cv_.notify_one();
}

void WorkQueue::addRateLimited(const std::string& key) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int n = failures_[key]++;
    int64_t ms = 5LL << std::min(n, 20);
    delay = std::chrono::milliseconds(std::min<int64_t>(ms, 300000));
  }
  addAfter(key, delay, Priority::kLow);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

int WorkQueue::failures(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

bool WorkQueue::get(std::string* key, Clock::duration* waited) {
  std::unique_lock<std::mutex> lock(mu_);
  // The next valid entry of a lane: waiting, not in process, and queued in that lane.
  auto take = [&](std::deque<std::string>& lane, Priority priority) {
    while (!lane.empty()) {
      std::string k = std::move(lane.front());
      lane.pop_front();
      auto it = dirty_.find(k);
      if (it == dirty_.end() || it->second != priority || processing_.count(k)) continue;  // stale
      *key = std::move(k);
      return true;
    }
    return false;
  };
  for (;;) {
    auto now = Clock::now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      auto [k, priority] = delayed_.begin()->second;
      delayed_.erase(delayed_.begin());
      addLocked(k, priority);
    }
    if (shutdown_) return false;
    if (take(high_, Priority::kHigh) || take(low_, Priority::kLow)) break;
    if (delayed_.empty()) {
      cv_.wait(lock);
    } else {
      // A copy: wait_until reads its deadline again after waking, and by then another worker
      // may have erased that entry (ASan: heap-use-after-free).
      const Clock::time_point deadline = delayed_.begin()->first;
      cv_.wait_until(lock, deadline);
    }
  }
  dirty_.erase(*key);
  processing_.insert(*key);
  auto it = enqueuedAt_.find(*key);
  if (it != enqueuedAt_.end()) {
    if (waited) *waited = Clock::now() - it->second;
    enqueuedAt_.erase(it);
  }
  return true;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  processing_.erase(key);
  auto it = dirty_.find(key);
  if (it != dirty_.end()) pushLocked(key, it->second);
}

void WorkQueue::shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutdown_ = true;
  cv_.notify_all();
}

size_t WorkQueue::depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t waitingForProcessing = 0;
  for (const auto& k : processing_) waitingForProcessing += dirty_.count(k);
  return dirty_.size() - waitingForProcessing;
}

}  // namespace flink::k8s
