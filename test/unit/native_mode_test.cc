// Native Kubernetes mode (spec.mode: native): the operator's children (no TaskManager
// Deployment; the TaskManager pod template and Flink's kubernetes.* keys in the ConfigMap) and
// the JobManager's Kubernetes driver (jobmanager/kubernetes_driver.h): the pod math, the pods
// it builds, its settings, and its life against the fake API: clean-up of earlier attempts,
// pods for the slot demand, replacement of a failed pod, release of idle TaskManagers, deletion
// on stop.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "api/flink_deployment.h"
#include "controller/resources.h"
#include "fake_kube_api.h"
#include "flink/configuration.h"
#include "jobmanager/kubernetes_driver.h"
#include "jobmanager/resource_manager.h"
#include "net/connection.h"

using namespace flink;
using nlohmann::json;
using flink::k8s::testing::eventually;
using flink::k8s::testing::FakeKubeApi;

namespace {

std::string manifest(const std::string& mode, bool application = true) {
  std::string text = R"(apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: delays
  namespace: streaming
spec:
  image: flink-cpp:e2e
  flinkVersion: v1_19
  serviceAccount: flink
)" + mode + R"(  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "2"
  jobManager:
    resource: {memory: "1024m", cpu: 1}
  taskManager:
    resource: {memory: "1536m", cpu: 0.5}
    podTemplate:
      spec:
        containers:
          - name: sidecar
            image: busybox
)";
  if (application) {
    text += R"(  job:
    jarURI: builtin://flink-cpp-examples
    entryClass: flinkcpp.examples.FlightDelays
    parallelism: 3
)";
  }
  return text;
}

k8s::FlinkDeployment parse(const std::string& text) {
  auto r = k8s::parseFlinkDeployment(YAML::Load(text), "test.yaml");
  INFO(r.status().message());
  REQUIRE(r.ok());
  k8s::FlinkDeployment fd = *r;
  fd.uid = "uid-fd";
  return fd;
}

const json* find(const std::vector<json>& all, const std::string& kind, const std::string& name) {
  for (const auto& o : all) {
    if (o.at("kind") == kind && o.at("metadata").at("name") == name) return &o;
  }
  return nullptr;
}

Configuration configOf(const json& configMap) {
  auto c = Configuration::parseYaml(configMap.at("data").at("config.yaml").get<std::string>(), "config.yaml");
  REQUIRE(c.ok());
  return *c;
}

}  // namespace

TEST_CASE("native mode: no TaskManager Deployment, the pod template in the ConfigMap", "[native]") {
  auto native = k8s::desiredResources(parse(manifest("  mode: native\n")), {});
  auto standalone = k8s::desiredResources(parse(manifest("  mode: standalone\n")), {});
  CHECK(native.size() == 4);
  CHECK(find(native, "Deployment", "delays-taskmanager") == nullptr);
  REQUIRE(find(native, "Deployment", "delays") != nullptr);
  REQUIRE(find(standalone, "Deployment", "delays-taskmanager") != nullptr);

  const json& cm = *find(native, "ConfigMap", "flink-config-delays");
  json pod = json::parse(cm.at("data").at("taskmanager-pod-template.yaml").get<std::string>());
  CHECK(pod.at("kind") == "Pod");
  CHECK(pod.at("apiVersion") == "v1");
  // The template is the pod the TaskManager Deployment would have run: image, arguments,
  // resources, volumes, environment, the podTemplate's sidecar, the service account.
  const json& tmDeployment = *find(standalone, "Deployment", "delays-taskmanager");
  CHECK(pod.at("spec") == tmDeployment.at("spec").at("template").at("spec"));
  CHECK(pod.at("metadata").at("labels") == json{{"app", "delays"}, {"component", "taskmanager"}});
  CHECK(pod.at("spec").at("containers").size() == 2);
  CHECK(pod.at("spec").at("serviceAccountName") == "flink");

  Configuration conf = configOf(cm);
  CHECK(conf.getString("execution.target", "") == "kubernetes-application");
  CHECK(conf.getString("kubernetes.pod-template-file.taskmanager", "") == "/opt/flink/conf/taskmanager-pod-template.yaml");
  CHECK(conf.getString("kubernetes.cluster-id", "") == "delays");
  CHECK(conf.getString("kubernetes.namespace", "") == "streaming");
  CHECK(conf.getString("kubernetes.container.image.ref", "") == "flink-cpp:e2e");
  CHECK(conf.getString("kubernetes.taskmanager.cpu.amount", "") == "0.5");
  CHECK(conf.getString("kubernetes.service-account", "") == "flink");
  CHECK(conf.getString("taskmanager.memory.process.size", "") == "1536m");
  // The JobManager pod runs as the service account that may create pods.
  const json& jm = *find(native, "Deployment", "delays");
  CHECK(jm.at("spec").at("template").at("spec").at("serviceAccountName") == "flink");
}

