#include "jobmanager/job_master.h"

#include <set>

#include "flink/common/log.h"
#include "core/rpc.h"

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
    case JobStatus::kRestarting: return "RESTARTING";
  }
  return "UNKNOWN";
}

Result<RestartStrategy> RestartStrategy::fromConfig(const Configuration& config, bool checkpointing) {
  RestartStrategy r;
  // Flink's default: no restarts without checkpointing, fixed-delay (unbounded) with it.
  r.type = config.getString("restart-strategy.type", checkpointing ? "fixed-delay" : "none");
  if (r.type == "fixeddelay" || r.type == "fixed-delay") {
    r.type = "fixed-delay";
    auto attempts = config.getInt("restart-strategy.fixed-delay.attempts", checkpointing && !config.contains("restart-strategy.type") ? INT32_MAX : 1);
    auto delay = config.getDurationMs("restart-strategy.fixed-delay.delay", 1000);
    if (!attempts.ok()) return attempts.status();
    if (!delay.ok()) return delay.status();
    r.maxAttempts = static_cast<int>(std::min<int64_t>(*attempts, INT32_MAX));
    r.delayMs = *delay;
  } else if (r.type == "exponentialdelay" || r.type == "exponential-delay") {
    r.type = "exponential-delay";
    auto initial = config.getDurationMs("restart-strategy.exponential-delay.initial-backoff", 1000);
    auto maxBackoff = config.getDurationMs("restart-strategy.exponential-delay.max-backoff", 60000);
    auto attempts = config.getInt("restart-strategy.exponential-delay.attempts-before-reset-backoff", INT32_MAX);
    auto mult = config.getString("restart-strategy.exponential-delay.backoff-multiplier", "2.0");
    if (!initial.ok()) return initial.status();
    if (!maxBackoff.ok()) return maxBackoff.status();
    if (!attempts.ok()) return attempts.status();
    r.delayMs = *initial;
    r.maxBackoffMs = *maxBackoff;
    r.maxAttempts = static_cast<int>(std::min<int64_t>(*attempts, INT32_MAX));
    try {
      r.multiplier = std::stod(mult);
    } catch (...) {
      return Status::Error("configuration key 'restart-strategy.exponential-delay.backoff-multiplier': '" + mult +
                           "' is not a number");
    }
  } else if (r.type == "none" || r.type == "off" || r.type == "disable") {
    r.type = "none";
  } else {
    return Status::Error("configuration key 'restart-strategy.type': unknown strategy '" + r.type +
                         "' (expected none, fixed-delay or exponential-delay)");
  }
  return r;
}

std::optional<int64_t> RestartStrategy::delayFor(int attempt) const {
  if (type == "none" || attempt > maxAttempts) return std::nullopt;
  if (type == "fixed-delay") return delayMs;
  double d = static_cast<double>(delayMs);
  for (int i = 1; i < attempt && d < static_cast<double>(maxBackoffMs); ++i) d *= multiplier;
  return std::min(static_cast<int64_t>(d), maxBackoffMs);
}

