// A local Flink cluster for one FlinkDeployment: one JobManager (`flink-cpp standalone-job`,
// application mode, or `flink-cpp jobmanager` for a session FlinkDeployment without spec.job)
// and the TaskManagers the deployment asks for, as processes of this machine
// on loopback with free ports, configured in a work directory $TMPDIR/flink-cpp-NAME-PID
// (conf/config.yaml, log/). TaskManagers are kept at the requested count as a Kubernetes
// Deployment would: supervise() replaces one that died (at most 20 times per run).
// Not thread-safe: one thread drives it.
#pragma once

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>

#include "api/flink_deployment.h"
#include "flink/common/tls.h"
#include "local/process_group.h"

namespace flink {

class LocalCluster {
 public:
  /// Why the cluster could not go on: the message, and the log that explains it ("" = none).
  struct Failure {
    std::string message;
    std::string log;
  };

  /// Picks the work directory and a random job ID; starts nothing. start() gives up waiting
  /// for the JobManager once *interrupted is set.
  LocalCluster(const k8s::FlinkDeployment& fd, const std::atomic<bool>* interrupted);
  /// Stops the processes still running (as stop()).
  ~LocalCluster() = default;

  /// Creates the work directory with conf/config.yaml: the deployment's effective
  /// configuration, bound to 127.0.0.1 with ephemeral ports, the fixed job ID and the port
  /// file. Throws std::filesystem::filesystem_error when the directory cannot be created.
  void writeConfiguration();
  /// Starts the JobManager, waits up to 30 s for the ports it reports, then starts the
  /// TaskManagers. On a Failure the processes already started keep running until stop().
  std::optional<Failure> start();
  /// Checks the processes once (never blocks): the JobManager must still run; each
  /// TaskManager that exited is announced on stdout (after a line break when breakLine) and
  /// replaced.
  std::optional<Failure> supervise(bool breakLine);
  /// Stops every process: SIGTERM, TaskManagers first, SIGKILL after 10 s. Idempotent.
  void stop() { processes_.stopAll(); }

  const std::string& jobId() const { return jobId_; }
  std::string logDir() const { return (work_ / "log").string(); }
  int taskManagers() const { return taskManagers_; }
  /// Ports the JobManager reported (valid after start()); metricsPort is -1 without metrics.
  int restPort() const { return restPort_; }
  int metricsPort() const { return metricsPort_; }
  /// The REST API's TLS client context (security.ssl.rest.* of the deployment: its own
  /// certificate as the client's); null when REST TLS is off or its files do not load (the
  /// JobManager then fails and says why). Set by writeConfiguration().
  std::shared_ptr<const tls::TlsContext> restTls() const { return restTls_; }
  /// "https" with REST TLS, else "http".
  std::string restScheme() const { return restTls_ ? "https" : "http"; }
  /// ProcessGroup::peakRssSummary() of the cluster's processes.
  std::string peakRss() const { return processes_.peakRssSummary(); }

 private:
  bool readPortFile();
  Status startTaskManager(int index, int generation);

  k8s::FlinkDeployment fd_;
  const std::atomic<bool>* interrupted_;
  std::filesystem::path work_;
  std::string jobId_;
  int taskManagers_;
  int rpcPort_ = 0, restPort_ = 0, metricsPort_ = -1;
  int replacements_ = 0;
  std::shared_ptr<const tls::TlsContext> restTls_;
  ProcessGroup processes_;  // slot 0: the JobManager; slot i + 1: TaskManager i
};

}  // namespace flink
