#include "jobmanager/jobmanager.h"

#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <prometheus/gauge.h>

#include "checkpoint/coordinator.h"
#include "checkpoint/storage.h"
#include "flink/common/http.h"
#include "flink/common/ids.h"
#include "flink/common/log.h"
#include "flink/common/tls.h"
#include "core/metrics_exporter.h"
#include "core/mailbox.h"
#include "core/rpc.h"
#include "ha/kubernetes_ha.h"
#include "jobmanager/kubernetes_driver.h"
#include "jobmanager/rest_handlers.h"

namespace flink {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

class JobManager : public JobManagerView {
 public:
  JobManager(Configuration config, const std::atomic<bool>* stop) : config_(std::move(config)), stop_(stop) {}

  int run(std::optional<JobSubmission> application) {
    auto heartbeat = HeartbeatSettings::fromConfig(config_);
    auto shutdownOnFinish = config_.getBool(options::kShutdownOnFinish, true);
    for (const Status& s : {heartbeat.status(), shutdownOnFinish.status()}) {
      if (!s.ok()) {
        log::error("invalid configuration: {}", s.message());
        return 1;
      }
    }
    hbTimeoutMs_ = heartbeat->timeoutMs;
    if (!loadTls()) return 1;
    // Kubernetes HA: a standby opens no port until it leads, so the JobManager's Services
    // (their readiness) follow the leader.
    auto ha = ha::createHaServices(config_);
    if (!ha.ok()) {
      log::error("invalid configuration: {}", ha.status().message());
      return 1;
    }
    ha_ = std::move(*ha);
    if (ha_ && !ha_->awaitLeadership(stop_, [this] { haLost_ = true; })) {
      ha_->stop();
      return 0;
    }
    if (!application && !startSessionServices()) return 1;
    if (!startEndpoints()) return 1;
    if (!startNativeDriver()) {
      stopEndpoints();
      stopSessionServices();
      return 1;
    }
    std::string applicationJob;
    if (application) applicationJob = application->jobId;
    if (ha_) {
      Status s = ha_->publishLeaderAddresses(config_.getString(options::kRpcAddress, "localhost") + ":" +
                                                 std::to_string(listener_.port()), restAddress_);
      if (!s.ok()) log::warn("Kubernetes HA: {}", s.message());
      mailbox_.post([this, application] { recoverJobs(application); });
    } else if (application) {
      mailbox_.post([this, app = *application]() mutable { startJob(std::move(app)); });
    }
    int exitCode = mainLoop(heartbeat->intervalMs, *shutdownOnFinish ? applicationJob : std::string());
    // No more leadership renewals or HA writes once stopping: a deleted cluster's HA ConfigMaps
    // must not come back from a JobManager that is shutting down.
    if (ha_) ha_->stop();
    if (nativeDriver_) nativeDriver_->stop(true);
    stopEndpoints();
    stopSessionServices();
    return exitCode;
  }

 private:
  // Session mode: the job libraries behind /jars (unless web.submit.enable is false) and the
  // BlobServer that ships them to the TaskManagers.
  bool startSessionServices() {
    auto submit = config_.getBool("web.submit.enable", true);
    auto blobPort = config_.getInt("blob.server.port", 0);  // Flink's default: any free port
    for (const Status& s : {submit.status(), blobPort.status()}) {
      if (!s.ok()) {
        log::error("invalid configuration: {}", s.message());
        return false;
      }
    }
    std::string tmp = std::filesystem::temp_directory_path().string();
    blobServer_ = std::make_unique<blob::BlobServer>(config_.getString("blob.storage.directory", tmp) + "/blobStore-" + randomId(),
                                                     internalTls_);
    Status s = blobServer_->start(config_.getString("jobmanager.bind-host", "0.0.0.0"), static_cast<int>(*blobPort));
    if (!s.ok()) {
      log::error("BlobServer: {}", s.message());
      return false;
    }
    log::info("BlobServer started on port {}", blobServer_->port());
    if (!*submit) {
      log::info("web.submit.enable is false: no /jars endpoints");
      return true;
    }
    // Flink's default: <web.tmpdir>/flink-web-upload, web.tmpdir a fresh flink-web-<uuid> in the
    // temporary directory (removed again on shutdown; a configured web.upload.dir is kept).
    std::string dir = config_.getString("web.upload.dir", "");
    if (dir.empty()) {
      defaultWebTmpDir_ = config_.getString("web.tmpdir", tmp + "/flink-web-" + randomId());
      dir = defaultWebTmpDir_ + "/flink-web-upload";
    }
    auto jars = JarStore::open(dir);
    if (!jars.ok()) {
      log::error("{}", jars.status().message());
      return false;
    }
    jars_ = std::move(*jars);
    log::info("Job libraries (/jars) are kept in {}", jars_->dir());
    return true;
  }

