// TLS with Flink's keys: internal connections (RPC and data frames), blobs and the REST scope.
// Outcomes only: what a peer with or without the right certificate can and cannot do.
#include <catch2/catch.hpp>

#include <httplib.h>
#include <openssl/pkcs12.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "blob/blob.h"
#include "controller/jobmanager_client.h"
#include "controller/resources.h"
#include "flink/common/strings.h"
#include "flink/common/certificates.h"
#include "flink/common/tls.h"
#include "net/connection.h"

using namespace flink;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    path = (fs::temp_directory_path() / ("tls-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++))).string();
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name, std::ios::binary) << text;
    return path + "/" + name;
  }
};

// A CA and a peer certificate it signed, as PEM files, and the internal TLS config using them.
struct Pki {
  certs::KeyPair ca, peer;
  Configuration config;
  Pki(const TempDir& dir, const std::string& name, const std::string& scope = "internal") {
    ca = *certs::newCertificateAuthority(name + "-ca", "flink-cpp", std::chrono::hours(1));
    peer = *certs::issuePeerCertificate(ca, name, {"localhost", "127.0.0.1"}, std::chrono::hours(1));
    std::string p = "security.ssl." + scope + ".";
    config.set(scope == "internal" ? tls::kInternalEnabled : tls::kRestEnabled, "true");
    config.set(p + "key", dir.write(name + ".key", peer.keyPem));
    config.set(p + "cert.chain", dir.write(name + ".crt", peer.certPem));
    config.set(p + "trustedcerts", dir.write(name + "-ca.crt", ca.certPem));
  }
  std::shared_ptr<const tls::TlsContext> context(tls::Scope scope = tls::Scope::kInternal) const {
    auto ctx = tls::TlsContext::fromConfig(config, scope);
    REQUIRE(ctx.ok());
    REQUIRE(*ctx);
    return *ctx;
  }
};

// What a listener saw: frames delivered and close reasons.
struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> frames;
  std::vector<std::string> closes;
  std::vector<std::shared_ptr<net::Connection>> conns;

  void accept(std::shared_ptr<net::Connection> conn) {
    std::weak_ptr<net::Connection> weak = conn;
    conn->start(
        [this, weak](uint8_t, Buffer&& payload) {
          std::string text(payload.begin(), payload.end());
          std::string reply = "echo:" + text;
          if (auto c = weak.lock()) (void)c->send(1, reply.data(), reply.size());
          std::lock_guard<std::mutex> lock(mu);
          frames.push_back(text);
          cv.notify_all();
        },
        [this](const std::string& reason) {
          std::lock_guard<std::mutex> lock(mu);
          closes.push_back(reason);
          cv.notify_all();
        });
    std::lock_guard<std::mutex> lock(mu);
    conns.push_back(std::move(conn));
  }
  template <class Pred>
  bool await(Pred pred) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), pred);
  }
  ~Inbox() {
    std::vector<std::shared_ptr<net::Connection>> cs;
    {
      std::lock_guard<std::mutex> lock(mu);
      cs.swap(conns);
    }
    for (auto& c : cs) c->close();
  }
};

// A client connection that records the frames it receives and whether it was closed.
struct Client {
  std::shared_ptr<net::Connection> conn;
  Inbox inbox;
  explicit Client(std::shared_ptr<net::Connection> c) : conn(std::move(c)) {
    conn->start(
        [this](uint8_t, Buffer&& payload) {
          std::lock_guard<std::mutex> lock(inbox.mu);
          inbox.frames.emplace_back(payload.begin(), payload.end());
          inbox.cv.notify_all();
        },
        [this](const std::string& reason) {
          std::lock_guard<std::mutex> lock(inbox.mu);
          inbox.closes.push_back(reason);
          inbox.cv.notify_all();
        });
  }
  ~Client() { conn->close(); }
};

Status sendText(net::Connection& c, const std::string& text) { return c.send(7, text.data(), text.size()); }

}  // namespace

