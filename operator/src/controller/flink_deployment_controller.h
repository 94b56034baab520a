// The FlinkDeployment reconciler. reconcile(namespace/name) is level-triggered and idempotent,
// following the Apache operator's observe -> validate -> record status -> act, one step each:
//   1. read the FlinkDeployment from the informer cache and its typed status
//      (FlinkDeploymentStatus);
//   2. validate(): parse the spec (from the object's JSON, no text round trip) and validate it;
//      an invalid spec is reported in status.error and a Warning event, and the operator keeps
//      reconciling the last valid spec (status.reconciliationStatus.lastReconciledSpec) instead;
//   3. recordSpecDecision() + writeStatus(): write the status first when the spec to deploy
//      changed (status as a write-ahead log);
//   4. applyChildren(): create or patch the children (ConfigMap, Services, Deployments, the
//      Ingress of spec.ingress) to the desired state; a child deleted or edited by hand is
//      restored, an Ingress of ours without spec.ingress deleted; owner references let the
//      garbage collector remove them with the FlinkDeployment;
//   5. observeCluster(): report the JobManager Deployment's readiness and the lifecycle state.
// Application clusters (spec.job) run the job lifecycle of the Apache operator instead of 3-4
// (application_reconciler.cc): lastReconciledSpec is the spec the running cluster was made from;
// a spec change, a suspend or a restartNonce first stops the job as spec.job.upgradeMode says
// (stop-with-savepoint, keep the last checkpoint, or cancel), records that in lastReconciledSpec
// (job.state suspended, job.upgradeMode the mode used) and then deploys the new spec with its
// job ID and restore path, each step written to status before it is carried out.
// Reconcile returns a requeue delay or an error; the caller's error policy backs off per key.
// Thread-safe: workers may reconcile different keys concurrently (the queue never hands one
// key to two workers).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/flink_deployment_status.h"
#include "config/operator_config_store.h"
#include "controller/child_digest.h"
#include "controller/event_recorder.h"
#include "controller/jobmanager_client.h"
#include "controller/resources.h"
#include "k8s/client.h"
#include "k8s/informer.h"

namespace flink::k8s {

struct ReconcileResult {
  bool ok = true;
  std::string error;
  std::optional<std::chrono::milliseconds> requeueAfter;
};

class FlinkDeploymentController {
 public:
  struct Informers {
    Informer* flinkDeployments;
    Informer* deployments;
    Informer* services;
    Informer* configMaps;
    Informer* ingresses;  // networking.k8s.io/v1 (spec.ingress)
  };
  FlinkDeploymentController(std::shared_ptr<KubeApi> client, Informers informers, OperatorConfig config);
  /// With a shared configuration: each reconcile reads the store's current snapshot, resolved
  /// for the resource's namespace and Flink version (operator_config_store.h), so a dynamic
  /// reload applies from the next reconcile on.
  FlinkDeploymentController(std::shared_ptr<KubeApi> client, Informers informers,
                            std::shared_ptr<OperatorConfigStore> configs);

  ReconcileResult reconcile(const std::string& ns, const std::string& name);

  /// The finalizer the operator puts on every FlinkDeployment (as the Apache operator): its
  /// deletion waits until the job is stopped (with a savepoint when
  /// kubernetes.operator.job.savepoint-on-deletion is true) and the cluster deleted.
  static constexpr const char* kFinalizer = "flinkdeployments.flink.apache.org/finalizer";

  /// The owner FlinkDeployment key ("ns/name") of a child object, if it has one.
  static std::optional<std::string> ownerKey(const nlohmann::json& child);

