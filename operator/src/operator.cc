#include "operator.h"

#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "controller/flink_deployment_controller.h"
#include "controller/leader_election.h"
#include "controller/workqueue.h"
#include "flink/common/log.h"
#include "flink/common/ids.h"
#include "flink/common/strings.h"

namespace flink {

using namespace flink::k8s;
using nlohmann::json;

namespace {

struct Metrics {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& reconciles =
      prometheus::BuildCounter().Name("flink_operator_reconcile_total").Help("Reconciles by result").Register(*registry);
  prometheus::Histogram& reconcileDuration =
      prometheus::BuildHistogram()
          .Name("flink_operator_reconcile_duration_seconds")
          .Help("Duration of one reconcile")
          .Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  prometheus::Gauge& queueDepth =
      prometheus::BuildGauge().Name("flink_operator_workqueue_depth").Help("Keys waiting in the work queue").Register(*registry).Add({});
  prometheus::Histogram& queueLatency =
      prometheus::BuildHistogram()
          .Name("flink_operator_workqueue_queue_duration_seconds")
          .Help("Time a key waited in the work queue")
          .Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60});
  prometheus::Family<prometheus::Counter>& apiRequests =
      prometheus::BuildCounter().Name("flink_operator_api_requests_total").Help("Kubernetes API requests by verb and code").Register(*registry);
  prometheus::Family<prometheus::Counter>& watchRestarts =
      prometheus::BuildCounter().Name("flink_operator_watch_restarts_total").Help("Watches restarted, by resource and reason").Register(*registry);
  prometheus::Family<prometheus::Gauge>& lifecycle =
      prometheus::BuildGauge().Name("flink_operator_resources").Help("FlinkDeployments by lifecycle state").Register(*registry);
  prometheus::Gauge& leader =
      prometheus::BuildGauge().Name("flink_operator_is_leader").Help("1 while this replica leads").Register(*registry).Add({});
};

}  // namespace

