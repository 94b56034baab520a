#include "net/connection.h"

#include <openssl/err.h>
#include <poll.h>
#include <csignal>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <sys/socket.h>

#include "flink/common/log.h"

namespace flink::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Name resolution with a deadline. getaddrinfo cannot be interrupted and may wait for DNS
// timeouts (5 s per attempt), which would keep a caller from seeing its stop flag (a
// TaskManager asked to stop while its JobManager's name does not resolve): it runs on a
// detached thread whose result is dropped when the deadline passes first.
Result<tcp::resolver::results_type> resolveWithDeadline(const std::string& host, int port, int timeoutMs) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    boost::system::error_code ec;
    tcp::resolver::results_type results;
  };
  auto shared = std::make_shared<Shared>();
  std::thread([shared, host, port] {
    asio::io_context io;
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto results = resolver.resolve(host, std::to_string(port), ec);
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->ec = ec;
    shared->results = std::move(results);
    shared->done = true;
    shared->cv.notify_all();
  }).detach();
  std::unique_lock<std::mutex> lock(shared->mu);
  if (!shared->cv.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] { return shared->done; })) {
    return Status::Error("cannot resolve " + host + ": no answer within " + std::to_string(timeoutMs) + " ms");
  }
  if (shared->ec) return Status::Error("cannot resolve " + host + ": " + shared->ec.message());
  return shared->results;
}

}  // namespace

Result<std::shared_ptr<Connection>> Connection::connect(const std::string& host, int port, int timeoutMs,
                                                        const std::atomic<bool>* cancel,
                                                        std::shared_ptr<const tls::TlsContext> tls) {
  auto conn = std::make_shared<Connection>();
  tcp::socket& socket = conn->socket_;
  boost::system::error_code ec;
  auto endpoints = resolveWithDeadline(host, port, std::min(timeoutMs, kResolveTimeoutMs));
  if (!endpoints.ok()) return endpoints.status();
  // Connect with a deadline: non-blocking connect + poll.
  for (const auto& ep : *endpoints) {
    socket.open(ep.endpoint().protocol(), ec);
    if (ec) continue;
    socket.non_blocking(true);
    socket.connect(ep.endpoint(), ec);
    if (ec == asio::error::would_block || ec == asio::error::in_progress) {
      // In slices, so that a cancel (a process asked to stop) ends the wait early.
      pollfd pfd{socket.native_handle(), POLLOUT, 0};
      int r = 0;
      for (int waited = 0; waited < timeoutMs && r == 0; waited += 100) {
        if (cancel && cancel->load()) break;
        r = ::poll(&pfd, 1, std::min(100, timeoutMs - waited));
      }
      if (r <= 0) {
        ec = asio::error::timed_out;
      } else {
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len);
        ec = err ? boost::system::error_code(err, boost::system::system_category()) : boost::system::error_code();
      }
    }
    if (!ec) {
      conn->onConnected();
      conn->peer_ = host + ":" + std::to_string(port);
      if (!tls) {
        socket.non_blocking(false);
        return conn;
      }
      Status s = conn->startTls(std::move(tls), false);
      if (s.ok()) s = conn->handshake(std::min<int64_t>(conn->tls_->options().handshakeTimeoutMs, std::max(timeoutMs, 1000)));
      if (!s.ok()) return Status::Error("TLS handshake with " + conn->peer_ + " failed: " + s.message());
      return conn;
    }
    socket.close();
  }
  return Status::Error("cannot connect to " + host + ":" + std::to_string(port) + ": " + ec.message());
}

Connection::Connection() : socket_(io_) {}

void Connection::onConnected() {
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  auto ep = socket_.remote_endpoint(ec);
  peer_ = ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
}

Connection::~Connection() {
  close();
  if (reader_.joinable()) {
    if (reader_.get_id() == std::this_thread::get_id()) {
      reader_.detach();
    } else {
      reader_.join();
    }
  }
  if (ssl_) SSL_free(ssl_);
}

