// CheckpointCoordinator: triggers checkpoints and savepoints of one job, collects the tasks'
// acknowledgements, completes checkpoints (writes `_metadata`, notifies the tasks, whose sinks
// then commit) and keeps state.checkpoints.num-retained of them. Follows Flink's
// CheckpointCoordinator and the asynchronous barrier snapshotting algorithm (Carbone et al.,
// "Lightweight Asynchronous Snapshots for Distributed Dataflows", 2015): barriers are
// injected at the sources; tasks align them, snapshot, and acknowledge.
//
// Lives on the JobManager's main thread (not thread-safe). Time is injected through now().
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checkpoint/storage.h"
#include "flink/configuration.h"

namespace flink {

struct JobGraph;
struct StreamGraph;

struct CheckpointSettings {
  int64_t intervalMs = 0;  // execution.checkpointing.interval; 0 = periodic checkpoints disabled
  int64_t timeoutMs = 600000;
  int maxConcurrent = 1;
  int tolerableFailures = 0;
  int numRetained = 1;
  std::string rootDir;  // state.checkpoints.dir (path)
  /// execution.checkpointing.externalized-checkpoint-retention: RETAIN_ON_CANCELLATION keeps the
  /// job's checkpoints when it is cancelled; DELETE_ON_CANCELLATION and
  /// NO_EXTERNALIZED_CHECKPOINTS (Flink's default) remove them (Flink's CheckpointProperties).
  bool retainOnCancellation = false;

  static Result<CheckpointSettings> fromConfig(const Configuration& config);
};

/// One finished (completed or failed) checkpoint, for the REST API.
/// One subtask's acknowledgement of a checkpoint.
struct SubtaskCheckpointAck {
  int vertex = 0;  // index in the JobGraph
  int subtask = 0;
  int64_t ackTimestampMs = 0;
  int64_t stateSize = 0;
  // Flink's SubtaskCheckpointStatistics, measured by the task (ms): from the trigger to the
  // first barrier reaching the task, from the first to the last barrier over its input
  // channels (0 for sources and single-channel tasks), the synchronous snapshot at the barrier,
  // and the asynchronous part (materialize and write the state file).
  int64_t startDelayMs = 0;
  int64_t alignmentDurationMs = 0;
  int64_t syncDurationMs = 0;
  int64_t asyncDurationMs = 0;
};

struct CheckpointStats {
  int64_t id = 0;
  bool savepoint = false;
  bool synchronous = false;  // a savepoint the job stops after (Flink's SYNC_SAVEPOINT)
  std::string status;  // IN_PROGRESS, COMPLETED, FAILED
  int64_t triggerTimestampMs = 0;
  int64_t latestAckTimestampMs = 0;
  int64_t durationMs = 0;
  int64_t stateSize = 0;
  int numAcknowledged = 0;
  int numSubtasks = 0;
  std::string externalPath;
  std::string failureMessage;
  std::vector<SubtaskCheckpointAck> acks;  // in the order they arrived
};

class CheckpointCoordinator {
 public:
  struct Callbacks {
    /// The states of the job's split enumerators (source operator id -> state), taken when a
    /// checkpoint is triggered, before any source is: recorded in its `_metadata`. Optional.
    std::function<std::map<std::string, std::string>(int64_t checkpointId)> snapshotCoordinators;
    /// Sends a trigger to one source subtask.
    std::function<void(int vertex, int subtask, int64_t checkpointId, bool drain)> triggerSource;
    /// Tells every task of the job that a checkpoint completed.
    std::function<void(int64_t checkpointId)> notifyComplete;
    /// Fails the job (tolerable failures exceeded).
    std::function<void(const std::string& reason)> failJob;
    /// Called when a savepoint completes or fails (trigger id, path or error).
    std::function<void(const std::string& triggerId, const Result<std::string>& location)> savepointDone;
    /// Called when a checkpoint triggered through triggerCheckpoint completes or fails.
    std::function<void(const std::string& triggerId, const Result<int64_t>& checkpointId)> checkpointDone;
  };

  CheckpointCoordinator(CheckpointSettings settings, std::string jobId, const JobGraph* graph, Callbacks callbacks);

  /// Periodic work: triggers a checkpoint when due (only while `tasksRunning`), expires
  /// checkpoints past the timeout.
  void tick(bool tasksRunning);
  /// Starts a savepoint into targetDir; the result arrives through savepointDone(triggerId).
  /// drain: the sources emit the final watermark before the barrier and stop after it.
  /// synchronous: the job stops after it (stop-with-savepoint, cancel with savepoint): only such
  /// a savepoint notifies the tasks of its completion (the sinks commit at it), as in Flink
  /// since 1.15 (FLIP-193); the output of any other savepoint is committed by the next
  /// checkpoint, so a restore from a checkpoint never withdraws output a savepoint committed.
  Status triggerSavepoint(const std::string& targetDir, const std::string& triggerId, bool tasksRunning,
                          bool drain = false, bool synchronous = false);
  /// Starts a checkpoint now (Flink's POST /jobs/{id}/checkpoints), besides the periodic ones;
  /// the result arrives through checkpointDone(triggerId). Error when not every task runs.
  Status triggerCheckpoint(const std::string& triggerId, bool tasksRunning);
  /// True while a savepoint is in flight.
  bool savepointPending() const;
  void acknowledge(const nlohmann::json& msg);
  void decline(const nlohmann::json& msg);
  /// Aborts checkpoints in flight (failover, cancellation).
  void abortPending(const std::string& reason);

