#include "ha/kubernetes_ha.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "checkpoint/storage.h"
#include "flink/common/ids.h"
#include "flink/common/log.h"
#include "flink/common/strings.h"

namespace flink::ha {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kJobGraphPrefix = "executionPlan-";
constexpr const char* kCheckpointPrefix = "checkpointID-";

bool isKubernetesType(const std::string& type) {
  std::string t = lower(type);
  return t == "kubernetes" || t == "org.apache.flink.kubernetes.highavailability.kuberneteshaservicesfactory";
}

json haLabels(const HaSettings& s) {
  return {{"app", s.clusterId}, {"configmap-type", "high-availability"}, {"type", "flink-native-kubernetes"}};
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string checkpointKey(int64_t id) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%s%019lld", kCheckpointPrefix, static_cast<long long>(id));
  return buf;
}

Result<HaSettings> HaSettings::fromConfig(const Configuration& config) {
  HaSettings s;
  std::string type = config.getString("high-availability.type", config.getString("high-availability", "none"));
  if (trim(type).empty() || lower(type) == "none" || lower(type) == "nonha") return s;
  if (!isKubernetesType(type)) {
    return Status::Error("high-availability.type: '" + type + "' is not supported (none or kubernetes)");
  }
  s.enabled = true;
  s.clusterId = config.getString("high-availability.cluster-id", config.getString("kubernetes.cluster-id", ""));
  if (s.clusterId.empty()) return Status::Error("high-availability.cluster-id (or kubernetes.cluster-id) is required for Kubernetes HA");
  s.storageDir = checkpoint::pathOf(config.getString("high-availability.storageDir", config.getString("high-availability.storage-dir", "")));
  if (s.storageDir.empty()) return Status::Error("high-availability.storageDir is required for Kubernetes HA");
  s.ns = config.getString("kubernetes.namespace", "");
  auto lease = config.getDurationMs("high-availability.kubernetes.leader-election.lease-duration", 15000);
  auto renew = config.getDurationMs("high-availability.kubernetes.leader-election.renew-deadline", 15000);
  auto retry = config.getDurationMs("high-availability.kubernetes.leader-election.retry-period", 5000);
  for (const Status& st : {lease.status(), renew.status(), retry.status()}) {
    if (!st.ok()) return st;
  }
  s.leaseDurationSeconds = static_cast<int>(std::max<int64_t>(1, (*lease + 999) / 1000));
  s.renewDeadlineMs = std::max<int64_t>(1, *renew);
  s.retryPeriodMs = std::max<int64_t>(1, *retry);
  return s;
}

KubernetesHaServices::KubernetesHaServices(HaSettings settings, std::shared_ptr<k8s::KubeApi> client, std::string identity)
    : settings_(std::move(settings)), client_(std::move(client)) {
  k8s::LeaderElectionConfig lc;
  lc.ns = settings_.ns;
  lc.leaseName = settings_.clusterConfigMap();
  lc.lock = k8s::LockKind::kConfigMap;
  const json labels = haLabels(settings_);
  for (const auto& [k, v] : labels.items()) lc.labels[k] = v.get<std::string>();
  lc.identity = std::move(identity);
  lc.leaseDurationSeconds = settings_.leaseDurationSeconds;
  lc.renewDeadlineMs = settings_.renewDeadlineMs;
  lc.retryPeriodMs = settings_.retryPeriodMs;
  elector_ = std::make_unique<k8s::LeaderElector>(client_, lc);
  worker_ = std::thread([this] { workerLoop(); });
}

KubernetesHaServices::~KubernetesHaServices() { stop(); }

void KubernetesHaServices::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();  // the queued writes, while still leading
  elector_->stop();
}