std::string RestartStrategy::describe() const {
  if (type == "none") return "Restart deactivated.";
  if (type == "fixed-delay") {
    return fmt::format("Restart with fixed delay ({} ms). #{} restart attempts.", delayMs, maxAttempts);
  }
  return fmt::format("Restart with exponential delay: initial {} ms, max {} ms, multiplier {}", delayMs, maxBackoffMs,
                     multiplier);
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
  if ((s == JobStatus::kFinished || s == JobStatus::kCanceled) && coordinator_ && !stoppedWithSavepoint_) {
    Status recorded = coordinator_->recordJobResult(toString(s));
    if (!recorded.ok()) log::warn("Job {}: the job result is not recorded: {}", name_, recorded.message());
    if (s == JobStatus::kCanceled) coordinator_->discardOnCancellation();
  }
  if (isGloballyTerminal(s)) {
    endTimeMs_ = stateTimestamps_[static_cast<int>(s)];
    if (coordinator_) coordinator_->abortPending("job " + std::string(toString(s)));
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
  auto settings = CheckpointSettings::fromConfig(sub_.config);
  for (const Status& s : {p.status(), maxP.status(), timeout.status(), settings.status()}) {
    if (!s.ok()) return fail(s.message());
  }
  auto restart = RestartStrategy::fromConfig(sub_.config, settings->intervalMs > 0);
  if (!restart.ok()) return fail(restart.status().message());
  restartStrategy_ = *restart;
  slotRequestTimeoutMs_ = *timeout;
  auto jg = buildJobGraph((*env)->streamGraph(), static_cast<int>(*p), static_cast<int>(*maxP));
  if (!jg.ok()) return fail(jg.status().message());
  artifacts_ = std::make_shared<JobArtifacts>();
  artifacts_->env = *env;
  artifacts_->jobGraph = std::move(*jg);
  artifacts_->config = sub_.config;
  if (auto sp = sub_.config.get("execution.savepoint.path"); sp && !sp->empty()) {
    Status s = validateSavepoint(*sp, &initialRestore_);
    if (!s.ok()) return fail(s.message());
  }
  CheckpointCoordinator::Callbacks cb;
  cb.triggerSource = [this](int vertex, int subtask, int64_t id, bool drain) {
    const ExecutionVertex& ev = ejvs_[vertex].subtasks[subtask];
    send_(ev.slot.taskManagerId, {{"type", "triggerCheckpoint"}, {"jobId", sub_.jobId}, {"vertex", vertex},
                                  {"subtask", subtask}, {"attempt", ev.attempt}, {"checkpointId", id},
                                  {"drain", drain}});
  };
  cb.snapshotCoordinators = [this](int64_t) { return snapshotSourceCoordinators(); };
  cb.notifyComplete = [this](int64_t id) {
    std::set<std::string> tms;
    for (const auto& ejv : ejvs_) {
      for (const auto& ev : ejv.subtasks) tms.insert(ev.slot.taskManagerId);
    }
    for (const auto& tm : tms) send_(tm, {{"type", "notifyCheckpointComplete"}, {"jobId", sub_.jobId}, {"checkpointId", id}});
  };
  cb.failJob = [this](const std::string& reason) { handleFailure(reason, "", ""); };
  cb.checkpointDone = [this](const std::string& triggerId, const Result<int64_t>& id) {
    auto& op = checkpointOps_[triggerId];
    op.done = true;
    if (id.ok()) {
      op.checkpointId = *id;
    } else {
      op.failure = id.status().message();
    }
  };
  cb.savepointDone = [this](const std::string& triggerId, const Result<std::string>& location) {
    auto& op = savepoints_[triggerId];
    op.done = true;
    if (location.ok()) {
      op.location = *location;
    } else {
      op.failure = location.status().message();
    }
    if (triggerId == stopTrigger_) {
      stopTrigger_.clear();
      if (draining_) {
        draining_ = false;
        checkTerminal();  // the drained tasks may all have finished already
      } else if (location.ok()) {
        // The job stops to be resumed from this savepoint (an upgrade, a suspend): a later
        // JobManager of this job ID resumes from it, and the job is not recorded as done.
        stoppedWithSavepoint_ = true;
        auto meta = checkpoint::readMetadata(*location);
        Status s = meta.ok() ? coordinator_->recordStopSavepoint(meta->checkpointId, *location) : meta.status();
        if (!s.ok()) log::warn("Job {}: the stop-with-savepoint is not recorded for a restart: {}", name_, s.message());
        cancel();
      }
    }
  };
  coordinator_ = std::make_unique<CheckpointCoordinator>(*settings, sub_.jobId, &artifacts_->jobGraph, std::move(cb));
  if (!initialRestore_.is_null()) coordinator_->setCheckpointIdCounter(initialRestore_.at("checkpointId").get<int64_t>() + 1);
  // The job's own checkpoints (an earlier JobManager of this job ID) take precedence over
  // execution.savepoint.path, as Flink's completed checkpoint store does on recovery: a restarted
  // JobManager resumes where the job was, not at the savepoint it started from.
  auto own = coordinator_->recoverFromStorage();
  const bool done = coordinator_->jobResult().has_value();  // then nothing is restored (below)
  if (auto stop = coordinator_->stopSavepoint(); !done && stop && (!own || stop->first > own->second.checkpointId)) {
    // Stopped with a savepoint by an earlier JobManager: newer than its checkpoints.
    Status s = validateSavepoint(stop->second, &initialRestore_);
    if (!s.ok()) return fail(s.message());
    coordinator_->setCheckpointIdCounter(stop->first + 1);
    own.reset();
    log::info("Job {} resumes from the savepoint it was stopped with ({}, checkpoint {})", name_, stop->second, stop->first);
  }
  if (!sub_.haCheckpoint.empty()) {
    auto ha = checkpoint::readMetadata(checkpoint::pathOf(sub_.haCheckpoint));
    if (!ha.ok()) {
      log::warn("Job {}: the checkpoint the HA ConfigMap points to is not usable: {}", name_, ha.status().message());
    } else if ((!own || ha->checkpointId > own->second.checkpointId) &&
               (initialRestore_.is_null() || ha->checkpointId > initialRestore_.at("checkpointId").get<int64_t>())) {
      Status s = validateSavepoint(sub_.haCheckpoint, &initialRestore_);
      if (!s.ok()) return fail(s.message());
      coordinator_->setCheckpointIdCounter(ha->checkpointId + 1);
      own.reset();
      log::info("Job {} resumes from checkpoint {} of its HA ConfigMap ({})", name_, ha->checkpointId, sub_.haCheckpoint);
    }
  }
  if (own) {
    log::info("Job {} resumes from its own checkpoint {} ({})", name_, own->second.checkpointId, own->first);
  }

  const int firstAttempt = coordinator_->attemptBase();  // after an earlier JobManager of this job
  for (const auto& v : artifacts_->jobGraph.vertices) {
    ExecutionJobVertex ejv;
    ejv.vertex = &v;
    ejv.subtasks.resize(v.parallelism);
    for (int i = 0; i < v.parallelism; ++i) {
      ejv.subtasks[i].subtask = i;
      ejv.subtasks[i].attempt = firstAttempt;
    }
    ejvs_.push_back(std::move(ejv));
  }
  transition(JobStatus::kCreated);
  if (auto done = coordinator_->jobResult()) {
    log::info("Job {} ({}) already reached {} under an earlier JobManager ({}/job-result): it is not run again",
              name_, sub_.jobId, *done, coordinator_->jobDir());
    transition(*done == "FINISHED" ? JobStatus::kFinished : JobStatus::kCanceled);
    return;
  }
  transition(JobStatus::kRunning);
  schedulingSince_ = std::chrono::steady_clock::now();
  for (auto& ejv : ejvs_) {
    for (auto& ev : ejv.subtasks) ev.state = ExecutionState::kScheduled;
  }
  log::info("Job {} needs {} slots; restart strategy: {}; checkpointing {}", name_,
            artifacts_->jobGraph.requiredSlots(), restartStrategy_.describe(),
            settings->intervalMs > 0 ? "every " + formatDurationMs(settings->intervalMs) + " to " + coordinator_->jobDir()
                                     : std::string("disabled"));
  tick();
}

const StreamNode* JobMaster::nodeOfOperator(const std::string& operatorId) const {
  for (const auto& v : artifacts_->jobGraph.vertices) {
    for (size_t i = 0; i < v.operatorIds.size(); ++i) {
      if (v.operatorIds[i] == operatorId) return &artifacts_->env->streamGraph().nodes[v.chain[i]];
    }
  }
  return nullptr;
}

Status JobMaster::validateSavepoint(const std::string& path, nlohmann::json* restore) {
  std::string dir = checkpoint::pathOf(path);
  auto meta = checkpoint::readMetadata(dir);
  if (!meta.ok()) {
    return Status::Error("execution.savepoint.path '" + path + "' cannot be used: " + meta.status().message());
  }
  std::vector<std::string> unmapped;
  for (const auto& [opId, e] : meta->operators) {
    if (!nodeOfOperator(opId)) unmapped.push_back(opId);
  }
  auto allow = sub_.config.getBool("execution.savepoint.ignore-unclaimed-state", false);
  if (!unmapped.empty() && !(allow.ok() && *allow)) {
    std::string ids;
    for (const auto& id : unmapped) ids += (ids.empty() ? "" : ", ") + id;
    return Status::Error("Failed to rollback to checkpoint/savepoint '" + path + "': cannot map the state of operator(s) " +
                         ids + " to the new program (set allowNonRestoredState / execution.savepoint.ignore-unclaimed-state to skip it)");
  }
  for (const auto& v : artifacts_->jobGraph.vertices) {
    if (v.maxParallelism != meta->maxParallelism) {
      return Status::Error("execution.savepoint.path '" + path + "' was written with pipeline.max-parallelism " +
                           std::to_string(meta->maxParallelism) + ", the job has " + std::to_string(v.maxParallelism));
    }
  }
  json ops = json::object();
  for (const auto& [opId, e] : meta->operators) {
    json files = json::array();
    for (const auto& f : e.files) files.push_back(dir + "/" + f);
    ops[opId] = {{"parallelism", e.parallelism}, {"files", files}};
  }
  *restore = {{"checkpointId", meta->checkpointId}, {"operators", ops}, {"dir", dir}, {"coordinators", meta->coordinators}};
  log::info("Job {} restores from savepoint {} (checkpoint {})", name_, dir, meta->checkpointId);
  return Status::Ok();
}

bool JobMaster::allTasksRunning() const {
  for (const auto& ejv : ejvs_) {
    for (const auto& ev : ejv.subtasks) {
      if (ev.state != ExecutionState::kRunning || ev.inputEnded) return false;
    }
  }
  return !ejvs_.empty();
}

void JobMaster::tick() {
  if (coordinator_ && status_ == JobStatus::kRunning && slotsAllocated_) coordinator_->tick(allTasksRunning());
  if (status_ == JobStatus::kRunning && slotsAllocated_) discoverSplits();
  if (status_ == JobStatus::kRestarting && restartAt_ && std::chrono::steady_clock::now() >= *restartAt_) restart();
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
    handleFailure(fmt::format("NoResourceAvailableException: could not acquire the minimum required resources: the job "
                              "needs {} slots, the cluster has {} free ({} TaskManagers) after {} ({})",
                              needed, rm_->freeSlots(), rm_->taskManagers().size(),
                              formatDurationMs(slotRequestTimeoutMs_), options::kSlotRequestTimeout),
                  "", "");
  }
}

