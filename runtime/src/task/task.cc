#include "task/task.h"

#include <chrono>

#include <deque>

#include "checkpoint/storage.h"
#include "task/barrier_aligner.h"
#include "flink/common/log.h"

namespace flink {

const char* toString(ExecutionState s) {
  switch (s) {
    case ExecutionState::kCreated: return "CREATED";
    case ExecutionState::kScheduled: return "SCHEDULED";
    case ExecutionState::kDeploying: return "DEPLOYING";
    case ExecutionState::kInitializing: return "INITIALIZING";
    case ExecutionState::kRunning: return "RUNNING";
    case ExecutionState::kFinished: return "FINISHED";
    case ExecutionState::kCanceling: return "CANCELING";
    case ExecutionState::kCanceled: return "CANCELED";
    case ExecutionState::kFailed: return "FAILED";
  }
  return "UNKNOWN";
}

bool isTerminal(ExecutionState s) {
  return s == ExecutionState::kFinished || s == ExecutionState::kCanceled || s == ExecutionState::kFailed;
}

nlohmann::json TaskDeploymentDescriptor::toJson() const {
  nlohmann::json outputsJson = nlohmann::json::array();
  for (const auto& consumers : outputs) {
    nlohmann::json consumersJson = nlohmann::json::array();
    for (const auto& c : consumers) {
      consumersJson.push_back({{"host", c.host}, {"port", c.port}, {"local", c.local}, {"gate", c.gateKey},
                               {"channel", c.channel}, {"numChannels", c.numChannels}});
    }
    outputsJson.push_back(std::move(consumersJson));
  }
  return {{"jobId", jobId},           {"vertex", vertexIndex},           {"subtask", subtaskIndex},
          {"attempt", attemptNumber}, {"inputGate", inputGateKey},       {"numInputChannels", numInputChannels},
          {"outputs", outputsJson},   {"restore", restore}};
}

TaskDeploymentDescriptor TaskDeploymentDescriptor::fromJson(const nlohmann::json& j) {
  TaskDeploymentDescriptor t;
  t.jobId = j.at("jobId").get<std::string>();
  t.vertexIndex = j.at("vertex").get<int>();
  t.subtaskIndex = j.at("subtask").get<int>();
  t.attemptNumber = j.at("attempt").get<int>();
  t.inputGateKey = j.at("inputGate").get<std::string>();
  t.numInputChannels = j.at("numInputChannels").get<int>();
  for (const auto& consumers : j.at("outputs")) {
    auto& out = t.outputs.emplace_back();
    for (const auto& c : consumers) {
      net::ConsumerEndpoint e;
      e.host = c.at("host").get<std::string>();
      e.port = c.at("port").get<int>();
      e.local = c.at("local").get<bool>();
      e.gateKey = c.at("gate").get<std::string>();
      e.channel = c.at("channel").get<int>();
      e.numChannels = c.at("numChannels").get<int>();
      out.push_back(std::move(e));
    }
  }
  if (j.contains("restore")) t.restore = j["restore"];
  return t;
}

Task::Task(TaskDeploymentDescriptor tdd, std::shared_ptr<const JobArtifacts> job, net::NetworkEnvironment* network,
           StateListener listener, SnapshotListener snapshotListener, InputEndedListener inputEnded)
    : tdd_(std::move(tdd)), job_(std::move(job)), network_(network), listener_(std::move(listener)),
      snapshotListener_(std::move(snapshotListener)), inputEndedListener_(std::move(inputEnded)) {}

// The reader's side of split assignment (flink/source.h), on the task thread.
class Task::SplitChannel final : public SplitReaderContext {
 public:
  explicit SplitChannel(Task& task) : task_(task) {}
  void requestSplit() override {
    if (requested_ || noMore_ || allAssigned_) return;
    requested_ = true;
    task_.splitRequester_(task_);
  }
  bool pollSplits(std::vector<std::string>* splits) override {
    for (auto& s : ready_) splits->push_back(std::move(s));
    ready_.clear();
    return noMore_;
  }
  bool allSplitsAssigned() const override { return allAssigned_; }
  void deliver(SplitEvent&& e) {
    requested_ = false;  // answered
    for (auto& s : e.splits) ready_.push_back(std::move(s));
    noMore_ = noMore_ || e.noMore;
    allAssigned_ = allAssigned_ || e.allAssigned;
  }

