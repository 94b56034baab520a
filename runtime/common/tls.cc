#include "flink/common/tls.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "flink/common/strings.h"

namespace flink::tls {
namespace {

Result<std::string> readFile(const std::string& key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(key + ": cannot read '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "AB:cd:..." or "abcd..." -> "abcd..."; empty when it is not 20 or 32 bytes of hex.
std::string normalizeFingerprint(const std::string& text) {
  std::string hex;
  for (char c : text) {
    if (c == ':' || c == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return hex.size() == 40 || hex.size() == 64 ? hex : "";
}

struct P12 {
  certs::PkeyPtr key;
  certs::X509Ptr cert;
  std::vector<certs::X509Ptr> others;
};

Result<P12> readPkcs12(const std::string& key, const std::string& path, const std::string& password) {
  auto bytes = readFile(key, path);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() >= 4 && static_cast<unsigned char>((*bytes)[0]) == 0xfe && static_cast<unsigned char>((*bytes)[1]) == 0xed)
    return Status::Error(key + ": '" + path +
                         "' is a JKS keystore; flink-cpp reads PKCS#12 (convert it with keytool -importkeystore "
                         "-deststoretype PKCS12) or PEM files");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes->data());
  PKCS12* p12 = d2i_PKCS12(nullptr, &p, static_cast<long>(bytes->size()));
  if (!p12) return Status::Error(key + ": '" + path + "' is not a PKCS#12 file");
  EVP_PKEY* pkey = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  int ok = PKCS12_parse(p12, password.c_str(), &pkey, &cert, &ca);
  PKCS12_free(p12);
  if (ok != 1) return Status::Error(lastSslError(key + ": cannot open '" + path + "' (wrong password?)"));
  P12 out;
  out.key.reset(pkey);
  out.cert.reset(cert);
  while (ca && sk_X509_num(ca) > 0) out.others.emplace_back(sk_X509_shift(ca));
  sk_X509_free(ca);
  return out;
}

int tlsVersion(const std::string& name) {
  std::string n = lower(name);
  if (n == "tlsv1.2") return TLS1_2_VERSION;
  if (n == "tlsv1.3") return TLS1_3_VERSION;
  return 0;
}

// The certificate verification of every SSL_CTX this scope configures (replaces OpenSSL's, so
// that only this scope's trusted certificates count, whoever built the context and its store).
int verifyCallback(X509_STORE_CTX* storeCtx, void* arg) {
  const auto* self = static_cast<const TlsContext*>(arg);
  int err = self->verifyPeer(X509_STORE_CTX_get0_cert(storeCtx), X509_STORE_CTX_get0_untrusted(storeCtx));
  X509_STORE_CTX_set_error(storeCtx, err);
  return err == X509_V_OK ? 1 : 0;
}

}  // namespace

std::string lastSslError(const std::string& fallback) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return fallback;
  char buf[256] = {0};
  ERR_error_string_n(e, buf, sizeof buf);
  return fallback + ": " + buf;
}

std::string TlsOptions::key(const std::string& suffix) const {
  return std::string(scope == Scope::kInternal ? "security.ssl.internal." : "security.ssl.rest.") + suffix;
}

Result<TlsOptions> TlsOptions::fromConfig(const Configuration& config, Scope scope) {
  TlsOptions o;
  o.scope = scope;
  auto legacy = config.getBool(kLegacyEnabled, false);
  if (!legacy.ok()) return legacy.status();
  auto enabled = config.getBool(scope == Scope::kInternal ? kInternalEnabled : kRestEnabled, *legacy);
  if (!enabled.ok()) return enabled.status();
  o.enabled = *enabled;
  if (scope == Scope::kInternal) {
    o.mutualAuth = true;
  } else {
    auto auth = config.getBool(kRestAuthenticationEnabled, false);
    if (!auth.ok()) return auth.status();
    o.mutualAuth = *auth;
  }
  // Per-scope key first, then Flink's shared fallback security.ssl.<suffix>.
  auto get = [&](const std::string& suffix) {
    auto v = config.get(o.key(suffix));
    if (!v) v = config.get("security.ssl." + suffix);
    return v ? trim(*v) : std::string();
  };
  o.keystore = get("keystore");
  o.keystorePassword = get("keystore-password");
  o.keyPassword = get("key-password");
  o.truststore = get("truststore");
  o.truststorePassword = get("truststore-password");
  o.keyFile = get("key");
  o.certChainFile = get("cert.chain");
  o.trustedCertsFile = get("trustedcerts");
  std::string pins = get("cert.fingerprint");
  for (char& c : pins)
    if (c == ';') c = ',';
  for (const auto& item : splitList(pins)) {
    std::string hex = normalizeFingerprint(trim(item));
    if (hex.empty())
      return Status::Error(o.key("cert.fingerprint") + ": '" + item +
                           "' is not a SHA-1 or SHA-256 fingerprint (hex bytes, colons optional)");
    o.fingerprints.push_back(hex);
  }
  auto verifyHostname = config.getBool("security.ssl.verify-hostname", true);
  if (!verifyHostname.ok()) return verifyHostname.status();
  o.verifyHostname = scope == Scope::kRest && *verifyHostname;
  o.protocol = trim(config.getString(kProtocol, ""));
  if (!o.protocol.empty() && tlsVersion(o.protocol) == 0)
    return Status::Error(std::string(kProtocol) + ": '" + o.protocol + "' is not TLSv1.2 or TLSv1.3");
  o.algorithms = trim(config.getString(kAlgorithms, ""));
  std::string timeout = trim(config.getString(o.key("handshake-timeout"), ""));
  if (!timeout.empty() && timeout != "-1") {
    auto ms = config.getDurationMs(o.key("handshake-timeout"), 10000);
    if (!ms.ok()) return ms.status();
    if (*ms <= 0) return Status::Error(o.key("handshake-timeout") + ": must be positive");
    o.handshakeTimeoutMs = *ms;
  }
  if (!o.enabled) return o;
  bool pem = !o.keyFile.empty() || !o.certChainFile.empty();
  if (!pem && o.keystore.empty())
    return Status::Error((scope == Scope::kInternal ? std::string(kInternalEnabled) : std::string(kRestEnabled)) +
                         " is true but neither " + o.key("keystore") + " nor " + o.key("key") + " and " +
                         o.key("cert.chain") + " are set");
  if (pem && (o.keyFile.empty() || o.certChainFile.empty()))
    return Status::Error(o.key("key") + " and " + o.key("cert.chain") + " go together; one of them is missing");
  return o;
}

Result<std::shared_ptr<const TlsContext>> TlsContext::fromConfig(const Configuration& config, Scope scope) {
  auto options = TlsOptions::fromConfig(config, scope);
  if (!options.ok()) return options.status();
  if (!options->enabled) return std::shared_ptr<const TlsContext>();
  return load(*options);
}

Result<std::shared_ptr<const TlsContext>> TlsContext::load(const TlsOptions& options) {
  std::shared_ptr<TlsContext> ctx(new TlsContext());
  ctx->options_ = options;
  if (!options.keyFile.empty()) {
    auto keyPem = readFile(options.key("key"), options.keyFile);
    if (!keyPem.ok()) return keyPem.status();
    auto chainPem = readFile(options.key("cert.chain"), options.certChainFile);
    if (!chainPem.ok()) return chainPem.status();
    Status s = ctx->setIdentity(*chainPem, options.key("cert.chain") + " '" + options.certChainFile + "'", *keyPem,
                                options.key("key") + " '" + options.keyFile + "'");
    if (!s.ok()) return s;
  } else {
    auto p12 = readPkcs12(options.key("keystore"), options.keystore, options.keystorePassword);
    if (!p12.ok()) return p12.status();
    if (!p12->key || !p12->cert)
      return Status::Error(options.key("keystore") + ": '" + options.keystore + "' holds no private key with its certificate");
    ctx->key_ = std::move(p12->key);
    ctx->cert_ = std::move(p12->cert);
    ctx->chain_ = std::move(p12->others);
  }
  std::vector<certs::X509Ptr> trusted;
  if (!options.trustedCertsFile.empty()) {
    auto pem = readFile(options.key("trustedcerts"), options.trustedCertsFile);
    if (!pem.ok()) return pem.status();
    auto list = certs::parseCertificates(*pem, options.key("trustedcerts") + " '" + options.trustedCertsFile + "'");
    if (!list.ok()) return list.status();
    trusted = std::move(*list);
  } else if (!options.truststore.empty()) {
    auto p12 = readPkcs12(options.key("truststore"), options.truststore, options.truststorePassword);
    if (!p12.ok()) return p12.status();
    if (p12->cert) trusted.push_back(std::move(p12->cert));
    for (auto& c : p12->others) trusted.push_back(std::move(c));
    if (trusted.empty()) return Status::Error(options.key("truststore") + ": no trusted certificate in it");
  }
  return finish(std::move(ctx), std::move(trusted), options.key(options.keyFile.empty() ? "keystore" : "key"));
}

Result<std::shared_ptr<const TlsContext>> TlsContext::fromPem(const TlsOptions& options, const std::string& certChainPem,
                                                              const std::string& keyPem, const std::string& trustedPem,
                                                              const std::string& what) {
  std::shared_ptr<TlsContext> ctx(new TlsContext());
  ctx->options_ = options;
  Status s = ctx->setIdentity(certChainPem, what + " (certificate)", keyPem, what + " (private key)");
  if (!s.ok()) return s;
  std::vector<certs::X509Ptr> trusted;
  if (!trustedPem.empty()) {
    auto list = certs::parseCertificates(trustedPem, what + " (trusted certificates)");
    if (!list.ok()) return list.status();
    trusted = std::move(*list);
  }
  return finish(std::move(ctx), std::move(trusted), what);
}

Status TlsContext::setIdentity(const std::string& chainPem, const std::string& chainWhat, const std::string& keyPem,
                               const std::string& keyWhat) {
  auto key = certs::parsePrivateKey(keyPem, keyWhat, options_.keyPassword);
  if (!key.ok()) return key.status();
  key_ = std::move(*key);
  auto chain = certs::parseCertificates(chainPem, chainWhat);
  if (!chain.ok()) return chain.status();
  cert_ = std::move(chain->front());
  for (size_t i = 1; i < chain->size(); ++i) chain_.push_back(std::move((*chain)[i]));
  return Status::Ok();
}

Result<std::shared_ptr<const TlsContext>> TlsContext::finish(std::shared_ptr<TlsContext> ctx,
                                                             std::vector<certs::X509Ptr> trusted, const std::string& what) {
  if (X509_check_private_key(ctx->cert_.get(), ctx->key_.get()) != 1) {
    ERR_clear_error();
    return Status::Error(what + ": the private key does not match the certificate");
  }
  // Trust: the given certificates; without any (Flink's self-signed setup uses one file for
  // both) the own certificate chain.
  auto trust = certs::newTrustStore("", "trust");
  if (!trust.ok()) return trust.status();
  ctx->trust_ = std::move(*trust);
  if (trusted.empty()) {
    X509_STORE_add_cert(ctx->trust_.get(), ctx->cert_.get());
    for (auto& c : ctx->chain_) X509_STORE_add_cert(ctx->trust_.get(), c.get());
  }
  for (auto& c : trusted) X509_STORE_add_cert(ctx->trust_.get(), c.get());
  ctx->server_ = SSL_CTX_new(TLS_server_method());
  ctx->client_ = SSL_CTX_new(TLS_client_method());
  if (!ctx->server_ || !ctx->client_) return Status::Error(lastSslError("SSL_CTX_new"));
  if (auto s = ctx->configure(ctx->server_, true); !s.ok()) return s;
  if (auto s = ctx->configure(ctx->client_, false); !s.ok()) return s;
  return std::shared_ptr<const TlsContext>(std::move(ctx));
}

TlsContext::~TlsContext() {
  SSL_CTX_free(server_);
  SSL_CTX_free(client_);
}

Status TlsContext::configure(SSL_CTX* ctx, bool server) const {
  if (SSL_CTX_use_certificate(ctx, cert_.get()) != 1 || SSL_CTX_use_PrivateKey(ctx, key_.get()) != 1)
    return Status::Error(lastSslError("cannot use the " + options_.key("") + "* certificate"));
  SSL_CTX_clear_chain_certs(ctx);
  for (const auto& c : chain_) SSL_CTX_add1_chain_cert(ctx, c.get());
  int version = tlsVersion(options_.protocol);
  SSL_CTX_set_min_proto_version(ctx, version ? version : TLS1_2_VERSION);
  if (version) SSL_CTX_set_max_proto_version(ctx, version);
  if (!options_.algorithms.empty()) {
    std::string tls12, tls13;
    for (const auto& name : splitList(options_.algorithms)) {
      std::string n = trim(name);
      if (n.rfind("TLS_AES_", 0) == 0 || n.rfind("TLS_CHACHA20_", 0) == 0) {
        tls13 += (tls13.empty() ? "" : ":") + n;
      } else if (const char* openssl = OPENSSL_cipher_name(n.c_str()); openssl && std::string(openssl) != "(NONE)") {
        tls12 += (tls12.empty() ? "" : ":") + std::string(openssl);
      } else {
        return Status::Error(std::string(kAlgorithms) + ": unknown cipher suite '" + n + "'");
      }
    }
    if (!tls12.empty() && SSL_CTX_set_cipher_list(ctx, tls12.c_str()) != 1)
      return Status::Error(lastSslError(std::string(kAlgorithms) + ": no usable cipher suite"));
    if (!tls13.empty() && SSL_CTX_set_ciphersuites(ctx, tls13.c_str()) != 1)
      return Status::Error(lastSslError(std::string(kAlgorithms) + ": no usable TLS 1.3 cipher suite"));
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
  SSL_CTX_set_cert_verify_callback(ctx, verifyCallback, const_cast<TlsContext*>(this));
  if (server) {
    SSL_CTX_set_verify(ctx, options_.mutualAuth ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE,
                       nullptr);
    // Client CA names sent in the CertificateRequest are optional; peers pick their one cert.
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  return Status::Ok();
}

void TlsContext::configureClient(httplib::SSLClient& client) const {
  SSL_CTX* ctx = client.ssl_context();
  if (ctx) (void)configure(ctx, false);  // the certificate was checked by load()
  // REST: cpp-httplib checks the verification result and the host name. Internal (or
  // verify-hostname false): no host name check (Flink's semantics: the peers share one
  // certificate); the context's SSL_VERIFY_PEER makes the handshake fail on an untrusted or
  // unpinned certificate.
  client.enable_server_certificate_verification(options_.scope == Scope::kRest && options_.verifyHostname);
}

std::unique_ptr<httplib::ClientImpl> newHttpClient(const std::string& host, int port, const TlsContext* tls) {
  if (!tls) return std::make_unique<httplib::ClientImpl>(host, port);
  auto client = std::make_unique<httplib::SSLClient>(host, port);
  tls->configureClient(*client);
  return client;
}

int TlsContext::verifyPeer(X509* leaf, STACK_OF(X509) * untrusted) const {
  if (!leaf) return X509_V_ERR_UNSPECIFIED;
  X509_STORE_CTX* vctx = X509_STORE_CTX_new();
  if (!vctx) return X509_V_ERR_OUT_OF_MEM;
  int err = X509_V_OK;
  if (X509_STORE_CTX_init(vctx, trust_.get(), leaf, untrusted) != 1) {
    err = X509_V_ERR_UNSPECIFIED;
  } else {
    // A peer certificate of this scope is either a client or a server: do not check its purpose.
    X509_STORE_CTX_set_purpose(vctx, X509_PURPOSE_ANY);
    if (X509_verify_cert(vctx) != 1) err = X509_STORE_CTX_get_error(vctx);
  }
  X509_STORE_CTX_free(vctx);
  if (err == X509_V_OK && !options_.fingerprints.empty()) {
    std::string sha1 = fingerprint(leaf, false), sha256 = fingerprint(leaf, true);
    bool pinned = false;
    for (const auto& f : options_.fingerprints) pinned = pinned || f == sha1 || f == sha256;
    if (!pinned) err = X509_V_ERR_APPLICATION_VERIFICATION;
  }
  ERR_clear_error();
  return err;
}

std::string TlsContext::fingerprint(X509* cert, bool sha256) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, sha256 ? EVP_sha256() : EVP_sha1(), md, &n) != 1) return "";
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace flink::tls
