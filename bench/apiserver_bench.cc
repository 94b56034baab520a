// apiserver-bench: creates N objects through the Kubernetes API with C concurrent clients over
// keep-alive connections (the project's KubeClient, one pooled connection per client) and prints
// creates per second. Objects are FlinkDeployments (the flight-delay example, renamed) or
// ConfigMaps, in one namespace. Prints figures only.
//   apiserver-bench KUBECONFIG N CONCURRENCY [flinkdeployment|configmap] [NAMESPACE] [PREFIX]
// The operator benchmark's spec-change latency: S times, changes the spec of FlinkDeployment
// PREFIX<k> (k spread over 1..N; spec.flinkConfiguration["bench.change"]) and measures the time
// from the change being stored to the first status the operator writes for it
// (status.observedGeneration reaching the new generation), through a watch:
//   apiserver-bench KUBECONFIG --spec-change-latency N S [NAMESPACE] [PREFIX]
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <ctime>
#include <functional>
#include <mutex>
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

int64_t generationOf(const json& o, const char* where) {
  const json& part = where[0] == 'm' ? o.value("metadata", json::object()) : o.value("status", json::object());
  const char* field = where[0] == 'm' ? "generation" : "observedGeneration";
  return part.is_object() ? part.value(field, int64_t{0}) : 0;
}

double quantile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min<size_t>(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

int specChangeLatency(KubeClient& client, int n, int samples, const std::string& ns, const std::string& prefix) {
  std::vector<double> ms;
  for (int s = 0; s < samples; ++s) {
    std::string name = prefix + std::to_string(1 + (static_cast<int64_t>(s) * n) / std::max(1, samples));
    std::string path = types::kFlinkDeployment.objectPath(ns, name);
    ApiResponse before = client.get(path);
    if (!before.ok()) {
      std::fprintf(stderr, "get %s: %s\n", name.c_str(), before.error.c_str());
      return 1;
    }
    std::string rv = before.body["metadata"].value("resourceVersion", "");
    std::atomic<bool> stop{false};
    std::atomic<int64_t> wantGeneration{INT64_MAX};
    std::atomic<int64_t> seenAtNs{0};
    std::function<void()> cancel;
    std::mutex cancelMu;
    std::thread watcher([&] {
      client.watch(types::kFlinkDeployment.collectionPath(ns) + "?watch=true&fieldSelector=metadata.name%3D" + name +
                       "&resourceVersion=" + rv,
                   [&](const json& event) {
                     const json& obj = event.value("object", json::object());
                     if (generationOf(obj, "status") >= wantGeneration.load()) {
                       seenAtNs = std::chrono::steady_clock::now().time_since_epoch().count();
                       return false;
                     }
                     return true;
                   },
                   &stop, &cancel, &cancelMu);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the watch is open
    json patch = {{"spec", {{"flinkConfiguration", {{"bench.change", std::to_string(s) + "-" + std::to_string(std::time(nullptr))}}}}}};
    ApiResponse changed = client.patch(path, patch);
    auto changedAt = std::chrono::steady_clock::now();
    if (!changed.ok()) {
      std::fprintf(stderr, "patch %s: %s\n", name.c_str(), changed.error.c_str());
      stop = true;
      {
        std::lock_guard<std::mutex> lock(cancelMu);
        if (cancel) cancel();
      }
      watcher.join();
      return 1;
    }
    wantGeneration = generationOf(changed.body, "metadata");
    auto deadline = changedAt + std::chrono::seconds(30);
    while (!seenAtNs.load() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    stop = true;
    {
      std::lock_guard<std::mutex> lock(cancelMu);
      if (cancel) cancel();
    }
    watcher.join();
    if (!seenAtNs.load()) {
      std::fprintf(stderr, "%s: no status for generation %lld within 30 s\n", name.c_str(), static_cast<long long>(wantGeneration.load()));
      ms.push_back(30000);
      continue;
    }
    auto seen = std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(seenAtNs.load()));
    ms.push_back(std::max(0.0, std::chrono::duration<double, std::milli>(seen - changedAt).count()));
  }
  std::printf("spec change -> first status write: %d samples, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", samples,
              quantile(ms, 0.5), quantile(ms, 0.99), quantile(ms, 1.0));
  return 0;
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
  if (std::string(argv[2]) == "--spec-change-latency") {
    auto client = KubeClient::create(*config, 2);
    if (!client.ok()) return 1;
    return specChangeLatency(**client, std::atoi(argv[3]), argc > 4 ? std::atoi(argv[4]) : 30, argc > 5 ? argv[5] : "default",
                             argc > 6 ? argv[6] : "fd-");
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
