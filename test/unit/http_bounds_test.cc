// The REST server's bounds under hostile clients (flink/common/http.h): a bounded task queue
// and read timeouts that drop clients who stop sending.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>

#include "flink/common/http.h"
#include "flink/configuration.h"

namespace {

int connectTo(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

// Everything the server sends until it closes the connection.
std::string readToClose(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

TEST_CASE("BoundedTaskQueue keeps at most maxPending jobs waiting and runs every job it took", "[http][concurrency]") {
  flink::BoundedTaskQueue queue(/*threads=*/1, /*maxPending=*/1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  std::promise<void> firstRunning;
  queue.enqueue([&] {
    firstRunning.set_value();
    released.wait();
    ++ran;
  });
  firstRunning.get_future().wait();     // the worker is busy
  queue.enqueue([&] { ++ran; });        // waits in the queue (1 of 1)
  std::atomic<bool> thirdQueued{false};
  std::thread producer([&] {
    queue.enqueue([&] { ++ran; });      // blocks: the queue is full
    thirdQueued = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(thirdQueued.load());      // the accept thread would wait here, not the heap
  release.set_value();
  producer.join();
  CHECK(thirdQueued.load());
  queue.shutdown();
  CHECK(ran.load() == 3);
}

TEST_CASE("REST server bounds drop a client that stops sending its request and keep serving others", "[http]") {
  httplib::Server server;
  server.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content("{}", "application/json"); });
  flink::boundHttpServer(server, /*readTimeoutMs=*/300, /*threads=*/2, /*maxPending=*/4);
  int port = server.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread listener([&] { server.listen_after_bind(); });

  // Half a request, then silence: the server closes the connection (at most with a 400).
  int slow = connectTo(port);
  std::string partial = "GET /ok HTTP/1.1\r\nHost: x";
  REQUIRE(::send(slow, partial.data(), partial.size(), 0) == static_cast<ssize_t>(partial.size()));
  // More silent clients than threads: they are dropped in turn, and a real request is answered.
  int idle[4];
  for (int& fd : idle) fd = connectTo(port);
  int good = connectTo(port);
  std::string request = "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  REQUIRE(::send(good, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  CHECK(readToClose(good).rfind("HTTP/1.1 200", 0) == 0);
  std::string slowAnswer = readToClose(slow);  // returns: the server closed the connection
  CHECK((slowAnswer.empty() || slowAnswer.rfind("HTTP/1.1 400", 0) == 0));
  for (int fd : idle) {
    CHECK(readToClose(fd).empty());
    ::close(fd);
  }
  ::close(slow);
  ::close(good);
  server.stop();
  listener.join();
}

TEST_CASE("REST server bounds come from the configuration and are checked", "[http]") {
  flink::Configuration config;
  auto defaults = flink::RestServerBounds::fromConfig(config);
  REQUIRE(defaults.ok());
  CHECK(defaults->threads == 8);
  CHECK(defaults->maxPendingConnections == 64);
  CHECK(defaults->readTimeoutMs == 5000);
  config.set(flink::kRestReadTimeout, "750 ms");
  config.set(flink::kRestServerThreads, "3");
  auto set = flink::RestServerBounds::fromConfig(config);
  REQUIRE(set.ok());
  CHECK(set->readTimeoutMs == 750);
  CHECK(set->threads == 3);
  config.set(flink::kRestMaxPendingConnections, "0");
  auto bad = flink::RestServerBounds::fromConfig(config);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains(flink::kRestMaxPendingConnections));
}
