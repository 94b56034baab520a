#include "jobmanager/resource_manager.h"

#include "flink/common/log.h"

#include <stdexcept>

namespace flink {

int TaskManagerRecord::freeSlots() const {
  int n = 0;
  for (const auto& o : slotOwner) n += o.empty() ? 1 : 0;
  return n;
}

void ResourceManager::registerTaskManager(std::shared_ptr<net::Connection> conn, const nlohmann::json& msg) {
  TaskManagerRecord r;
  r.id = msg.at("resourceId").get<std::string>();
  r.host = msg.at("host").get<std::string>();
  r.dataPort = msg.at("dataPort").get<int>();
  r.pid = msg.value("pid", 0);
  int slots = msg.at("slots").get<int>();
  if (slots < 0 || slots > kMaxSlotsPerTaskManager) {
    throw std::out_of_range("slots " + std::to_string(slots) + " out of range [0, " +
                            std::to_string(kMaxSlotsPerTaskManager) + "]");
  }
  r.slotOwner.assign(static_cast<size_t>(slots), "");
  r.conn = std::move(conn);
  r.lastHeartbeat = std::chrono::steady_clock::now();
  r.registeredAtMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  r.hardware = msg.value("hardware", nlohmann::json::object());
  log::info("Registering TaskManager {} at {} ({} slots, data port {})", r.id, r.conn->peer(), r.slotOwner.size(),
            r.dataPort);
  tms_[r.id] = std::move(r);
}

void ResourceManager::heartbeat(const std::string& id) {
  auto it = tms_.find(id);
  if (it != tms_.end()) it->second.lastHeartbeat = std::chrono::steady_clock::now();
}

void ResourceManager::reportMetrics(const std::string& id, const nlohmann::json& process) {
  auto it = tms_.find(id);
  if (it == tms_.end()) return;
  it->second.lastHeartbeat = std::chrono::steady_clock::now();
  if (process.is_object()) it->second.metrics = process;
}

bool ResourceManager::unregister(const std::string& id) { return tms_.erase(id) > 0; }

std::vector<std::string> ResourceManager::expired(std::chrono::steady_clock::time_point now, int64_t timeoutMs) const {
  std::vector<std::string> out;
  for (const auto& [id, r] : tms_) {
    if (now - r.lastHeartbeat > std::chrono::milliseconds(timeoutMs)) out.push_back(id);
  }
  return out;
}

std::optional<std::vector<SlotRef>> ResourceManager::allocateSlots(const std::string& jobId, int n) {
  if (freeSlots() < n) return std::nullopt;
  std::vector<SlotRef> out;
  // Round-robin over TaskManagers so a job spreads out (cluster.evenly-spread-out-slots).
  while (static_cast<int>(out.size()) < n) {
    for (auto& [id, r] : tms_) {
      if (static_cast<int>(out.size()) == n) break;
      for (size_t i = 0; i < r.slotOwner.size(); ++i) {
        if (r.slotOwner[i].empty()) {
          r.slotOwner[i] = jobId;
          out.push_back({id, static_cast<int>(i)});
          break;
        }
      }
    }
  }
  return out;
}

void ResourceManager::releaseSlots(const std::string& jobId) {
  for (auto& [id, r] : tms_) {
    for (auto& o : r.slotOwner) {
      if (o == jobId) o.clear();
    }
  }
}

const TaskManagerRecord* ResourceManager::find(const std::string& id) const {
  auto it = tms_.find(id);
  return it == tms_.end() ? nullptr : &it->second;
}

int ResourceManager::totalSlots() const {
  int n = 0;
  for (const auto& [id, r] : tms_) n += static_cast<int>(r.slotOwner.size());
  return n;
}

int ResourceManager::freeSlots() const {
  int n = 0;
  for (const auto& [id, r] : tms_) n += r.freeSlots();
  return n;
}

}  // namespace flink
