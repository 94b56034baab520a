#include "tls.h"

#include "flink/common/certificates.h"

#include <openssl/pem.h>

#include <ctime>

namespace kta {
namespace {

constexpr std::chrono::seconds kValidity{24 * 3600};

X509Ptr readCert(const std::string& pem) {
  auto cert = flink::certs::parseCertificate(pem, "certificate");
  return cert.ok() ? std::move(cert).value() : nullptr;
}

PkeyPtr readKey(const std::string& pem) {
  auto key = flink::certs::parsePrivateKey(pem, "private key");
  return key.ok() ? std::move(key).value() : nullptr;
}

// Issues the server certificate (127.0.0.1, localhost and extraNames) with the CA and loads both.
Result<TlsMaterial> finish(const flink::certs::KeyPair& ca, const std::vector<std::string>& extraNames) {
  std::vector<std::string> names = {"127.0.0.1", "localhost"};
  names.insert(names.end(), extraNames.begin(), extraNames.end());
  auto server = flink::certs::issueServerCertificate(ca, "127.0.0.1", names, kValidity);
  if (!server.ok()) return internalError(server.status().message());
  TlsMaterial m;
  m.caCert = readCert(ca.certPem);
  m.caKey = readKey(ca.keyPem);
  m.serverCert = readCert(server->certPem);
  m.serverKey = readKey(server->keyPem);
  if (!m.caCert || !m.caKey || !m.serverCert || !m.serverKey) return internalError("reading the generated certificates");
  m.caPem = ca.certPem;
  m.caKeyPem = ca.keyPem;
  return m;
}

}  // namespace

Result<TlsMaterial> generateTlsMaterial(const std::vector<std::string>& extraNames) {
  auto ca = flink::certs::newCertificateAuthority("kube-test-apiserver-ca", "kube-test-apiserver", kValidity);
  if (!ca.ok()) return internalError(ca.status().message());
  return finish(*ca, extraNames);
}

Result<TlsMaterial> tlsMaterialFromCa(const std::string& caCertPem, const std::string& caKeyPem,
                                      const std::vector<std::string>& extraNames) {
  auto notAfter = flink::certs::notAfterEpochSeconds(caCertPem);
  if (!notAfter.ok()) return internalError("reading the CA: " + notAfter.status().message());
  if (*notAfter <= static_cast<int64_t>(std::time(nullptr)) + 3600) return internalError("the CA expires within an hour");
  return finish(flink::certs::KeyPair{caCertPem, caKeyPem}, extraNames);
}

std::string caKeyPem(const TlsMaterial& m) { return m.caKeyPem; }

}  // namespace kta
