// A Kubernetes API client: configuration from a kubeconfig file (current context; client
// certificates, bearer token, CA, inline *-data fields) or from inside a pod (service account
// token and CA, KUBERNETES_SERVICE_HOST/PORT); TLS always verified. Requests go over a small
// pool of keep-alive connections to the one API server (never a client per reconcile);
// watches use their own streaming connections.
// Thread-safe: every method may be called from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "flink/status.h"

namespace YAML {
class Node;
}

namespace httplib {
class SSLClient;
}

namespace flink::k8s {

struct KubeConfig {
  std::string server;  // https://host:port
  std::string caPem;   // CA bundle (PEM)
  std::string clientCertPem;
  std::string clientKeyPem;
  std::string token;
  std::string defaultNamespace = "default";

  /// Loads a kubeconfig file (KUBECONFIG semantics: the first file of a ':' list); errors
  /// name the file and the missing field.
  static Result<KubeConfig> fromFile(const std::string& path);
  /// Parses kubeconfig text (`path` names it in errors); files it refers to are read.
  static Result<KubeConfig> fromYaml(const std::string& text, const std::string& path);
  /// In-cluster configuration from /var/run/secrets/kubernetes.io/serviceaccount.
  static Result<KubeConfig> inCluster();
  /// $KUBECONFIG, else ~/.kube/config, else in-cluster.
  static Result<KubeConfig> load(const std::string& explicitPath);

 private:
  static Result<KubeConfig> fromNode(const YAML::Node& root, const std::string& path);
};

/// Where a kind of resource lives in the API.
struct ResourceType {
  std::string group;  // "" for the core group
  std::string version;
  std::string plural;
  std::string kind;
  bool namespaced = true;
  /// .../namespaces/<ns>/<plural> (ns may be "" for all namespaces)
  std::string collectionPath(const std::string& ns) const;
  std::string objectPath(const std::string& ns, const std::string& name) const;
  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
};

namespace types {
extern const ResourceType kFlinkDeployment;
extern const ResourceType kFlinkStateSnapshot;
extern const ResourceType kFlinkSessionJob;
extern const ResourceType kDeployment;
extern const ResourceType kService;
extern const ResourceType kConfigMap;
extern const ResourceType kIngress;  // networking.k8s.io/v1
extern const ResourceType kEvent;
extern const ResourceType kLease;
extern const ResourceType kSecret;
extern const ResourceType kValidatingWebhookConfiguration;  // admissionregistration.k8s.io/v1, cluster-scoped
extern const ResourceType kMutatingWebhookConfiguration;
}  // namespace types

/// A response: HTTP status (0 when the server could not be reached) and the JSON body
/// (a Kubernetes Status object for errors).
struct ApiResponse {
  int status = 0;
  nlohmann::json body;
  std::string error;  // transport error or the Status message
  bool ok() const { return status >= 200 && status < 300; }
  bool notFound() const { return status == 404; }
  bool conflict() const { return status == 409; }
};

/// The Kubernetes API as the operator uses it: REST verbs on paths (ResourceType builds them)
/// and watches. Implemented over HTTPS by KubeClient, and in memory by the tests' fake
/// (test/support/fake_kube_api.h). Thread-safe: every method may be called from any thread.
/// Errors are values: ApiResponse carries the HTTP status (0 when nothing answered).
class KubeApi {
 public:
  virtual ~KubeApi() = default;
  virtual ApiResponse get(const std::string& path) = 0;
  virtual ApiResponse post(const std::string& path, const nlohmann::json& body) = 0;
  virtual ApiResponse put(const std::string& path, const nlohmann::json& body) = 0;
  /// contentType: application/merge-patch+json (default), application/json-patch+json,
  /// application/strategic-merge-patch+json or application/apply-patch+yaml.
  virtual ApiResponse patch(const std::string& path, const nlohmann::json& body,
                            const std::string& contentType = "application/merge-patch+json") = 0;
  virtual ApiResponse del(const std::string& path) = 0;
  /// Streams a watch (path must include ?watch=true...). onEvent gets each event object and
  /// returns false to stop. Returns when the server ends the stream, on error, or when
  /// *stop is set (checked at every event and bookmark).
  /// cancel (optional) is set, for the duration of the watch, to a function that aborts it
  /// from another thread (closes its connection); guarded by cancelMu.
  virtual ApiResponse watch(const std::string& path, const std::function<bool(const nlohmann::json&)>& onEvent,
                            const std::atomic<bool>* stop, std::function<void()>* cancel = nullptr,
                            std::mutex* cancelMu = nullptr) = 0;
};

/// KubeApi over HTTPS to one API server.
class KubeClient final : public KubeApi {
 public:
  /// Called after every request with (verb, HTTP status); used for metrics.
  using RequestObserver = std::function<void(const std::string& verb, int status)>;

  static Result<std::shared_ptr<KubeClient>> create(const KubeConfig& config, int poolSize = 4);
  ~KubeClient() override;

  ApiResponse get(const std::string& path) override;
  ApiResponse post(const std::string& path, const nlohmann::json& body) override;
  ApiResponse put(const std::string& path, const nlohmann::json& body) override;
  ApiResponse patch(const std::string& path, const nlohmann::json& body,
                    const std::string& contentType = "application/merge-patch+json") override;
  ApiResponse del(const std::string& path) override;
  ApiResponse watch(const std::string& path, const std::function<bool(const nlohmann::json&)>& onEvent,
                    const std::atomic<bool>* stop, std::function<void()>* cancel = nullptr,
                    std::mutex* cancelMu = nullptr) override;

  void setObserver(RequestObserver observer) { observer_ = std::move(observer); }
  /// A client-side rate limit of requests (not watches), as client-go's token bucket: on
  /// average `qps` per second, up to `burst` at once; a request over the limit waits for its
  /// turn. qps <= 0: no limit (the default). Call before the first request.
  void setRateLimit(double qps, int burst);
  const KubeConfig& config() const { return config_; }

 private:
  explicit KubeClient(KubeConfig config);
  std::unique_ptr<httplib::SSLClient> newConnection(int readTimeoutSeconds) const;
  ApiResponse send(const std::string& verb, const std::string& path, const std::string* body,
                   const std::string& contentType);

  KubeConfig config_;
  std::string host_;
  int port_ = 443;
  std::mutex poolMu_;
  std::vector<std::unique_ptr<httplib::SSLClient>> pool_;
  RequestObserver observer_;
  /// Waits until the rate limit lets one more request go.
  void throttle();
  std::mutex limitMu_;
  double qps_ = 0, burst_ = 0, tokens_ = 0;  // guarded by limitMu_
  std::chrono::steady_clock::time_point refilled_;  // guarded by limitMu_
};

}  // namespace flink::k8s
