#include "jobmanager/rest/checkpoint_handlers.h"

#include <algorithm>
#include <map>
#include <vector>

#include "checkpoint/coordinator.h"
#include "jobmanager/rest/rest_common.h"

namespace flink {
namespace {

using namespace rest;

// The acknowledgements of vertex `vertex` (index in the JobGraph) in `s`.
std::vector<const SubtaskCheckpointAck*> acksOf(const CheckpointStats& s, int vertex) {
  std::vector<const SubtaskCheckpointAck*> out;
  for (const auto& a : s.acks) {
    if (a.vertex == vertex) out.push_back(&a);
  }
  return out;
}

// Flink's TaskCheckpointStatistics of vertex `index` of `graph` in checkpoint `s`.
json taskCheckpointJson(const CheckpointStats& s, const JobGraph& graph, int index) {
  int64_t size = 0, latestAck = 0;
  auto acks = acksOf(s, index);
  for (const auto* a : acks) {
    size += a->stateSize;
    latestAck = std::max(latestAck, a->ackTimestampMs);
  }
  int subtasks = graph.vertices.at(static_cast<size_t>(index)).parallelism;
  std::string status = static_cast<int>(acks.size()) == subtasks ? "COMPLETED" : s.status;
  return {{"id", s.id},
          {"status", status},
          {"latest_ack_timestamp", latestAck},
          {"checkpointed_size", size},
          {"state_size", size},
          {"end_to_end_duration", latestAck > 0 ? latestAck - s.triggerTimestampMs : 0},
          {"alignment_buffered", 0},
          {"processed_data", 0},
          {"persisted_data", 0},
          {"num_subtasks", subtasks},
          {"num_acknowledged_subtasks", static_cast<int>(acks.size())}};
}

json statsSummary(const std::vector<int64_t>& values) {
  if (values.empty()) {
    return {{"min", 0}, {"max", 0}, {"avg", 0}, {"p50", 0.0}, {"p90", 0.0}, {"p95", 0.0}, {"p99", 0.0}, {"p999", 0.0}};
  }
  std::vector<int64_t> v = values;
  std::sort(v.begin(), v.end());
  auto q = [&](double p) { return static_cast<double>(v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))]); };
  int64_t sum = 0;
  for (auto x : v) sum += x;
  return {{"min", v.front()}, {"max", v.back()}, {"avg", sum / static_cast<int64_t>(v.size())},
          {"p50", q(0.5)},    {"p90", q(0.9)},   {"p95", q(0.95)},
          {"p99", q(0.99)},   {"p999", q(0.999)}};
}

// Flink's TaskCheckpointStatisticsWithSubtaskDetails.Summary: min/max/avg/percentiles over the
// subtasks that acknowledged.
json subtaskSummary(const CheckpointStats& s, const std::vector<const SubtaskCheckpointAck*>& acks) {
  auto over = [&](auto field) {
    std::vector<int64_t> v;
    for (const auto* a : acks) v.push_back(field(*a));
    return statsSummary(v);
  };
  json size = over([](const SubtaskCheckpointAck& a) { return a.stateSize; });
  json zero = statsSummary({});
  return {{"checkpointed_size", size},
          {"state_size", size},
          {"end_to_end_duration", over([&](const SubtaskCheckpointAck& a) { return a.ackTimestampMs - s.triggerTimestampMs; })},
          {"checkpoint_duration", {{"sync", over([](const SubtaskCheckpointAck& a) { return a.syncDurationMs; })},
                                   {"async", over([](const SubtaskCheckpointAck& a) { return a.asyncDurationMs; })}}},
          {"alignment", {{"buffered", zero}, {"processed", zero}, {"persisted", zero},
                         {"duration", over([](const SubtaskCheckpointAck& a) { return a.alignmentDurationMs; })}}},
          {"start_delay", over([](const SubtaskCheckpointAck& a) { return a.startDelayMs; })}};
}

