// The Kubernetes driver of the ResourceManager. See kubernetes_driver.h.
#include "jobmanager/kubernetes_driver.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "flink/common/log.h"
#include "flink/common/strings.h"
#include "jobmanager/job_master.h"
#include "jobmanager/resource_manager.h"
#include "k8s/yaml_json.h"

namespace flink {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

const k8s::ResourceType kPod{"", "v1", "pods", "Pod", true};
constexpr const char* kMainContainer = "flink-main-container";
constexpr std::chrono::milliseconds kMinBackoff{1000};
constexpr std::chrono::milliseconds kMaxBackoff{30000};
constexpr std::chrono::milliseconds kSyncInterval{200};


/// The pod template file: JSON, else YAML.
Result<json> readPodTemplate(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Error("kubernetes.pod-template-file.taskmanager: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  json parsed = json::parse(ss.str(), nullptr, false);
  if (parsed.is_discarded()) {
    try {
      parsed = k8s::yamlToJson(YAML::Load(ss.str()));
    } catch (const YAML::Exception& e) {
      return Status::Error("kubernetes.pod-template-file.taskmanager: " + path + ": " + e.what());
    }
  }
  if (parsed.is_null()) parsed = json::object();
  if (!parsed.is_object()) return Status::Error("kubernetes.pod-template-file.taskmanager: " + path + " is not a Pod object");
  return parsed;
}

/// A Flink memory size as a Kubernetes quantity (whole MiB as "Mi", else bytes); "" if it does
/// not parse.
std::string memoryQuantity(const std::string& flinkSize) {
  auto bytes = parseMemoryBytes(flinkSize);
  if (!bytes.ok() || *bytes <= 0) return "";
  constexpr int64_t kMi = 1024 * 1024;
  return *bytes % kMi == 0 ? std::to_string(*bytes / kMi) + "Mi" : std::to_string(*bytes);
}

std::string labelSelector(const std::string& clusterId) {
  return "app%3D" + clusterId + "%2Ccomponent%3Dtaskmanager%2Ctype%3Dflink-native-kubernetes";
}

bool hasNativeLabels(const json& pod, const std::string& clusterId) {
  json l = pod.value("metadata", json::object()).value("labels", json::object());
  return l.value("app", "") == clusterId && l.value("component", "") == "taskmanager" &&
         l.value("type", "") == "flink-native-kubernetes";
}

/// The attempt in <clusterId>-taskmanager-<attempt>-<n>, or 0.
int attemptOf(const std::string& name, const std::string& clusterId) {
  const std::string prefix = clusterId + "-taskmanager-";
  if (name.rfind(prefix, 0) != 0) return 0;
  std::string rest = name.substr(prefix.size());
  auto dash = rest.find('-');
  if (dash == std::string::npos || dash == 0) return 0;
  try {
    return std::stoi(rest.substr(0, dash));
  } catch (...) {
    return 0;
  }
}

}  // namespace

Result<std::optional<NativeKubernetesSettings>> NativeKubernetesSettings::fromConfig(const Configuration& config,
                                                                                    const std::string& podIp) {
  std::string target = config.getString("execution.target", "");
  auto templateFile = config.get("kubernetes.pod-template-file.taskmanager");
  if (target != "kubernetes-application" && target != "kubernetes-session" && !templateFile) {
    return std::optional<NativeKubernetesSettings>();
  }
  NativeKubernetesSettings s;
  s.clusterId = config.getString("kubernetes.cluster-id", "");
  if (s.clusterId.empty()) return Status::Error("native Kubernetes mode needs kubernetes.cluster-id");
  s.ns = config.getString("kubernetes.namespace", "default");
  s.image = config.getString("kubernetes.container.image.ref", "");
  s.cpu = config.getString("kubernetes.taskmanager.cpu.amount", "");
  s.memory = config.getString("taskmanager.memory.process.size", "");
  auto slots = config.getInt(options::kNumTaskSlots, 1);
  auto idle = config.getDurationMs("resourcemanager.taskmanager-timeout", 30000);
  for (const Status& st : {slots.status(), idle.status()}) {
    if (!st.ok()) return st;
  }
  if (*slots < 1) return Status::Error(std::string(options::kNumTaskSlots) + " must be at least 1");
  s.slotsPerTaskManager = static_cast<int>(*slots);
  s.idleTimeoutMs = *idle;
  s.jobManagerAddress = podIp.empty() ? config.getString(options::kRpcAddress, "localhost") : podIp;
  s.podTemplate = json::object();
  if (templateFile && !trim(*templateFile).empty()) {
    auto t = readPodTemplate(trim(*templateFile));
    if (!t.ok()) return t.status();
    s.podTemplate = std::move(*t);
  }
  return std::optional<NativeKubernetesSettings>(std::move(s));
}

int taskManagerPodsToCreate(int slotDemand, int slotsPerTaskManager, int livePods) {
  if (slotDemand <= 0 || slotsPerTaskManager <= 0) return 0;
  int needed = (slotDemand + slotsPerTaskManager - 1) / slotsPerTaskManager;
  return std::max(0, needed - livePods);
}

int slotDemand(const std::vector<const JobMaster*>& jobs) {
  int n = 0;
  for (const JobMaster* jm : jobs) {
    if (isGloballyTerminal(jm->status()) || !jm->jobGraph()) continue;
    n += jm->jobGraph()->requiredSlots();
  }
  return n;
}

json taskManagerPod(const NativeKubernetesSettings& s, const std::string& name, const std::string& ownerUid) {
  json pod = s.podTemplate.is_object() ? s.podTemplate : json::object();
  pod["apiVersion"] = "v1";
  pod["kind"] = "Pod";
  json& meta = pod["metadata"];
  if (!meta.is_object()) meta = json::object();
  meta["name"] = name;
  meta["namespace"] = s.ns;
  for (const char* k : {"uid", "resourceVersion", "creationTimestamp", "generateName", "ownerReferences"}) meta.erase(k);
  if (!meta["labels"].is_object()) meta["labels"] = json::object();
  meta["labels"]["app"] = s.clusterId;
  meta["labels"]["component"] = "taskmanager";
  meta["labels"]["type"] = "flink-native-kubernetes";
  if (!ownerUid.empty()) {
    meta["ownerReferences"] = json::array({{{"apiVersion", "apps/v1"},
                                            {"kind", "Deployment"},
                                            {"name", s.clusterId},
                                            {"uid", ownerUid},
                                            {"controller", false},
                                            {"blockOwnerDeletion", true}}});
  }
  json& spec = pod["spec"];
  if (!spec.is_object()) spec = json::object();
  spec["restartPolicy"] = "Never";
  json& containers = spec["containers"];
  if (!containers.is_array()) containers = json::array();
  auto it = std::find_if(containers.begin(), containers.end(),
                         [](const json& c) { return c.is_object() && c.value("name", "") == kMainContainer; });
  if (it == containers.end()) {
    containers.insert(containers.begin(), json{{"name", kMainContainer}});
    it = containers.begin();
  }
  json& main = *it;
  if (!main.contains("image") && !s.image.empty()) main["image"] = s.image;
  json args = main.contains("args") && main["args"].is_array() && !main["args"].empty() ? main["args"]
                                                                                          : json::array({"taskmanager"});
  args.push_back(std::string("-D") + options::kRpcAddress + "=" + s.jobManagerAddress);
  args.push_back("-Dtaskmanager.resource-id=" + name);
  main["args"] = args;
  if (!main.contains("resources") || !main["resources"].is_object() || main["resources"].empty()) {
    json amounts = json::object();
    if (!s.cpu.empty()) amounts["cpu"] = s.cpu;
    if (std::string mem = memoryQuantity(s.memory); !mem.empty()) amounts["memory"] = mem;
    if (!amounts.empty()) main["resources"] = {{"requests", amounts}, {"limits", amounts}};
  }
  return pod;
}

// ---- the driver ----

KubernetesResourceDriver::KubernetesResourceDriver(std::shared_ptr<k8s::KubeApi> api, NativeKubernetesSettings settings)
    : api_(std::move(api)), s_(std::move(settings)) {}

KubernetesResourceDriver::~KubernetesResourceDriver() {
  if (thread_.joinable()) stop(false);
}

void KubernetesResourceDriver::start() { thread_ = std::thread([this] { run(); }); }

void KubernetesResourceDriver::stop(bool deletePods) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    deleteOnStop_ = deletePods;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int KubernetesResourceDriver::attempt() const {
  std::lock_guard<std::mutex> lock(mu_);
  return attempt_;
}

std::vector<std::string> KubernetesResourceDriver::livePods() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, p] : own_) {
    if (!p.gone) out.push_back(name);
  }
  return out;
}