TEST_CASE("Internal TLS carries frames both ways between peers holding the cluster's certificate", "[tls]") {
  TempDir dir;
  Pki pki(dir, "cluster");
  auto ctx = pki.context();
  Inbox server;
  net::Listener listener;
  REQUIRE(listener.bind("127.0.0.1", 0, ctx).ok());
  listener.start([&](std::shared_ptr<net::Connection> c) { server.accept(std::move(c)); });

  auto conn = net::Connection::connect("127.0.0.1", listener.port(), 5000, nullptr, ctx);
  REQUIRE(conn.ok());
  CHECK((*conn)->secure());
  Client client(*conn);
  std::string big(200000, 'x');  // several TLS records
  REQUIRE(sendText(*client.conn, "hello").ok());
  REQUIRE(sendText(*client.conn, big).ok());
  REQUIRE(server.await([&] { return server.frames.size() == 2; }));
  CHECK(server.frames[0] == "hello");
  CHECK(server.frames[1] == big);
  REQUIRE(client.inbox.await([&] { return client.inbox.frames.size() == 2; }));
  CHECK(client.inbox.frames[0] == "echo:hello");
  listener.stop();
}

TEST_CASE("A peer whose certificate another CA signed cannot send frames to a TLS port", "[tls]") {
  TempDir dir;
  Pki pki(dir, "cluster");
  Pki intruder(dir, "intruder");
  // The intruder even trusts the cluster's CA: only its own certificate is foreign.
  intruder.config.set("security.ssl.internal.trustedcerts", dir.write("both.crt", pki.ca.certPem + intruder.ca.certPem));
  Inbox server;
  net::Listener listener;
  REQUIRE(listener.bind("127.0.0.1", 0, pki.context()).ok());
  listener.start([&](std::shared_ptr<net::Connection> c) { server.accept(std::move(c)); });

  auto conn = net::Connection::connect("127.0.0.1", listener.port(), 5000, nullptr, intruder.context());
  if (conn.ok()) {  // TLS 1.3: the client finishes before the server has checked its certificate
    Client client(*conn);
    (void)sendText(*client.conn, "inject");
    REQUIRE(client.inbox.await([&] { return !client.inbox.closes.empty(); }));
  }
  REQUIRE(server.await([&] { return !server.closes.empty(); }));
  CHECK(server.frames.empty());
  CHECK(server.closes[0].find("refused") != std::string::npos);

  // The listener still serves the cluster's own peers.
  auto good = net::Connection::connect("127.0.0.1", listener.port(), 5000, nullptr, pki.context());
  REQUIRE(good.ok());
  Client client(*good);
  REQUIRE(sendText(*client.conn, "ok").ok());
  REQUIRE(server.await([&] { return server.frames.size() == 1; }));
  listener.stop();
}

TEST_CASE("A plain TCP peer on a TLS port is refused and logged, and the process goes on", "[tls]") {
  TempDir dir;
  Pki pki(dir, "cluster");
  Inbox server;
  net::Listener listener;
  REQUIRE(listener.bind("127.0.0.1", 0, pki.context()).ok());
  listener.start([&](std::shared_ptr<net::Connection> c) { server.accept(std::move(c)); });

  auto plain = net::Connection::connect("127.0.0.1", listener.port(), 5000);
  REQUIRE(plain.ok());  // TCP only
  {
    Client client(*plain);
    (void)sendText(*client.conn, R"({"type":"register","resourceId":"intruder"})");
    REQUIRE(server.await([&] { return !server.closes.empty(); }));
    REQUIRE(client.inbox.await([&] { return !client.inbox.closes.empty(); }));
  }
  CHECK(server.frames.empty());
  CHECK(server.closes[0].find("refused a connection") != std::string::npos);

  auto good = net::Connection::connect("127.0.0.1", listener.port(), 5000, nullptr, pki.context());
  REQUIRE(good.ok());
  Client client(*good);
  REQUIRE(sendText(*client.conn, "still here").ok());
  REQUIRE(server.await([&] { return server.frames.size() == 1; }));
  listener.stop();
}