  // Native Kubernetes mode: the ResourceManager's driver that creates the TaskManager pods.
  bool startNativeDriver() {
    auto driver = startKubernetesDriver(config_);
    if (!driver.ok()) {
      log::error("native Kubernetes mode: {}", driver.status().message());
      return false;
    }
    nativeDriver_ = std::move(*driver);
    return true;
  }

  void stopSessionServices() {
    if (blobServer_) blobServer_->stop();
    if (!defaultWebTmpDir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(defaultWebTmpDir_, ec);
    }
  }

  // security.ssl.internal.* (RPC, blobs) and security.ssl.rest.* (the REST API).
  bool loadTls() {
    auto internal = tls::TlsContext::fromConfig(config_, tls::Scope::kInternal);
    auto rest = tls::TlsContext::fromConfig(config_, tls::Scope::kRest);
    for (const Status& s : {internal.status(), rest.status()}) {
      if (!s.ok()) {
        log::error("invalid TLS configuration: {}", s.message());
        return false;
      }
    }
    internalTls_ = *internal;
    restTls_ = *rest;
    if (internalTls_) log::info("Internal TLS enabled (security.ssl.internal.enabled): RPC, data exchange and blobs");
    if (restTls_) {
      rest_ = std::make_unique<httplib::SSLServer>([this](SSL_CTX& ctx) { return restTls_->configure(&ctx, true).ok(); });
      log::info("REST API over TLS (security.ssl.rest.enabled){}",
                restTls_->options().mutualAuth ? ", clients need a trusted certificate (authentication-enabled)" : "");
    } else {
      rest_ = std::make_unique<httplib::Server>();
    }
    return true;
  }

  // The RPC endpoint for TaskManagers, the REST API, the metrics endpoint and the port file.
  bool startEndpoints() {
    auto rpcPort = config_.getInt(options::kRpcPort, 6123);
    auto restPort = config_.getInt(options::kRestPort, 8081);
    for (const Status& s : {rpcPort.status(), restPort.status()}) {
      if (!s.ok()) {
        log::error("invalid configuration: {}", s.message());
        return false;
      }
    }
    std::string rpcBind = config_.getString("jobmanager.bind-host", "0.0.0.0");
    Status s = listener_.bind(rpcBind, static_cast<int>(*rpcPort), internalTls_);
    if (!s.ok()) {
      log::error("RPC endpoint: {}", s.message());
      return false;
    }
    listener_.start([this](std::shared_ptr<net::Connection> conn) { onConnection(std::move(conn)); });
    registerRestHandlers(*rest_, *this, mailbox_, jars_.get(), &restAddress_);
    auto bounds = RestServerBounds::fromConfig(config_);
    if (!bounds.ok()) {
      log::error("invalid configuration: {}", bounds.status().message());
      listener_.stop();
      return false;
    }
    boundHttpServer(*rest_, bounds->readTimeoutMs, bounds->threads, bounds->maxPendingConnections);
    std::string restBind = config_.getString(options::kRestBindAddress, "0.0.0.0");
    int boundRest = *restPort == 0 ? rest_->bind_to_any_port(restBind)
                                   : (rest_->bind_to_port(restBind, static_cast<int>(*restPort)) ? static_cast<int>(*restPort) : -1);
    if (boundRest < 0) {
      log::error("REST endpoint: cannot listen on {}:{}", restBind, *restPort);
      listener_.stop();
      return false;
    }
    std::string scheme = restTls_ ? "https" : "http";
    restAddress_ = scheme + "://" + config_.getString(options::kRestAddress, "localhost") + ":" + std::to_string(boundRest);
    restThread_ = std::thread([this] { rest_->listen_after_bind(); });
    log::info("JobManager started: RPC port {}, REST endpoint {}://{}:{}", listener_.port(), scheme,
              config_.getString(options::kRestAddress, "localhost"), boundRest);
    Status ms = exporter_.start(config_.getString("jobmanager.bind-host", "0.0.0.0"),
                                config_.getString("metrics.reporter.prom.port", "9249"),
                                [this](prometheus::Registry& r) { mailbox_.call([&] { fillMetrics(r); }); });
    if (ms.ok()) {
      log::info("Prometheus metrics on port {}", exporter_.port());
    } else {
      log::warn("metrics endpoint not started: {}", ms.message());
    }
    if (auto portFile = config_.get(options::kPortFile)) {
      std::string tmp = *portFile + ".tmp";
      std::ofstream(tmp) << "rpc.port=" << listener_.port() << "\nrest.port=" << boundRest
                         << "\nmetrics.port=" << exporter_.port() << "\nblob.port=" << (blobServer_ ? blobServer_->port() : 0)
                         << "\n";
      std::rename(tmp.c_str(), portFile->c_str());
    }
    return true;
  }

