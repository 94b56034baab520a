// A generic controller, as controller-runtime's: events of the watched informers become keys
// ("namespace/name") in a rate-limited WorkQueue, and a fixed pool of worker threads hands each
// key to a Reconciler. A reconcile that fails (or throws) is retried after the key's
// exponential backoff (see workqueue.h); one that succeeds resets the backoff and may ask to
// run again after a delay. The queue never hands one key to two workers at once.
//
// Lifecycle: register watches, then start() (the workers) and stop() (shuts the queue down and
// joins the workers; keys still queued are dropped). A stopped controller cannot be restarted.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "controller/workqueue.h"
#include "k8s/informer.h"

namespace flink::k8s {

/// The work-queue key of an object: "namespace/name" ("/name" for a cluster-scoped object).
std::string objectKey(const nlohmann::json& object);

/// Brings one object to its desired state. Level-triggered: it reads what it needs itself, the
/// key only says which object to look at.
class Reconciler {
 public:
  struct Result {
    bool ok = true;
    std::string error;  // why it failed, when !ok (logged; the key is retried after its backoff)
    std::optional<std::chrono::milliseconds> requeueAfter;  // when ok: reconcile again after this delay
  };
  virtual ~Reconciler() = default;
  /// Called concurrently from worker threads, never for one key on two threads at once. An
  /// exception counts as an error ("unexpected error: WHAT").
  virtual Result reconcile(const std::string& ns, const std::string& name) = 0;
};

class Controller {
 public:
  struct Options {
    int workers = 1;  // worker threads (at least 1)
    /// Optional, called on a worker: seconds a key waited in the queue before a worker took it.
    std::function<void(double seconds)> onDequeued;
    /// Optional, called on a worker after each reconcile: its duration in seconds and whether it succeeded.
    std::function<void(double seconds, bool ok)> onReconciled;
  };
  using OwnerKeyFunc = std::function<std::optional<std::string>(const nlohmann::json& object)>;

  /// The reconciler must outlive the controller.
  Controller(Reconciler& reconciler, Options options);
  /// stop().
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  /// Enqueues objectKey() of every object the informer reports (the primary resource): in the
  /// high lane when it is new, deleted, or its generation or deletionTimestamp changed
  /// (changePriority), else (a status write, a re-list) in the low lane. Call before the
  /// informer starts.
  void watch(Informer& informer);
  /// Enqueues the owner's key of every object the informer reports that has one (owned
  /// resources): a deleted child in the high lane, other changes in the low lane. Call before
  /// the informer starts.
  void watchOwned(Informer& informer, OwnerKeyFunc ownerKey);
  /// Enqueues a key (held once while it waits). Thread-safe; ignored once stopped.
  void enqueue(const std::string& key, WorkQueue::Priority priority = WorkQueue::Priority::kHigh) {
    queue_.add(key, priority);
  }
  /// The lane of an informer event about a primary resource (see watch()).
  static WorkQueue::Priority changePriority(Informer::EventType type, const nlohmann::json& object,
                                            const nlohmann::json* previous);
  /// Keys waiting in the queue. Thread-safe.
  size_t queueDepth() const { return queue_.depth(); }

  /// Starts the worker threads. Thread-safe; idempotent; does nothing once stopped.
  void start();
  /// Shuts the queue down and joins the workers (each finishes the reconcile in progress).
  /// Thread-safe; idempotent.
  void stop();

 private:
  void runWorker();
  void process(const std::string& key);
  Reconciler::Result reconcileKey(const std::string& key);

  Reconciler& reconciler_;
  Options options_;
  WorkQueue queue_;
  std::mutex mu_;  // guards workers_, started_, stopped_
  std::vector<std::thread> workers_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace flink::k8s
