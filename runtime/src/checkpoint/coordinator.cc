#include "checkpoint/coordinator.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "flink/common/log.h"
#include "core/rpc.h"
#include "graph/job_graph.h"

namespace flink {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Result<CheckpointSettings> CheckpointSettings::fromConfig(const Configuration& config) {
  CheckpointSettings s;
  auto interval = config.getDurationMs("execution.checkpointing.interval", 0);
  auto timeout = config.getDurationMs("execution.checkpointing.timeout", 600000);
  auto concurrent = config.getInt("execution.checkpointing.max-concurrent-checkpoints", 1);
  auto tolerable = config.getInt("execution.checkpointing.tolerable-failed-checkpoints", 0);
  auto retained = config.getInt("state.checkpoints.num-retained", 1);
  for (const Status& st : {interval.status(), timeout.status(), concurrent.status(), tolerable.status(), retained.status()}) {
    if (!st.ok()) return st;
  }
  s.intervalMs = *interval;
  s.timeoutMs = *timeout;
  s.maxConcurrent = static_cast<int>(std::max<int64_t>(1, *concurrent));
  s.tolerableFailures = static_cast<int>(std::max<int64_t>(0, *tolerable));
  s.numRetained = static_cast<int>(std::max<int64_t>(1, *retained));
  std::string retention = config.getString("execution.checkpointing.externalized-checkpoint-retention",
                                            "NO_EXTERNALIZED_CHECKPOINTS");
  if (retention != "NO_EXTERNALIZED_CHECKPOINTS" && retention != "DELETE_ON_CANCELLATION" &&
      retention != "RETAIN_ON_CANCELLATION") {
    return Status::Error("execution.checkpointing.externalized-checkpoint-retention: '" + retention +
                         "' is not one of RETAIN_ON_CANCELLATION, DELETE_ON_CANCELLATION, NO_EXTERNALIZED_CHECKPOINTS");
  }
  s.retainOnCancellation = retention == "RETAIN_ON_CANCELLATION";
  const char* tmp = std::getenv("TMPDIR");
  s.rootDir = checkpoint::pathOf(
      config.getString("state.checkpoints.dir", std::string(tmp ? tmp : "/tmp") + "/flink-cpp-checkpoints"));
  return s;
}

CheckpointCoordinator::CheckpointCoordinator(CheckpointSettings settings, std::string jobId, const JobGraph* graph,
                                             Callbacks callbacks)
    : settings_(std::move(settings)), jobId_(std::move(jobId)), graph_(graph), cb_(std::move(callbacks)),
      lastTrigger_(std::chrono::steady_clock::now()) {}

std::string CheckpointCoordinator::jobDir() const { return settings_.rootDir + "/" + jobId_; }

void CheckpointCoordinator::tick(bool tasksRunning) {
  auto now = std::chrono::steady_clock::now();
  std::vector<int64_t> expired;
  for (auto& [id, p] : pending_) {
    if (now - p.started > std::chrono::milliseconds(settings_.timeoutMs)) expired.push_back(id);
  }
  for (int64_t id : expired) {
    failPending(id, "Checkpoint expired before completing (execution.checkpointing.timeout " +
                        formatDurationMs(settings_.timeoutMs) + ")");
  }
  if (settings_.intervalMs <= 0 || !tasksRunning) return;
  if (static_cast<int>(pending_.size()) >= settings_.maxConcurrent) return;
  if (now - lastTrigger_ < std::chrono::milliseconds(settings_.intervalMs)) return;
  Status s = trigger("", "");
  if (!s.ok()) log::warn("checkpoint not triggered: {}", s.message());
}

Status CheckpointCoordinator::triggerSavepoint(const std::string& targetDir, const std::string& triggerId,
                                               bool tasksRunning, bool drain, bool synchronous) {
  if (!tasksRunning) return Status::Error("not all tasks are running: the savepoint cannot be taken now");
  return trigger(targetDir, triggerId, drain, synchronous);
}

Status CheckpointCoordinator::triggerCheckpoint(const std::string& triggerId, bool tasksRunning) {
  if (!tasksRunning) return Status::Error("not all tasks are running: the checkpoint cannot be taken now");
  return trigger("", triggerId);
}

bool CheckpointCoordinator::savepointPending() const {
  for (const auto& [id, p] : pending_) {
    if (p.stats.savepoint) return true;
  }
  return false;
}

Status CheckpointCoordinator::trigger(const std::string& savepointTarget, const std::string& triggerId, bool drain,
                                      bool synchronous) {
  lastTrigger_ = std::chrono::steady_clock::now();
  int64_t id = nextId_++;
  Pending p;
  p.stats.id = id;
  p.stats.savepoint = !savepointTarget.empty();
  p.stats.synchronous = p.stats.savepoint && synchronous;
  p.stats.status = "IN_PROGRESS";
  p.stats.triggerTimestampMs = wallMs();
  p.savepointTarget = savepointTarget;
  p.triggerId = triggerId;
  p.started = lastTrigger_;
  p.dir = jobDir() + "/chk-" + std::to_string(id);
  p.metadata.jobId = jobId_;
  p.metadata.checkpointId = id;
  p.metadata.timestampMs = p.stats.triggerTimestampMs;
  p.metadata.savepoint = p.stats.savepoint;
  std::error_code ec;
  fs::create_directories(p.dir, ec);
  if (ec) {
    record(p.stats);
    pending_.emplace(id, std::move(p));
    failPending(id, "cannot create checkpoint directory '" + jobDir() + "/chk-" + std::to_string(id) + "': " + ec.message());
    return Status::Ok();
  }
  for (const auto& v : graph_->vertices) {
    p.metadata.maxParallelism = v.maxParallelism;
    for (int s = 0; s < v.parallelism; ++s) p.waiting.insert({v.index, s});
    for (const auto& opId : v.operatorIds) {
      auto& e = p.metadata.operators[opId];
      e.parallelism = v.parallelism;
      e.files.assign(v.parallelism, "");
    }
  }
  p.stats.numSubtasks = static_cast<int>(p.waiting.size());
  // The enumerators' state at this moment: every split assigned later reaches its reader
  // after the barrier (the triggers below go out first, on the same connections).
  if (cb_.snapshotCoordinators) p.metadata.coordinators = cb_.snapshotCoordinators(id);
  record(p.stats);
  pending_.emplace(id, std::move(p));
  for (const auto& v : graph_->vertices) {
    if (!v.isSource()) continue;
    for (int s = 0; s < v.parallelism; ++s) cb_.triggerSource(v.index, s, id, drain);
  }
  return Status::Ok();
}

void CheckpointCoordinator::acknowledge(const json& msg) {
  int64_t id = msg.at("checkpointId");
  auto it = pending_.find(id);
  if (it == pending_.end()) return;  // expired, aborted or late
  Pending& p = it->second;
  int vertex = msg.at("vertex"), subtask = msg.at("subtask");
  if (!p.waiting.erase({vertex, subtask})) return;
  const JobVertex& v = graph_->vertices.at(vertex);
  log::debug("Received acknowledge message for checkpoint {} from task {} ({}/{}) of job {}.", id, v.name, subtask + 1,
             v.parallelism, jobId_);
  std::string file = msg.at("file");
  for (const auto& opId : v.operatorIds) p.metadata.operators[opId].files[subtask] = file;
  p.metadata.stateSize += msg.value("size", int64_t{0});
  p.stats.numAcknowledged++;
  p.stats.latestAckTimestampMs = wallMs();
  SubtaskCheckpointAck ack{vertex, subtask, p.stats.latestAckTimestampMs, msg.value("size", int64_t{0})};
  // Durations a task cannot have measured (an older TaskManager, clocks apart) count as 0.
  auto nonNegative = [&](const char* key) { return std::max<int64_t>(0, msg.value(key, int64_t{0})); };
  int64_t barrierMs = msg.value("barrierTimestampMs", int64_t{0});
  ack.startDelayMs = barrierMs > 0 ? std::max<int64_t>(0, barrierMs - p.stats.triggerTimestampMs) : 0;
  ack.alignmentDurationMs = nonNegative("alignmentDurationMs");
  ack.syncDurationMs = nonNegative("syncDurationMs");
  ack.asyncDurationMs = nonNegative("asyncDurationMs");
  p.stats.acks.push_back(ack);
  p.stats.stateSize = p.metadata.stateSize;
  if (p.waiting.empty()) {
    Pending done = std::move(p);
    pending_.erase(it);
    complete(done);
  }
}

void CheckpointCoordinator::decline(const json& msg) {
  failPending(msg.at("checkpointId"), "Task " + msg.value("task", std::string("?")) +
                                         " declined the checkpoint: " + msg.value("reason", std::string("?")));
}

void CheckpointCoordinator::complete(Pending& p) {
  std::string dir = p.dir;
  Status s = checkpoint::writeMetadata(dir, p.metadata);
  if (s.ok() && !p.savepointTarget.empty()) {
    // A savepoint is self-contained: move the checkpoint directory to its target.
    std::string name = "savepoint-" + jobId_.substr(0, 6) + "-" + randomId().substr(0, 12);
    std::string target = checkpoint::pathOf(p.savepointTarget) + "/" + name;
    std::error_code ec;
    fs::create_directories(checkpoint::pathOf(p.savepointTarget), ec);
    fs::rename(dir, target, ec);
    if (ec) {
      ec.clear();
      fs::copy(dir, target, fs::copy_options::recursive, ec);
      if (!ec) fs::remove_all(dir, ec);
    }
    if (ec) {
      s = Status::Error("cannot write savepoint to '" + target + "': " + ec.message());
    } else {
      dir = target;
    }
  }
  if (!s.ok()) {
    pending_.emplace(p.stats.id, std::move(p));
    failPending(p.stats.id, s.message());
    return;
  }
  consecutiveFailures_ = 0;
  numCompleted_++;
  p.stats.status = "COMPLETED";
  p.stats.durationMs = wallMs() - p.stats.triggerTimestampMs;
  p.stats.externalPath = dir;
  record(p.stats);
  latestCompletedStats_ = p.stats;
  log::info("Completed {} {} for job {} ({} bytes in {} ms).", p.stats.savepoint ? "savepoint" : "checkpoint",
            p.stats.id, jobId_, p.stats.stateSize, p.stats.durationMs);
  // The tasks hear of the completion (sinks commit) before anything the savepoint's caller
  // does next, such as cancelling them for a stop-with-savepoint. Not for other savepoints:
  // a restore never goes back to one, so what they prepared waits for the next checkpoint.
  if (!p.stats.savepoint || p.stats.synchronous) cb_.notifyComplete(p.stats.id);
  if (p.stats.savepoint) {
    latestSavepointStats_ = p.stats;
    if (cb_.savepointDone) cb_.savepointDone(p.triggerId, dir);
  } else {
    completed_.emplace_back(dir, std::move(p.metadata));
    retain();
    if (!p.triggerId.empty() && cb_.checkpointDone) cb_.checkpointDone(p.triggerId, p.stats.id);
  }
}

void CheckpointCoordinator::failPending(int64_t id, const std::string& reason) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  std::error_code ec;
  fs::remove_all(p.dir, ec);
  numFailed_++;
  p.stats.status = "FAILED";
  p.stats.failureMessage = reason;
  p.stats.durationMs = wallMs() - p.stats.triggerTimestampMs;
  record(p.stats);
  latestFailedStats_ = p.stats;
  log::warn("{} {} of job {} failed: {}", p.stats.savepoint ? "Savepoint" : "Checkpoint", id, jobId_, reason);
  if (p.stats.savepoint) {
    if (cb_.savepointDone) cb_.savepointDone(p.triggerId, Status::Error(reason));
    return;
  }
  if (!p.triggerId.empty() && cb_.checkpointDone) cb_.checkpointDone(p.triggerId, Status::Error(reason));
  if (++consecutiveFailures_ > settings_.tolerableFailures) {
    cb_.failJob("Exceeded checkpoint tolerable failure threshold (" + std::to_string(settings_.tolerableFailures) +
                "): " + reason);
    consecutiveFailures_ = 0;
  }
}

