// The operator's admission webhook endpoint: HTTPS (TLS 1.2+) on a port, POST /validate and
// POST /mutate with AdmissionReview v1 bodies (webhook/admission.h decides), GET /healthz.
// The certificate can be replaced while serving (setCertificate): new connections present the
// new one, open ones keep theirs. Until a certificate is set, handshakes fail.
// Thread-safe: setCertificate may be called from any thread while the server runs.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "controller/resources.h"
#include "flink/common/certificates.h"

struct ssl_st;  // OpenSSL's SSL

namespace httplib {
class SSLServer;
}

namespace flink::k8s {

class WebhookServer {
 public:
  /// config: the operator's configuration that applies to an object under review (validation
  /// runs over its defaults); called on the serving threads.
  explicit WebhookServer(std::function<OperatorConfig(const nlohmann::json& object)> config);
  ~WebhookServer();

  /// Binds 0.0.0.0:port (0: any free port) and serves on a thread. The bound port, or an error
  /// naming the port.
  Result<int> start(int port);
  /// Stops serving and joins the thread. Idempotent.
  void stop();
  /// The certificate and key (PEM) presented from now on. An error when they do not parse.
  Status setCertificate(const certs::KeyPair& pair);

 private:
  struct Material;
  static int selectCertificate(ssl_st* ssl, void* self);

  std::function<OperatorConfig(const nlohmann::json& object)> config_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  std::mutex mu_;
  std::shared_ptr<Material> material_;  // guarded by mu_
};

}  // namespace flink::k8s
