// A Task runs one subtask of a JobVertex (its operator chain) on its own thread, from a
// TaskDeploymentDescriptor sent by the JobMaster.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "flink/datastream.h"
#include "graph/job_graph.h"
#include "net/network_environment.h"

namespace flink {

/// Execution states with Flink's names (ExecutionState).
enum class ExecutionState { kCreated, kScheduled, kDeploying, kInitializing, kRunning, kFinished, kCanceling, kCanceled, kFailed };
const char* toString(ExecutionState s);
bool isTerminal(ExecutionState s);

/// Everything a TaskManager needs to run one subtask.
struct TaskDeploymentDescriptor {
  std::string jobId;
  int vertexIndex = 0;
  int subtaskIndex = 0;
  int attemptNumber = 0;
  std::string inputGateKey;  // empty for sources
  int numInputChannels = 0;  // over all inputs (JobGraph::channelOffset says where each starts)
  /// Per output edge of the vertex (JobVertex::outputs), one endpoint per channel; empty for sinks.
  std::vector<std::vector<net::ConsumerEndpoint>> outputs;
  /// State to restore: {"checkpointId", "operators": {operator id: {"parallelism", "files"}}},
  /// or null for a fresh start.
  nlohmann::json restore;

  nlohmann::json toJson() const;
  static TaskDeploymentDescriptor fromJson(const nlohmann::json& j);
};

/// A built job: the StreamGraph from running the job's main() and its JobGraph.
struct JobArtifacts {
  std::shared_ptr<StreamExecutionEnvironment> env;
  JobGraph jobGraph;
  Configuration config;
};

class Task {
 public:
  /// Called on the task thread for RUNNING and for the final state (with the failure cause).
  using StateListener = std::function<void(Task&, ExecutionState, const std::string& error)>;
  /// Called on the task thread with the state copied at a barrier; the TaskManager writes it
  /// to storage on another thread and acknowledges the checkpoint.
  using SnapshotListener = std::function<void(Task&, int64_t checkpointId, std::vector<std::pair<std::string, OperatorSnapshot>>&&)>;
  /// Called on the task thread once the input ended and every operator closed (a sink has
  /// prepared its final committables). The task then waits, still RUNNING, for
  /// notifyFinalCheckpointComplete() (or cancel()) before it commits and finishes. The
  /// TaskManager must send this report after the acknowledgements of the task's earlier
  /// snapshots.
  using InputEndedListener = std::function<void(Task&)>;

  /// Without an InputEndedListener the task does not wait: it commits and finishes at once
  /// (for tests that run a single task).
  Task(TaskDeploymentDescriptor tdd, std::shared_ptr<const JobArtifacts> job, net::NetworkEnvironment* network,
       StateListener listener, SnapshotListener snapshotListener = nullptr, InputEndedListener inputEnded = nullptr);
  ~Task();
  void start();
  /// Asks the task to stop; it ends in CANCELED. Notifications of completed checkpoints that
  /// arrived before the cancel are still delivered (a stop-with-savepoint commits its output).
  /// Non-blocking, idempotent.
  void cancel() {
    cancelled_ = true;
    wake();
  }
  /// Source tasks: inject a barrier for checkpoint `id` at the next record boundary. Thread-safe.
  /// With drain (stop-with-savepoint --drain), the source emits the final watermark before
  /// the barrier and ends its input after it.
  void triggerCheckpoint(int64_t id, bool drain = false) {
    if (drain) drain_.store(true);
    triggered_.store(id);
  }
  /// The checkpoint completed everywhere: operators are notified on the task thread. Thread-safe.
  void notifyCheckpointComplete(int64_t id) {
    int64_t prev = completed_.load();
    while (prev < id && !completed_.compare_exchange_weak(prev, id)) {
    }
    wake();
  }
  /// Every task of the job reached the end of its input (the final checkpoint): after its
  /// input ended, the task notifies its operators (a sink commits all it prepared) and
  /// finishes. Thread-safe.
  void notifyFinalCheckpointComplete() {
    finalComplete_ = true;
    wake();
  }
  /// Source tasks of a split-based source (FLIP-27): how the reader's requests for a split reach
  /// the JobMaster (called on the task thread). Set before start(); without it readers of such
  /// sources enumerate their input themselves.
  void setSplitRequester(std::function<void(Task&)> request) { splitRequester_ = std::move(request); }
  /// The enumerator's answer to a request: splits (possibly none) and whether no split will
  /// come any more. Thread-safe. Splits added after a checkpoint trigger reached this task are
  /// handed to the reader only after its snapshot of that checkpoint (they are in the
  /// enumerator's state of that checkpoint, taken when it was triggered); those added before
  /// it, before the snapshot (they are not). Call in the order the messages arrived, with
  /// triggerCheckpoint on the same thread.
  /// allAssigned: the enumerator assigned every split (SplitReaderContext::allSplitsAssigned).
  void addSplits(std::vector<std::string> splits, bool noMoreSplits, bool allAssigned = false);
  void join();
  /// True once the task thread has reported its final state.
  bool done() const { return done_.load(); }

