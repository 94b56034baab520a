#include "local/local_runner.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <thread>

#include "controller/session_job_controller.h"
#include "flink/common/ids.h"
#include "local/job_report.h"
#include "local/local_cluster.h"
#include "local/run_local_args.h"

namespace flink {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::atomic<bool> gInterrupted{false};
void onSignal(int) { gInterrupted = true; }

// Reports a failure (with the last lines of the log that explains it), stops the cluster and
// returns the exit code.
int fail(LocalCluster& cluster, const LocalCluster::Failure& failure) {
  std::cerr << "error: " << failure.message << "\n";
  if (!failure.log.empty()) std::cerr << "  last lines of " << failure.log << ":\n" << tailLines(failure.log, 15);
  cluster.stop();
  return 1;
}

void printHeader(const k8s::FlinkDeployment& fd, const LocalCluster& cluster) {
  int tms = cluster.taskManagers();
  std::cout << "Running FlinkDeployment '" << fd.name << "' locally: 1 JobManager, " << tms << " TaskManager"
            << (tms == 1 ? "" : "s") << " x " << fd.taskSlots() << " slot" << (fd.taskSlots() == 1 ? "" : "s")
            << ", parallelism " << fd.parallelism() << "\n"
            << "  logs: " << cluster.logDir() << "\n"
            << std::flush;
}

// The web dashboard beside the REST API (the JobManager serves it at /).
void printDashboard(const LocalCluster& cluster) {
  std::cout << "  Web dashboard: " << cluster.restScheme() << "://127.0.0.1:" << cluster.restPort() << "/\n";
}

void printEndpoints(const LocalCluster& cluster, const RunLocalArgs& args) {
  std::cout << "  JobManager REST API: " << cluster.restScheme() << "://127.0.0.1:" << cluster.restPort() << "  job " << cluster.jobId() << "\n";
  printDashboard(cluster);
  if (cluster.metricsPort() > 0) std::cout << "  JobManager metrics: http://127.0.0.1:" << cluster.metricsPort() << "/metrics\n";
  if (!args.fromSavepoint.empty()) std::cout << "  restoring from: " << args.fromSavepoint << "\n";
  std::cout << std::flush;
}

// The job as last seen by awaitJobEnd.
struct JobEnd {
  json details;              // GET /jobs/JOB
  std::string sourceVertex;  // the first vertex
};

// Supervises the cluster and polls the job every 200 ms until it ended (FINISHED, FAILED or
// CANCELED), showing its progress. nullopt with *exitCode when the run ended otherwise (the
// cluster is then stopped).
std::optional<JobEnd> awaitJobEnd(LocalCluster& cluster, JobRestClient& rest, ProgressLine* progress, bool tty,
                                  int* exitCode) {
  JobEnd end;
  while (true) {
    if (gInterrupted) {
      std::cout << "\ninterrupted: cancelling the job and stopping the cluster\n";
      rest.cancel(cluster.jobId());
      cluster.stop();
      *exitCode = 130;
      return std::nullopt;
    }
    if (auto failure = cluster.supervise(tty)) {
      *exitCode = fail(cluster, *failure);
      return std::nullopt;
    }
    if (auto d = rest.get("/jobs/" + cluster.jobId())) {
      end.details = *d;
      std::string state = end.details.value("state", "");
      if (end.sourceVertex.empty() && end.details.contains("vertices") && !end.details["vertices"].empty()) {
        end.sourceVertex = end.details["vertices"][0].value("id", "");
      }
      if (state == "FINISHED" || state == "FAILED" || state == "CANCELED") return end;
      if (!end.sourceVertex.empty() && progress) progress->show(rest, cluster.jobId(), end.sourceVertex, state);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// Starts the cluster, follows the job to its end, prints the summary and stops the cluster.
int runJob(LocalCluster& cluster, const k8s::FlinkDeployment& fd, const RunLocalArgs& args) {
  auto started = Clock::now();
  printHeader(fd, cluster);
  bool tty = isatty(STDOUT_FILENO) && !args.quiet;
  if (auto failure = cluster.start()) return fail(cluster, *failure);
  printEndpoints(cluster, args);

  JobRestClient rest(cluster.restPort(), cluster.restTls());
  ProgressLine progress(tty, started);
  int exitCode = 0;
  auto end = awaitJobEnd(cluster, rest, args.quiet ? nullptr : &progress, tty, &exitCode);
  if (!end) return exitCode;
  if (tty) std::cout << "\n";
  double wall = std::chrono::duration<double>(Clock::now() - started).count();

  JobSummary summary = collectJobSummary(rest, cluster.jobId(), end->sourceVertex, end->details);
  summary.wallSeconds = wall;
  summary.peakRss = cluster.peakRss();
  summary.logDir = cluster.logDir();
  cluster.stop();
  printJobSummary(summary);
  if (summary.state != "FINISHED") {
    std::cerr << "error: job " << summary.state << (summary.cause.empty() ? "" : ": " + summary.cause) << "\n";
    return 1;
  }
  return 0;
}

// A session cluster: starts it, submits each FlinkSessionJob through the JobManager's jar API
// (as the operator does), follows them all to their end, prints a summary per job.
int runSessionJobs(LocalCluster& cluster, const k8s::FlinkDeployment& fd, const std::vector<json>& sessionJobs,
                   const RunLocalArgs& args) {
  auto started = Clock::now();
  int tms = cluster.taskManagers();
  std::cout << "Running session FlinkDeployment '" << fd.name << "' locally: 1 JobManager, " << tms << " TaskManager"
            << (tms == 1 ? "" : "s") << " x " << fd.taskSlots() << " slot" << (fd.taskSlots() == 1 ? "" : "s") << ", "
            << sessionJobs.size() << " FlinkSessionJob" << (sessionJobs.size() == 1 ? "" : "s") << "\n"
            << "  logs: " << cluster.logDir() << "\n" << std::flush;
  if (auto failure = cluster.start()) return fail(cluster, *failure);
  std::cout << "  JobManager REST API: " << cluster.restScheme() << "://127.0.0.1:" << cluster.restPort() << "\n";
  printDashboard(cluster);
  k8s::JobManagerClient jobs;
  k8s::RestAddress at{"127.0.0.1", cluster.restPort(), cluster.restTls()};
  std::vector<std::pair<std::string, std::string>> submitted;  // (session job name, job id)
  for (const json& sj : sessionJobs) {
    std::string name = sj["metadata"].value("name", "");
    std::string uri = sj["spec"]["job"].value("jarURI", "");
    auto jar = k8s::sessionJarId(jobs, at, uri, name + "-" + uri.substr(uri.find_last_of('/') + 1),
                                 k8s::FlinkSessionJobController::kMaxArtifactBytes);
    std::string jobId = randomId();
    auto ran = jar.ok() ? jobs.runJar(at, *jar, k8s::sessionRunRequest(sj["spec"], jobId,
                                                                        sj["spec"]["job"].value("initialSavepointPath", "")))
                        : Result<std::string>(jar.status());
    if (!ran.ok()) {
      std::cerr << "error: FlinkSessionJob " << name << ": " << ran.status().message() << "\n";
      cluster.stop();
      return 1;
    }
    std::cout << "  FlinkSessionJob " << name << ": job " << *ran << "\n" << std::flush;
    submitted.emplace_back(name, *ran);
  }
  JobRestClient rest(cluster.restPort(), cluster.restTls());
  std::map<std::string, json> ended;  // job id -> GET /jobs/JOB at its end
  std::map<std::string, std::string> shown;
  while (ended.size() < submitted.size()) {
    if (gInterrupted) {
      std::cout << "interrupted: cancelling the jobs and stopping the cluster\n";
      for (const auto& [name, id] : submitted) rest.cancel(id);
      cluster.stop();
      return 130;
    }
    if (auto failure = cluster.supervise(false)) return fail(cluster, *failure);
    for (const auto& [name, id] : submitted) {
      if (ended.count(id)) continue;
      auto d = rest.get("/jobs/" + id);
      if (!d) continue;
      std::string state = d->value("state", "");
      if (!args.quiet && shown[id] != state) std::cout << "  " << name << " (" << id << "): " << state << "\n" << std::flush;
      shown[id] = state;
      if (state == "FINISHED" || state == "FAILED" || state == "CANCELED") ended[id] = *d;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  double wall = std::chrono::duration<double>(Clock::now() - started).count();
  int exitCode = 0;
  for (const auto& [name, id] : submitted) {
    json& d = ended[id];
    std::string source = d.contains("vertices") && !d["vertices"].empty() ? d["vertices"][0].value("id", "") : "";
    JobSummary summary = collectJobSummary(rest, id, source, d);
    summary.wallSeconds = wall;
    summary.peakRss = cluster.peakRss();
    summary.logDir = cluster.logDir();
    std::cout << "FlinkSessionJob " << name << ":\n";
    printJobSummary(summary);
    if (summary.state != "FINISHED") {
      std::cerr << "error: FlinkSessionJob " << name << ": job " << summary.state
                << (summary.cause.empty() ? "" : ": " + summary.cause) << "\n";
      exitCode = 1;
    }
  }
  cluster.stop();
  return exitCode;
}

}  // namespace

int runLocal(const std::vector<std::string>& args) {
  auto parsed = parseRunLocalArgs(args);
  if (!parsed) return 2;
  int exitCode = 0;
  std::vector<json> sessionJobs;
  auto fd = loadRunLocalDeployment(*parsed, &exitCode, &sessionJobs);
  if (!fd) return exitCode;
  LocalCluster cluster(*fd, &gInterrupted);
  cluster.writeConfiguration();
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  if (!fd->spec.job) return runSessionJobs(cluster, *fd, sessionJobs, *parsed);
  return runJob(cluster, *fd, *parsed);
}

}  // namespace flink