TEST_CASE("A TLS client does not talk to a peer without the cluster's certificate", "[tls]") {
  TempDir dir;
  Pki pki(dir, "cluster");
  Pki other(dir, "other");
  Inbox server;
  net::Listener listener;
  REQUIRE(listener.bind("127.0.0.1", 0, other.context()).ok());
  listener.start([&](std::shared_ptr<net::Connection> c) { server.accept(std::move(c)); });
  auto conn = net::Connection::connect("127.0.0.1", listener.port(), 5000, nullptr, pki.context());
  REQUIRE_FALSE(conn.ok());
  CHECK(conn.status().message().find("TLS handshake") != std::string::npos);
  listener.stop();
}

TEST_CASE("security.ssl.internal.cert.fingerprint admits only the pinned certificate", "[tls]") {
  TempDir dir;
  Pki pki(dir, "cluster");
  // A second certificate from the same CA: trusted by the chain, but not pinned.
  auto sibling = *certs::issuePeerCertificate(pki.ca, "sibling", {"localhost"}, std::chrono::hours(1));
  auto pinnedCert = certs::parseCertificate(pki.peer.certPem, "peer").value();
  std::string sha1 = tls::TlsContext::fingerprint(pinnedCert.get(), false);
  std::string colons;
  for (size_t i = 0; i < sha1.size(); i += 2) colons += (i ? ":" : "") + sha1.substr(i, 2);
  Configuration serverConfig = pki.config;
  serverConfig.set("security.ssl.internal.cert.fingerprint", colons);
  auto serverCtx = tls::TlsContext::fromConfig(serverConfig, tls::Scope::kInternal);
  REQUIRE(serverCtx.ok());
  Configuration siblingConfig = pki.config;
  siblingConfig.set("security.ssl.internal.key", dir.write("sibling.key", sibling.keyPem));
  siblingConfig.set("security.ssl.internal.cert.chain", dir.write("sibling.crt", sibling.certPem));

  Inbox server;
  net::Listener listener;
  REQUIRE(listener.bind("127.0.0.1", 0, *serverCtx).ok());
  listener.start([&](std::shared_ptr<net::Connection> c) { server.accept(std::move(c)); });

  auto bad = net::Connection::connect("127.0.0.1", listener.port(), 5000, nullptr, *tls::TlsContext::fromConfig(siblingConfig, tls::Scope::kInternal));
  if (bad.ok()) {
    Client client(*bad);
    (void)sendText(*client.conn, "inject");
    REQUIRE(client.inbox.await([&] { return !client.inbox.closes.empty(); }));
  }
  REQUIRE(server.await([&] { return !server.closes.empty(); }));
  CHECK(server.frames.empty());

  auto good = net::Connection::connect("127.0.0.1", listener.port(), 5000, nullptr, pki.context());
  REQUIRE(good.ok());
  Client client(*good);
  REQUIRE(sendText(*client.conn, "pinned").ok());
  REQUIRE(server.await([&] { return server.frames.size() == 1; }));
  listener.stop();

  Configuration broken = pki.config;
  broken.set("security.ssl.internal.cert.fingerprint", "not-hex");
  auto err = tls::TlsOptions::fromConfig(broken, tls::Scope::kInternal);
  REQUIRE_FALSE(err.ok());
  CHECK(err.status().message().find("security.ssl.internal.cert.fingerprint") != std::string::npos);
}

