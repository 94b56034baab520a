#include "k8s/client.h"

#include "flink/common/strings.h"
#include "k8s/watch_stream.h"
#include "flink/common/certificates.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <fstream>
#include <sstream>

namespace flink::k8s {
namespace {

using nlohmann::json;

std::string readFile(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  *ok = static_cast<bool>(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A `*-data` (base64) field or the file its path names.
Status dataOrFile(const YAML::Node& node, const std::string& field, const std::string& source, std::string* out) {
  if (node[field + "-data"]) {
    *out = base64Decode(node[field + "-data"].as<std::string>());
    if (out->empty()) return Status::Error(source + ": " + field + "-data is not valid base64");
    return Status::Ok();
  }
  if (node[field]) {
    bool ok = false;
    *out = readFile(node[field].as<std::string>(), &ok);
    if (!ok) return Status::Error(source + ": " + field + " '" + node[field].as<std::string>() + "' cannot be read");
  }
  return Status::Ok();
}

YAML::Node findNamed(const YAML::Node& list, const std::string& name) {
  if (!list || !list.IsSequence()) return YAML::Node();
  for (const auto& item : list) {
    if (item["name"] && item["name"].as<std::string>() == name) return item;
  }
  return YAML::Node();
}

}  // namespace

Result<KubeConfig> KubeConfig::fromFile(const std::string& path) {
  bool ok = false;
  std::string text = readFile(path, &ok);
  if (!ok) return Status::Error("kubeconfig " + path + ": bad file: " + path);
  return fromYaml(text, path);
}

Result<KubeConfig> KubeConfig::fromYaml(const std::string& text, const std::string& path) {
  try {
    return fromNode(YAML::Load(text), path);
  } catch (const YAML::Exception& e) {
    // Malformed YAML, or a field of the wrong kind (a map where a string belongs).
    return Status::Error("kubeconfig " + path + ": " + e.what());
  }
}

Result<KubeConfig> KubeConfig::fromNode(const YAML::Node& root, const std::string& path) {
  if (!root["current-context"]) return Status::Error("kubeconfig " + path + ": current-context is not set");
  std::string ctxName = root["current-context"].as<std::string>();
  YAML::Node ctx = findNamed(root["contexts"], ctxName);
  if (!ctx || !ctx["context"]) return Status::Error("kubeconfig " + path + ": context '" + ctxName + "' not found");
  YAML::Node context = ctx["context"];
  std::string clusterName = context["cluster"] ? context["cluster"].as<std::string>() : "";
  std::string userName = context["user"] ? context["user"].as<std::string>() : "";
  YAML::Node cluster = findNamed(root["clusters"], clusterName);
  if (!cluster || !cluster["cluster"]) return Status::Error("kubeconfig " + path + ": cluster '" + clusterName + "' not found");
  KubeConfig c;
  YAML::Node cl = cluster["cluster"];
  if (!cl["server"]) return Status::Error("kubeconfig " + path + ": cluster '" + clusterName + "' has no server");
  c.server = cl["server"].as<std::string>();
  if (cl["insecure-skip-tls-verify"] && cl["insecure-skip-tls-verify"].as<bool>()) {
    return Status::Error("kubeconfig " + path + ": insecure-skip-tls-verify is not supported: TLS is always verified");
  }
  Status s = dataOrFile(cl, "certificate-authority", "kubeconfig " + path, &c.caPem);
  if (!s.ok()) return s;
  if (context["namespace"]) c.defaultNamespace = context["namespace"].as<std::string>();
  YAML::Node user = findNamed(root["users"], userName);
  if (user && user["user"]) {
    YAML::Node u = user["user"];
    if (u["token"]) c.token = u["token"].as<std::string>();
    if (u["tokenFile"]) {
      bool ok = false;
      c.token = readFile(u["tokenFile"].as<std::string>(), &ok);
      if (!ok) return Status::Error("kubeconfig " + path + ": tokenFile cannot be read");
    }
    s = dataOrFile(u, "client-certificate", "kubeconfig " + path, &c.clientCertPem);
    if (!s.ok()) return s;
    s = dataOrFile(u, "client-key", "kubeconfig " + path, &c.clientKeyPem);
    if (!s.ok()) return s;
  }
  while (!c.token.empty() && (c.token.back() == '\n' || c.token.back() == '\r')) c.token.pop_back();
  return c;
}

Result<KubeConfig> KubeConfig::inCluster() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !port) return Status::Error("not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
  const std::string dir = "/var/run/secrets/kubernetes.io/serviceaccount/";
  KubeConfig c;
  std::string h = host;
  c.server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  bool ok = false;
  c.token = readFile(dir + "token", &ok);
  if (!ok) return Status::Error("in-cluster: cannot read " + dir + "token");
  c.caPem = readFile(dir + "ca.crt", &ok);
  if (!ok) return Status::Error("in-cluster: cannot read " + dir + "ca.crt");
  std::string ns = readFile(dir + "namespace", &ok);
  if (ok && !ns.empty()) c.defaultNamespace = ns;
  while (!c.token.empty() && (c.token.back() == '\n' || c.token.back() == '\r')) c.token.pop_back();
  return c;
}

Result<KubeConfig> KubeConfig::load(const std::string& explicitPath) {
  if (!explicitPath.empty()) return fromFile(explicitPath);
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    std::string first = env;
    first = first.substr(0, first.find(':'));
    return fromFile(first);
  }
  if (const char* home = std::getenv("HOME")) {
    std::string p = std::string(home) + "/.kube/config";
    std::ifstream in(p);
    if (in) return fromFile(p);
  }
  return inCluster();
}

std::string ResourceType::collectionPath(const std::string& ns) const {
  std::string base = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) base += "/namespaces/" + ns;
  return base + "/" + plural;
}