int runOperator(const std::vector<std::string>& args, const std::atomic<bool>* stop) {
  log::setComponent("operator");
  std::string kubeconfig, leaseNs, leaseName = "flink-operator-lock", defaultImage = "flink-cpp:latest";
  std::vector<std::string> namespaces;
  if (const char* env = std::getenv("WATCH_NAMESPACES")) namespaces = splitList(env);
  if (const char* env = std::getenv("OPERATOR_NAMESPACE")) leaseNs = env;
  int workers = 4, metricsPort = 9999, resyncSeconds = 60;
  bool leaderElect = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) {
        std::cerr << "error: " << a << " needs a value\n";
        std::exit(2);
      }
      return args[++i];
    };
    try {
      if (a == "--kubeconfig") kubeconfig = value();
      else if (a == "--namespaces") namespaces = splitList(value());
      else if (a == "--workers") workers = std::stoi(value());
      else if (a == "--metrics-port") metricsPort = std::stoi(value());
      else if (a == "--resync-seconds") resyncSeconds = std::stoi(value());
      else if (a == "--leader-elect") leaderElect = true;
      else if (a == "--lease-namespace") leaseNs = value();
      else if (a == "--lease-name") leaseName = value();
      else if (a == "--default-image") defaultImage = value();
      else {
        std::cerr << "error: unknown operator option '" << a << "'\n";
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "error: " << a << " expects a number\n";
      return 2;
    }
  }
  if (workers < 1) workers = 1;
  auto config = KubeConfig::load(kubeconfig);
  if (!config.ok()) {
    log::error("{}", config.status().message());
    return 1;
  }
  if (leaseNs.empty()) leaseNs = config->defaultNamespace;
  auto client = KubeClient::create(*config);
  if (!client.ok()) {
    log::error("{}", client.status().message());
    return 1;
  }
  Metrics metrics;
  (*client)->setObserver([&metrics](const std::string& verb, int code) {
    metrics.apiRequests.Add({{"verb", verb}, {"code", std::to_string(code)}}).Increment();
  });

  OperatorConfig opConfig;
  opConfig.defaultImage = defaultImage;
  // The Helm chart's defaultConfiguration: $FLINK_CONF_DIR/config.yaml, applied under every
  // FlinkDeployment's flinkConfiguration (as the Apache operator does).
  if (const char* confDir = std::getenv("FLINK_CONF_DIR")) {
    auto defaults = Configuration::loadFromDirectory(confDir);
    if (!defaults.ok()) {
      log::error("{}", defaults.status().message());
      return 1;
    }
    opConfig.defaultConfiguration = defaults->entries();
  }
  WorkQueue queue;
  if (namespaces.empty()) namespaces.push_back("");  // all namespaces

  struct NamespaceSet {
    std::unique_ptr<Informer> fds, deployments, services, configMaps;
    std::unique_ptr<FlinkDeploymentController> controller;
  };
  std::vector<NamespaceSet> sets;
  for (const auto& ns : namespaces) {
    NamespaceSet set;
    set.fds = std::make_unique<Informer>(*client, types::kFlinkDeployment, ns);
    set.deployments = std::make_unique<Informer>(*client, types::kDeployment, ns, "app");
    set.services = std::make_unique<Informer>(*client, types::kService, ns, "app");
    set.configMaps = std::make_unique<Informer>(*client, types::kConfigMap, ns, "app");
    set.controller = std::make_unique<FlinkDeploymentController>(
        *client,
        FlinkDeploymentController::Informers{set.fds.get(), set.deployments.get(), set.services.get(), set.configMaps.get()},
        opConfig);
    set.fds->addHandler([&queue](Informer::EventType, const json& o) {
      queue.add(o["metadata"].value("namespace", "") + "/" + o["metadata"].value("name", ""));
    });
    for (Informer* child : {set.deployments.get(), set.services.get(), set.configMaps.get()}) {
      child->addHandler([&queue](Informer::EventType, const json& o) {
        if (auto owner = FlinkDeploymentController::ownerKey(o)) queue.add(*owner);
      });
    }
    for (Informer* inf : {set.fds.get(), set.deployments.get(), set.services.get(), set.configMaps.get()}) {
      std::string plural = inf->type().plural;
      inf->onWatchRestart([&metrics, plural](const std::string& reason) {
        metrics.watchRestarts.Add({{"resource", plural}, {"reason", reason}}).Increment();
      });
    }
    sets.push_back(std::move(set));
  }
  auto controllerFor = [&](const std::string& ns) -> FlinkDeploymentController* {
    for (auto& s : sets) {
      if (namespaces.size() == 1 && namespaces[0].empty()) return s.controller.get();
    }
    for (size_t i = 0; i < sets.size(); ++i) {
      if (namespaces[i] == ns) return sets[i].controller.get();
    }
    return nullptr;
  };

  // Metrics and health endpoints.
  httplib::Server http;
  std::atomic<bool> ready{false};
  http.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    metrics.queueDepth.Set(static_cast<double>(queue.depth()));
    std::map<std::string, int> states;
    for (auto& s : sets) {
      for (const auto& [k, v] : s.controller->lifecycleStates()) states[k] += v;
    }
    for (const auto& [k, v] : states) metrics.lifecycle.Add({{"lifecycle_state", k}}).Set(v);
    prometheus::TextSerializer serializer;
    res.set_content(serializer.Serialize(metrics.registry->Collect()), "text/plain; version=0.0.4");
  });
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
  http.Get("/readyz", [&](const httplib::Request&, httplib::Response& res) {
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ok" : "informers not synced", "text/plain");
  });
  int boundPort = metricsPort == 0 ? http.bind_to_any_port("0.0.0.0") : (http.bind_to_port("0.0.0.0", metricsPort) ? metricsPort : -1);
  if (boundPort < 0) {
    log::error("cannot listen on metrics port {}", metricsPort);
    return 1;
  }
  std::thread httpThread([&http] { http.listen_after_bind(); });
  log::info("operator started: watching {}, {} workers, metrics on :{}{}",
            namespaces[0].empty() ? std::string("all namespaces") : fmt::format("namespaces {}", fmt::join(namespaces, ",")),
            workers, boundPort, leaderElect ? ", leader election on Lease " + leaseNs + "/" + leaseName : "");

  for (auto& s : sets) {
    for (Informer* inf : {s.fds.get(), s.deployments.get(), s.services.get(), s.configMaps.get()}) inf->start();
  }

  std::vector<std::thread> pool;
  std::atomic<bool> running{false};
  auto startWorkers = [&] {
    if (running.exchange(true)) return;
    metrics.leader.Set(1);
    for (int w = 0; w < workers; ++w) {
      pool.emplace_back([&] {
        std::string key;
        WorkQueue::Clock::duration waited{};
        while (queue.get(&key, &waited)) {
          metrics.queueLatency.Observe(std::chrono::duration<double>(waited).count());
          auto slash = key.find('/');
          std::string ns = key.substr(0, slash), name = key.substr(slash + 1);
          auto start = std::chrono::steady_clock::now();
          ReconcileResult r;
          if (auto* c = controllerFor(ns)) {
            try {
              r = c->reconcile(ns, name);
            } catch (const std::exception& e) {
              r = {false, std::string("unexpected error: ") + e.what(), std::nullopt};
            }
          }
          metrics.reconcileDuration.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
          if (r.ok) {
            metrics.reconciles.Add({{"result", "success"}}).Increment();
            queue.forget(key);
            if (r.requeueAfter) queue.addAfter(key, *r.requeueAfter);
          } else {
            metrics.reconciles.Add({{"result", "error"}}).Increment();
            log::warn("reconcile {} failed (retry {}): {}", key, queue.failures(key) + 1, r.error);
            queue.addRateLimited(key);
          }
          queue.done(key);
        }
      });
    }
  };

  std::unique_ptr<LeaderElector> elector;
  std::atomic<bool> lostLeadership{false};
  if (leaderElect) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    LeaderElectionConfig lc;
    lc.ns = leaseNs.empty() ? "default" : leaseNs;
    lc.leaseName = leaseName;
    lc.identity = std::string(host) + "_" + randomId().substr(0, 8);
    elector = std::make_unique<LeaderElector>(*client, lc);
    elector->start(startWorkers, [&] { lostLeadership = true; });
  } else {
    startWorkers();
  }

  auto lastResync = std::chrono::steady_clock::now();
  while (!stop->load() && !lostLeadership) {
    bool synced = true;
    for (auto& s : sets) {
      for (Informer* inf : {s.fds.get(), s.deployments.get(), s.services.get(), s.configMaps.get()}) {
        synced = synced && inf->synced();
      }
    }
    ready = synced;
    if (std::chrono::steady_clock::now() - lastResync > std::chrono::seconds(resyncSeconds)) {
      lastResync = std::chrono::steady_clock::now();
      for (auto& s : sets) {
        for (const auto& o : s.fds->list()) queue.add(o["metadata"].value("namespace", "") + "/" + o["metadata"].value("name", ""));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  log::info("operator stopping{}", lostLeadership ? " (leadership lost)" : "");
  queue.shutdown();
  for (auto& t : pool) t.join();
  if (elector) elector->stop();
  for (auto& s : sets) {
    for (Informer* inf : {s.fds.get(), s.deployments.get(), s.services.get(), s.configMaps.get()}) inf->stop();
  }
  http.stop();
  httpThread.join();
  return lostLeadership ? 1 : 0;
}

}  // namespace flink
