#include "portforward.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <thread>

#include "upgrade.h"

namespace kubelet {

namespace spdy {

namespace {

uint32_t readU32(std::string_view s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}

constexpr uint16_t kVersion = 3;

}  // namespace

std::string u32(uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

const std::string& dictionary() {
  // SPDY/3 section 2.6.10.1: length-prefixed words, then a run of common values.
  static const std::string dict = [] {
    std::string d;
    for (const char* word :
         {"options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
          "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
          "content-base", "content-encoding", "content-language", "content-length", "content-location", "content-md5",
          "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host", "if-match",
          "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
          "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after",
          "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
          "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public",
          "set-cookie", "keep-alive", "origin"}) {
      d += u32(static_cast<uint32_t>(std::strlen(word))) + word;
    }
    d += "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
         "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
         "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
         "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
         "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
         "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
    return d;
  }();
  return dict;
}

std::optional<Frame> takeFrame(std::string& buf) {
  if (buf.size() < 8) return std::nullopt;
  const uint32_t length = readU32(buf, 4) & 0xffffff;
  if (buf.size() < 8 + length) return std::nullopt;
  Frame f;
  const uint32_t first = readU32(buf, 0);
  f.control = (first & 0x80000000u) != 0;
  f.flags = static_cast<uint8_t>(buf[4]);
  f.payload = buf.substr(8, length);
  if (f.control) {
    f.type = static_cast<uint16_t>(first & 0xffff);
    if (f.payload.size() >= 4) f.streamId = readU32(f.payload, 0) & 0x7fffffffu;
  } else {
    f.streamId = first & 0x7fffffffu;
  }
  buf.erase(0, 8 + length);
  return f;
}

std::string dataFrame(uint32_t streamId, std::string_view data, bool fin) {
  std::string out = u32(streamId & 0x7fffffffu) + u32((fin ? uint32_t(kFlagFin) << 24 : 0) | uint32_t(data.size()));
  out.append(data);
  return out;
}

std::string controlFrame(FrameType type, uint8_t flags, std::string_view payload) {
  std::string out = u32(0x80000000u | (uint32_t(kVersion) << 16) | type) + u32((uint32_t(flags) << 24) | uint32_t(payload.size()));
  out.append(payload);
  return out;
}

struct HeaderCodec::Z {
  z_stream in{}, out{};
};

HeaderCodec::HeaderCodec() : z_(std::make_unique<Z>()) {
  inflateInit(&z_->in);
  deflateInit(&z_->out, Z_DEFAULT_COMPRESSION);
  deflateSetDictionary(&z_->out, reinterpret_cast<const Bytef*>(dictionary().data()), static_cast<uInt>(dictionary().size()));
}

HeaderCodec::~HeaderCodec() {
  inflateEnd(&z_->in);
  deflateEnd(&z_->out);
}

std::optional<std::map<std::string, std::string>> HeaderCodec::decode(std::string_view block) {
  std::string plain;
  z_stream& z = z_->in;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
  z.avail_in = static_cast<uInt>(block.size());
  std::array<char, 4096> chunk;
  while (z.avail_in > 0) {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = chunk.size();
    int rc = inflate(&z, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      rc = inflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dictionary().data()), static_cast<uInt>(dictionary().size()));
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) return std::nullopt;
    plain.append(chunk.data(), chunk.size() - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_out != 0) break;
  }
  std::map<std::string, std::string> headers;
  size_t at = 0;
  auto word = [&](std::string& into) {
    if (plain.size() < at + 4) return false;
    uint32_t n = readU32(plain, at);
    if (plain.size() < at + 4 + n) return false;
    into = plain.substr(at + 4, n);
    at += 4 + n;
    return true;
  };
  if (plain.size() < 4) return std::nullopt;
  uint32_t count = readU32(plain, 0);
  at = 4;
  for (uint32_t i = 0; i < count; ++i) {
    std::string name, value;
    if (!word(name) || !word(value)) return std::nullopt;
    headers[name] = value;
  }
  return headers;
}

std::string HeaderCodec::encode(const std::map<std::string, std::string>& headers) {
  std::string plain = u32(static_cast<uint32_t>(headers.size()));
  for (const auto& [name, value] : headers) plain += u32(uint32_t(name.size())) + name + u32(uint32_t(value.size())) + value;
  z_stream& z = z_->out;
  z.next_in = reinterpret_cast<Bytef*>(plain.data());
  z.avail_in = static_cast<uInt>(plain.size());
  std::string out;
  std::array<char, 4096> chunk;
  do {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = chunk.size();
    deflate(&z, Z_SYNC_FLUSH);
    out.append(chunk.data(), chunk.size() - z.avail_out);
  } while (z.avail_out == 0);
  return out;
}

}  // namespace spdy

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

