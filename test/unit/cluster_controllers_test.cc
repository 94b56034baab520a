// The test cluster's controllers (test/cluster/: Deployment, ReplicaSet, Endpoints) against the
// fake Kubernetes API (test/support/fake_kube_api.h) with real informers. The tests play the
// kubelet by writing pod status, and drive the reconcilers by hand until a round writes nothing
// (settle), except the last one, which runs the wired ClusterControllers with their own workers.
#include <catch2/catch.hpp>

#include <array>
#include <map>
#include <set>

#include "cluster_controllers.h"
#include "fake_kube_api.h"

using namespace flink::k8s;
using nlohmann::json;
using testing::eventually;

namespace {

constexpr const char* kNs = "ns";

json deployment(const std::string& name, int replicas, const std::string& strategy = "RollingUpdate") {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"spec",
           {{"replicas", replicas},
            {"strategy", {{"type", strategy}}},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec",
               {{"containers",
                 {{{"name", "main"}, {"image", "busybox:1"}, {"ports", {{{"name", "http"}, {"containerPort", 8080}}}}}}}}}}}}}};
}

json service(const std::string& name, const std::string& app) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", kNs}, {"labels", {{"team", "a"}}}}},
          {"spec", {{"selector", {{"app", app}}}, {"ports", {{{"name", "web"}, {"port", 80}, {"targetPort", "http"}}}}}}};
}

struct TestCluster {
  std::shared_ptr<testing::FakeKubeApi> api = std::make_shared<testing::FakeKubeApi>();
  Informer deployments{api, types::kDeployment, kNs};
  Informer replicaSets{api, ktc::kReplicaSet, kNs};
  Informer pods{api, ktc::kPod, kNs};
  Informer services{api, types::kService, kNs};
  Informer endpoints{api, ktc::kEndpoints, kNs};
  Informer slices{api, ktc::kEndpointSlice, kNs};
  ktc::DeploymentReconciler deploymentReconciler{api, ktc::Cache({&deployments}), ktc::Cache({&replicaSets}), ktc::Cache({&pods})};
  ktc::ReplicaSetReconciler replicaSetReconciler{api, ktc::Cache({&replicaSets}), ktc::Cache({&pods}), "test-node"};
  ktc::EndpointsReconciler endpointsReconciler{api, ktc::Cache({&services}), ktc::Cache({&endpoints}), ktc::Cache({&pods}),
                                               ktc::Cache({&slices})};
  std::map<std::string, std::string> podIps;