  // The main thread: mailbox, heartbeats, JobMaster ticks, until *stop or, when `applicationJob`
  // is set (application mode with shutdown-on-application-finish), shortly after that job ends.
  // Returns the exit code.
  int mainLoop(int64_t hbIntervalMs, const std::string& applicationJob) {
    auto lastHeartbeat = Clock::now();
    int exitCode = 0;
    std::optional<Clock::time_point> shutdownAt;
    while (!stop_->load()) {
      mailbox_.runFor(std::chrono::milliseconds(50));
      auto now = Clock::now();
      if (now - lastHeartbeat >= std::chrono::milliseconds(hbIntervalMs)) {
        lastHeartbeat = now;
        for (const auto& [id, tm] : rm_.taskManagers()) (void)rpc::send(*tm.conn, {{"type", "heartbeat"}});
      }
      for (const auto& id : rm_.expired(now, hbTimeoutMs_)) {
        lostTaskManager(id, "heartbeat timed out after " + formatDurationMs(hbTimeoutMs_));
      }
      for (auto& [id, jm] : jobs_) jm->tick();
      if (nativeDriver_) {
        for (const auto& id : nativeDriver_->update(slotDemand(jobs()), rm_, now)) lostTaskManager(id, "released: idle");
      }
      releaseBlobsOfEndedJobs();
      if (ha_) recordHaProgress();
      if (haLost_.load()) {
        // As Flink's JobManager on a revoked leadership: stop here; the pod's restart makes it
        // a standby, and the new leader recovers the jobs.
        log::error("Kubernetes HA: leadership lost; the JobManager stops");
        return 1;
      }
      if (!applicationJob.empty() && !shutdownAt) {
        auto it = jobs_.find(applicationJob);
        if (it != jobs_.end() && isGloballyTerminal(it->second->status())) {
          exitCode = it->second->status() == JobStatus::kFinished ? 0 : 1;
          log::info("Application job {} reached {}; shutting down the cluster", applicationJob,
                    toString(it->second->status()));
          shutdownAt = now + std::chrono::milliseconds(500);  // lets clients read the final state
        }
      }
      if (shutdownAt && now >= *shutdownAt) break;
    }
    return exitCode;
  }

  void stopEndpoints() {
    log::info("Stopping the JobManager");
    exporter_.stop();
    rest_->stop();
    restThread_.join();
    listener_.stop();
    std::vector<std::shared_ptr<net::Connection>> conns;
    for (const auto& [id, tm] : rm_.taskManagers()) conns.push_back(tm.conn);
    for (auto& c : conns) c->close();
    mailbox_.close();
    mailbox_.runFor(std::chrono::milliseconds(0));
  }

