#include "taskmanager/task_executor.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <thread>

#include <prometheus/gauge.h>

#include "blob/blob.h"
#include "checkpoint/storage.h"
#include "core/metrics_exporter.h"
#include "core/process_files.h"
#include "flink/common/log.h"
#include "core/mailbox.h"
#include "core/rpc.h"
#include "flink/job.h"
#include "net/network_environment.h"
#include "task/task.h"

namespace flink {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr const char* kTestDelayAck = "flink-cpp.testing.delay-checkpoint-ack";

std::string taskKey(const std::string& jobId, int vertex, int subtask, int attempt) {
  return jobId + "/" + std::to_string(vertex) + "/" + std::to_string(subtask) + "/" + std::to_string(attempt);
}

class TaskExecutor {
 public:
  TaskExecutor(Configuration config, const std::atomic<bool>* stop) : config_(std::move(config)), stop_(stop),
                                                                      network_(config_) {}
  ~TaskExecutor() {
    {
      std::lock_guard<std::mutex> lock(snapshotMu_);
      snapshotStop_ = true;
    }
    snapshotCv_.notify_all();
    if (snapshotThread_.joinable()) snapshotThread_.join();
  }

  int run() {
    resourceId_ = config_.getString("taskmanager.resource-id", randomId());
    host_ = config_.getString(options::kTaskManagerHost, "127.0.0.1");
    auto slots = config_.getInt(options::kNumTaskSlots, 1);
    auto dataPort = config_.getInt(options::kTaskManagerDataPort, 0);
    auto heartbeat = HeartbeatSettings::fromConfig(config_);
    auto initialBackoff = config_.getDurationMs(options::kRegistrationInitialTimeout, 100);
    auto maxBackoff = config_.getDurationMs(options::kRegistrationMaxTimeout, 30000);
    auto rpcPort = config_.getInt(options::kRpcPort, 6123);
    for (const Status& s : {slots.status(), dataPort.status(), heartbeat.status(),
                            initialBackoff.status(), maxBackoff.status(), rpcPort.status()}) {
      if (!s.ok()) {
        log::error("invalid configuration: {}", s.message());
        return 1;
      }
    }
    if (*slots < 1) {
      log::error("invalid configuration: {} must be at least 1", options::kNumTaskSlots);
      return 1;
    }
    slots_ = static_cast<int>(*slots);
    hbIntervalMs_ = heartbeat->intervalMs;
    hbTimeoutMs_ = heartbeat->timeoutMs;
    auto tls = tls::TlsContext::fromConfig(config_, tls::Scope::kInternal);
    if (!tls.ok()) {
      log::error("invalid TLS configuration: {}", tls.status().message());
      return 1;
    }
    tls_ = *tls;
    if (tls_) log::info("Internal TLS enabled (security.ssl.internal.enabled): RPC, data exchange and blobs");
    Status s = network_.start(config_.getString("taskmanager.bind-host", "0.0.0.0"), static_cast<int>(*dataPort), tls_);
    if (!s.ok()) {
      log::error("{}", s.message());
      return 1;
    }
    snapshotThread_ = std::thread([this] { snapshotLoop(); });
    Status ms = exporter_.start(config_.getString("taskmanager.bind-host", "0.0.0.0"),
                                config_.getString("metrics.reporter.prom.port", "9249"),
                                [this](prometheus::Registry& r) { fillMetrics(r); });
    if (ms.ok()) {
      log::info("Prometheus metrics on port {}", exporter_.port());
    } else {
      log::warn("metrics endpoint not started: {}", ms.message());
    }
    std::string jmHost = config_.getString(options::kRpcAddress, "localhost");
    jmHost_ = jmHost;
    // Job libraries from the JobManager's BlobServer (Flink's blob.storage.directory).
    blobs_ = std::make_unique<blob::BlobCache>(
        config_.getString("blob.storage.directory", std::filesystem::temp_directory_path().string()) + "/blobStore-" +
        resourceId_, tls_);
    log::info("TaskManager {} started: {} slots, data port {}", resourceId_, slots_, network_.dataPort());

    int64_t backoff = *initialBackoff;
    while (!stop_->load()) {
      auto conn = net::Connection::connect(jmHost, static_cast<int>(*rpcPort), 5000, stop_, tls_);
      if (!conn.ok()) {
        log::warn("Could not connect to the JobManager at {}:{} ({}); retrying in {} ms", jmHost, *rpcPort,
                  conn.status().message(), backoff);
        sleepUnlessStopped(backoff);
        backoff = std::min(backoff * 2, *maxBackoff);
        continue;
      }
      bool answered = serve(*conn);
      cancelAllTasks();
      if (answered) {
        backoff = *initialBackoff;
      } else {
        // Closed before the JobManager said anything (e.g. TLS on one side only): back off as
        // for a failed connect, instead of reconnecting at once in a loop.
        sleepUnlessStopped(backoff);
        backoff = std::min(backoff * 2, *maxBackoff);
      }
    }
    exporter_.stop();
    network_.stop();
    log::info("TaskManager {} stopped", resourceId_);
    return 0;
  }