std::string ResourceType::objectPath(const std::string& ns, const std::string& name) const {
  return collectionPath(ns) + "/" + name;
}

namespace types {
const ResourceType kFlinkDeployment{"flink.apache.org", "v1beta1", "flinkdeployments", "FlinkDeployment", true};
const ResourceType kFlinkStateSnapshot{"flink.apache.org", "v1beta1", "flinkstatesnapshots", "FlinkStateSnapshot", true};
const ResourceType kFlinkSessionJob{"flink.apache.org", "v1beta1", "flinksessionjobs", "FlinkSessionJob", true};
const ResourceType kDeployment{"apps", "v1", "deployments", "Deployment", true};
const ResourceType kService{"", "v1", "services", "Service", true};
const ResourceType kConfigMap{"", "v1", "configmaps", "ConfigMap", true};
const ResourceType kIngress{"networking.k8s.io", "v1", "ingresses", "Ingress", true};
const ResourceType kEvent{"", "v1", "events", "Event", true};
const ResourceType kLease{"coordination.k8s.io", "v1", "leases", "Lease", true};
const ResourceType kSecret{"", "v1", "secrets", "Secret", true};
const ResourceType kValidatingWebhookConfiguration{"admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
                                                   "ValidatingWebhookConfiguration", false};
const ResourceType kMutatingWebhookConfiguration{"admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
                                                 "MutatingWebhookConfiguration", false};
}  // namespace types

KubeClient::KubeClient(KubeConfig config) : config_(std::move(config)) {}
KubeClient::~KubeClient() = default;

Result<std::shared_ptr<KubeClient>> KubeClient::create(const KubeConfig& config, int poolSize) {
  std::string s = config.server;
  if (s.rfind("https://", 0) != 0) {
    return Status::Error("API server '" + s + "': only https is supported (TLS is always verified)");
  }
  s = s.substr(8);
  while (!s.empty() && s.back() == '/') s.pop_back();
  auto client = std::shared_ptr<KubeClient>(new KubeClient(config));
  auto colon = s.rfind(':');
  if (colon != std::string::npos && s.find(']', colon) == std::string::npos) {
    client->host_ = s.substr(0, colon);
    client->port_ = std::stoi(s.substr(colon + 1));
  } else {
    client->host_ = s;
  }
  if (!client->host_.empty() && client->host_.front() == '[') client->host_ = client->host_.substr(1, client->host_.size() - 2);
  for (int i = 0; i < poolSize; ++i) client->pool_.push_back(client->newConnection(60));
  return client;
}

