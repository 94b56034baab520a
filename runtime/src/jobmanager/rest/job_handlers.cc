#include "jobmanager/rest/job_handlers.h"

#include <algorithm>
#include <cctype>

#include "jobmanager/rest/rest_common.h"

namespace flink {
namespace {

using namespace rest;

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

// Flink's IOMetricsInfo from counters read by `get` (summed over a vertex, or of one subtask).
template <class Get>
json ioMetrics(Get get, bool source, bool sink) {
  auto i64 = [&](const char* name) { return static_cast<int64_t>(get(name)); };
  return {{"read-bytes", i64("numBytesIn")},
          {"read-bytes-complete", true},
          {"write-bytes", i64("numBytesOut")},
          {"write-bytes-complete", true},
          {"read-records", source ? 0 : i64("numRecordsIn")},
          {"read-records-complete", true},
          {"write-records", sink ? 0 : i64("numRecordsOut")},
          {"write-records-complete", true},
          {"accumulated-backpressured-time", i64("backPressuredTimeMs")},
          {"accumulated-idle-time", i64("idleTimeMs")},
          {"accumulated-busy-time", 0.0}};
}

json ioMetrics(const ExecutionJobVertex& ejv) {
  return ioMetrics([&](const char* n) { return ejv.metricSum(n); }, ejv.vertex->isSource(), ejv.vertex->isSink());
}

double subtaskMetric(const ExecutionVertex& ev, const char* name) {
  auto it = ev.metrics.find(name);
  return it != ev.metrics.end() && it->is_number() ? it->get<double>() : 0.0;
}

// Flink's JobVertexDetailsInfo: the vertex and the current attempt of each of its subtasks.
json vertexSubtasks(const ExecutionJobVertex& ejv, int64_t now) {
  json subtasks = json::array();
  for (const auto& ev : ejv.subtasks) {
    json metrics = ioMetrics([&](const char* n) { return subtaskMetric(ev, n); }, ejv.vertex->isSource(),
                             ejv.vertex->isSink());
    subtasks.push_back({{"subtask", ev.subtask},
                        {"status", toString(ev.state)},
                        {"attempt", ev.attempt},
                        {"host", ev.host.empty() ? "(unassigned)" : ev.host},
                        {"taskmanager-id", ev.slot.taskManagerId.empty() ? "(unassigned)" : ev.slot.taskManagerId},
                        {"start-time", ev.startTimeMs},
                        {"end-time", ev.endTimeMs},
                        {"duration", duration(ev.startTimeMs, ev.endTimeMs, now)},
                        {"metrics", metrics},
                        {"status-duration", json::object()}});
  }
  return {{"id", ejv.vertex->id},
          {"name", ejv.vertex->name},
          {"parallelism", ejv.vertex->parallelism},
          {"maxParallelism", ejv.vertex->maxParallelism},
          {"now", now},
          {"subtasks", subtasks}};
}

// Flink's back pressure level of a ratio of time back-pressured (its thresholds: 10 % and 50 %).
const char* backPressureLevel(double ratio) { return ratio <= 0.10 ? "ok" : ratio <= 0.5 ? "low" : "high"; }

// Flink's JobVertexBackPressureInfo from the subtasks' time per second back-pressured, idle and
// busy over the TaskManagers' last one-second sample.
json vertexBackPressure(const ExecutionJobVertex& ejv, int64_t now) {
  json subtasks = json::array();
  double worst = 0;
  for (const auto& ev : ejv.subtasks) {
    double ratio = subtaskMetric(ev, "backPressuredTimeMsPerSecond") / 1000.0;
    worst = std::max(worst, ratio);
    subtasks.push_back({{"subtask", ev.subtask},
                        {"attempt-number", ev.attempt},
                        {"backpressureLevel", backPressureLevel(ratio)},
                        {"ratio", ratio},
                        {"idleRatio", subtaskMetric(ev, "idleTimeMsPerSecond") / 1000.0},
                        {"busyRatio", subtaskMetric(ev, "busyTimeMsPerSecond") / 1000.0}});
  }
  return {{"status", "ok"}, {"backpressureLevel", backPressureLevel(worst)}, {"end-timestamp", now}, {"subtasks", subtasks}};
}

json plan(const JobMaster& jm) { return planJson(jm.jobId(), jm.name(), jm.jobGraph()); }

json vertexDetails(const ExecutionJobVertex& ejv, int64_t now) {
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
  return {{"id", ejv.vertex->id},
          {"name", ejv.vertex->name},
          {"maxParallelism", ejv.vertex->maxParallelism},
          {"parallelism", ejv.vertex->parallelism},
          {"status", toString(ejv.aggregateState())},
          {"start-time", start},
          {"end-time", end},
          {"duration", duration(start, end, now)},
          {"tasks", tasks},
          {"metrics", ioMetrics(ejv)}};
}

json jobDetails(const JobMaster& jm, int64_t now) {
  json vertices = json::array();
  for (const auto& ejv : jm.vertices()) vertices.push_back(vertexDetails(ejv, now));
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

json jobConfig(const JobMaster& jm) {
  json user = json::object();
  for (const auto& [k, v] : jm.userConfig()) user[k] = v;
  auto p = jm.submission().config.getInt(options::kParallelismDefault, 1);
  return json{{"jid", jm.jobId()},
              {"name", jm.name()},
              {"execution-config",
               {{"execution-mode", "PIPELINED"},
                {"restart-strategy", jm.restartStrategyDescription()},
                {"job-parallelism", p.ok() ? *p : 1},
                {"object-reuse-mode", false},
                {"user-config", user}}}};
}

json jobExceptions(const JobMaster& jm) {
  json history = json::array();
  json all = json::array();
  for (auto it = jm.exceptions().rbegin(); it != jm.exceptions().rend(); ++it) {
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
  if (!jm.rootCause().empty()) {
    body["root-exception"] = jm.rootCause();
    body["timestamp"] = jm.rootCauseTimeMs();
  }
  body["exceptionHistory"] = {{"entries", history}, {"truncated", false}};
  return body;
}

}  // namespace

void registerJobHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox) {
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
    replyForJob(res, view, mailbox, req.matches[1], [](const JobMaster& jm) { return jobDetails(jm, nowMs()); });
  });