TEST_CASE("native mode: session clusters and manifests without spec.mode", "[native]") {
  auto session = k8s::desiredResources(parse(manifest("  mode: native\n", false)), {});
  CHECK(find(session, "Deployment", "delays-taskmanager") == nullptr);
  CHECK(configOf(*find(session, "ConfigMap", "flink-config-delays")).getString("execution.target", "") ==
        "kubernetes-session");
  for (const std::string& mode : {std::string(), std::string("  mode: standalone\n")}) {
    auto all = k8s::desiredResources(parse(manifest(mode)), {});
    INFO("mode line: " << mode);
    CHECK(find(all, "Deployment", "delays-taskmanager") != nullptr);
    const json& cm = *find(all, "ConfigMap", "flink-config-delays");
    CHECK_FALSE(cm.at("data").contains("taskmanager-pod-template.yaml"));
    Configuration conf = configOf(cm);
    CHECK(conf.getString("execution.target", "") == "remote");
    CHECK_FALSE(conf.contains("kubernetes.pod-template-file.taskmanager"));
  }
}

TEST_CASE("native driver: TaskManager pods for the slot demand", "[native]") {
  struct Case {
    int demand, slots, live, expected;
  };
  for (const Case& c : std::vector<Case>{{0, 1, 0, 0},
                                         {2, 1, 0, 2},
                                         {3, 2, 0, 2},
                                         {4, 2, 1, 1},
                                         {8, 2, 4, 0},
                                         {8, 2, 6, 0},
                                         {32, 4, 3, 5},
                                         {5, 0, 0, 0}}) {
    INFO("demand " << c.demand << ", " << c.slots << " slots per TaskManager, " << c.live << " live pods");
    CHECK(taskManagerPodsToCreate(c.demand, c.slots, c.live) == c.expected);
  }
}