 private:
  void sleepUnlessStopped(int64_t ms) {
    auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (!stop_->load() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  // One registration with the JobManager: runs until the connection is lost or we stop.
  // Whether the JobManager sent anything on it.
  bool serve(std::shared_ptr<net::Connection> conn) {
    conn_ = conn;
    std::atomic<bool> lost{false};
    auto answered = std::make_shared<std::atomic<bool>>(false);
    std::string lostReason;
    conn->start(
        [this, answered](uint8_t, Buffer&& payload) {
          answered->store(true);
          auto msg = std::make_shared<json>(rpc::parse(payload));
          mailbox_.post([this, msg] {
            try {
              handle(*msg);
            } catch (const std::exception& e) {
              // A field missing or of the wrong type: not a message of our JobManager's.
              log::error("malformed message from the JobManager ({}): {}", e.what(), msg->dump().substr(0, 200));
            }
          });
        },
        [this, &lost, &lostReason](const std::string& reason) {
          mailbox_.post([&lost, &lostReason, reason] {
            lostReason = reason;
            lost = true;
          });
        });
    json reg = {{"type", "register"},
                {"resourceId", resourceId_},
                {"host", host_},
                {"dataPort", network_.dataPort()},
                {"slots", slots_},
                {"pid", static_cast<int>(getpid())},
                {"hardware",
                 {{"cpuCores", static_cast<int>(std::thread::hardware_concurrency())},
                  {"physicalMemory", static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE)}}}};
    (void)rpc::send(*conn, reg);
    lastJmHeartbeat_ = Clock::now();
    auto lastHeartbeat = Clock::now();
    auto lastMetrics = Clock::now();
    while (!stop_->load() && !lost) {
      mailbox_.runFor(std::chrono::milliseconds(50));
      auto now = Clock::now();
      if (now - lastHeartbeat >= std::chrono::milliseconds(hbIntervalMs_)) {
        (void)rpc::send(*conn, {{"type", "heartbeat"}, {"resourceId", resourceId_}});
        lastHeartbeat = now;
      }
      if (now - lastMetrics >= std::chrono::milliseconds(500)) {
        reportMetrics();
        lastMetrics = now;
      }
      if (now - lastSample_ >= std::chrono::seconds(1)) sampleMetrics(now);
      if (now - lastJmHeartbeat_ > std::chrono::milliseconds(hbTimeoutMs_)) {
        lostReason = "heartbeat of the JobManager timed out";
        break;
      }
      reapTasks();
    }
    if (!stop_->load()) log::warn("Disconnected from the JobManager: {}; reconnecting", lostReason);
    conn->close();
    mailbox_.runFor(std::chrono::milliseconds(0));  // drop messages of the old connection
    conn_.reset();
    return answered->load();
  }

  void handle(const json& msg) {
    const std::string type = msg.value("type", "");
    if (type == "heartbeat") {
      lastJmHeartbeat_ = Clock::now();
    } else if (type == "registered") {
      log::info("Registered at the ResourceManager as {}", resourceId_);
      lastJmHeartbeat_ = Clock::now();
    } else if (type == "submitTask") {
      submitTask(msg);
    } else if (type == "requestFile") {
      answerFileRequest(msg);
    } else if (type == "cancelTask") {
      auto it = tasks_.find(taskKey(msg.at("jobId"), msg.at("vertex"), msg.at("subtask"), msg.at("attempt")));
      if (it != tasks_.end()) it->second->cancel();
    } else if (type == "releaseJob") {
      jobs_.erase(msg.at("jobId").get<std::string>());
      blobs_->release(msg.at("jobId").get<std::string>());
    } else if (type == "triggerCheckpoint") {
      auto it = tasks_.find(taskKey(msg.at("jobId"), msg.at("vertex"), msg.at("subtask"), msg.at("attempt")));
      if (it != tasks_.end()) it->second->triggerCheckpoint(msg.at("checkpointId").get<int64_t>(), msg.value("drain", false));
    } else if (type == "addSplits") {
      // The split enumerator's answer to a reader's request (after a trigger sent before it:
      // the order of the two matters, see Task::addSplits).
      auto it = tasks_.find(taskKey(msg.at("jobId"), msg.at("vertex"), msg.at("subtask"), msg.at("attempt")));
      if (it != tasks_.end()) {
        it->second->addSplits(msg.at("splits").get<std::vector<std::string>>(), msg.value("noMoreSplits", false),
                              msg.value("allSplitsAssigned", false));
      }
    } else if (type == "notifyCheckpointComplete") {
      std::string jobId = msg.at("jobId");
      bool final = msg.value("final", false);
      for (auto& [key, task] : tasks_) {
        if (task->descriptor().jobId != jobId) continue;
        if (final) {
          task->notifyFinalCheckpointComplete();
        } else {
          task->notifyCheckpointComplete(msg.at("checkpointId").get<int64_t>());
        }
      }
    }
  }

  // Writes task state off the task threads, then acknowledges (or declines) the checkpoint.
  // A work item without `dir` only forwards `ack` (a task's end of input) in queue order, so
  // the JobMaster sees it after the acknowledgements of the task's earlier checkpoints.
  struct SnapshotWork {
    std::string dir;
    std::string file;
    checkpoint::TaskState state;
    json ack;
    int64_t delayMs = 0;  // fault injection (kTestDelayAck)
  };

  void enqueue(SnapshotWork&& work) {
    {
      std::lock_guard<std::mutex> lock(snapshotMu_);
      snapshotQueue_.push_back(std::move(work));
    }
    snapshotCv_.notify_one();
  }

  void post(json msg) {
    auto shared = std::make_shared<json>(std::move(msg));
    mailbox_.post([this, shared] {
      if (conn_) (void)rpc::send(*conn_, *shared);
    });
  }

  void snapshotLoop() {
    for (;;) {
      SnapshotWork work;
      {
        std::unique_lock<std::mutex> lock(snapshotMu_);
        snapshotCv_.wait(lock, [this] { return snapshotStop_ || !snapshotQueue_.empty(); });
        if (snapshotQueue_.empty()) return;
        work = std::move(snapshotQueue_.front());
        snapshotQueue_.pop_front();
      }
      if (work.dir.empty()) {
        post(std::move(work.ack));
        continue;
      }
      // Flink's asynchronous duration: from here (the injected delay stands for a slow
      // asynchronous part) until the state file is written.
      auto asyncStart = std::chrono::steady_clock::now();
      if (work.delayMs > 0) {
        log::warn("{}: delaying the asynchronous part of checkpoint {} by {} ms ({})", work.ack.value("task", ""),
                  work.ack.value("checkpointId", int64_t{0}), work.delayMs, kTestDelayAck);
        std::this_thread::sleep_for(std::chrono::milliseconds(work.delayMs));
        log::info("{}: acknowledging checkpoint {} after the injected delay", work.ack.value("task", ""),
                  work.ack.value("checkpointId", int64_t{0}));
      }
      // The asynchronous phase of operators that froze their state at the barrier.
      std::string asyncError;
      try {
        for (auto& [opId, snap] : work.state) snap.materialize();
      } catch (const std::exception& e) {
        asyncError = std::string("asynchronous snapshot failed: ") + e.what();
      }
      std::error_code ec;
      std::filesystem::create_directories(work.dir, ec);
      // Sink output of this checkpoint must be durable before the acknowledgement.
      for (const auto& [opId, snap] : work.state) {
        for (const auto& path : snap.committables) {
          int fd = ::open(path.c_str(), O_RDONLY);
          if (fd >= 0) {
            ::fsync(fd);
            ::close(fd);
          }
        }
      }
      auto size = asyncError.empty() ? checkpoint::writeTaskState(work.dir + "/" + work.file, work.state)
                                     : Result<int64_t>(Status::Error(asyncError));
      json msg = std::move(work.ack);
      if (size.ok()) {
        msg["type"] = "acknowledgeCheckpoint";
        msg["file"] = work.file;
        msg["size"] = *size;
        msg["asyncDurationMs"] =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - asyncStart).count();
      } else {
        msg["type"] = "declineCheckpoint";
        msg["reason"] = size.status().message();
      }
      post(std::move(msg));
    }
  }

