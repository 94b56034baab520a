#include "jobmanager/rest_handlers.h"

#include "checkpoint/coordinator.h"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <set>
#include <sstream>

namespace flink {
namespace {

using nlohmann::json;

constexpr const char* kFlinkVersion = "1.19.0";  // REST API level we answer as
constexpr const char* kRevision = "flink-cpp-" FLINK_CPP_VERSION;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void notFound(httplib::Response& res, const std::string& what) {
  reply(res, 404, {{"errors", {what}}});
}

json statusCounts(const JobMaster& jm, bool lowerCase) {
  static const ExecutionState kAll[] = {ExecutionState::kCreated,   ExecutionState::kScheduled,
                                        ExecutionState::kDeploying, ExecutionState::kInitializing,
                                        ExecutionState::kRunning,   ExecutionState::kFinished,
                                        ExecutionState::kCanceling, ExecutionState::kCanceled,
                                        ExecutionState::kFailed};
  json counts = json::object();
  int total = 0;
  for (auto s : kAll) {
    std::string name = toString(s);
    if (lowerCase) std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    counts[name] = 0;
  }
  counts[lowerCase ? "reconciling" : "RECONCILING"] = 0;
  for (const auto& ejv : jm.vertices()) {
    std::string name = toString(ejv.aggregateState());
    if (lowerCase) std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    counts[name] = counts[name].get<int>() + 1;
    ++total;
  }
  if (lowerCase) counts["total"] = total;
  return counts;
}

int64_t duration(int64_t start, int64_t end, int64_t now) {
  if (start <= 0) return -1;
  return (end > 0 ? end : now) - start;
}

json jobOverview(const JobMaster& jm, int64_t now) {
  return {{"jid", jm.jobId()},
          {"name", jm.name()},
          {"state", toString(jm.status())},
          {"start-time", jm.startTimeMs()},
          {"end-time", jm.endTimeMs()},
          {"duration", duration(jm.startTimeMs(), jm.endTimeMs(), now)},
          {"last-modification", std::max(jm.startTimeMs(), jm.endTimeMs())},
          {"tasks", statusCounts(jm, true)}};
}

json ioMetrics(const ExecutionJobVertex& ejv) {
  bool source = ejv.vertex->isSource();
  bool sink = ejv.vertex->isSink();
  auto i64 = [](double v) { return static_cast<int64_t>(v); };
  return {{"read-bytes", i64(ejv.metricSum("numBytesIn"))},
          {"read-bytes-complete", true},
          {"write-bytes", i64(ejv.metricSum("numBytesOut"))},
          {"write-bytes-complete", true},
          {"read-records", source ? 0 : i64(ejv.metricSum("numRecordsIn"))},
          {"read-records-complete", true},
          {"write-records", sink ? 0 : i64(ejv.metricSum("numRecordsOut"))},
          {"write-records-complete", true},
          {"accumulated-backpressured-time", 0},
          {"accumulated-idle-time", 0},
          {"accumulated-busy-time", 0.0}};
}

json plan(const JobMaster& jm) {
  json nodes = json::array();
  if (const JobGraph* jg = jm.jobGraph()) {
    for (const auto& v : jg->vertices) {
      json node = {{"id", v.id}, {"parallelism", v.parallelism}, {"operator", ""}, {"operator_strategy", ""},
                   {"description", v.name}};
      if (!v.isSource()) {
        json inputs = json::array();
        for (size_t num = 0; num < v.inputs.size(); ++num) {
          const JobEdge& e = jg->edges[v.inputs[num]];
          const char* ship = e.partitioning == Partitioning::kHash ? "HASH"
                             : e.partitioning == Partitioning::kRebalance ? "REBALANCE" : "FORWARD";
          inputs.push_back({{"num", num}, {"id", jg->vertices[e.sourceVertex].id}, {"ship_strategy", ship},
                            {"exchange", "pipelined_bounded"}});
        }
        node["inputs"] = inputs;
      }
      nodes.push_back(node);
    }
  }
  return {{"jid", jm.jobId()}, {"name", jm.name()}, {"type", "STREAMING"}, {"nodes", nodes}};
}

json jobDetails(const JobMaster& jm, int64_t now) {
  json vertices = json::array();
  for (const auto& ejv : jm.vertices()) {
    int64_t start = -1, end = -1;
    bool allEnded = true;
    for (const auto& ev : ejv.subtasks) {
      if (ev.startTimeMs > 0 && (start < 0 || ev.startTimeMs < start)) start = ev.startTimeMs;
      if (ev.endTimeMs > end) end = ev.endTimeMs;
      allEnded = allEnded && ev.endTimeMs > 0;
    }
    if (!allEnded) end = -1;
    json tasks = json::object();
    for (auto s : {ExecutionState::kCreated, ExecutionState::kScheduled, ExecutionState::kDeploying,
                   ExecutionState::kInitializing, ExecutionState::kRunning, ExecutionState::kFinished,
                   ExecutionState::kCanceling, ExecutionState::kCanceled, ExecutionState::kFailed}) {
      tasks[toString(s)] = 0;
    }
    tasks["RECONCILING"] = 0;
    for (const auto& ev : ejv.subtasks) tasks[toString(ev.state)] = tasks[toString(ev.state)].get<int>() + 1;
    vertices.push_back({{"id", ejv.vertex->id},
                        {"name", ejv.vertex->name},
                        {"maxParallelism", ejv.vertex->maxParallelism},
                        {"parallelism", ejv.vertex->parallelism},
                        {"status", toString(ejv.aggregateState())},
                        {"start-time", start},
                        {"end-time", end},
                        {"duration", duration(start, end, now)},
                        {"tasks", tasks},
                        {"metrics", ioMetrics(ejv)}});
  }
  json timestamps = json::object();
  for (auto s : {JobStatus::kInitializing, JobStatus::kCreated, JobStatus::kRunning, JobStatus::kFailing,
                 JobStatus::kFailed, JobStatus::kCancelling, JobStatus::kCanceled, JobStatus::kFinished}) {
    timestamps[toString(s)] = jm.stateTimestamp(s);
  }
  for (const char* s : {"RESTARTING", "SUSPENDED", "RECONCILING"}) timestamps[s] = 0;
  int64_t maxP = 0;
  if (const JobGraph* jg = jm.jobGraph()) {
    for (const auto& v : jg->vertices) maxP = std::max<int64_t>(maxP, v.maxParallelism);
  }
  json counts = statusCounts(jm, false);
  return {{"jid", jm.jobId()},
          {"name", jm.name()},
          {"isStoppable", jm.status() == JobStatus::kRunning},
          {"state", toString(jm.status())},
          {"start-time", jm.startTimeMs()},
          {"end-time", jm.endTimeMs()},
          {"duration", duration(jm.startTimeMs(), jm.endTimeMs(), now)},
          {"maxParallelism", maxP},
          {"now", now},
          {"timestamps", timestamps},
          {"vertices", vertices},
          {"status-counts", counts},
          {"plan", plan(jm)}};
}

std::vector<std::string> splitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

const ExecutionJobVertex* findVertex(const JobMaster& jm, const std::string& id) {
  for (const auto& ejv : jm.vertices()) {
    if (ejv.vertex->id == id) return &ejv;
  }
  return nullptr;
}

// Metric names a vertex has (those reported by its subtasks).
std::vector<std::string> metricNames(const ExecutionJobVertex& ejv) {
  std::set<std::string> names;
  for (const auto& ev : ejv.subtasks) {
    for (const auto& [k, v] : ev.metrics.items()) names.insert(k);
  }
  return {names.begin(), names.end()};
}

std::map<std::string, int64_t> jobMetrics(const JobMaster& jm) {
  std::map<std::string, int64_t> m;
  m["numRestarts"] = jm.numRestarts();
  m["uptime"] = jm.status() == JobStatus::kRunning ? nowMs() - jm.startTimeMs() : 0;
  if (const auto* cc = jm.checkpointCoordinator()) {
    m["numberOfCompletedCheckpoints"] = cc->numCompleted();
    m["numberOfFailedCheckpoints"] = cc->numFailed();
    m["numberOfInProgressCheckpoints"] = cc->numInProgress();
    m["totalNumberOfCheckpoints"] = cc->numCompleted() + cc->numFailed() + cc->numInProgress();
    auto last = cc->latestCompletedStats();
    m["lastCheckpointDuration"] = last ? last->durationMs : 0;
    m["lastCheckpointSize"] = last ? last->stateSize : 0;
    m["lastCheckpointFullSize"] = last ? last->stateSize : 0;
  }
  return m;
}

json checkpointJson(const CheckpointStats& s) {
  json j = {{"className", s.status == "COMPLETED" ? "completed" : s.status == "FAILED" ? "failed" : "in_progress"},
            {"id", s.id},
            {"status", s.status},
            {"is_savepoint", s.savepoint},
            {"savepointFormat", s.savepoint ? json("CANONICAL") : json()},
            {"checkpoint_type", s.savepoint ? "SAVEPOINT" : "CHECKPOINT"},
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

void registerRestHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox) {
  using Req = httplib::Request;
  using Res = httplib::Response;

  server.Get("/config", [&](const Req&, Res& res) {
    json features = {{"web-submit", false}, {"web-cancel", true}, {"web-rescale", false}, {"web-history", false}};
    reply(res, 200, {{"refresh-interval", 3000}, {"timezone-name", "Coordinated Universal Time"},
                     {"timezone-offset", 0}, {"flink-version", kFlinkVersion}, {"flink-revision", kRevision},
                     {"features", features}});
  });

  server.Get("/overview", [&](const Req&, Res& res) {
    reply(res, 200, mailbox.call([&] {
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
    }));
  });

  server.Get("/jobs", [&](const Req&, Res& res) {
    reply(res, 200, mailbox.call([&] {
      json jobs = json::array();
      for (const JobMaster* jm : view.jobs()) jobs.push_back({{"id", jm->jobId()}, {"status", toString(jm->status())}});
      return json{{"jobs", jobs}};
    }));
  });

  server.Get("/jobs/overview", [&](const Req&, Res& res) {
    reply(res, 200, mailbox.call([&] {
      json jobs = json::array();
      int64_t now = nowMs();
      for (const JobMaster* jm : view.jobs()) jobs.push_back(jobOverview(*jm, now));
      return json{{"jobs", jobs}};
    }));
  });

  server.Get(R"(/jobs/([0-9a-f]{32}))", [&](const Req& req, Res& res) {
    std::string id = req.matches[1];
    auto body = mailbox.call([&]() -> std::optional<json> {
      const JobMaster* jm = view.job(id);
      if (!jm) return std::nullopt;
      return jobDetails(*jm, nowMs());
    });
    body ? reply(res, 200, *body) : notFound(res, "Job " + id + " not found");
  });

  server.Patch(R"(/jobs/([0-9a-f]{32}))", [&](const Req& req, Res& res) {
    std::string id = req.matches[1];
    std::string mode = req.has_param("mode") ? req.get_param_value("mode") : "cancel";
    if (mode != "cancel") return reply(res, 400, {{"errors", {"mode '" + mode + "' is not supported; use 'cancel'"}}});
    bool found = mailbox.call([&] { return view.cancelJob(id); });
    found ? reply(res, 202, json::object()) : notFound(res, "Job " + id + " not found");
  });

  server.Get(R"(/jobs/([0-9a-f]{32})/config)", [&](const Req& req, Res& res) {
    std::string id = req.matches[1];
    auto body = mailbox.call([&]() -> std::optional<json> {
      const JobMaster* jm = view.job(id);
      if (!jm) return std::nullopt;
      json user = json::object();
      for (const auto& [k, v] : jm->userConfig()) user[k] = v;
      auto p = jm->submission().config.getInt(options::kParallelismDefault, 1);
      return json{{"jid", jm->jobId()},
                  {"name", jm->name()},
                  {"execution-config",
                   {{"execution-mode", "PIPELINED"},
                    {"restart-strategy", jm->restartStrategyDescription()},
                    {"job-parallelism", p.ok() ? *p : 1},
                    {"object-reuse-mode", false},
                    {"user-config", user}}}};
    });
    body ? reply(res, 200, *body) : notFound(res, "Job " + id + " not found");
  });

  server.Get(R"(/jobs/([0-9a-f]{32})/plan)", [&](const Req& req, Res& res) {
    std::string id = req.matches[1];
    auto body = mailbox.call([&]() -> std::optional<json> {
      const JobMaster* jm = view.job(id);
      if (!jm) return std::nullopt;
      return json{{"plan", plan(*jm)}};
    });
    body ? reply(res, 200, *body) : notFound(res, "Job " + id + " not found");
  });

  server.Get(R"(/jobs/([0-9a-f]{32})/exceptions)", [&](const Req& req, Res& res) {
    std::string id = req.matches[1];
    auto body = mailbox.call([&]() -> std::optional<json> {
      const JobMaster* jm = view.job(id);
      if (!jm) return std::nullopt;
      json history = json::array();
      json all = json::array();
      for (auto it = jm->exceptions().rbegin(); it != jm->exceptions().rend(); ++it) {
        json e = {{"exceptionName", "org.apache.flink.runtime.JobException"},
                  {"stacktrace", it->message},
                  {"timestamp", it->timestampMs},
                  {"taskName", it->taskName.empty() ? json() : json(it->taskName)},
                  {"location", it->endpoint.empty() ? json() : json(it->endpoint)},
                  {"failureLabels", json::object()}};
        all.push_back({{"exception", it->message}, {"task", it->taskName}, {"location", it->endpoint},
                       {"timestamp", it->timestampMs}});
        e["concurrentExceptions"] = json::array();
        history.push_back(e);
      }
      json body = {{"all-exceptions", all}, {"truncated", false}};
      if (!jm->rootCause().empty()) {
        body["root-exception"] = jm->rootCause();
        body["timestamp"] = jm->rootCauseTimeMs();
      }
      body["exceptionHistory"] = {{"entries", history}, {"truncated", false}};
      return body;
    });
    body ? reply(res, 200, *body) : notFound(res, "Job " + id + " not found");
  });

  // Job-level metrics, e.g. ?get=numberOfCompletedCheckpoints,numRestarts.
  server.Get(R"(/jobs/([0-9a-f]{32})/metrics)", [&](const Req& req, Res& res) {
    std::string id = req.matches[1];
    std::string get = req.has_param("get") ? req.get_param_value("get") : "";
    auto body = mailbox.call([&]() -> std::optional<json> {
      const JobMaster* jm = view.job(id);
      if (!jm) return std::nullopt;
      auto metrics = jobMetrics(*jm);
      json out = json::array();
      if (get.empty()) {
        for (const auto& [k, v] : metrics) out.push_back({{"id", k}});
      } else {
        for (const auto& n : splitComma(get)) {
          auto it = metrics.find(n);
          if (it != metrics.end()) out.push_back({{"id", n}, {"value", std::to_string(it->second)}});
        }
      }
      return out;
    });
    body ? reply(res, 200, *body) : notFound(res, "Job " + id + " not found");
  });

  server.Get(R"(/jobs/([0-9a-f]{32})/checkpoints)", [&](const Req& req, Res& res) {
    std::string id = req.matches[1];
    auto body = mailbox.call([&]() -> std::optional<json> {
      const JobMaster* jm = view.job(id);
      if (!jm) return std::nullopt;
      return checkpointingStatistics(*jm);
    });
    body ? reply(res, 200, *body) : notFound(res, "Job " + id + " not found");
  });

  server.Get(R"(/jobs/([0-9a-f]{32})/checkpoints/details/(\d+))", [&](const Req& req, Res& res) {
    std::string id = req.matches[1];
    int64_t cid = std::stoll(req.matches[2]);
    auto body = mailbox.call([&]() -> std::optional<json> {
      const JobMaster* jm = view.job(id);
      if (!jm || !jm->checkpointCoordinator()) return std::nullopt;
      for (const auto& s : jm->checkpointCoordinator()->history()) {
        if (s.id == cid) return checkpointJson(s);
      }
      return std::nullopt;
    });
    body ? reply(res, 200, *body) : notFound(res, "Checkpoint " + std::to_string(cid) + " of job " + id + " not found");
  });

  auto triggerSavepoint = [&](const Req& req, Res& res, bool stop) {
    std::string id = req.matches[1];
    json request = json::object();
    if (!req.body.empty()) {
      try {
        request = json::parse(req.body);
      } catch (const std::exception& e) {
        return reply(res, 400, {{"errors", {std::string("request body is not valid JSON: ") + e.what()}}});
      }
    }
    std::string target = request.value(stop ? "targetDirectory" : "target-directory", std::string());
    bool cancelJob = request.value("cancel-job", false);
    bool drain = request.value("drain", false);
    auto result = mailbox.call([&]() -> std::optional<Result<std::string>> {
      JobMaster* jm = view.mutableJob(id);
      if (!jm) return std::nullopt;
      return jm->triggerSavepoint(target, cancelJob, stop, drain);
    });
    if (!result) return notFound(res, "Job " + id + " not found");
    if (!result->ok()) return reply(res, 409, {{"errors", {result->status().message()}}});
    reply(res, 202, {{"request-id", result->value()}});
  };
  server.Post(R"(/jobs/([0-9a-f]{32})/savepoints)", [triggerSavepoint](const Req& req, Res& res) { triggerSavepoint(req, res, false); });
  server.Post(R"(/jobs/([0-9a-f]{32})/stop)", [triggerSavepoint](const Req& req, Res& res) { triggerSavepoint(req, res, true); });

  server.Get(R"(/jobs/([0-9a-f]{32})/savepoints/([0-9a-f]{32}))", [&](const Req& req, Res& res) {
    std::string id = req.matches[1], trigger = req.matches[2];
    auto body = mailbox.call([&]() -> std::optional<json> {
      const JobMaster* jm = view.job(id);
      const SavepointOperation* op = jm ? jm->savepointOperation(trigger) : nullptr;
      if (!op) return std::nullopt;
      if (!op->done) return json{{"status", {{"id", "IN_PROGRESS"}}}};
      json operation = op->failure.empty()
                           ? json{{"location", "file://" + op->location}}
                           : json{{"failure-cause", {{"class", "org.apache.flink.runtime.checkpoint.CheckpointException"},
                                                     {"stack-trace", op->failure},
                                                     {"serialized-throwable", op->failure}}}};
      return json{{"status", {{"id", "COMPLETED"}}}, {"operation", operation}};
    });
    body ? reply(res, 200, *body) : notFound(res, "Savepoint trigger " + trigger + " of job " + id + " not found");
  });

  // GET /jobs/{jobid}/vertices/{vertexid}/metrics[?get=a,b]: values summed over subtasks.
  server.Get(R"(/jobs/([0-9a-f]{32})/vertices/([0-9a-f]{32})/metrics)", [&](const Req& req, Res& res) {
    std::string id = req.matches[1], vid = req.matches[2];
    std::string get = req.has_param("get") ? req.get_param_value("get") : "";
    auto body = mailbox.call([&]() -> std::optional<json> {
      const JobMaster* jm = view.job(id);
      const ExecutionJobVertex* ejv = jm ? findVertex(*jm, vid) : nullptr;
      if (!ejv) return std::nullopt;
      json out = json::array();
      if (get.empty()) {
        for (const auto& n : metricNames(*ejv)) out.push_back({{"id", n}});
      } else {
        for (const auto& n : splitComma(get)) {
          out.push_back({{"id", n}, {"value", fmt::format("{}", static_cast<int64_t>(ejv->metricSum(n)))}});
        }
      }
      return out;
    });
    body ? reply(res, 200, *body) : notFound(res, "Job " + id + " or vertex " + vid + " not found");
  });

  // GET /jobs/{jobid}/vertices/{vertexid}/subtasks/metrics?get=a,b: min/max/avg/sum.
  server.Get(R"(/jobs/([0-9a-f]{32})/vertices/([0-9a-f]{32})/subtasks/metrics)", [&](const Req& req, Res& res) {
    std::string id = req.matches[1], vid = req.matches[2];
    std::string get = req.has_param("get") ? req.get_param_value("get") : "";
    auto body = mailbox.call([&]() -> std::optional<json> {
      const JobMaster* jm = view.job(id);
      const ExecutionJobVertex* ejv = jm ? findVertex(*jm, vid) : nullptr;
      if (!ejv) return std::nullopt;
      json out = json::array();
      std::vector<std::string> names = get.empty() ? metricNames(*ejv) : splitComma(get);
      for (const auto& n : names) {
        if (get.empty()) {
          out.push_back({{"id", n}});
          continue;
        }
        double mn = 0, mx = 0, sum = 0;
        int count = 0;
        for (const auto& ev : ejv->subtasks) {
          auto it = ev.metrics.find(n);
          if (it == ev.metrics.end() || !it->is_number()) continue;
          double v = it->get<double>();
          mn = count ? std::min(mn, v) : v;
          mx = count ? std::max(mx, v) : v;
          sum += v;
          ++count;
        }
        if (count) out.push_back({{"id", n}, {"min", mn}, {"max", mx}, {"avg", sum / count}, {"sum", sum}});
      }
      return out;
    });
    body ? reply(res, 200, *body) : notFound(res, "Job " + id + " or vertex " + vid + " not found");
  });

  server.Get("/taskmanagers", [&](const Req&, Res& res) {
    reply(res, 200, mailbox.call([&] {
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
    }));
  });

  server.set_error_handler([](const Req& req, Res& res) {
    if (res.status == 404 && res.body.empty()) {
      reply(res, 404, {{"errors", {"Not found: " + req.path}}});
    }
  });
}

}  // namespace flink
