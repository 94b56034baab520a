// The operator's work queue: dedupe, one worker per key, re-queue after done, backoff.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "controller/workqueue.h"

using flink::k8s::WorkQueue;

TEST_CASE("WorkQueue holds a waiting key once however often it is added", "[workqueue]") {
  WorkQueue q;
  q.add("ns/a");
  q.add("ns/a");
  q.add("ns/b");
  REQUIRE(q.depth() == 2);
  std::string k;
  REQUIRE(q.get(&k));
  REQUIRE(k == "ns/a");
  REQUIRE(q.get(&k));
  REQUIRE(k == "ns/b");
  REQUIRE(q.depth() == 0);
}

TEST_CASE("WorkQueue never hands a key in process to a second worker and requeues it when done", "[workqueue]") {
  WorkQueue q;
  q.add("ns/a");
  std::string k;
  REQUIRE(q.get(&k));
  q.add("ns/a");             // changed while being processed
  REQUIRE(q.depth() == 0);   // not available to another worker
  q.done("ns/a");
  REQUIRE(q.depth() == 1);   // queued again once the worker is done
  REQUIRE(q.get(&k));
  REQUIRE(k == "ns/a");
  q.done("ns/a");
  REQUIRE(q.depth() == 0);
}

TEST_CASE("WorkQueue backs off per key exponentially until forget", "[workqueue]") {
  WorkQueue q;
  for (int i = 0; i < 5; ++i) q.addRateLimited("ns/x");
  REQUIRE(q.failures("ns/x") == 5);
  REQUIRE(q.failures("ns/y") == 0);
  q.forget("ns/x");
  REQUIRE(q.failures("ns/x") == 0);
}

TEST_CASE("WorkQueue delivers a delayed key only after its delay", "[workqueue]") {
  WorkQueue q;
  auto start = WorkQueue::Clock::now();
  q.addAfter("ns/late", std::chrono::milliseconds(50));
  q.add("ns/now");
  std::string k;
  REQUIRE(q.get(&k));
  REQUIRE(k == "ns/now");
  REQUIRE(q.get(&k));
  REQUIRE(k == "ns/late");
  REQUIRE(WorkQueue::Clock::now() - start >= std::chrono::milliseconds(50));
}

TEST_CASE("WorkQueue shutdown releases blocked workers", "[workqueue]") {
  WorkQueue q;
  std::atomic<bool> returned{false};
  std::thread worker([&] {
    std::string k;
    REQUIRE_FALSE(q.get(&k));
    returned = true;
  });
  q.shutdown();
  worker.join();
  REQUIRE(returned);
}

TEST_CASE("WorkQueue hands spec-changed keys out before thousands of resync keys", "[workqueue]") {
  WorkQueue q;
  for (int i = 0; i < 5000; ++i) q.add("ns/resync-" + std::to_string(i), WorkQueue::Priority::kLow);
  q.add("ns/changed", WorkQueue::Priority::kHigh);
  q.add("ns/resync-4999", WorkQueue::Priority::kHigh);  // a waiting resync key whose spec changed moves up
  std::string k;
  REQUIRE(q.get(&k));
  CHECK(k == "ns/changed");
  q.done(k);
  REQUIRE(q.get(&k));
  CHECK(k == "ns/resync-4999");
  q.done(k);
  REQUIRE(q.get(&k));
  CHECK(k == "ns/resync-0");  // then the resync keys, in order
  q.done(k);
  CHECK(q.depth() == 4998);  // each key once: the moved key left no second entry behind
  int handed = 0;
  while (q.depth() > 0 && q.get(&k)) {
    CHECK(k != "ns/resync-4999");
    q.done(k);
    ++handed;
  }
  CHECK(handed == 4998);
}

TEST_CASE("WorkQueue keeps a key added during its processing in its lane", "[workqueue]") {
  WorkQueue q;
  q.add("ns/a", WorkQueue::Priority::kLow);
  std::string k;
  REQUIRE(q.get(&k));
  q.add("ns/a", WorkQueue::Priority::kHigh);  // changed while being processed
  q.add("ns/b", WorkQueue::Priority::kLow);
  q.done("ns/a");
  REQUIRE(q.get(&k));
  CHECK(k == "ns/a");  // high lane, ahead of ns/b
}