  void onSnapshot(Task& t, const std::string& checkpointDir, int64_t id, checkpoint::TaskState&& state) {
    const auto& d = t.descriptor();
    SnapshotWork work;
    work.dir = checkpointDir + "/chk-" + std::to_string(id);
    std::shared_ptr<const JobArtifacts> artifacts;
    {
      std::lock_guard<std::mutex> lock(snapshotMu_);
      artifacts = jobsForTasks_.at(d.jobId);
    }
    work.file = artifacts->jobGraph.vertices.at(d.vertexIndex).id + "-" + std::to_string(d.subtaskIndex) + "-" +
                std::to_string(d.attemptNumber);
    work.state = std::move(state);
    work.ack = {{"jobId", d.jobId},           {"vertex", d.vertexIndex}, {"subtask", d.subtaskIndex},
                {"attempt", d.attemptNumber}, {"checkpointId", id},      {"task", t.name()}};
    const Task::SnapshotTiming& timing = t.snapshotTiming();
    work.ack["barrierTimestampMs"] = timing.barrierWallMs;
    work.ack["alignmentDurationMs"] = timing.alignmentDurationMs;
    work.ack["syncDurationMs"] = timing.syncDurationMs;
    work.delayMs = testAckDelay(artifacts->config, id);
    enqueue(std::move(work));
  }