// Flink's TaskCheckpointStatisticsWithSubtaskDetails: per subtask its acknowledgement, if any.
json subtaskCheckpointDetails(const CheckpointStats& s, const JobGraph& graph, int index) {
  json details = taskCheckpointJson(s, graph, index);
  std::map<int, const SubtaskCheckpointAck*> bySubtask;
  for (const auto* a : acksOf(s, index)) bySubtask[a->subtask] = a;
  json subtasks = json::array();
  for (int i = 0; i < graph.vertices.at(static_cast<size_t>(index)).parallelism; ++i) {
    auto it = bySubtask.find(i);
    if (it == bySubtask.end()) {
      subtasks.push_back({{"className", "pending"}, {"index", i}, {"status", "pending_or_failed"}});
      continue;
    }
    const SubtaskCheckpointAck& a = *it->second;
    subtasks.push_back({{"className", "completed"},
                        {"index", i},
                        {"status", "completed"},
                        {"ack_timestamp", a.ackTimestampMs},
                        {"end_to_end_duration", a.ackTimestampMs - s.triggerTimestampMs},
                        {"checkpointed_size", a.stateSize},
                        {"state_size", a.stateSize},
                        {"checkpoint", {{"sync", a.syncDurationMs}, {"async", a.asyncDurationMs}}},
                        {"alignment", {{"buffered", 0}, {"processed", 0}, {"persisted", 0}, {"duration", a.alignmentDurationMs}}},
                        {"start_delay", a.startDelayMs},
                        {"unaligned_checkpoint", false},
                        {"aborted", false}});
  }
  details["subtasks"] = subtasks;
  details["summary"] = subtaskSummary(s, acksOf(s, index));
  return details;
}

json checkpointJson(const CheckpointStats& s, const JobGraph* graph) {
  json tasks = json::object();
  if (graph) {
    for (size_t i = 0; i < graph->vertices.size(); ++i) {
      tasks[graph->vertices[i].id] = taskCheckpointJson(s, *graph, static_cast<int>(i));
    }
  }
  json j = {{"className", s.status == "COMPLETED" ? "completed" : s.status == "FAILED" ? "failed" : "in_progress"},
            {"id", s.id},
            {"status", s.status},
            {"is_savepoint", s.savepoint},
            {"savepointFormat", s.savepoint ? json("CANONICAL") : json()},
            {"checkpoint_type", s.synchronous ? "SYNC_SAVEPOINT" : s.savepoint ? "SAVEPOINT" : "CHECKPOINT"},
            {"trigger_timestamp", s.triggerTimestampMs},
            {"latest_ack_timestamp", s.latestAckTimestampMs},
            {"checkpointed_size", s.stateSize},
            {"state_size", s.stateSize},
            {"end_to_end_duration", s.durationMs},
            {"alignment_buffered", 0},
            {"processed_data", 0},
            {"persisted_data", 0},
            {"num_subtasks", s.numSubtasks},
            {"num_acknowledged_subtasks", s.numAcknowledged},
            {"tasks", tasks}};
  if (s.status == "COMPLETED") {
    j["external_path"] = s.externalPath;
    j["discarded"] = false;
  } else if (s.status == "FAILED") {
    j["failure_timestamp"] = s.triggerTimestampMs + s.durationMs;
    j["failure_message"] = s.failureMessage;
  }
  return j;
}

json checkpointingStatistics(const JobMaster& jm) {
  const auto* cc = jm.checkpointCoordinator();
  json history = json::array();
  std::vector<int64_t> durations, sizes;
  json latest = {{"completed", nullptr}, {"savepoint", nullptr}, {"failed", nullptr}, {"restored", nullptr}};
  int64_t completed = 0, failed = 0, inProgress = 0;
  if (cc) {
    for (const auto& s : cc->history()) {
      history.push_back(checkpointJson(s, jm.jobGraph()));
      if (s.status == "COMPLETED") {
        durations.push_back(s.durationMs);
        sizes.push_back(s.stateSize);
      }
    }
    if (auto s = cc->latestCompletedStats()) latest["completed"] = checkpointJson(*s, jm.jobGraph());
    if (auto s = cc->latestSavepointStats()) latest["savepoint"] = checkpointJson(*s, jm.jobGraph());
    if (auto s = cc->latestFailedStats()) latest["failed"] = checkpointJson(*s, jm.jobGraph());
    completed = cc->numCompleted();
    failed = cc->numFailed();
    inProgress = cc->numInProgress();
  }
  if (const auto& r = jm.lastRestore()) {
    latest["restored"] = {{"id", r->checkpointId}, {"restore_timestamp", r->restoreTimestampMs},
                          {"is_savepoint", r->savepoint}, {"external_path", r->externalPath}};
  }
  json zero = statsSummary({});
  return {{"counts", {{"restored", jm.numRestarts()}, {"total", completed + failed + inProgress}, {"in_progress", inProgress},
                      {"completed", completed}, {"failed", failed}}},
          {"summary", {{"checkpointed_size", statsSummary(sizes)}, {"state_size", statsSummary(sizes)},
                       {"end_to_end_duration", statsSummary(durations)}, {"alignment_buffered", zero},
                       {"processed_data", zero}, {"persisted_data", zero}}},
          {"latest", latest},
          {"history", history}};
}

}  // namespace

void registerCheckpointHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox) {
  server.Get(R"(/jobs/([0-9a-f]{32})/checkpoints)", [&](const Req& req, Res& res) {
    replyForJob(res, view, mailbox, req.matches[1], checkpointingStatistics);
  });

  registerJsonBodyHandler(server, "POST", R"(/jobs/([0-9a-f]{32})/checkpoints)", maxContentLength(view),
                          [&](const Req& req, Res& res, const Body& body) {
                            const std::vector<std::string> types = {"CONFIGURED", "FULL", "INCREMENTAL"};
                            if (!checkFields(body, {{"checkpointType", FieldType::kString, types}, {"triggerId", FieldType::kString}}, res) ||
                                !checkTriggerId(body, res)) {
                              return;
                            }
                            std::string id = req.matches[1];
                            auto result = mailbox.call([&]() -> std::optional<Result<std::string>> {
                              JobMaster* jm = view.mutableJob(id);
                              if (!jm) return std::nullopt;
                              return jm->triggerCheckpoint(body.value("triggerId", std::string()));
                            });
                            if (!result) return notFound(res, "Job " + id + " not found");
                            if (!result->ok()) return reply(res, 409, {{"errors", {result->status().message()}}});
                            reply(res, 202, {{"request-id", result->value()}});
                          });

  server.Get(R"(/jobs/([0-9a-f]{32})/checkpoints/([0-9a-f]{32}))", [&](const Req& req, Res& res) {
    std::string id = req.matches[1], trigger = req.matches[2];
    replyOrNotFound(res, mailbox, "Checkpoint trigger " + trigger + " of job " + id + " not found",
                    [&]() -> std::optional<json> {
                      const JobMaster* jm = view.job(id);
                      const CheckpointOperation* op = jm ? jm->checkpointOperation(trigger) : nullptr;
                      if (!op) return std::nullopt;
                      if (!op->done) return json{{"status", {{"id", "IN_PROGRESS"}}}};
                      json operation = op->failure.empty()
                                           ? json{{"checkpointId", op->checkpointId}}
                                           : json{{"failureCause", {{"class", "org.apache.flink.runtime.checkpoint.CheckpointException"},
                                                                    {"stack-trace", op->failure},
                                                                    {"serialized-throwable", op->failure}}}};
                      return json{{"status", {{"id", "COMPLETED"}}}, {"operation", operation}};
                    });
  });

  server.Get(R"(/jobs/([0-9a-f]{32})/checkpoints/details/(\d+))", [&](const Req& req, Res& res) {
    std::string id = req.matches[1];
    int64_t cid = std::stoll(req.matches[2]);
    replyOrNotFound(res, mailbox, "Checkpoint " + std::to_string(cid) + " of job " + id + " not found",
                    [&]() -> std::optional<json> {
                      const JobMaster* jm = view.job(id);
                      if (!jm || !jm->checkpointCoordinator()) return std::nullopt;
                      for (const auto& s : jm->checkpointCoordinator()->history()) {
                        if (s.id == cid) return checkpointJson(s, jm->jobGraph());
                      }
                      return std::nullopt;
                    });
  });

  server.Get(R"(/jobs/([0-9a-f]{32})/checkpoints/details/(\d+)/subtasks/([0-9a-f]{32}))", [&](const Req& req, Res& res) {
    std::string id = req.matches[1], vid = req.matches[3];
    int64_t cid = std::stoll(req.matches[2]);
    replyOrNotFound(res, mailbox, "Checkpoint " + std::to_string(cid) + " or vertex " + vid + " of job " + id + " not found",
                    [&]() -> std::optional<json> {
                      const JobMaster* jm = view.job(id);
                      const JobGraph* graph = jm ? jm->jobGraph() : nullptr;
                      if (!graph || !jm->checkpointCoordinator()) return std::nullopt;
                      for (size_t i = 0; i < graph->vertices.size(); ++i) {
                        if (graph->vertices[i].id != vid) continue;
                        for (const auto& s : jm->checkpointCoordinator()->history()) {
                          if (s.id == cid) return subtaskCheckpointDetails(s, *graph, static_cast<int>(i));
                        }
                      }
                      return std::nullopt;
                    });
  });
}

}  // namespace flink