Status Connection::startTls(std::shared_ptr<const tls::TlsContext> tls, bool server) {
  // OpenSSL writes with write(2), not send(MSG_NOSIGNAL): a peer gone away would raise SIGPIPE.
  // flink-cpp ignores it already; a process that left the default in place gets it ignored.
  static std::once_flag ignorePipe;
  std::call_once(ignorePipe, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);
  });
  tls_ = std::move(tls);
  ssl_ = SSL_new(server ? tls_->serverContext() : tls_->clientContext());
  if (!ssl_) return Status::Error(tls::lastSslError("SSL_new"));
  SSL_set_options(ssl_, SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  if (ec || SSL_set_fd(ssl_, socket_.native_handle()) != 1) return Status::Error(tls::lastSslError("SSL_set_fd"));
  if (server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
  return Status::Ok();
}

bool Connection::waitSocket(short events, int timeoutMs) {
  pollfd pfd{socket_.native_handle(), events, 0};
  int r = ::poll(&pfd, 1, timeoutMs);
  return r != 0;  // ready, hung up or failed: the next SSL call tells which
}

Status Connection::handshake(int64_t timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  for (;;) {
    int r, err;
    std::string detail;
    {
      std::lock_guard<std::mutex> lock(sslMutex_);
      ERR_clear_error();
      r = SSL_do_handshake(ssl_);
      err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_SSL || err == SSL_ERROR_SYSCALL) {
        long verify = SSL_get_verify_result(ssl_);
        detail = tls::lastSslError(err == SSL_ERROR_SYSCALL ? "connection closed during the handshake" : "TLS error");
        if (verify != X509_V_OK)
          detail += std::string(" (peer certificate: ") + X509_verify_cert_error_string(verify) + ")";
      }
    }
    if (r == 1) break;
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return Status::Error(detail);
    if (closed_) return Status::Error("connection closed");
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return Status::Error("no TLS handshake within " + std::to_string(timeoutMs) + " ms");
    waitSocket(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, static_cast<int>(std::min<int64_t>(left, 100)));
  }
  {
    std::lock_guard<std::mutex> lock(handshakeMu_);
    handshakeDone_ = true;
  }
  handshakeCv_.notify_all();
  return Status::Ok();
}

void Connection::readExactly(void* data, size_t n) {
  if (!ssl_) {
    asio::read(socket_, asio::buffer(data, n));
    return;
  }
  auto* p = static_cast<uint8_t*>(data);
  size_t got = 0;
  while (got < n) {
    int r, err;
    std::string detail;
    {
      std::lock_guard<std::mutex> lock(sslMutex_);
      ERR_clear_error();
      r = SSL_read(ssl_, p + got, static_cast<int>(std::min<size_t>(n - got, 1u << 30)));
      err = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_SSL) detail = tls::lastSslError("TLS error reading from " + peer_);
    }
    if (r > 0) {
      got += static_cast<size_t>(r);
    } else if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (closed_) throw boost::system::system_error(asio::error::eof);
      waitSocket(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, -1);  // close() wakes it (shutdown)
    } else if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL) {
      throw boost::system::system_error(asio::error::eof);
    } else {
      throw std::runtime_error(detail);
    }
  }
}

Status Connection::writeTls(const uint8_t* data, size_t n) {
  size_t sent = 0;
  while (sent < n) {
    int r, err;
    {
      std::lock_guard<std::mutex> lock(sslMutex_);
      ERR_clear_error();
      r = SSL_write(ssl_, data + sent, static_cast<int>(std::min<size_t>(n - sent, 1u << 30)));
      err = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
    }
    if (r > 0) {
      sent += static_cast<size_t>(r);
    } else if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && !closed_) {
      waitSocket(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, -1);
    } else {
      return Status::Error("cannot send to " + peer_ + ": " + tls::lastSslError("TLS write failed"));
    }
  }
  return Status::Ok();
}

void Connection::start(FrameHandler onFrame, CloseHandler onClose) {
  onFrame_ = std::move(onFrame);
  onClose_ = std::move(onClose);
  // The reader keeps the connection alive while it runs: callbacks may drop the last outside
  // reference, and the connection must not be destroyed under its own reader.
  reader_ = std::thread([self = shared_from_this()] { self->readLoop(); });
}

void Connection::readLoop() {
  std::string reason;
  bool refused = false;
  if (ssl_ && !handshakeDone_) {
    // An accepted TLS connection: the handshake first, here rather than on the accept thread,
    // so that a silent or slow peer holds up only itself.
    Status s = handshake(tls_->options().handshakeTimeoutMs);
    if (!s.ok()) {
      reason = "refused a connection from " + peer_ + " to a TLS port (security.ssl.internal.enabled): " + s.message();
      log::warn("{}", reason);
      refused = true;
    }
  }
  try {
    for (; !refused;) {
      uint8_t header[5];
      readExactly(header, 5);
      uint32_t len;
      std::memcpy(&len, header, 4);
      if (len == 0 || len > kMaxFrameBytes) {
        reason = "malformed frame of " + std::to_string(len) + " bytes from " + peer_;
        break;
      }
      // Grows with what arrives: a peer announcing a large frame and sending nothing makes us
      // hold at most one step, not the announced length.
      Buffer payload;
      while (payload.size() < len - 1) {
        size_t at = payload.size();
        payload.resize(at + std::min<size_t>(len - 1 - at, kFrameReadStep));
        readExactly(payload.data() + at, payload.size() - at);
      }
      onFrame_(header[4], std::move(payload));
    }
  } catch (const boost::system::system_error& e) {
    reason = e.code() == asio::error::eof ? "connection closed by " + peer_ : e.what();
  } catch (const std::exception& e) {
    reason = std::string("error handling a message from ") + peer_ + ": " + e.what();
  }
  bool wasClosed = closed_.exchange(true);
  handshakeCv_.notify_all();
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  if (!wasClosed && onClose_) onClose_(reason);
}

