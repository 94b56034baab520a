#include "kubelet.h"

#include <chrono>
#include <thread>

#include "flink/common/log.h"
#include "hosts.h"

namespace kubelet {

using flink::k8s::Informer;
using flink::k8s::ResourceType;
using nlohmann::json;
namespace log = flink::log;

namespace {

const std::map<std::string, ResourceType>& kinds() {
  static const std::map<std::string, ResourceType> k = {
      {"Pod", {"", "v1", "pods", "Pod", true}},
      {"Service", {"", "v1", "services", "Service", true}},
      {"Endpoints", {"", "v1", "endpoints", "Endpoints", true}},
      {"ConfigMap", {"", "v1", "configmaps", "ConfigMap", true}},
      {"Secret", {"", "v1", "secrets", "Secret", true}}};
  return k;
}
const ResourceType kNode{"", "v1", "nodes", "Node", false};

std::string uidOf(const json& o) { return o["metadata"].value("uid", ""); }
std::string nowText() { return rfc3339(std::time(nullptr)); }

}  // namespace

Kubelet::Kubelet(std::shared_ptr<flink::k8s::KubeApi> api, KubeletOptions options)
    : api_(std::move(api)), options_(std::move(options)) {
  std::vector<std::string> namespaces = options_.namespaces.empty() ? std::vector<std::string>{""} : options_.namespaces;
  for (const auto& [kind, type] : kinds()) {
    for (const auto& ns : namespaces) {
      auto informer = std::make_unique<Informer>(api_, type, ns);
      informer->addHandler([this](Informer::EventType, const json&) {
        std::lock_guard<std::mutex> lock(wakeMu_);
        dirty_ = true;
        wake_.notify_all();
      });
      informers_[kind].push_back(std::move(informer));
    }
  }
}

Kubelet::~Kubelet() { shutdown(); }

flink::Status Kubelet::start() {
  removeLeftovers(options_.prefix);
  if (flink::Status s = ensureBridge(options_.prefix); !s.ok()) return s;
  server_ = std::make_unique<KubeletServer>(
      [this](const std::string& ns, const std::string& pod, const std::string& container, std::string* notFound) {
        return containerLog(ns, pod, container, notFound);
      },
      [this](const std::string& ns, const std::string& pod, const std::string& container, std::string* notFound) {
        return execTarget(ns, pod, container, notFound);
      },
      [this](const std::string& ns, const std::string& pod, std::string* notFound) { return podNetwork(ns, pod, notFound); });
  auto port = server_->start(kBridgeIP, options_.port);
  if (!port.ok()) return port.status();
  port_ = *port;
  for (auto& [kind, list] : informers_) {
    for (auto& i : list) i->start();
  }
  for (int i = 0; i < 300; ++i) {
    bool synced = true;
    for (auto& [kind, list] : informers_) {
      for (auto& inf : list) synced = synced && inf->synced();
    }
    if (synced) return registerNode();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return flink::Status::Error("informers did not sync within 30 s");
}

std::vector<json> Kubelet::list(const std::string& kind) const {
  std::vector<json> out;
  for (const auto& i : informers_.at(kind)) {
    auto l = i->list();
    out.insert(out.end(), l.begin(), l.end());
  }
  return out;
}

std::optional<json> Kubelet::find(const std::string& kind, const std::string& ns, const std::string& name) const {
  for (const auto& i : informers_.at(kind)) {
    if (auto o = i->get(ns, name)) return o;
  }
  return std::nullopt;
}

// KUBERNETES_SERVICE_HOST/PORT, which a kubelet gives every container: the `kubernetes` Service
// of namespace default. Cluster IPs do not route here, so the address is its Endpoints' (the
// API server's advertised address) instead of the Service's clusterIP.
std::map<std::string, std::string> Kubelet::apiServerEnv() const {
  auto ep = find("Endpoints", "default", "kubernetes");
  if (!ep) return {};
  for (const json& subset : ep->value("subsets", json::array())) {
    const json addresses = subset.value("addresses", json::array()), ports = subset.value("ports", json::array());
    if (addresses.empty() || ports.empty()) continue;
    const std::string host = addresses[0].value("ip", ""), port = std::to_string(ports[0].value("port", 0));
    return {{"KUBERNETES_SERVICE_HOST", host}, {"KUBERNETES_SERVICE_PORT", port}, {"KUBERNETES_SERVICE_PORT_HTTPS", port},
            {"KUBERNETES_PORT", "tcp://" + host + ":" + port}};
  }
  return {};
}

bool Kubelet::ownsPod(const json& pod) const {
  return pod.value("spec", json::object()).value("nodeName", "") == options_.node;
}

void Kubelet::run(const std::atomic<bool>* stop) {
  auto lastBeat = std::chrono::steady_clock::now();
  while (!*stop) {
    {
      std::unique_lock<std::mutex> lock(wakeMu_);
      wake_.wait_for(lock, std::chrono::milliseconds(250), [&] { return dirty_; });
      dirty_ = false;
    }
    syncPods();
    writeHostsFiles();
    if (std::chrono::steady_clock::now() - lastBeat >= std::chrono::seconds(10)) {
      heartbeat(true);
      lastBeat = std::chrono::steady_clock::now();
    }
  }
}

void Kubelet::syncPods() {
  std::map<std::string, json> pods;  // uid -> pod, ours only
  for (auto& p : list("Pod")) {
    if (ownsPod(p)) pods[uidOf(p)] = p;
  }
  for (const auto& [uid, pod] : pods) {
    if (pod["metadata"].contains("deletionTimestamp") || runners_.count(uid)) continue;
    const std::string ns = pod["metadata"].value("namespace", "");
    RunnerConfig config{options_.prefix, options_.flinkCpp, options_.workDir, &addresses_,
                        [this](const json& p, const std::string& ip, const std::string& netns) { writeHosts(p, ip, netns); },
                        [this, ns](const std::string& kind, const std::string& name) { return find(kind, ns, name); },
                        options_.serviceAccountToken, [this] { return apiServerEnv(); }};
    log::info("starting pod {}/{}", ns, pod["metadata"].value("name", ""));
    auto runner = std::make_unique<PodRunner>(pod, std::move(config));
    runner->start();
    std::lock_guard<std::mutex> lock(runnersMu_);
    runners_[uid] = std::move(runner);
  }
  for (auto& [uid, runner] : runners_) {
    auto it = pods.find(uid);
    if (it == pods.end() || it->second["metadata"].contains("deletionTimestamp")) runner->requestStop();
  }
  reapFinished(pods);
  writeStatuses(pods);
}

// Forgets pods whose processes and network are gone; a pod still there (deletionTimestamp
// set) is deleted with gracePeriodSeconds=0.
void Kubelet::reapFinished(const std::map<std::string, json>& pods) {
  for (auto it = runners_.begin(); it != runners_.end();) {
    if (!it->second->finished()) {
      ++it;
      continue;
    }
    auto pod = pods.find(it->first);
    const json& meta = it->second->pod()["metadata"];
    log::info("pod {}/{} stopped", meta.value("namespace", ""), meta.value("name", ""));
    if (pod != pods.end()) {
      flink::k8s::ApiResponse r = api_->del(kinds().at("Pod").objectPath(meta.value("namespace", ""), meta.value("name", "")) +
                                            "?gracePeriodSeconds=0");
      if (!r.ok() && !r.notFound()) log::warn("deleting pod {}: {}", meta.value("name", ""), r.error);
    }
    lastStatus_.erase(it->first);
    std::lock_guard<std::mutex> lock(runnersMu_);
    it = runners_.erase(it);
  }
}

void Kubelet::writeStatuses(const std::map<std::string, json>& pods) {
  for (auto& [uid, runner] : runners_) {
    auto pod = pods.find(uid);
    if (pod == pods.end() || pod->second["metadata"].contains("deletionTimestamp")) continue;
    auto last = lastStatus_.find(uid);
    const json& previous = last != lastStatus_.end() ? last->second : pod->second.value("status", json::object());
    json desired = podStatus(runner->view(), previous, nowText());
    if (last != lastStatus_.end() && last->second == desired) continue;
    const json& meta = pod->second["metadata"];
    std::string path = kinds().at("Pod").objectPath(meta.value("namespace", ""), meta.value("name", "")) + "/status";
    flink::k8s::ApiResponse r = api_->patch(path, json{{"status", desired}});
    if (r.ok()) {
      lastStatus_[uid] = desired;
    } else if (!r.notFound()) {
      log::warn("status of pod {}: {}", meta.value("name", ""), r.error);
    }
  }
}

void Kubelet::writeHostsFiles() {
  for (auto& [uid, runner] : runners_) {
    std::string ip = runner->view().podIP;
    if (!ip.empty() && !runner->stopping()) writeHosts(runner->pod(), ip, runner->names().netns);
  }
}

void Kubelet::writeHosts(const json& pod, const std::string& podIP, const std::string& netns) {
  std::string content = hostsFile(pod, podIP, list("Service"), list("Endpoints"), list("Pod"));
  std::lock_guard<std::mutex> lock(hostsMu_);
  if (flink::Status s = writeHostsFile(netns, content); !s.ok()) log::warn("{}", s.message());
}

flink::Status Kubelet::registerNode() {
  json node = {{"apiVersion", "v1"},
               {"kind", "Node"},
               {"metadata",
                {{"name", options_.node},
                 {"labels", {{"kubernetes.io/hostname", options_.node}, {"kubernetes.io/os", "linux"}}}}},
               {"spec", json::object()}};
  flink::k8s::ApiResponse r = api_->post(kNode.collectionPath(""), node);
  if (!r.ok() && !r.conflict()) return flink::Status::Error("registering node " + options_.node + ": " + r.error);
  heartbeat(true);
  return flink::Status::Ok();
}

void Kubelet::heartbeat(bool ready) {
  std::string now = nowText();
  json condition = {{"type", "Ready"},
                    {"status", ready ? "True" : "False"},
                    {"reason", ready ? "KubeletReady" : "KubeletStopped"},
                    {"message", ready ? "kube-test-kubelet is posting ready status" : "kube-test-kubelet stopped"},
                    {"lastHeartbeatTime", now},
                    {"lastTransitionTime", now}};
  json status = {{"conditions", json::array({condition})},
                 {"addresses", json::array({{{"type", "InternalIP"}, {"address", kBridgeIP}},
                                            {{"type", "Hostname"}, {"address", options_.node}}})},
                 {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", port_}}}}},
                 {"nodeInfo", {{"kubeletVersion", "v1.32.0-kube-test-kubelet"}, {"operatingSystem", "linux"},
                               {"architecture", "amd64"}, {"containerRuntimeVersion", "kube-test-kubelet://processes"}}}};
  std::string path = kNode.objectPath("", options_.node) + "/status";
  flink::k8s::ApiResponse r = api_->patch(path, json{{"status", status}});
  if (r.notFound() && ready) {
    registerNode();  // someone deleted the Node: register it again
  } else if (!r.ok()) {
    log::warn("node status: {}", r.error);
  }
}

const PodRunner* Kubelet::findRunner(const std::string& ns, const std::string& pod, std::string* notFound) const {
  const PodRunner* found = nullptr;
  for (const auto& [uid, runner] : runners_) {
    const json& meta = runner->pod()["metadata"];
    if (meta.value("namespace", "") != ns || meta.value("name", "") != pod) continue;
    if (!found || found->stopping()) found = runner.get();  // a pod of that name that is not going
  }
  if (!found) *notFound = "pod \"" + pod + "\" does not exist";
  return found;
}

std::optional<ContainerLog> Kubelet::containerLog(const std::string& ns, const std::string& pod,
                                                  const std::string& container, std::string* notFound) const {
  std::lock_guard<std::mutex> lock(runnersMu_);
  const PodRunner* found = findRunner(ns, pod, notFound);
  if (!found) return std::nullopt;
  auto log = found->containerLog(container);
  if (!log) *notFound = "container \"" + container + "\" not found in pod \"" + pod + "\"";
  return log;
}

std::optional<ExecTarget> Kubelet::execTarget(const std::string& ns, const std::string& pod, const std::string& container,
                                              std::string* notFound) const {
  std::lock_guard<std::mutex> lock(runnersMu_);
  const PodRunner* found = findRunner(ns, pod, notFound);
  if (!found) return std::nullopt;
  auto target = found->stopping() ? std::nullopt : found->execTarget(container);
  if (!target) *notFound = "container not found (\"" + container + "\")";  // the kubelet's words, running or not
  return target;
}

std::optional<PodNetwork> Kubelet::podNetwork(const std::string& ns, const std::string& pod, std::string* notFound) const {
  std::lock_guard<std::mutex> lock(runnersMu_);
  const PodRunner* found = findRunner(ns, pod, notFound);
  if (!found) return std::nullopt;
  if (found->stopping() || found->view().podIP.empty()) {
    *notFound = "pod \"" + pod + "\" is not running";
    return std::nullopt;
  }
  return PodNetwork{"/run/netns/" + found->names().netns, found->pod()["metadata"].value("uid", "")};
}

void Kubelet::shutdown() {
  if (informers_.empty()) return;
  if (server_) server_->stop();
  for (auto& [uid, runner] : runners_) runner->requestStop();
  {
    std::lock_guard<std::mutex> lock(runnersMu_);
    runners_.clear();  // each destructor waits for its pod's processes and network
  }
  for (auto& [kind, list] : informers_) {
    for (auto& i : list) i->stop();
  }
  informers_.clear();
  heartbeat(false);
  removeLeftovers(options_.prefix);
}

}  // namespace kubelet
