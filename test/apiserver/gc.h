// Garbage collection by metadata.ownerReferences, as the kube-controller-manager's garbage
// collector does it, but synchronously: when an object is deleted its dependents are deleted
// too (recursively) unless another owner of theirs still exists, in which case only the
// reference to the deleted owner is removed; with propagationPolicy=Orphan the references are
// removed and the dependents kept. A periodic sweep also deletes objects whose owners never
// existed or vanished, and runs other deferred work (finishing namespace deletion).
#pragma once

#include "storage.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace kta {

struct GcHooks {
  /// Deletes a dependent (with the usual finalizer handling; may recurse into the collector).
  std::function<void(Store::Txn&, const ObjectRef&)> deleteObject;
  /// Removes the ownerReferences naming `ownerUid` from the object.
  std::function<void(Store::Txn&, const ObjectRef&, const std::string& ownerUid)> dropOwnerRef;
};

/// Handles the dependents of the just-deleted owner `ownerUid`.
void collectDependents(Store::Txn& txn, const std::string& ownerUid, bool orphan, const GcHooks& hooks);
/// Deletes objects none of whose owners exist.
void collectDangling(Store::Txn& txn, const GcHooks& hooks);

/// Runs `task` every `interval` on its own thread until stop().
class PeriodicTask {
 public:
  PeriodicTask(std::function<void()> task, std::chrono::milliseconds interval);
  ~PeriodicTask();
  void stop();

 private:
  std::function<void()> task_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace kta
