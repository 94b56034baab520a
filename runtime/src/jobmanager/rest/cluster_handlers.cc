#include "jobmanager/rest/cluster_handlers.h"

#include <chrono>

#include "jobmanager/rest/rest_common.h"

namespace flink {
namespace {

using namespace rest;

json clusterOverview(const JobManagerView& view) {
  int running = 0, finished = 0, cancelled = 0, failed = 0;
  for (const JobMaster* jm : view.jobs()) {
    switch (jm->status()) {
      case JobStatus::kFinished: ++finished; break;
      case JobStatus::kCanceled: ++cancelled; break;
      case JobStatus::kFailed: ++failed; break;
      default: ++running;
    }
  }
  const auto& rm = view.resourceManager();
  return json{{"taskmanagers", static_cast<int>(rm.taskManagers().size())},
              {"taskmanagers-blocked", 0},
              {"slots-total", rm.totalSlots()},
              {"slots-available", rm.freeSlots()},
              {"slots-free-and-blocked", 0},
              {"jobs-running", running},
              {"jobs-finished", finished},
              {"jobs-cancelled", cancelled},
              {"jobs-failed", failed},
              {"flink-version", kFlinkVersion},
              {"flink-commit", kRevision}};
}

json taskManagers(const JobManagerView& view) {
  json list = json::array();
  auto now = std::chrono::steady_clock::now();
  for (const auto& [id, tm] : view.resourceManager().taskManagers()) {
    json resource = {{"cpuCores", 0.0}, {"taskHeapMemory", 0}, {"taskOffHeapMemory", 0},
                     {"managedMemory", 0}, {"networkMemory", 0}, {"extendedResources", json::object()}};
    int64_t physical = tm.hardware.value("physicalMemory", int64_t{0});
    list.push_back(
        {{"id", id},
         {"path", "tcp://" + tm.host + ":" + std::to_string(tm.dataPort)},
         {"dataPort", tm.dataPort},
         {"jmxPort", -1},
         {"timeSinceLastHeartbeat",
          std::chrono::duration_cast<std::chrono::milliseconds>(now - tm.lastHeartbeat).count()},
         {"slotsNumber", static_cast<int>(tm.slotOwner.size())},
         {"freeSlots", tm.freeSlots()},
         {"totalResource", resource},
         {"freeResource", resource},
         {"hardware",
          {{"cpuCores", tm.hardware.value("cpuCores", 1)},
           {"physicalMemory", physical},
           {"freeMemory", physical},
           {"managedMemory", 0}}},
         {"memoryConfiguration",
          {{"frameworkHeap", 0}, {"taskHeap", 0}, {"frameworkOffHeap", 0}, {"taskOffHeap", 0},
           {"networkMemory", 0}, {"managedMemory", 0}, {"jvmMetaspace", 0}, {"jvmOverhead", 0},
           {"totalFlinkMemory", 0}, {"totalProcessMemory", 0}}},
         {"blocked", false}});
  }
  return json{{"taskmanagers", list}};
}

}  // namespace

void registerClusterHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox, bool webSubmit) {
  server.Get("/config", [&, webSubmit](const Req&, Res& res) {
    json features = {{"web-submit", webSubmit}, {"web-cancel", true}, {"web-rescale", false}, {"web-history", false}};
    reply(res, 200, {{"refresh-interval", 3000}, {"timezone-name", "Coordinated Universal Time"},
                     {"timezone-offset", 0}, {"flink-version", kFlinkVersion}, {"flink-revision", kRevision},
                     {"features", features}});
  });

  server.Get("/overview", [&](const Req&, Res& res) {
    reply(res, 200, mailbox.call([&] { return clusterOverview(view); }));
  });

  server.Get("/taskmanagers", [&](const Req&, Res& res) {
    reply(res, 200, mailbox.call([&] { return taskManagers(view); }));
  });
}

}  // namespace flink