void CheckpointCoordinator::abortPending(const std::string& reason) {
  std::vector<int64_t> ids;
  for (const auto& [id, p] : pending_) ids.push_back(id);
  for (int64_t id : ids) {
    auto it = pending_.find(id);
    Pending p = std::move(it->second);
    pending_.erase(it);
    std::error_code ec;
    fs::remove_all(p.dir, ec);
    p.stats.status = "FAILED";
    p.stats.failureMessage = reason;
    numFailed_++;
    record(p.stats);
    log::info("{} {} of job {} aborted: {}", p.stats.savepoint ? "Savepoint" : "Checkpoint", id, jobId_, reason);
    if (p.stats.savepoint && cb_.savepointDone) cb_.savepointDone(p.triggerId, Status::Error(reason));
    if (!p.stats.savepoint && !p.triggerId.empty() && cb_.checkpointDone) cb_.checkpointDone(p.triggerId, Status::Error(reason));
  }
}

void CheckpointCoordinator::record(const CheckpointStats& s) {
  for (auto& h : history_) {
    if (h.id == s.id) {
      h = s;
      return;
    }
  }
  history_.push_front(s);
  if (history_.size() > 10) history_.pop_back();
}

void CheckpointCoordinator::retain() {
  while (static_cast<int>(completed_.size()) > settings_.numRetained) {
    std::error_code ec;
    fs::remove_all(completed_.front().first, ec);
    completed_.pop_front();
  }
}

