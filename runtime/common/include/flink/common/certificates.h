// X.509 certificates made at run time with OpenSSL (libcrypto), for the processes that serve TLS
// without an outside PKI: the operator's admission webhook (a self-signed CA kept in a Secret)
// and the test API server. Keys are ECDSA P-256, signatures SHA-256, as RFC 5280 profiles
// them: a CA with basicConstraints CA:TRUE and keyCertSign; a server certificate with
// CA:FALSE, extendedKeyUsage serverAuth and the given subjectAltNames. Everything is PEM text,
// so it can go straight into a Secret (kubernetes.io/tls: tls.crt, tls.key) or a caBundle.
// Thread-safe: the functions keep no state.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flink/status.h"

namespace flink::certs {

/// Owning pointers to OpenSSL objects (freed with X509_free / EVP_PKEY_free / X509_STORE_free).
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using StorePtr = std::unique_ptr<X509_STORE, StoreFree>;

// ---- PEM parsing: the one place that turns PEM text into OpenSSL objects ----

/// Every certificate of `pem`, in order (a chain: leaf first). Error naming `what` (a file or
/// field) when there is none or one does not parse.
Result<std::vector<X509Ptr>> parseCertificates(const std::string& pem, const std::string& what);
/// The first certificate of `pem`; error naming `what` when there is none.
Result<X509Ptr> parseCertificate(const std::string& pem, const std::string& what);
/// The private key of `pem` (PKCS#8, traditional RSA/EC; encrypted with `password` when given).
/// Error naming `what` when it does not parse or the password is wrong.
Result<PkeyPtr> parsePrivateKey(const std::string& pem, const std::string& what, const std::string& password = "");
/// A new trust store holding every certificate of `pem` (may be empty text: an empty store).
Result<StorePtr> newTrustStore(const std::string& pem, const std::string& what);
/// The certificate as PEM text.
std::string certificateToPem(X509* cert);

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

/// A new client-and-server certificate signed by `ca` (extendedKeyUsage serverAuth and
/// clientAuth), for mutual TLS between a cluster's processes; otherwise as
/// issueServerCertificate.
Result<KeyPair> issuePeerCertificate(const KeyPair& ca, const std::string& commonName,
                                     const std::vector<std::string>& subjectAltNames, std::chrono::seconds validity);

/// notAfter of the first certificate in `certPem`, in seconds since the Unix epoch.
Result<int64_t> notAfterEpochSeconds(const std::string& certPem);

/// Whether the first certificate in `certPem` was signed by the first certificate in `caPem`
/// (signature check only, not a chain or time validation).
bool signedBy(const std::string& certPem, const std::string& caPem);

}  // namespace flink::certs
