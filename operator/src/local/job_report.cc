#include "local/job_report.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

namespace flink {
namespace {

using nlohmann::json;

std::string human(double v) {
  char buf[64];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2f M", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1f K", v / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  }
  return buf;
}

// Ids of the vertices that feed another one (the others are the job's sinks).
std::set<std::string> inputVertices(json& details) {
  std::set<std::string> inputs;
  for (const auto& n : details["plan"]["nodes"]) {
    if (n.contains("inputs")) {
      for (const auto& i : n["inputs"]) inputs.insert(i.value("id", ""));
    }
  }
  return inputs;
}

void collectVertexCounters(JobRestClient& rest, const std::string& jobId, const std::string& sourceVertex,
                           json& details, JobSummary& s) {
  if (details["vertices"].empty()) return;
  std::set<std::string> inputs = inputVertices(details);
  for (const auto& v : details["vertices"]) {
    std::string vid = v.value("id", "");
    auto m = rest.vertexMetrics(jobId, vid,
                                "numRecordsIn,numRecordsOut,numRecordsDropped,numFiredWindows,numLateRecordsDropped");
    if (vid == sourceVertex) s.recordsIn += m["numRecordsIn"] + m["numRecordsDropped"];
    if (!inputs.count(vid)) s.recordsOut += m["numRecordsOut"];
    s.badRecords += m["numRecordsDropped"];
    s.windowsFired += m["numFiredWindows"];
    s.lateRecords += m["numLateRecordsDropped"];
  }
}

}  // namespace

JobRestClient::JobRestClient(int port, std::shared_ptr<const tls::TlsContext> tls)
    : port_(port), tls_(std::move(tls)), client_(tls::newHttpClient("127.0.0.1", port, tls_.get())) {
  client_->set_connection_timeout(2, 0);
  client_->set_read_timeout(10, 0);
}

std::optional<json> JobRestClient::get(const std::string& path) {
  auto res = client_->Get(path.c_str());
  if (!res || res->status != 200) return std::nullopt;
  try {
    return json::parse(res->body);
  } catch (...) {
    return std::nullopt;
  }
}

std::map<std::string, double> JobRestClient::vertexMetrics(const std::string& job, const std::string& vertex,
                                                           const std::string& names) {
  std::map<std::string, double> out;
  auto body = get("/jobs/" + job + "/vertices/" + vertex + "/subtasks/metrics?get=" + names + "&agg=sum");
  if (!body || !body->is_array()) return out;
  for (const auto& m : *body) out[m.at("id").get<std::string>()] = m.value("sum", 0.0);
  return out;
}

void JobRestClient::cancel(const std::string& job) {
  client_->Patch(("/jobs/" + job + "?mode=cancel").c_str());
}

void ProgressLine::show(JobRestClient& rest, const std::string& job, const std::string& sourceVertex,
                        const std::string& state) {
  auto m = rest.vertexMetrics(job, sourceVertex, "numRecordsIn,numRecordsDropped,sourceBytesRead,sourceBytesTotal");
  double read = m["numRecordsIn"] + m["numRecordsDropped"];
  double share = m["sourceBytesTotal"] > 0 ? 100.0 * m["sourceBytesRead"] / m["sourceBytesTotal"] : 0;
  double secs = std::chrono::duration<double>(Clock::now() - started_).count();
  char line[200];
  std::snprintf(line, sizeof(line), "  [%s] %s records read (%.0f%% of the input), %.1f s", state.c_str(),
                human(read).c_str(), share, secs);
  if (tty_) {
    std::cout << "\r" << line << "   " << std::flush;
  } else if (Clock::now() - lastLine_ > std::chrono::seconds(2)) {
    std::cout << line << "\n" << std::flush;
    lastLine_ = Clock::now();
  }
}

JobSummary collectJobSummary(JobRestClient& rest, const std::string& jobId, const std::string& sourceVertex,
                             json& details) {
  JobSummary s;
  s.jobId = jobId;
  s.state = details.value("state", "");
  collectVertexCounters(rest, jobId, sourceVertex, details, s);
  std::map<std::string, std::string> jobMetrics;
  if (auto m = rest.get("/jobs/" + jobId + "/metrics?get=numberOfCompletedCheckpoints,numberOfFailedCheckpoints,numRestarts")) {
    for (const auto& e : *m) jobMetrics[e.value("id", "")] = e.value("value", "0");
  }
  s.completedCheckpoints = jobMetrics["numberOfCompletedCheckpoints"];
  s.failedCheckpoints = jobMetrics["numberOfFailedCheckpoints"];
  s.restarts = jobMetrics["numRestarts"];
  if (auto c = rest.get("/jobs/" + jobId + "/config")) {
    s.output = (*c)["execution-config"]["user-config"].value("output", "");
  }
  if (s.state != "FINISHED") {
    if (auto e = rest.get("/jobs/" + jobId + "/exceptions")) s.cause = e->value("root-exception", "");
  }
  s.name = details.value("name", "");
  return s;
}

void printJobSummary(const JobSummary& s) {
  std::cout << "Job " << s.name << " (" << s.jobId << ") " << s.state << "\n"
            << "  records in: " << static_cast<uint64_t>(s.recordsIn)
            << (s.restarts != "0" ? " (since the last restore)" : "") << "\n"
            << "  bad records: " << static_cast<uint64_t>(s.badRecords) << "\n"
            << "  late records: " << static_cast<uint64_t>(s.lateRecords) << "\n"
            << "  records out: " << static_cast<uint64_t>(s.recordsOut) << "\n"
            << "  windows fired: " << static_cast<uint64_t>(s.windowsFired) << "\n"
            << "  checkpoints: " << s.completedCheckpoints << " completed, " << s.failedCheckpoints << " failed\n"
            << "  restarts: " << s.restarts << "\n";
  char wallLine[128];
  std::snprintf(wallLine, sizeof(wallLine), "  wall time: %.2f s (%s records/s)\n", s.wallSeconds,
                human(s.wallSeconds > 0 ? s.recordsIn / s.wallSeconds : 0).c_str());
  std::cout << wallLine << "  peak RSS: " << s.peakRss << "\n";
  if (!s.output.empty()) {
    std::cout << "  output: " << std::filesystem::absolute(s.output).lexically_normal().string() << "/part-*\n";
  }
  std::cout << "  logs: " << s.logDir << "\n" << std::flush;
}

}  // namespace flink