bool KubernetesResourceDriver::accepts(const std::string& taskManagerId) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = own_.find(taskManagerId);
  // A pod of an earlier attempt (deleted at start) is never adopted; others are welcome.
  bool ok = it != own_.end() ? !it->second.gone : attemptOf(taskManagerId, s_.clusterId) == 0;
  if (!ok && declined_.insert(taskManagerId).second) {
    log::info("Declining the registration of TaskManager {}: its pod was released, failed or belongs to an earlier "
              "attempt (further attempts are declined silently)",
              taskManagerId);
  }
  return ok;
}

std::vector<std::string> KubernetesResourceDriver::update(int demand, const ResourceManager& rm, Clock::time_point now) {
  std::vector<std::string> released;
  int total = rm.totalSlots();
  for (auto it = idleSince_.begin(); it != idleSince_.end();) {
    it = rm.find(it->first) ? std::next(it) : idleSince_.erase(it);
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, tm] : rm.taskManagers()) {
    int slots = static_cast<int>(tm.slotOwner.size());
    if (tm.freeSlots() != slots) {
      idleSince_.erase(id);
      continue;
    }
    auto since = idleSince_.emplace(id, now).first->second;
    auto pod = own_.find(id);
    if (pod == own_.end() || pod->second.gone || now - since < std::chrono::milliseconds(s_.idleTimeoutMs)) continue;
    if (total - slots < demand) continue;  // still needed for the slot demand
    total -= slots;
    pod->second.gone = true;
    released.push_back(id);
    log::info("Releasing TaskManager {}: idle for {}", id, formatDurationMs(s_.idleTimeoutMs));
  }
  slotDemand_ = demand;
  return released;
}

