// Kubernetes HA services of the JobManager (runtime/src/ha) and the ConfigMap lock of the
// leader elector, against the one fake KubeApi: who leads, what the HA ConfigMaps hold, and
// what a new leader recovers.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "fake_kube_api.h"
#include "flink/common/ids.h"
#include "ha/kubernetes_ha.h"
#include "k8s/leader_election.h"

namespace {

using flink::Configuration;
using flink::ha::HaSettings;
using flink::ha::KubernetesHaServices;
using flink::k8s::testing::eventually;
using flink::k8s::testing::FakeKubeApi;
using nlohmann::json;
namespace fs = std::filesystem;

const std::string kClusterCm = "/api/v1/namespaces/ns/configmaps/job-a-cluster-config-map";

HaSettings settings(const std::string& dir) {
  Configuration c;
  c.set("high-availability.type", "kubernetes");
  c.set("high-availability.storageDir", "file://" + dir);
  c.set("kubernetes.cluster-id", "job-a");
  c.set("kubernetes.namespace", "ns");
  c.set("high-availability.kubernetes.leader-election.lease-duration", "1 s");
  c.set("high-availability.kubernetes.leader-election.renew-deadline", "1 s");
  c.set("high-availability.kubernetes.leader-election.retry-period", "50 ms");
  auto s = HaSettings::fromConfig(c);
  REQUIRE(s.ok());
  return *s;
}

std::string tempDir() {
  std::string d = (fs::temp_directory_path() / ("ha-test-" + flink::randomId())).string();
  fs::create_directories(d);
  return d;
}

json leaderRecord(FakeKubeApi& api) {
  auto cm = api.get(kClusterCm);
  REQUIRE(cm.ok());
  return json::parse(cm.body["metadata"]["annotations"][flink::k8s::kLeaderAnnotation].get<std::string>());
}

}  // namespace

TEST_CASE("HA settings follow Flink's keys and name the missing ones", "[ha]") {
  Configuration c;
  auto off = HaSettings::fromConfig(c);
  REQUIRE(off.ok());
  CHECK_FALSE(off->enabled);
  c.set("high-availability", "KUBERNETES");  // the older key, any case
  c.set("kubernetes.cluster-id", "x");
  auto noDir = HaSettings::fromConfig(c);
  REQUIRE_FALSE(noDir.ok());
  CHECK_THAT(noDir.status().message(), Catch::Contains("high-availability.storageDir"));
  c.set("high-availability.type", "zookeeper");
  auto zk = HaSettings::fromConfig(c);
  REQUIRE_FALSE(zk.ok());
  CHECK_THAT(zk.status().message(), Catch::Contains("high-availability.type"));
  c.set("high-availability.type", "org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory");
  c.set("high-availability.storageDir", "file:///ha");
  auto on = HaSettings::fromConfig(c);
  REQUIRE(on.ok());
  CHECK(on->enabled);
  CHECK(on->storageDir == "/ha");
  CHECK(on->clusterConfigMap() == "x-cluster-config-map");
  CHECK(on->jobConfigMap("j1") == "x-j1-config-map");
  CHECK(on->leaseDurationSeconds == 15);
}

