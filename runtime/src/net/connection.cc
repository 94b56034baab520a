#include "net/connection.h"

#include <poll.h>
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
                                                        const std::atomic<bool>* cancel) {
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
      socket.non_blocking(false);
      conn->onConnected();
      conn->peer_ = host + ":" + std::to_string(port);
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
  try {
    for (;;) {
      uint8_t header[5];
      asio::read(socket_, asio::buffer(header, 5));
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
        asio::read(socket_, asio::buffer(payload.data() + at, payload.size() - at));
      }
      onFrame_(header[4], std::move(payload));
    }
  } catch (const boost::system::system_error& e) {
    reason = e.code() == asio::error::eof ? "connection closed by " + peer_ : e.what();
  } catch (const std::exception& e) {
    reason = std::string("error handling a message from ") + peer_ + ": " + e.what();
  }
  bool wasClosed = closed_.exchange(true);
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
  // shutdown() wakes a reader blocked in read(); the fd is closed by the destructor.
  ::shutdown(socket_.native_handle(), SHUT_RDWR);
  if (reader_.joinable() && reader_.get_id() != std::this_thread::get_id()) reader_.join();
}

Listener::~Listener() { stop(); }

Status Listener::bind(const std::string& host, int port) {
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
