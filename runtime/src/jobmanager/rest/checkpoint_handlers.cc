#include "jobmanager/rest/checkpoint_handlers.h"

#include <algorithm>

#include "checkpoint/coordinator.h"
#include "jobmanager/rest/rest_common.h"

namespace flink {
namespace {

using namespace rest;

json checkpointJson(const CheckpointStats& s) {
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
            {"tasks", json::object()}};
  if (s.status == "COMPLETED") {
    j["external_path"] = s.externalPath;
    j["discarded"] = false;
  } else if (s.status == "FAILED") {
    j["failure_timestamp"] = s.triggerTimestampMs + s.durationMs;
    j["failure_message"] = s.failureMessage;
  }
  return j;
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

json checkpointingStatistics(const JobMaster& jm) {
  const auto* cc = jm.checkpointCoordinator();
  json history = json::array();
  std::vector<int64_t> durations, sizes;
  json latest = {{"completed", nullptr}, {"savepoint", nullptr}, {"failed", nullptr}, {"restored", nullptr}};
  int64_t completed = 0, failed = 0, inProgress = 0;
  if (cc) {
    for (const auto& s : cc->history()) {
      history.push_back(checkpointJson(s));
      if (s.status == "COMPLETED") {
        durations.push_back(s.durationMs);
        sizes.push_back(s.stateSize);
      }
    }
    if (auto s = cc->latestCompletedStats()) latest["completed"] = checkpointJson(*s);
    if (auto s = cc->latestSavepointStats()) latest["savepoint"] = checkpointJson(*s);
    if (auto s = cc->latestFailedStats()) latest["failed"] = checkpointJson(*s);
    completed = cc->numCompleted();
    failed = cc->numFailed();
    inProgress = cc->numInProgress();
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
                        if (s.id == cid) return checkpointJson(s);
                      }
                      return std::nullopt;
                    });
  });
}

}  // namespace flink
