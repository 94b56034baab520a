// The HTTPS front end: bearer-token authentication (401 Status otherwise), routing of
// Kubernetes REST paths (/api/v1/..., /apis/<group>/<version>/..., legacy /watch/ paths,
// namespaces, subresources) to the Api, query-parameter parsing, content negotiation (JSON,
// meta.k8s.io Table, PartialObjectMetadata), chunked watch streams, discovery and OpenAPI,
// pods/log and pods/exec through the node's kubelet (node_proxy.h).
// Uses cpp-httplib's SSLServer with a thread pool; each open watch or exec holds one thread
// (an exec takes its TLS connection over from httplib after the kubelet's 101).
#pragma once

#include "api.h"
#include "tls.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace httplib {
class SSLServer;
struct Request;
struct Response;
}  // namespace httplib

namespace kta {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  size_t threads = 128;
  std::chrono::milliseconds bookmarkInterval{1000};
  bool verbose = false;
};

class HttpServer {
 public:
  HttpServer(Api& api, const TlsMaterial& tls, std::string token, ServerOptions options);
  ~HttpServer();
  /// Binds the listening socket; returns the port.
  Result<int> bind();
  /// Serves until stop() (blocking).
  void run();
  void stop();

 private:
  void handle(const httplib::Request& req, httplib::Response& res);
  void handleResource(const httplib::Request& req, httplib::Response& res, const std::string& group,
                      const std::string& version, std::vector<std::string> rest);
  void podLog(const httplib::Request& req, httplib::Response& res, const Target& target);
  void podExec(const httplib::Request& req, httplib::Response& res, const Target& target);
  void podPortForward(const httplib::Request& req, httplib::Response& res, const Target& target);
  void proxyUpgrade(const httplib::Request& req, httplib::Response& res, const json& pod, const std::string& path);
  Result<std::pair<std::string, int>> kubeletOf(const std::string& nodeName);
  void watch(const httplib::Request& req, httplib::Response& res, const Target& target);
  void respond(const httplib::Request& req, httplib::Response& res, const Target& target, Result<Reply> r);

  Api& api_;
  std::string token_;
  ServerOptions opts_;
  std::unique_ptr<httplib::SSLServer> svr_;
  std::atomic<bool> stopping_{false};  // ends open execs
  int port_ = 0;
};

}  // namespace kta