Status Connection::send(uint8_t type, const void* payload, size_t size) { return send(type, nullptr, 0, payload, size); }

Status Connection::send(uint8_t type, const void* header, size_t headerSize, const void* payload, size_t size) {
  if (closed_) return Status::Error("connection to " + peer_ + " is closed");
  uint8_t frame[5];
  uint32_t len = static_cast<uint32_t>(1 + headerSize + size);
  std::memcpy(frame, &len, 4);
  frame[4] = type;
  if (ssl_) {
    // Senders wait for an accepted connection's handshake (done on the reader thread), so
    // that only the reader ever reads from the socket.
    {
      std::unique_lock<std::mutex> lock(handshakeMu_);
      handshakeCv_.wait(lock, [&] { return handshakeDone_ || closed_.load(); });
    }
    if (closed_) return Status::Error("connection to " + peer_ + " is closed");
    // One TLS write per frame (header and payload in one record sequence).
    std::lock_guard<std::mutex> lock(writeMutex_);
    writeBuf_.resize(5 + headerSize + size);
    std::memcpy(writeBuf_.data(), frame, 5);
    if (headerSize) std::memcpy(writeBuf_.data() + 5, header, headerSize);
    if (size) std::memcpy(writeBuf_.data() + 5 + headerSize, payload, size);
    Status s = writeTls(writeBuf_.data(), writeBuf_.size());
    if (writeBuf_.capacity() > (1u << 20)) std::vector<uint8_t>().swap(writeBuf_);
    return s;
  }
  std::array<asio::const_buffer, 3> bufs{asio::buffer(frame, 5), asio::buffer(header, headerSize),
                                         asio::buffer(payload, size)};
  std::lock_guard<std::mutex> lock(writeMutex_);
  boost::system::error_code ec;
  asio::write(socket_, bufs, ec);
  if (ec) return Status::Error("cannot send to " + peer_ + ": " + ec.message());
  return Status::Ok();
}

void Connection::close() {
  closed_ = true;
  {
    std::lock_guard<std::mutex> lock(handshakeMu_);
  }
  handshakeCv_.notify_all();
  // shutdown() wakes a reader blocked in read(); the fd is closed by the destructor.
  ::shutdown(socket_.native_handle(), SHUT_RDWR);
  if (reader_.joinable() && reader_.get_id() != std::this_thread::get_id()) reader_.join();
}

Listener::~Listener() { stop(); }

Status Listener::bind(const std::string& host, int port, std::shared_ptr<const tls::TlsContext> tls) {
  tls_ = std::move(tls);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return Status::Error("invalid bind address '" + host + "': " + ec.message());
  acceptor_ = std::make_unique<tcp::acceptor>(io_);
  tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Error("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  port_ = acceptor_->local_endpoint().port();
  return Status::Ok();
}

void Listener::start(std::function<void(std::shared_ptr<Connection>)> onAccept) {
  thread_ = std::thread([this, onAccept] {
    while (!stopped_) {
      auto conn = std::make_shared<Connection>();
      boost::system::error_code ec;
      acceptor_->accept(conn->socket_, ec);
      if (stopped_) break;
      if (ec) continue;
      conn->onConnected();
      if (tls_) {
        Status s = conn->startTls(tls_, true);
        if (!s.ok()) {
          log::warn("cannot set up TLS for a connection from {}: {}", conn->peer(), s.message());
          continue;
        }
      }
      onAccept(std::move(conn));
    }
  });
}

void Listener::stop() {
  if (stopped_.exchange(true)) return;
  if (acceptor_) ::shutdown(acceptor_->native_handle(), SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  boost::system::error_code ec;
  if (acceptor_) acceptor_->close(ec);
}

}  // namespace flink::net
