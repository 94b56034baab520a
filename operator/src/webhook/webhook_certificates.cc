#include "webhook/webhook_certificates.h"

#include "flink/common/log.h"
#include "flink/common/strings.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

namespace flink::k8s {
namespace {

using nlohmann::json;

constexpr int kCaValidityFactor = 10;

std::string dataField(const json& secret, const char* key) {
  const json* data = secret.contains("data") && secret["data"].is_object() ? &secret["data"] : nullptr;
  if (!data || !data->contains(key) || !(*data)[key].is_string()) return "";
  return base64Decode((*data)[key].get<std::string>());
}

// The certificates of a bundle, in order, each as PEM (re-encoded: canonical text).
std::vector<std::string> pemBlocks(const std::string& bundle) {
  std::vector<std::string> out;
  auto parsed = certs::parseCertificates(bundle, "caBundle");
  if (parsed.ok()) {
    for (const auto& c : *parsed) out.push_back(certs::certificateToPem(c.get()));
  }
  return out;
}

}  // namespace

WebhookCertificates::WebhookCertificates(std::shared_ptr<KubeApi> api, WebhookCertificateOptions options,
                                         std::function<int64_t()> nowSeconds)
    : api_(std::move(api)), options_(std::move(options)), now_(std::move(nowSeconds)) {
  if (!now_) now_ = [] { return static_cast<int64_t>(std::time(nullptr)); };
}

std::chrono::seconds WebhookCertificates::checkInterval() const {
  return std::clamp(options_.certValidity / 10, std::chrono::seconds(1), std::chrono::seconds(600));
}

std::vector<std::string> WebhookCertificates::serverNames() const {
  const std::string& s = options_.serviceName;
  const std::string& ns = options_.ns;
  std::vector<std::string> names = {s, s + "." + ns, s + "." + ns + ".svc", s + "." + ns + ".svc.cluster.local"};
  for (const auto& n : options_.extraNames) names.push_back(n);
  return names;
}

bool WebhookCertificates::expiring(const std::string& certPem, std::chrono::seconds validity) const {
  auto notAfter = certs::notAfterEpochSeconds(certPem);
  return !notAfter.ok() || *notAfter - now_() < validity.count() / 3;
}

Result<certs::KeyPair> WebhookCertificates::reconcile() {
  const std::string path = types::kSecret.objectPath(options_.ns, options_.secretName);
  ApiResponse got = api_->get(path);
  if (!got.ok() && !got.notFound())
    return Status::Error(fmt::format("reading Secret {}/{}: {}", options_.ns, options_.secretName, got.error));
  json secret = got.ok() ? got.body : json::object();
  certs::KeyPair ca{dataField(secret, "ca.crt"), dataField(secret, "ca.key")};
  certs::KeyPair server{dataField(secret, "tls.crt"), dataField(secret, "tls.key")};
  std::string bundle = dataField(secret, "ca-bundle.crt");
  const std::chrono::seconds caValidity = options_.certValidity * kCaValidityFactor;
  bool changed = false;
  if (ca.certPem.empty() || ca.keyPem.empty() || expiring(ca.certPem, caValidity)) {
    auto fresh = certs::newCertificateAuthority("flink-operator-webhook-ca", "flink-cpp", caValidity);
    if (!fresh.ok()) return fresh.status();
    // The new bundle: the new CA, and the old ones while they are valid.
    std::string next = fresh->certPem;
    for (const auto& block : pemBlocks(bundle.empty() ? ca.certPem : bundle)) {
      auto notAfter = certs::notAfterEpochSeconds(block);
      if (notAfter.ok() && *notAfter > now_()) next += block;
    }
    ca = std::move(*fresh);
    bundle = std::move(next);
    server = {};
    changed = true;
    log::info("webhook: new CA in Secret {}/{}", options_.ns, options_.secretName);
  }
  if (bundle.empty()) bundle = ca.certPem;
  if (server.certPem.empty() || server.keyPem.empty() || !certs::signedBy(server.certPem, ca.certPem) ||
      expiring(server.certPem, options_.certValidity)) {
    auto fresh = certs::issueServerCertificate(ca, options_.serviceName + "." + options_.ns + ".svc", serverNames(),
                                               options_.certValidity);
    if (!fresh.ok()) return fresh.status();
    server = std::move(*fresh);
    changed = true;
    log::info("webhook: new server certificate in Secret {}/{} for {}", options_.ns, options_.secretName,
              fmt::join(serverNames(), ", "));
  }
  if (changed) {
    json body = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", options_.secretName}, {"namespace", options_.ns}}},
                 {"type", "kubernetes.io/tls"},
                 {"data",
                  {{"tls.crt", base64Encode(server.certPem)},
                   {"tls.key", base64Encode(server.keyPem)},
                   {"ca.crt", base64Encode(ca.certPem)},
                   {"ca.key", base64Encode(ca.keyPem)},
                   {"ca-bundle.crt", base64Encode(bundle)}}}};
    if (got.ok() && secret.contains("metadata")) {
      body["metadata"] = secret["metadata"];
      body["metadata"].erase("managedFields");
      if (secret.value("type", "") != "kubernetes.io/tls") body["type"] = secret.value("type", "Opaque");
    }
    ApiResponse wrote = got.ok() ? api_->put(path, body) : api_->post(types::kSecret.collectionPath(options_.ns), body);
    if (!wrote.ok())
      return Status::Error(fmt::format("writing Secret {}/{}: {}", options_.ns, options_.secretName, wrote.error));
  }
  if (Status st = patchCaBundles(bundle); !st.ok()) return st;
  return server;
}

Status WebhookCertificates::patchCaBundles(const std::string& bundlePem) {
  if (options_.webhookConfiguration.empty()) return Status::Ok();
  const std::string encoded = base64Encode(bundlePem);
  for (const ResourceType* type : {&types::kValidatingWebhookConfiguration, &types::kMutatingWebhookConfiguration}) {
    const std::string path = type->objectPath("", options_.webhookConfiguration);
    ApiResponse got = api_->get(path);
    if (got.notFound()) continue;
    if (!got.ok()) return Status::Error(fmt::format("reading {} {}: {}", type->kind, options_.webhookConfiguration, got.error));
    json obj = got.body;
    bool differs = false;
    if (obj.contains("webhooks") && obj["webhooks"].is_array()) {
      for (json& w : obj["webhooks"]) {
        if (!w.is_object()) continue;
        json& cc = w["clientConfig"];
        if (!cc.is_object() || cc.value("caBundle", "") != encoded) {
          cc["caBundle"] = encoded;
          differs = true;
        }
      }
    }
    if (!differs) continue;
    obj["metadata"].erase("managedFields");
    ApiResponse put = api_->put(path, obj);
    if (!put.ok()) return Status::Error(fmt::format("updating the caBundle of {} {}: {}", type->kind, options_.webhookConfiguration, put.error));
    log::info("webhook: caBundle of {} {} updated", type->kind, options_.webhookConfiguration);
  }
  return Status::Ok();
}

}  // namespace flink::k8s
