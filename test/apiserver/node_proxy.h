// Pod subresources a real API server forwards to the kubelet of the pod's node, here pods/log
// and pods/exec: the container a request names (validated as the API server does), the
// kubelet's address from the Node object, and the request to it (plain HTTP; see
// test/kubelet/README.md). A log is read on a thread of its own so that the caller can stream
// the body and notice its own client leave; an exec upgrade is forwarded and, once the kubelet
// has switched protocols, the two connections are joined byte for byte (KubeletUpgrade).
#pragma once

#include "errors.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <openssl/ssl.h>

namespace kta {

/// The container a pods/log or pods/exec request names: `requested` if the pod has it (init
/// containers included), else the pod's only container. Errors (400) as the API server words them:
/// `a container name must be specified for pod p, choose one of: [a b]`,
/// `container x is not valid for pod p`.
Result<std::string> logContainer(const json& pod, const std::string& requested);

/// Where a Node's kubelet listens: its InternalIP (else ExternalIP, else Hostname address)
/// and status.daemonEndpoints.kubeletEndpoint.Port (10250 when unset). Error (500) when the
/// Node has no address.
Result<std::pair<std::string, int>> kubeletAddress(const json& node);

/// A kubelet's error answer as the API server passes it on: 400 becomes a BadRequest Status
/// with the kubelet's text as message, 404 a NotFound naming the pod (the text as cause),
/// anything else an InternalError.
ApiError kubeletError(int code, const std::string& body, const std::string& pod);

/// One GET to a kubelet. Thread-safe; the request runs on a detached thread that holds the
/// stream alive until the response ends or cancel() is called.
class KubeletStream {
 public:
  /// Starts GET http://host:port<pathAndQuery>.
  static std::shared_ptr<KubeletStream> open(const std::string& host, int port, const std::string& pathAndQuery);
  /// Waits (up to timeout) for the response status; an error (500) when the kubelet cannot be
  /// reached or does not answer in time.
  Result<int> status(std::chrono::milliseconds timeout);
  /// Appends to out what has arrived, waiting up to wait for something. Returns false once the
  /// response has ended and everything was taken.
  bool take(std::string& out, std::chrono::milliseconds wait);
  /// Reads the whole remaining body (until the response ends).
  std::string rest();
  /// Abandons the request: the connection to the kubelet is closed.
  void cancel();
  ~KubeletStream();

 private:
  struct State;
  explicit KubeletStream(std::shared_ptr<State> s) : s_(std::move(s)) {}
  std::shared_ptr<State> s_;
};

/// An upgrade request (kubectl exec's WebSocket handshake) forwarded to a kubelet, as the real
/// API server proxies it: the kubelet's answer, and after a 101 the connection to splice with
/// the client's. Not thread-safe (one owner); the destructor closes the connection.
class KubeletUpgrade {
 public:
  /// Sends `method pathAndQuery` with the given headers (the client's upgrade headers) to
  /// host:port and reads the response head, and for any status but 101 its body. Errors (500):
  /// the kubelet cannot be reached or answers nothing like HTTP within 10 s.
  static Result<KubeletUpgrade> open(const std::string& host, int port, const std::string& method,
                                     const std::string& pathAndQuery,
                                     const std::vector<std::pair<std::string, std::string>>& headers);
  KubeletUpgrade(KubeletUpgrade&& other) noexcept;
  KubeletUpgrade& operator=(KubeletUpgrade&&) = delete;
  ~KubeletUpgrade();

  int status() const { return status_; }
  /// The response body (an error text) when status() is not 101.
  const std::string& body() const { return body_; }
  /// After a 101: writes the kubelet's response head to the client's TLS connection, then copies
  /// bytes both ways until either side closes or *stop is set (checked every 200 ms); then
  /// closes the TLS session (close_notify) and shuts the client's socket down, so that nothing
  /// more is written to it. Blocks.
  void splice(SSL* client, const std::atomic<bool>& stop);

 private:
  KubeletUpgrade() = default;
  int fd_ = -1;
  int status_ = 0;
  std::string head_;   // the response head, verbatim
  std::string body_;   // the error body, or the bytes that came after a 101's head
};

}  // namespace kta
