#include "gc.h"

namespace kta {

namespace {

std::vector<std::string> ownerUidsOf(const json& obj) {
  std::vector<std::string> out;
  const auto& m = obj.value("metadata", json::object());
  for (const auto& r : m.value("ownerReferences", json::array()))
    if (r.is_object() && r.contains("uid") && r["uid"].is_string()) out.push_back(r["uid"]);
  return out;
}

}  // namespace

void collectDependents(Store::Txn& txn, const std::string& ownerUid, bool orphan, const GcHooks& hooks) {
  for (const ObjectRef& ref : txn.dependentsOf(ownerUid)) {
    ObjPtr obj = txn.get(ref.resource, ref.ns, ref.name);
    if (!obj) continue;
    bool otherOwnerAlive = false;
    for (const auto& uid : ownerUidsOf(*obj))
      if (uid != ownerUid && txn.findUid(uid)) otherOwnerAlive = true;
    if (orphan || otherOwnerAlive) hooks.dropOwnerRef(txn, ref, ownerUid);
    else hooks.deleteObject(txn, ref);
  }
}

void collectDangling(Store::Txn& txn, const GcHooks& hooks) {
  for (const auto& uid : txn.danglingOwners()) {
    for (const ObjectRef& ref : txn.dependentsOf(uid)) {
      ObjPtr obj = txn.get(ref.resource, ref.ns, ref.name);
      if (!obj) continue;
      bool anyAlive = false;
      for (const auto& u : ownerUidsOf(*obj))
        if (txn.findUid(u)) anyAlive = true;
      if (anyAlive) hooks.dropOwnerRef(txn, ref, uid);
      else if (!obj->value("metadata", json::object()).contains("deletionTimestamp")) hooks.deleteObject(txn, ref);
    }
  }
}

PeriodicTask::PeriodicTask(std::function<void()> task, std::chrono::milliseconds interval)
    : task_(std::move(task)), interval_(interval), thread_([this] {
        std::unique_lock lk(mu_);
        while (!stop_) {
          if (cv_.wait_for(lk, interval_, [this] { return stop_; })) break;
          lk.unlock();
          task_();
          lk.lock();
        }
      }) {}

PeriodicTask::~PeriodicTask() { stop(); }

void PeriodicTask::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace kta
