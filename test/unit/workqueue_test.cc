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