  // Fault injection for tests: `flink-cpp.testing.delay-checkpoint-ack: "<checkpoint id>:<ms>"`
  // delays the asynchronous part (and so the acknowledgement) of that checkpoint on every task.
  static int64_t testAckDelay(const Configuration& config, int64_t checkpointId) {
    auto v = config.get(kTestDelayAck);
    if (!v) return 0;
    auto colon = v->find(':');
    try {
      if (colon == std::string::npos || std::stoll(v->substr(0, colon)) != checkpointId) return 0;
      return std::stoll(v->substr(colon + 1));
    } catch (const std::exception&) {
      return 0;
    }
  }

  void onInputEnded(Task& t) {
    const auto& d = t.descriptor();
    SnapshotWork work;
    work.ack = {{"type", "inputEnded"},       {"jobId", d.jobId},   {"vertex", d.vertexIndex},
                {"subtask", d.subtaskIndex}, {"attempt", d.attemptNumber}};
    enqueue(std::move(work));
  }

  void submitTask(const json& msg) {
    auto tdd = TaskDeploymentDescriptor::fromJson(msg.at("tdd"));
    const json& job = msg.at("job");
    auto& artifacts = jobs_[tdd.jobId];
    if (!artifacts) {
      auto built = buildArtifacts(job);
      if (!built.ok()) {
        reportState(tdd, ExecutionState::kFailed, built.status().message(), nullptr);
        jobs_.erase(tdd.jobId);
        blobs_->release(tdd.jobId);
        return;
      }
      artifacts = *built;
    }
    {
      std::lock_guard<std::mutex> lock(snapshotMu_);
      jobsForTasks_[tdd.jobId] = artifacts;
    }
    std::string checkpointDir = job.value("checkpointDir", std::string("/tmp/flink-cpp-checkpoints/") + tdd.jobId);
    auto task = std::make_shared<Task>(
        tdd, artifacts, &network_,
        [this](Task& t, ExecutionState state, const std::string& error) {
          // Task thread: hand over to the main thread.
          auto tddCopy = t.descriptor();
          auto metrics = std::make_shared<json>(metricsJson(t.metrics()));
          mailbox_.post([this, tddCopy, state, error, metrics] { reportState(tddCopy, state, error, metrics.get()); });
        },
        [this, checkpointDir](Task& t, int64_t id, checkpoint::TaskState&& state) {
          onSnapshot(t, checkpointDir, id, std::move(state));
        },
        [this](Task& t) { onInputEnded(t); });
    task->setSplitRequester([this](Task& t) {
      const auto& d = t.descriptor();
      post({{"type", "requestSplit"}, {"jobId", d.jobId}, {"vertex", d.vertexIndex}, {"subtask", d.subtaskIndex},
            {"attempt", d.attemptNumber}});
    });
    log::info("Received task {}", task->name());
    tasks_[taskKey(tdd.jobId, tdd.vertexIndex, tdd.subtaskIndex, tdd.attemptNumber)] = task;
    task->start();
  }

