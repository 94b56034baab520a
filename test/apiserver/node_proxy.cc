#include "node_proxy.h"

#include <httplib.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <optional>
#include <mutex>
#include <thread>

namespace kta {

namespace {

std::vector<std::string> containerNames(const json& pod) {
  std::vector<std::string> names;
  const json spec = pod.value("spec", json::object());
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    for (const json& c : spec.value(list, json::array())) names.push_back(c.value("name", ""));
  }
  return names;
}

using Clock = std::chrono::steady_clock;

// Milliseconds left until deadline (at least 0).
int msLeft(Clock::time_point deadline) {
  return static_cast<int>(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
}

bool waitFor(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  int n;
  while ((n = ::poll(&p, 1, msLeft(deadline))) < 0 && errno == EINTR) {
  }
  return n == 1;
}

// A TCP connection to host:port within the deadline (blocking once connected); -1 on failure.
int connectTo(const std::string& host, int port, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
  int fd = -1;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int err = 0;
    socklen_t len = sizeof err;
    bool ok = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
              (errno == EINPROGRESS && waitFor(fd, POLLOUT, deadline) &&
               getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
    if (!ok) {
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

bool sendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool sslWriteAll(SSL* ssl, const char* data, size_t size) {
  while (size > 0) {
    int n = SSL_write(ssl, data, static_cast<int>(std::min<size_t>(size, 1 << 20)));
    if (n <= 0) {
      int e = SSL_get_error(ssl, n);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Reads what is there (waiting until the deadline for something) and appends it; false at EOF,
// on an error or when the deadline passed.
bool readSome(int fd, std::string& into, Clock::time_point deadline) {
  if (!waitFor(fd, POLLIN, deadline)) return false;
  char buf[8192];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n <= 0) return false;
  into.append(buf, static_cast<size_t>(n));
  return true;
}

std::string goList(const std::vector<std::string>& items) {  // fmt %s of a Go []string
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? " " : "") + items[i];
  return out + "]";
}

}  // namespace

Result<std::string> logContainer(const json& pod, const std::string& requested) {
  const std::string name = pod["metadata"].value("name", "");
  std::vector<std::string> all = containerNames(pod);
  if (requested.empty()) {
    const json containers = pod.value("spec", json::object()).value("containers", json::array());
    if (containers.size() == 1) return containers[0].value("name", "");
    if (containers.empty()) return badRequest("a container name must be specified for pod " + name);
    return badRequest("a container name must be specified for pod " + name + ", choose one of: " + goList(all));
  }
  if (std::find(all.begin(), all.end(), requested) == all.end()) {
    return badRequest("container " + requested + " is not valid for pod " + name);
  }
  return requested;
}

Result<std::pair<std::string, int>> kubeletAddress(const json& node) {
  const json status = node.value("status", json::object());
  int port = 0;
  if (status.contains("daemonEndpoints") && status["daemonEndpoints"].contains("kubeletEndpoint")) {
    port = status["daemonEndpoints"]["kubeletEndpoint"].value("Port", 0);
  }
  if (port <= 0) port = 10250;
  for (const char* type : {"InternalIP", "ExternalIP", "Hostname"}) {
    for (const json& a : status.value("addresses", json::array())) {
      if (a.value("type", "") == type && !a.value("address", "").empty()) return std::make_pair(a.value("address", ""), port);
    }
  }
  return internalError("node " + node["metadata"].value("name", "") + " has no address");
}

ApiError kubeletError(int code, const std::string& body, const std::string& pod) {
  if (code == 400) return badRequest(body);
  if (code == 404) {
    return {404, "NotFound", "the server could not find the requested resource",
            {{"name", pod}, {"kind", "pods"}, {"causes", {{{"reason", "UnexpectedServerResponse"}, {"message", body}}}}}};
  }
  return internalError("Internal error occurred: " + body);
}

struct KubeletStream::State {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<int> status;
  std::string error;
  std::string buffer;
  bool done = false;
  bool cancelled = false;
  std::unique_ptr<httplib::Client> client;
};

std::shared_ptr<KubeletStream> KubeletStream::open(const std::string& host, int port, const std::string& pathAndQuery) {
  auto s = std::make_shared<State>();
  s->client = std::make_unique<httplib::Client>(host, port);
  s->client->set_connection_timeout(5, 0);
  s->client->set_read_timeout(24 * 3600, 0);  // a followed log may be silent for long
  std::thread([s, host, port, pathAndQuery] {
    auto onHeaders = [s](const httplib::Response& r) {
      std::lock_guard<std::mutex> lock(s->mu);
      s->status = r.status;
      s->cv.notify_all();
      return true;
    };
    auto onData = [s](const char* data, size_t len) {
      std::lock_guard<std::mutex> lock(s->mu);
      s->buffer.append(data, len);
      s->cv.notify_all();
      return !s->cancelled;
    };
    auto result = s->client->Get(pathAndQuery, httplib::Headers{{"Accept-Encoding", "identity"}}, onHeaders, onData);
    std::lock_guard<std::mutex> lock(s->mu);
    if (!result && !s->status) {
      s->error = "Get \"http://" + host + ":" + std::to_string(port) + pathAndQuery + "\": " + httplib::to_string(result.error());
    } else if (result && !s->status) {
      s->status = result->status;
      s->buffer += result->body;
    }
    s->done = true;
    s->cv.notify_all();
  }).detach();
  return std::shared_ptr<KubeletStream>(new KubeletStream(s));
}

Result<int> KubeletStream::status(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(s_->mu);
  s_->cv.wait_for(lock, timeout, [&] { return s_->status.has_value() || s_->done; });
  if (s_->status) return *s_->status;
  return internalError(s_->error.empty() ? "the kubelet did not answer" : s_->error);
}

bool KubeletStream::take(std::string& out, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(s_->mu);
  s_->cv.wait_for(lock, wait, [&] { return !s_->buffer.empty() || s_->done; });
  out += s_->buffer;
  s_->buffer.clear();
  return !s_->done;
}

std::string KubeletStream::rest() {
  std::string out;
  while (take(out, std::chrono::seconds(1))) {
  }
  return out;
}

void KubeletStream::cancel() {
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    if (s_->done || s_->cancelled) return;
    s_->cancelled = true;
  }
  s_->client->stop();
}

KubeletStream::~KubeletStream() { cancel(); }

Result<KubeletUpgrade> KubeletUpgrade::open(const std::string& host, int port, const std::string& method,
                                            const std::string& pathAndQuery,
                                            const std::vector<std::pair<std::string, std::string>>& headers) {
  const std::string url = "http://" + host + ":" + std::to_string(port) + pathAndQuery;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  KubeletUpgrade up;
  up.fd_ = connectTo(host, port, deadline);
  if (up.fd_ < 0) return internalError("error dialing backend: cannot connect to " + url);
  std::string request = method + " " + pathAndQuery + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) + "\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  if (method != "GET") request += "Content-Length: 0\r\n";  // no body is forwarded; httplib wants a length
  request += "\r\n";
  if (!sendAll(up.fd_, request.data(), request.size())) return internalError("error sending the request to " + url);
  std::string in;
  size_t end;
  while ((end = in.find("\r\n\r\n")) == std::string::npos) {
    if (in.size() > 65536 || !readSome(up.fd_, in, deadline)) return internalError("no response from the kubelet at " + url);
  }
  up.head_ = in.substr(0, end + 4);
  up.body_ = in.substr(end + 4);
  // "HTTP/1.1 101 Switching Protocols"
  size_t sp = up.head_.find(' ');
  up.status_ = sp == std::string::npos ? 0 : std::atoi(up.head_.c_str() + sp + 1);
  if (up.status_ < 100) return internalError("a response that is not HTTP from the kubelet at " + url);
  if (up.status_ == 101) return up;
  // The error body: Content-Length bytes, else up to the end.
  std::string lowerHead = up.head_;
  std::transform(lowerHead.begin(), lowerHead.end(), lowerHead.begin(), [](unsigned char c) { return std::tolower(c); });
  size_t cl = lowerHead.find("\r\ncontent-length:");
  size_t want = cl == std::string::npos ? std::string::npos : std::strtoull(up.head_.c_str() + cl + 17, nullptr, 10);
  while (up.body_.size() < want && readSome(up.fd_, up.body_, deadline)) {
  }
  if (up.body_.size() > want) up.body_.resize(want);
  return up;
}

KubeletUpgrade::KubeletUpgrade(KubeletUpgrade&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), status_(other.status_), head_(std::move(other.head_)), body_(std::move(other.body_)) {}

KubeletUpgrade::~KubeletUpgrade() {
  if (fd_ >= 0) ::close(fd_);
}

void KubeletUpgrade::splice(SSL* client, const std::atomic<bool>& stop) {
  const int clientFd = SSL_get_fd(client);
  std::string first = head_ + body_;
  bool open = sslWriteAll(client, first.data(), first.size());
  char buf[16384];
  while (open && !stop) {
    // Bytes OpenSSL has already decrypted are not visible to poll.
    bool buffered = SSL_pending(client) > 0;
    pollfd p[2] = {{clientFd, POLLIN, 0}, {fd_, POLLIN, 0}};
    int ready = buffered ? 1 : ::poll(p, 2, 200);
    if (ready <= 0) {
      open = ready == 0 || errno == EINTR;
      continue;
    }
    if (buffered || p[0].revents) {
      int n = SSL_read(client, buf, sizeof buf);
      if (n > 0) {
        open = sendAll(fd_, buf, static_cast<size_t>(n));
      } else {
        int e = SSL_get_error(client, n);
        open = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;  // a record that carried no data
      }
    }
    if (open && p[1].revents) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      open = (n > 0 && sslWriteAll(client, buf, static_cast<size_t>(n))) || (n < 0 && errno == EINTR);
    }
  }
  ::shutdown(fd_, SHUT_RDWR);
  SSL_shutdown(client);
  ::shutdown(clientFd, SHUT_RDWR);
}

}  // namespace kta
