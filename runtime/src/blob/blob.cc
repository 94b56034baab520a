#include "blob/blob.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "flink/common/ids.h"
#include "flink/common/log.h"

namespace flink::blob {
namespace {

namespace fs = std::filesystem;

// Feeds chunks to one SHA-256 computation (OpenSSL EVP).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void update(const char* data, size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest, &len);
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
      out += kHex[digest[i] >> 4];
      out += kHex[digest[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

// Writes `data` to `path` through a temporary file and a rename (readers never see half a blob).
Status writeAtomically(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp-" + randomId();
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return Status::Error("cannot write " + tmp);
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::Error("cannot rename " + tmp + " to " + path + ": " + ec.message());
  }
  return Status::Ok();
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

std::string sha256Hex(std::string_view data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.hex();
}

Result<std::string> sha256OfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error("cannot read " + path);
  Sha256 h;
  char buf[1 << 16];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) h.update(buf, static_cast<size_t>(in.gcount()));
  if (in.bad()) return Status::Error("cannot read " + path);
  return h.hex();
}

bool isBlobKey(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// ---- BlobServer ----

BlobServer::BlobServer(std::string storageDir, std::shared_ptr<const tls::TlsContext> tls)
    : dir_(std::move(storageDir)), tls_(std::move(tls)) {
  if (tls_) {
    server_ = std::make_unique<httplib::SSLServer>([this](SSL_CTX& ctx) { return tls_->configure(&ctx, true).ok(); });
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
}

BlobServer::~BlobServer() { stop(); }

Status BlobServer::start(const std::string& bindHost, int port) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Status::Error("blob.storage.directory '" + dir_ + "': " + ec.message());
  if (!server_->is_valid()) return Status::Error("blob.server.port: cannot set up TLS (security.ssl.internal.*)");
  server_->Get(R"(/blobs/([0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) {
    std::string path = pathOf(req.matches[1]);
    auto data = path.empty() ? Result<std::string>(Status::Error("unknown")) : readFile(path);
    if (!data.ok()) {
      res.status = 404;
      res.set_content("{\"errors\": [\"no blob " + std::string(req.matches[1]) + "\"]}", "application/json");
      return;
    }
    res.set_content(*data, "application/octet-stream");
  });
  int bound = port == 0 ? server_->bind_to_any_port(bindHost) : (server_->bind_to_port(bindHost, port) ? port : -1);
  if (bound < 0) return Status::Error("blob.server.port: cannot listen on " + bindHost + ":" + std::to_string(port));
  port_ = bound;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void BlobServer::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

Status BlobServer::put(const std::string& path, const std::string& key, const std::string& jobId) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string target = dir_ + "/" + key;
  if (!fs::exists(target)) {
    auto data = readFile(path);
    if (!data.ok()) return data.status();
    if (sha256Hex(*data) != key) return Status::Error(path + " does not have SHA-256 " + key + " (changed since upload?)");
    Status s = writeAtomically(target, *data);
    if (!s.ok()) return s;
  }
  users_[key].insert(jobId);
  return Status::Ok();
}

void BlobServer::release(const std::string& jobId) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = users_.begin(); it != users_.end();) {
    it->second.erase(jobId);
    if (it->second.empty()) {
      std::error_code ec;
      fs::remove(dir_ + "/" + it->first, ec);
      log::info("Deleted blob {}: no job uses it any more", it->first);
      it = users_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string BlobServer::pathOf(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return users_.count(key) ? dir_ + "/" + key : std::string();
}

// ---- BlobCache ----

BlobCache::BlobCache(std::string dir, std::shared_ptr<const tls::TlsContext> tls)
    : dir_(std::move(dir)), tls_(std::move(tls)) {}

BlobCache::~BlobCache() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

Result<std::string> BlobCache::get(const std::string& host, const BlobRef& ref, const std::string& jobId, int timeoutMs) {
  if (!isBlobKey(ref.key)) return Status::Error("blob key '" + ref.key + "' is not 64 lowercase hex digits");
  auto known = paths_.find(ref.key);
  if (known != paths_.end()) {
    users_[ref.key].insert(jobId);
    return known->second;
  }
  std::string server = host + ":" + std::to_string(ref.port);
  auto owned = tls::newHttpClient(host, ref.port, tls_.get());
  httplib::ClientImpl& client = *owned;
  client.set_connection_timeout(timeoutMs / 1000, (timeoutMs % 1000) * 1000);
  client.set_read_timeout(timeoutMs / 1000, (timeoutMs % 1000) * 1000);
  auto res = client.Get(("/blobs/" + ref.key).c_str());
  if (!res) return Status::Error("blob " + ref.key + ": the BlobServer at " + server + " did not answer (" + httplib::to_string(res.error()) + ")");
  if (res->status != 200) {
    return Status::Error("blob " + ref.key + ": the BlobServer at " + server + " answered " + std::to_string(res->status));
  }
  std::string actual = sha256Hex(res->body);
  if (actual != ref.key) {
    return Status::Error("blob " + ref.key + " from " + server + ": checksum mismatch, the " + std::to_string(res->body.size()) +
                         " bytes received have SHA-256 " + actual);
  }
  std::string keyDir = dir_ + "/" + ref.key;
  std::error_code ec;
  fs::create_directories(keyDir, ec);
  if (ec) return Status::Error("blob.storage.directory '" + dir_ + "': " + ec.message());
  std::string name = fs::path(ref.name).filename().string();
  std::string path = keyDir + "/" + (name.empty() || name == "." || name == ".." ? "blob" : name);
  Status s = writeAtomically(path, res->body);
  if (!s.ok()) return s;
  log::info("Downloaded blob {} ({} bytes) from the BlobServer at {} to {}", ref.key, res->body.size(), server, path);
  paths_[ref.key] = path;
  users_[ref.key].insert(jobId);
  return path;
}

void BlobCache::release(const std::string& jobId) {
  for (auto it = users_.begin(); it != users_.end();) {
    it->second.erase(jobId);
    if (it->second.empty()) {
      std::error_code ec;
      fs::remove_all(dir_ + "/" + it->first, ec);
      log::info("Deleted cached blob {}: no job on this TaskManager uses it any more", it->first);
      paths_.erase(it->first);
      it = users_.erase(it);
    } else {
      ++it;
    }
  }
}

std::set<std::string> BlobCache::cachedKeys() const {
  std::set<std::string> out;
  for (const auto& [k, p] : paths_) out.insert(k);
  return out;
}

}  // namespace flink::blob
