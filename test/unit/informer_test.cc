// The informer's list: paginated with limit/continue, every page applied.
#include <catch2/catch.hpp>

#include <mutex>
#include <vector>

#include "fake_kube_api.h"
#include "k8s/informer.h"

using namespace flink::k8s;

TEST_CASE("Informer lists a large collection in pages and caches every object", "[informer][concurrency]") {
  auto api = std::make_shared<testing::FakeKubeApi>();
  const std::string collection = types::kConfigMap.collectionPath("ns");
  for (int i = 0; i < 7; ++i) {
    REQUIRE(api->post(collection, {{"metadata", {{"name", "cm-" + std::to_string(i)}, {"namespace", "ns"}}}}).ok());
  }
  Informer informer(api, types::kConfigMap, "ns", "", /*pageSize=*/3);
  informer.start();
  REQUIRE(testing::eventually([&] { return informer.synced(); }));
  CHECK(informer.list().size() == 7);
  CHECK(informer.get("ns", "cm-6"));
  CHECK(api->largestList() == 3);     // no response held more than a page
  CHECK(api->listRequests() >= 3);    // 3 + 3 + 1
  // Later changes arrive through the watch started at the list's resourceVersion.
  REQUIRE(api->post(collection, {{"metadata", {{"name", "cm-7"}, {"namespace", "ns"}}}}).ok());
  CHECK(testing::eventually([&] { return informer.list().size() == 8; }));
  informer.stop();
}

TEST_CASE("Informer strips managedFields and applies its transform before caching and handlers", "[informer]") {
  auto api = std::make_shared<testing::FakeKubeApi>();
  const std::string collection = types::kConfigMap.collectionPath("ns");
  nlohmann::json managed = nlohmann::json::array({{{"manager", "kubectl"}, {"operation", "Update"}}});
  REQUIRE(api->post(collection, {{"metadata", {{"name", "listed"}, {"namespace", "ns"}, {"managedFields", managed}}},
                                 {"data", {{"big", std::string(4096, 'x')}}}})
              .ok());
  Informer informer(api, types::kConfigMap, "ns");
  informer.setTransform([](nlohmann::json& o) { o.erase("data"); });
  std::mutex mu;
  std::vector<nlohmann::json> seen;
  std::vector<bool> hadPrevious;
  informer.addChangeHandler([&](Informer::EventType, const nlohmann::json& o, const nlohmann::json* previous) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(o);
    hadPrevious.push_back(previous != nullptr);
  });
  informer.start();
  REQUIRE(testing::eventually([&] { return informer.synced(); }));
  // Through the watch too, and a change of a cached object.
  REQUIRE(api->post(collection, {{"metadata", {{"name", "watched"}, {"namespace", "ns"}, {"managedFields", managed}}}}).ok());
  REQUIRE(api->patch(collection + "/listed", {{"metadata", {{"labels", {{"l", "1"}}}}}}).ok());
  REQUIRE(testing::eventually([&] {
    auto o = informer.get("ns", "listed");
    return informer.size() == 2 && o && (*o)["metadata"].contains("labels");
  }));
  for (const auto& o : informer.list()) {
    CHECK_FALSE(o["metadata"].contains("managedFields"));
    CHECK_FALSE(o.contains("data"));
  }
  CHECK(informer.keys() == std::vector<std::string>{"ns/listed", "ns/watched"});
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(seen.size() == 3);
  for (const auto& o : seen) CHECK_FALSE(o["metadata"].contains("managedFields"));
  CHECK(hadPrevious == std::vector<bool>{false, false, true});
  informer.stop();
}
