// Certificates for the test API server, made at start-up with flink/common/certificates.h: a self-signed
// ECDSA P-256 CA and a server certificate for 127.0.0.1 and localhost signed by it, both valid
// for one day. The caller (main.cc) keeps the CA in its --dir (ca.crt, ca.key) so that a restarted
// server can sign a new server certificate with the same CA and existing kubeconfigs stay valid.
#pragma once

#include "errors.h"

#include "flink/common/certificates.h"

#include <memory>
#include <string>
#include <vector>

namespace kta {

using flink::certs::PkeyPtr;
using flink::certs::X509Ptr;

struct TlsMaterial {
  X509Ptr caCert;
  PkeyPtr caKey;
  X509Ptr serverCert;
  PkeyPtr serverKey;
  std::string caPem;  // for the kubeconfig's certificate-authority-data
  std::string caKeyPem;  // PKCS#8
};

/// A new CA and a server certificate for 127.0.0.1, localhost and extraNames (IPs or DNS names).
Result<TlsMaterial> generateTlsMaterial(const std::vector<std::string>& extraNames = {});
/// A new server certificate signed by an existing CA (PEM). An error when the PEM does not parse,
/// the key does not match or the CA expires within the next hour (then generate a new one).
Result<TlsMaterial> tlsMaterialFromCa(const std::string& caCertPem, const std::string& caKeyPem,
                                      const std::vector<std::string>& extraNames = {});
/// The CA's private key in PEM (PKCS#8).
std::string caKeyPem(const TlsMaterial& m);

}  // namespace kta
