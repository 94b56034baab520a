// The informer's list: paginated with limit/continue, every page applied.
#include <catch2/catch.hpp>

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