 private:
  Task& task_;
  bool requested_ = false;
  bool noMore_ = false;
  bool allAssigned_ = false;
  std::vector<std::string> ready_;
};

Task::~Task() {
  cancel();
  join();
}

void Task::addSplits(std::vector<std::string> splits, bool noMoreSplits, bool allAssigned) {
  std::lock_guard<std::mutex> lock(splitMu_);
  splitEvents_.push_back({triggered_.load(), std::move(splits), noMoreSplits, allAssigned});
}

void Task::deliverSplits(int64_t beforeTrigger) {
  if (!splitChannel_) return;
  std::lock_guard<std::mutex> lock(splitMu_);
  while (!splitEvents_.empty() && splitEvents_.front().trigger < beforeTrigger) {
    splitChannel_->deliver(std::move(splitEvents_.front()));
    splitEvents_.pop_front();
  }
}

std::string Task::name() const {
  const auto& v = job_->jobGraph.vertices.at(tdd_.vertexIndex);
  return v.name + " (" + std::to_string(tdd_.subtaskIndex + 1) + "/" + std::to_string(v.parallelism) + ")";
}

void Task::start() {
  thread_ = std::thread([this] { run(); });
}

void Task::join() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Task::run() {
  Status s;
  try {
    s = runChain();
  } catch (const std::exception& e) {
    s = Status::Error(e.what());
  }
  if (!tdd_.inputGateKey.empty()) network_->releaseGate(tdd_.inputGateKey);
  if (s.ok()) {
    log::info("{} switched to FINISHED", name());
    listener_(*this, ExecutionState::kFinished, "");
  } else if (cancelled_) {
    log::info("{} switched to CANCELED", name());
    listener_(*this, ExecutionState::kCanceled, "");
  } else {
    log::error("{} switched to FAILED: {}", name(), s.message());
    listener_(*this, ExecutionState::kFailed, s.message());
  }
  done_ = true;
}

// What runChain builds and its loops share: the chain from its head operator (ops[0]) to the
// network writer (none for a sink), and how far flushing and notifying got. Members are
// destroyed in reverse order: the operators (which keep a pointer to ctx) first, ctx last.
struct Task::Chain {
  explicit Chain(const JobVertex& v) : vertex(v) {}
  const JobVertex& vertex;
  RuntimeContext ctx;
  int64_t bufferTimeoutMs = 0;
  std::vector<std::unique_ptr<BufferSink>> partitions;
  std::unique_ptr<RecordWriterBase> writer;
  std::vector<std::unique_ptr<StreamOperatorBase>> ops;
  std::chrono::steady_clock::time_point lastFlush;
  int64_t notified = 0;  // the newest completed checkpoint the operators were notified of
};

Status Task::runChain() {
  Chain chain(job_->jobGraph.vertices.at(tdd_.vertexIndex));
  Status s = buildChain(chain);
  if (!s.ok()) return s;
  listener_(*this, ExecutionState::kRunning, "");
  chain.lastFlush = std::chrono::steady_clock::now();
  s = chain.vertex.isSource() ? runSourceLoop(chain) : runInputLoop(chain);
  if (!s.ok()) return s;
  return finishAfterEndOfInput(chain);
}

Status Task::buildChain(Chain& chain) {
  const JobGraph& jg = job_->jobGraph;
  const JobVertex& vertex = chain.vertex;
  const StreamGraph& sg = job_->env->streamGraph();

  RuntimeContext& ctx = chain.ctx;
  ctx.jobId = tdd_.jobId;
  ctx.taskName = name();
  ctx.subtaskIndex = tdd_.subtaskIndex;
  ctx.parallelism = vertex.parallelism;
  ctx.maxParallelism = vertex.maxParallelism;
  ctx.attemptNumber = tdd_.attemptNumber;
  ctx.metrics = &metrics_;
  ctx.config = &job_->config;
  if (vertex.isSource() && splitRequester_) {
    splitChannel_ = std::make_unique<SplitChannel>(*this);
    ctx.splits = splitChannel_.get();
  }

  auto segment = parseMemoryBytes(job_->config.getString(options::kSegmentSize, "32kb"));
  if (!segment.ok()) return segment.status().withContext(options::kSegmentSize);
  auto bufferTimeout = job_->config.getDurationMs(options::kBufferTimeout, 100);
  if (!bufferTimeout.ok()) return bufferTimeout.status();
  chain.bufferTimeoutMs = *bufferTimeout;

  // Build the chain from its tail: network writer (one result partition per output edge; none
  // for a sink), then operators.
  if (tdd_.outputs.size() != vertex.outputs.size()) return Status::Error("deployment descriptor does not match the job graph");
  void* output = nullptr;
  if (!vertex.isSink()) {
    std::vector<WriterTarget> targets;
    for (size_t i = 0; i < vertex.outputs.size(); ++i) {
      auto rp = network_->createResultPartition(tdd_.outputs[i], &cancelled_, &metrics_.backPressuredTimeMs);
      if (!rp.ok()) return rp.status();
      chain.partitions.push_back(std::move(*rp));
      targets.push_back({chain.partitions.back().get(), &sg.edges[jg.edges[vertex.outputs[i]].streamEdge]});
    }
    const StreamNode& tail = sg.nodes[vertex.chain.back()];
    chain.writer = tail.createWriter(targets, vertex.maxParallelism, static_cast<size_t>(*segment), &metrics_);
    output = chain.writer->output();
  }
  auto& ops = chain.ops;
  ops.resize(vertex.chain.size());
  for (size_t i = vertex.chain.size(); i-- > 0;) {
    ops[i] = sg.nodes[vertex.chain[i]].createOperator(output);
    output = ops[i]->input();
  }
  Status restored = restoreState(ops, vertex);
  if (!restored.ok()) return restored;
  for (size_t i = ops.size(); i-- > 0;) {
    Status s = ops[i]->open(ctx);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// Delivers the newest checkpoint completion (it covers the earlier ones).
Status Task::notifyCompleted(Chain& chain) {
  int64_t completed = completed_.load();
  if (completed <= chain.notified) return Status::Ok();
  chain.notified = completed;
  for (auto& op : chain.ops) {
    Status s = op->notifyCheckpointComplete(completed);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// A cancel still delivers the completions that arrived before it: the TaskManager handles
// messages in order, so a stop-with-savepoint's notification is seen here.
Status Task::onCancelled(Chain& chain) {
  Status s = notifyCompleted(chain);
  if (!s.ok()) log::warn("{}: {}", name(), s.message());
  return Status::Error("task cancelled");
}

// Between records: flushes the writer every buffer timeout and notifies completed checkpoints.
void Task::housekeeping(Chain& chain) {
  if (chain.writer) {
    auto now = std::chrono::steady_clock::now();
    if (now - chain.lastFlush >= std::chrono::milliseconds(chain.bufferTimeoutMs)) {
      chain.writer->flushAll();
      chain.lastFlush = now;
    }
  }
  Status s = notifyCompleted(chain);
  if (!s.ok()) throw TaskFailure(s.message());
}

Status Task::runSourceLoop(Chain& chain) {
  auto* source = static_cast<SourceOperatorBase*>(chain.ops[0].get());
  int64_t lastTriggered = 0;
  for (;;) {
    if (cancelled_) return onCancelled(chain);
    int64_t trigger = triggered_.load();
    if (trigger > lastTriggered) {
      // Splits assigned before the JobMaster snapshotted its enumerator for this checkpoint
      // belong to the reader's snapshot; later ones wait until after it.
      deliverSplits(trigger);
      lastTriggered = trigger;
      bool drain = drain_.load();
      if (drain) source->emitFinalWatermark();
      snapshot(trigger, chain.ops, chain.vertex, chain.writer.get(),
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count(),
               0);
      if (drain) {
        source->stopInput();
        return Status::Ok();
      }
    }
    deliverSplits(lastTriggered + 1);
    InputStatus st = source->emitNext(256);
    if (st == InputStatus::kEndOfInput) return Status::Ok();
    if (st == InputStatus::kNothingAvailable) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      TaskMetrics::inc(metrics_.idleTimeMs, 1);
    }
    housekeeping(chain);
  }
}

Status Task::runInputLoop(Chain& chain) {
  using Clock = std::chrono::steady_clock;
  const JobGraph& jg = job_->jobGraph;
  const JobVertex& vertex = chain.vertex;
  const StreamGraph& sg = job_->env->streamGraph();
  auto gate = network_->gate(tdd_.inputGateKey, tdd_.numInputChannels);
  const StreamNode& head = sg.nodes[vertex.chain.front()];
  // One network input over the channels of all input edges: the watermark is the minimum
  // over all of them, and barriers align across all of them.
  std::vector<uint8_t> inputOfChannel;
  for (int e : vertex.inputs) {
    auto typeNumber = static_cast<uint8_t>(sg.edges[jg.edges[e].streamEdge].typeNumber);
    inputOfChannel.insert(inputOfChannel.end(), static_cast<size_t>(jg.numChannels(e)), typeNumber);
  }
  if (static_cast<int>(inputOfChannel.size()) != tdd_.numInputChannels) {
    return Status::Error("deployment descriptor does not match the job graph");
  }
  auto input = head.createNetworkInput(chain.ops[0]->input(), std::move(inputOfChannel), &metrics_);
  BarrierAligner aligner(
      input.get(),
      [&](int64_t id) {
        snapshot(id, chain.ops, vertex, chain.writer.get(), aligner.firstBarrierWallMs(), aligner.alignmentDurationMs());
      },
      [&](int channel) { gate->recycle(channel); });
  Buffer buffer;
  int channel = 0;
  while (!input->finished()) {
    if (cancelled_) return onCancelled(chain);
    auto waitStart = Clock::now();
    bool got = gate->poll(&channel, &buffer, 50);
    TaskMetrics::inc(metrics_.idleTimeMs, static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - waitStart).count()));
    if (got) aligner.onBuffer(channel, std::move(buffer));
    aligner.poll();  // a channel that ended can complete an alignment
    housekeeping(chain);
  }
  return Status::Ok();
}

// The end of the input is not yet the end of the job: another task may still fail and the
// job restart from a checkpoint. Close the operators, wait until the JobMaster saw every task
// reach this point (Flink's final checkpoint), then commit everything still pending.
Status Task::finishAfterEndOfInput(Chain& chain) {
  for (auto& op : chain.ops) {
    Status s = op->close();
    if (!s.ok()) return s;
  }
  if (inputEndedListener_) {
    log::info("{} reached the end of its input; waiting for every task of the job to get there", name());
    inputEndedListener_(*this);
    Status s = waitForFinalCheckpoint(chain);
    if (!s.ok()) return s;
  }
  Status s = notifyCompleted(chain);
  if (!s.ok()) return s;
  for (auto& op : chain.ops) {
    s = op->notifyCheckpointComplete(kFinalCheckpointId);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// Waits for notifyFinalCheckpointComplete() or cancel(), delivering the checkpoint completions
// that arrive meanwhile (e.g. a drained savepoint that completes now).
Status Task::waitForFinalCheckpoint(Chain& chain) {
  std::unique_lock<std::mutex> lock(waitMu_);
  for (;;) {
    if (cancelled_) {
      lock.unlock();
      return onCancelled(chain);
    }
    if (finalComplete_) return Status::Ok();
    lock.unlock();
    Status s = notifyCompleted(chain);
    if (!s.ok()) return s;
    lock.lock();
    if (cancelled_ || finalComplete_ || completed_.load() > chain.notified) continue;
    waitCv_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

void Task::snapshot(int64_t id, std::vector<std::unique_ptr<StreamOperatorBase>>& ops, const JobVertex& vertex,
                    RecordWriterBase* writer, int64_t barrierWallMs, int64_t alignmentDurationMs) {
  auto syncStart = std::chrono::steady_clock::now();
  std::vector<std::pair<std::string, OperatorSnapshot>> state;
  for (size_t i = 0; i < ops.size(); ++i) {
    OperatorSnapshot snap;
    ops[i]->snapshotState(id, snap);
    state.emplace_back(vertex.operatorIds[i], std::move(snap));
  }
  snapshotTiming_.barrierWallMs = barrierWallMs;
  snapshotTiming_.alignmentDurationMs = alignmentDurationMs;
  snapshotTiming_.syncDurationMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - syncStart).count();
  if (writer) writer->broadcastBarrier(id);
  if (snapshotListener_) snapshotListener_(*this, id, std::move(state));
}

Status Task::restoreState(std::vector<std::unique_ptr<StreamOperatorBase>>& ops, const JobVertex& vertex) {
  if (tdd_.restore.is_null()) return Status::Ok();
  auto [kgStart, kgEnd] = keyGroupRange(tdd_.subtaskIndex, vertex.maxParallelism, vertex.parallelism);
  std::map<std::string, checkpoint::TaskState> files;  // read each file once
  const auto& operators = tdd_.restore.at("operators");
  for (size_t i = 0; i < ops.size(); ++i) {
    RestoredState restored;
    restored.restored = true;
    restored.checkpointId = tdd_.restore.at("checkpointId").get<int64_t>();
    const std::string& opId = vertex.operatorIds[i];
    if (operators.contains(opId)) {
      for (const auto& file : operators[opId].at("files")) {
        std::string path = file.get<std::string>();
        auto it = files.find(path);
        if (it == files.end()) {
          auto read = checkpoint::readTaskState(path);
          if (!read.ok()) return read.status();
          it = files.emplace(path, std::move(*read)).first;
        }
        for (auto& [id, snap] : it->second) {
          if (id != opId) continue;
          restored.operatorStates.push_back(snap.operatorState);
          for (auto& [kg, bytes] : snap.keyedState) {
            if (kg >= kgStart && kg <= kgEnd) restored.keyedState.push_back(bytes);
          }
        }
      }
    }
    Status s = ops[i]->initializeState(restored);
    if (!s.ok()) return s.withContext("restoring operator " + opId);
  }
  return Status::Ok();
}

}  // namespace flink