  Result<std::shared_ptr<const JobArtifacts>> buildArtifacts(const json& job) {
    Configuration conf;
    for (const auto& [k, v] : job.at("config").items()) conf.set(k, v.get<std::string>());
    JobSpec spec{job.at("jarURI"), job.at("entryClass"), job.at("args").get<std::vector<std::string>>()};
    if (job.contains("library")) {
      // An uploaded library: from the JobManager's BlobServer, not from this machine's disk.
      const json& lib = job["library"];
      blob::BlobRef ref{lib.at("key"), lib.at("name"), lib.at("port")};
      auto path = blobs_->get(jmHost_, ref, job.at("jobId"));
      if (!path.ok()) return Status::Error("job library " + ref.name + ": " + path.status().message());
      spec.jarURI = *path;
    }
    auto env = buildJob(spec, conf);
    if (!env.ok()) return env.status();
    auto jg = buildJobGraph((*env)->streamGraph(), static_cast<int>(conf.getInt(options::kParallelismDefault, 1).value()),
                            static_cast<int>(conf.getInt(options::kMaxParallelism, 128).value()));
    if (!jg.ok()) return jg.status();
    auto a = std::make_shared<JobArtifacts>();
    a->env = *env;
    a->jobGraph = std::move(*jg);
    a->config = conf;
    return std::shared_ptr<const JobArtifacts>(a);
  }

  static json metricsJson(const TaskMetrics& m) {
    json j = json::object();
    for (const auto& [name, value] : m.snapshot()) j[name] = value;
    return j;
  }

  void reportState(const TaskDeploymentDescriptor& tdd, ExecutionState state, const std::string& error,
                   const json* metrics) {
    if (!conn_) return;
    json msg = {{"type", "taskState"},     {"jobId", tdd.jobId},         {"vertex", tdd.vertexIndex},
                {"subtask", tdd.subtaskIndex}, {"attempt", tdd.attemptNumber}, {"state", toString(state)},
                {"error", error},          {"host", host_}};
    if (metrics) msg["metrics"] = *metrics;
    (void)rpc::send(*conn_, msg);
  }

  // The JobManager's request for this process's log, stdout or list of log files (for the REST
  // API's /taskmanagers/{id}/log, /stdout and /logs): answered with a "file" message.
  void answerFileRequest(const json& msg) {
    std::string which = msg.value("file", "");
    json answer = {{"type", "file"}, {"requestId", msg.at("requestId")}};
    if (which == "list") {
      answer["logs"] = process_files::list(config_).at("logs");
    } else if (auto text = process_files::read(config_, which); text.ok()) {
      answer["content"] = *std::move(text);
    } else {
      answer["error"] = text.status().message();
    }
    if (conn_) (void)rpc::send(*conn_, answer);
  }

