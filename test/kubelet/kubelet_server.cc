#include "kubelet_server.h"

#include <httplib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "exec.h"
#include "portforward.h"
#include "probes.h"

namespace kubelet {

namespace {

// Reads [from, to) of a file (to unset: to its current end).
std::string readRange(const std::string& path, uint64_t from, std::optional<uint64_t> to) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  uint64_t size = static_cast<uint64_t>(in.tellg());
  uint64_t end = std::min(size, to.value_or(size));
  if (from >= end) return "";
  std::string out(end - from, '\0');
  in.seekg(static_cast<std::streamoff>(from));
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

// The socket of the connection from ip:port (httplib does not hand it to handlers): found among
// this process's descriptors by its peer address. -1 if not found.
int connectionFd(const std::string& ip, int port) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = std::atoi(e.path().filename().c_str());
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 || peer.ss_family != AF_INET) continue;
    const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    if (ntohs(in->sin_port) == port && ip == text) return fd;
  }
  return -1;
}

// True when the client of a stream has gone: it sends nothing while a log streams, so anything
// readable (EOF, a reset) means it left.
bool peerGone(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, static_cast<short>(POLLIN | POLLRDHUP), 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL | POLLIN)) != 0;
}

bool truthy(const std::string& v) { return v == "true" || v == "1"; }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void sendText(httplib::Response& res, int code, const std::string& text) {
  res.status = code;
  res.set_content(text, "text/plain; charset=utf-8");
}

// State of one followed log, shared with httplib's content provider.
struct Follow {
  ContainerLogLookup lookup;
  std::string ns, pod, container;
  size_t index = 0;  // of the run among the container's runs (the last one when the follow began)
  LogRun run;
  uint64_t pos = 0;
  std::optional<int64_t> left;  // limitBytes still allowed
};

}  // namespace

