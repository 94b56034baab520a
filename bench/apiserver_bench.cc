// apiserver-bench: creates N objects through the Kubernetes API with C concurrent clients over
// keep-alive connections (the project's KubeClient, one pooled connection per client) and prints
// creates per second. Objects are FlinkDeployments (the flight-delay example, renamed) or
// ConfigMaps, in one namespace. Prints figures only.
//   apiserver-bench KUBECONFIG N CONCURRENCY [flinkdeployment|configmap] [NAMESPACE] [PREFIX]
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "k8s/client.h"

using nlohmann::json;
using namespace flink::k8s;

namespace {

json flinkDeployment(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "flink.apache.org/v1beta1"},
          {"kind", "FlinkDeployment"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"image", "flink-cpp:latest"},
            {"flinkVersion", "v1_20"},
            {"flinkConfiguration", {{"taskmanager.numberOfTaskSlots", "1"}}},
            {"serviceAccount", "flink"},
            {"jobManager", {{"resource", {{"memory", "1024m"}, {"cpu", 1}}}}},
            {"taskManager", {{"resource", {{"memory", "1024m"}, {"cpu", 1}}}}},
            {"job",
             {{"jarURI", "local:///opt/flink/usrlib/flight-delays.jar"},
              {"entryClass", "flight-delays"},
              {"args", {"--input", "/data/flights.csv.gz"}},
              {"parallelism", 2},
              {"upgradeMode", "stateless"}}}}}};
}

json configMap(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", name}}}}},
          {"data", {{"config.yaml", "taskmanager.numberOfTaskSlots: 1\nparallelism.default: 2\n"}}}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: apiserver-bench KUBECONFIG N CONCURRENCY [flinkdeployment|configmap] [NAMESPACE] [PREFIX]\n");
    return 2;
  }
  auto config = KubeConfig::fromFile(argv[1]);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 1;
  }
  const int n = std::atoi(argv[2]), c = std::max(1, std::atoi(argv[3]));
  const std::string kind = argc > 4 ? argv[4] : "flinkdeployment";
  const std::string ns = argc > 5 ? argv[5] : "default";
  const std::string prefix = argc > 6 ? argv[6] : "bench-";
  auto client = KubeClient::create(*config, c);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().message().c_str());
    return 1;
  }
  const bool fd = kind == "flinkdeployment";
  const std::string path = fd ? types::kFlinkDeployment.collectionPath(ns) : types::kConfigMap.collectionPath(ns);
  std::atomic<int> next{0}, failed{0};
  std::vector<double> latencies(n);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < c; ++t) {
    threads.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < n;) {
        std::string name = prefix + std::to_string(i);
        auto t0 = std::chrono::steady_clock::now();
        ApiResponse r = (*client)->post(path, fd ? flinkDeployment(ns, name) : configMap(ns, name));
        latencies[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (!r.ok() && failed.fetch_add(1) < 3) std::fprintf(stderr, "create %s: %d %s\n", name.c_str(), r.status, r.error.c_str());
      }
    });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  auto q = [&](double p) { return n ? latencies[std::min<size_t>(n - 1, static_cast<size_t>(p * n))] : 0.0; };
  std::printf("%d %s creates, %d clients: %.2f s, %.0f creates/s, latency p50 %.1f ms p99 %.1f ms, %d failed\n", n,
              kind.c_str(), c, seconds, n / seconds, q(0.5), q(0.99), failed.load());
  return failed.load() ? 1 : 0;
}