 public:
  // Flink's JobManager metrics (main thread).
  void fillMetrics(prometheus::Registry& r) {
    auto gauge = [&](const std::string& name, const std::string& help) -> prometheus::Family<prometheus::Gauge>& {
      return prometheus::BuildGauge().Name(name).Help(help).Register(r);
    };
    int running = 0;
    for (const auto& [id, jm] : jobs_) running += isGloballyTerminal(jm->status()) ? 0 : 1;
    gauge("flink_jobmanager_numRunningJobs", "Jobs not in a terminal state").Add({}).Set(running);
    gauge("flink_jobmanager_numRegisteredTaskManagers", "Registered TaskManagers").Add({}).Set(static_cast<double>(rm_.taskManagers().size()));
    gauge("flink_jobmanager_taskSlotsAvailable", "Free task slots").Add({}).Set(rm_.freeSlots());
    gauge("flink_jobmanager_taskSlotsTotal", "Task slots").Add({}).Set(rm_.totalSlots());
    auto& uptime = gauge("flink_jobmanager_job_uptime", "Time the job has been running, ms");
    auto& restarts = gauge("flink_jobmanager_job_numRestarts", "Restarts of the job");
    auto& lastDuration = gauge("flink_jobmanager_job_lastCheckpointDuration", "Duration of the last completed checkpoint, ms");
    auto& lastSize = gauge("flink_jobmanager_job_lastCheckpointSize", "Size of the last completed checkpoint, bytes");
    auto& completed = gauge("flink_jobmanager_job_numberOfCompletedCheckpoints", "Completed checkpoints");
    auto& failed = gauge("flink_jobmanager_job_numberOfFailedCheckpoints", "Failed checkpoints");
    for (const auto& [id, jm] : jobs_) {
      std::map<std::string, std::string> labels = {{"job_id", id}, {"job_name", jm->name()}};
      uptime.Add(labels).Set(jm->status() == JobStatus::kRunning ? static_cast<double>(nowMs() - jm->startTimeMs()) : 0);
      restarts.Add(labels).Set(jm->numRestarts());
      const auto* cc = jm->checkpointCoordinator();
      auto last = cc ? cc->latestCompletedStats() : std::nullopt;
      lastDuration.Add(labels).Set(last ? static_cast<double>(last->durationMs) : 0);
      lastSize.Add(labels).Set(last ? static_cast<double>(last->stateSize) : 0);
      completed.Add(labels).Set(cc ? static_cast<double>(cc->numCompleted()) : 0);
      failed.Add(labels).Set(cc ? static_cast<double>(cc->numFailed()) : 0);
    }
    addProcessMetrics(r, "flink_jobmanager");
  }

  // ---- JobManagerView (main thread) ----
  const Configuration& config() const override { return config_; }
  const ResourceManager& resourceManager() const override { return rm_; }
  std::vector<const JobMaster*> jobs() const override {
    std::vector<const JobMaster*> out;
    for (const auto& [id, jm] : jobs_) out.push_back(jm.get());
    return out;
  }
  const JobMaster* job(const std::string& id) const override {
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : it->second.get();
  }
  JobMaster* mutableJob(const std::string& id) override {
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : it->second.get();
  }
  Status submitJob(JobSubmission sub) override {
    if (ha_) {
      Status s = persistSubmission(sub);
      if (!s.ok()) return Status::Error("the job cannot be made recoverable (Kubernetes HA): " + s.message());
    }
    if (sub.library) {
      if (!blobServer_) return Status::Error("no BlobServer runs (application mode): job libraries cannot be shipped");
      Status s = blobServer_->put(sub.spec.jarURI, sub.library->key, sub.jobId);
      if (!s.ok()) return Status::Error("the job library cannot be stored in the BlobServer: " + s.message());
      sub.library->port = blobServer_->port();
      blobJobs_.insert(sub.jobId);
    }
    startJob(std::move(sub));
    return Status::Ok();
  }
  bool cancelJob(const std::string& id) override {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return false;
    it->second->cancel();
    return true;
  }
  bool requestTaskManagerFile(const std::string& tmId, const std::string& file,
                              std::function<void(json)> done) override {
    const auto* tm = rm_.find(tmId);
    if (!tm) return false;
    int64_t id = nextFileRequest_++;
    fileRequests_[id] = {tmId, std::move(done)};
    (void)rpc::send(*tm->conn, {{"type", "requestFile"}, {"requestId", id}, {"file", file}});
    return true;
  }

