// JobMaster: runs one job. Builds the JobGraph by running the job's main(), expands it into
// an ExecutionGraph (one ExecutionVertex per subtask), acquires slots from the
// ResourceManager, deploys the subtasks to the TaskManagers that own the slots, and tracks
// execution states up to the job's terminal state. Lives on the JobManager's main thread.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flink/job.h"
#include "jobmanager/resource_manager.h"
#include "task/task.h"

namespace flink {

/// Job states with Flink's names (JobStatus).
enum class JobStatus { kInitializing, kCreated, kRunning, kFailing, kFailed, kCancelling, kCanceled, kFinished };
const char* toString(JobStatus s);
bool isGloballyTerminal(JobStatus s);

struct JobSubmission {
  std::string jobId;
  JobSpec spec;
  Configuration config;  // effective configuration of the job (parallelism.default etc.)
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
  /// PATCH /jobs/{id}?mode=cancel.
  void cancel();

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
  int64_t stateTimestamps_[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::string rootCause_;
  int64_t rootCauseTimeMs_ = 0;
};

int64_t nowMs();

}  // namespace flink