constexpr auto kPoll = std::chrono::milliseconds(200);

// A TCP connection to 127.0.0.1:port made inside the network namespace at netnsPath (a socket
// stays in the namespace it was created in); -1 with *error set on failure.
int connectInNetns(const std::string& netnsPath, int port, std::string* error) {
  int fd = -1;
  std::thread([&] {
    int ns = ::open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
      *error = "cannot enter network namespace " + netnsPath + ": " + std::strerror(errno);
      if (ns >= 0) ::close(ns);
      return;
    }
    ::close(ns);
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int err = 0;
    socklen_t len = sizeof err;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        err = ::poll(&p, 1, 5000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 ? err : ETIMEDOUT;
      }
    }
    if (err != 0) {
      std::string text = std::strerror(err);  // worded as Go's net package does: "connection refused"
      if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
      *error = "dial tcp4 127.0.0.1:" + std::to_string(port) + ": connect: " + text;
      ::close(fd);
      fd = -1;
    }
  }).join();
  return fd;
}

class Session {
 public:
  Session(int fd, const PortForwardSession& s) : s_(s), ws_(ioc_), watchTimer_(ioc_) {
    beast::get_lowest_layer(ws_).assign(tcp::v4(), ::dup(fd));
  }

  void run() {
    if (!accept()) return;
    readClient();
    watch();
    ioc_.run();
  }

 private:
  // One forwarded connection: the stream pair kubectl opened for it and the pod's socket.
  struct Pair {
    uint32_t errorStream = 0, dataStream = 0;
    int port = 0;
    std::unique_ptr<tcp::socket> sock;
    std::deque<std::string> toPod;  // client data not yet written to the pod
    bool writing = false, clientFinished = false, closed = false;
    std::array<char, 32768> buf{};
  };

  tcp::socket& raw() { return beast::get_lowest_layer(ws_); }

  bool accept() {
    if (!s_.websocket) {
      // The answer to a plain SPDY upgrade; from here on the connection carries SPDY frames.
      const std::string head = std::string("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n") +
                               "X-Stream-Protocol-Version: " + kPortForwardProtocol + "\r\n\r\n";
      beast::error_code ec;
      asio::write(raw(), asio::buffer(head), ec);
      return !ec;
    }
    return acceptWebSocket(ws_, s_.target, s_.headers, s_.protocol);
  }

  void readClient() {
    auto onRead = [this](beast::error_code ec, size_t n) {
      if (ec) return finish();
      if (s_.websocket) {
        in_ += beast::buffers_to_string(wsBuf_.data());
        wsBuf_.consume(wsBuf_.size());
      } else {
        in_.append(rawBuf_.data(), n);
      }
      while (auto frame = spdy::takeFrame(in_)) {
        if (!handle(*frame)) return finish();
      }
      readClient();
    };
    if (s_.websocket) {
      ws_.async_read(wsBuf_, onRead);
    } else {
      raw().async_read_some(asio::buffer(rawBuf_), onRead);
    }
  }