TEST_CASE("PKCS12 keystores and truststores are read, JKS and missing keys are errors naming the key", "[tls]") {
  TempDir dir;
  Pki pki(dir, "cluster");
  auto cert = certs::parseCertificate(pki.peer.certPem, "peer").value();
  auto key = certs::parsePrivateKey(pki.peer.keyPem, "peer").value();
  auto ca = certs::parseCertificate(pki.ca.certPem, "ca").value();
  auto writeP12 = [&](const std::string& name, EVP_PKEY* k, X509* c, X509* extra) {
    STACK_OF(X509)* others = sk_X509_new_null();
    if (extra) sk_X509_push(others, extra);
    PKCS12* p12 = PKCS12_create("secret", "flink", k, c, others, 0, 0, 0, 0, 0);
    sk_X509_free(others);
    REQUIRE(p12);
    unsigned char* der = nullptr;
    int len = i2d_PKCS12(p12, &der);
    PKCS12_free(p12);
    std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    return dir.write(name, bytes);
  };
  Configuration config;
  config.set(tls::kInternalEnabled, "true");
  config.set("security.ssl.internal.keystore", writeP12("keystore.p12", key.get(), cert.get(), nullptr));
  config.set("security.ssl.internal.keystore-password", "secret");
  config.set("security.ssl.internal.truststore", writeP12("truststore.p12", nullptr, nullptr, ca.get()));
  config.set("security.ssl.internal.truststore-password", "secret");
  auto fromP12 = tls::TlsContext::fromConfig(config, tls::Scope::kInternal);
  REQUIRE(fromP12.ok());

  // A PKCS12 peer and a PEM peer of one cluster talk to each other.
  Inbox server;
  net::Listener listener;
  REQUIRE(listener.bind("127.0.0.1", 0, *fromP12).ok());
  listener.start([&](std::shared_ptr<net::Connection> c) { server.accept(std::move(c)); });
  auto conn = net::Connection::connect("127.0.0.1", listener.port(), 5000, nullptr, pki.context());
  REQUIRE(conn.ok());
  Client client(*conn);
  REQUIRE(sendText(*client.conn, "p12").ok());
  REQUIRE(server.await([&] { return server.frames.size() == 1; }));
  listener.stop();

  Configuration wrongPassword = config;
  wrongPassword.set("security.ssl.internal.keystore-password", "nope");
  auto wrong = tls::TlsContext::fromConfig(wrongPassword, tls::Scope::kInternal);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().message().find("security.ssl.internal.keystore") != std::string::npos);

  Configuration jks = config;
  jks.set("security.ssl.internal.keystore", dir.write("keystore.jks", std::string("\xfe\xed\xfe\xed\x00\x00\x00\x02", 8)));
  auto jksErr = tls::TlsContext::fromConfig(jks, tls::Scope::kInternal);
  REQUIRE_FALSE(jksErr.ok());
  CHECK(jksErr.status().message().find("JKS") != std::string::npos);

  Configuration none;
  none.set(tls::kInternalEnabled, "true");
  auto noneErr = tls::TlsContext::fromConfig(none, tls::Scope::kInternal);
  REQUIRE_FALSE(noneErr.ok());
  CHECK(noneErr.status().message().find("security.ssl.internal.keystore") != std::string::npos);

  Configuration missing = pki.config;
  missing.set("security.ssl.internal.key", dir.path + "/absent.key");
  auto missingErr = tls::TlsContext::fromConfig(missing, tls::Scope::kInternal);
  REQUIRE_FALSE(missingErr.ok());
  CHECK(missingErr.status().message().find("absent.key") != std::string::npos);

  Configuration off;
  auto disabled = tls::TlsContext::fromConfig(off, tls::Scope::kInternal);
  REQUIRE(disabled.ok());
  CHECK(*disabled == nullptr);
}

TEST_CASE("Blobs over internal TLS reach only TaskManagers with the cluster's certificate", "[tls]") {
  TempDir dir;
  Pki pki(dir, "cluster");
  Pki intruder(dir, "intruder");
  std::string lib = dir.write("lib.so", "job library bytes");
  std::string key = blob::sha256Hex("job library bytes");
  blob::BlobServer server(dir.path + "/server", pki.context());
  REQUIRE(server.start("127.0.0.1", 0).ok());
  REQUIRE(server.put(lib, key, "job1").ok());
  blob::BlobRef ref{key, "lib.so", server.port()};

  blob::BlobCache plain(dir.path + "/plain");
  CHECK_FALSE(plain.get("127.0.0.1", ref, "job1", 3000).ok());
  blob::BlobCache foreign(dir.path + "/foreign", intruder.context());
  CHECK_FALSE(foreign.get("127.0.0.1", ref, "job1", 3000).ok());
  blob::BlobCache member(dir.path + "/member", pki.context());
  auto path = member.get("127.0.0.1", ref, "job1", 3000);
  REQUIRE(path.ok());
  server.stop();
}

