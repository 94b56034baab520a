#include "tls.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace kta {
namespace {

ApiError opensslError(const std::string& what) {
  char buf[256] = {0};
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  return internalError(what + ": " + buf);
}

bool addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Result<X509Ptr> makeCert(const std::string& commonName, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuerKey, bool isCa) {
  X509Ptr cert(X509_new());
  if (!cert) return opensslError("X509_new");
  X509_set_version(cert.get(), 2);
  BIGNUM* serial = BN_new();
  BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate small clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("kube-test-apiserver"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  bool ok = addExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (isCa) {
    ok = ok && addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE") &&
         addExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    ok = ok && addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
         addExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
         addExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth") &&
         addExtension(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") &&
         addExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  }
  if (!ok) return opensslError("adding certificate extensions");
  if (X509_sign(cert.get(), issuerKey, EVP_sha256()) == 0) return opensslError("X509_sign");
  return cert;
}

// Issues the server certificate with m.caCert/m.caKey and fills m.caPem.
Result<TlsMaterial> finish(TlsMaterial m) {
  m.serverKey.reset(EVP_EC_gen("P-256"));
  if (!m.serverKey) return opensslError("EVP_EC_gen");
  auto server = makeCert("127.0.0.1", m.serverKey.get(), m.caCert.get(), m.caKey.get(), false);
  if (!server) return server.error();
  m.serverCert = std::move(*server);

  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, m.caCert.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  m.caPem.assign(data, static_cast<size_t>(len));
  BIO_free(bio);
  return m;
}

}  // namespace

Result<TlsMaterial> generateTlsMaterial() {
  TlsMaterial m;
  m.caKey.reset(EVP_EC_gen("P-256"));
  if (!m.caKey) return opensslError("EVP_EC_gen");
  auto ca = makeCert("kube-test-apiserver-ca", m.caKey.get(), nullptr, m.caKey.get(), true);
  if (!ca) return ca.error();
  m.caCert = std::move(*ca);
  return finish(std::move(m));
}

Result<TlsMaterial> tlsMaterialFromCa(const std::string& caCertPem, const std::string& caKeyPem) {
  TlsMaterial m;
  BIO* cb = BIO_new_mem_buf(caCertPem.data(), static_cast<int>(caCertPem.size()));
  m.caCert.reset(PEM_read_bio_X509(cb, nullptr, nullptr, nullptr));
  BIO_free(cb);
  BIO* kb = BIO_new_mem_buf(caKeyPem.data(), static_cast<int>(caKeyPem.size()));
  m.caKey.reset(PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr));
  BIO_free(kb);
  if (!m.caCert || !m.caKey) return opensslError("reading the CA");
  if (X509_check_private_key(m.caCert.get(), m.caKey.get()) != 1) return internalError("the CA key does not match the CA certificate");
  std::time_t soon = std::time(nullptr) + 3600;
  if (X509_cmp_time(X509_get0_notAfter(m.caCert.get()), &soon) <= 0) return internalError("the CA expires within an hour");
  return finish(std::move(m));
}

std::string caKeyPem(const TlsMaterial& m) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, m.caKey.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

}  // namespace kta
