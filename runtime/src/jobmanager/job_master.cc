#include "jobmanager/job_master.h"

#include "core/log.h"

namespace flink {

using nlohmann::json;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* toString(JobStatus s) {
  switch (s) {
    case JobStatus::kInitializing: return "INITIALIZING";
    case JobStatus::kCreated: return "CREATED";
    case JobStatus::kRunning: return "RUNNING";
    case JobStatus::kFailing: return "FAILING";
    case JobStatus::kFailed: return "FAILED";
    case JobStatus::kCancelling: return "CANCELLING";
    case JobStatus::kCanceled: return "CANCELED";
    case JobStatus::kFinished: return "FINISHED";
  }
  return "UNKNOWN";
}

bool isGloballyTerminal(JobStatus s) {
  return s == JobStatus::kFailed || s == JobStatus::kCanceled || s == JobStatus::kFinished;
}

ExecutionState ExecutionJobVertex::aggregateState() const {
  // As Flink's ExecutionJobVertex.getAggregateExecutionState: the "most advanced" state.
  int counts[9] = {0};
  for (const auto& ev : subtasks) counts[static_cast<int>(ev.state)]++;
  auto n = static_cast<int>(subtasks.size());
  if (counts[static_cast<int>(ExecutionState::kFailed)]) return ExecutionState::kFailed;
  if (counts[static_cast<int>(ExecutionState::kCanceling)]) return ExecutionState::kCanceling;
  if (counts[static_cast<int>(ExecutionState::kCanceled)]) return ExecutionState::kCanceled;
  if (counts[static_cast<int>(ExecutionState::kRunning)]) return ExecutionState::kRunning;
  if (counts[static_cast<int>(ExecutionState::kFinished)] == n) return ExecutionState::kFinished;
  if (counts[static_cast<int>(ExecutionState::kFinished)]) return ExecutionState::kRunning;
  if (counts[static_cast<int>(ExecutionState::kInitializing)]) return ExecutionState::kInitializing;
  if (counts[static_cast<int>(ExecutionState::kDeploying)]) return ExecutionState::kDeploying;
  if (counts[static_cast<int>(ExecutionState::kScheduled)]) return ExecutionState::kScheduled;
  return ExecutionState::kCreated;
}

double ExecutionJobVertex::metricSum(const std::string& name) const {
  double sum = 0;
  for (const auto& ev : subtasks) {
    auto it = ev.metrics.find(name);
    if (it != ev.metrics.end() && it->is_number()) sum += it->get<double>();
  }
  return sum;
}

JobMaster::JobMaster(JobSubmission submission, ResourceManager* rm, SendFn send)
    : sub_(std::move(submission)), rm_(rm), send_(std::move(send)) {
  name_ = sub_.spec.entryClass;
  startTimeMs_ = nowMs();
  stateTimestamps_[static_cast<int>(JobStatus::kInitializing)] = startTimeMs_;
}

void JobMaster::transition(JobStatus s) {
  if (status_ == s) return;
  log::info("Job {} ({}) switched from state {} to {}.", name_, sub_.jobId, toString(status_), toString(s));
  status_ = s;
  stateTimestamps_[static_cast<int>(s)] = nowMs();
  if (isGloballyTerminal(s)) {
    endTimeMs_ = stateTimestamps_[static_cast<int>(s)];
    rm_->releaseSlots(sub_.jobId);
    for (const auto& [id, tm] : rm_->taskManagers()) send_(id, {{"type", "releaseJob"}, {"jobId", sub_.jobId}});
  }
}

void JobMaster::start() {
  auto env = buildJob(sub_.spec, sub_.config);
  if (!env.ok()) return fail(env.status().message());
  name_ = (*env)->streamGraph().jobName;
  auto p = sub_.config.getInt(options::kParallelismDefault, 1);
  auto maxP = sub_.config.getInt(options::kMaxParallelism, 128);
  auto timeout = sub_.config.getDurationMs(options::kSlotRequestTimeout, 300000);
  for (const Status& s : {p.status(), maxP.status(), timeout.status()}) {
    if (!s.ok()) return fail(s.message());
  }
  slotRequestTimeoutMs_ = *timeout;
  auto jg = buildJobGraph((*env)->streamGraph(), static_cast<int>(*p), static_cast<int>(*maxP));
  if (!jg.ok()) return fail(jg.status().message());
  artifacts_ = std::make_shared<JobArtifacts>();
  artifacts_->env = *env;
  artifacts_->jobGraph = std::move(*jg);
  artifacts_->config = sub_.config;
  for (const auto& v : artifacts_->jobGraph.vertices) {
    ExecutionJobVertex ejv;
    ejv.vertex = &v;
    ejv.subtasks.resize(v.parallelism);
    for (int i = 0; i < v.parallelism; ++i) ejv.subtasks[i].subtask = i;
    ejvs_.push_back(std::move(ejv));
  }
  transition(JobStatus::kCreated);
  transition(JobStatus::kRunning);
  schedulingSince_ = std::chrono::steady_clock::now();
  for (auto& ejv : ejvs_) {
    for (auto& ev : ejv.subtasks) ev.state = ExecutionState::kScheduled;
  }
  log::info("Job {} needs {} slots", name_, artifacts_->jobGraph.requiredSlots());
  tick();
}

void JobMaster::tick() {
  if (status_ != JobStatus::kRunning || slotsAllocated_ || !artifacts_) return;
  int needed = artifacts_->jobGraph.requiredSlots();
  auto slots = rm_->allocateSlots(sub_.jobId, needed);
  if (slots) {
    slotsAllocated_ = true;
    deploy(*slots);
    return;
  }
  auto waited = std::chrono::steady_clock::now() - schedulingSince_;
  if (waited > std::chrono::milliseconds(slotRequestTimeoutMs_)) {
    fail(fmt::format("NoResourceAvailableException: could not acquire the minimum required resources: the job needs "
                     "{} slots, the cluster has {} free ({} TaskManagers) after {} ({})",
                     needed, rm_->freeSlots(), rm_->taskManagers().size(), formatDurationMs(slotRequestTimeoutMs_),
                     options::kSlotRequestTimeout));
  }
}

std::string JobMaster::gateKey(int vertex, int subtask, int attempt) const {
  return sub_.jobId + "/" + std::to_string(attempt) + "/" + std::to_string(vertex) + "/" + std::to_string(subtask);
}

void JobMaster::deploy(const std::vector<SlotRef>& slots) {
  const StreamGraph& sg = artifacts_->env->streamGraph();
  for (const auto& node : sg.nodes) {
    if (!node.initializeOnMaster) continue;
    Status s = node.initializeOnMaster();
    if (!s.ok()) return fail(node.name + ": " + s.message());
  }
  json job = {{"jobId", sub_.jobId},
              {"jarURI", sub_.spec.jarURI},
              {"entryClass", sub_.spec.entryClass},
              {"args", sub_.spec.args},
              {"config", sub_.config.entries()}};
  const JobGraph& jg = artifacts_->jobGraph;
  for (auto& ejv : ejvs_) {
    const JobVertex& v = *ejv.vertex;
    for (auto& ev : ejv.subtasks) {
      ev.slot = slots[ev.subtask];
      const TaskManagerRecord* tm = rm_->find(ev.slot.taskManagerId);
      ev.host = tm->host;
      TaskDeploymentDescriptor tdd;
      tdd.jobId = sub_.jobId;
      tdd.vertexIndex = v.index;
      tdd.subtaskIndex = ev.subtask;
      tdd.attemptNumber = ev.attempt;
      if (v.input >= 0) {
        const JobEdge& in = jg.edges[v.input];
        tdd.inputGateKey = gateKey(v.index, ev.subtask, ev.attempt);
        tdd.numInputChannels = in.partitioning == Partitioning::kForward ? 1 : jg.vertices[in.sourceVertex].parallelism;
      }
      if (v.output >= 0) {
        const JobEdge& out = jg.edges[v.output];
        const JobVertex& target = jg.vertices[out.targetVertex];
        auto endpoint = [&](int consumer, int channel, int numChannels) {
          const TaskManagerRecord* ctm = rm_->find(slots[consumer].taskManagerId);
          net::ConsumerEndpoint e;
          e.host = ctm->host;
          e.port = ctm->dataPort;
          e.local = ctm->id == tm->id;
          e.gateKey = gateKey(target.index, consumer, 0);
          e.channel = channel;
          e.numChannels = numChannels;
          return e;
        };
        if (out.partitioning == Partitioning::kForward) {
          tdd.consumers.push_back(endpoint(ev.subtask, 0, 1));
        } else {
          for (int c = 0; c < target.parallelism; ++c) tdd.consumers.push_back(endpoint(c, ev.subtask, v.parallelism));
        }
      }
      ev.state = ExecutionState::kDeploying;
      ev.startTimeMs = nowMs();
      log::info("Deploying {} ({}/{}) to TaskManager {} slot {}", v.name, ev.subtask + 1, v.parallelism,
                ev.slot.taskManagerId, ev.slot.index);
      send_(ev.slot.taskManagerId, {{"type", "submitTask"}, {"job", job}, {"tdd", tdd.toJson()}});
    }
  }
}

ExecutionVertex* JobMaster::find(int vertex, int subtask, int attempt) {
  if (vertex < 0 || vertex >= static_cast<int>(ejvs_.size())) return nullptr;
  auto& subtasks = ejvs_[vertex].subtasks;
  if (subtask < 0 || subtask >= static_cast<int>(subtasks.size())) return nullptr;
  ExecutionVertex* ev = &subtasks[subtask];
  return ev->attempt == attempt ? ev : nullptr;
}

void JobMaster::onTaskState(const json& msg) {
  ExecutionVertex* ev = find(msg.at("vertex"), msg.at("subtask"), msg.at("attempt"));
  if (!ev || isTerminal(ev->state)) return;
  std::string state = msg.at("state");
  if (msg.contains("metrics")) ev->metrics = msg["metrics"];
  if (state == "RUNNING") {
    ev->state = ExecutionState::kRunning;
    return;
  }
  ev->endTimeMs = nowMs();
  if (state == "FINISHED") {
    ev->state = ExecutionState::kFinished;
  } else if (state == "CANCELED") {
    ev->state = ExecutionState::kCanceled;
  } else {
    ev->state = ExecutionState::kFailed;
    const auto& v = *ejvs_[msg.at("vertex").get<int>()].vertex;
    ev->failure = msg.value("error", "unknown error");
    fail(fmt::format("{} ({}/{}) on {} failed: {}", v.name, ev->subtask + 1, v.parallelism, ev->host, ev->failure));
  }
  checkTerminal();
}

void JobMaster::onTaskMetrics(const json& task) {
  ExecutionVertex* ev = find(task.at("vertex"), task.at("subtask"), task.at("attempt"));
  if (ev && !isTerminal(ev->state)) ev->metrics = task.at("metrics");
}

void JobMaster::onTaskManagerLost(const std::string& taskManagerId, const std::string& reason) {
  if (isGloballyTerminal(status_)) return;
  bool affected = false;
  for (auto& ejv : ejvs_) {
    for (auto& ev : ejv.subtasks) {
      if (ev.slot.taskManagerId == taskManagerId && !isTerminal(ev.state) && ev.state != ExecutionState::kScheduled) {
        ev.state = ExecutionState::kFailed;
        ev.endTimeMs = nowMs();
        ev.failure = reason;
        affected = true;
      }
    }
  }
  if (affected) {
    fail("TaskManager " + taskManagerId + " was lost: " + reason);
    checkTerminal();
  }
}

void JobMaster::fail(const std::string& cause) {
  if (isGloballyTerminal(status_) || status_ == JobStatus::kFailing) return;
  log::error("Job {} ({}) failed: {}", name_, sub_.jobId, cause);
  rootCause_ = cause;
  rootCauseTimeMs_ = nowMs();
  transition(JobStatus::kFailing);
  for (auto& ejv : ejvs_) {
    for (auto& ev : ejv.subtasks) {
      if (ev.state == ExecutionState::kScheduled || ev.state == ExecutionState::kCreated) {
        ev.state = ExecutionState::kCanceled;
      } else if (!isTerminal(ev.state)) {
        ev.state = ExecutionState::kCanceling;
        send_(ev.slot.taskManagerId, {{"type", "cancelTask"}, {"jobId", sub_.jobId}, {"vertex", ejv.vertex->index},
                                      {"subtask", ev.subtask}, {"attempt", ev.attempt}});
      }
    }
  }
  checkTerminal();
}

void JobMaster::cancel() {
  if (isGloballyTerminal(status_)) return;
  transition(JobStatus::kCancelling);
  for (auto& ejv : ejvs_) {
    for (auto& ev : ejv.subtasks) {
      if (ev.state == ExecutionState::kScheduled || ev.state == ExecutionState::kCreated) {
        ev.state = ExecutionState::kCanceled;
      } else if (!isTerminal(ev.state)) {
        ev.state = ExecutionState::kCanceling;
        send_(ev.slot.taskManagerId, {{"type", "cancelTask"}, {"jobId", sub_.jobId}, {"vertex", ejv.vertex->index},
                                      {"subtask", ev.subtask}, {"attempt", ev.attempt}});
      }
    }
  }
  checkTerminal();
}

void JobMaster::checkTerminal() {
  bool allTerminal = true, allFinished = true;
  for (const auto& ejv : ejvs_) {
    for (const auto& ev : ejv.subtasks) {
      allTerminal = allTerminal && isTerminal(ev.state);
      allFinished = allFinished && ev.state == ExecutionState::kFinished;
    }
  }
  if (status_ == JobStatus::kFailing && allTerminal) {
    transition(JobStatus::kFailed);
  } else if (status_ == JobStatus::kCancelling && allTerminal) {
    transition(JobStatus::kCanceled);
  } else if (status_ == JobStatus::kRunning && allFinished && !ejvs_.empty()) {
    transition(JobStatus::kFinished);
  } else if (status_ == JobStatus::kInitializing && allTerminal) {
    transition(JobStatus::kFailed);
  }
}

std::map<std::string, std::string> JobMaster::userConfig() const {
  if (!artifacts_) return {};
  return artifacts_->env->streamGraph().globalJobParameters;
}

}  // namespace flink