  // PATCH /jobs/{jobid}?mode=cancel: no body expected (one that is sent must be a JSON object).
  registerJsonBodyHandler(server, "PATCH", R"(/jobs/([0-9a-f]{32}))", maxContentLength(view),
                          [&](const Req& req, Res& res, const Body&) {
    std::string id = req.matches[1];
    std::string mode = param(req, "mode", "cancel");
    if (mode != "cancel") return reply(res, 400, {{"errors", {"mode '" + mode + "' is not supported; use 'cancel'"}}});
    bool found = mailbox.call([&] { return view.cancelJob(id); });
    found ? reply(res, 202, json::object()) : notFound(res, "Job " + id + " not found");
  });

  server.Get(R"(/jobs/([0-9a-f]{32})/config)", [&](const Req& req, Res& res) {
    replyForJob(res, view, mailbox, req.matches[1], jobConfig);
  });

  server.Get(R"(/jobs/([0-9a-f]{32})/plan)", [&](const Req& req, Res& res) {
    replyForJob(res, view, mailbox, req.matches[1], [](const JobMaster& jm) { return json{{"plan", plan(jm)}}; });
  });

  server.Get(R"(/jobs/([0-9a-f]{32})/exceptions)", [&](const Req& req, Res& res) {
    replyForJob(res, view, mailbox, req.matches[1], jobExceptions);
  });

  server.Get(R"(/jobs/([0-9a-f]{32})/vertices/([0-9a-f]{32}))", [&](const Req& req, Res& res) {
    replyForVertex(res, view, mailbox, req.matches[1], req.matches[2],
                   [](const ExecutionJobVertex& ejv) { return vertexSubtasks(ejv, nowMs()); });
  });

  server.Get(R"(/jobs/([0-9a-f]{32})/vertices/([0-9a-f]{32})/backpressure)", [&](const Req& req, Res& res) {
    replyForVertex(res, view, mailbox, req.matches[1], req.matches[2],
                   [](const ExecutionJobVertex& ejv) { return vertexBackPressure(ejv, nowMs()); });
  });
}

}  // namespace flink