  const TaskDeploymentDescriptor& descriptor() const { return tdd_; }
  const TaskMetrics& metrics() const { return metrics_; }
  std::string name() const;

  /// Timings of the snapshot being handed to the SnapshotListener (read them there, on the
  /// task thread): Flink's SubtaskCheckpointStatistics.
  struct SnapshotTiming {
    int64_t barrierWallMs = 0;        // ms since the epoch: the first barrier reached the task (sources: the trigger)
    int64_t alignmentDurationMs = 0;  // first to last barrier over the input channels; 0 for sources
    int64_t syncDurationMs = 0;       // the operators' synchronous snapshot at the barrier
  };
  const SnapshotTiming& snapshotTiming() const { return snapshotTiming_; }

 private:
  void run();
  class SplitChannel;
  /// Hands the splits that arrived before checkpoint trigger `beforeTrigger` (exclusive) to the
  /// reader. Task thread.
  void deliverSplits(int64_t beforeTrigger);
  struct SplitEvent {
    int64_t trigger = 0;  // triggered_ when it arrived
    std::vector<std::string> splits;
    bool noMore = false;
    bool allAssigned = false;
  };
  std::function<void(Task&)> splitRequester_;
  std::mutex splitMu_;
  std::deque<SplitEvent> splitEvents_;  // guarded by splitMu_
  std::unique_ptr<SplitChannel> splitChannel_;
  /// The operator chain of a running task and what its loops share (defined in task.cc).
  struct Chain;
  /// Builds the chain (network writer, operators), restores and opens it, then runs the source
  /// loop or the network-input loop and finishAfterEndOfInput(). All on the task thread.
  Status runChain();
  Status buildChain(Chain& chain);
  /// Until the end of the input (Ok), a cancel or a failure.
  Status runSourceLoop(Chain& chain);
  Status runInputLoop(Chain& chain);
  /// Closes the operators, reports the end of the input, waits for the final checkpoint and
  /// notifies kFinalCheckpointId (sinks commit).
  Status finishAfterEndOfInput(Chain& chain);
  Status waitForFinalCheckpoint(Chain& chain);
  /// Delivers the newest completed checkpoint to the operators, once.
  Status notifyCompleted(Chain& chain);
  /// The status of a cancelled task, after delivering the completions that came before it.
  Status onCancelled(Chain& chain);
  /// Flushes the writer every buffer timeout and delivers completions; throws TaskFailure.
  void housekeeping(Chain& chain);
  TaskDeploymentDescriptor tdd_;
  std::shared_ptr<const JobArtifacts> job_;
  net::NetworkEnvironment* network_;
  StateListener listener_;
  TaskMetrics metrics_;
  Status restoreState(std::vector<std::unique_ptr<StreamOperatorBase>>& ops, const JobVertex& vertex);
  void snapshot(int64_t id, std::vector<std::unique_ptr<StreamOperatorBase>>& ops, const JobVertex& vertex,
                RecordWriterBase* writer, int64_t barrierWallMs, int64_t alignmentDurationMs);
  SnapshotListener snapshotListener_;
  SnapshotTiming snapshotTiming_;
  void wake() {
    std::lock_guard<std::mutex> lock(waitMu_);
    waitCv_.notify_all();
  }
  InputEndedListener inputEndedListener_;
  std::mutex waitMu_;
  std::condition_variable waitCv_;
  std::atomic<bool> finalComplete_{false};
  std::atomic<int64_t> triggered_{0};
  std::atomic<bool> drain_{false};
  std::atomic<int64_t> completed_{0};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace flink