std::unique_ptr<httplib::SSLClient> KubeClient::newConnection(int readTimeoutSeconds) const {
  certs::X509Ptr cert;
  certs::PkeyPtr key;
  if (!config_.clientCertPem.empty() && !config_.clientKeyPem.empty()) {
    auto c = certs::parseCertificate(config_.clientCertPem, "client-certificate-data");
    auto k = certs::parsePrivateKey(config_.clientKeyPem, "client-key-data");
    if (c.ok() && k.ok()) {
      cert = std::move(c).value();
      key = std::move(k).value();
    }
  }
  auto c = cert && key ? std::make_unique<httplib::SSLClient>(host_, port_, cert.get(), key.get())
                       : std::make_unique<httplib::SSLClient>(host_, port_);
  if (!config_.caPem.empty()) {
    auto store = certs::newTrustStore(config_.caPem, "certificate-authority-data");
    if (store.ok()) c->set_ca_cert_store(std::move(store).value().release());  // owned by the client's SSL context
    // Without a CA path httplib also loads the system's default CA bundle into that store on the
    // first request (~150 certificates, ~0.4 MB per connection, and trusted besides the
    // kubeconfig's CA). A CA directory that holds nothing keeps the store to the kubeconfig's CA.
    c->set_ca_cert_path("", "/nonexistent/flink-cpp-no-extra-ca");
  }
  c->enable_server_certificate_verification(true);
  c->set_keep_alive(true);
  // Without it a request whose headers and body go out in two writes waits for the server's
  // delayed ACK (Nagle): ~40 ms per request on a keep-alive connection.
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(readTimeoutSeconds, 0);
  c->set_write_timeout(30, 0);
  if (!config_.token.empty()) c->set_bearer_token_auth(config_.token.c_str());
  return c;
}

namespace {
ApiResponse toResponse(const httplib::Result& res) {
  ApiResponse r;
  if (!res) {
    r.status = 0;
    r.error = "API server unreachable: " + httplib::to_string(res.error());
    return r;
  }
  r.status = res->status;
  if (!res->body.empty()) {
    r.body = json::parse(res->body, nullptr, false);
    if (r.body.is_discarded()) r.body = json();
  }
  if (!r.ok()) {
    r.error = r.body.is_object() && r.body.contains("message") ? r.body["message"].get<std::string>()
                                                                : "HTTP " + std::to_string(r.status);
  }
  return r;
}
}  // namespace

void KubeClient::setRateLimit(double qps, int burst) {
  std::lock_guard<std::mutex> lock(limitMu_);
  qps_ = qps;
  burst_ = std::max(1, burst);
  tokens_ = burst_;
  refilled_ = std::chrono::steady_clock::now();
}

void KubeClient::throttle() {
  std::chrono::duration<double> wait{0};
  {
    std::lock_guard<std::mutex> lock(limitMu_);
    if (qps_ <= 0) return;
    auto now = std::chrono::steady_clock::now();
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - refilled_).count() * qps_);
    refilled_ = now;
    tokens_ -= 1;  // reserved: a request over the limit waits until its token has been refilled
    if (tokens_ < 0) wait = std::chrono::duration<double>(-tokens_ / qps_);
  }
  if (wait.count() > 0) std::this_thread::sleep_for(wait);
}

ApiResponse KubeClient::send(const std::string& verb, const std::string& path, const std::string* body,
                             const std::string& contentType) {
  throttle();
  std::unique_ptr<httplib::SSLClient> conn;
  {
    std::lock_guard<std::mutex> lock(poolMu_);
    if (!pool_.empty()) {
      conn = std::move(pool_.back());
      pool_.pop_back();
    }
  }
  if (!conn) conn = newConnection(60);
  httplib::Headers headers = {{"Accept", "application/json"}};
  auto perform = [&] {
    return verb == "GET"     ? conn->Get(path.c_str(), headers)
           : verb == "POST"  ? conn->Post(path.c_str(), headers, *body, contentType.c_str())
           : verb == "PUT"   ? conn->Put(path.c_str(), headers, *body, contentType.c_str())
           : verb == "PATCH" ? conn->Patch(path.c_str(), headers, *body, contentType.c_str())
                             : conn->Delete(path.c_str(), headers);
  };
  httplib::Result res = perform();
  if (!res && (res.error() == httplib::Error::Write || res.error() == httplib::Error::Read)) {
    // The server closed the idle keep-alive connection: retry once on a new one. A repeated
    // write is safe: creates answer 409 AlreadyExists, updates carry a resourceVersion.
    conn = newConnection(60);
    res = perform();
  }
  ApiResponse r = toResponse(res);
  {
    std::lock_guard<std::mutex> lock(poolMu_);
    pool_.push_back(std::move(conn));
  }
  if (observer_) observer_(verb, r.status);
  return r;
}