std::string JobMaster::gateKey(int vertex, int subtask, int attempt) const {
  return sub_.jobId + "/" + std::to_string(attempt) + "/" + std::to_string(vertex) + "/" + std::to_string(subtask);
}

void JobMaster::deploy(const std::vector<SlotRef>& slots) {
  // Restore from the newest completed checkpoint, else the initial savepoint, else start fresh.
  // The sinks commit what the restored checkpoint prepared and clean their output themselves,
  // on the TaskManagers (where the output is).
  json restore = initialRestore_;
  auto latest = coordinator_->latestCompleted();
  if (latest && !restore.is_null() && latest->second.checkpointId <= restore.at("checkpointId").get<int64_t>()) {
    latest.reset();  // the savepoint is newer (a job stopped with it, then resumed)
  }
  if (latest) {
    const auto& [dir, meta] = *latest;
    json ops = json::object();
    for (const auto& [opId, e] : meta.operators) {
      json files = json::array();
      for (const auto& f : e.files) files.push_back(dir + "/" + f);
      ops[opId] = {{"parallelism", e.parallelism}, {"files", files}};
    }
    restore = {{"checkpointId", meta.checkpointId}, {"operators", ops}, {"dir", dir}, {"coordinators", meta.coordinators}};
  }
  if (!restore.is_null()) {
    log::info("Restoring job {} from checkpoint {} ({})", name_, restore.at("checkpointId").get<int64_t>(),
              restore.at("dir").get<std::string>());
    lastRestore_ = RestoredCheckpoint{restore.at("checkpointId").get<int64_t>(), nowMs(), !latest,
                                      restore.at("dir").get<std::string>()};
  }
  if (Status s = resetSourceCoordinators(restore); !s.ok()) {
    slotsAllocated_ = false;
    rm_->releaseSlots(sub_.jobId);
    return fail(s.message());
  }
  finalCheckpointSent_ = false;
  if (!ejvs_.empty() && !ejvs_[0].subtasks.empty()) {
    Status recorded = coordinator_->recordAttempt(ejvs_[0].subtasks[0].attempt);
    if (!recorded.ok()) log::warn("Job {}: {} (a later JobManager may reuse this attempt's file names)", name_, recorded.message());
  }
  json job = {{"jobId", sub_.jobId},
              {"jarURI", sub_.spec.jarURI},
              {"entryClass", sub_.spec.entryClass},
              {"args", sub_.spec.args},
              {"config", sub_.config.entries()},
              {"checkpointDir", coordinator_->jobDir()}};
  if (sub_.library) {
    job["library"] = {{"key", sub_.library->key}, {"name", sub_.library->name}, {"port", sub_.library->port}};
  }
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
      tdd.restore = restore;
      if (!v.isSource()) {
        tdd.inputGateKey = gateKey(v.index, ev.subtask, ev.attempt);
        tdd.numInputChannels = jg.numInputChannels(v.index);
      }
      for (int e : v.outputs) {
        const JobEdge& out = jg.edges[e];
        const JobVertex& target = jg.vertices[out.targetVertex];
        int offset = jg.channelOffset(e);
        int gateChannels = jg.numInputChannels(target.index);
        auto endpoint = [&](int consumer, int channel) {
          const TaskManagerRecord* ctm = rm_->find(slots[consumer].taskManagerId);
          net::ConsumerEndpoint c;
          c.host = ctm->host;
          c.port = ctm->dataPort;
          c.local = ctm->id == tm->id;
          c.gateKey = gateKey(target.index, consumer, ev.attempt);
          c.channel = offset + channel;
          c.numChannels = gateChannels;
          return c;
        };
        auto& consumers = tdd.outputs.emplace_back();
        if (out.partitioning == Partitioning::kForward) {
          consumers.push_back(endpoint(ev.subtask, 0));
        } else {
          for (int c = 0; c < target.parallelism; ++c) consumers.push_back(endpoint(c, ev.subtask));
        }
      }
      ev.state = ExecutionState::kDeploying;
      ev.startTimeMs = nowMs();
      ev.endTimeMs = -1;
      ev.metrics = json::object();
      ev.inputEnded = false;
      log::info("Deploying {} ({}/{}) attempt #{} to TaskManager {} slot {}", v.name, ev.subtask + 1, v.parallelism,
                ev.attempt, ev.slot.taskManagerId, ev.slot.index);
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
    if (ev->state != ExecutionState::kCanceling) ev->state = ExecutionState::kRunning;
    return;
  }
  ev->endTimeMs = nowMs();
  if (ev->state == ExecutionState::kCanceling) {
    // Whatever the task reports last, a cancel in progress completes as CANCELED (as Flink).
    ev->state = ExecutionState::kCanceled;
  } else if (state == "FINISHED") {
    ev->state = ExecutionState::kFinished;
  } else if (state == "CANCELED") {
    ev->state = ExecutionState::kCanceled;
  } else {
    ev->state = ExecutionState::kFailed;
    const auto& v = *ejvs_[msg.at("vertex").get<int>()].vertex;
    ev->failure = msg.value("error", "unknown error");
    std::string task = fmt::format("{} ({}/{})", v.name, ev->subtask + 1, v.parallelism);
    handleFailure(fmt::format("{} on {} failed: {}", task, ev->host, ev->failure), task, ev->host);
  }
  checkTerminal();
}

