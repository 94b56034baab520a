#include "pod_runner.h"

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <optional>

#include "flink/common/log.h"
#include "probes.h"
#include "process.h"
#include "volumes.h"

namespace kubelet {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace log = flink::log;

namespace {
constexpr auto kTick = std::chrono::milliseconds(100);
constexpr int kMaxGraceSeconds = 10;
std::string nowText() { return rfc3339(std::time(nullptr)); }
uint64_t fileSize(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(n);
}
}  // namespace

struct PodRunner::Slot {
  json spec;
  ContainerRecord rec;
  pid_t pid = -1;
  Clock::time_point startedAt;
  std::optional<Clock::time_point> restartAt;  // waiting (back-off or config error) until then
  int crashes = 0;                             // consecutive, for the back-off
  bool done = false;                           // terminated for good
  std::optional<ProbeTracker> readiness, liveness;
  std::vector<LogRun> runs;  // byte ranges of the log file, one per start
  std::map<std::string, std::string> env;  // of the current run
};

PodRunner::PodRunner(json pod, RunnerConfig config) : pod_(std::move(pod)), config_(std::move(config)) {
  const json& meta = pod_["metadata"];
  const json spec = pod_.value("spec", json::object());
  std::string ns = meta.value("namespace", "default"), name = meta.value("name", "");
  names_ = podNetNames(config_.prefix, ns, name, meta.value("uid", ""));
  podDir_ = config_.workDir + "/" + ns + "/" + name;
  restartPolicy_ = spec.value("restartPolicy", "Always");
  startTime_ = nowText();
  for (const json& c : spec.value("initContainers", json::array())) initSlots_.push_back({c, {c.value("name", ""), c.value("image", "")}});
  for (const json& c : spec.value("containers", json::array())) slots_.push_back({c, {c.value("name", ""), c.value("image", "")}});
  if (!initSlots_.empty()) setWaiting(slots_, "PodInitializing", "");
  publish();
}

PodRunner::~PodRunner() {
  requestStop();
  if (thread_.joinable()) thread_.join();
}

void PodRunner::start() { thread_ = std::thread([this] { run(); }); }

PodView PodRunner::view() const {
  std::lock_guard<std::mutex> lock(mu_);
  return view_;
}

void PodRunner::publish() {
  PodView v;
  for (const auto& s : initSlots_) v.initContainers.push_back(s.rec);
  for (const auto& s : slots_) v.containers.push_back(s.rec);
  v.restartPolicy = restartPolicy_;
  v.podIP = podIP_;
  v.hostIP = kBridgeIP;
  v.startTime = startTime_;
  std::map<std::string, ContainerLog> logs;
  std::map<std::string, ExecTarget> execTargets;
  for (auto* slots : {&initSlots_, &slots_}) {
    for (const auto& s : *slots) {
      logs[s.rec.name] = ContainerLog{logPath(s), s.rec, s.runs};
      if (s.pid > 0) execTargets[s.rec.name] = ExecTarget{s.pid, containerRunAs(pod_, s.spec), s.env};
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  view_ = std::move(v);
  logs_ = std::move(logs);
  execTargets_ = std::move(execTargets);
}

std::optional<ContainerLog> PodRunner::containerLog(const std::string& container) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = logs_.find(container);
  if (it == logs_.end()) return std::nullopt;
  return it->second;
}

std::optional<ExecTarget> PodRunner::execTarget(const std::string& container) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = execTargets_.find(container);
  if (it == execTargets_.end()) return std::nullopt;
  return it->second;
}

std::string PodRunner::logPath(const Slot& s) const { return podDir_ + "/" + s.rec.name + ".log"; }

void PodRunner::endRun(Slot& s) {
  if (!s.runs.empty() && !s.runs.back().end) s.runs.back().end = fileSize(logPath(s));
}

void PodRunner::setWaiting(std::vector<Slot>& slots, const std::string& reason, const std::string& message) {
  for (auto& s : slots) {
    s.rec.state = ContainerState{};
    s.rec.state.reason = reason;
    s.rec.state.message = message;
  }
}

void PodRunner::run() {
  try {
    if (prepare() && runInitContainers(initSlots_)) superviseContainers(slots_);
  } catch (const std::exception& e) {  // a malformed pod spec: log it, keep the kubelet alive
    log::error("pod {}: {}", podDir_, e.what());
  }
  while (!stop_) std::this_thread::sleep_for(kTick);  // ended (or never started): wait for deletion
  terminateAll();
  if (!podIP_.empty()) {
    deletePodNetwork(names_);
    config_.addresses->release(podIP_);
  }
  finished_ = true;
}

// Images, address, network, hosts file and volumes; retried every 2 s until they work.
bool PodRunner::prepare() {
  bool pullable = true;
  for (auto* slots : {&initSlots_, &slots_}) {
    for (auto& s : *slots) {
      if (!isRunnableImage(s.rec.image)) {
        s.rec.state.reason = "ErrImagePull";
        s.rec.state.message = "image " + s.rec.image + " cannot be run by kube-test-kubelet (only flink-cpp images)";
        pullable = false;
      }
    }
  }
  publish();
  if (!pullable) return false;
  std::filesystem::create_directories(podDir_);
  while (!stop_) {
    flink::Status s = setUpNetworkAndVolumes();
    if (s.ok()) return true;
    log::warn("pod {}: {}", podDir_, s.message());
    setWaiting(initSlots_, "ContainerCreating", s.message());
    setWaiting(slots_, "ContainerCreating", s.message());
    publish();
    for (int i = 0; i < 20 && !stop_; ++i) std::this_thread::sleep_for(kTick);
  }
  return false;
}

flink::Status PodRunner::setUpNetworkAndVolumes() {
  podIP_ = config_.addresses->allocate().value_or("");
  if (podIP_.empty()) return flink::Status::Error("no free pod address");
  flink::Status s = createPodNetwork(config_.prefix, names_, podIP_);
  if (s.ok()) {
    config_.writeHosts(pod_, podIP_, names_.netns);
    s = materializeVolumes(pod_, podDir_, podIP_, config_.lookup, config_.serviceAccountToken);
    if (!s.ok()) deletePodNetwork(names_);
  }
  if (!s.ok()) {
    config_.addresses->release(podIP_);
    podIP_.clear();
  }
  return s;
}

bool PodRunner::runInitContainers(std::vector<Slot>& slots) {
  for (auto& s : slots) {
    while (!stop_ && !s.done) {
      step(s, true);
      publish();
      std::this_thread::sleep_for(kTick);
    }
    if (stop_ || s.rec.state.exitCode != 0) return false;  // stopping, or failed under restartPolicy Never
  }
  return true;
}

void PodRunner::superviseContainers(std::vector<Slot>& slots) {
  while (!stop_) {
    for (auto& s : slots) step(s, false);
    publish();
    std::this_thread::sleep_for(kTick);
  }
}

void PodRunner::step(Slot& s, bool init) {
  if (s.done) return;
  if (s.pid > 0) {
    int status = 0;
    if (waitpid(s.pid, &status, WNOHANG) == s.pid) {
      reap(s, init, status);
    } else {
      probe(s);
    }
    return;
  }
  if (!s.restartAt || Clock::now() >= *s.restartAt) startContainer(s);
}

void PodRunner::reap(Slot& s, bool init, int waitStatus) {
  signalGroup(s.pid, SIGKILL);  // whatever the container left behind in its group
  endRun(s);
  int code = exitCodeOf(waitStatus);
  ContainerState t{ContainerState::kTerminated, terminatedReason(code), "", code, s.rec.state.startedAt, nowText()};
  s.pid = -1;
  s.rec.ready = false;
  s.readiness.reset();
  s.liveness.reset();
  bool restart = init ? code != 0 && restartPolicy_ != "Never"
                      : restartPolicy_ == "Always" || (restartPolicy_ == "OnFailure" && code != 0);
  if (!restart) {
    s.rec.state = t;
    s.done = true;
    return;
  }
  if (Clock::now() - s.startedAt >= std::chrono::seconds(60)) s.crashes = 0;
  auto delay = std::chrono::seconds(std::min(30, 1 << s.crashes));
  s.crashes = std::min(s.crashes + 1, 5);
  s.rec.lastTerminated = t;
  s.rec.state = ContainerState{ContainerState::kWaiting, "CrashLoopBackOff",
                               "back-off " + std::to_string(delay.count()) + "s restarting failed container " + s.rec.name};
  s.restartAt = Clock::now() + delay;
}

void PodRunner::startContainer(Slot& s) {
  auto env = containerEnv(pod_, s.spec, podIP_, config_.lookup);
  if (env.ok() && config_.clusterEnv) {
    for (const auto& [k, v] : config_.clusterEnv()) env->emplace(k, v);
  }
  std::vector<Mount> mounts = containerMounts(pod_, s.spec, podDir_);
  flink::Status st = env.ok() ? prepareMountPoints(mounts) : env.status();
  if (st.ok()) {
    std::vector<std::string> argv = {"ip", "netns", "exec", names_.netns};
    Sandbox box{mounts, s.spec.value("workingDir", ""), podHostname(pod_), containerRunAs(pod_, s.spec),
                pod_.value("spec", nlohmann::json::object()).value("shareProcessNamespace", false)};
    auto inner = sandboxWrapper(box, containerArgv(s.spec, config_.flinkCpp, *env));
    argv.insert(argv.end(), inner.begin(), inner.end());
    uint64_t begin = fileSize(logPath(s));
    auto pid = spawn(argv, *env, logPath(s));
    if (pid.ok()) {
      s.pid = *pid;
      s.env = *env;
      s.runs.push_back(LogRun{begin, std::nullopt});
    }
    st = pid.status();
  }
  if (!st.ok()) {
    s.rec.state = ContainerState{ContainerState::kWaiting, "CreateContainerConfigError", st.message()};
    s.restartAt = Clock::now() + std::chrono::seconds(2);
    return;
  }
  if (s.rec.lastTerminated) ++s.rec.restartCount;
  s.restartAt.reset();
  s.startedAt = Clock::now();
  s.rec.state = ContainerState{ContainerState::kRunning, "", "", 0, nowText()};
  s.rec.ready = !s.spec.contains("readinessProbe");
  if (s.spec.contains("readinessProbe")) s.readiness.emplace(s.spec["readinessProbe"], s.startedAt, false);
  if (s.spec.contains("livenessProbe")) s.liveness.emplace(s.spec["livenessProbe"], s.startedAt, true);
}

void PodRunner::probe(Slot& s) {
  if (s.readiness && s.readiness->due(Clock::now())) {
    s.readiness->record(runProbe(s.readiness->probe(), s.spec, podIP_, s.pid, containerRunAs(pod_, s.spec)), Clock::now());
    s.rec.ready = s.readiness->verdict();
  }
  if (s.liveness && s.liveness->due(Clock::now())) {
    s.liveness->record(runProbe(s.liveness->probe(), s.spec, podIP_, s.pid, containerRunAs(pod_, s.spec)), Clock::now());
    if (!s.liveness->verdict()) {
      log::warn("pod {}: container {} failed its liveness probe; killing it", podDir_, s.rec.name);
      signalGroup(s.pid, SIGKILL);
      s.liveness.reset();
    }
  }
}

// SIGTERM to every running process group, SIGKILL after the grace period (at most 10 s).
void PodRunner::terminateAll() {
  int grace = std::min(kMaxGraceSeconds, pod_.value("spec", json::object()).value("terminationGracePeriodSeconds", 30));
  std::vector<Slot*> alive;
  for (auto* slots : {&initSlots_, &slots_}) {
    for (auto& s : *slots) {
      if (s.pid > 0) alive.push_back(&s);
    }
  }
  for (Slot* s : alive) signalGroup(s->pid, SIGTERM);
  auto deadline = Clock::now() + std::chrono::seconds(std::max(0, grace));
  while (!alive.empty()) {
    bool late = Clock::now() >= deadline;
    for (auto it = alive.begin(); it != alive.end();) {
      int status = 0;
      if (late) signalGroup((*it)->pid, SIGKILL);
      if (waitpid((*it)->pid, &status, late ? 0 : WNOHANG) == (*it)->pid) {
        signalGroup((*it)->pid, SIGKILL);
        endRun(**it);
        (*it)->rec.state = ContainerState{ContainerState::kTerminated, terminatedReason(exitCodeOf(status)), "",
                                          exitCodeOf(status), (*it)->rec.state.startedAt, nowText()};
        (*it)->pid = -1;
        it = alive.erase(it);
      } else {
        ++it;
      }
    }
    if (!alive.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  publish();
}

}  // namespace kubelet
