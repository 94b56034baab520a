// Observes the job of an application cluster through its JobManager's REST API (Flink's REST
// API v1: GET /jobs/overview, GET /config), as the Apache operator's observer does: it only
// records what it saw and never acts. One HTTP client per JobManager address, kept between
// reconciles (never a new client per reconcile), with short timeouts so that an unreachable
// JobManager costs a reconcile at most ~2 s.
// Thread-safe: reconciles of different FlinkDeployments may observe at the same time (one key
// is never reconciled twice at once, so one address is never used by two threads).
#pragma once

#include <httplib.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace flink::k8s {

/// What the JobManager reports of its job (the first job of /jobs/overview: an application
/// cluster runs one).
struct ObservedJob {
  std::string jobId;
  std::string name;
  std::string state;        // Flink's JobStatus: RUNNING, FINISHED, FAILED, CANCELED, RESTARTING...
  int64_t startTimeMs = 0;  // ms since the epoch
  std::string flinkVersion;
  std::string flinkRevision;
};

class JobObserver {
 public:
  /// nullopt when the JobManager does not answer, answers an error, or lists no job.
  std::optional<ObservedJob> observe(const std::string& host, int port);

 private:
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<httplib::Client>> clients_;  // "host:port"; guarded by mu_
};

}  // namespace flink::k8s