void JobMaster::onTaskMetrics(const json& task) {
  ExecutionVertex* ev = find(task.at("vertex"), task.at("subtask"), task.at("attempt"));
  if (ev && !isTerminal(ev->state)) ev->metrics = task.at("metrics");
}

void JobMaster::onCheckpointAck(const json& msg) {
  if (coordinator_ && find(msg.at("vertex"), msg.at("subtask"), msg.at("attempt"))) coordinator_->acknowledge(msg);
}

void JobMaster::onCheckpointDecline(const json& msg) {
  if (coordinator_ && find(msg.at("vertex"), msg.at("subtask"), msg.at("attempt"))) coordinator_->decline(msg);
}

void JobMaster::onTaskInputEnded(const json& msg) {
  ExecutionVertex* ev = find(msg.at("vertex"), msg.at("subtask"), msg.at("attempt"));
  if (!ev || isTerminal(ev->state)) return;
  ev->inputEnded = true;
  checkTerminal();
}

Status JobMaster::resetSourceCoordinators(const json& restore) {
  const StreamGraph& sg = artifacts_->env->streamGraph();
  if (sourceCoordinators_.empty()) {
    for (const auto& v : artifacts_->jobGraph.vertices) {
      if (!v.isSource()) continue;
      const StreamNode& head = sg.nodes[v.chain.front()];
      if (!head.createEnumerator) continue;
      SourceCoordinator c;
      c.vertex = v.index;
      c.operatorId = v.operatorIds.front();
      c.enumerator = head.createEnumerator();
      if (c.enumerator) sourceCoordinators_.push_back(std::move(c));
    }
  }
  for (auto& c : sourceCoordinators_) {
    const JobVertex& v = artifacts_->jobGraph.vertices[c.vertex];
    c.waiting.clear();
    c.enumerator = sg.nodes[v.chain.front()].createEnumerator();
    c.nextDiscovery = std::chrono::steady_clock::now() + std::chrono::milliseconds(c.enumerator->discoveryIntervalMs());
    const json* state = nullptr;
    if (!restore.is_null() && restore.contains("coordinators") && restore["coordinators"].contains(c.operatorId)) {
      state = &restore["coordinators"][c.operatorId];
    }
    if (state) {
      Status s = c.enumerator->restoreState(state->get<std::string>());
      if (!s.ok()) return s.withContext("restoring the split enumerator of " + v.name);
      log::info("Job {}: split enumerator of {} restored from checkpoint {}", name_, v.name,
                restore.at("checkpointId").get<int64_t>());
    } else if (!restore.is_null() && restore.at("operators").contains(c.operatorId)) {
      return Status::Error("checkpoint " + restore.at("dir").get<std::string>() + " has the positions of the readers of " +
                           v.name + " but no split enumerator state (written before split-based sources?): it cannot "
                           "be restored exactly once");
    } else {
      Status s = c.enumerator->start();
      if (!s.ok()) return s.withContext(v.name);
    }
  }
  return Status::Ok();
}