TEST_CASE("native driver: the TaskManager pod built from the template", "[native]") {
  NativeKubernetesSettings s;
  s.clusterId = "delays";
  s.ns = "streaming";
  s.image = "flink-cpp:e2e";
  s.cpu = "0.5";
  s.memory = "1536m";
  s.jobManagerAddress = "198.18.0.7";
  s.podTemplate = {{"metadata", {{"labels", {{"team", "a"}}}, {"annotations", {{"note", "x"}}}}},
                   {"spec",
                    {{"restartPolicy", "Always"},
                     {"containers",
                      json::array({{{"name", "sidecar"}, {"image", "busybox"}},
                                   {{"name", "flink-main-container"},
                                    {"image", "flink-cpp:tm"},
                                    {"args", json::array({"taskmanager", "-Dtaskmanager.host=$(_POD_IP_ADDRESS)"})}}})}}}};

  json pod = taskManagerPod(s, "delays-taskmanager-1-2", "uid-jm");
  const json& meta = pod.at("metadata");
  CHECK(meta.at("name") == "delays-taskmanager-1-2");
  CHECK(meta.at("namespace") == "streaming");
  CHECK(meta.at("labels") ==
        json{{"team", "a"}, {"app", "delays"}, {"component", "taskmanager"}, {"type", "flink-native-kubernetes"}});
  CHECK(meta.at("annotations").at("note") == "x");
  CHECK(meta.at("ownerReferences") == json::array({{{"apiVersion", "apps/v1"},
                                                     {"kind", "Deployment"},
                                                     {"name", "delays"},
                                                     {"uid", "uid-jm"},
                                                     {"controller", false},
                                                     {"blockOwnerDeletion", true}}}));
  CHECK(pod.at("spec").at("restartPolicy") == "Never");
  const json& main = pod.at("spec").at("containers").at(1);
  CHECK(main.at("image") == "flink-cpp:tm");
  CHECK(main.at("args") == json::array({"taskmanager", "-Dtaskmanager.host=$(_POD_IP_ADDRESS)",
                                        "-Djobmanager.rpc.address=198.18.0.7",
                                        "-Dtaskmanager.resource-id=delays-taskmanager-1-2"}));
  CHECK(main.at("resources") == json{{"requests", {{"cpu", "0.5"}, {"memory", "1536Mi"}}},
                                     {"limits", {{"cpu", "0.5"}, {"memory", "1536Mi"}}}});

  // No template: a main container of its own; no Deployment found: no owner reference.
  s.podTemplate = json::object();
  json bare = taskManagerPod(s, "delays-taskmanager-1-3", "");
  CHECK_FALSE(bare.at("metadata").contains("ownerReferences"));
  const json& only = bare.at("spec").at("containers").at(0);
  CHECK(only.at("name") == "flink-main-container");
  CHECK(only.at("image") == "flink-cpp:e2e");
  CHECK(only.at("args").at(0) == "taskmanager");
}

TEST_CASE("native driver: settings from the configuration", "[native]") {
  Configuration c;
  CHECK_FALSE(*NativeKubernetesSettings::fromConfig(c, ""));  // not native
  c.set("execution.target", "kubernetes-session");
  CHECK_FALSE(NativeKubernetesSettings::fromConfig(c, "").ok());  // no cluster id
  c.set("kubernetes.cluster-id", "delays");
  c.set("kubernetes.namespace", "streaming");
  c.set("taskmanager.numberOfTaskSlots", "4");
  c.set("resourcemanager.taskmanager-timeout", "5 s");
  c.set(options::kRpcAddress, "delays");
  auto s = NativeKubernetesSettings::fromConfig(c, "");
  REQUIRE(s.ok());
  REQUIRE(*s);
  CHECK((*s)->slotsPerTaskManager == 4);
  CHECK((*s)->idleTimeoutMs == 5000);
  CHECK((*s)->jobManagerAddress == "delays");
  CHECK((*NativeKubernetesSettings::fromConfig(c, "198.18.0.9"))->jobManagerAddress == "198.18.0.9");

  // The template file: JSON as the operator writes it, or YAML as a person writes it.
  std::string dir = std::filesystem::temp_directory_path() / ("native-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/t.json") << R"({"kind": "Pod", "spec": {"containers": [{"name": "x", "ports": [{"containerPort": 1}]}]}})";
  std::ofstream(dir + "/t.yaml") << "kind: Pod\nspec:\n  containers:\n    - name: x\n      ports:\n        - containerPort: 1\n";
  for (const char* f : {"/t.json", "/t.yaml"}) {
    c.set("kubernetes.pod-template-file.taskmanager", dir + f);
    auto t = NativeKubernetesSettings::fromConfig(c, "");
    INFO(f << ": " << t.status().message());
    REQUIRE(t.ok());
    CHECK((*t)->podTemplate.at("spec").at("containers").at(0).at("ports").at(0).at("containerPort") == 1);
  }
  c.set("kubernetes.pod-template-file.taskmanager", dir + "/missing.yaml");
  CHECK_FALSE(NativeKubernetesSettings::fromConfig(c, "").ok());
  std::filesystem::remove_all(dir);
}