 private:
  // A TaskManager's answer to requestTaskManagerFile.
  void onFileAnswer(const std::string& tmId, json msg) {
    auto it = fileRequests_.find(msg.value("requestId", int64_t{-1}));
    if (it == fileRequests_.end() || it->second.first != tmId) return;
    auto done = std::move(it->second.second);
    fileRequests_.erase(it);
    msg.erase("type");
    msg.erase("requestId");
    done(std::move(msg));
  }

  // ---- Kubernetes HA (main thread) ----

  // The submission as the HA job graph store keeps it: enough to run the job again. A library
  // uploaded to this session cluster is copied to the HA storage (the upload directory is the
  // pod's own).
  Status persistSubmission(const JobSubmission& sub) {
    json j = {{"jobId", sub.jobId},
              {"jarURI", sub.spec.jarURI},
              {"entryClass", sub.spec.entryClass},
              {"args", sub.spec.args},
              {"config", sub.config.entries()}};
    if (sub.library) {
      std::string dir = ha_->storagePath("blob/job_" + sub.jobId);
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      const std::string copy = dir + "/" + sub.library->key + ".so";  // (a library is loaded by its .so name)
      std::filesystem::copy_file(checkpoint::pathOf(sub.spec.jarURI), copy, std::filesystem::copy_options::overwrite_existing, ec);
      if (ec) return Status::Error("cannot copy the job library to " + dir + ": " + ec.message());
      j["jarURI"] = copy;
      j["library"] = {{"key", sub.library->key}, {"name", sub.library->name}};
    }
    return ha_->putJobGraph(sub.jobId, j);
  }

  static Result<JobSubmission> submissionFromJson(const json& j) {
    try {
      JobSubmission sub;
      sub.jobId = j.at("jobId").get<std::string>();
      sub.spec.jarURI = j.at("jarURI").get<std::string>();
      sub.spec.entryClass = j.at("entryClass").get<std::string>();
      sub.spec.args = j.at("args").get<std::vector<std::string>>();
      for (const auto& [k, v] : j.at("config").items()) sub.config.set(k, v.get<std::string>());
      if (j.contains("library")) sub.library = blob::BlobRef{j["library"].at("key"), j["library"].at("name"), 0};
      return sub;
    } catch (const std::exception& e) {
      return Status::Error(std::string("not a job submission: ") + e.what());
    }
  }

  // A new leader: the jobs the HA job graph store lists (a session cluster's submissions),
  // and the application's job (stored first, so a successor recovers it too), each resuming
  // from its newest checkpoint.
  void recoverJobs(std::optional<JobSubmission> application) {
    auto graphs = ha_->recoverJobGraphs();
    if (!graphs.ok()) log::error("Kubernetes HA: {}", graphs.status().message());
    std::vector<JobSubmission> subs;
    for (const auto& g : graphs.ok() ? *graphs : std::vector<json>{}) {
      auto sub = submissionFromJson(g);
      if (!sub.ok()) {
        log::error("Kubernetes HA: a job graph is skipped: {}", sub.status().message());
        continue;
      }
      if (application && sub->jobId == application->jobId) continue;  // the application's own, below
      subs.push_back(std::move(*sub));
    }
    if (application) {
      Status s = persistSubmission(*application);
      if (!s.ok()) log::warn("Kubernetes HA: the application's job graph is not stored: {}", s.message());
      subs.push_back(std::move(*application));
    }
    for (auto& sub : subs) {
      auto latest = ha_->latestCheckpoint(sub.jobId);
      if (!latest.ok()) {
        log::warn("Kubernetes HA: {}", latest.status().message());
      } else if (*latest) {
        log::info("Kubernetes HA: job {} has checkpoint {} in {} ({})", sub.jobId, (*latest)->checkpointId,
                  "its HA ConfigMap", (*latest)->externalPointer);
        sub.haCheckpoint = (*latest)->externalPointer;
      }
      log::info("Kubernetes HA: recovering job {} ({})", sub.jobId, sub.spec.entryClass);
      if (sub.library && blobServer_) {
        Status s = blobServer_->put(sub.spec.jarURI, sub.library->key, sub.jobId);
        if (!s.ok()) {
          log::error("Kubernetes HA: the library of job {} cannot be served: {}", sub.jobId, s.message());
          continue;
        }
        sub.library->port = blobServer_->port();
        blobJobs_.insert(sub.jobId);
      }
      startJob(std::move(sub));
    }
  }