std::map<std::string, std::string> JobMaster::snapshotSourceCoordinators() {
  std::map<std::string, std::string> states;
  for (auto& c : sourceCoordinators_) states[c.operatorId] = c.enumerator->snapshotState();
  return states;
}

bool JobMaster::answerSplitRequest(SourceCoordinator& c, int subtask) {
  // "addSplits" to one reader: a split, or none with noMoreSplits (the input ends) or
  // allSplitsAssigned (none will come, but wait for the others).
  auto answer = [&](int s, const json& splits, bool noMore, bool allAssigned) {
    const ExecutionVertex& to = ejvs_[c.vertex].subtasks[s];
    send_(to.slot.taskManagerId, {{"type", "addSplits"}, {"jobId", sub_.jobId}, {"vertex", c.vertex},
                                  {"subtask", s}, {"attempt", to.attempt}, {"splits", splits},
                                  {"noMoreSplits", noMore}, {"allSplitsAssigned", allAssigned}});
  };
  std::string split;
  if (c.enumerator->nextSplit(subtask, &split)) {
    answer(subtask, json::array({split}), false, false);
    return true;
  }
  if (!c.enumerator->noMoreSplits()) return false;  // continuous: answered when a split is discovered
  // Bounded and nothing left: the readers end together, once every one of them asked. Until
  // then the idle ones wait, RUNNING, so that checkpoints (which need every task running) go on
  // while the others read their last splits; they know no split will come (their watermark
  // goes to the end at once).
  c.waiting.insert(subtask);
  for (const auto& other : ejvs_[c.vertex].subtasks) {
    if (!c.waiting.count(other.subtask) && !isTerminal(other.state)) {
      answer(subtask, json::array(), false, true);
      return true;
    }
  }
  for (int s : c.waiting) answer(s, json::array(), true, true);
  c.waiting.clear();
  return true;
}