void CheckpointCoordinator::discardOnCancellation() {
  if (settings_.rootDir.empty() || settings_.retainOnCancellation) return;
  std::error_code ec;
  int removed = 0;
  for (const auto& [id, dir] : checkpoint::listCheckpointDirs(jobDir())) {
    fs::remove_all(dir, ec);
    if (ec) {
      log::warn("checkpoint {} of the cancelled job is left on storage: {}", dir, ec.message());
    } else {
      ++removed;
    }
  }
  completed_.clear();
  if (removed > 0) {
    log::info("Removed {} checkpoint(s) of the cancelled job from {} "
              "(execution.checkpointing.externalized-checkpoint-retention is not RETAIN_ON_CANCELLATION)",
              removed, jobDir());
  }
}

std::optional<std::pair<std::string, checkpoint::Metadata>> CheckpointCoordinator::recoverFromStorage() {
  if (settings_.rootDir.empty()) return std::nullopt;
  std::error_code ec;
  for (const auto& [id, dir] : checkpoint::listCheckpointDirs(jobDir())) {
    nextId_ = std::max(nextId_, id + 1);
    auto meta = checkpoint::readMetadata(dir);
    if (meta.ok()) {
      completed_.emplace_back(dir, std::move(*meta));
    } else if (fs::exists(dir + "/_metadata", ec)) {
      log::warn("skipping checkpoint {}: {}", dir, meta.status().message());
    }
  }
  if (completed_.empty()) return std::nullopt;
  log::info("Found {} completed checkpoint(s) of job {} in {}; the newest is {}; new checkpoints start at {}",
            completed_.size(), jobId_, jobDir(), completed_.back().first, nextId_);
  return completed_.back();
}

