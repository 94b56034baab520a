// The test kubelet: registers a Node and keeps it Ready, runs the pods bound to it (one
// PodRunner each), writes their status through pods/status when it changes, keeps their hosts
// files in line with Services/Endpoints/Pods, and stops them when they are deleted.
// Reads the cluster only through informers (pods, services, endpoints, configmaps, secrets),
// one per watched namespace (or one for all). Not copyable; run() and shutdown() belong to
// one thread, the informer handlers only wake that thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "addresses.h"
#include "k8s/informer.h"
#include "kubelet_server.h"
#include "pod_runner.h"

namespace kubelet {

struct KubeletOptions {
  std::string node = "test-node";
  std::string flinkCpp;
  std::string workDir;
  std::vector<std::string> namespaces;  // empty: all
  std::string prefix = "kta";
  int port = 10250;  // the kubelet API (container logs) on kBridgeIP; 0: any free port
  std::string serviceAccountToken;  // what pods' serviceAccountToken volumes hold
};

class Kubelet {
 public:
  Kubelet(std::shared_ptr<flink::k8s::KubeApi> api, KubeletOptions options);
  ~Kubelet();
  /// Removes leftovers of earlier runs, creates the bridge, starts the kubelet API on the
  /// bridge address, starts the informers (waiting for their first list) and registers the
  /// Node (status.daemonEndpoints.kubeletEndpoint.Port: the API's port). Errors: bridge
  /// creation, the port taken, unreachable server.
  flink::Status start();
  /// The sync loop, until *stop is set.
  void run(const std::atomic<bool>* stop);
  /// Stops every pod (in parallel), removes the bridge, marks the Node NotReady.
  void shutdown();

 private:
  using Json = nlohmann::json;
  std::vector<Json> list(const std::string& kind) const;
  std::optional<Json> find(const std::string& kind, const std::string& ns, const std::string& name) const;
  bool ownsPod(const Json& pod) const;
  void syncPods();
  void reapFinished(const std::map<std::string, Json>& pods);
  void writeStatuses(const std::map<std::string, Json>& pods);
  void writeHostsFiles();
  void writeHosts(const Json& pod, const std::string& podIP, const std::string& netns);
  flink::Status registerNode();
  void heartbeat(bool ready);
  /// The runner of a pod by name (one not terminating if there is one); needs runnersMu_.
  const PodRunner* findRunner(const std::string& ns, const std::string& pod, std::string* notFound) const;
  std::optional<ContainerLog> containerLog(const std::string& ns, const std::string& pod, const std::string& container,
                                           std::string* notFound) const;
  std::map<std::string, std::string> apiServerEnv() const;
  std::optional<PodNetwork> podNetwork(const std::string& ns, const std::string& pod, std::string* notFound) const;
  std::optional<ExecTarget> execTarget(const std::string& ns, const std::string& pod, const std::string& container,
                                       std::string* notFound) const;

  std::shared_ptr<flink::k8s::KubeApi> api_;
  KubeletOptions options_;
  AddressPool addresses_;
  std::map<std::string, std::vector<std::unique_ptr<flink::k8s::Informer>>> informers_;  // by kind
  std::map<std::string, std::unique_ptr<PodRunner>> runners_;                          // by pod uid
  mutable std::mutex runnersMu_;  // guards runners_ against the API's lookups (the loop thread writes)
  std::unique_ptr<KubeletServer> server_;
  int port_ = 0;
  std::map<std::string, Json> lastStatus_;                                              // by pod uid
  std::mutex hostsMu_;
  std::mutex wakeMu_;
  std::condition_variable wake_;
  bool dirty_ = true;  // guarded by wakeMu_
};

}  // namespace kubelet
