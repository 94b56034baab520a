// `kubectl exec` on the test kubelet: one remotecommand session over a WebSocket. The client's
// upgrade request reaches the kubelet through kube-test-apiserver, which forwards it and then
// copies the connection's bytes unchanged both ways, as the real API server proxies exec to the
// kubelet. Subprotocols v5.channel.k8s.io and v4.channel.k8s.io of Kubernetes' remotecommand
// WebSocket protocol (client-go tools/remotecommand, KEP-4006): binary messages whose first
// byte is the channel: 0 stdin (client to kubelet), 1 stdout, 2 stderr, 3 the error channel (one
// metav1.Status as JSON once the command has ended), 4 terminal resize (ignored: no TTY here);
// v5 adds 255, where the client's [255, 0] closes the command's stdin. Pings get pongs. After
// the status the kubelet closes the WebSocket with code 1000 (normal closure).
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kubelet {

/// The subprotocol chosen from a Sec-WebSocket-Protocol header (comma-separated offers):
/// v5.channel.k8s.io if offered, else v4.channel.k8s.io, else "" (none this kubelet speaks).
std::string chooseExecProtocol(const std::string& offered);

/// The metav1.Status the error channel carries for a command that ended with exitCode: Success
/// for 0, else Failure with reason NonZeroExitCode and a cause of type ExitCode whose message is
/// the code (kubectl exits with it).
nlohmann::json execExitStatus(const std::vector<std::string>& command, int exitCode);

/// One session: the upgrade request (already read from the connection) and the command.
struct ExecSession {
  std::string target;                                        // the request's path and query
  std::vector<std::pair<std::string, std::string>> headers;  // the request's headers
  std::string protocol;                                      // chosen by chooseExecProtocol
  std::vector<std::string> command;                          // as the client gave it (for messages)
  std::vector<std::string> argv;                             // what runs: enterArgv(...) + command
  std::map<std::string, std::string> env;                    // exactly the command's environment
  bool withStdin = false;                                    // the client sends stdin
  bool withStdout = true, withStderr = true;                 // the client reads these channels
  /// Polled every 200 ms: false once the container has stopped (or the kubelet is stopping),
  /// which kills the command.
  std::function<bool()> containerRunning;
};

/// Serves a session on the connected socket fd: accepts the WebSocket, starts the command with
/// stdin, stdout and stderr on pipes of their own, streams them, then sends the exit status
/// and closes. When the client leaves or the container stops first, the command's process group
/// is killed (SIGKILL). Blocks until the command has been reaped (or could not start, or the
/// handshake failed); works on a duplicate of fd, which the caller keeps.
void serveExec(int fd, const ExecSession& session);

}  // namespace kubelet