bool KubernetesResourceDriver::waitFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  wake_.wait_for(lock, d, [this] { return stopping_; });
  return !stopping_;
}

void KubernetesResourceDriver::backoff(const std::string& what, const k8s::ApiResponse& r) {
  delay_ = delay_.count() == 0 ? kMinBackoff : std::min(kMaxBackoff, delay_ * 2);
  log::warn("Kubernetes: {} failed (HTTP {}: {}); retrying in {}", what, r.status, r.error,
            formatDurationMs(delay_.count()));
}

bool KubernetesResourceDriver::startUp() {
  // Pods of earlier attempts (a JobManager that died) are never adopted: deleted, and this
  // attempt numbered after the highest one found.
  auto list = api_->get(kPod.collectionPath(s_.ns) + "?labelSelector=" + labelSelector(s_.clusterId));
  if (!list.ok()) {
    backoff("listing TaskManager pods", list);
    return false;
  }
  int highest = 0;
  for (const json& pod : list.body.value("items", json::array())) {
    if (!hasNativeLabels(pod, s_.clusterId)) continue;
    const json meta = pod.value("metadata", json::object());
    std::string name = meta.value("name", "");
    highest = std::max(highest, attemptOf(name, s_.clusterId));
    if (meta.contains("deletionTimestamp")) continue;
    auto r = api_->del(kPod.objectPath(s_.ns, name));
    if (!r.ok() && !r.notFound()) {
      backoff("deleting TaskManager pod " + name + " of an earlier attempt", r);
      return false;
    }
    log::info("Deleted TaskManager pod {} of an earlier JobManager attempt", name);
  }
  auto owner = api_->get(k8s::types::kDeployment.objectPath(s_.ns, s_.clusterId));
  if (owner.ok()) {
    ownerUid_ = owner.body.value("metadata", json::object()).value("uid", "");
  } else if (owner.notFound()) {
    log::warn("No Deployment {} in namespace {}: TaskManager pods get no owner reference", s_.clusterId, s_.ns);
  } else {
    backoff("reading the JobManager Deployment " + s_.clusterId, owner);
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  attempt_ = highest + 1;
  log::info("Native Kubernetes mode: TaskManager pods {}-taskmanager-{}-<n> in namespace {} ({} slots each)",
            s_.clusterId, attempt_, s_.ns, s_.slotsPerTaskManager);
  delay_ = std::chrono::milliseconds(0);
  return true;
}

void KubernetesResourceDriver::onPodEvent(k8s::Informer::EventType type, const json& pod) {
  const json meta = pod.value("metadata", json::object());
  const std::string name = meta.value("name", "");
  const std::string phase = pod.value("status", json::object()).value("phase", "");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = own_.find(name);
  if (it == own_.end()) return;
  PodState& p = it->second;
  p.seen = true;
  bool deleted = type == k8s::Informer::EventType::kDeleted || meta.contains("deletionTimestamp");
  if (deleted) p.deleteSent = true;
  if (p.gone || (!deleted && phase != "Failed" && phase != "Succeeded")) return;
  p.gone = true;
  log::warn("TaskManager pod {} {}; a replacement is requested while its slots are needed", name,
            deleted ? "was deleted" : "ended (" + phase + ")");
}

void KubernetesResourceDriver::syncPods() {
  std::vector<std::string> toDelete;
  int live = 0, demand = 0, attempt = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, p] : own_) {
      if (!p.gone) live++;
      if (p.gone && !p.deleteSent) toDelete.push_back(name);
    }
    demand = slotDemand_;
    attempt = attempt_;
  }
  // Failed and released pods are deleted (Flink keeps no failed TaskManager pod).
  for (const auto& name : toDelete) {
    auto r = api_->del(kPod.objectPath(s_.ns, name));
    if (!r.ok() && !r.notFound()) {
      backoff("deleting TaskManager pod " + name, r);
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    own_[name].deleteSent = true;
  }
  for (int n = taskManagerPodsToCreate(demand, s_.slotsPerTaskManager, live); n > 0; --n) {
    std::string name = s_.clusterId + "-taskmanager-" + std::to_string(attempt) + "-" + std::to_string(nextIndex_++);
    auto r = api_->post(kPod.collectionPath(s_.ns), taskManagerPod(s_, name, ownerUid_));
    if (r.conflict()) continue;  // the name is taken: the next one
    if (!r.ok()) {
      nextIndex_--;
      backoff("creating TaskManager pod " + name, r);
      return;
    }
    log::info("Requested TaskManager pod {} ({} slots needed)", name, demand);
    std::lock_guard<std::mutex> lock(mu_);
    own_[name] = PodState{};
  }
  delay_ = std::chrono::milliseconds(0);
}

