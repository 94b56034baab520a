// Child processes of the test kubelet. Every child gets its own process group and
// PR_SET_PDEATHSIG(SIGKILL), so no container outlives the kubelet (note: the death signal
// fires when the *thread* that forked exits; pod runners fork from their own thread, which
// lives until the pod's processes are gone). Thread-safe.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "flink/status.h"

namespace kubelet {

/// Starts argv (argv[0] looked up in the kubelet's PATH) with exactly env, stdin /dev/null and
/// stdout+stderr appended to logPath ("" = /dev/null). Returns the pid (= its process group).
/// Errors: fork failure or an unopenable log file; a missing executable shows as exit 127.
flink::Result<pid_t> spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                           const std::string& logPath);

/// A child started by spawnPiped: the parent's ends of its pipes (close-on-exec; the caller
/// closes them). in is -1 when the child's stdin is /dev/null.
struct PipedChild {
  pid_t pid = -1;  // = its process group
  int in = -1;
  int out = -1;
  int err = -1;
};

/// Starts argv (argv[0] looked up in the kubelet's PATH) with exactly env, stdout and
/// stderr each to a pipe of their own, stdin from a pipe (withStdin) or /dev/null.
/// Errors: pipe or fork failure; a missing executable shows as exit 127.
flink::Result<PipedChild> spawnPiped(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                                     bool withStdin);

struct CommandResult {
  int exitCode = -1;  // -1: could not start, killed, or timed out
  std::string output;  // stdout and stderr
};

/// Runs argv (the kubelet's environment) to completion, killing it after timeoutMs.
CommandResult runCommand(const std::vector<std::string>& argv, int timeoutMs = 10000);

/// Exit code of a waitpid status: the exit status, or 128+signal.
int exitCodeOf(int waitStatus);

/// Signals a process group; ignores groups already gone.
void signalGroup(pid_t pgid, int sig);

}  // namespace kubelet
