// The FlinkSessionJob reconciler (flink.apache.org/v1beta1, the Apache Flink Kubernetes
// Operator's resource of that name): a job run on the session cluster of the FlinkDeployment
// spec.deploymentName (same namespace, no spec.job), through its JobManager's jar API (Flink's
// REST API: GET /jars, POST /jars/upload, POST /jars/{jarid}/run, GET /jobs/{id},
// PATCH /jobs/{id}?mode=cancel, POST /jobs/{id}/stop).
//
// spec.job.jarURI: builtin://<name> runs a library compiled into the runtime image (listed by the
// JobManager under the id builtin_<name>); local:///path and file:///path are read from the
// operator's file system and http(s):// URLs downloaded by the operator (at most
// kMaxArtifactBytes), then uploaded as "<uid>-<file name>", so each session job's library is
// found again (and deleted with it).
//
// Level-triggered, each decision written to status before it is carried out (status as a
// write-ahead log), as the Apache operator's session job reconciler:
//  - deploy: a new job id (32 hex) and lastReconciledSpec are recorded (lifecycleState DEPLOYED,
//    jobStatus.state RECONCILING); the next rounds submit it under that id until the JobManager
//    knows it (a crash between the two never runs the job twice);
//  - observe: jobStatus.state from GET /jobs/{id}; RUNNING makes the lifecycle STABLE (and
//    lastStableSpec), FAILED makes it FAILED with the root exception in status.error;
//  - a spec change or job.state suspended first stops the job as spec.job.upgradeMode says
//    (stateless: cancel; savepoint and last-state: stop-with-savepoint under a trigger id
//    recorded first, the savepoint going to jobStatus.upgradeSavepointPath), records
//    lastReconciledSpec with job.state suspended (lifecycle UPGRADING or SUSPENDED), then
//    deploys the new spec from that savepoint (savepoint and last-state) or from scratch;
//  - spec.job.savepointTriggerNonce (changed): a savepoint of the running job under a trigger id
//    recorded first (triggerType MANUAL); the nonce is recorded in lastReconciledSpec, so a
//    failed one is not retried; completed savepoints go to savepointInfo.lastSavepoint and
//    savepointHistory (its newest 10 kept in the list, the files left on storage);
//  - deletion (finalizer flinksessionjobs.flink.apache.org/finalizer): cancels the job and
//    deletes the uploaded library; a session cluster that is gone or unreachable never keeps
//    the resource (a Warning event says what was left).
// The resource gets an owner reference to its session FlinkDeployment (deleted with it; the
// cluster's deletion itself waits while session jobs exist, see FlinkDeploymentController and
// kubernetes.operator.session.deletion.block-on-session-jobs).
// Invalid specs (webhook/admission.h validateFlinkSessionJob) end in status.error and a Warning
// event. Thread-safe as FlinkDeploymentController (one key never twice at once).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "config/operator_config_store.h"
#include "controller/event_recorder.h"
#include "controller/flink_deployment_controller.h"
#include "controller/jobmanager_client.h"
#include "k8s/client.h"
#include "k8s/informer.h"

namespace flink::k8s {

/// The id under which a session JobManager at `at` holds the library of `jarURI`: builtin://<name>
/// is listed as builtin_<name>; any other URI is read (local://, file://, a path) or downloaded
/// (http(s)://, at most `maxBytes`) here and uploaded as `uploadName` unless a jar of that name
/// is there already. Errors name spec.job.jarURI or the JobManager's reason.
Result<std::string> sessionJarId(JobManagerClient& jobs, const RestAddress& at, const std::string& jarURI,
                                 const std::string& uploadName, size_t maxBytes);

/// The body of POST /jars/{jarid}/run (Flink's JarRunRequestBody) for a FlinkSessionJob's
/// spec.job (entryClass, args as programArgsList, parallelism, allowNonRestoredState) and
/// spec.flinkConfiguration (`sessionJobSpec` is the resource's spec), under `jobId`, restoring
/// `savepointPath` unless empty.
nlohmann::json sessionRunRequest(const nlohmann::json& sessionJobSpec, const std::string& jobId,
                                 const std::string& savepointPath);

class FlinkSessionJobController {
 public:
  static constexpr const char* kFinalizer = "flinksessionjobs.flink.apache.org/finalizer";
  static constexpr size_t kMaxArtifactBytes = 512u << 20;

  /// `sessionJobs` and `flinkDeployments` watch the same namespace(s); both must outlive this.
  FlinkSessionJobController(std::shared_ptr<KubeApi> client, Informer* sessionJobs, Informer* flinkDeployments,
                            std::shared_ptr<OperatorConfigStore> configs);

  ReconcileResult reconcile(const std::string& ns, const std::string& name);

 private:
  struct Session {
    RestAddress address;
    std::string savepointDir;  // state.savepoints.dir of the session job, else of the cluster
    std::chrono::milliseconds observeInterval{10000};
  };
  /// The session cluster of `job`, ready to take jobs, or why not.
  Result<Session> findSession(const nlohmann::json& job) const;
  /// The JobManager's id of the job's library, uploading it first when needed.
  Result<std::string> ensureJar(const Session& s, const nlohmann::json& job);
  /// Submits the recorded job (jobStatus.jobId) unless the JobManager knows it already.
  Status submit(const Session& s, const nlohmann::json& job, const nlohmann::json& status);
  ReconcileResult reconcileDeletion(const nlohmann::json& job);

  std::shared_ptr<KubeApi> client_;
  Informer* sessionJobs_;
  Informer* flinkDeployments_;
  std::shared_ptr<OperatorConfigStore> configs_;
  EventRecorder events_;
  JobManagerClient jobs_;
};

}  // namespace flink::k8s
