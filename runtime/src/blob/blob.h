// Job artifacts shipped from the JobManager to the TaskManagers, Flink's BlobServer role: a
// session cluster's TaskManagers get an uploaded job library from the JobManager instead of
// needing it on their own disk.
//
// Blobs are content-addressed: the key is the SHA-256 of the content (64 lowercase hex digits,
// OpenSSL). The JobManager's BlobServer keeps one copy per key under its storage directory,
// referenced by the jobs that use it, and serves it over HTTP on blob.server.port (Flink's key;
// `GET /blobs/<key>` answers the bytes, 404 for an unknown key; our own wire protocol, not
// Flink's binary one). A TaskManager's BlobCache downloads a blob once, verifies its SHA-256
// against the key, keeps it under its own storage directory while a job on that TaskManager uses
// it, and deletes it when the last such job is released.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "flink/common/tls.h"
#include "flink/status.h"

namespace httplib {
class Server;
}

namespace flink::blob {

/// SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256Hex(std::string_view data);
/// SHA-256 of the file at `path`; an error names the path when it cannot be read.
Result<std::string> sha256OfFile(const std::string& path);
/// True for 64 lowercase hex digits (the shape of a blob key).
bool isBlobKey(const std::string& s);

/// A blob a job needs on the TaskManagers: the key, a file name to keep it under (e.g.
/// route-counts.so), and the BlobServer's port on the JobManager's host.
struct BlobRef {
  std::string key;
  std::string name;
  int port = 0;
};

/// The JobManager's blob store and server. Thread-safe.
class BlobServer {
 public:
  /// `storageDir` is created on start() and removed, with every blob, by stop(). With `tls`
  /// (security.ssl.internal.enabled) it serves HTTPS and requires a trusted client certificate.
  explicit BlobServer(std::string storageDir, std::shared_ptr<const tls::TlsContext> tls = nullptr);
  ~BlobServer();
  BlobServer(const BlobServer&) = delete;
  BlobServer& operator=(const BlobServer&) = delete;

  /// Listens on bindHost:port (0: any free port) on a thread of its own.
  Status start(const std::string& bindHost, int port);
  void stop();
  /// The bound port (0 before start()).
  int port() const { return port_; }

  /// Stores a copy of the file at `path` (which must have SHA-256 `key`; checked) for `jobId`.
  /// Idempotent per (key, jobId); the copy outlives the source file.
  Status put(const std::string& path, const std::string& key, const std::string& jobId);
  /// Drops the references of `jobId`; blobs no job references any more are deleted.
  void release(const std::string& jobId);
  /// The path of a stored blob, or "" (for tests and the server).
  std::string pathOf(const std::string& key) const;

 private:
  std::string dir_;
  std::shared_ptr<const tls::TlsContext> tls_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, std::set<std::string>> users_;  // key -> job ids; guarded by mu_
};

/// A TaskManager's cache of blobs. Not thread-safe: the TaskManager's main thread uses it.
class BlobCache {
 public:
  /// Blobs go to `dir` (created on demand; removed with everything in it by the destructor).
  /// With `tls` downloads go over HTTPS with this TaskManager's certificate.
  explicit BlobCache(std::string dir, std::shared_ptr<const tls::TlsContext> tls = nullptr);
  ~BlobCache();
  BlobCache(const BlobCache&) = delete;
  BlobCache& operator=(const BlobCache&) = delete;

  /// The local path of blob `ref` for job `jobId`: cached, or downloaded from ref.port on
  /// `host` (timeout `timeoutMs` to connect and per read) and verified against ref.key. Errors
  /// name the key and the server: unreachable, not found there, or a checksum mismatch (the
  /// download is then discarded).
  Result<std::string> get(const std::string& host, const BlobRef& ref, const std::string& jobId, int timeoutMs = 10000);
  /// Drops `jobId`'s references; a blob no job on this TaskManager uses any more is deleted.
  void release(const std::string& jobId);
  /// Keys currently cached.
  std::set<std::string> cachedKeys() const;

 private:
  std::string dir_;
  std::shared_ptr<const tls::TlsContext> tls_;
  std::map<std::string, std::string> paths_;             // key -> local path
  std::map<std::string, std::set<std::string>> users_;   // key -> job ids
};

}  // namespace flink::blob
