// The FlinkDeployment controller. reconcile(namespace/name) is level-triggered and
// idempotent, following the Apache operator's observe -> validate -> record status -> act:
//   1. read the FlinkDeployment and its children from the informer caches (observe only);
//   2. parse and validate the spec; an invalid spec is reported in status.error and a Warning
//      event, and the operator keeps reconciling the last valid spec
//      (status.reconciliationStatus.lastReconciledSpec) instead;
//   3. write the status first when the spec to deploy changed (status as a write-ahead log);
//   4. create or patch the children (ConfigMap, Services, Deployments) to the desired state;
//      a child deleted or edited by hand is restored; owner references let the garbage
//      collector remove them with the FlinkDeployment;
//   5. report the JobManager Deployment's readiness and the lifecycle state in the status.
// Reconcile returns a requeue delay or an error; the caller's error policy backs off per key.
// Thread-safe: workers may reconcile different keys concurrently (the queue never hands one
// key to two workers).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "controller/resources.h"
#include "k8s/client.h"
#include "k8s/informer.h"

namespace flink::k8s {

struct ReconcileResult {
  bool ok = true;
  std::string error;
  std::optional<std::chrono::milliseconds> requeueAfter;
};

class FlinkDeploymentController {
 public:
  struct Informers {
    Informer* flinkDeployments;
    Informer* deployments;
    Informer* services;
    Informer* configMaps;
  };
  FlinkDeploymentController(std::shared_ptr<KubeClient> client, Informers informers, OperatorConfig config);

  ReconcileResult reconcile(const std::string& ns, const std::string& name);

  /// The owner FlinkDeployment key ("ns/name") of a child object, if it has one.
  static std::optional<std::string> ownerKey(const nlohmann::json& child);

  /// Counts of FlinkDeployments by status.lifecycleState (from the cache).
  std::map<std::string, int> lifecycleStates() const;

 private:
  void event(const nlohmann::json& fd, const std::string& type, const std::string& reason, const std::string& message);
  Status applyChild(const nlohmann::json& fd, const nlohmann::json& desired, bool* changed);
  ApiResponse writeStatus(const nlohmann::json& fd, const nlohmann::json& status);

  std::shared_ptr<KubeClient> client_;
  Informers informers_;
  OperatorConfig config_;
  std::mutex eventsMu_;
  std::map<std::string, std::pair<std::string, int>> events_;  // dedupe key -> (event name, count)
};

}  // namespace flink::k8s
