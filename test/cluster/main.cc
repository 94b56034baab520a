// kube-test-controllers: the Deployment, ReplicaSet and Endpoints controllers of
// kube-controller-manager, simplified, for the hermetic test cluster (kube-test-apiserver plus
// the test kubelet). See README.md.
//
//   kube-test-controllers [--kubeconfig PATH] [--namespaces a,b] [--node test-node] [--workers N]
//
// Runs until SIGTERM or SIGINT, then exits 0; exits 2 on bad arguments, 1 when the kubeconfig
// cannot be used.
#include <pthread.h>
#include <signal.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>

#include "cluster_controllers.h"
#include "flink/common/log.h"

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: kube-test-controllers [--kubeconfig PATH] [--namespaces a,b] [--node NAME] [--workers N]\n"
               "  --kubeconfig PATH  kubeconfig (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)\n"
               "  --namespaces a,b   namespaces to watch (default: all)\n"
               "  --node NAME        spec.nodeName of the pods it creates (default: test-node)\n"
               "  --workers N        worker threads per controller (default: 2)\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig;
  ktc::ClusterControllers::Options options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    }
    if ((a != "--kubeconfig" && a != "--namespaces" && a != "--node" && a != "--workers") || !(v = next())) {
      usage();
      return 2;
    }
    if (a == "--kubeconfig") kubeconfig = v;
    if (a == "--node") options.node = v;
    if (a == "--workers") options.workers = std::atoi(v);
    if (a == "--namespaces") {
      std::stringstream ss(v);
      for (std::string ns; std::getline(ss, ns, ',');) {
        if (!ns.empty()) options.namespaces.push_back(ns);
      }
    }
  }
  if (options.node.empty() || options.workers < 1) {
    usage();
    return 2;
  }
  flink::log::setComponent("kube-test-controllers");

  // Signals are taken here with sigtimedwait; block them in every thread (threads inherit this).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto config = flink::k8s::KubeConfig::load(kubeconfig);
  if (!config) {
    std::fprintf(stderr, "kube-test-controllers: %s\n", config.status().message().c_str());
    return 1;
  }
  auto client = flink::k8s::KubeClient::create(*config);
  if (!client) {
    std::fprintf(stderr, "kube-test-controllers: %s\n", client.status().message().c_str());
    return 1;
  }
  ktc::ClusterControllers controllers(*client, options);
  controllers.startInformers();
  bool started = false;
  timespec tick{0, 50 * 1000 * 1000};
  for (;;) {
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      flink::log::info("signal {}: stopping", sig);
      break;
    }
    if (!started && controllers.synced()) {
      controllers.startControllers();
      started = true;
      std::string watched;
      for (const auto& ns : options.namespaces) watched += (watched.empty() ? "" : ",") + ns;
      flink::log::info("caches synced; controllers running (node {}, namespaces {})", options.node,
                       watched.empty() ? "all" : watched);
    }
  }
  controllers.stop();
  return 0;
}