TEST_CASE("With security.ssl.rest.authentication-enabled a REST client needs a trusted certificate", "[tls]") {
  TempDir dir;
  Pki pki(dir, "rest", "rest");
  pki.config.set(tls::kRestAuthenticationEnabled, "true");
  auto ctx = pki.context(tls::Scope::kRest);
  httplib::SSLServer server([&](SSL_CTX& c) { return ctx->configure(&c, true).ok(); });
  server.Get("/config", [](const httplib::Request&, httplib::Response& res) { res.set_content("{}", "application/json"); });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });

  {
    httplib::SSLClient anonymous("127.0.0.1", port);
    anonymous.enable_server_certificate_verification(false);
    auto res = anonymous.Get("/config");
    CHECK(!res);
  }
  {
    Pki other(dir, "other", "rest");
    other.config.set("security.ssl.rest.trustedcerts", dir.write("both.crt", pki.ca.certPem + other.ca.certPem));
    auto otherCtx = other.context(tls::Scope::kRest);  // outlives the client (the contract)
    httplib::SSLClient foreign("127.0.0.1", port);
    otherCtx->configureClient(foreign);
    auto res = foreign.Get("/config");
    CHECK(!res);
  }
  {
    httplib::SSLClient member("127.0.0.1", port);
    ctx->configureClient(member);
    auto res = member.Get("/config");
    REQUIRE(res);
    CHECK(res->status == 200);
  }
  {
    // Plain HTTP on the HTTPS port: no answer, the server goes on.
    httplib::Client plain("127.0.0.1", port);
    plain.set_read_timeout(2, 0);
    CHECK(!plain.Get("/config"));
    httplib::SSLClient member("127.0.0.1", port);
    ctx->configureClient(member);
    CHECK(member.Get("/config"));
  }
  server.stop();
  t.join();
}

TEST_CASE("The operator's REST client reaches a TLS JobManager with the generated Secret's certificate only", "[tls]") {
  flink::k8s::FlinkDeployment fd;
  fd.name = "fd";
  fd.namespace_ = "ns";
  auto secret = flink::k8s::newTlsSecret(fd, std::chrono::hours(1));
  REQUIRE(secret.ok());
  auto field = [&](const char* k) { return base64Decode((*secret)["data"][k].get<std::string>()); };
  tls::TlsOptions server;
  server.scope = tls::Scope::kRest;
  server.mutualAuth = true;
  auto serverCtx = tls::TlsContext::fromPem(server, field("tls.crt"), field("tls.key"), field("ca.crt"), "Secret");
  REQUIRE(serverCtx.ok());
  httplib::SSLServer jm([&](SSL_CTX& c) { return (*serverCtx)->configure(&c, true).ok(); });
  jm.Get("/jobs/overview", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"jobs": [{"jid": "0123456789abcdef0123456789abcdef", "name": "j", "state": "RUNNING", "start-time": 1}]})",
                    "application/json");
  });
  int port = jm.bind_to_any_port("127.0.0.1");
  std::thread t([&] { jm.listen_after_bind(); });

  tls::TlsOptions client = server;
  client.verifyHostname = false;  // as restClientTls for a generated Secret: the deployment's own CA pins the server
  auto clientCtx = tls::TlsContext::fromPem(client, field("tls.crt"), field("tls.key"), field("ca.crt"), "Secret");
  REQUIRE(clientCtx.ok());
  flink::k8s::JobManagerClient jobs;
  auto job = jobs.observe(flink::k8s::RestAddress{"127.0.0.1", port, *clientCtx});
  REQUIRE(job);
  CHECK(job->state == "RUNNING");
  CHECK_FALSE(jobs.observe(flink::k8s::RestAddress{"127.0.0.1", port, nullptr}));  // plain HTTP: no answer

  // Another deployment's Secret: its certificate is not trusted by this JobManager.
  flink::k8s::FlinkDeployment other = fd;
  other.name = "other";
  auto otherSecret = flink::k8s::newTlsSecret(other, std::chrono::hours(1));
  REQUIRE(otherSecret.ok());
  auto of = [&](const char* k) { return base64Decode((*otherSecret)["data"][k].get<std::string>()); };
  auto foreignCtx = tls::TlsContext::fromPem(client, of("tls.crt"), of("tls.key"), of("ca.crt"), "Secret");
  REQUIRE(foreignCtx.ok());
  CHECK_FALSE(jobs.observe(flink::k8s::RestAddress{"127.0.0.1", port, *foreignCtx}));
  jm.stop();
  t.join();
}