TEST_CASE("native driver: pods on demand, replaced when failed, released when idle, deleted on stop", "[native]") {
  auto api = std::make_shared<FakeKubeApi>();
  const std::string pods = "/api/v1/namespaces/streaming/pods";
  auto podNames = [&] {
    std::vector<std::string> out;
    for (const auto& p : api->list(pods)) out.push_back(p.at("metadata").at("name"));
    return out;
  };
  REQUIRE(api->post("/apis/apps/v1/namespaces/streaming/deployments",
                    {{"metadata", {{"name", "delays"}, {"namespace", "streaming"}}}})
              .ok());
  const std::string jmUid = api->get("/apis/apps/v1/namespaces/streaming/deployments/delays").body["metadata"]["uid"];
  // A TaskManager pod of an earlier JobManager attempt, and a pod of another cluster.
  json labels = {{"app", "delays"}, {"component", "taskmanager"}, {"type", "flink-native-kubernetes"}};
  REQUIRE(api->post(pods, {{"metadata", {{"name", "delays-taskmanager-2-1"}, {"labels", labels}}}}).ok());
  REQUIRE(api->post(pods, {{"metadata", {{"name", "other-1"}, {"labels", {{"app", "other"}}}}}}).ok());

  NativeKubernetesSettings s;
  s.clusterId = "delays";
  s.ns = "streaming";
  s.slotsPerTaskManager = 2;
  s.idleTimeoutMs = 30000;
  s.jobManagerAddress = "198.18.0.7";
  s.podTemplate = json::object();
  KubernetesResourceDriver driver(api, s);
  driver.start();
  ResourceManager rm;
  auto now = std::chrono::steady_clock::now();

  REQUIRE(eventually([&] { return driver.attempt() == 3; }));
  CHECK(podNames() == std::vector<std::string>{"other-1"});

  // 3 slots at 2 per TaskManager: two pods, owned by the JobManager Deployment.
  REQUIRE(eventually([&] {
    driver.update(3, rm, now);
    return podNames().size() == 3;
  }));
  CHECK(podNames() == std::vector<std::string>{"delays-taskmanager-3-1", "delays-taskmanager-3-2", "other-1"});
  json first = api->get(pods + "/delays-taskmanager-3-1").body;
  CHECK(first["metadata"]["ownerReferences"][0]["uid"] == jmUid);
  CHECK(first["metadata"]["labels"] == labels);

  // The first pod fails: deleted, and a third one replaces it.
  first["status"] = {{"phase", "Failed"}};
  REQUIRE(api->put(pods + "/delays-taskmanager-3-1/status", first).ok());
  REQUIRE(eventually([&] {
    driver.update(3, rm, now);
    return podNames() == std::vector<std::string>{"delays-taskmanager-3-2", "delays-taskmanager-3-3", "other-1"};
  }));

  // Both TaskManagers register; the job ends (demand 0): released once idle past the timeout.
  for (const char* id : {"delays-taskmanager-3-2", "delays-taskmanager-3-3"}) {
    rm.registerTaskManager(std::make_shared<net::Connection>(),
                           {{"resourceId", id}, {"host", "198.18.0.9"}, {"dataPort", 6121}, {"slots", 2}});
  }
  CHECK(driver.update(3, rm, now).empty());
  CHECK(driver.update(2, rm, now + std::chrono::seconds(31)) == std::vector<std::string>{"delays-taskmanager-3-2"});
  rm.unregister("delays-taskmanager-3-2");
  CHECK_FALSE(driver.accepts("delays-taskmanager-3-2"));  // released: may not register again
  CHECK(driver.accepts("delays-taskmanager-3-3"));
  CHECK(driver.accepts("a-taskmanager-started-by-hand"));
  CHECK_FALSE(driver.accepts("delays-taskmanager-2-1"));  // an earlier attempt's pod
  REQUIRE(eventually([&] {
    driver.update(2, rm, now + std::chrono::seconds(32));
    return podNames() == std::vector<std::string>{"delays-taskmanager-3-3", "other-1"};
  }));
  CHECK(driver.livePods() == std::vector<std::string>{"delays-taskmanager-3-3"});

  // A clean stop deletes the rest; other clusters' pods are never touched.
  driver.stop(true);
  CHECK(podNames() == std::vector<std::string>{"other-1"});
}
