// JobMaster: runs one job. Builds the JobGraph by running the job's main(), expands it into
// an ExecutionGraph (one ExecutionVertex per subtask), acquires slots from the
// ResourceManager, deploys the subtasks to the TaskManagers that own the slots, and tracks
// execution states up to the job's terminal state. Lives on the JobManager's main thread.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "blob/blob.h"
#include "checkpoint/coordinator.h"
#include "flink/job.h"
#include "flink/source.h"
#include "jobmanager/resource_manager.h"
#include "task/task.h"

namespace flink {

/// Job states with Flink's names (JobStatus).
enum class JobStatus { kInitializing, kCreated, kRunning, kFailing, kFailed, kCancelling, kCanceled, kFinished, kRestarting };
const char* toString(JobStatus s);
bool isGloballyTerminal(JobStatus s);

struct JobSubmission {
  std::string jobId;
  JobSpec spec;
  Configuration config;  // effective configuration of the job (parallelism.default etc.)
  /// The job library the TaskManagers fetch from the JobManager's BlobServer (an uploaded
  /// library of a session cluster); unset: spec.jarURI is used as it is (builtin, local://).
  std::optional<blob::BlobRef> library;
  /// The newest checkpoint the Kubernetes HA services record for the job (its chk-N
  /// directory), if any: restored when newer than what the job's checkpoint directory holds.
  std::string haCheckpoint;
};

struct ExecutionVertex {
  int subtask = 0;
  int attempt = 0;
  ExecutionState state = ExecutionState::kCreated;
  SlotRef slot;
  std::string host;
  int64_t startTimeMs = -1;
  int64_t endTimeMs = -1;
  std::string failure;
  nlohmann::json metrics = nlohmann::json::object();
  bool inputEnded = false;  // reported by the task: input ended, waiting for the final checkpoint
};

/// restart-strategy.type with Flink's option keys: none, fixed-delay, exponential-delay.
struct RestartStrategy {
  std::string type = "none";
  int maxAttempts = 0;  // fixed-delay attempts
  int64_t delayMs = 1000;
  int64_t maxBackoffMs = 60000;
  double multiplier = 2.0;
  static Result<RestartStrategy> fromConfig(const Configuration& config, bool checkpointing);
  /// Delay before restart number `attempt` (1-based), or nullopt when no restart is allowed.
  std::optional<int64_t> delayFor(int attempt) const;
  std::string describe() const;
};

/// One failure of the job (for /jobs/{id}/exceptions).
struct JobException {
  std::string message;
  int64_t timestampMs = 0;
  std::string taskName;
  std::string endpoint;
};

/// What a deployment of the job restored its state from (Flink's restored checkpoint statistics).
struct RestoredCheckpoint {
  int64_t checkpointId = 0;
  int64_t restoreTimestampMs = 0;
  bool savepoint = false;  // the initial savepoint (execution.savepoint.path), not a checkpoint
  std::string externalPath;
};

/// State of an asynchronous savepoint operation (POST /jobs/{id}/savepoints, /stop).
struct SavepointOperation {
  bool done = false;
  std::string location;
  std::string failure;
};

/// State of an asynchronous checkpoint operation (POST /jobs/{id}/checkpoints).
struct CheckpointOperation {
  bool done = false;
  int64_t checkpointId = 0;
  std::string failure;
};

struct ExecutionJobVertex {
  const JobVertex* vertex = nullptr;
  std::vector<ExecutionVertex> subtasks;
  ExecutionState aggregateState() const;
  double metricSum(const std::string& name) const;
};

class JobMaster {
 public:
  using SendFn = std::function<void(const std::string& taskManagerId, const nlohmann::json& msg)>;
  JobMaster(JobSubmission submission, ResourceManager* rm, SendFn send);

  /// Builds the job and starts scheduling. Never throws: failures end in FAILED.
  void start();
  /// Retries slot allocation; fails the job when slot.request.timeout passes.
  void tick();
  void onTaskState(const nlohmann::json& msg);
  void onTaskMetrics(const nlohmann::json& task);
  void onTaskManagerLost(const std::string& taskManagerId, const std::string& reason);
  void onCheckpointAck(const nlohmann::json& msg);
  void onCheckpointDecline(const nlohmann::json& msg);
  /// A task's input ended (after the acknowledgements of its earlier checkpoints). When every
  /// task got there, pending checkpoints are aborted and the final checkpoint completes: the
  /// tasks commit what they prepared and finish.
  void onTaskInputEnded(const nlohmann::json& msg);
  /// A source reader asks its split enumerator for the next split (FLIP-27): answered with
  /// "addSplits" (a split, or none and noMoreSplits), or later when the enumerator discovers
  /// one (continuous monitoring). Requests of an earlier attempt are ignored.
  void onSplitRequest(const nlohmann::json& msg);
  /// PATCH /jobs/{id}?mode=cancel.
  void cancel();
  /// POST /jobs/{id}/savepoints and /stop: returns the trigger id, or an error. A client's
  /// `requestedTriggerId` (Flink's triggerId field) makes the request idempotent: an operation
  /// already started under that id is returned, not started again.
  Result<std::string> triggerSavepoint(const std::string& targetDirectory, bool cancelJob, bool stop, bool drain = false,
                                       const std::string& requestedTriggerId = "");
  const SavepointOperation* savepointOperation(const std::string& triggerId) const;
  /// POST /jobs/{id}/checkpoints: returns the trigger id, or an error (the job not RUNNING).
  /// Idempotent per requestedTriggerId, as triggerSavepoint.
  Result<std::string> triggerCheckpoint(const std::string& requestedTriggerId = "");
  const CheckpointOperation* checkpointOperation(const std::string& triggerId) const;
  const CheckpointCoordinator* checkpointCoordinator() const { return coordinator_.get(); }
  int numRestarts() const { return numRestarts_; }
  /// The checkpoint or savepoint the job's tasks were last deployed from, if any.
  const std::optional<RestoredCheckpoint>& lastRestore() const { return lastRestore_; }
  std::string restartStrategyDescription() const { return restartStrategy_.describe(); }
  const std::vector<JobException>& exceptions() const { return exceptions_; }