int CheckpointCoordinator::attemptBase() const {
  if (settings_.rootDir.empty()) return 0;
  std::ifstream in(jobDir() + "/attempt");
  long long recorded = -1;
  if (!(in >> recorded) || recorded < 0 || recorded >= INT32_MAX) return 0;
  return static_cast<int>(recorded) + 1;
}


Status CheckpointCoordinator::recordAttempt(int attempt) {
  if (settings_.rootDir.empty()) return Status::Ok();
  return checkpoint::writeTextAtomically(jobDir() + "/attempt", std::to_string(attempt) + "\n");
}

std::optional<std::pair<int64_t, std::string>> CheckpointCoordinator::stopSavepoint() const {
  if (settings_.rootDir.empty()) return std::nullopt;
  std::ifstream in(jobDir() + "/stop-savepoint");
  int64_t id = 0;
  std::string dir;
  if (!(in >> id) || id <= 0) return std::nullopt;
  in >> std::ws;
  if (!std::getline(in, dir) || dir.empty()) return std::nullopt;
  return std::make_pair(id, dir);
}

Status CheckpointCoordinator::recordStopSavepoint(int64_t checkpointId, const std::string& dir) {
  if (settings_.rootDir.empty()) return Status::Ok();
  return checkpoint::writeTextAtomically(jobDir() + "/stop-savepoint", std::to_string(checkpointId) + " " + dir + "\n");
}

std::optional<std::string> CheckpointCoordinator::jobResult() const {
  if (settings_.rootDir.empty()) return std::nullopt;
  std::ifstream in(jobDir() + "/job-result");
  std::string state;
  if (!(in >> state) || (state != "FINISHED" && state != "CANCELED")) return std::nullopt;
  return state;
}

Status CheckpointCoordinator::recordJobResult(const std::string& state) {
  if (settings_.rootDir.empty()) return Status::Ok();
  return checkpoint::writeTextAtomically(jobDir() + "/job-result", state + "\n");
}

std::optional<std::pair<std::string, checkpoint::Metadata>> CheckpointCoordinator::latestCompleted() {
  while (!completed_.empty()) {
    auto verified = checkpoint::readMetadata(completed_.back().first);
    if (verified.ok()) return completed_.back();
    log::warn("checkpoint {} cannot be used: {}; falling back to the previous one", completed_.back().first,
              verified.status().message());
    completed_.pop_back();
  }
  // Nothing in memory (e.g. a JobManager restart): look on disk.
  auto found = checkpoint::findLatest(jobDir());
  if (found.ok()) return *found;
  return std::nullopt;
}

}  // namespace flink