bool KubernetesHaServices::awaitLeadership(const std::atomic<bool>* stop, std::function<void()> onLost) {
  log::info("Kubernetes HA: campaigning for leadership of {} in {} as {} (lease {} s)", settings_.clusterConfigMap(),
            settings_.ns, elector_->config().identity, settings_.leaseDurationSeconds);
  elector_->start([] {}, std::move(onLost));
  while (!stop->load() && !elector_->leading()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return elector_->leading();
}

bool KubernetesHaServices::leading() const { return elector_->leading(); }

std::string KubernetesHaServices::storagePath(const std::string& sub) const {
  return settings_.storageDir + "/" + settings_.clusterId + "/" + sub;
}

Status KubernetesHaServices::updateData(const std::string& name, const std::function<bool(json& data)>& mutate, bool create) {
  const std::string path = k8s::types::kConfigMap.objectPath(settings_.ns, name);
  std::string last;
  for (int attempt = 0; attempt < 10; ++attempt) {
    if (!leading()) return Status::Error("not the leader: " + name + " is not written");
    auto cur = client_->get(path);
    if (cur.notFound()) {
      if (!create) return Status::Ok();
      json data = json::object();
      if (!mutate(data)) return Status::Ok();
      json cm = {{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata", {{"name", name}, {"namespace", settings_.ns}, {"labels", haLabels(settings_)}}},
                 {"data", data}};
      auto r = client_->post(k8s::types::kConfigMap.collectionPath(settings_.ns), cm);
      if (r.ok()) return Status::Ok();
      last = r.error;
      if (!r.conflict()) std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt + 1)));
      continue;
    }
    if (!cur.ok()) {
      last = cur.error;
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt + 1)));
      continue;
    }
    json cm = cur.body;
    json data = cm.value("data", json::object());
    if (!mutate(data)) return Status::Ok();
    cm["data"] = data;
    auto r = client_->put(path, cm);  // with the resourceVersion read above
    if (r.ok()) return Status::Ok();
    last = r.error;
    if (!r.conflict()) std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt + 1)));
  }
  return Status::Error("ConfigMap " + settings_.ns + "/" + name + " could not be written: " + last);
}

Status KubernetesHaServices::publishLeaderAddresses(const std::string& rpcAddress, const std::string& restAddress) {
  const std::string session = randomId();
  return updateData(settings_.clusterConfigMap(), [&](json& data) {
    for (const char* component : {"dispatcher", "resourcemanager"}) {
      data[std::string("org.apache.flink.k8s.leader.") + component] = json{{"address", rpcAddress}, {"sessionId", session}}.dump();
    }
    data["org.apache.flink.k8s.leader.restserver"] = json{{"address", restAddress}, {"sessionId", session}}.dump();
    return true;
  }, true);
}

Status KubernetesHaServices::putJobGraph(const std::string& jobId, const json& submission) {
  const std::string file = storagePath("submittedJobGraph-" + jobId);
  Status s = checkpoint::writeTextAtomically(file, submission.dump());
  if (!s.ok()) return s;
  return updateData(settings_.clusterConfigMap(), [&](json& data) {
    data[kJobGraphPrefix + jobId] = json{{"path", file}}.dump();
    return true;
  }, true);
}

Result<std::vector<json>> KubernetesHaServices::recoverJobGraphs() {
  auto cm = client_->get(k8s::types::kConfigMap.objectPath(settings_.ns, settings_.clusterConfigMap()));
  std::vector<json> out;
  if (cm.notFound()) return out;
  if (!cm.ok()) return Status::Error("ConfigMap " + settings_.clusterConfigMap() + " cannot be read: " + cm.error);
  const json data = cm.body.value("data", json::object());
  for (const auto& [key, value] : data.items()) {
    if (key.rfind(kJobGraphPrefix, 0) != 0 || !value.is_string()) continue;
    json entry = json::parse(value.get<std::string>(), nullptr, false);
    std::string path = entry.is_object() ? entry.value("path", "") : "";
    auto text = path.empty() ? Result<std::string>(Status::Error("no path in the entry")) : readFile(path);
    json sub = text.ok() ? json::parse(*text, nullptr, false) : json();
    if (!sub.is_object()) {
      log::error("Kubernetes HA: {} of {} cannot be recovered ({}): skipped", key, settings_.clusterConfigMap(),
                 text.ok() ? path + " is not a job submission" : text.status().message());
      continue;
    }
    out.push_back(std::move(sub));
  }
  return out;
}

Result<std::optional<CheckpointPointer>> KubernetesHaServices::latestCheckpoint(const std::string& jobId) {
  auto cm = client_->get(k8s::types::kConfigMap.objectPath(settings_.ns, settings_.jobConfigMap(jobId)));
  if (cm.notFound()) return std::optional<CheckpointPointer>();
  if (!cm.ok()) return Status::Error("ConfigMap " + settings_.jobConfigMap(jobId) + " cannot be read: " + cm.error);
  std::optional<CheckpointPointer> best;
  const json data = cm.body.value("data", json::object());
  for (const auto& [key, value] : data.items()) {
    if (key.rfind(kCheckpointPrefix, 0) != 0 || !value.is_string()) continue;
    json entry = json::parse(value.get<std::string>(), nullptr, false);
    if (!entry.is_object()) continue;
    CheckpointPointer p;
    p.checkpointId = std::strtoll(key.c_str() + std::strlen(kCheckpointPrefix), nullptr, 10);
    p.externalPointer = entry.value("externalPointer", "");
    if (p.externalPointer.empty()) {  // only the pointer file: read it
      auto text = readFile(entry.value("path", ""));
      json f = text.ok() ? json::parse(*text, nullptr, false) : json();
      if (f.is_object()) p.externalPointer = f.value("externalPointer", "");
    }
    if (!p.externalPointer.empty() && (!best || p.checkpointId > best->checkpointId)) best = p;
  }
  return best;
}

