#include "local/process_group.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

namespace flink {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Starts `flink-cpp <args>` with FLINK_CONF_DIR=confDir, stdout+stderr to logPath.
Result<ChildProcess> spawnProcess(const std::string& name, const std::vector<std::string>& args,
                                  const std::string& confDir, const std::string& logPath) {
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  pid_t pid = fork();
  if (pid < 0) return Status::Error("cannot start " + name + ": fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the runner
    int fd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    setenv("FLINK_CONF_DIR", confDir.c_str(), 1);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  return ChildProcess{name, pid, logPath};
}

bool reapIfExited(ChildProcess& c, int* exitStatus) {
  if (c.pid <= 0) return false;
  int status = 0;
  pid_t r = waitpid(c.pid, &status, WNOHANG);
  if (r == c.pid) {
    c.pid = -1;
    if (exitStatus) *exitStatus = status;
    return false;
  }
  return true;
}

// Peak resident set size (VmHWM) of a live process, in bytes; 0 if unknown.
uint64_t peakRss(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace

ProcessGroup::ProcessGroup(std::string confDir, std::string logDir)
    : confDir_(std::move(confDir)), logDir_(std::move(logDir)) {}

ProcessGroup::~ProcessGroup() { stopAll(); }

Status ProcessGroup::spawn(size_t slot, const std::string& name, const std::vector<std::string>& args) {
  auto child = spawnProcess(name, args, confDir_, (fs::path(logDir_) / (name + ".log")).string());
  if (!child.ok()) return child.status();
  if (children_.size() > slot) {
    children_[slot] = *child;
  } else {
    children_.push_back(*child);
  }
  return Status::Ok();
}

bool ProcessGroup::alive(size_t slot, int* exitStatus) { return reapIfExited(children_[slot], exitStatus); }

void ProcessGroup::stopAll() {
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    if (it->pid > 0) kill(it->pid, SIGTERM);
  }
  auto deadline = Clock::now() + std::chrono::seconds(10);
  for (auto& c : children_) {
    while (c.pid > 0 && reapIfExited(c, nullptr) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (c.pid > 0) {
      kill(c.pid, SIGKILL);
      waitpid(c.pid, nullptr, 0);
      c.pid = -1;
    }
  }
}

std::string ProcessGroup::peakRssSummary() const {
  std::string rss;
  for (const auto& c : children_) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%s%s %.1f MB", rss.empty() ? "" : ", ", c.name.c_str(),
                  static_cast<double>(peakRss(c.pid)) / (1 << 20));
    rss += buf;
  }
  return rss;
}

std::string describeExit(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exit code " + std::to_string(WEXITSTATUS(status));
}

std::string tailLines(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  std::string l;
  while (std::getline(in, l)) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += "    " + all[i] + "\n";
  return out;
}

}  // namespace flink