TEST_CASE("One of two JobManagers leads through the cluster ConfigMap and the other takes over when it stops", "[ha]") {
  auto api = std::make_shared<FakeKubeApi>();
  std::string dir = tempDir();
  std::atomic<bool> stop{false};
  auto first = std::make_unique<KubernetesHaServices>(settings(dir), api, "jm-1");
  REQUIRE(first->awaitLeadership(&stop, [] {}));
  json record = leaderRecord(*api);
  CHECK(record["holderIdentity"] == "jm-1");
  CHECK(record["leaderTransitions"] == 0);
  auto cm = api->get(kClusterCm);
  CHECK(cm.body["metadata"]["labels"]["configmap-type"] == "high-availability");
  CHECK(cm.body["metadata"]["labels"]["app"] == "job-a");

  KubernetesHaServices second(settings(dir), api, "jm-2");
  std::atomic<bool> secondLeads{false};
  std::thread campaign([&] { secondLeads = second.awaitLeadership(&stop, [] {}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(secondLeads.load());  // the lease is renewed: a standby waits
  first->stop();                    // (SIGKILL: no renewals any more)
  campaign.join();
  CHECK(secondLeads.load());
  record = leaderRecord(*api);
  CHECK(record["holderIdentity"] == "jm-2");
  CHECK(record["leaderTransitions"] == 1);
  second.stop();
  fs::remove_all(dir);
}

TEST_CASE("A new leader recovers the job graphs and the newest retained checkpoint, and a finished job's HA data goes", "[ha]") {
  auto api = std::make_shared<FakeKubeApi>();
  std::string dir = tempDir();
  std::atomic<bool> stop{false};
  {
    KubernetesHaServices leader(settings(dir), api, "jm-1");
    REQUIRE(leader.awaitLeadership(&stop, [] {}));
    REQUIRE(leader.putJobGraph("j1", {{"jobId", "j1"}, {"entryClass", "E"}}).ok());
    REQUIRE(leader.putJobGraph("j2", {{"jobId", "j2"}, {"entryClass", "F"}}).ok());
    for (int id = 1; id <= 4; ++id) leader.checkpointCompleted("j1", id, dir + "/chk-" + std::to_string(id), 2);
    leader.stop();  // runs what was queued
  }
  auto jobCm = api->get("/api/v1/namespaces/ns/configmaps/job-a-j1-config-map");
  REQUIRE(jobCm.ok());
  const json data = jobCm.body["data"];
  CHECK(data["counter"] == "5");
  CHECK_FALSE(data.contains(flink::ha::checkpointKey(2)));  // two retained: 3 and 4
  REQUIRE(data.contains(flink::ha::checkpointKey(4)));
  CHECK(flink::ha::checkpointKey(4) == "checkpointID-0000000000000000004");
  CHECK(json::parse(data[flink::ha::checkpointKey(4)].get<std::string>())["externalPointer"] == dir + "/chk-4");

  KubernetesHaServices successor(settings(dir), api, "jm-1");  // the same pod, restarted
  REQUIRE(successor.awaitLeadership(&stop, [] {}));
  auto graphs = successor.recoverJobGraphs();
  REQUIRE(graphs.ok());
  REQUIRE(graphs->size() == 2);
  auto latest = successor.latestCheckpoint("j1");
  REQUIRE(latest.ok());
  REQUIRE(latest->has_value());
  CHECK((*latest)->checkpointId == 4);
  CHECK((*latest)->externalPointer == dir + "/chk-4");
  auto none = successor.latestCheckpoint("j2");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  successor.jobTerminated("j1");
  CHECK(eventually([&] { return api->get("/api/v1/namespaces/ns/configmaps/job-a-j1-config-map").notFound(); }));
  CHECK(eventually([&] {
    auto cm = api->get(kClusterCm);
    return cm.ok() && !cm.body["data"].contains("executionPlan-j1") && cm.body["data"].contains("executionPlan-j2");
  }));
  CHECK(eventually([&] { return !fs::exists(dir + "/job-a/submittedJobGraph-j1"); }));
  successor.stop();
  fs::remove_all(dir);
}

TEST_CASE("A job graph whose file is gone is skipped, the others recovered", "[ha]") {
  auto api = std::make_shared<FakeKubeApi>();
  std::string dir = tempDir();
  std::atomic<bool> stop{false};
  KubernetesHaServices leader(settings(dir), api, "jm-1");
  REQUIRE(leader.awaitLeadership(&stop, [] {}));
  REQUIRE(leader.putJobGraph("j1", {{"jobId", "j1"}}).ok());
  REQUIRE(leader.putJobGraph("j2", {{"jobId", "j2"}}).ok());
  fs::remove(dir + "/job-a/submittedJobGraph-j1");
  auto graphs = leader.recoverJobGraphs();
  REQUIRE(graphs.ok());
  REQUIRE(graphs->size() == 1);
  CHECK((*graphs)[0]["jobId"] == "j2");
  leader.stop();
  fs::remove_all(dir);
}
