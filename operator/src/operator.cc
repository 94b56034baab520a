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
#include <set>
#include <thread>

#include "config/config_watcher.h"
#include "controller/child_digest.h"
#include "controller/controller.h"
#include "controller/flink_deployment_controller.h"
#include "k8s/leader_election.h"
#include "controller/session_job_controller.h"
#include "controller/state_snapshot_controller.h"
#include "flink/common/log.h"
#include "flink/common/ids.h"
#include "flink/common/http.h"
#include "flink/common/strings.h"
#include "metrics/apache_metrics.h"
#include "metrics/lifecycle_metrics.h"
#include "webhook/webhook_certificates.h"
#include "webhook/webhook_server.h"

namespace flink {

using namespace flink::k8s;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

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

// The operator's command line (see operator.h), over WATCH_NAMESPACES and OPERATOR_NAMESPACE.
struct OperatorOptions {
  std::string kubeconfig, leaseNs, leaseName = "flink-operator-lock", defaultImage = "flink-cpp:latest";
  std::string jobManagerAddress = "service";  // see OperatorConfig::jobManagerAddress
  std::vector<std::string> namespaces;  // empty: all namespaces
  // Workers mostly wait on the API server: enough of them keep it busy (the Apache operator's
  // kubernetes.operator.reconcile.parallelism defaults to 200).
  int workers = 16, metricsPort = 9999, resyncSeconds = 60;
  bool leaderElect = false;
  int healthPort = -1;  // kubernetes.operator.health.probe.port when enabled; -1: health on the metrics port only
  // The client-side rate limit of Kubernetes API requests (kubernetes.operator.api.rate-limit.qps
  // and .burst): a safeguard against a hot loop, high enough that 1,000 new FlinkDeployments
  // (~15 requests each) are not held back by it. qps 0: no limit.
  int apiQps = 2000, apiBurst = 4000;
  int webhookPort = -1;  // the admission webhook's HTTPS port; -1: no webhook
  WebhookCertificateOptions webhook;  // its certificate (ns: the operator's namespace)
  std::set<std::string> given;  // the flags on the command line (they win over the configuration)
};

// The operator's own options from its configuration (the chart's defaultConfiguration), with the
// Apache operator's keys, where the command line did not set them. Errors name the key.
Status applyOperatorConfiguration(const std::map<std::string, std::string>& conf, OperatorOptions* o) {
  Configuration c;
  for (const auto& [k, v] : conf) c.set(k, v);
  auto given = [&](const char* flag) { return o->given.count(flag) > 0; };
  auto number = [&](const char* key, int* out) -> Status {
    if (!c.contains(key)) return Status::Ok();
    auto v = c.getInt(key, *out);
    if (!v.ok() || *v < 0 || *v > 65535 * 16) return Status::Error(std::string(key) + ": expected a number, got '" + c.getString(key, "") + "'");
    *out = static_cast<int>(*v);
    return Status::Ok();
  };
  auto flag = [&](const char* key, bool* out) -> Status {
    if (!c.contains(key)) return Status::Ok();
    auto v = c.getBool(key, *out);
    if (!v.ok()) return Status::Error(std::string(key) + ": expected true or false, got '" + c.getString(key, "") + "'");
    *out = *v;
    return Status::Ok();
  };
  if (!given("--workers")) {
    if (Status st = number("kubernetes.operator.reconcile.parallelism", &o->workers); !st.ok()) return st;
  }
  if (!given("--metrics-port")) {
    if (Status st = number("kubernetes.operator.metrics.reporter.prom.port", &o->metricsPort); !st.ok()) return st;
  }
  if (!given("--namespaces") && !std::getenv("WATCH_NAMESPACES") && c.contains("kubernetes.operator.watched.namespaces")) {
    // JOSDK_ALL_NAMESPACES (the Apache default) or empty: all namespaces.
    std::string list = trim(c.getString("kubernetes.operator.watched.namespaces", ""));
    o->namespaces = list == "JOSDK_ALL_NAMESPACES" ? std::vector<std::string>{} : splitList(list);
  }
  if (!given("--leader-elect")) {
    if (Status st = flag("kubernetes.operator.leader-election.enabled", &o->leaderElect); !st.ok()) return st;
  }
  if (!given("--lease-name") && c.contains("kubernetes.operator.leader-election.lease-name")) {
    o->leaseName = trim(c.getString("kubernetes.operator.leader-election.lease-name", o->leaseName));
  }
  if (Status st = number("kubernetes.operator.api.rate-limit.qps", &o->apiQps); !st.ok()) return st;
  if (Status st = number("kubernetes.operator.api.rate-limit.burst", &o->apiBurst); !st.ok()) return st;
  bool health = false;
  if (Status st = flag("kubernetes.operator.health.probe.enabled", &health); !st.ok()) return st;
  if (health && !given("--health-port")) {
    o->healthPort = 8085;  // the Apache operator's default
    if (Status st = number("kubernetes.operator.health.probe.port", &o->healthPort); !st.ok()) return st;
  }
  if (o->workers < 1) o->workers = 1;
  return Status::Ok();
}

// nullopt after printing the error (exit code 2); a flag without its value exits the process.
std::optional<OperatorOptions> parseOperatorArgs(const std::vector<std::string>& args) {
  OperatorOptions o;
  if (const char* env = std::getenv("WATCH_NAMESPACES")) o.namespaces = splitList(env);
  if (const char* env = std::getenv("OPERATOR_NAMESPACE")) o.leaseNs = env;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) {
        std::cerr << "error: " << a << " needs a value\n";
        std::exit(2);
      }
      return args[++i];
    };
    o.given.insert(a);
    try {
      if (a == "--kubeconfig") o.kubeconfig = value();
      else if (a == "--namespaces") o.namespaces = splitList(value());
      else if (a == "--workers") o.workers = std::stoi(value());
      else if (a == "--metrics-port") o.metricsPort = std::stoi(value());
      else if (a == "--resync-seconds") o.resyncSeconds = std::stoi(value());
      else if (a == "--leader-elect") o.leaderElect = true;
      else if (a == "--lease-namespace") o.leaseNs = value();
      else if (a == "--lease-name") o.leaseName = value();
      else if (a == "--default-image") o.defaultImage = value();
      else if (a == "--health-port") o.healthPort = std::stoi(value());
      else if (a == "--webhook-port") o.webhookPort = std::stoi(value());
      else if (a == "--webhook-secret") o.webhook.secretName = value();
      else if (a == "--webhook-service") o.webhook.serviceName = value();
      else if (a == "--webhook-configuration") o.webhook.webhookConfiguration = value();
      else if (a == "--webhook-names") o.webhook.extraNames = splitList(value());
      else if (a == "--webhook-cert-validity") o.webhook.certValidity = std::chrono::seconds(std::stol(value()));
      else if (a == "--jobmanager-address") {
        o.jobManagerAddress = value();
        if (o.jobManagerAddress != "service" && o.jobManagerAddress != "pod-ip") {
          std::cerr << "error: --jobmanager-address expects 'service' or 'pod-ip', got '" << o.jobManagerAddress << "'\n";
          return std::nullopt;
        }
      }
      else {
        std::cerr << "error: unknown operator option '" << a << "'\n";
        return std::nullopt;
      }
    } catch (const std::exception&) {
      std::cerr << "error: " << a << " expects a number\n";
      return std::nullopt;
    }
  }
  if (o.workers < 1) o.workers = 1;
  if (o.webhook.certValidity.count() < 3) {
    std::cerr << "error: --webhook-cert-validity must be at least 3 (seconds)\n";
    return std::nullopt;
  }
  return o;
}

