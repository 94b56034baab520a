// FlinkDeploymentStatus: the status subresource of a FlinkDeployment, with the Apache Flink
// Kubernetes Operator's field names (FlinkDeploymentStatus, ReconciliationStatus, JobStatus in
// its CRD reference). Typed for the fields this operator writes; everything else found in an
// object (fields of a newer operator, or written by hand) is kept in `extra` and written back
// unchanged, so a read-modify-write never drops data. Converted to and from JSON only at the
// edge (the API server). A value type: not thread-safe, copy freely.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace flink::k8s {

/// status.reconciliationStatus.
struct ReconciliationStatus {
  /// The spec last handed to the cluster, as JSON text (the operator's write-ahead record).
  std::optional<std::string> lastReconciledSpec;
  /// The last spec that ran stably, as JSON text (written by the job lifecycle).
  std::optional<std::string> lastStableSpec;
  std::optional<std::string> state;  // DEPLOYED | UPGRADING | ROLLING_BACK | ROLLED_BACK
  std::optional<int64_t> reconciliationTimestamp;  // ms since the epoch
  nlohmann::json extra = nlohmann::json::object();
};

/// status.taskManager: what `kubectl scale` reads through the scale subresource.
struct TaskManagerInfo {
  int replicas = 0;
  std::string labelSelector;
};

/// status.jobStatus: the job as the JobManager reports it (RECONCILING until then).
struct JobStatusInfo {
  std::optional<std::string> state;
  nlohmann::json extra = nlohmann::json::object();  // jobId, startTime, checkpointInfo... as found
};

struct FlinkDeploymentStatus {
  std::optional<std::string> lifecycleState;  // CREATED DEPLOYED STABLE UPGRADING SUSPENDED FAILED...
  std::optional<std::string> error;           // the validation or deployment error, for users
  std::optional<int64_t> observedGeneration;
  std::optional<ReconciliationStatus> reconciliationStatus;
  std::optional<std::string> jobManagerDeploymentStatus;  // MISSING DEPLOYING READY ...
  std::optional<TaskManagerInfo> taskManager;
  std::optional<JobStatusInfo> jobStatus;
  nlohmann::json extra = nlohmann::json::object();

  /// Never fails: a field of an unexpected type is kept in `extra` as it was.
  static FlinkDeploymentStatus fromJson(const nlohmann::json& status);
  nlohmann::json toJson() const;
  bool operator==(const FlinkDeploymentStatus& o) const { return toJson() == o.toJson(); }
};

}  // namespace flink::k8s