  /// A FlinkDeployment object (JSON, as the API server has it) to the model; errors name the field.
  static Result<FlinkDeployment> parseObject(const nlohmann::json& obj);
  /// lastReconciledSpec of `status` as a FlinkDeployment with `fd`'s metadata; nullopt when there
  /// is none or it no longer parses.
  static std::optional<FlinkDeployment> lastReconciledOf(const nlohmann::json& fd, const FlinkDeploymentStatus& status);
  /// The reconciler's validation of a FlinkDeployment object (parseObject, then
  /// validateFlinkDeployment against the last reconciled spec in its status, over `config`'s
  /// defaults), for the admission webhook. The error names the field.
  static Status validateObject(const nlohmann::json& fd, const OperatorConfig& config);
  /// The JobManager's REST address (host, port) of a deployed cluster per
  /// OperatorConfig::jobManagerAddress; nullopt when its Service has no ready endpoint yet, or
  /// when the REST API needs TLS and the client certificate's Secret cannot be read (logged).
  /// With security.ssl.rest.enabled the address carries the TLS context (restClientTls).
  static std::optional<RestAddress> restAddressOf(KubeApi& client, const FlinkDeployment& target,
                                                  const OperatorConfig& config);
  /// The operator's TLS client context for a deployment's REST API: null without
  /// security.ssl.rest.enabled; else from the generated Secret <name>-internal-tls
  /// (kubernetes.operator.security.ssl.generate; no host name check: the per-deployment CA pins
  /// the server) or from the Secret named by kubernetes.operator.security.ssl.rest.client-secret
  /// (tls.crt, tls.key, ca.crt; host names checked unless `byIp` or security.ssl.verify-hostname
  /// is false). Cached per Secret resourceVersion. Thread-safe.
  static Result<std::shared_ptr<const tls::TlsContext>> restClientTls(KubeApi& client, const FlinkDeployment& target,
                                                                     const Configuration& conf, bool byIp);

  /// Counts of FlinkDeployments by status.lifecycleState (from the cache).
  std::map<std::string, int> lifecycleStates() const;

