#include "cluster_controllers.h"

namespace ktc {

using flink::k8s::Controller;
using flink::k8s::objectKey;
using flink::k8s::types::kDeployment;
using flink::k8s::types::kService;

ClusterControllers::ClusterControllers(std::shared_ptr<KubeApi> api, Options options)
    : api_(std::move(api)),
      options_(std::move(options)),
      deployments_(informersFor(kDeployment)),
      replicaSets_(informersFor(kReplicaSet)),
      pods_(informersFor(kPod)),
      services_(informersFor(kService)),
      endpoints_(informersFor(kEndpoints)),
      slices_(informersFor(kEndpointSlice)),
      deploymentReconciler_(api_, cacheOf(deployments_), cacheOf(replicaSets_), cacheOf(pods_)),
      replicaSetReconciler_(api_, cacheOf(replicaSets_), cacheOf(pods_), options_.node),
      endpointsReconciler_(api_, cacheOf(services_), cacheOf(endpoints_), cacheOf(pods_), cacheOf(slices_)),
      schedulerReconciler_(api_, cacheOf(pods_), options_.node),
      deploymentController_(deploymentReconciler_, Controller::Options{options_.workers, {}, {}}),
      replicaSetController_(replicaSetReconciler_, Controller::Options{options_.workers, {}, {}}),
      endpointsController_(endpointsReconciler_, Controller::Options{options_.workers, {}, {}}),
      schedulerController_(schedulerReconciler_, Controller::Options{options_.workers, {}, {}}) {
  for (auto& i : deployments_) deploymentController_.watch(*i);
  for (auto& i : replicaSets_) {
    deploymentController_.watchOwned(*i, [](const json& rs) { return controllerKey(rs, "Deployment"); });
    replicaSetController_.watch(*i);
  }
  for (auto& i : pods_) {
    deploymentController_.watchOwned(*i, [this](const json& pod) { return deploymentReconciler_.deploymentOfPod(pod); });
    replicaSetController_.watchOwned(*i, [](const json& pod) { return controllerKey(pod, "ReplicaSet"); });
    i->addHandler([this](Informer::EventType, const json& pod) {
      for (const auto& key : endpointsReconciler_.servicesOfPod(pod)) endpointsController_.enqueue(key);
    });
    i->addHandler([this](Informer::EventType type, const json& pod) {
      if (type != Informer::EventType::kDeleted && SchedulerReconciler::needsScheduling(pod)) {
        schedulerController_.enqueue(objectKey(pod));
      }
    });
  }
  for (auto& i : services_) endpointsController_.watch(*i);
  for (auto& i : endpoints_) {
    // Only deletions: Endpoints without a Service (made by hand) are left alone.
    i->addHandler([this](Informer::EventType type, const json& ep) {
      if (type == Informer::EventType::kDeleted) endpointsController_.enqueue(objectKey(ep));
    });
  }
  for (auto& i : slices_) {
    // Any change of a slice this controller manages (by someone else too) re-checks its Service.
    i->addHandler([this](Informer::EventType, const json& slice) {
      if (auto key = EndpointsReconciler::serviceOfSlice(slice)) endpointsController_.enqueue(*key);
    });
  }
}

ClusterControllers::~ClusterControllers() { stop(); }

ClusterControllers::Informers ClusterControllers::informersFor(const ResourceType& type) {
  Informers out;
  if (options_.namespaces.empty()) {
    out.push_back(std::make_unique<Informer>(api_, type, ""));
  } else {
    for (const auto& ns : options_.namespaces) out.push_back(std::make_unique<Informer>(api_, type, ns));
  }
  return out;
}

Cache ClusterControllers::cacheOf(const Informers& informers) {
  std::vector<Informer*> raw;
  for (const auto& i : informers) raw.push_back(i.get());
  return Cache(std::move(raw));
}

std::vector<Informer*> ClusterControllers::all() const {
  std::vector<Informer*> out;
  for (const Informers* set : {&deployments_, &replicaSets_, &pods_, &services_, &endpoints_, &slices_}) {
    for (const auto& i : *set) out.push_back(i.get());
  }
  return out;
}

void ClusterControllers::startInformers() {
  for (Informer* i : all()) i->start();
}

bool ClusterControllers::synced() const {
  auto informers = all();
  return std::all_of(informers.begin(), informers.end(), [](const Informer* i) { return i->synced(); });
}

void ClusterControllers::startControllers() {
  deploymentController_.start();
  replicaSetController_.start();
  endpointsController_.start();
  schedulerController_.start();
}

void ClusterControllers::stop() {
  deploymentController_.stop();
  replicaSetController_.stop();
  endpointsController_.stop();
  schedulerController_.stop();
  for (Informer* i : all()) i->stop();
}

}  // namespace ktc