  // Every 500 ms: the tasks' counters (with the rates of the last sample) and this process's
  // resource use (the REST API's /taskmanagers/{id}/metrics).
  void reportMetrics() {
    if (!conn_) return;
    json list = json::array();
    for (const auto& [key, task] : tasks_) {
      const auto& d = task->descriptor();
      list.push_back({{"jobId", d.jobId},
                      {"vertex", d.vertexIndex},
                      {"subtask", d.subtaskIndex},
                      {"attempt", d.attemptNumber},
                      {"metrics", metricsJson(task->metrics())}});
      // The per-second rates of the last sample (records in/out, busy, back-pressured, idle).
      auto rates = lastRates_.find(key);
      if (rates != lastRates_.end()) {
        for (const auto& [name, value] : rates->second) list.back()["metrics"][name] = value;
      }
    }
    ProcessStats process = readProcessStats();
    (void)rpc::send(*conn_, {{"type", "metrics"},
                             {"tasks", list},
                             {"process", {{"Status.Process.CPU.Time", process.cpuSeconds},
                                          {"Status.Process.Memory.RSS", process.rssBytes},
                                          {"Status.Process.Threads", process.threads},
                                          {"Status.Tasks.Running", static_cast<int>(tasks_.size())}}}});
  }

  // Per-task samples for the Prometheus endpoint, with per-second rates over the last second
  // (Flink's MeterView uses 60 s; 1 s keeps the numbers responsive for short jobs).
  struct Sample {
    std::map<std::string, std::string> labels;
    std::vector<std::pair<std::string, double>> values;
    std::map<std::string, double> rates;
  };
  void sampleMetrics(Clock::time_point now) {
    double dt = std::chrono::duration<double>(now - lastSample_).count();
    lastSample_ = now;
    std::vector<Sample> samples;
    std::map<std::string, std::map<std::string, double>> current;
    for (const auto& [key, task] : tasks_) {
      const auto& d = task->descriptor();
      Sample smp;
      std::string jobName, taskId, taskName;
      {
        std::lock_guard<std::mutex> lock(snapshotMu_);
        auto it = jobsForTasks_.find(d.jobId);
        if (it != jobsForTasks_.end()) {
          jobName = it->second->jobGraph.jobName;
          const auto& v = it->second->jobGraph.vertices.at(d.vertexIndex);
          taskId = v.id;
          taskName = v.name;
        }
      }
      smp.labels = {{"job_id", d.jobId}, {"job_name", jobName}, {"task_id", taskId}, {"task_name", taskName},
                    {"subtask_index", std::to_string(d.subtaskIndex)}, {"task_attempt_num", std::to_string(d.attemptNumber)},
                    {"tm_id", resourceId_}, {"host", host_}};
      smp.values = task->metrics().snapshot();
      auto& cur = current[key];
      for (const auto& [n, v] : smp.values) cur[n] = v;
      auto prev = previous_.find(key);
      auto rate = [&](const std::string& n) {
        if (prev == previous_.end() || dt <= 0) return 0.0;
        return std::max(0.0, (cur[n] - prev->second[n]) / dt);
      };
      smp.rates["numRecordsInPerSecond"] = rate("numRecordsIn");
      smp.rates["numRecordsOutPerSecond"] = rate("numRecordsOut");
      double idle = std::min(1000.0, rate("idleTimeMs"));
      double bp = std::min(1000.0 - idle, rate("backPressuredTimeMs"));
      smp.rates["idleTimeMsPerSecond"] = idle;
      smp.rates["backPressuredTimeMsPerSecond"] = bp;
      smp.rates["busyTimeMsPerSecond"] = prev == previous_.end() ? 0.0 : std::max(0.0, 1000.0 - idle - bp);
      lastRates_[key] = smp.rates;
      samples.push_back(std::move(smp));
    }
    std::erase_if(lastRates_, [&](const auto& entry) { return !current.count(entry.first); });
    previous_ = std::move(current);
    std::lock_guard<std::mutex> lock(metricsMu_);
    samples_ = std::move(samples);
  }

