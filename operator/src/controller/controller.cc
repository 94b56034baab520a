#include "controller/controller.h"

#include "flink/common/log.h"

namespace flink::k8s {

using nlohmann::json;

namespace {

double secondsOf(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string objectKey(const json& object) {
  return object["metadata"].value("namespace", "") + "/" + object["metadata"].value("name", "");
}

Controller::Controller(Reconciler& reconciler, Options options) : reconciler_(reconciler), options_(std::move(options)) {
  if (options_.workers < 1) options_.workers = 1;
}

Controller::~Controller() { stop(); }

WorkQueue::Priority Controller::changePriority(Informer::EventType type, const json& object, const json* previous) {
  using P = WorkQueue::Priority;
  if (!previous || type == Informer::EventType::kDeleted) return P::kHigh;
  auto meta = [](const json& o) -> const json& {
    static const json kEmpty = json::object();
    auto it = o.find("metadata");
    return it != o.end() && it->is_object() ? *it : kEmpty;
  };
  const json &now = meta(object), &before = meta(*previous);
  if (now.value("generation", int64_t{0}) != before.value("generation", int64_t{0})) return P::kHigh;
  if (now.contains("deletionTimestamp") != before.contains("deletionTimestamp")) return P::kHigh;
  return P::kLow;
}

void Controller::watch(Informer& informer) {
  informer.addChangeHandler([this](Informer::EventType type, const json& o, const json* previous) {
    queue_.add(objectKey(o), changePriority(type, o, previous));
  });
}

void Controller::watchOwned(Informer& informer, OwnerKeyFunc ownerKey) {
  informer.addHandler([this, ownerKey = std::move(ownerKey)](Informer::EventType type, const json& o) {
    if (auto owner = ownerKey(o)) {
      queue_.add(*owner, type == Informer::EventType::kDeleted ? WorkQueue::Priority::kHigh : WorkQueue::Priority::kLow);
    }
  });
}

void Controller::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopped_) return;
  started_ = true;
  for (int w = 0; w < options_.workers; ++w) workers_.emplace_back([this] { runWorker(); });
}

void Controller::stop() {
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    workers.swap(workers_);
  }
  queue_.shutdown();
  for (auto& t : workers) t.join();
}

void Controller::runWorker() {
  std::string key;
  WorkQueue::Clock::duration waited{};
  while (queue_.get(&key, &waited)) {
    if (options_.onDequeued) options_.onDequeued(secondsOf(waited));
    process(key);
    queue_.done(key);
  }
}

void Controller::process(const std::string& key) {
  auto start = std::chrono::steady_clock::now();
  Reconciler::Result r = reconcileKey(key);
  if (options_.onReconciled) options_.onReconciled(secondsOf(std::chrono::steady_clock::now() - start), r.ok);
  if (r.ok) {
    queue_.forget(key);
    if (r.requeueAfter) queue_.addAfter(key, *r.requeueAfter);
  } else {
    log::warn("reconcile {} failed (retry {}): {}", key, queue_.failures(key) + 1, r.error);
    queue_.addRateLimited(key);
  }
}

Reconciler::Result Controller::reconcileKey(const std::string& key) {
  auto slash = key.find('/');
  std::string ns = key.substr(0, slash), name = key.substr(slash + 1);
  try {
    return reconciler_.reconcile(ns, name);
  } catch (const std::exception& e) {
    return {false, std::string("unexpected error: ") + e.what(), std::nullopt};
  }
}

}  // namespace flink::k8s
