// ResourceManager: the registry of TaskManagers and their slots, with heartbeat monitoring.
// Lives on the JobManager's main thread (not thread-safe).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/connection.h"

namespace flink {

struct SlotRef {
  std::string taskManagerId;
  int index = 0;
};

struct TaskManagerRecord {
  std::string id;  // ResourceID, 32 hex
  std::string host;
  int dataPort = 0;
  int pid = 0;
  std::vector<std::string> slotOwner;  // job id per slot, "" when free
  std::shared_ptr<net::Connection> conn;
  std::chrono::steady_clock::time_point lastHeartbeat;
  int64_t registeredAtMs = 0;
  nlohmann::json hardware;
  nlohmann::json metrics = nlohmann::json::object();  // the process's last reported metrics, by name
  int freeSlots() const;
};

/// Most slots a TaskManager may announce (its message comes over the network).
inline constexpr int kMaxSlotsPerTaskManager = 1 << 16;

class ResourceManager {
 public:
  /// Registers (or re-registers) a TaskManager from its "register" message. Throws (a
  /// nlohmann::json or std::out_of_range exception) when a field is missing, of the wrong type
  /// or out of range; nothing is registered then.
  void registerTaskManager(std::shared_ptr<net::Connection> conn, const nlohmann::json& msg);
  void heartbeat(const std::string& id);
  /// Records the process metrics of a TaskManager's "metrics" message (also a heartbeat).
  void reportMetrics(const std::string& id, const nlohmann::json& process);
  /// Removes a TaskManager; returns false if unknown.
  bool unregister(const std::string& id);
  /// TaskManagers whose last heartbeat is older than timeoutMs.
  std::vector<std::string> expired(std::chrono::steady_clock::time_point now, int64_t timeoutMs) const;
  /// Allocates n slots to a job, spread evenly over TaskManagers; nullopt if not enough free.
  std::optional<std::vector<SlotRef>> allocateSlots(const std::string& jobId, int n);
  void releaseSlots(const std::string& jobId);

  const TaskManagerRecord* find(const std::string& id) const;
  const std::map<std::string, TaskManagerRecord>& taskManagers() const { return tms_; }
  int totalSlots() const;
  int freeSlots() const;

 private:
  std::map<std::string, TaskManagerRecord> tms_;
};

}  // namespace flink