  TestCluster() {
    for (Informer* i : all()) i->start();
    REQUIRE(eventually([&] {
      auto a = all();
      return std::all_of(a.begin(), a.end(), [](Informer* i) { return i->synced(); });
    }));
  }
  ~TestCluster() {
    for (Informer* i : all()) i->stop();
  }
  std::array<Informer*, 6> all() { return {&deployments, &replicaSets, &pods, &services, &endpoints, &slices}; }
  void catchUp() {
    REQUIRE(eventually([&] {
      auto a = all();
      return std::all_of(a.begin(), a.end(), [&](Informer* i) { return api->caughtUp(*i, kNs); });
    }));
  }
  int changes() const { return api->writes() + api->deletes(); }
  /// One reconcile of every Deployment, then every ReplicaSet, then every Service, each after
  /// the informers caught up. Returns whether it wrote or deleted anything.
  bool round() {
    int before = changes();
    struct Step {
      const ResourceType& type;
      Reconciler& reconciler;
    };
    for (const Step& s : {Step{types::kDeployment, deploymentReconciler}, Step{ktc::kReplicaSet, replicaSetReconciler},
                          Step{types::kService, endpointsReconciler}}) {
      catchUp();
      for (const auto& o : api->list(s.type.collectionPath(kNs))) {
        auto r = s.reconciler.reconcile(kNs, o["metadata"]["name"].get<std::string>());
        INFO(r.error);
        REQUIRE(r.ok);
      }
    }
    return changes() != before;
  }
  /// Rounds until one changes nothing (the controllers' steady state).
  void settle() {
    for (int i = 0; i < 20; ++i) {
      if (!round()) return;
    }
    FAIL("the controllers did not settle in 20 rounds");
  }
  /// The kubelet's part: every active pod Running with an IP, Ready as given.
  void runPods(bool ready) {
    catchUp();
    for (auto pod : api->list(ktc::kPod.collectionPath(kNs))) {
      if (!ktc::isPodActive(pod)) continue;
      std::string name = pod["metadata"]["name"];
      if (!podIps.count(name)) podIps[name] = "10.244.0." + std::to_string(podIps.size() + 10);
      pod["status"] = {{"phase", "Running"},
                       {"podIP", podIps[name]},
                       {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}};
      REQUIRE(api->put(ktc::kPod.objectPath(kNs, name) + "/status", pod).ok());
    }
  }
  /// A Deployment "web" with 2 ready pods, then a change of its template (caches caught up).
  /// Returns the name of the first ReplicaSet.
  std::string deployAndChangeTemplate(const std::string& strategy) {
    REQUIRE(api->post(types::kDeployment.collectionPath(kNs), deployment("web", 2, strategy)).ok());
    settle();
    runPods(true);
    settle();
    std::string first = list(ktc::kReplicaSet)[0]["metadata"]["name"];
    REQUIRE(api->patch(types::kDeployment.objectPath(kNs, "web"),
                       {{"spec", {{"template", {{"metadata", {{"annotations", {{"v", "2"}}}}}}}}}})
                .ok());
    catchUp();
    return first;
  }
  json get(const ResourceType& type, const std::string& name) { return api->get(type.objectPath(kNs, name)).body; }
  std::vector<json> list(const ResourceType& type) { return api->list(type.collectionPath(kNs)); }
  std::vector<json> activePods() {
    std::vector<json> out;
    for (auto& p : list(ktc::kPod)) {
      if (ktc::isPodActive(p)) out.push_back(p);
    }
    return out;
  }
  json condition(const json& obj, const std::string& type) {
    for (const auto& c : obj.value("/status/conditions"_json_pointer, json::array())) {
      if (c["type"] == type) return c;
    }
    return {};
  }
};

}  // namespace