  // Checkpoint pointers of completed checkpoints, and the cleanup of jobs that ended.
  void recordHaProgress() {
    for (const auto& [id, jm] : jobs_) {
      auto& seen = haSeen_[id];
      if (isGloballyTerminal(jm->status())) {
        if (!seen.terminated) ha_->jobTerminated(id);
        seen.terminated = true;
        continue;
      }
      const auto* cc = jm->checkpointCoordinator();
      auto last = cc ? cc->latestCompletedStats() : std::nullopt;
      if (last && !last->savepoint && last->id > seen.checkpointId) {
        seen.checkpointId = last->id;
        ha_->checkpointCompleted(id, last->id, last->externalPath, cc->settings().numRetained);
      }
    }
  }

  void startJob(JobSubmission sub) {
    log::info("Submitting job {} ({})", sub.spec.entryClass, sub.jobId);
    auto jm = std::make_unique<JobMaster>(std::move(sub), &rm_, [this](const std::string& tm, const json& msg) {
      if (const auto* r = rm_.find(tm)) (void)rpc::send(*r->conn, msg);
    });
    JobMaster* raw = jm.get();
    jobs_[raw->jobId()] = std::move(jm);
    raw->start();
  }

  // A job that ended no longer needs its library in the BlobServer (Flink's job cleanup).
  void releaseBlobsOfEndedJobs() {
    for (auto it = blobJobs_.begin(); it != blobJobs_.end();) {
      auto job = jobs_.find(*it);
      if (job != jobs_.end() && !isGloballyTerminal(job->second->status())) {
        ++it;
        continue;
      }
      blobServer_->release(*it);
      it = blobJobs_.erase(it);
    }
  }

  void onConnection(std::shared_ptr<net::Connection> conn) {
    auto tmId = std::make_shared<std::string>();  // set on registration; read on the main thread only
    std::weak_ptr<net::Connection> weak = conn;
    conn->start(
        [this, weak, tmId](uint8_t, Buffer&& payload) {
          auto msg = std::make_shared<json>(rpc::parse(payload));
          mailbox_.post([this, weak, tmId, msg] {
            auto c = weak.lock();
            if (!c) return;
            try {
              handle(c, *tmId, *msg, tmId.get());
            } catch (const std::exception& e) {
              // A field missing or of the wrong type: the peer is broken or not one of ours.
              log::warn("malformed message from {}: {}; closing the connection", c->peer(), e.what());
              if (!tmId->empty()) lostTaskManager(*tmId, std::string("malformed message: ") + e.what());
              c->close();
            }
          });
        },
        [this, tmId](const std::string& reason) {
          mailbox_.post([this, tmId, reason] {
            if (!tmId->empty()) lostTaskManager(*tmId, "connection lost: " + reason);
          });
        });
    std::lock_guard<std::mutex> lock(connMu_);
    pending_.push_back(conn);
  }