// The Helm chart's defaultConfiguration: $FLINK_CONF_DIR/config.yaml, applied under every
// FlinkDeployment's flinkConfiguration (as the Apache operator does).
Result<OperatorConfig> loadOperatorConfig(const std::string& defaultImage) {
  OperatorConfig config;
  config.defaultImage = defaultImage;
  if (const char* confDir = std::getenv("FLINK_CONF_DIR")) {
    auto defaults = Configuration::loadFromDirectory(confDir);
    if (!defaults.ok()) return defaults.status();
    config.defaultConfiguration = defaults->entries();
    // The chart's defaultConfiguration log4j-operator.properties: the operator's own log level.
    if (auto logging = log::configureFromFile(confDir, "log4j-operator.properties"); !logging.ok()) {
      log::warn("{} (logging at INFO)", logging.status().message());
    }
  }
  return config;
}

// The Reconciler of one resource kind: hands a key to the controller (FlinkDeploymentController,
// FlinkStateSnapshotController) of its namespace (the only one when the operator watches all
// namespaces).
template <class C>
class NamespacedReconciler : public Reconciler {
 public:
  // ns "" stands for all namespaces.
  void add(const std::string& ns, C* controller) { byNamespace_.emplace(ns, controller); }
  /// Called after each reconcile with (namespace, name, succeeded); set before the workers start.
  std::function<void(const std::string&, const std::string&, bool)> onReconciled;

