#include "flink/common/certificates.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace flink::certs {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

Status opensslError(const std::string& what) {
  char buf[256] = {0};
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  return Status::Error(what + ": " + buf);
}

bool addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

X509Ptr readCert(const std::string& pem) {
  auto cert = parseCertificate(pem, "certificate");
  return cert.ok() ? std::move(*cert) : nullptr;
}

PkeyPtr readKey(const std::string& pem) {
  auto key = parsePrivateKey(pem, "private key");
  return key.ok() ? std::move(*key) : nullptr;
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<KeyPair> toPem(X509* cert, EVP_PKEY* key) {
  BioPtr c(BIO_new(BIO_s_mem())), k(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(c.get(), cert) != 1) return opensslError("writing the certificate");
  if (PEM_write_bio_PrivateKey(k.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return opensslError("writing the private key");
  return KeyPair{bioText(c.get()), bioText(k.get())};
}

std::string sanList(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    unsigned char buf[16];
    bool ip = inet_pton(AF_INET, n.c_str(), buf) == 1 || inet_pton(AF_INET6, n.c_str(), buf) == 1;
    out += (out.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + n;
  }
  return out;
}

// A certificate for `key` named `commonName`, signed by issuer/issuerKey (itself when null).
Result<X509Ptr> makeCert(const std::string& commonName, const std::string& organization, EVP_PKEY* key,
                         X509* issuer, EVP_PKEY* issuerKey, std::chrono::seconds validity,
                         const std::vector<std::string>& sans, const char* extendedKeyUsage = "serverAuth") {
  X509Ptr cert(X509_new());
  if (!cert) return opensslError("X509_new");
  X509_set_version(cert.get(), 2);
  BIGNUM* serial = BN_new();
  BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate small clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(validity.count()));
  if (issuer && X509_cmp_time(X509_get0_notAfter(issuer), nullptr) > 0 &&
      ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(issuer)) > 0)
    X509_set1_notAfter(cert.get(), X509_get0_notAfter(issuer));  // never outlive the CA
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(organization.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  bool ok = addExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (!issuer) {
    ok = ok && addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE") &&
         addExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    ok = ok && addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
         addExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
         addExtension(cert.get(), signer, NID_ext_key_usage, extendedKeyUsage) &&
         addExtension(cert.get(), signer, NID_subject_alt_name, sanList(sans)) &&
         addExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  }
  if (!ok) return opensslError("adding certificate extensions");
  if (X509_sign(cert.get(), issuerKey, EVP_sha256()) == 0) return opensslError("X509_sign");
  return cert;
}

int passwordCallback(char* buf, int size, int, void* userdata) {
  const std::string* password = static_cast<const std::string*>(userdata);
  int n = std::min<int>(size, static_cast<int>(password->size()));
  std::memcpy(buf, password->data(), static_cast<size_t>(n));
  return n;
}

Result<KeyPair> issueSigned(const KeyPair& ca, const std::string& commonName, const std::vector<std::string>& subjectAltNames,
                            std::chrono::seconds validity, const char* extendedKeyUsage) {
  if (subjectAltNames.empty()) return Status::Error("a server certificate needs at least one subjectAltName");
  X509Ptr caCert = readCert(ca.certPem);
  PkeyPtr caKey = readKey(ca.keyPem);
  if (!caCert || !caKey) return opensslError("reading the CA");
  if (X509_check_private_key(caCert.get(), caKey.get()) != 1)
    return Status::Error("the CA key does not match the CA certificate");
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return opensslError("EVP_EC_gen");
  X509_NAME* caName = X509_get_subject_name(caCert.get());
  int idx = X509_NAME_get_index_by_NID(caName, NID_organizationName, -1);
  std::string org = "flink-cpp";
  if (idx >= 0) {
    ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(caName, idx));
    org.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(ASN1_STRING_length(s)));
  }
  auto cert = makeCert(commonName, org, key.get(), caCert.get(), caKey.get(), validity, subjectAltNames, extendedKeyUsage);
  if (!cert.ok()) return cert.status();
  return toPem(cert->get(), key.get());
}

}  // namespace

Result<std::vector<X509Ptr>> parseCertificates(const std::string& pem, const std::string& what) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<X509Ptr> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  // The loop ends on "no start line" at the end of the text; anything else is a broken block.
  unsigned long err = ERR_peek_last_error();
  bool atEnd = ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  if (!atEnd && err != 0) return Status::Error(what + ": a certificate does not parse");
  if (out.empty()) return Status::Error(what + ": no PEM certificate (-----BEGIN CERTIFICATE-----) in it");
  return out;
}

Result<X509Ptr> parseCertificate(const std::string& pem, const std::string& what) {
  auto all = parseCertificates(pem, what);
  if (!all.ok()) return all.status();
  return std::move(all->front());
}

Result<PkeyPtr> parsePrivateKey(const std::string& pem, const std::string& what, const std::string& password) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::string pw = password;
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, passwordCallback, &pw));
  if (!key) return opensslError(what + ": no private key parses (or the key password is wrong)");
  ERR_clear_error();
  return key;
}

Result<StorePtr> newTrustStore(const std::string& pem, const std::string& what) {
  StorePtr store(X509_STORE_new());
  if (!store) return opensslError("X509_STORE_new");
  if (pem.find_first_not_of(" \t\r\n") == std::string::npos) return store;
  auto certs = parseCertificates(pem, what);
  if (!certs.ok()) return certs.status();
  for (auto& c : *certs) X509_STORE_add_cert(store.get(), c.get());
  return store;
}

std::string certificateToPem(X509* cert) {
  BioPtr c(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(c.get(), cert);
  return bioText(c.get());
}

Result<KeyPair> newCertificateAuthority(const std::string& commonName, const std::string& organization,
                                        std::chrono::seconds validity) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return opensslError("EVP_EC_gen");
  auto cert = makeCert(commonName, organization, key.get(), nullptr, key.get(), validity, {});
  if (!cert.ok()) return cert.status();
  return toPem(cert->get(), key.get());
}

Result<KeyPair> issueServerCertificate(const KeyPair& ca, const std::string& commonName,
                                       const std::vector<std::string>& subjectAltNames, std::chrono::seconds validity) {
  return issueSigned(ca, commonName, subjectAltNames, validity, "serverAuth");
}

Result<KeyPair> issuePeerCertificate(const KeyPair& ca, const std::string& commonName,
                                     const std::vector<std::string>& subjectAltNames, std::chrono::seconds validity) {
  return issueSigned(ca, commonName, subjectAltNames, validity, "serverAuth,clientAuth");
}

Result<int64_t> notAfterEpochSeconds(const std::string& certPem) {
  X509Ptr cert = readCert(certPem);
  if (!cert) return opensslError("reading the certificate");
  struct tm t {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &t) != 1) return opensslError("reading notAfter");
  return static_cast<int64_t>(timegm(&t));
}

bool signedBy(const std::string& certPem, const std::string& caPem) {
  X509Ptr cert = readCert(certPem), ca = readCert(caPem);
  if (!cert || !ca) return false;
  EVP_PKEY* key = X509_get0_pubkey(ca.get());
  return key && X509_verify(cert.get(), key) == 1;
}

}  // namespace flink::certs