ApiResponse KubeClient::get(const std::string& path) { return send("GET", path, nullptr, ""); }
ApiResponse KubeClient::post(const std::string& path, const json& body) {
  std::string b = body.dump();
  return send("POST", path, &b, "application/json");
}
ApiResponse KubeClient::put(const std::string& path, const json& body) {
  std::string b = body.dump();
  return send("PUT", path, &b, "application/json");
}
ApiResponse KubeClient::patch(const std::string& path, const json& body, const std::string& contentType) {
  std::string b = body.dump();
  return send("PATCH", path, &b, contentType);
}
ApiResponse KubeClient::del(const std::string& path) { return send("DELETE", path, nullptr, ""); }

ApiResponse KubeClient::watch(const std::string& path, const std::function<bool(const json&)>& onEvent,
                              const std::atomic<bool>* stop, std::function<void()>* cancel, std::mutex* cancelMu) {
  std::shared_ptr<httplib::SSLClient> conn = newConnection(120);
  if (cancel && cancelMu) {
    std::lock_guard<std::mutex> lock(*cancelMu);
    *cancel = [conn] { conn->stop(); };
  }
  struct Reset {
    std::function<void()>* cancel;
    std::mutex* mu;
    ~Reset() {
      if (cancel && mu) {
        std::lock_guard<std::mutex> lock(*mu);
        *cancel = nullptr;
      }
    }
  } reset{cancel, cancelMu};
  WatchStreamDecoder decoder;
  std::string errorBody;
  int status = 0;
  bool stoppedByUs = false;
  bool lineTooLong = false;
  auto res = conn->Get(
      path.c_str(), httplib::Headers{{"Accept", "application/json"}},
      [&](const httplib::Response& response) {
        status = response.status;
        return true;
      },
      [&](const char* data, size_t len) {
        if (status != 200) {
          // A Status object: small; keep at most 1 MiB of whatever else a server sends.
          errorBody.append(data, std::min(len, (size_t{1} << 20) - std::min(errorBody.size(), size_t{1} << 20)));
          return true;
        }
        auto outcome = decoder.feed(data, len, [&](const json& event) {
          return onEvent(event) && !(stop && stop->load());
        });
        if (outcome == WatchStreamDecoder::Outcome::kStopped) {
          stoppedByUs = true;
          return false;
        }
        if (outcome == WatchStreamDecoder::Outcome::kLineTooLong) {
          lineTooLong = true;
          return false;
        }
        return !(stop && stop->load());
      });
  if (lineTooLong) {
    ApiResponse r;
    r.error = "watch stream broke: an event longer than " + std::to_string(WatchStreamDecoder::kDefaultMaxLineBytes) +
              " bytes";
    return r;
  }
  ApiResponse r;
  if (observer_) observer_("WATCH", status);
  if (stoppedByUs || (stop && stop->load())) {
    r.status = 200;
    return r;
  }
  if (!res && status == 0) {
    r.error = "watch failed: " + httplib::to_string(res.error());
    return r;
  }
  r.status = status ? status : (res ? res->status : 0);
  if (!res && r.status == 200) {
    // The stream broke after the watch started: an error, not a normal end.
    r.error = "watch stream broke: " + httplib::to_string(res.error());
    return r;
  }
  if (r.status != 200) {
    r.body = json::parse(errorBody, nullptr, false);
    r.error = r.body.is_object() && r.body.contains("message") ? r.body["message"].get<std::string>()
                                                                : "HTTP " + std::to_string(r.status);
  }
  return r;
}

}  // namespace flink::k8s
