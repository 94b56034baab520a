// The main-thread executor of a component (Flink's "mailbox"): actions posted from any
// thread run one at a time on the owner thread, so the component's state needs no locks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>

namespace flink {

class Mailbox {
 public:
  /// Thread-safe. Actions posted after close() are dropped.
  void post(std::function<void()> action) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      queue_.push_back(std::move(action));
    }
    cv_.notify_one();
  }
  /// Runs `fn` on the owner thread and waits for its result (for callers on other threads).
  template <class F>
  auto call(F fn) -> decltype(fn()) {
    auto task = std::make_shared<std::packaged_task<decltype(fn())()>>(std::move(fn));
    auto future = task->get_future();
    post([task] { (*task)(); });
    return future.get();
  }
  /// Owner thread: runs queued actions, waiting up to `timeout` for the first one.
  void runFor(std::chrono::milliseconds timeout) {
    std::deque<std::function<void()>> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, timeout, [this] { return !queue_.empty(); });
      batch.swap(queue_);
    }
    for (auto& a : batch) a();
  }
  void close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool closed_ = false;
};

}  // namespace flink