  /// The checkpoint to restore from: the newest completed one that still verifies on disk.
  std::optional<std::pair<std::string, checkpoint::Metadata>> latestCompleted();
  /// Picks up what an earlier JobManager of the same job ID left in the job's checkpoint
  /// directory (a JobManager restart, a last-state upgrade): new checkpoints get ids after the
  /// highest chk-N found (complete or not, so no directory or part file is reused), and the
  /// completed ones (valid `_metadata`, oldest first) count against num-retained. Returns the
  /// newest completed one (what the job restores from), or nullopt. Call once, before the first
  /// trigger. Corrupt or unfinished checkpoints are skipped with a warning, never restored.
  std::optional<std::pair<std::string, checkpoint::Metadata>> recoverFromStorage();
  /// The first execution attempt number for this JobManager: one more than the highest attempt
  /// an earlier JobManager of the same job ID recorded (recordAttempt), else 0. Attempt numbers
  /// name the sinks' part files, so a new JobManager never reuses an old one's names and its
  /// sinks can tell the old run's leftovers from their own.
  int attemptBase() const;
  /// Records (durably, before tasks of that attempt are deployed) that `attempt` is in use.
  /// Returns an error naming the file when it cannot be written. No-op without a checkpoint
  /// directory.
  Status recordAttempt(int attempt);
  /// The job result store (after Flink's JobResultStore, FLIP-194), kept as `job-result` in the
  /// job's checkpoint directory: the state FINISHED or CANCELED that a JobManager of this job ID
  /// reached, so that a later JobManager of the same job ID (a restarted pod, a last-state
  /// redeploy) does not run the job again from its checkpoints (its output is committed).
  /// FAILED is not recorded: a failed job may be restarted from its latest checkpoint.
  std::optional<std::string> jobResult() const;
  /// Records FINISHED or CANCELED; an error names the file. No-op without a checkpoint directory.
  Status recordJobResult(const std::string& state);
  /// The savepoint a stop-with-savepoint (without drain) ended the job with, kept as
  /// `stop-savepoint` in the job's checkpoint directory: where a later JobManager of the same job
  /// ID resumes (it is newer than every checkpoint; the job's output up to it is committed).
  /// Returns (checkpoint id, savepoint directory), or nullopt.
  std::optional<std::pair<int64_t, std::string>> stopSavepoint() const;
  /// Records it; an error names the file. No-op without a checkpoint directory.
  Status recordStopSavepoint(int64_t checkpointId, const std::string& dir);
  /// The job was cancelled (not stopped with a savepoint): removes its completed checkpoints
  /// (the chk-N directories; job-result stays) unless settings().retainOnCancellation. Savepoints
  /// are never removed. Errors are logged, not returned (the job is over either way).
  void discardOnCancellation();
  /// Restores the counter so new checkpoints get ids after `id` (start from a savepoint).
  void setCheckpointIdCounter(int64_t next) { nextId_ = std::max(nextId_, next); }

  const CheckpointSettings& settings() const { return settings_; }
  std::string jobDir() const;
  int64_t numCompleted() const { return numCompleted_; }
  int64_t numFailed() const { return numFailed_; }
  int64_t numInProgress() const { return static_cast<int64_t>(pending_.size()); }
  const std::deque<CheckpointStats>& history() const { return history_; }
  std::optional<CheckpointStats> latestCompletedStats() const { return latestCompletedStats_; }
  std::optional<CheckpointStats> latestFailedStats() const { return latestFailedStats_; }
  std::optional<CheckpointStats> latestSavepointStats() const { return latestSavepointStats_; }

 private:
  struct Pending {
    CheckpointStats stats;
    std::string dir;
    std::string savepointTarget;  // non-empty for savepoints
    std::string triggerId;
    std::chrono::steady_clock::time_point started;
    std::set<std::pair<int, int>> waiting;  // (vertex, subtask)
    checkpoint::Metadata metadata;
  };
  Status trigger(const std::string& savepointTarget, const std::string& triggerId, bool drain = false,
                 bool synchronous = false);
  void complete(Pending& p);
  void failPending(int64_t id, const std::string& reason);
  void record(const CheckpointStats& s);
  void retain();

  CheckpointSettings settings_;
  std::string jobId_;
  const JobGraph* graph_;
  Callbacks cb_;
  int64_t nextId_ = 1;
  std::map<int64_t, Pending> pending_;
  std::deque<std::pair<std::string, checkpoint::Metadata>> completed_;  // oldest first
  std::chrono::steady_clock::time_point lastTrigger_;
  int consecutiveFailures_ = 0;
  int64_t numCompleted_ = 0;
  int64_t numFailed_ = 0;
  std::deque<CheckpointStats> history_;
  std::optional<CheckpointStats> latestCompletedStats_, latestFailedStats_, latestSavepointStats_;
};

}  // namespace flink
