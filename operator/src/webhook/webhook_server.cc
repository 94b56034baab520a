#include "webhook/webhook_server.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "flink/common/http.h"
#include "flink/common/log.h"
#include "webhook/admission.h"

#include <fmt/format.h>

namespace flink::k8s {

using nlohmann::json;

// The parsed certificate and key that handshakes use.
struct WebhookServer::Material {
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  ~Material() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

namespace {

constexpr size_t kMaxReviewBytes = 8 << 20;  // an object and its old version, each up to etcd's ~1.5 MiB

void serveReview(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                 const std::function<Result<json>(const json&)>& decide) {
  std::string body;
  bool tooLarge = false;
  reader([&](const char* data, size_t len) {
    if (body.size() + len > kMaxReviewBytes) {
      tooLarge = true;
      return false;
    }
    body.append(data, len);
    return true;
  });
  auto fail = [&](int code, const std::string& message) {
    res.status = code;
    res.set_content(message + "\n", "text/plain");
  };
  if (tooLarge) return fail(413, fmt::format("the AdmissionReview is larger than {} bytes", kMaxReviewBytes));
  json review = json::parse(body, nullptr, false);
  if (review.is_discarded() || !review.is_object()) return fail(400, "the body is not an AdmissionReview (invalid JSON)");
  auto answer = decide(review);
  if (!answer.ok()) return fail(400, answer.status().message());
  const json& r = (*answer)["response"];
  if (!r.value("allowed", true)) {
    log::info("webhook: denied {} {} {}/{}: {}", review["request"].value("operation", ""),
              review["request"].value("kind", json::object()).value("kind", ""), review["request"].value("namespace", ""),
              review["request"].value("name", ""), r["status"].value("message", ""));
  }
  (void)req;
  res.set_content(answer->dump(), "application/json");
}

}  // namespace

WebhookServer::WebhookServer(std::function<OperatorConfig(const json& object)> config) : config_(std::move(config)) {}

WebhookServer::~WebhookServer() { stop(); }

int WebhookServer::selectCertificate(SSL* ssl, void* arg) {
  auto* self = static_cast<WebhookServer*>(arg);
  std::shared_ptr<Material> m;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    m = self->material_;
  }
  if (!m) return 0;  // no certificate yet: the handshake fails
  return SSL_use_certificate(ssl, m->cert) == 1 && SSL_use_PrivateKey(ssl, m->key) == 1 ? 1 : 0;
}

Status WebhookServer::setCertificate(const certs::KeyPair& pair) {
  auto m = std::make_shared<Material>();
  auto cert = certs::parseCertificate(pair.certPem, "the webhook certificate");
  auto key = certs::parsePrivateKey(pair.keyPem, "the webhook key");
  if (cert.ok()) m->cert = std::move(cert).value().release();
  if (key.ok()) m->key = std::move(key).value().release();
  if (!m->cert || !m->key || X509_check_private_key(m->cert, m->key) != 1)
    return Status::Error("the webhook certificate or key does not parse, or they do not match");
  std::lock_guard<std::mutex> lock(mu_);
  material_ = std::move(m);
  return Status::Ok();
}

Result<int> WebhookServer::start(int port) {
  server_ = std::make_unique<httplib::SSLServer>([this](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_cert_cb(&ctx, &WebhookServer::selectCertificate, this);
    return true;
  });
  if (!server_->is_valid()) return Status::Error("cannot set up the webhook's TLS context");
  server_->Post("/validate", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    serveReview(req, res, reader, [this](const json& review) {
      const json& req = review.contains("request") && review["request"].is_object() ? review["request"] : review;
      return validateAdmission(review, config_(req.value("object", json::object())));
    });
  });
  server_->Post("/mutate", [](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    serveReview(req, res, reader, [](const json& review) { return mutateAdmission(review); });
  });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
  answerUnroutedWithoutBody(*server_, [](const httplib::Request& req, httplib::Response& res) {
    res.status = 404;
    res.set_content("not found: " + req.method + " " + req.path + "\n", "text/plain");
  });
  int bound = port == 0 ? server_->bind_to_any_port("0.0.0.0") : (server_->bind_to_port("0.0.0.0", port) ? port : -1);
  if (bound < 0) return Status::Error(fmt::format("cannot listen on webhook port {}", port));
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return bound;
}

void WebhookServer::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace flink::k8s
