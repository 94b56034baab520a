// X.509 certificates made at run time with OpenSSL (libcrypto), for the processes that serve TLS
// without an outside PKI: the operator's admission webhook (a self-signed CA kept in a Secret)
// and the test API server. Keys are ECDSA P-256, signatures SHA-256, as RFC 5280 profiles
// them: a CA with basicConstraints CA:TRUE and keyCertSign; a server certificate with
// CA:FALSE, extendedKeyUsage serverAuth and the given subjectAltNames. Everything is PEM text,
// so it can go straight into a Secret (kubernetes.io/tls: tls.crt, tls.key) or a caBundle.
// Thread-safe: the functions keep no state.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "flink/status.h"

namespace flink::certs {

/// A certificate and its private key, both PEM (the key as PKCS#8 "PRIVATE KEY").
struct KeyPair {
  std::string certPem;
  std::string keyPem;
};

/// A new self-signed CA named `commonName` (organization `organization`), valid from one hour
/// ago (clock skew) until now + `validity`.
Result<KeyPair> newCertificateAuthority(const std::string& commonName, const std::string& organization,
                                        std::chrono::seconds validity);

/// A new server certificate signed by `ca`, valid from one hour ago until now + `validity` (but
/// never after the CA). `subjectAltNames` are DNS names or IP addresses (an entry that parses as
/// an IPv4/IPv6 address becomes an IP SAN). Errors: the CA does not parse, its key does not
/// match, no SAN given, or an OpenSSL failure (its message).
Result<KeyPair> issueServerCertificate(const KeyPair& ca, const std::string& commonName,
                                       const std::vector<std::string>& subjectAltNames, std::chrono::seconds validity);

/// notAfter of the first certificate in `certPem`, in seconds since the Unix epoch.
Result<int64_t> notAfterEpochSeconds(const std::string& certPem);

/// Whether the first certificate in `certPem` was signed by the first certificate in `caPem`
/// (signature check only, not a chain or time validation).
bool signedBy(const std::string& certPem, const std::string& caPem);

}  // namespace flink::certs