void JobMaster::onSplitRequest(const json& msg) {
  if (status_ != JobStatus::kRunning) return;
  int vertex = msg.at("vertex"), subtask = msg.at("subtask");
  ExecutionVertex* ev = find(vertex, subtask, msg.at("attempt"));
  if (!ev || isTerminal(ev->state) || ev->state == ExecutionState::kCanceling) return;
  for (auto& c : sourceCoordinators_) {
    if (c.vertex != vertex) continue;
    if (!answerSplitRequest(c, subtask)) c.waiting.insert(subtask);
    return;
  }
  log::warn("Job {}: split request of vertex {} subtask {}, which has no split enumerator", name_, vertex, subtask);
}

void JobMaster::discoverSplits() {
  auto now = std::chrono::steady_clock::now();
  for (auto& c : sourceCoordinators_) {
    int64_t interval = c.enumerator->discoveryIntervalMs();
    if (interval <= 0 || now < c.nextDiscovery) continue;
    c.nextDiscovery = now + std::chrono::milliseconds(interval);
    Status s = c.enumerator->discover();
    if (!s.ok()) log::warn("Job {}: split discovery failed (retried in {} ms): {}", name_, interval, s.message());
    std::set<int> waiting;
    waiting.swap(c.waiting);
    for (int subtask : waiting) {
      const ExecutionVertex& ev = ejvs_[c.vertex].subtasks[subtask];
      if (isTerminal(ev.state) || ev.state == ExecutionState::kCanceling) continue;
      if (!answerSplitRequest(c, subtask)) c.waiting.insert(subtask);
    }
  }
}

