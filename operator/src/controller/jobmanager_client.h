// The operator's client of a JobManager's REST API (Flink's REST API v1, rest_v1_dispatcher.yml):
// it observes the job (GET /jobs/overview, /config, /jobs/{id}/checkpoints) and acts on it
// (POST /jobs/{id}/stop and /jobs/{id}/savepoints, GET /jobs/{id}/savepoints/{triggerid}), as the
// Apache operator's FlinkService does. One HTTP client per JobManager address, kept between
// reconciles (never a new client per reconcile), with short timeouts so that an unreachable
// JobManager costs a reconcile at most ~2 s per call; no call waits for a savepoint to finish
// (triggers return the trigger id, the reconciler polls it on later reconciles).
// Thread-safe: reconciles of different FlinkDeployments may call it at the same time (one key is
// never reconciled twice at once, so one address is never used by two threads).
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flink/common/tls.h"
#include "flink/status.h"

namespace flink::k8s {

/// A JobManager's REST address; with `tls` (security.ssl.rest.enabled) the client speaks https
/// and presents tls's certificate.
struct RestAddress {
  std::string host;
  int port = 0;
  std::shared_ptr<const tls::TlsContext> tls;
};

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

/// The newest completed checkpoint of a job (GET /jobs/{id}/checkpoints, latest.completed).
struct ObservedCheckpoint {
  int64_t id = 0;
  int64_t timestampMs = 0;  // trigger time, ms since the epoch
  std::string externalPath;
  bool savepoint = false;
  std::string type;  // checkpoint_type: CHECKPOINT, SAVEPOINT, or SYNC_SAVEPOINT (the job stopped after it)
};

/// What the health check (kubernetes.operator.cluster.health-check.*) samples of a job:
/// GET /jobs/{id}/metrics?get=numRestarts and GET /jobs/{id}/checkpoints (counts.completed).
struct JobHealthSample {
  int64_t numRestarts = 0;           // restarts since this JobManager started the job
  int64_t completedCheckpoints = 0;  // checkpoints completed since then
};

/// The state of an asynchronous savepoint or checkpoint operation
/// (GET /jobs/{id}/savepoints/{triggerid}, GET /jobs/{id}/checkpoints/{triggerid}).
struct SavepointOperationStatus {
  enum class State { kInProgress, kCompleted, kFailed, kUnknownTrigger } state = State::kInProgress;
  std::string location;      // kCompleted savepoint: its path (file://...)
  int64_t checkpointId = 0;  // kCompleted checkpoint: its id
  std::string failure;       // kFailed: Flink's failure cause
};

class JobManagerClient {
 public:
  /// nullopt when the JobManager does not answer, answers an error, or lists no job.
  std::optional<ObservedJob> observe(const RestAddress& at);
  /// GET /jobs/{id}/exceptions: the root exception, nullopt when unreachable or there is none.
  std::optional<std::string> rootException(const RestAddress& at, const std::string& jobId);
  /// nullopt when unreachable or no checkpoint completed yet.
  std::optional<ObservedCheckpoint> latestCheckpoint(const RestAddress& at, const std::string& jobId);
  /// nullopt when unreachable or either answer is malformed.
  std::optional<JobHealthSample> healthSample(const RestAddress& at, const std::string& jobId);
  /// PATCH /jobs/{id}?mode=cancel: ok once the JobManager accepted it (202); the job reaches
  /// CANCELED shortly after (observe() tells). The error names the JobManager's reason.
  Status cancel(const RestAddress& at, const std::string& jobId);
  /// POST /jobs/{id}/stop {targetDirectory, drain: false} (stop = true: the job ends once the
  /// savepoint completes) or POST /jobs/{id}/savepoints {target-directory, cancel-job: false},
  /// with the caller's `triggerId` (32 hex digits, recorded in status before the call, so that
  /// a repeated call after a crash is idempotent: the JobManager returns the operation it
  /// already started). OK, or the error names the JobManager's reason (e.g. the job not RUNNING).
  Status triggerSavepoint(const RestAddress& at, const std::string& jobId, const std::string& targetDir, bool stop,
                          const std::string& triggerId);
  /// POST /jobs/{id}/checkpoints {checkpointType: FULL, triggerId}, idempotent as triggerSavepoint.
  Status triggerCheckpoint(const RestAddress& at, const std::string& jobId, const std::string& triggerId);
  /// GET /jobs/{id}/savepoints/{triggerid} (savepoint) or /jobs/{id}/checkpoints/{triggerid};
  /// kUnknownTrigger on 404. Error when the JobManager cannot be reached.
  Result<SavepointOperationStatus> operationStatus(const RestAddress& at, const std::string& jobId,
                                                   const std::string& triggerId, bool savepoint);
  Result<SavepointOperationStatus> savepointStatus(const RestAddress& at, const std::string& jobId,
                                                   const std::string& triggerId) {
    return operationStatus(at, jobId, triggerId, true);
  }
  Result<SavepointOperationStatus> checkpointStatus(const RestAddress& at, const std::string& jobId,
                                                    const std::string& triggerId) {
    return operationStatus(at, jobId, triggerId, false);
  }

  /// POST /savepoint-disposal {savepoint-path}, then GET /savepoint-disposal/{triggerid} once:
  /// ok when the JobManager removed it; the error names its reason (e.g. not a savepoint).
  Status disposeSavepoint(const RestAddress& at, const std::string& path);

  // ---- session clusters: Flink's jar API (POST /jars/upload, GET /jars, /jars/{id}/run) ----

  /// GET /jobs/{id}: the job's state (Flink's JobStatus); nullopt as the value when the
  /// JobManager does not know the job (404); an error when it cannot be reached.
  Result<std::optional<std::string>> jobState(const RestAddress& at, const std::string& jobId);
  /// GET /jars: (id, name) of each library the JobManager holds. Error when unreachable.
  Result<std::vector<std::pair<std::string, std::string>>> listJars(const RestAddress& at);
  /// POST /jars/upload (multipart, field jarfile, as Flink's CLI sends it): the new jar id (the
  /// basename of the answer's "filename"). The error names the JobManager's reason.
  Result<std::string> uploadJar(const RestAddress& at, const std::string& fileName, const std::string& bytes);
  /// POST /jars/{jarid}/run with `body` (entryClass, programArgsList, parallelism, jobId,
  /// savepointPath, allowNonRestoredState, flinkConfiguration): the job id it answers.
  Result<std::string> runJar(const RestAddress& at, const std::string& jarId, const nlohmann::json& body);
  /// DELETE /jars/{jarid}; a jar that is gone already is fine.
  Status deleteJar(const RestAddress& at, const std::string& jarId);

  /// Forgets the connection to `at` (a JobManager that went away).
  void forget(const RestAddress& at);

 private:
  httplib::ClientImpl& client(const RestAddress& at);
  /// A new client for `at` (http, or https with at.tls) with the given timeouts (s).
  static std::unique_ptr<httplib::ClientImpl> newClient(const RestAddress& at, int connectS, int readWriteS);

  struct Cached {
    std::shared_ptr<const tls::TlsContext> tls;  // outlives the client's SSL context
    std::unique_ptr<httplib::ClientImpl> client;
  };
  std::mutex mu_;
  std::map<std::string, Cached> clients_;  // "host:port" (+ the TLS context); guarded by mu_
};

}  // namespace flink::k8s
