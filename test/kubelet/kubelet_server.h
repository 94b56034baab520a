// The test kubelet's HTTP API, the part kube-test-apiserver proxies `kubectl logs` and
// `kubectl exec` to: GET /containerLogs/{namespace}/{pod}/{container}?follow=&previous=&tailLines=&limitBytes=
// (text/plain), GET|POST /exec/{namespace}/{pod}/{container}?command=...&stdin=&stdout=&stderr=&tty=
// (a WebSocket upgrade, see exec.h), GET|POST /portForward/{namespace}/{pod} (a WebSocket or
// SPDY upgrade, see portforward.h) and GET /healthz. Plain HTTP (a real kubelet serves HTTPS on port 10250 and
// authenticates the API server), bound to one address of the host. Errors are plain text as
// the kubelet writes them: 404 `pod "p" does not exist` or `container "c" not found in pod "p"`,
// 400 for a container without the requested instance (see logs.h) or a bad parameter; exec:
// 404 `container not found ("c")` for a container that is not running, 400 for a TTY, a
// request that is no WebSocket upgrade (SPDY) or offers no subprotocol this kubelet speaks.
// A followed log streams until the container run ends (or the pod goes) or the client leaves.
// Thread-safe: each request runs on a worker of its own pool.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "container_spec.h"
#include "flink/status.h"
#include "logs.h"
#include "status.h"

namespace httplib {
class Server;
}

namespace kubelet {

/// One container's log as the kubelet knows it at the moment of the call.
struct ContainerLog {
  std::string path;  // the log file
  ContainerRecord record;
  std::vector<LogRun> runs;
};

/// The kubelet's answer for (namespace, pod, container): nullopt with *notFound set to the
/// error text when the pod or container is unknown. Called from the server's threads.
using ContainerLogLookup = std::function<std::optional<ContainerLog>(const std::string& ns, const std::string& pod,
                                                                     const std::string& container, std::string* notFound)>;

/// What `kubectl exec` needs of a running container: its process (whose namespaces and working
/// directory the command joins), identity and environment.
struct ExecTarget {
  pid_t pid = -1;
  RunAs runAs;
  std::map<std::string, std::string> env;
};

/// The running container (namespace, pod, container): nullopt with *notFound set to the error
/// text when the pod is unknown or the container is not running. Called from the server's threads.
using ExecLookup = std::function<std::optional<ExecTarget>(const std::string& ns, const std::string& pod,
                                                           const std::string& container, std::string* notFound)>;

/// What `kubectl port-forward` needs of a pod: its network namespace and uid.
struct PodNetwork {
  std::string netns;  // path of the network namespace
  std::string uid;
};

/// The pod (namespace, pod) while it runs: nullopt with *notFound set to the error text when it
/// is unknown or stopping. Called from the server's threads.
using PodNetworkLookup = std::function<std::optional<PodNetwork>(const std::string& ns, const std::string& pod, std::string* notFound)>;

class KubeletServer {
 public:
  KubeletServer(ContainerLogLookup logs, ExecLookup exec, PodNetworkLookup network);
  ~KubeletServer();
  KubeletServer(const KubeletServer&) = delete;
  KubeletServer& operator=(const KubeletServer&) = delete;
  /// Binds host:port (0: a free port) and serves on a thread of its own; returns the port.
  flink::Result<int> start(const std::string& host, int port);
  /// Stops serving; open follow streams end within 100 ms.
  void stop();

 private:
  ContainerLogLookup lookup_;
  ExecLookup exec_;
  PodNetworkLookup network_;
  std::unique_ptr<httplib::Server> svr_;
  std::thread thread_;
  std::shared_ptr<std::atomic<bool>> stopping_;
};

}  // namespace kubelet
