#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace kubelet {

namespace {

// The descriptors a child gets as 0, 1 and 2 (-1: /dev/null).
struct ChildIo {
  int in = -1;
  int out = -1;
  int err = -1;
};

// In the child after fork: only async-signal-safe calls.
// argv[0] is looked up in the kubelet's PATH (containers run through `ip netns exec ... sh`,
// whose exec "$@" then uses the container's PATH).
[[noreturn]] void execChild(ChildIo io, char* const* argv, char* const* envp) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int devnull = open("/dev/null", O_RDWR);
  dup2(io.in < 0 ? devnull : io.in, 0);
  dup2(io.out < 0 ? devnull : io.out, 1);
  dup2(io.err < 0 ? devnull : io.err, 2);
  for (int fd = 3; fd < 1024; ++fd) close(fd);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (envp) {
    execvpe(argv[0], argv, envp);
  } else {
    execvp(argv[0], argv);
  }
  _exit(127);
}

pid_t forkExec(const std::vector<std::string>& args, const std::vector<std::string>* env, ChildIo io) {
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (env) {
    for (const auto& e : *env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  pid_t pid = fork();
  if (pid == 0) execChild(io, argv.data(), env ? envp.data() : nullptr);
  return pid;
}

std::vector<std::string> envEntries(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void signalGroup(pid_t pgid, int sig) {
  if (pgid > 0) ::kill(-pgid, sig);
}

flink::Result<pid_t> spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                           const std::string& logPath) {
  int fd = -1;
  if (!logPath.empty()) {
    fd = open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return flink::Status::Error("cannot open " + logPath);
  }
  std::vector<std::string> envList = envEntries(env);
  pid_t pid = forkExec(argv, &envList, {-1, fd, fd});
  if (fd >= 0) close(fd);
  if (pid < 0) return flink::Status::Error("fork failed");
  return pid;
}

flink::Result<PipedChild> spawnPiped(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                                     bool withStdin) {
  int in[2] = {-1, -1}, out[2], err[2];
  if (withStdin && pipe2(in, O_CLOEXEC) != 0) return flink::Status::Error("pipe failed");
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return flink::Status::Error("pipe failed");
  std::vector<std::string> envList = envEntries(env);
  pid_t pid = forkExec(argv, &envList, {in[0], out[1], err[1]});
  for (int fd : {in[0], out[1], err[1]}) {
    if (fd >= 0) close(fd);
  }
  if (pid < 0) {
    for (int fd : {in[1], out[0], err[0]}) {
      if (fd >= 0) close(fd);
    }
    return flink::Status::Error("fork failed");
  }
  return PipedChild{pid, in[1], out[0], err[0]};
}

CommandResult runCommand(const std::vector<std::string>& argv, int timeoutMs) {
  CommandResult r;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return r;
  pid_t pid = forkExec(argv, nullptr, {-1, p[1], p[1]});
  close(p[1]);
  if (pid < 0) {
    close(p[0]);
    return r;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  char buf[4096];
  while (true) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    pollfd pfd{p[0], POLLIN, 0};
    if (left <= 0 || poll(&pfd, 1, left) <= 0) {
      signalGroup(pid, SIGKILL);
      break;
    }
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    r.output.append(buf, static_cast<size_t>(n));
  }
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  r.exitCode = killed ? -1 : exitCodeOf(status);
  return r;
}

}  // namespace kubelet