 private:
  /// The outcome of validation: the spec to deploy (the new one, or the last valid one when the
  /// new one is invalid; none when nothing valid exists yet) and why.
  struct Validation {
    std::optional<FlinkDeployment> target;
    bool specChanged = false;           // a valid spec differs from lastReconciledSpec
    std::optional<std::string> error;   // the new spec is invalid
    std::optional<FlinkDeployment> lastReconciled;  // lastReconciledSpec parsed, when valid
  };
  Validation validate(const nlohmann::json& fd, const FlinkDeploymentStatus& status) const;
  /// Records the spec decision in `status` (error, lastReconciledSpec, lifecycle state).
  /// (recordSpec false: only the error and observedGeneration; application clusters record the
  /// spec through the job lifecycle.)
  void recordSpecDecision(const nlohmann::json& fd, const Validation& v, FlinkDeploymentStatus* status,
                          bool recordSpec = true);
  /// The job lifecycle of an application cluster (application_reconciler.cc); `written` is the
  /// status as the API server has it.
  ReconcileResult reconcileApplication(const nlohmann::json& fd, const Validation& v, FlinkDeploymentStatus status,
                                       const FlinkDeploymentStatus& written);
  /// Steps 4-5 for `target` (the spec the cluster is made from), then writes the status if it
  /// differs from `intent` (what the API server has) and picks the requeue delay. specError: the
  /// new spec is invalid (keep status.error).
  ReconcileResult applyAndObserve(const nlohmann::json& fd, const FlinkDeployment& target, bool specError,
                                  FlinkDeploymentStatus status, const FlinkDeploymentStatus& intent);
  struct StopOutcome {
    bool stopped = false;       // the job is stopped (its Deployments go once that is recorded)
    std::string usedMode;       // how: stateless, savepoint or last-state
    std::chrono::milliseconds requeue{1000};  // when not stopped: look again after
  };
  /// One step of stopping the running job of `deployed` as `mode` says (the Apache operator's
  /// suspendJob): records every trigger and outcome in `status`.
  StopOutcome stopJob(const nlohmann::json& fd, const FlinkDeployment& deployed, const std::string& mode,
                      FlinkDeploymentStatus* status);
  /// A stateless stop (an upgrade, a suspend, a deletion): cancels the deployed job
  /// (PATCH /jobs/{id}?mode=cancel) and reports true while it has not ended yet and `deadlineMs`
  /// (epoch ms) has not passed, so that the JobManager discards the job's checkpoints (unless
  /// execution.checkpointing.externalized-checkpoint-retention is RETAIN_ON_CANCELLATION) and the
  /// TaskManagers stop writing before their pods go. False at once when the JobManager does not
  /// answer or runs another job.
  bool awaitCancel(const nlohmann::json& fd, const FlinkDeployment& deployed, const std::string& jobId,
                   int64_t deadlineMs);
  /// Manual (spec.job.savepointTriggerNonce) and periodic
  /// (kubernetes.operator.periodic.savepoint.interval) savepoints of a running job: polls the one
  /// in flight, or triggers one when due; completed ones go to savepointInfo.lastSavepoint and
  /// savepointHistory.
  void reconcileSavepoints(const nlohmann::json& fd, const FlinkDeployment& deployed, const nlohmann::json& spec,
                           FlinkDeploymentStatus* status);
  /// reconcileSavepoints (savepoint true), or the same for checkpoints (checkpointTriggerNonce,
  /// kubernetes.operator.periodic.checkpoint.interval; POST /jobs/{id}/checkpoints), recorded in
  /// checkpointInfo.lastCheckpoint. Each nonce is acted on once (handledTriggerNonce). A new
  /// trigger is only recorded (an id of ours); the next call sends it. True when one was recorded.
  bool reconcileSnapshots(const nlohmann::json& fd, const FlinkDeployment& deployed, const nlohmann::json& spec,
                          FlinkDeploymentStatus* status, bool savepoint);
  /// Whether the deployed spec, not stable within kubernetes.operator.deployment.readiness.timeout
  /// (default 5 min) of its deployment, is to be rolled back to lastStableSpec
  /// (kubernetes.operator.deployment.rollback.enabled, default false).
  bool shouldRollBack(const FlinkDeployment& deployed, const FlinkDeploymentStatus& status,
                      const std::optional<nlohmann::json>& lastStable, const nlohmann::json& deployedSpec) const;
  /// Keeps at most kubernetes.operator.savepoint.history.max.count (default 10) savepoints no
  /// older than ...history.max.age (default 24 h) in info.savepointHistory and disposes the
  /// others through the JobManager (POST /savepoint-disposal), never the last savepoint nor the
  /// one the cluster was deployed from.
  void trimSavepointHistory(const nlohmann::json& fd, const FlinkDeployment& deployed, const JobStatusInfo& js,
                            nlohmann::json& info);
  /// With kubernetes.operator.snapshot.resource.enabled (default true, as the Apache operator) a
  /// completed savepoint of the deployment's job is recorded as a FlinkStateSnapshot named
  /// "<deployment>-<savepoint directory name>": spec.savepoint {path, alreadyExists: true,
  /// disposeOnDelete: kubernetes.operator.savepoint.dispose-on-delete (default false)},
  /// spec.jobReference, labels snapshot.type SAVEPOINT, snapshot.trigger-type (UPGRADE, MANUAL,
  /// PERIODIC), job-reference.kind/name. Idempotent per savepoint (one that exists is kept), so
  /// it is called before the status that records the savepoint is written. Returns the
  /// resource's name, or nullopt when disabled or it could not be created (logged: the savepoint
  /// stays recorded in status).
  std::optional<std::string> recordSnapshotResource(const FlinkDeployment& deployed, const std::string& location,
                                                    const std::string& triggerType);
  /// Deletes the FlinkStateSnapshot that records `location`, if any. True when that resource
  /// disposes the savepoint itself on deletion (disposeOnDelete, its finalizer set).
  bool deleteSnapshotResource(const FlinkDeployment& deployed, const std::string& location);
  /// kubernetes.operator.savepoint.trigger.grace-period (default 1 min): how long a recorded
  /// savepoint or checkpoint trigger may stay unanswered (the JobManager unreachable, or not
  /// knowing it) before it counts as failed.
  int64_t triggerGraceMs(const FlinkDeployment& deployed) const;
  /// kubernetes.operator.savepoint.history.max.count (default 10).
  int historyMaxCount(const FlinkDeployment& deployed) const;
  /// A duration option of the deployed spec or the operator's defaults, in ms (0 when unset or malformed).
  int64_t durationOptionMs(const FlinkDeployment& deployed, const std::string& key) const;
  /// Deletes the JobManager and TaskManager Deployments (the ConfigMap and Services stay).
  /// *deleted (optional): whether there was one to delete.
  Status deleteClusterDeployments(const nlohmann::json& fd, const FlinkDeployment& target, const std::string& reason,
                                  bool* deleted = nullptr);
  /// True while pods of the cluster (app=<name>, a jobmanager or taskmanager component) exist.
  bool clusterPodsExist(const FlinkDeployment& target) const;
  /// Deletes the Kubernetes HA ConfigMaps of the cluster (labels app=<name>,
  /// configmap-type=high-availability); true when there was any to delete.
  Result<bool> deleteHaConfigMaps(const FlinkDeployment& target);
  /// The newest checkpoint the job's HA ConfigMap points to: {"id", "location"}, or nullopt.
  std::optional<nlohmann::json> haLatestCheckpoint(const FlinkDeployment& target, const std::string& jobId) const;
  /// Creates or patches every child, and deletes the Ingress of ours that spec.ingress no longer
  /// asks for; *anyChanged when one was written.
  Status applyChildren(const nlohmann::json& fd, const FlinkDeployment& target, bool* anyChanged);
  /// With kubernetes.operator.security.ssl.generate: creates the Secret <name>-internal-tls
  /// (newTlsSecret) unless it exists; an existing one is kept as it is.
  Status ensureTlsSecret(const nlohmann::json& fd, const FlinkDeployment& target, bool* created);
  Status applyChild(const nlohmann::json& fd, const nlohmann::json& desired, bool* changed);
  /// Reads the JobManager Deployment's readiness into `status`; returns it (READY, DEPLOYING, MISSING).
  std::string observeCluster(const FlinkDeployment& target, FlinkDeploymentStatus* status) const;
  ReconcileResult reconcileCanary(const nlohmann::json& fd);
  static bool hasFinalizer(const nlohmann::json& fd);
  /// A FlinkDeployment being deleted: stops its job (savepoint-on-deletion), deletes the
  /// JobManager and TaskManager Deployments, then removes the finalizer; status DELETING.
  ReconcileResult reconcileDeletion(const nlohmann::json& fd);
  /// The JobManager's REST address (host, port) per OperatorConfig::jobManagerAddress.
  std::optional<RestAddress> restAddress(const FlinkDeployment& target) const;
  /// Records the job the JobManager reports in status.jobStatus, clusterInfo and the lifecycle
  /// state (STABLE once the job runs or finished, FAILED when it failed); true while the job is
  /// not in a globally terminal state (the reconcile then comes back sooner).
  /// A change of the job's state is also a JobStatusChanged event (Warning for FAILED).
  bool observeJob(const nlohmann::json& fd, const FlinkDeployment& target, FlinkDeploymentStatus* status);
  /// The health check of a RUNNING job (the Apache operator's ClusterHealthEvaluator), when
  /// kubernetes.operator.cluster.health-check.enabled: more than ...restarts.threshold (64)
  /// restarts within ...restarts.window (2 min), or, with checkpointing on and
  /// ...checkpoint-progress.enabled (true), no completed checkpoint within
  /// ...checkpoint-progress.window (5 min, at least max(checkpoint interval, timeout) x
  /// (tolerable failed checkpoints + 1)), makes the job unhealthy. The baseline and verdict are
  /// kept in status.clusterInfo["cluster-health-info"] (JSON text, as the Apache operator);
  /// an unhealthy job is restarted by the lifecycle as its upgradeMode says.
  void evaluateHealth(const FlinkDeployment& target, const RestAddress& address, const std::string& jobId,
                      FlinkDeploymentStatus* status);
  ApiResponse writeStatus(const nlohmann::json& fd, const FlinkDeploymentStatus& status);
  /// writeStatus on the object as the API server has it now (its latest resourceVersion).
  ApiResponse writeLatestStatus(const std::string& ns, const std::string& name, const FlinkDeploymentStatus& status);

  /// The operator's configuration for `fd` (its namespace and spec.flinkVersion), now.
  std::shared_ptr<const OperatorConfig> configFor(const FlinkDeployment& fd) const {
    return configs_->forResource(fd.namespace_, fd.spec.flinkVersion);
  }

  std::shared_ptr<KubeApi> client_;
  Informers informers_;
  std::shared_ptr<OperatorConfigStore> configs_;
  EventRecorder events_;
  JobManagerClient jobs_;
  ChildDigests childDigests_;  // the children as this operator last wrote them
};

}  // namespace flink::k8s