TEST_CASE("A Deployment gets a ReplicaSet with its pods, ready pods make it Available, a second reconcile writes nothing",
          "[cluster]") {
  TestCluster c;
  REQUIRE(c.api->post(types::kDeployment.collectionPath(kNs), deployment("web", 2)).ok());
  c.settle();

  json d = c.get(types::kDeployment, "web");
  std::string hash = ktc::templateHash(d["spec"]["template"]);
  CHECK(hash.size() == 10);
  auto rss = c.list(ktc::kReplicaSet);
  REQUIRE(rss.size() == 1);
  json rs = rss[0];
  CHECK(rs["metadata"]["name"] == "web-" + hash);
  CHECK(rs["metadata"]["labels"]["pod-template-hash"] == hash);
  CHECK(rs["spec"]["selector"]["matchLabels"]["pod-template-hash"] == hash);
  CHECK(rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == hash);
  CHECK(rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment");
  CHECK(rs["metadata"]["ownerReferences"][0]["uid"] == d["metadata"]["uid"]);
  CHECK(rs["metadata"]["ownerReferences"][0]["controller"] == true);
  CHECK(rs["spec"]["replicas"] == 2);

  auto pods = c.list(ktc::kPod);
  REQUIRE(pods.size() == 2);
  for (const auto& p : pods) {
    std::string name = p["metadata"]["name"];
    CHECK(name.rfind("web-" + hash + "-", 0) == 0);
    CHECK(name.size() == std::string("web-" + hash + "-").size() + 5);
    CHECK(p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet");
    CHECK(p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]);
    CHECK(p["metadata"]["ownerReferences"][0]["controller"] == true);
    CHECK(p["metadata"]["labels"]["pod-template-hash"] == hash);
    CHECK(p["metadata"]["labels"]["app"] == "web");
    CHECK(p["spec"]["nodeName"] == "test-node");
    CHECK(p["spec"]["containers"][0]["image"] == "busybox:1");
  }
  json status = c.get(types::kDeployment, "web")["status"];
  CHECK(status["observedGeneration"] == 1);
  CHECK(status["replicas"] == 2);
  CHECK(status["updatedReplicas"] == 2);
  CHECK_FALSE(status.contains("readyReplicas"));
  CHECK(status["unavailableReplicas"] == 2);
  CHECK(c.condition(c.get(types::kDeployment, "web"), "Available")["status"] == "False");

  c.runPods(true);
  c.settle();
  d = c.get(types::kDeployment, "web");
  CHECK(d["status"]["readyReplicas"] == 2);
  CHECK(d["status"]["availableReplicas"] == 2);
  CHECK_FALSE(d["status"].contains("unavailableReplicas"));
  CHECK(c.condition(d, "Available")["status"] == "True");
  CHECK(c.condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable");
  json rsStatus = c.get(ktc::kReplicaSet, "web-" + hash)["status"];
  CHECK(rsStatus["replicas"] == 2);
  CHECK(rsStatus["readyReplicas"] == 2);
  CHECK(rsStatus["availableReplicas"] == 2);
  CHECK(rsStatus["fullyLabeledReplicas"] == 2);
  CHECK(rsStatus["observedGeneration"] == 1);

  // Level-triggered and idempotent: every reconciler again finds nothing to do.
  CHECK_FALSE(c.round());
}

TEST_CASE("Scaling a Deployment adds and removes pods, not-ready ones first", "[cluster]") {
  TestCluster c;
  REQUIRE(c.api->post(types::kDeployment.collectionPath(kNs), deployment("web", 2)).ok());
  c.settle();
  c.runPods(true);
  c.settle();
  REQUIRE(c.api->patch(types::kDeployment.objectPath(kNs, "web"), {{"spec", {{"replicas", 3}}}}).ok());
  c.settle();
  auto pods = c.activePods();
  REQUIRE(pods.size() == 3);
  CHECK(c.get(types::kDeployment, "web")["status"]["replicas"] == 3);
  CHECK(c.get(types::kDeployment, "web")["status"]["observedGeneration"] == 2);
  CHECK(c.condition(c.get(types::kDeployment, "web"), "Available")["status"] == "False");
  // The new pod is the one not ready: scaling back to 2 removes it.
  std::string newest;
  for (const auto& p : pods) {
    if (!ktc::isPodReady(p)) newest = p["metadata"]["name"];
  }
  REQUIRE_FALSE(newest.empty());
  REQUIRE(c.api->patch(types::kDeployment.objectPath(kNs, "web"), {{"spec", {{"replicas", 2}}}}).ok());
  c.settle();
  pods = c.activePods();
  REQUIRE(pods.size() == 2);
  for (const auto& p : pods) CHECK(p["metadata"]["name"] != newest);
  CHECK(c.condition(c.get(types::kDeployment, "web"), "Available")["status"] == "True");
}

TEST_CASE("A template change with Recreate removes the old pods before the new ReplicaSet exists", "[cluster]") {
  TestCluster c;
  std::string oldRs = c.deployAndChangeTemplate("Recreate");
  REQUIRE(c.deploymentReconciler.reconcile(kNs, "web").ok);
  CHECK(c.list(ktc::kReplicaSet).size() == 1);  // old scaled to 0, new one not yet created
  CHECK(c.get(ktc::kReplicaSet, oldRs)["spec"]["replicas"] == 0);
  c.settle();

  json d = c.get(types::kDeployment, "web");
  std::string hash = ktc::templateHash(d["spec"]["template"]);
  auto rss = c.list(ktc::kReplicaSet);
  REQUIRE(rss.size() == 2);
  json newRs = c.get(ktc::kReplicaSet, "web-" + hash);
  CHECK(newRs["spec"]["replicas"] == 2);
  CHECK(newRs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2");
  CHECK(c.get(ktc::kReplicaSet, oldRs)["spec"]["replicas"] == 0);
  auto pods = c.activePods();
  REQUIRE(pods.size() == 2);
  for (const auto& p : pods) {
    CHECK(p["metadata"]["labels"]["pod-template-hash"] == hash);
    CHECK(p["metadata"]["annotations"]["v"] == "2");
  }
  CHECK(d["status"]["updatedReplicas"] == 2);
  CHECK(c.condition(d, "Progressing")["reason"] == "ReplicaSetUpdated");
  c.runPods(true);
  c.settle();
  d = c.get(types::kDeployment, "web");
  CHECK(c.condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable");
  CHECK(d["status"]["availableReplicas"] == 2);
}

TEST_CASE("RollingUpdate: maxSurge and maxUnavailable resolved as the real controller does", "[cluster]") {
  CHECK(ktc::resolveFenceposts(json::object(), 2) == std::pair(1LL, 0LL));  // 25%: surge rounds up, unavailable down
  CHECK(ktc::resolveFenceposts(json::object(), 4) == std::pair(1LL, 1LL));
  CHECK(ktc::resolveFenceposts(json{{"maxSurge", 0}, {"maxUnavailable", "0%"}}, 3) == std::pair(0LL, 1LL));
  CHECK(ktc::resolveFenceposts(json{{"maxSurge", "50%"}, {"maxUnavailable", "34%"}}, 3) == std::pair(2LL, 1LL));
  CHECK(ktc::resolveFenceposts(json{{"maxSurge", 0}, {"maxUnavailable", 5}}, 3) == std::pair(0LL, 3LL));
  CHECK(ktc::newReplicaSetTarget(4, 1, 4, 0) == 1);
  CHECK(ktc::newReplicaSetTarget(4, 1, 3, 1) == 2);
  CHECK(ktc::newReplicaSetTarget(4, 0, 4, 0) == 0);  // no surge: the old ones must shrink first
  CHECK(ktc::newReplicaSetTarget(4, 2, 0, 0) == 4);
  CHECK(ktc::newReplicaSetTarget(2, 1, 2, 3) == 2);  // above the goal: down to it
}

TEST_CASE("A template change with RollingUpdate (25%/25% of 2) surges by one and never goes below 2 available", "[cluster]") {
  TestCluster c;
  std::string oldRs = c.deployAndChangeTemplate("RollingUpdate");
  c.settle();
  json d = c.get(types::kDeployment, "web");
  std::string newRs = "web-" + ktc::templateHash(d["spec"]["template"]);
  CHECK(c.activePods().size() == 3);  // maxSurge 1: one new pod; maxUnavailable 0: both old ones stay
  CHECK(c.get(ktc::kReplicaSet, newRs)["spec"]["replicas"] == 1);
  CHECK(c.get(ktc::kReplicaSet, oldRs)["spec"]["replicas"] == 2);
  CHECK(d["status"]["updatedReplicas"] == 1);
  CHECK(d["status"]["replicas"] == 3);
  CHECK(c.condition(d, "Progressing")["reason"] == "ReplicaSetUpdated");

  c.runPods(true);  // the new pod available: one old one goes, the second new one comes
  c.settle();
  CHECK(c.get(ktc::kReplicaSet, oldRs)["spec"]["replicas"] == 1);
  CHECK(c.get(ktc::kReplicaSet, newRs)["spec"]["replicas"] == 2);
  CHECK(c.activePods().size() == 3);

  c.runPods(true);
  c.settle();
  CHECK(c.get(ktc::kReplicaSet, oldRs)["spec"]["replicas"] == 0);
  CHECK(c.activePods().size() == 2);
  d = c.get(types::kDeployment, "web");
  CHECK(c.condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable");
  CHECK(d["status"]["replicas"] == 2);
}

TEST_CASE("RollingUpdate with maxSurge 0 and maxUnavailable 50% of 4 replaces two pods at a time", "[cluster]") {
  TestCluster c;
  json dep = deployment("web", 4);
  dep["spec"]["strategy"]["rollingUpdate"] = {{"maxSurge", 0}, {"maxUnavailable", "50%"}};
  REQUIRE(c.api->post(types::kDeployment.collectionPath(kNs), dep).ok());
  c.settle();
  c.runPods(true);
  c.settle();
  std::string oldRs = c.list(ktc::kReplicaSet)[0]["metadata"]["name"];
  REQUIRE(c.api->patch(types::kDeployment.objectPath(kNs, "web"),
                       {{"spec", {{"template", {{"metadata", {{"annotations", {{"v", "2"}}}}}}}}}})
              .ok());
  c.settle();
  std::string newRs = "web-" + ktc::templateHash(c.get(types::kDeployment, "web")["spec"]["template"]);
  CHECK(c.get(ktc::kReplicaSet, oldRs)["spec"]["replicas"] == 2);  // 4 available, 2 may go
  CHECK(c.get(ktc::kReplicaSet, newRs)["spec"]["replicas"] == 2);  // never more than 4 pods
  CHECK(c.activePods().size() == 4);
  c.runPods(true);
  c.settle();
  CHECK(c.get(ktc::kReplicaSet, oldRs)["spec"]["replicas"] == 0);
  CHECK(c.get(ktc::kReplicaSet, newRs)["spec"]["replicas"] == 4);
  c.runPods(true);
  c.settle();
  CHECK(c.activePods().size() == 4);
  CHECK(c.condition(c.get(types::kDeployment, "web"), "Progressing")["reason"] == "NewReplicaSetAvailable");
}

TEST_CASE("A deleted pod and a Failed pod are replaced", "[cluster]") {
  TestCluster c;
  REQUIRE(c.api->post(types::kDeployment.collectionPath(kNs), deployment("web", 2)).ok());
  c.settle();
  auto pods = c.activePods();
  REQUIRE(pods.size() == 2);
  std::string deleted = pods[0]["metadata"]["name"];
  REQUIRE(c.api->del(ktc::kPod.objectPath(kNs, deleted)).ok());
  c.settle();
  pods = c.activePods();
  REQUIRE(pods.size() == 2);
  for (const auto& p : pods) CHECK(p["metadata"]["name"] != deleted);

  json failed = pods[0];
  failed["status"] = {{"phase", "Failed"}};
  REQUIRE(c.api->put(ktc::kPod.objectPath(kNs, failed["metadata"]["name"]) + "/status", failed).ok());
  c.settle();
  CHECK(c.activePods().size() == 2);
  CHECK(c.list(ktc::kPod).size() == 3);  // the Failed one stays for inspection
}

TEST_CASE("A Service gets Endpoints with the ready pods' IPs and resolved ports, a deleted Service loses them", "[cluster]") {
  TestCluster c;
  REQUIRE(c.api->post(types::kDeployment.collectionPath(kNs), deployment("web", 2)).ok());
  REQUIRE(c.api->post(types::kService.collectionPath(kNs), service("web", "web")).ok());
  json manual = service("manual", "web");
  manual["spec"].erase("selector");
  REQUIRE(c.api->post(types::kService.collectionPath(kNs), manual).ok());
  c.settle();
  json ep = c.get(ktc::kEndpoints, "web");
  CHECK(ep["metadata"]["labels"]["team"] == "a");
  CHECK_FALSE(ep.contains("subsets"));  // no pod has an IP yet
  CHECK(c.api->get(ktc::kEndpoints.objectPath(kNs, "manual")).notFound());

  c.runPods(false);
  c.settle();
  ep = c.get(ktc::kEndpoints, "web");
  REQUIRE(ep["subsets"].size() == 1);
  CHECK_FALSE(ep["subsets"][0].contains("addresses"));
  CHECK(ep["subsets"][0]["notReadyAddresses"].size() == 2);

  c.runPods(true);
  c.settle();
  ep = c.get(ktc::kEndpoints, "web");
  REQUIRE(ep["subsets"].size() == 1);
  json subset = ep["subsets"][0];
  CHECK_FALSE(subset.contains("notReadyAddresses"));
  REQUIRE(subset["addresses"].size() == 2);
  std::set<std::string> ips;
  for (const auto& a : subset["addresses"]) {
    ips.insert(a["ip"].get<std::string>());
    CHECK(a["targetRef"]["kind"] == "Pod");
    CHECK(c.podIps.at(a["targetRef"]["name"].get<std::string>()) == a["ip"]);
    CHECK(a["nodeName"] == "test-node");
  }
  CHECK(ips.size() == 2);
  CHECK(subset["ports"] == json::array({{{"name", "web"}, {"port", 8080}, {"protocol", "TCP"}}}));
  CHECK_FALSE(c.round());

  REQUIRE(c.api->del(types::kService.objectPath(kNs, "web")).ok());
  c.catchUp();
  REQUIRE(c.endpointsReconciler.reconcile(kNs, "web").ok);
  CHECK(c.api->get(ktc::kEndpoints.objectPath(kNs, "web")).notFound());
}

TEST_CASE("A Service gets EndpointSlices: a placeholder, then its pods with conditions, gone with the Service", "[cluster]") {
  TestCluster c;
  REQUIRE(c.api->post(types::kDeployment.collectionPath(kNs), deployment("web", 2)).ok());
  REQUIRE(c.api->post(types::kService.collectionPath(kNs), service("web", "web")).ok());
  c.settle();
  auto slicesOf = [&](const std::string& svc) {
    std::vector<json> out;
    for (const auto& s : c.list(ktc::kEndpointSlice)) {
      if (s["metadata"]["labels"].value("kubernetes.io/service-name", "") == svc) out.push_back(s);
    }
    return out;
  };
  auto slices = slicesOf("web");
  REQUIRE(slices.size() == 1);  // the placeholder: no pod has an IP yet
  CHECK(slices[0]["endpoints"].empty());
  CHECK_FALSE(slices[0].contains("ports"));
  CHECK(slices[0]["addressType"] == "IPv4");
  CHECK(slices[0]["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io");
  CHECK(slices[0]["metadata"]["labels"]["team"] == "a");
  CHECK(slices[0]["metadata"]["ownerReferences"][0]["kind"] == "Service");

  c.runPods(false);
  c.settle();
  slices = slicesOf("web");
  REQUIRE(slices.size() == 1);
  REQUIRE(slices[0]["endpoints"].size() == 2);
  for (const auto& e : slices[0]["endpoints"]) {
    CHECK(e["conditions"] == json{{"ready", false}, {"serving", false}, {"terminating", false}});
    CHECK(c.podIps.at(e["targetRef"]["name"].get<std::string>()) == e["addresses"][0]);
    CHECK(e["nodeName"] == "test-node");
  }
  CHECK(slices[0]["ports"] == json::array({{{"name", "web"}, {"port", 8080}, {"protocol", "TCP"}}}));
  CHECK(slices[0]["metadata"]["name"].get<std::string>().rfind("web-", 0) == 0);

  c.runPods(true);
  c.settle();
  slices = slicesOf("web");
  REQUIRE(slices.size() == 1);
  for (const auto& e : slices[0]["endpoints"]) CHECK(e["conditions"]["ready"] == true);
  CHECK_FALSE(c.round());  // nothing to write once in line

  REQUIRE(c.api->del(types::kService.objectPath(kNs, "web")).ok());
  c.catchUp();
  REQUIRE(c.endpointsReconciler.reconcile(kNs, "web").ok);
  CHECK(slicesOf("web").empty());
}

TEST_CASE("The wired controllers run a Deployment and a Service to Available with Endpoints", "[cluster]") {
  auto api = std::make_shared<testing::FakeKubeApi>();
  ktc::ClusterControllers controllers(api, {{kNs}, "test-node", 2});
  controllers.startInformers();
  REQUIRE(eventually([&] { return controllers.synced(); }));
  controllers.startControllers();
  REQUIRE(api->post(types::kDeployment.collectionPath(kNs), deployment("web", 2)).ok());
  REQUIRE(api->post(types::kService.collectionPath(kNs), service("web", "web")).ok());
  REQUIRE(eventually([&] { return api->list(ktc::kPod.collectionPath(kNs)).size() == 2; }));
  int n = 0;
  for (auto pod : api->list(ktc::kPod.collectionPath(kNs))) {
    pod["status"] = {{"phase", "Running"},
                     {"podIP", "10.244.1." + std::to_string(++n)},
                     {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}};
    REQUIRE(api->put(ktc::kPod.objectPath(kNs, pod["metadata"]["name"]) + "/status", pod).ok());
  }
  REQUIRE(eventually([&] {
    json d = api->get(types::kDeployment.objectPath(kNs, "web")).body;
    json ep = api->get(ktc::kEndpoints.objectPath(kNs, "web")).body;
    auto slices = api->list(ktc::kEndpointSlice.collectionPath(kNs));
    return d.value("/status/availableReplicas"_json_pointer, 0) == 2 &&
           ep.value("/subsets/0/addresses"_json_pointer, json::array()).size() == 2 && slices.size() == 1 &&
           slices[0].value("endpoints", json::array()).size() == 2;
  }));
  CHECK(api->list(ktc::kPod.collectionPath(kNs)).size() == 2);  // never a pod too many
  controllers.stop();
}