  bool handle(const spdy::Frame& f) {
    if (!f.control) return onData(f);
    switch (f.type) {
      case spdy::kSynStream: return onSynStream(f);
      case spdy::kPing: send(spdy::controlFrame(spdy::kPing, 0, f.payload)); return true;
      case spdy::kRstStream: closeStream(f.streamId); return true;
      case spdy::kGoAway: return false;
      default: return true;  // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do
    }
  }

  bool onSynStream(const spdy::Frame& f) {
    if (f.payload.size() < 10) return false;
    auto headers = codec_.decode(std::string_view(f.payload).substr(10));
    if (!headers) return false;
    const uint32_t id = f.streamId;
    send(spdy::controlFrame(spdy::kSynReply, 0, spdy::u32(id) + codec_.encode({})));
    const std::string type = (*headers)["streamtype"], requestId = (*headers)["requestid"], port = (*headers)["port"];
    Pair& p = pairs_[requestId];
    streams_[id] = requestId;
    if (type == "error") {
      p.errorStream = id;
    } else if (type == "data") {
      p.dataStream = id;
      char* end = nullptr;
      long n = std::strtol(port.c_str(), &end, 10);
      if (port.empty() || *end || n <= 0 || n > 65535) {
        fail(p, "invalid port \"" + port + "\"");
      } else {
        p.port = static_cast<int>(n);
        connect(requestId);
      }
    }
    return true;
  }

  void connect(const std::string& requestId) {
    Pair& p = pairs_[requestId];
    std::string error;
    int fd = connectInNetns(s_.netns, p.port, &error);
    if (fd < 0) {
      return fail(p, "error forwarding port " + std::to_string(p.port) + " to pod " + s_.pod + ", uid " + s_.uid + ": " + error);
    }
    p.sock = std::make_unique<tcp::socket>(ioc_);
    p.sock->assign(tcp::v4(), fd);
    readPod(requestId);
    flushToPod(requestId);
  }

  bool onData(const spdy::Frame& f) {
    auto s = streams_.find(f.streamId);
    if (s == streams_.end()) return true;  // a stream already gone
    const std::string requestId = s->second;
    Pair& p = pairs_[requestId];
    if (f.streamId != p.dataStream || p.closed) return true;  // the error stream carries nothing from the client
    if (!f.payload.empty()) p.toPod.push_back(f.payload);
    if (f.flags & spdy::kFlagFin) p.clientFinished = true;
    flushToPod(requestId);
    return true;
  }

  void flushToPod(const std::string& requestId) {
    Pair& p = pairs_[requestId];
    if (!p.sock || p.writing || p.closed) return;
    if (p.toPod.empty()) {
      if (p.clientFinished) {
        beast::error_code ignored;
        p.sock->shutdown(tcp::socket::shutdown_send, ignored);
      }
      return;
    }
    p.writing = true;
    asio::async_write(*p.sock, asio::buffer(p.toPod.front()), [this, requestId](beast::error_code ec, size_t) {
      auto it = pairs_.find(requestId);
      if (it == pairs_.end()) return;
      it->second.writing = false;
      it->second.toPod.pop_front();
      if (ec) return podClosed(requestId);
      flushToPod(requestId);
    });
  }

  // The pod's bytes to the data stream; the next read waits until they are sent (backpressure).
  void readPod(const std::string& requestId) {
    Pair& p = pairs_[requestId];
    p.sock->async_read_some(asio::buffer(p.buf), [this, requestId](beast::error_code ec, size_t n) {
      auto it = pairs_.find(requestId);
      if (it == pairs_.end() || it->second.closed) return;
      if (ec) return podClosed(requestId);
      send(spdy::dataFrame(it->second.dataStream, std::string_view(it->second.buf.data(), n), false),
           [this, requestId] {
             if (pairs_.count(requestId)) readPod(requestId);
           });
    });
  }