void JobMaster::onTaskManagerLost(const std::string& taskManagerId, const std::string& reason) {
  if (isGloballyTerminal(status_)) return;
  bool affected = false;
  for (auto& ejv : ejvs_) {
    for (auto& ev : ejv.subtasks) {
      if (ev.slot.taskManagerId == taskManagerId && !isTerminal(ev.state) && ev.state != ExecutionState::kScheduled) {
        ev.state = ev.state == ExecutionState::kCanceling ? ExecutionState::kCanceled : ExecutionState::kFailed;
        ev.endTimeMs = nowMs();
        ev.failure = reason;
        affected = true;
      }
    }
  }
  if (affected) {
    handleFailure("TaskManager " + taskManagerId + " was lost: " + reason, "", taskManagerId);
    checkTerminal();
  }
}

void JobMaster::handleFailure(const std::string& cause, const std::string& taskName, const std::string& endpoint) {
  if (isGloballyTerminal(status_) || status_ == JobStatus::kFailing) return;
  exceptions_.push_back({cause, nowMs(), taskName, endpoint});
  rootCause_ = cause;
  rootCauseTimeMs_ = nowMs();
  if (status_ == JobStatus::kRestarting || status_ == JobStatus::kCancelling) {
    checkTerminal();
    return;
  }
  auto delay = artifacts_ ? restartStrategy_.delayFor(numRestarts_ + 1) : std::nullopt;
  if (delay && status_ == JobStatus::kRunning) {
    log::warn("Job {} ({}) failed: {}; restarting in {} ms (restart {})", name_, sub_.jobId, cause, *delay,
              numRestarts_ + 1);
    transition(JobStatus::kRestarting);
    restartAt_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(*delay);
    if (coordinator_) coordinator_->abortPending("job restarting: " + cause);
    cancelTasks();
    return;
  }
  fail(cause);
}

void JobMaster::cancelTasks() {
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
}

void JobMaster::restart() {
  // Every task of the previous attempt must have ended before the new attempt starts.
  for (const auto& ejv : ejvs_) {
    for (const auto& ev : ejv.subtasks) {
      if (!isTerminal(ev.state)) return;
    }
  }
  restartAt_.reset();
  numRestarts_++;
  rm_->releaseSlots(sub_.jobId);
  slotsAllocated_ = false;
  for (auto& ejv : ejvs_) {
    for (auto& ev : ejv.subtasks) {
      ev.attempt++;
      ev.state = ExecutionState::kScheduled;
      ev.failure.clear();
    }
  }
  schedulingSince_ = std::chrono::steady_clock::now();
  transition(JobStatus::kRunning);
  tick();
}

void JobMaster::fail(const std::string& cause) {
  if (isGloballyTerminal(status_) || status_ == JobStatus::kFailing) return;
  log::error("Job {} ({}) failed: {}", name_, sub_.jobId, cause);
  if (exceptions_.empty() || exceptions_.back().message != cause) exceptions_.push_back({cause, nowMs(), "", ""});
  rootCause_ = cause;
  rootCauseTimeMs_ = nowMs();
  transition(JobStatus::kFailing);
  cancelTasks();
  checkTerminal();
}

void JobMaster::cancel() {
  if (isGloballyTerminal(status_)) return;
  transition(JobStatus::kCancelling);
  restartAt_.reset();
  cancelTasks();
  checkTerminal();
}