  const std::string& jobId() const { return sub_.jobId; }
  const std::string& name() const { return name_; }
  JobStatus status() const { return status_; }
  int64_t startTimeMs() const { return startTimeMs_; }
  int64_t endTimeMs() const { return endTimeMs_; }
  int64_t stateTimestamp(JobStatus s) const { return stateTimestamps_[static_cast<int>(s)]; }
  const std::vector<ExecutionJobVertex>& vertices() const { return ejvs_; }
  const JobGraph* jobGraph() const { return artifacts_ ? &artifacts_->jobGraph : nullptr; }
  const JobSubmission& submission() const { return sub_; }
  const std::string& rootCause() const { return rootCause_; }
  int64_t rootCauseTimeMs() const { return rootCauseTimeMs_; }
  std::map<std::string, std::string> userConfig() const;

 private:
  void transition(JobStatus s);
  void fail(const std::string& cause);
  void deploy(const std::vector<SlotRef>& slots);
  void checkTerminal();
  ExecutionVertex* find(int vertex, int subtask, int attempt);
  std::string gateKey(int vertex, int subtask, int attempt) const;
  void handleFailure(const std::string& cause, const std::string& taskName, const std::string& endpoint);
  void cancelTasks();
  void restart();
  bool allTasksRunning() const;
  Status validateSavepoint(const std::string& path, nlohmann::json* restore);
  void completeFinalCheckpoint();
  const StreamNode* nodeOfOperator(const std::string& operatorId) const;
  /// The split enumerator of one split-based source vertex (Flink's SourceCoordinator).
  struct SourceCoordinator {
    int vertex = 0;
    std::string operatorId;
    std::unique_ptr<SplitEnumerator> enumerator;
    std::set<int> waiting;  // subtasks whose request is not answered yet
    std::chrono::steady_clock::time_point nextDiscovery;
  };
  /// Before a deployment: rebuilds every enumerator from the restored checkpoint's state, or
  /// afresh without one. Error: an input that cannot be listed, a checkpoint with reader
  /// positions but no enumerator state.
  Status resetSourceCoordinators(const nlohmann::json& restore);
  /// Answers what the enumerator can answer now; true when the request is settled (answered,
  /// or parked in `waiting` until every reader of a bounded source is out of splits).
  bool answerSplitRequest(SourceCoordinator& c, int subtask);
  void discoverSplits();
  std::map<std::string, std::string> snapshotSourceCoordinators();
  std::vector<SourceCoordinator> sourceCoordinators_;

  JobSubmission sub_;
  ResourceManager* rm_;
  SendFn send_;
  std::string name_;
  JobStatus status_ = JobStatus::kInitializing;
  std::shared_ptr<JobArtifacts> artifacts_;
  std::vector<ExecutionJobVertex> ejvs_;
  bool slotsAllocated_ = false;
  std::chrono::steady_clock::time_point schedulingSince_;
  int64_t slotRequestTimeoutMs_ = 300000;
  int64_t startTimeMs_ = 0;
  int64_t endTimeMs_ = -1;
  int64_t stateTimestamps_[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  std::string rootCause_;
  int64_t rootCauseTimeMs_ = 0;
  std::unique_ptr<CheckpointCoordinator> coordinator_;
  RestartStrategy restartStrategy_;
  int numRestarts_ = 0;
  std::optional<std::chrono::steady_clock::time_point> restartAt_;
  std::vector<JobException> exceptions_;
  nlohmann::json initialRestore_;  // from execution.savepoint.path
  std::optional<RestoredCheckpoint> lastRestore_;
  std::map<std::string, SavepointOperation> savepoints_;
  std::map<std::string, CheckpointOperation> checkpointOps_;
  std::string stopTrigger_;  // savepoint after which the job stops
  bool stoppedWithSavepoint_ = false;  // ended by a stop-with-savepoint (to be resumed from it)
  bool stopFinishes_ = false;  // stop-with-savepoint ends in FINISHED, cancel-job in CANCELED
  bool draining_ = false;      // stop with drain: the tasks end by themselves after the savepoint
  bool finalCheckpointSent_ = false;  // this attempt's tasks were told to commit and finish
};

int64_t nowMs();

}  // namespace flink
