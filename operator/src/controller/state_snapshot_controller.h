// The FlinkStateSnapshot reconciler (flink.apache.org/v1beta1, the Apache Flink Kubernetes
// Operator's resource of that name): a savepoint or checkpoint of the job of a FlinkDeployment
// (spec.jobReference), taken through its JobManager's REST API, or an existing savepoint
// registered as one (spec.savepoint.alreadyExists).
//
// status.state: TRIGGER_PENDING -> IN_PROGRESS (status.triggerId, an id of ours, and
// triggerTimestamp are written before the trigger is sent under that id, so a crash never
// orphans a snapshot) -> COMPLETED (status.path, resultTimestamp) | FAILED (status.error, after more
// than spec.backoffLimit failed attempts; -1, the default, retries without limit) | ABANDONED
// (the job is gone or no longer runs: the snapshot can never complete). A savepoint goes to
// spec.savepoint.path, else the deployment's state.savepoints.dir. With
// spec.savepoint.disposeOnDelete the resource carries the finalizer
// flinkstatesnapshots.flink.apache.org/finalizer and its deletion disposes the savepoint through
// the JobManager (POST /savepoint-disposal) first; a JobManager that cannot be reached leaves the
// files, says so in a Warning event, and lets the resource go (never stuck).
// Level-triggered and idempotent; thread-safe as FlinkDeploymentController (one key never twice
// at once).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "controller/event_recorder.h"
#include "controller/flink_deployment_controller.h"
#include "controller/jobmanager_client.h"
#include "k8s/client.h"
#include "k8s/informer.h"

namespace flink::k8s {

class FlinkStateSnapshotController {
 public:
  static constexpr const char* kFinalizer = "flinkstatesnapshots.flink.apache.org/finalizer";

  /// `snapshots` and `flinkDeployments` watch the same namespace(s); both must outlive this.
  FlinkStateSnapshotController(std::shared_ptr<KubeApi> client, Informer* snapshots, Informer* flinkDeployments,
                               OperatorConfig config);
  /// With the operator's shared configuration (reloaded at runtime; operator_config_store.h).
  FlinkStateSnapshotController(std::shared_ptr<KubeApi> client, Informer* snapshots, Informer* flinkDeployments,
                               std::shared_ptr<OperatorConfigStore> configs);

  ReconcileResult reconcile(const std::string& ns, const std::string& name);

 private:
  struct Job {
    RestAddress address;
    std::string jobId;
    std::string state;  // status.jobStatus.state of the FlinkDeployment
    std::string savepointDir;
  };
  /// The referenced job, or why there is none (the error).
  Result<Job> findJob(const nlohmann::json& snapshot) const;
  ReconcileResult reconcileDeletion(const nlohmann::json& snapshot);
  /// Writes `status` (PUT of the status subresource on the object as given).
  ApiResponse writeStatus(const nlohmann::json& snapshot, const nlohmann::json& status);

  std::shared_ptr<KubeApi> client_;
  Informer* snapshots_;
  Informer* flinkDeployments_;
  std::shared_ptr<OperatorConfigStore> configs_;
  EventRecorder events_;
  JobManagerClient jobs_;
};

}  // namespace flink::k8s