  void handle(const std::shared_ptr<net::Connection>& conn, const std::string& tmId, const json& msg,
              std::string* tmIdOut) {
    const std::string type = msg.value("type", "");
    if (type == "register") {
      std::string id = msg.at("resourceId");
      if (nativeDriver_ && !nativeDriver_->accepts(id)) {
        conn->close();  // a released or failed pod's TaskManager (logged by the driver)
        return;
      }
      if (rm_.find(id)) lostTaskManager(id, "re-registered");
      rm_.registerTaskManager(conn, msg);
      *tmIdOut = id;
      (void)rpc::send(*conn, {{"type", "registered"}, {"resourceId", id}});
      for (auto& [jid, jm] : jobs_) jm->tick();
      return;
    }
    if (tmId.empty() || !rm_.find(tmId)) return;  // not registered (or already lost)
    if (type == "heartbeat") {
      rm_.heartbeat(tmId);
    } else if (type == "taskState") {
      auto it = jobs_.find(msg.at("jobId").get<std::string>());
      if (it != jobs_.end()) it->second->onTaskState(msg);
    } else if (type == "acknowledgeCheckpoint" || type == "declineCheckpoint") {
      auto it = jobs_.find(msg.at("jobId").get<std::string>());
      if (it == jobs_.end()) return;
      type == "acknowledgeCheckpoint" ? it->second->onCheckpointAck(msg) : it->second->onCheckpointDecline(msg);
    } else if (type == "inputEnded") {
      auto it = jobs_.find(msg.at("jobId").get<std::string>());
      if (it != jobs_.end()) it->second->onTaskInputEnded(msg);
    } else if (type == "requestSplit") {
      auto it = jobs_.find(msg.at("jobId").get<std::string>());
      if (it != jobs_.end()) it->second->onSplitRequest(msg);
    } else if (type == "file") {
      onFileAnswer(tmId, msg);
    } else if (type == "metrics") {
      rm_.reportMetrics(tmId, msg.value("process", json()));
      for (const auto& t : msg.at("tasks")) {
        auto it = jobs_.find(t.at("jobId").get<std::string>());
        if (it != jobs_.end()) it->second->onTaskMetrics(t);
      }
    }
  }

  void lostTaskManager(const std::string& id, const std::string& reason) {
    const auto* tm = rm_.find(id);
    if (!tm) return;
    log::warn("TaskManager {} lost: {}", id, reason);
    auto conn = tm->conn;
    rm_.unregister(id);
    for (auto& [jid, jm] : jobs_) jm->onTaskManagerLost(id, reason);
    for (auto it = fileRequests_.begin(); it != fileRequests_.end();) {
      if (it->second.first != id) {
        ++it;
        continue;
      }
      auto done = std::move(it->second.second);
      it = fileRequests_.erase(it);
      done({{"error", "TaskManager " + id + " was lost: " + reason}});
    }
    conn->close();
  }

  Configuration config_;
  const std::atomic<bool>* stop_;
  Mailbox mailbox_;
  net::Listener listener_;
  std::shared_ptr<const tls::TlsContext> internalTls_;  // security.ssl.internal.*; null when disabled
  std::shared_ptr<const tls::TlsContext> restTls_;      // security.ssl.rest.*; null when disabled
  std::unique_ptr<httplib::Server> rest_;               // an SSLServer with restTls_; made by loadTls()
  std::thread restThread_;
  MetricsExporter exporter_;
  ResourceManager rm_;
  std::map<std::string, std::unique_ptr<JobMaster>> jobs_;
  std::unique_ptr<ha::KubernetesHaServices> ha_;  // high-availability.type: kubernetes
  std::atomic<bool> haLost_{false};
  struct HaSeen {
    int64_t checkpointId = 0;
    bool terminated = false;
  };
  std::map<std::string, HaSeen> haSeen_;  // per job: what the HA ConfigMaps already record
  std::unique_ptr<blob::BlobServer> blobServer_;  // session mode
  std::set<std::string> blobJobs_;                // jobs holding a blob in blobServer_
  std::unique_ptr<KubernetesResourceDriver> nativeDriver_;  // native Kubernetes mode
  std::unique_ptr<JarStore> jars_;                // session mode with web.submit.enable
  std::string defaultWebTmpDir_;                  // removed on shutdown when set
  std::string restAddress_;                       // set before the REST endpoint listens
  int64_t hbTimeoutMs_ = 50000;
  // Open requestTaskManagerFile calls by request id: the TaskManager asked and the callback.
  std::map<int64_t, std::pair<std::string, std::function<void(json)>>> fileRequests_;
  int64_t nextFileRequest_ = 1;
  std::mutex connMu_;
  std::vector<std::shared_ptr<net::Connection>> pending_;
};

}  // namespace

int runJobManager(const Configuration& config, std::optional<JobSubmission> application, const std::atomic<bool>* stop) {
  log::setComponent("jobmanager");
  JobManager jm(config, stop);
  return jm.run(std::move(application));
}

}  // namespace flink
