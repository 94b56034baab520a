// The generic controller: keys reach the Reconciler on worker threads; an error or an
// exception is retried after the key's backoff; requeueAfter reconciles again; stop() is final.
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "controller/controller.h"

using flink::k8s::Controller;
using flink::k8s::Reconciler;

namespace {

bool eventually(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Fails the first `failures` reconciles (the second one by throwing), then succeeds.
class FlakyReconciler : public Reconciler {
 public:
  explicit FlakyReconciler(int failures) : failures_(failures) {}
  Result reconcile(const std::string& ns, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    keys_.push_back(ns + "/" + name);
    int n = static_cast<int>(keys_.size());
    if (n == 2) throw std::runtime_error("boom");
    if (n <= failures_) return {false, "not yet", std::nullopt};
    return {};
  }
  std::vector<std::string> keys() {
    std::lock_guard<std::mutex> lock(mu_);
    return keys_;
  }

 private:
  int failures_;
  std::mutex mu_;
  std::vector<std::string> keys_;
};

class RequeueingReconciler : public Reconciler {
 public:
  Result reconcile(const std::string&, const std::string&) override {
    ++calls;
    return {true, "", std::chrono::milliseconds(10)};
  }
  std::atomic<int> calls{0};
};

}  // namespace

TEST_CASE("Controller retries a failing or throwing reconcile with backoff until it succeeds", "[controller]") {
  FlakyReconciler reconciler(3);
  std::atomic<int> errors{0}, successes{0};
  Controller controller(reconciler, {2, nullptr, [&](double, bool ok) { ++(ok ? successes : errors); }});
  controller.enqueue("ns/a");
  controller.start();
  REQUIRE(eventually([&] { return successes.load() == 1; }));
  controller.stop();
  REQUIRE(errors == 3);
  REQUIRE(reconciler.keys() == std::vector<std::string>(4, "ns/a"));
}

TEST_CASE("Controller reconciles again after requeueAfter and does nothing once stopped", "[controller]") {
  RequeueingReconciler reconciler;
  Controller controller(reconciler, {1});
  controller.start();
  controller.start();  // idempotent
  controller.enqueue("ns/b");
  REQUIRE(eventually([&] { return reconciler.calls.load() >= 3; }));
  controller.stop();
  int calls = reconciler.calls;
  controller.stop();
  controller.start();  // a stopped controller stays stopped
  controller.enqueue("ns/c");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(reconciler.calls == calls);
  REQUIRE(controller.queueDepth() == 0);
}

TEST_CASE("Controller puts new objects, spec changes and deletions ahead of status-only changes", "[controller]") {
  using flink::k8s::Informer;
  using flink::k8s::WorkQueue;
  using nlohmann::json;
  const auto high = WorkQueue::Priority::kHigh, low = WorkQueue::Priority::kLow;
  json before = {{"metadata", {{"name", "a"}, {"namespace", "ns"}, {"generation", 1}}}, {"status", {{"x", 1}}}};
  json statusOnly = before;
  statusOnly["status"]["x"] = 2;
  json specChanged = before;
  specChanged["metadata"]["generation"] = 2;
  json deleting = before;
  deleting["metadata"]["deletionTimestamp"] = "2026-12-07T10:00:00Z";
  CHECK(Controller::changePriority(Informer::EventType::kAdded, before, nullptr) == high);
  CHECK(Controller::changePriority(Informer::EventType::kModified, statusOnly, &before) == low);
  CHECK(Controller::changePriority(Informer::EventType::kAdded, before, &before) == low);  // a re-list
  CHECK(Controller::changePriority(Informer::EventType::kModified, specChanged, &before) == high);
  CHECK(Controller::changePriority(Informer::EventType::kModified, deleting, &before) == high);
  CHECK(Controller::changePriority(Informer::EventType::kDeleted, before, &before) == high);
}