  Result reconcile(const std::string& ns, const std::string& name) override {
    auto it = byNamespace_.find("");
    if (it == byNamespace_.end()) it = byNamespace_.find(ns);
    if (it == byNamespace_.end()) return {};
    ReconcileResult r = it->second->reconcile(ns, name);
    if (onReconciled) onReconciled(ns, name, r.ok);
    return {r.ok, r.error, r.requeueAfter};
  }

 private:
  std::map<std::string, C*> byNamespace_;  // filled before the workers start
};

// The operator process: informers per watched namespace feeding one Controller, the metrics
// and health endpoints, and optional leader election (the controller's workers run only while
// this replica leads).
class Operator {
 public:
  /// `watcher` (optional) reloads `configs` from the configuration directory (poll()).
  Operator(OperatorOptions options, std::shared_ptr<KubeClient> client, std::shared_ptr<OperatorConfigStore> configs,
           std::unique_ptr<ConfigWatcher> watcher, Metrics& metrics);
  ~Operator() { stop(); }

  // Binds the metrics endpoint (the only error), starts the informers, then the workers
  // (at once, or once elected).
  Status start();
  // Stops the workers, the elector, the informers and the endpoint, in that order. Idempotent.
  void stop();
  // Updates readiness, reloads the configuration when due (every FlinkDeployment is then
  // reconciled again with it) and enqueues every FlinkDeployment every resyncSeconds; call
  // every 100 ms.
  void poll();
  bool lostLeadership() const { return lostLeadership_.load(); }

 private:
  struct NamespaceSet {
    std::unique_ptr<Informer> fds, deployments, services, configMaps, ingresses, snapshots;
    std::unique_ptr<FlinkDeploymentController> controller;
    std::unique_ptr<FlinkStateSnapshotController> snapshotController;
    std::unique_ptr<Informer> sessionJobs;
    std::unique_ptr<FlinkSessionJobController> sessionJobController;
    /// What readiness waits for (FlinkStateSnapshots are optional: their CRD may be missing).
    std::vector<Informer*> informers() const {
      return {fds.get(), deployments.get(), services.get(), configMaps.get(), ingresses.get()};
    }
    std::vector<Informer*> all() const {
      return {fds.get(), deployments.get(), services.get(), configMaps.get(), ingresses.get(), snapshots.get(), sessionJobs.get()};
    }
  };
  void watchNamespace(const std::string& ns);
  void routeEndpoints();
  void startWorkers();
  void startLeaderElection();
  Status startWebhook();
  void reconcileWebhookCertificate();

  OperatorOptions options_;
  std::shared_ptr<KubeClient> client_;
  std::shared_ptr<OperatorConfigStore> configs_;
  std::unique_ptr<ConfigWatcher> watcher_;
  Metrics& metrics_;
  NamespacedReconciler<FlinkDeploymentController> reconciler_;
  NamespacedReconciler<FlinkStateSnapshotController> snapshotReconciler_;
  NamespacedReconciler<FlinkSessionJobController> sessionJobReconciler_;
  Controller controller_;
  Controller snapshotQueue_;  // FlinkStateSnapshots: their own queue and workers
  Controller sessionJobQueue_;  // FlinkSessionJobs: their own queue and workers
  std::vector<NamespaceSet> sets_;
  httplib::Server http_;
  std::thread httpThread_;
  httplib::Server health_;  // kubernetes.operator.health.probe.port, when enabled
  std::thread healthThread_;
  std::unique_ptr<WebhookServer> webhook_;  // with --webhook-port
  std::unique_ptr<WebhookCertificates> webhookCerts_;
  Clock::time_point nextCertCheck_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<LeaderElector> elector_;
  std::atomic<bool> lostLeadership_{false};
  Clock::time_point lastResync_;
  OperatorIdentity identity_;  // the labels of the Apache operator's metric names
  JosdkCounters josdk_;  // the Apache operator's per-resource JOSDK counters
  LifecycleMetrics lifecycle_;  // the Apache operator's lifecycle timers, fed by the FlinkDeployment informers
};

