// kube-test-kubelet: runs the pods bound to one Node of the test API server as local
// processes in network namespaces (see README.md).
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "flink/common/log.h"
#include "k8s/client.h"
#include "kubelet.h"

namespace {

std::atomic<bool> gStop{false};
void onSignal(int) { gStop = true; }

int usage(const std::string& error) {
  std::cerr << "kube-test-kubelet: " << error << "\n"
            << "usage: kube-test-kubelet --flink-cpp PATH --work-dir DIR [--kubeconfig PATH] [--node NAME]\n"
               "                         [--namespaces a,b] [--prefix kta] [--port 10250]\n";
  return 2;
}

std::vector<std::string> splitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  kubelet::KubeletOptions options;
  std::string kubeconfig;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return usage("missing value for " + flag);
    std::string value = argv[++i];
    if (flag == "--kubeconfig") kubeconfig = value;
    else if (flag == "--node") options.node = value;
    else if (flag == "--flink-cpp") options.flinkCpp = value;
    else if (flag == "--work-dir") options.workDir = value;
    else if (flag == "--namespaces") options.namespaces = splitComma(value);
    else if (flag == "--prefix") options.prefix = value;
    else if (flag == "--port") options.port = std::atoi(value.c_str());
    else return usage("unknown flag " + flag);
  }
  if (options.flinkCpp.empty() || options.workDir.empty()) return usage("--flink-cpp and --work-dir are required");
  if (options.prefix.empty() || options.prefix.size() > 6) return usage("--prefix must have 1 to 6 characters");
  flink::log::setComponent("kubelet");
  auto config = flink::k8s::KubeConfig::load(kubeconfig);
  if (!config.ok()) return usage(config.status().message());
  options.serviceAccountToken = config->token;
  auto client = flink::k8s::KubeClient::create(*config);
  if (!client.ok()) return usage(client.status().message());
  std::signal(SIGTERM, onSignal);
  std::signal(SIGINT, onSignal);
  std::signal(SIGPIPE, SIG_IGN);
  kubelet::Kubelet kubelet(*client, options);
  if (flink::Status s = kubelet.start(); !s.ok()) {
    std::cerr << "kube-test-kubelet: " << s.message() << "\n";
    kubelet.shutdown();
    return 1;
  }
  std::cout << "ready node " << options.node << std::endl;
  kubelet.run(&gStop);
  kubelet.shutdown();
  return 0;
}
