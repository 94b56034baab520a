// HTTP server helpers shared by the JobManager's REST API and the operator's endpoints
// (cpp-httplib).
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "flink/configuration.h"

namespace flink {

/// Registers catch-all POST, PUT, PATCH and DELETE handlers (call it after the real routes, which
/// for these methods must take a ContentReader, as the catch-alls would shadow others) that
/// answer through `notFound` without reading a body. Without them cpp-httplib reads the body of
/// any such request before routing, and one without Content-Length or Transfer-Encoding (which
/// has no body, RFC 9112 section 6.3) would hang until the client gives up. When a body was
/// announced it is left unread and the response says Connection: close.
void answerUnroutedWithoutBody(httplib::Server& server,
                               std::function<void(const httplib::Request&, httplib::Response&)> notFound);

/// cpp-httplib's task queue with a bound: `threads` workers serve connections, at most
/// `maxPending` accepted connections wait for one, and while that many wait the accept thread
/// waits too, so further clients stay in the kernel's listen backlog (bounded, and refused by
/// the kernel when it is full) instead of taking a file descriptor and memory each. Install with
/// `server.new_task_queue = [] { return new BoundedTaskQueue(n, m); }` (httplib owns it).
class BoundedTaskQueue : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(size_t threads, size_t maxPending);
  ~BoundedTaskQueue() override;
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

 private:
  void work();
  const size_t maxPending_;
  std::mutex mu_;
  std::condition_variable ready_;  // a job arrived or shutdown
  std::condition_variable space_;  // a pending job was taken
  std::deque<std::function<void()>> jobs_;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

/// Threads serving REST connections (Flink's key; default 8 here).
inline constexpr const char* kRestServerThreads = "rest.server.numThreads";
/// Accepted REST connections waiting for a thread; beyond it clients wait in the kernel's
/// listen backlog (default 64).
inline constexpr const char* kRestMaxPendingConnections = "flink-cpp.rest.server.max-pending-connections";
/// How long each receive of a request (line, headers, body) and each send may take (default 5 s).
inline constexpr const char* kRestReadTimeout = "flink-cpp.rest.server.read-timeout";

/// The bounds of the REST server under hostile clients: kRestServerThreads,
/// kRestMaxPendingConnections and kRestReadTimeout, each positive; errors name the key.
struct RestServerBounds {
  size_t threads = 8;
  size_t maxPendingConnections = 64;
  int64_t readTimeoutMs = 5000;
  static Result<RestServerBounds> fromConfig(const Configuration& config);
};

/// Applies the REST server bounds of `config`-like values: read and write timeouts (each
/// receive of the request line, headers and body must arrive within `readTimeoutMs`), the
/// keep-alive limits, and the BoundedTaskQueue.
void boundHttpServer(httplib::Server& server, int64_t readTimeoutMs, size_t threads, size_t maxPending);

}  // namespace flink