Operator::Operator(OperatorOptions options, std::shared_ptr<KubeClient> client, std::shared_ptr<OperatorConfigStore> configs,
                   std::unique_ptr<ConfigWatcher> watcher, Metrics& metrics)
    : options_(std::move(options)),
      client_(std::move(client)),
      configs_(std::move(configs)),
      watcher_(std::move(watcher)),
      metrics_(metrics),
      controller_(reconciler_,
                  Controller::Options{
                      options_.workers,
                      [&metrics](double seconds) { metrics.queueLatency.Observe(seconds); },
                      [&metrics](double seconds, bool ok) {
                        metrics.reconcileDuration.Observe(seconds);
                        metrics.reconciles.Add({{"result", ok ? "success" : "error"}}).Increment();
                      }}),
      snapshotQueue_(snapshotReconciler_, Controller::Options{1, nullptr, nullptr}),
      sessionJobQueue_(sessionJobReconciler_, Controller::Options{2, nullptr, nullptr}) {
  if (options_.namespaces.empty()) options_.namespaces.push_back("");  // all namespaces
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  identity_.host = host;
  const char* podName = std::getenv("OPERATOR_NAME");  // the chart's; in a pod, the hostname is its name too
  identity_.name = podName && *podName ? podName : host;
  identity_.ns = options_.leaseNs.empty() ? "default" : options_.leaseNs;
  reconciler_.onReconciled = [this](const std::string& ns, const std::string& name, bool ok) {
    josdk_.reconciled("FlinkDeployment", ns, name, ok);
  };
  for (const auto& ns : options_.namespaces) watchNamespace(ns);
  routeEndpoints();
}

void Operator::watchNamespace(const std::string& ns) {
  NamespaceSet set;
  set.fds = std::make_unique<Informer>(client_, types::kFlinkDeployment, ns);
  set.deployments = std::make_unique<Informer>(client_, types::kDeployment, ns, "app");
  set.services = std::make_unique<Informer>(client_, types::kService, ns, "app");
  set.configMaps = std::make_unique<Informer>(client_, types::kConfigMap, ns, "app");
  set.ingresses = std::make_unique<Informer>(client_, types::kIngress, ns, "app");
  // The children are cached as compact records (child_digest.h): a few hundred bytes each.
  for (Informer* child : {set.deployments.get(), set.services.get(), set.configMaps.get(), set.ingresses.get()}) {
    child->setTransform(&compactChild);
  }
  set.controller = std::make_unique<FlinkDeploymentController>(
      client_,
      FlinkDeploymentController::Informers{set.fds.get(), set.deployments.get(), set.services.get(),
                                           set.configMaps.get(), set.ingresses.get()},
      configs_);
  controller_.watch(*set.fds);
  set.fds->addHandler([this](Informer::EventType type, const json& fd) {
    json meta = fd.value("metadata", json::object());
    if (type == Informer::EventType::kDeleted) {
      lifecycle_.onRemove(meta.value("namespace", ""), meta.value("name", ""));
    } else {
      lifecycle_.onUpdate(fd);
    }
    const char* action = type == Informer::EventType::kAdded ? "ADDED" : type == Informer::EventType::kDeleted ? "DELETED" : "UPDATED";
    josdk_.event("FlinkDeployment", meta.value("namespace", ""), meta.value("name", ""), action);
  });
  for (Informer* child : {set.deployments.get(), set.services.get(), set.configMaps.get(), set.ingresses.get()}) {
    controller_.watchOwned(*child, &FlinkDeploymentController::ownerKey);
  }
  for (Informer* inf : set.informers()) {
    std::string plural = inf->type().plural;
    inf->onWatchRestart([this, plural](const std::string& reason) {
      metrics_.watchRestarts.Add({{"resource", plural}, {"reason", reason}}).Increment();
    });
  }
  reconciler_.add(ns, set.controller.get());
  set.snapshots = std::make_unique<Informer>(client_, types::kFlinkStateSnapshot, ns);
  set.snapshotController =
      std::make_unique<FlinkStateSnapshotController>(client_, set.snapshots.get(), set.fds.get(), configs_);
  snapshotQueue_.watch(*set.snapshots);
  snapshotReconciler_.add(ns, set.snapshotController.get());
  set.sessionJobs = std::make_unique<Informer>(client_, types::kFlinkSessionJob, ns);
  set.sessionJobController =
      std::make_unique<FlinkSessionJobController>(client_, set.sessionJobs.get(), set.fds.get(), configs_);
  sessionJobQueue_.watch(*set.sessionJobs);
  sessionJobReconciler_.add(ns, set.sessionJobController.get());
  // A session cluster that changes (becomes ready, goes away) concerns the jobs that run on it.
  set.fds->addHandler([this, jobs = set.sessionJobs.get()](Informer::EventType, const json& fd) {
    json meta = fd.value("metadata", json::object());
    for (const auto& j : jobs->list()) {
      if (j["metadata"].value("namespace", "") == meta.value("namespace", "") &&
          j.value("spec", json::object()).value("deploymentName", "") == meta.value("name", "")) {
        sessionJobQueue_.enqueue(objectKey(j));
      }
    }
  });
  sets_.push_back(std::move(set));
}