void KubernetesHaServices::checkpointCompleted(const std::string& jobId, int64_t checkpointId,
                                               const std::string& externalPointer, int numRetained) {
  post([this, jobId, checkpointId, externalPointer, numRetained] {
    const std::string file = storagePath("completedCheckpoint-" + jobId + "-" + std::to_string(checkpointId));
    json pointer = {{"checkpointId", checkpointId}, {"externalPointer", externalPointer}};
    Status s = checkpoint::writeTextAtomically(file, pointer.dump());
    std::vector<std::string> dropped;
    if (s.ok()) {
      s = updateData(settings_.jobConfigMap(jobId), [&](json& data) {
        data[checkpointKey(checkpointId)] = json{{"path", file}, {"externalPointer", externalPointer}}.dump();
        int64_t counter = data.contains("counter") && data["counter"].is_string()
                              ? std::strtoll(data["counter"].get<std::string>().c_str(), nullptr, 10) : 0;
        data["counter"] = std::to_string(std::max(counter, checkpointId + 1));
        std::vector<std::string> keys;
        for (const auto& [k, v] : data.items()) {
          if (k.rfind(kCheckpointPrefix, 0) == 0) keys.push_back(k);
        }
        std::sort(keys.begin(), keys.end());  // zero-padded: oldest first
        dropped.clear();
        for (size_t i = 0; i + static_cast<size_t>(std::max(1, numRetained)) < keys.size(); ++i) {
          json old = json::parse(data[keys[i]].get<std::string>(), nullptr, false);
          if (old.is_object()) dropped.push_back(old.value("path", ""));
          data.erase(keys[i]);
        }
        return true;
      }, true);
    }
    if (!s.ok()) {
      log::warn("Kubernetes HA: checkpoint {} of job {} is not recorded: {}", checkpointId, jobId, s.message());
      return;
    }
    for (const auto& f : dropped) {
      std::error_code ec;
      if (!f.empty()) fs::remove(f, ec);
    }
  });
}

void KubernetesHaServices::jobTerminated(const std::string& jobId) {
  post([this, jobId] {
    if (!leading()) return;
    auto r = client_->del(k8s::types::kConfigMap.objectPath(settings_.ns, settings_.jobConfigMap(jobId)));
    if (!r.ok() && !r.notFound()) log::warn("Kubernetes HA: {} not deleted: {}", settings_.jobConfigMap(jobId), r.error);
    Status s = updateData(settings_.clusterConfigMap(), [&](json& data) { return data.erase(kJobGraphPrefix + jobId) > 0; }, false);
    if (!s.ok()) log::warn("Kubernetes HA: the job graph of {} is not removed: {}", jobId, s.message());
    std::error_code ec;
    fs::remove(storagePath("submittedJobGraph-" + jobId), ec);
    fs::remove_all(storagePath("blob/job_" + jobId), ec);
    for (const auto& entry : fs::directory_iterator(storagePath(""), ec)) {
      if (entry.path().filename().string().rfind("completedCheckpoint-" + jobId + "-", 0) == 0) fs::remove(entry.path(), ec);
    }
    log::info("Kubernetes HA: the HA data of job {} is removed", jobId);
  });
}

void KubernetesHaServices::post(std::function<void()> work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    queue_.push_back(std::move(work));
  }
  cv_.notify_one();
}

void KubernetesHaServices::workerLoop() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

Result<std::unique_ptr<KubernetesHaServices>> createHaServices(const Configuration& config) {
  auto settings = HaSettings::fromConfig(config);
  if (!settings.ok()) return settings.status();
  if (!settings->enabled) return std::unique_ptr<KubernetesHaServices>();
  auto kube = k8s::KubeConfig::load("");
  if (!kube.ok()) return Status::Error("Kubernetes HA needs the API server: " + kube.status().message());
  if (settings->ns.empty()) settings->ns = kube->defaultNamespace;
  auto client = k8s::KubeClient::create(*kube, 2);
  if (!client.ok()) return client.status();
  // In a pod the hostname is the pod's name: a restarted container of the same pod (its old
  // process is gone) takes the leadership back at once, another pod waits for the lease. Outside
  // a pod several JobManagers may share a host: the process id tells them apart.
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  std::string identity = host;
  if (!std::getenv("KUBERNETES_SERVICE_HOST")) identity += "-" + std::to_string(getpid());
  return std::make_unique<KubernetesHaServices>(*settings, *client, identity);
}

}  // namespace flink::ha
