#include "probes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "process.h"

namespace kubelet {

using nlohmann::json;

namespace {

int resolvePort(const json& port, const json& container) {
  if (port.is_number_integer()) return port.get<int>();
  std::string name = port.is_string() ? port.get<std::string>() : "";
  for (const json& p : container.value("ports", json::array())) {
    if (p.value("name", "") == name) return p.value("containerPort", 0);
  }
  return std::atoi(name.c_str());
}

bool tcpConnect(const std::string& ip, int port, int timeoutMs) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) == 1;
  if (ok && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    pollfd pfd{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    ok = errno == EINPROGRESS && poll(&pfd, 1, timeoutMs) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
         err == 0;
  }
  close(fd);
  return ok;
}

bool httpGet(const std::string& ip, int port, const std::string& path, int timeoutMs) {
  httplib::Client client(ip, port);
  client.set_connection_timeout(0, timeoutMs * 1000);
  client.set_read_timeout(0, timeoutMs * 1000);
  auto res = client.Get(path.empty() ? "/" : path);
  return res && res->status >= 200 && res->status < 400;
}

}  // namespace

std::vector<std::string> enterArgv(pid_t pid, const RunAs& runAs) {
  // A container with a PID namespace of its own (`unshare -p --fork`): the process the kubelet
  // started stays outside it, its child (the namespace's init) is the one to enter.
  std::error_code ec;
  const std::string proc = "/proc/" + std::to_string(pid);
  const bool ownPidNs = std::filesystem::read_symlink(proc + "/ns/pid", ec) != std::filesystem::read_symlink(proc + "/ns/pid_for_children", ec) && !ec;
  if (ownPidNs) {
    std::ifstream children(proc + "/task/" + std::to_string(pid) + "/children");
    pid_t init = 0;
    if (children >> init && init > 0) pid = init;
  }
  std::vector<std::string> argv = {"nsenter", "-t", std::to_string(pid), "-n", "-m", "-u", "-w"};
  if (ownPidNs) argv.push_back("-p");
  if (!runAs.root()) {
    argv.insert(argv.end(), {"setpriv", "--reuid=" + std::to_string(runAs.uid.value_or(0)),
                             "--regid=" + std::to_string(runAs.gid.value_or(0))});
    std::string groups;
    for (int64_t g : runAs.groups) groups += (groups.empty() ? "" : ",") + std::to_string(g);
    argv.push_back(groups.empty() ? "--clear-groups" : "--groups=" + groups);
  }
  argv.push_back("--");
  return argv;
}

bool runProbe(const json& probe, const json& container, const std::string& podIP, pid_t pid, const RunAs& runAs) {
  int timeoutMs = probe.value("timeoutSeconds", 1) * 1000;
  if (probe.contains("tcpSocket")) {
    return tcpConnect(podIP, resolvePort(probe["tcpSocket"].value("port", json()), container), timeoutMs);
  }
  if (probe.contains("httpGet")) {
    const json& h = probe["httpGet"];
    return httpGet(podIP, resolvePort(h.value("port", json()), container), h.value("path", "/"), timeoutMs);
  }
  if (probe.contains("exec")) {
    std::vector<std::string> argv = enterArgv(pid, runAs);
    size_t prefix = argv.size();
    for (const json& w : probe["exec"].value("command", json::array())) argv.push_back(w.get<std::string>());
    return argv.size() > prefix && runCommand(argv, timeoutMs).exitCode == 0;
  }
  return false;
}

ProbeTracker::ProbeTracker(json probe, Clock::time_point started, bool initial)
    : probe_(std::move(probe)),
      next_(started + std::chrono::seconds(probe_.value("initialDelaySeconds", 0))),
      verdict_(initial) {}

void ProbeTracker::record(bool success, Clock::time_point now) {
  next_ = now + std::chrono::seconds(std::max(1, probe_.value("periodSeconds", 10)));
  if (success) {
    failures_ = 0;
    if (++successes_ >= std::max(1, probe_.value("successThreshold", 1))) verdict_ = true;
  } else {
    successes_ = 0;
    if (++failures_ >= std::max(1, probe_.value("failureThreshold", 3))) verdict_ = false;
  }
}

}  // namespace kubelet
