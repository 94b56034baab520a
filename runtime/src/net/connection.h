// Framed messages over TCP (Boost.Asio, blocking sockets, one reader thread per connection).
// Frame: u32 length (little-endian, of type + payload), u8 type, payload.
// Used by the control plane (JSON messages between JobManager and TaskManagers) and the data
// plane (network buffers between TaskManagers).
// With a tls::TlsContext (security.ssl.internal.enabled) the frames travel over TLS with mutual
// authentication: connect() completes the handshake before it returns; an accepted connection
// completes it on its reader thread before the first frame, and a peer that does not speak TLS
// or has no trusted certificate is refused, logged and closed (onClose names the reason).
// OpenSSL writes with write(2): the first TLS connection sets SIGPIPE to SIG_IGN when the
// process left it at the default.
#pragma once

#include <utility>  // before asio: Boost 1.74 misses it in C++20 mode

#include <boost/asio.hpp>

#include <openssl/ssl.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "flink/common/tls.h"
#include "flink/operators/stream_operator.h"
#include "flink/status.h"

namespace flink::net {

/// Largest frame accepted; a longer length prefix means a corrupt stream or a foreign peer.
inline constexpr uint32_t kMaxFrameBytes = 256u << 20;
/// A frame's payload is allocated in steps of this many bytes as they arrive.
inline constexpr size_t kFrameReadStep = 1u << 20;

/// One TCP connection. send() is thread-safe; frames are delivered to the handler on the
/// connection's own reader thread, in order. close() is idempotent and joins the reader
/// (unless called from the reader itself).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using FrameHandler = std::function<void(uint8_t type, Buffer&& payload)>;
  using CloseHandler = std::function<void(const std::string& reason)>;

  /// Connects with a timeout (ms); the error names host:port. `cancel` (optional) set to true
  /// ends the wait for the TCP handshake early (checked every 100 ms). With `tls`, the TLS
  /// handshake (client certificate, server verified against the scope's trust and
  /// fingerprints) must complete within tls's handshake timeout; its failure is the error.
  static Result<std::shared_ptr<Connection>> connect(const std::string& host, int port, int timeoutMs,
                                                     const std::atomic<bool>* cancel = nullptr,
                                                     std::shared_ptr<const tls::TlsContext> tls = nullptr);
  /// Name resolution within connect() gets at most this long (ms), so that a caller retrying in a
  /// loop sees its stop flag soon even while DNS does not answer.
  static constexpr int kResolveTimeoutMs = 2000;
  Connection();
  ~Connection();

  /// Starts the reader thread. onClose runs once, on the reader thread, when the peer goes away
  /// or a frame is malformed (not when close() is called locally).
  void start(FrameHandler onFrame, CloseHandler onClose);
  /// Sends one frame (header and payload in one write). Fails when the connection is closed.
  Status send(uint8_t type, const void* payload, size_t size);
  Status send(uint8_t type, const void* header, size_t headerSize, const void* payload, size_t size);
  void close();
  bool closed() const { return closed_.load(); }
  std::string peer() const { return peer_; }
  /// Whether frames travel over TLS.
  bool secure() const { return ssl_ != nullptr; }

 private:
  friend class Listener;
  void readLoop();
  void onConnected();
  // TLS: set up the SSL object on the connected socket (non-blocking from then on).
  Status startTls(std::shared_ptr<const tls::TlsContext> tls, bool server);
  // Drives the handshake until done, failed or `timeoutMs` passed.
  Status handshake(int64_t timeoutMs);
  // Reads exactly n bytes; throws boost::system::system_error (eof) or std::runtime_error.
  void readExactly(void* data, size_t n);
  // Writes all of `data` over TLS (caller holds writeMutex_).
  Status writeTls(const uint8_t* data, size_t n);
  // Waits until the socket is readable (POLLIN) or writable (POLLOUT); false on timeout.
  bool waitSocket(short events, int timeoutMs);
  std::shared_ptr<const tls::TlsContext> tls_;
  SSL* ssl_ = nullptr;
  std::mutex sslMutex_;  // guards ssl_ calls: the reader and senders share one SSL object
  std::mutex handshakeMu_;
  std::condition_variable handshakeCv_;
  bool handshakeDone_ = false;  // guarded by handshakeMu_
  std::vector<uint8_t> writeBuf_;  // frame being sent over TLS; guarded by writeMutex_
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::mutex writeMutex_;
  std::thread reader_;
  FrameHandler onFrame_;
  CloseHandler onClose_;
  std::atomic<bool> closed_{false};
  std::string peer_;
};

/// Accepts connections on host:port (port 0 = any free port) on its own thread.
class Listener {
 public:
  ~Listener();
  /// With `tls`, every accepted connection speaks TLS and must present a trusted client
  /// certificate (see Connection).
  Status bind(const std::string& host, int port, std::shared_ptr<const tls::TlsContext> tls = nullptr);
  int port() const { return port_; }
  /// Calls onAccept for every new connection (on the accept thread).
  void start(std::function<void(std::shared_ptr<Connection>)> onAccept);
  void stop();

 private:
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  int port_ = 0;
  std::shared_ptr<const tls::TlsContext> tls_;
};

}  // namespace flink::net