// Metrics and health endpoints.
void Operator::routeEndpoints() {
  http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    metrics_.queueDepth.Set(static_cast<double>(controller_.queueDepth()));
    std::map<std::string, int> states;
    for (auto& s : sets_) {
      for (const auto& [k, v] : s.controller->lifecycleStates()) states[k] += v;
    }
    for (const auto& [k, v] : states) metrics_.lifecycle.Add({{"lifecycle_state", k}}).Set(v);
    auto families = metrics_.registry->Collect();
    // The Apache operator's names too (metrics/apache_metrics.h), from the same caches.
    std::vector<json> fds, snapshots;
    for (auto& s : sets_) {
      // Only what the metrics read (metadata, status without the recorded specs): thousands of
      // whole FlinkDeployments at once would be the operator's largest allocation.
      s.fds->forEach([&](const json& o) {
        json status = o.value("status", json::object());
        if (status.is_object()) status.erase("reconciliationStatus");
        fds.push_back({{"metadata", o.value("metadata", json::object())}, {"status", status}});
      });
      for (auto& o : s.snapshots->list()) snapshots.push_back(std::move(o));
    }
    prometheus::Registry apache;
    collectApacheMetrics(apache, identity_, fds, snapshots, families, josdk_.snapshot());
    for (auto& f : apache.Collect()) families.push_back(std::move(f));
    for (auto& f : lifecycle_.collect(identity_)) families.push_back(std::move(f));
    prometheus::TextSerializer serializer;
    res.set_content(serializer.Serialize(families), "text/plain; version=0.0.4");
  });
  for (httplib::Server* server : {&http_, &health_}) {
    server->Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    server->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      res.status = ready_ ? 200 : 503;
      res.set_content(ready_ ? "ok" : "informers not synced", "text/plain");
    });
  }
  answerUnroutedWithoutBody(http_, [](const httplib::Request& req, httplib::Response& res) {
    res.status = 404;
    res.set_content("not found: " + req.method + " " + req.path + "\n", "text/plain");
  });
  http_.set_payload_max_length(64 * 1024);  // these endpoints take no body
}

