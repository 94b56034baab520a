#include "jobmanager/rest/metric_handlers.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "checkpoint/coordinator.h"
#include "flink/common/strings.h"
#include "jobmanager/rest/rest_common.h"

namespace flink {
namespace {

using namespace rest;

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

// Job-level metrics: their ids, or the values of those in `get`.
json jobMetricValues(const JobMaster& jm, const std::string& get) {
  auto metrics = jobMetrics(jm);
  json out = json::array();
  if (get.empty()) {
    for (const auto& [k, v] : metrics) out.push_back({{"id", k}});
  } else {
    for (const auto& n : splitList(get)) {
      auto it = metrics.find(n);
      if (it != metrics.end()) out.push_back({{"id", n}, {"value", std::to_string(it->second)}});
    }
  }
  return out;
}

// Metric names a vertex has (those reported by its subtasks).
std::vector<std::string> metricNames(const ExecutionJobVertex& ejv) {
  std::set<std::string> names;
  for (const auto& ev : ejv.subtasks) {
    for (const auto& [k, v] : ev.metrics.items()) names.insert(k);
  }
  return {names.begin(), names.end()};
}

// Vertex metrics summed over the subtasks: their ids, or the values of those in `get`.
json vertexMetricValues(const ExecutionJobVertex& ejv, const std::string& get) {
  json out = json::array();
  if (get.empty()) {
    for (const auto& n : metricNames(ejv)) out.push_back({{"id", n}});
  } else {
    for (const auto& n : splitList(get)) {
      out.push_back({{"id", n}, {"value", fmt::format("{}", static_cast<int64_t>(ejv.metricSum(n)))}});
    }
  }
  return out;
}

// Subtask metrics: their ids, or min/max/avg/sum over the subtasks of those in `get` (those
// no subtask reports as a number are left out).
json subtaskMetricAggregates(const ExecutionJobVertex& ejv, const std::string& get) {
  json out = json::array();
  std::vector<std::string> names = get.empty() ? metricNames(ejv) : splitList(get);
  for (const auto& n : names) {
    if (get.empty()) {
      out.push_back({{"id", n}});
      continue;
    }
    double mn = 0, mx = 0, sum = 0;
    int count = 0;
    for (const auto& ev : ejv.subtasks) {
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
}

}  // namespace

void registerMetricHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox) {
  // Job-level metrics, e.g. ?get=numberOfCompletedCheckpoints,numRestarts.
  server.Get(R"(/jobs/([0-9a-f]{32})/metrics)", [&](const Req& req, Res& res) {
    std::string get = param(req, "get");
    replyForJob(res, view, mailbox, req.matches[1], [&](const JobMaster& jm) { return jobMetricValues(jm, get); });
  });

  // GET /jobs/{jobid}/vertices/{vertexid}/metrics[?get=a,b]: values summed over subtasks.
  server.Get(R"(/jobs/([0-9a-f]{32})/vertices/([0-9a-f]{32})/metrics)", [&](const Req& req, Res& res) {
    std::string get = param(req, "get");
    replyForVertex(res, view, mailbox, req.matches[1], req.matches[2],
                   [&](const ExecutionJobVertex& ejv) { return vertexMetricValues(ejv, get); });
  });

  // GET /jobs/{jobid}/vertices/{vertexid}/subtasks/metrics?get=a,b: min/max/avg/sum.
  server.Get(R"(/jobs/([0-9a-f]{32})/vertices/([0-9a-f]{32})/subtasks/metrics)", [&](const Req& req, Res& res) {
    std::string get = param(req, "get");
    replyForVertex(res, view, mailbox, req.matches[1], req.matches[2],
                   [&](const ExecutionJobVertex& ejv) { return subtaskMetricAggregates(ejv, get); });
  });
}

}  // namespace flink