Result<std::string> JobMaster::triggerSavepoint(const std::string& targetDirectory, bool cancelJob, bool stop,
                                                bool drain, const std::string& requestedTriggerId) {
  if (!requestedTriggerId.empty() && savepoints_.count(requestedTriggerId)) return requestedTriggerId;
  if (status_ != JobStatus::kRunning || !coordinator_) {
    return Status::Error(std::string("the job is ") + toString(status_) + ": savepoints need a RUNNING job");
  }
  std::string target = targetDirectory.empty() ? sub_.config.getString("state.savepoints.dir", "") : targetDirectory;
  if (target.empty()) {
    return Status::Error("no target-directory given and state.savepoints.dir is not configured");
  }
  std::string triggerId = requestedTriggerId.empty() ? randomId() : requestedTriggerId;
  Status s = coordinator_->triggerSavepoint(target, triggerId, allTasksRunning(), stop && drain, cancelJob || stop);
  if (!s.ok()) return s;
  savepoints_[triggerId] = SavepointOperation{};
  if (cancelJob || stop) {
    stopTrigger_ = triggerId;
    stopFinishes_ = stop;
    draining_ = stop && drain;
  }
  return triggerId;
}

Result<std::string> JobMaster::triggerCheckpoint(const std::string& requestedTriggerId) {
  if (!requestedTriggerId.empty() && checkpointOps_.count(requestedTriggerId)) return requestedTriggerId;
  if (status_ != JobStatus::kRunning || !coordinator_) {
    return Status::Error(std::string("the job is ") + toString(status_) + ": checkpoints need a RUNNING job");
  }
  std::string triggerId = requestedTriggerId.empty() ? randomId() : requestedTriggerId;
  Status s = coordinator_->triggerCheckpoint(triggerId, allTasksRunning());
  if (!s.ok()) return s;
  checkpointOps_[triggerId] = CheckpointOperation{};
  return triggerId;
}

const CheckpointOperation* JobMaster::checkpointOperation(const std::string& triggerId) const {
  auto it = checkpointOps_.find(triggerId);
  return it == checkpointOps_.end() ? nullptr : &it->second;
}

const SavepointOperation* JobMaster::savepointOperation(const std::string& triggerId) const {
  auto it = savepoints_.find(triggerId);
  return it == savepoints_.end() ? nullptr : &it->second;
}

void JobMaster::completeFinalCheckpoint() {
  // Every task reported the end of its input after acknowledging its earlier checkpoints: a
  // checkpoint still pending can no longer complete. What its sinks prepared is not lost: they
  // keep every uncommitted committable and commit them all now.
  finalCheckpointSent_ = true;
  if (coordinator_) coordinator_->abortPending("the tasks finished before it completed (the final checkpoint commits its output)");
  log::info("Job {} ({}): every task reached the end of its input; committing the output", name_, sub_.jobId);
  std::set<std::string> tms;
  for (const auto& ejv : ejvs_) {
    for (const auto& ev : ejv.subtasks) tms.insert(ev.slot.taskManagerId);
  }
  for (const auto& tm : tms) {
    send_(tm, {{"type", "notifyCheckpointComplete"}, {"jobId", sub_.jobId}, {"checkpointId", kFinalCheckpointId}, {"final", true}});
  }
}

void JobMaster::checkTerminal() {
  bool allTerminal = true, allFinished = true, allInputEnded = true;
  for (const auto& ejv : ejvs_) {
    for (const auto& ev : ejv.subtasks) {
      allTerminal = allTerminal && isTerminal(ev.state);
      allFinished = allFinished && ev.state == ExecutionState::kFinished;
      allInputEnded = allInputEnded && (ev.state == ExecutionState::kFinished || (ev.state == ExecutionState::kRunning && ev.inputEnded));
    }
  }
  if (status_ == JobStatus::kFailing && allTerminal) {
    transition(JobStatus::kFailed);
  } else if (status_ == JobStatus::kCancelling && allTerminal) {
    transition(stopFinishes_ ? JobStatus::kFinished : JobStatus::kCanceled);
  } else if (status_ == JobStatus::kRunning && allFinished && !ejvs_.empty() && finalCheckpointSent_) {
    transition(JobStatus::kFinished);
  } else if (status_ == JobStatus::kRunning && allInputEnded && !ejvs_.empty() && !draining_ && !finalCheckpointSent_) {
    completeFinalCheckpoint();
  } else if (status_ == JobStatus::kInitializing && allTerminal) {
    transition(JobStatus::kFailed);
  } else if (status_ == JobStatus::kRestarting && allTerminal && restartAt_ &&
             std::chrono::steady_clock::now() >= *restartAt_) {
    restart();
  }
}

std::map<std::string, std::string> JobMaster::userConfig() const {
  if (!artifacts_) return {};
  return artifacts_->env->streamGraph().globalJobParameters;
}

}  // namespace flink