Status Operator::start() {
  int port = options_.metricsPort;
  int boundPort = port == 0 ? http_.bind_to_any_port("0.0.0.0") : (http_.bind_to_port("0.0.0.0", port) ? port : -1);
  if (boundPort < 0) return Status::Error(fmt::format("cannot listen on metrics port {}", port));
  httpThread_ = std::thread([this] { http_.listen_after_bind(); });
  if (options_.healthPort >= 0) {
    // The Apache operator's health probe port (kubernetes.operator.health.probe.*): /healthz, /readyz.
    int hp = options_.healthPort;
    int bound = hp == 0 ? health_.bind_to_any_port("0.0.0.0") : (health_.bind_to_port("0.0.0.0", hp) ? hp : -1);
    if (bound < 0) return Status::Error(fmt::format("cannot listen on health probe port {} (kubernetes.operator.health.probe.port)", hp));
    healthThread_ = std::thread([this] { health_.listen_after_bind(); });
    log::info("health probes on :{}", bound);
  }
  if (options_.webhookPort >= 0) {
    if (Status st = startWebhook(); !st.ok()) return st;
  }
  const auto& namespaces = options_.namespaces;
  log::info("operator started: watching {}, {} workers, metrics on :{}{}",
            namespaces[0].empty() ? std::string("all namespaces") : fmt::format("namespaces {}", fmt::join(namespaces, ",")),
            options_.workers, boundPort,
            options_.leaderElect ? ", leader election on Lease " + options_.leaseNs + "/" + options_.leaseName : "");
  for (auto& s : sets_) {
    for (Informer* inf : s.all()) inf->start();
  }
  if (options_.leaderElect) {
    startLeaderElection();
  } else {
    startWorkers();
  }
  lastResync_ = Clock::now();
  return Status::Ok();
}

void Operator::startWorkers() {
  metrics_.leader.Set(1);
  controller_.start();
  snapshotQueue_.start();
  sessionJobQueue_.start();
}

void Operator::startLeaderElection() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  LeaderElectionConfig lc;
  lc.ns = options_.leaseNs.empty() ? "default" : options_.leaseNs;
  lc.leaseName = options_.leaseName;
  lc.identity = std::string(host) + "_" + randomId().substr(0, 8);
  elector_ = std::make_unique<LeaderElector>(client_, lc);
  elector_->start([this] { startWorkers(); }, [this] { lostLeadership_ = true; });
}

// The admission webhook (webhook/): its certificate from the Secret (made at the first start),
// then HTTPS on the webhook port. A certificate that cannot be made yet (e.g. the API server is
// not reachable) is retried by poll(); until then handshakes fail, as the webhook configuration's
// failurePolicy then decides.
Status Operator::startWebhook() {
  options_.webhook.ns = options_.leaseNs.empty() ? "default" : options_.leaseNs;
  webhookCerts_ = std::make_unique<WebhookCertificates>(client_, options_.webhook);
  webhook_ = std::make_unique<WebhookServer>([this](const json& object) {
    // The defaults that apply to the object's namespace and Flink version, as the reconciler's.
    if (!object.is_object()) return *configs_->current();
    const json meta = object.value("metadata", json::object()), spec = object.value("spec", json::object());
    std::string ns = meta.is_object() ? meta.value("namespace", "") : "";
    std::string version = spec.is_object() && spec.contains("flinkVersion") && spec["flinkVersion"].is_string()
                              ? spec["flinkVersion"].get<std::string>() : "";
    return *configs_->forResource(ns, version);
  });
  auto port = webhook_->start(options_.webhookPort);
  if (!port.ok()) return port.status();
  log::info("admission webhook on :{} (Secret {}/{}, Service {})", *port, options_.webhook.ns,
            options_.webhook.secretName, options_.webhook.serviceName);
  reconcileWebhookCertificate();
  return Status::Ok();
}

void Operator::reconcileWebhookCertificate() {
  auto pair = webhookCerts_->reconcile();
  if (pair.ok()) {
    if (Status st = webhook_->setCertificate(*pair); !st.ok()) log::error("webhook: {}", st.message());
    nextCertCheck_ = Clock::now() + webhookCerts_->checkInterval();
  } else {
    log::error("webhook certificate: {} (retrying in 5 s)", pair.status().message());
    nextCertCheck_ = Clock::now() + std::chrono::seconds(5);
  }
}