void KubernetesResourceDriver::run() {
  while (!startUp()) {
    if (!waitFor(delay_)) return;
  }
  pods_ = std::make_unique<k8s::Informer>(api_, kPod, s_.ns, labelSelector(s_.clusterId));
  pods_->addHandler([this](k8s::Informer::EventType type, const json& pod) { onPodEvent(type, pod); });
  pods_->start();
  while (waitFor(delay_.count() > 0 ? delay_ : kSyncInterval)) syncPods();
  pods_->stop();
  std::vector<std::string> remaining;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!deleteOnStop_) return;
    for (const auto& [name, p] : own_) {
      if (!p.deleteSent) remaining.push_back(name);
    }
  }
  for (const auto& name : remaining) {
    auto r = api_->del(kPod.objectPath(s_.ns, name));
    if (r.ok() || r.notFound()) {
      log::info("Deleted TaskManager pod {}", name);
    } else {
      log::warn("Deleting TaskManager pod {} failed (HTTP {}: {}); its owner reference removes it with the Deployment",
                name, r.status, r.error);
    }
  }
}

Result<std::unique_ptr<KubernetesResourceDriver>> startKubernetesDriver(const Configuration& config) {
  const char* podIp = std::getenv("_POD_IP_ADDRESS");
  auto settings = NativeKubernetesSettings::fromConfig(config, podIp ? podIp : "");
  if (!settings.ok()) return settings.status();
  if (!*settings) return std::unique_ptr<KubernetesResourceDriver>();
  auto kube = k8s::KubeConfig::inCluster();
  if (!kube.ok()) {
    log::warn("Native Kubernetes mode asked for, but no in-cluster API configuration ({}): TaskManager pods are not "
              "requested",
              kube.status().message());
    return std::unique_ptr<KubernetesResourceDriver>();
  }
  auto client = k8s::KubeClient::create(*kube, 2);
  if (!client.ok()) return client.status();
  auto driver = std::make_unique<KubernetesResourceDriver>(*client, std::move(**settings));
  driver->start();
  return driver;
}

}  // namespace flink
