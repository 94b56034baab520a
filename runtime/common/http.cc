#include "flink/common/http.h"

#include <algorithm>

namespace flink {

void answerUnroutedWithoutBody(httplib::Server& server,
                               std::function<void(const httplib::Request&, httplib::Response&)> notFound) {
  auto handler = [notFound = std::move(notFound)](const httplib::Request& req, httplib::Response& res,
                                                  const httplib::ContentReader&) {
    notFound(req, res);
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) res.set_header("Connection", "close");
  };
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Patch(".*", handler);
  server.Delete(".*", handler);
}

BoundedTaskQueue::BoundedTaskQueue(size_t threads, size_t maxPending) : maxPending_(maxPending) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) threads_.emplace_back([this] { work(); });
}

BoundedTaskQueue::~BoundedTaskQueue() { shutdown(); }

void BoundedTaskQueue::enqueue(std::function<void()> fn) {
  std::unique_lock<std::mutex> lock(mu_);
  space_.wait(lock, [this] { return shutdown_ || jobs_.size() < maxPending_; });
  jobs_.push_back(std::move(fn));
  ready_.notify_one();
}

void BoundedTaskQueue::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_ && threads_.empty()) return;
    shutdown_ = true;
  }
  ready_.notify_all();
  space_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void BoundedTaskQueue::work() {
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [this] { return shutdown_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // shut down and drained: every accepted socket gets closed
      fn = std::move(jobs_.front());
      jobs_.pop_front();
    }
    space_.notify_one();
    fn();
  }
}

void boundHttpServer(httplib::Server& server, int64_t readTimeoutMs, size_t threads, size_t maxPending) {
  auto sec = static_cast<time_t>(readTimeoutMs / 1000);
  auto usec = static_cast<time_t>((readTimeoutMs % 1000) * 1000);
  server.set_read_timeout(sec, usec);
  server.set_write_timeout(sec, usec);
  server.set_keep_alive_timeout(std::max<time_t>(sec, 1));
  server.set_keep_alive_max_count(100);
  server.new_task_queue = [threads, maxPending] { return new BoundedTaskQueue(threads, maxPending); };
}

Result<RestServerBounds> RestServerBounds::fromConfig(const Configuration& config) {
  RestServerBounds b;
  auto threads = config.getInt(kRestServerThreads, static_cast<int64_t>(b.threads));
  if (!threads.ok()) return threads.status();
  auto pending = config.getInt(kRestMaxPendingConnections, static_cast<int64_t>(b.maxPendingConnections));
  if (!pending.ok()) return pending.status();
  auto timeout = config.getDurationMs(kRestReadTimeout, b.readTimeoutMs);
  if (!timeout.ok()) return timeout.status();
  if (*threads < 1 || *threads > 1024) {
    return Status::Error(std::string(kRestServerThreads) + ": " + std::to_string(*threads) + " is not in [1, 1024]");
  }
  if (*pending < 1) return Status::Error(std::string(kRestMaxPendingConnections) + " must be positive");
  if (*timeout < 1) return Status::Error(std::string(kRestReadTimeout) + " must be positive");
  b.threads = static_cast<size_t>(*threads);
  b.maxPendingConnections = static_cast<size_t>(*pending);
  b.readTimeoutMs = *timeout;
  return b;
}

}  // namespace flink