void Operator::poll() {
  if (webhookCerts_ && Clock::now() >= nextCertCheck_) reconcileWebhookCertificate();
  bool synced = true;
  for (auto& s : sets_) {
    for (Informer* inf : s.informers()) synced = synced && inf->synced();
  }
  ready_ = synced;
  bool reloaded = false;
  if (watcher_) {
    auto r = watcher_->poll();
    if (!r.ok()) log::error("reloading the operator configuration: {}", r.status().message());
    reloaded = r.ok() && *r;
  }
  if (reloaded || Clock::now() - lastResync_ > std::chrono::seconds(options_.resyncSeconds)) {
    lastResync_ = Clock::now();
    for (auto& s : sets_) {
      // The low lane: a spec change that arrives meanwhile goes ahead of these.
      constexpr auto kLow = WorkQueue::Priority::kLow;
      s.fds->forEach([&](const json& o) {
        controller_.enqueue(objectKey(o), kLow);
        lifecycle_.onUpdate(o);  // "last seen" of the current state, as each reconcile tells the Apache operator's
      });
      for (const auto& k : s.snapshots->keys()) snapshotQueue_.enqueue(k, kLow);
      for (const auto& k : s.sessionJobs->keys()) sessionJobQueue_.enqueue(k, kLow);
    }
  }
}

void Operator::stop() {
  controller_.stop();
  snapshotQueue_.stop();
  sessionJobQueue_.stop();
  if (elector_) elector_->stop();
  for (auto& s : sets_) {
    for (Informer* inf : s.all()) inf->stop();
  }
  if (httpThread_.joinable()) {
    http_.stop();
    httpThread_.join();
  }
  if (healthThread_.joinable()) {
    health_.stop();
    healthThread_.join();
  }
  if (webhook_) webhook_->stop();
}

}  // namespace

int runOperator(const std::vector<std::string>& args, const std::atomic<bool>* stop) {
  log::setComponent("operator");
  auto options = parseOperatorArgs(args);
  if (!options) return 2;
  auto config = KubeConfig::load(options->kubeconfig);
  if (!config.ok()) {
    log::error("{}", config.status().message());
    return 1;
  }
  if (options->leaseNs.empty()) options->leaseNs = config->defaultNamespace;
  auto client = KubeClient::create(*config);
  if (!client.ok()) {
    log::error("{}", client.status().message());
    return 1;
  }
  Metrics metrics;
  (*client)->setObserver([&metrics](const std::string& verb, int code) {
    metrics.apiRequests.Add({{"verb", verb}, {"code", std::to_string(code)}}).Increment();
  });
  auto opConfig = loadOperatorConfig(options->defaultImage);
  if (!opConfig.ok()) {
    log::error("{}", opConfig.status().message());
    return 1;
  }
  if (Status st = applyOperatorConfiguration(opConfig->defaultConfiguration, &*options); !st.ok()) {
    log::error("the operator's configuration ($FLINK_CONF_DIR/config.yaml): {}", st.message());
    return 1;
  }
  opConfig->jobManagerAddress = options->jobManagerAddress;
  (*client)->setRateLimit(options->apiQps, options->apiBurst);
  auto dynamic = DynamicConfigSettings::fromConfiguration(opConfig->defaultConfiguration);
  if (!dynamic.ok()) {
    log::error("the operator's configuration ($FLINK_CONF_DIR/config.yaml): {}", dynamic.status().message());
    return 1;
  }
  auto configs = std::make_shared<OperatorConfigStore>(*opConfig);
  std::unique_ptr<ConfigWatcher> watcher;
  const char* confDir = std::getenv("FLINK_CONF_DIR");
  if (confDir && dynamic->enabled) {
    watcher = std::make_unique<ConfigWatcher>(confDir, opConfig->defaultConfiguration, configs, *dynamic);
    log::info("dynamic configuration: checking {} every {} s", confDir, dynamic->checkInterval.count() / 1000.0);
  }
  Operator op(std::move(*options), *client, configs, std::move(watcher), metrics);
  if (Status st = op.start(); !st.ok()) {
    log::error("{}", st.message());
    return 1;
  }
  while (!stop->load() && !op.lostLeadership()) {
    op.poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  log::info("operator stopping{}", op.lostLeadership() ? " (leadership lost)" : "");
  op.stop();
  return op.lostLeadership() ? 1 : 0;
}

}  // namespace flink