  // The pod's side ended: both streams are finished (kubectl then ends the local connection).
  void podClosed(const std::string& requestId) {
    Pair& p = pairs_[requestId];
    if (p.closed) return;
    p.closed = true;
    if (p.dataStream) send(spdy::dataFrame(p.dataStream, "", true));
    if (p.errorStream) send(spdy::dataFrame(p.errorStream, "", true));
    if (p.sock) {
      beast::error_code ignored;
      p.sock->close(ignored);
    }
  }

  void fail(Pair& p, const std::string& message) {
    if (p.errorStream) send(spdy::dataFrame(p.errorStream, message, false));
    p.closed = true;
    if (p.errorStream) send(spdy::dataFrame(p.errorStream, "", true));
    if (p.dataStream) send(spdy::dataFrame(p.dataStream, "", true));
  }

  void closeStream(uint32_t id) {
    auto s = streams_.find(id);
    if (s == streams_.end()) return;
    auto it = pairs_.find(s->second);
    streams_.erase(s);
    if (it == pairs_.end()) return;
    Pair& p = it->second;
    if (p.sock) {
      beast::error_code ignored;
      p.sock->close(ignored);
    }
    p.closed = true;  // kept (a session is short): pending handlers find it closed
  }

  void send(std::string frame, std::function<void()> then = nullptr) {
    if (gone_) return;
    queue_.emplace_back(std::move(frame), std::move(then));
    if (!writing_) writeNext();
  }

  void writeNext() {
    if (queue_.empty() || gone_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    auto done = [this](beast::error_code ec, size_t) {
      auto then = std::move(queue_.front().second);
      queue_.pop_front();
      if (ec) return finish();
      if (then) then();
      writeNext();
    };
    if (s_.websocket) {
      ws_.async_write(asio::buffer(queue_.front().first), done);
    } else {
      asio::async_write(raw(), asio::buffer(queue_.front().first), done);
    }
  }

  // Ends the session when the pod stops running: GOAWAY, then the connection is closed.
  void watch() {
    if (gone_) return;
    if (s_.podRunning && !s_.podRunning()) {
      send(spdy::controlFrame(spdy::kGoAway, 0, spdy::u32(lastStream()) + spdy::u32(0)), [this] { finish(); });
      return;
    }
    watchTimer_.expires_after(kPoll);
    watchTimer_.async_wait([this](beast::error_code) { watch(); });
  }

  uint32_t lastStream() const { return streams_.empty() ? 0 : streams_.rbegin()->first; }

  // The client left, the connection failed or the pod stopped: every pod connection is closed.
  void finish() {
    if (gone_) return;
    gone_ = true;
    beast::error_code ignored;
    for (auto& [id, p] : pairs_) {
      if (p.sock) p.sock->close(ignored);
    }
    watchTimer_.cancel();
    raw().shutdown(tcp::socket::shutdown_both, ignored);
    raw().close(ignored);
  }

  const PortForwardSession& s_;
  asio::io_context ioc_;
  websocket::stream<tcp::socket> ws_;
  asio::steady_timer watchTimer_;
  beast::flat_buffer wsBuf_;
  std::array<char, 32768> rawBuf_{};
  std::string in_;  // received bytes not yet parsed into frames
  spdy::HeaderCodec codec_;
  std::map<std::string, Pair> pairs_;          // by requestid
  std::map<uint32_t, std::string> streams_;    // stream id → requestid
  std::deque<std::pair<std::string, std::function<void()>>> queue_;  // frames to the client, in order
  bool writing_ = false;
  bool gone_ = false;
};

}  // namespace

std::string choosePortForwardProtocol(const std::string& offered) {
  const std::string wanted = std::string(kTunnelPrefix) + kPortForwardProtocol;
  for (const auto& o : offeredProtocols(offered)) {
    if (o == wanted) return o;
  }
  return "";
}

void servePortForward(int fd, const PortForwardSession& session) { Session(fd, session).run(); }

}  // namespace kubelet
