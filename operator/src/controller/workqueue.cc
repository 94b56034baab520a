#include "controller/workqueue.h"

namespace flink::k8s {

void WorkQueue::addLocked(const std::string& key) {
  if (shutdown_ || dirty_.count(key)) return;
  dirty_.insert(key);
  enqueuedAt_.emplace(key, Clock::now());
  if (processing_.count(key)) return;  // queued again by done()
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  addLocked(key);
}

void WorkQueue::addAfter(const std::string& key, std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutdown_) return;
  if (delay.count() <= 0) return addLocked(key);
  delayed_.emplace(Clock::now() + delay, key);
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
  addAfter(key, delay);
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
  for (;;) {
    auto now = Clock::now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      std::string k = delayed_.begin()->second;
      delayed_.erase(delayed_.begin());
      addLocked(k);
    }
    if (shutdown_) return false;
    if (!queue_.empty()) break;
    if (delayed_.empty()) {
      cv_.wait(lock);
    } else {
      // A copy: wait_until reads its deadline again after waking, and by then another worker
      // may have erased that entry (ASan: heap-use-after-free).
      const Clock::time_point deadline = delayed_.begin()->first;
      cv_.wait_until(lock, deadline);
    }
  }
  *key = queue_.front();
  queue_.pop_front();
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
  if (dirty_.count(key)) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutdown_ = true;
  cv_.notify_all();
}

size_t WorkQueue::depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

}  // namespace flink::k8s