  void fillMetrics(prometheus::Registry& r) {
    std::vector<Sample> samples;
    {
      std::lock_guard<std::mutex> lock(metricsMu_);
      samples = samples_;
    }
    static const std::map<std::string, std::string> kExported = {
        {"numRecordsIn", "numRecordsIn"},
        {"numRecordsOut", "numRecordsOut"},
        {"numRecordsDropped", "numRecordsDropped"},
        {"numLateRecordsDropped", "numLateRecordsDropped"},
        {"numBytesIn", "numBytesIn"},
        {"numBytesOut", "numBytesOut"},
        {"currentInputWatermark", "currentInputWatermark"}};
    std::map<std::string, prometheus::Family<prometheus::Gauge>*> families;
    auto family = [&](const std::string& name) -> prometheus::Family<prometheus::Gauge>& {
      auto& f = families[name];
      if (!f) f = &prometheus::BuildGauge().Name("flink_taskmanager_job_task_" + name).Help(name + " of the task").Register(r);
      return *f;
    };
    for (const auto& smp : samples) {
      for (const auto& [n, v] : smp.values) {
        auto it = kExported.find(n);
        if (it != kExported.end()) family(it->second).Add(smp.labels).Set(v);
      }
      for (const auto& [n, v] : smp.rates) family(n).Add(smp.labels).Set(v);
    }
    prometheus::BuildGauge().Name("flink_taskmanager_Status_Shuffle_Netty_TotalSlots").Help("Task slots of this TaskManager")
        .Register(r).Add({{"tm_id", resourceId_}}).Set(slots_);
    addProcessMetrics(r, "flink_taskmanager");
  }

  // Joins tasks whose threads have reported a final state.
  void reapTasks() {
    for (auto it = tasks_.begin(); it != tasks_.end();) {
      if (it->second->done()) {
        it->second->join();
        it = tasks_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void cancelAllTasks() {
    for (auto& [k, t] : tasks_) t->cancel();
    for (auto& [k, t] : tasks_) t->join();
    tasks_.clear();
    for (const auto& [jobId, artifacts] : jobs_) blobs_->release(jobId);
    jobs_.clear();
  }

  Configuration config_;
  const std::atomic<bool>* stop_;
  net::NetworkEnvironment network_;
  Mailbox mailbox_;
  std::shared_ptr<net::Connection> conn_;
  std::string resourceId_;
  std::string host_;
  int slots_ = 1;
  int64_t hbIntervalMs_ = 10000;
  int64_t hbTimeoutMs_ = 50000;
  Clock::time_point lastJmHeartbeat_;
  std::string jmHost_;
  std::unique_ptr<blob::BlobCache> blobs_;  // created in run()
  std::shared_ptr<const tls::TlsContext> tls_;  // security.ssl.internal.*; null when disabled
  std::map<std::string, std::shared_ptr<Task>> tasks_;
  std::map<std::string, std::shared_ptr<const JobArtifacts>> jobs_;
  std::mutex snapshotMu_;
  std::condition_variable snapshotCv_;
  std::deque<SnapshotWork> snapshotQueue_;
  bool snapshotStop_ = false;
  std::thread snapshotThread_;
  std::map<std::string, std::shared_ptr<const JobArtifacts>> jobsForTasks_;  // guarded by snapshotMu_
  MetricsExporter exporter_;
  Clock::time_point lastSample_ = Clock::now();
  std::map<std::string, std::map<std::string, double>> previous_;
  std::map<std::string, std::map<std::string, double>> lastRates_;  // per task: rates of the last sample
  std::mutex metricsMu_;
  std::vector<Sample> samples_;  // guarded by metricsMu_
};

}  // namespace

int runTaskManager(const Configuration& config, const std::atomic<bool>* stop) {
  log::setComponent("taskmanager");
  TaskExecutor te(config, stop);
  return te.run();
}

}  // namespace flink