KubeletServer::KubeletServer(ContainerLogLookup logs, ExecLookup exec, PodNetworkLookup network)
    : lookup_(std::move(logs)), exec_(std::move(exec)), network_(std::move(network)), svr_(std::make_unique<httplib::Server>()),
      stopping_(std::make_shared<std::atomic<bool>>(false)) {
  svr_->new_task_queue = [] { return new httplib::ThreadPool(16); };
  svr_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) { sendText(res, 200, "ok"); });
  auto stopping = stopping_;
  svr_->Get(R"(/containerLogs/([^/]+)/([^/]+)/([^/]+))", [this, stopping](const httplib::Request& req, httplib::Response& res) {
    const std::string ns = req.matches[1], pod = req.matches[2], container = req.matches[3];
    auto query = parseLogQuery([&](const char* name) -> std::optional<std::string> {
      if (!req.has_param(name)) return std::nullopt;
      return req.get_param_value(name);
    });
    if (!query.ok()) return sendText(res, 400, query.status().message());
    std::string notFound;
    std::optional<ContainerLog> log = lookup_(ns, pod, container, &notFound);
    if (!log) return sendText(res, 404, notFound);
    auto run = selectLogRun(log->record, log->runs, query->previous, pod);
    if (!run.ok()) return sendText(res, 400, run.status().message());
    uint64_t begin = run->begin;
    if (query->tailLines) {
      std::string text = readRange(log->path, run->begin, run->end);
      begin += tailStart(text, *query->tailLines);
    }
    if (!query->follow || run->end) {
      std::string text = readRange(log->path, begin, run->end);
      if (query->limitBytes && text.size() > static_cast<uint64_t>(*query->limitBytes)) text.resize(*query->limitBytes);
      return sendText(res, 200, text);
    }
    // Follow the running instance: what is there, then what it writes, until it ends.
    auto f = std::make_shared<Follow>(Follow{lookup_, ns, pod, container, log->runs.size() - 1, *run, begin, query->limitBytes});
    int fd = connectionFd(req.remote_addr, req.remote_port);  // a client that closes it ends the stream
    res.status = 200;
    res.set_chunked_content_provider("text/plain", [f, stopping, fd, log = *log](size_t, httplib::DataSink& sink) {
      for (int round = 0; round < 10; ++round) {  // back to httplib at least every second
        if (peerGone(fd)) return false;
        std::string chunk = readRange(log.path, f->pos, f->run.end);
        if (f->left && chunk.size() > static_cast<uint64_t>(*f->left)) chunk.resize(*f->left);
        if (!chunk.empty()) {
          f->pos += chunk.size();
          if (f->left) *f->left -= static_cast<int64_t>(chunk.size());
          if (!sink.write(chunk.data(), chunk.size())) return false;
        }
        bool ended = *stopping || (f->left && *f->left == 0) || (f->run.end && f->pos >= *f->run.end);
        if (!ended && chunk.empty()) {
          std::string ignored;
          std::optional<ContainerLog> now = f->lookup(f->ns, f->pod, f->container, &ignored);
          if (!now) {
            ended = true;  // the pod is gone
          } else {
            if (f->index < now->runs.size()) f->run.end = now->runs[f->index].end;
            if (f->run.end) continue;  // read up to the end before finishing
          }
        }
        if (ended) {
          sink.done();
          return true;
        }
        if (!chunk.empty()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      return true;
    });
  });
  auto execHandler = [this, stopping](const httplib::Request& req, httplib::Response& res) {
    const std::string ns = req.matches[1], pod = req.matches[2], container = req.matches[3];
    ExecSession session;
    for (size_t i = 0; i < req.get_param_value_count("command"); ++i) session.command.push_back(req.get_param_value("command", i));
    if (session.command.empty()) return sendText(res, 400, "you must specify at least one command for the container");
    std::string notFound;
    std::optional<ExecTarget> target = exec_(ns, pod, container, &notFound);
    if (!target) return sendText(res, 404, notFound);
    auto flag = [&](const char* name, bool unset) { return req.has_param(name) ? truthy(req.get_param_value(name)) : unset; };
    // Refusals avoid ": ": kubectl reads an error body as YAML first, and "a: b" would be a map.
    if (flag("tty", false)) {
      return sendText(res, 400, "kube-test-kubelet does not allocate a TTY, run kubectl exec without -t");
    }
    if (lower(req.get_header_value("Upgrade")) != "websocket") {
      return sendText(res, 400, "kube-test-kubelet serves exec over WebSocket only (subprotocol v5.channel.k8s.io), not SPDY");
    }
    session.protocol = chooseExecProtocol(req.get_header_value("Sec-WebSocket-Protocol"));
    if (session.protocol.empty()) {
      return sendText(res, 400, "no supported exec subprotocol offered (kube-test-kubelet speaks v5.channel.k8s.io and v4.channel.k8s.io)");
    }
    int fd = connectionFd(req.remote_addr, req.remote_port);
    if (fd < 0) return sendText(res, 500, "the connection of the exec request was not found");
    session.target = req.target;
    for (const auto& [name, value] : req.headers) session.headers.emplace_back(name, value);
    session.argv = enterArgv(target->pid, target->runAs);
    session.argv.insert(session.argv.end(), session.command.begin(), session.command.end());
    session.env = target->env;
    session.withStdin = flag("stdin", false);
    session.withStdout = flag("stdout", true);
    session.withStderr = flag("stderr", true);
    session.containerRunning = [this, stopping, ns, pod, container, pid = target->pid] {
      std::string ignored;
      auto now = exec_(ns, pod, container, &ignored);
      return !*stopping && now && now->pid == pid;
    };
    serveExec(fd, session);
    // The connection was the session's: httplib's own response must not follow it.
    ::shutdown(fd, SHUT_RDWR);
    res.set_header("Connection", "close");
  };
  svr_->Get(R"(/exec/([^/]+)/([^/]+)/([^/]+))", execHandler);
  svr_->Post(R"(/exec/([^/]+)/([^/]+)/([^/]+))", execHandler);
  auto portForwardHandler = [this, stopping](const httplib::Request& req, httplib::Response& res) {
    const std::string ns = req.matches[1], pod = req.matches[2];
    std::string notFound;
    std::optional<PodNetwork> network = network_(ns, pod, &notFound);
    if (!network) return sendText(res, 404, notFound);
    PortForwardSession session;
    const std::string upgrade = lower(req.get_header_value("Upgrade"));
    session.websocket = upgrade == "websocket";
    if (session.websocket) {
      session.protocol = choosePortForwardProtocol(req.get_header_value("Sec-WebSocket-Protocol"));
      if (session.protocol.empty()) {
        return sendText(res, 400, "no supported port-forward subprotocol offered (kube-test-kubelet speaks SPDY/3.1+portforward.k8s.io)");
      }
    } else if (upgrade != "spdy/3.1" || req.get_header_value("X-Stream-Protocol-Version").find(kPortForwardProtocol) == std::string::npos) {
      return sendText(res, 400, "unable to upgrade, expected a WebSocket or SPDY/3.1 upgrade with protocol portforward.k8s.io");
    }
    int fd = connectionFd(req.remote_addr, req.remote_port);
    if (fd < 0) return sendText(res, 500, "the connection of the port-forward request was not found");
    session.target = req.target;
    for (const auto& [name, value] : req.headers) session.headers.emplace_back(name, value);
    session.pod = pod;
    session.uid = network->uid;
    session.netns = network->netns;
    session.podRunning = [this, stopping, ns, pod, uid = network->uid] {
      std::string ignored;
      auto now = network_(ns, pod, &ignored);
      return !*stopping && now && now->uid == uid;
    };
    servePortForward(fd, session);
    ::shutdown(fd, SHUT_RDWR);
    res.set_header("Connection", "close");
  };
  svr_->Get(R"(/portForward/([^/]+)/([^/]+))", portForwardHandler);
  svr_->Post(R"(/portForward/([^/]+)/([^/]+))", portForwardHandler);
}

KubeletServer::~KubeletServer() { stop(); }

flink::Result<int> KubeletServer::start(const std::string& host, int port) {
  int bound = port;
  if (port == 0) {
    bound = svr_->bind_to_any_port(host);
  } else if (!svr_->bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0) return flink::Status::Error("cannot bind " + host + ":" + std::to_string(port));
  thread_ = std::thread([this] { svr_->listen_after_bind(); });
  return bound;
}

void KubeletServer::stop() {
  *stopping_ = true;
  if (svr_) svr_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace kubelet
