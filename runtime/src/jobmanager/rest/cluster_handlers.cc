#include "jobmanager/rest/cluster_handlers.h"

#include <fmt/format.h>

#include <chrono>

#include "flink/common/strings.h"
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

json taskManagerInfo(const TaskManagerRecord& tm, std::chrono::steady_clock::time_point now) {
  json resource = {{"cpuCores", 0.0}, {"taskHeapMemory", 0}, {"taskOffHeapMemory", 0},
                   {"managedMemory", 0}, {"networkMemory", 0}, {"extendedResources", json::object()}};
  int64_t physical = tm.hardware.value("physicalMemory", int64_t{0});
  return {{"id", tm.id},
          {"path", "tcp://" + tm.host + ":" + std::to_string(tm.dataPort)},
          {"dataPort", tm.dataPort},
          {"jmxPort", -1},
          {"timeSinceLastHeartbeat", std::chrono::duration_cast<std::chrono::milliseconds>(now - tm.lastHeartbeat).count()},
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
          {"blocked", false}};
}

json taskManagers(const JobManagerView& view) {
  json list = json::array();
  auto now = std::chrono::steady_clock::now();
  for (const auto& [id, tm] : view.resourceManager().taskManagers()) list.push_back(taskManagerInfo(tm, now));
  return json{{"taskmanagers", list}};
}

// Flink's TaskManagerDetailsInfo: the TaskManagerInfo, the job of each allocated slot, and its
// (JVM) memory metrics, which a native process does not have (zero).
json taskManagerDetails(const TaskManagerRecord& tm) {
  json details = taskManagerInfo(tm, std::chrono::steady_clock::now());
  json slots = json::array();
  for (const auto& job : tm.slotOwner) {
    if (!job.empty()) slots.push_back({{"jobId", job}, {"resource", details.at("totalResource")}});
  }
  details["allocatedSlots"] = slots;
  json metrics = json::object();
  for (const char* k : {"heapUsed", "heapCommitted", "heapMax", "nonHeapUsed", "nonHeapCommitted", "nonHeapMax",
                        "directCount", "directUsed", "directMax", "mappedCount", "mappedUsed", "mappedMax",
                        "memorySegmentsAvailable", "memorySegmentsTotal", "nettyShuffleMemorySegmentsAvailable",
                        "nettyShuffleMemorySegmentsUsed", "nettyShuffleMemorySegmentsTotal",
                        "nettyShuffleMemoryAvailable", "nettyShuffleMemoryUsed", "nettyShuffleMemoryTotal"}) {
    metrics[k] = 0;
  }
  metrics["garbageCollectors"] = json::array();
  details["metrics"] = metrics;
  return details;
}

}  // namespace

void registerClusterHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox, bool webSubmit) {
  server.Get("/config", [&, webSubmit](const Req&, Res& res) {
    // web.cancel.enable (Flink's key, default true) hides the dashboard's cancel button; the
    // REST API's PATCH /jobs/{jobid} still cancels, as the operator needs it.
    bool webCancel = mailbox.call([&] {
      auto enabled = view.config().getBool("web.cancel.enable", true);
      return !enabled.ok() || *enabled;  // a malformed value keeps Flink's default
    });
    json features = {{"web-submit", webSubmit}, {"web-cancel", webCancel}, {"web-rescale", false}, {"web-history", false}};
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

  // Flink's metric collection of a TaskManager: the ids, or {id, value} of those in ?get=.
  server.Get(R"(/taskmanagers/([^/]+)/metrics)", [&](const Req& req, Res& res) {
    std::string id = req.matches[1], get = param(req, "get");
    replyOrNotFound(res, mailbox, "TaskManager " + id + " not found", [&]() -> std::optional<json> {
      const TaskManagerRecord* tm = view.resourceManager().find(id);
      if (!tm) return std::nullopt;
      json out = json::array();
      if (get.empty()) {
        for (const auto& [name, value] : tm->metrics.items()) out.push_back({{"id", name}});
      } else {
        for (const auto& name : splitList(get)) {
          auto it = tm->metrics.find(name);
          if (it != tm->metrics.end() && it->is_number()) out.push_back({{"id", name}, {"value", fmt::format("{}", it->get<double>())}});
        }
      }
      return out;
    });
  });

  server.Get(R"(/taskmanagers/([^/]+))", [&](const Req& req, Res& res) {
    std::string id = req.matches[1];
    replyOrNotFound(res, mailbox, "TaskManager " + id + " not found", [&]() -> std::optional<json> {
      const TaskManagerRecord* tm = view.resourceManager().find(id);
      if (!tm) return std::nullopt;
      return taskManagerDetails(*tm);
    });
  });
}

}  // namespace flink
