// What run-local shows of a job, from the JobManager's REST API on loopback: the progress line
// while it runs and the summary when it ended. Not thread-safe (one runner thread).
#pragma once

#include <httplib.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>

#include "flink/common/tls.h"
#include <string>

namespace flink {

/// A client of the JobManager's REST API at 127.0.0.1:port (2 s connect, 10 s read timeout);
/// https with `tls` (security.ssl.rest.enabled), which must outlive it.
class JobRestClient {
 public:
  explicit JobRestClient(int port, std::shared_ptr<const tls::TlsContext> tls = nullptr);
  /// GET path: the JSON body of a 200 response; nullopt on any error or other status.
  std::optional<nlohmann::json> get(const std::string& path);
  /// Sum over the vertex's subtasks of each metric in names (comma separated): metric -> sum;
  /// empty on error.
  std::map<std::string, double> vertexMetrics(const std::string& job, const std::string& vertex,
                                              const std::string& names);
  /// PATCH /jobs/JOB?mode=cancel, ignoring the outcome.
  void cancel(const std::string& job);

 private:
  int port_;
  std::shared_ptr<const tls::TlsContext> tls_;
  std::unique_ptr<httplib::ClientImpl> client_;
};

/// The progress line: "  [STATE] N records read (P% of the input), S s", redrawn in place on a
/// terminal, else printed at most every 2 s.
class ProgressLine {
 public:
  using Clock = std::chrono::steady_clock;
  ProgressLine(bool tty, Clock::time_point started) : tty_(tty), started_(started), lastLine_(Clock::now()) {}
  /// Shows the source vertex's progress, read from the REST API.
  void show(JobRestClient& rest, const std::string& job, const std::string& sourceVertex, const std::string& state);

 private:
  bool tty_;
  Clock::time_point started_;
  Clock::time_point lastLine_;
};

/// The end of a run, as the summary reports it.
struct JobSummary {
  std::string name;
  std::string jobId;
  std::string state;  // FINISHED, FAILED or CANCELED
  double recordsIn = 0, badRecords = 0, lateRecords = 0, recordsOut = 0, windowsFired = 0;
  std::string completedCheckpoints, failedCheckpoints, restarts;  // as the REST API reports them
  std::string output;      // the job's "output" user-config ("" = none)
  std::string cause;       // root exception unless FINISHED
  double wallSeconds = 0;  // since the cluster was started
  std::string peakRss;     // ProcessGroup::peakRssSummary()
  std::string logDir;
};

/// Reads the counters of an ended job (details: GET /jobs/JOB; sourceVertex: the vertex whose
/// records-in count as the job's input). Leaves wallSeconds, peakRss and logDir to the caller.
JobSummary collectJobSummary(JobRestClient& rest, const std::string& jobId, const std::string& sourceVertex,
                             nlohmann::json& details);

/// Prints the summary ("Job NAME (ID) STATE", "  records in: N", ...) on stdout.
void printJobSummary(const JobSummary& summary);

}  // namespace flink
