// TLS with Flink's configuration keys (security.ssl.*), shared by the runtime's internal
// connections (RPC, data exchange, blobs), the JobManager's REST API, and the clients of both
// (TaskManagers, the operator, the CLI).
//
// Two scopes, as Flink has them:
//   security.ssl.internal.*  RPC, data exchange and artifact transfer; always mutual
//                            authentication, no hostname verification (the peers share one
//                            certificate or one CA).
//   security.ssl.rest.*      the REST API; mutual authentication when
//                            security.ssl.rest.authentication-enabled is true; clients verify
//                            the server's host name.
// Credentials come from a PKCS#12 keystore/truststore (Flink's keystore, keystore-password,
// key-password, truststore, truststore-password; JKS is refused with how to convert it) or
// from PEM files (flink-cpp's key, cert.chain, trustedcerts). cert.fingerprint pins the peer's
// certificate by its SHA-1 (Flink's) or SHA-256 fingerprint: only a listed certificate is
// accepted, in addition to the chain verification against the trusted certificates.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flink/common/certificates.h"
#include "flink/configuration.h"
#include "flink/status.h"

namespace httplib {
class ClientImpl;
class SSLClient;
}

namespace flink::tls {

/// Which of Flink's two TLS scopes.
enum class Scope { kInternal, kRest };

// Keys (prefix security.ssl.internal. or security.ssl.rest.).
inline constexpr const char* kInternalEnabled = "security.ssl.internal.enabled";
inline constexpr const char* kRestEnabled = "security.ssl.rest.enabled";
inline constexpr const char* kRestAuthenticationEnabled = "security.ssl.rest.authentication-enabled";
/// Flink's pre-1.5 switch: enables both scopes when the per-scope keys are absent.
inline constexpr const char* kLegacyEnabled = "security.ssl.enabled";
inline constexpr const char* kProtocol = "security.ssl.protocol";
inline constexpr const char* kAlgorithms = "security.ssl.algorithms";

/// The TLS settings of one scope as configured (paths, not yet loaded).
struct TlsOptions {
  Scope scope = Scope::kInternal;
  bool enabled = false;
  /// The server asks for and verifies a client certificate (internal: always).
  bool mutualAuth = false;
  std::string keystore, keystorePassword, keyPassword, truststore, truststorePassword;  // PKCS#12
  std::string keyFile, certChainFile, trustedCertsFile;                                 // PEM
  /// Pinned peer certificates: lower-case hex digests without colons (40 digits: SHA-1, 64: SHA-256).
  std::vector<std::string> fingerprints;
  /// security.ssl.protocol: "TLSv1.2" or "TLSv1.3" pins that version; empty = TLSv1.2 and up.
  std::string protocol;
  /// security.ssl.algorithms: IANA cipher suite names (Flink's), comma-separated; empty = OpenSSL's defaults.
  std::string algorithms;
  /// security.ssl.<scope>.handshake-timeout (ms; Flink's key, default 10 s).
  int64_t handshakeTimeoutMs = 10000;
  /// REST clients check the server's host name against its certificate (security.ssl.verify-hostname,
  /// default true); internal connections never do (Flink's semantics).
  bool verifyHostname = true;

  /// Reads the scope's keys from `config`: per-scope keys first, then Flink's shared fallbacks
  /// (security.ssl.keystore, ...). Errors name the key (a malformed boolean, duration or
  /// fingerprint, an enabled scope without a key or certificate source).
  static Result<TlsOptions> fromConfig(const Configuration& config, Scope scope);
  /// The key name of `suffix` in this scope, e.g. "security.ssl.internal.keystore".
  std::string key(const std::string& suffix) const;
};

/// Loaded credentials of one scope and the SSL contexts built from them. Immutable once loaded;
/// share it (thread-safe). An SSL_CTX configured by it (its own or one passed to configure())
/// refers to it: it must outlive them.
class TlsContext {
 public:
  /// Reads and checks the files of `options` (the key matches the certificate, the trust store
  /// is not empty). Errors name the key and the file.
  static Result<std::shared_ptr<const TlsContext>> load(const TlsOptions& options);
  /// A context from PEM text (a Secret's tls.crt, tls.key, ca.crt) instead of files; `options`
  /// gives the scope, fingerprints, versions and ciphers. Errors name `what` (e.g. the Secret).
  static Result<std::shared_ptr<const TlsContext>> fromPem(const TlsOptions& options, const std::string& certChainPem,
                                                           const std::string& keyPem, const std::string& trustedPem,
                                                           const std::string& what);
  /// The enabled scope's context, or nullptr when `scope` is disabled in `config`.
  static Result<std::shared_ptr<const TlsContext>> fromConfig(const Configuration& config, Scope scope);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  const TlsOptions& options() const { return options_; }
  /// Contexts for accepting and for opening connections (SSL_new from them; thread-safe).
  SSL_CTX* serverContext() const { return server_; }
  SSL_CTX* clientContext() const { return client_; }

  /// Sets up `ctx` (made by someone else, e.g. cpp-httplib) as a server (`server`) or client
  /// context of this scope: own certificate chain and key, versions, ciphers, peer verification
  /// against the trusted certificates and fingerprints.
  Status configure(SSL_CTX* ctx, bool server) const;
  /// Sets up a cpp-httplib client: client certificate, trust (only this scope's trusted
  /// certificates and fingerprints); the server's host name is verified in the REST scope only.
  void configureClient(httplib::SSLClient& client) const;

  /// Verifies the peer certificate chain `leaf` + `untrusted` against this scope's trusted
  /// certificates and fingerprints; X509_V_OK or the X509_V_ERR_* that failed.
  int verifyPeer(X509* leaf, STACK_OF(X509) * untrusted) const;
  /// The fingerprint (hex) of `cert`: SHA-1 when `sha256` is false.
  static std::string fingerprint(X509* cert, bool sha256);

 private:
  TlsContext() = default;
  // Parses the own certificate chain and key (PEM; the key with options_.keyPassword).
  Status setIdentity(const std::string& chainPem, const std::string& chainWhat, const std::string& keyPem,
                     const std::string& keyWhat);
  // Builds the trust store and both SSL contexts once cert_, key_ and chain_ are set.
  static Result<std::shared_ptr<const TlsContext>> finish(std::shared_ptr<TlsContext> ctx,
                                                          std::vector<certs::X509Ptr> trusted, const std::string& what);
  TlsOptions options_;
  certs::X509Ptr cert_;
  std::vector<certs::X509Ptr> chain_;  // intermediates after the leaf
  certs::PkeyPtr key_;
  certs::StorePtr trust_;
  SSL_CTX* server_ = nullptr;
  SSL_CTX* client_ = nullptr;
};

/// A cpp-httplib client of host:port: plain without `tls`, else https set up by
/// tls->configureClient (`tls` must outlive the client). Timeouts are the caller's to set.
std::unique_ptr<httplib::ClientImpl> newHttpClient(const std::string& host, int port, const TlsContext* tls);

/// The first error on OpenSSL's error queue of this thread (and clears it), or `fallback`.
std::string lastSslError(const std::string& fallback);

}  // namespace flink::tls
