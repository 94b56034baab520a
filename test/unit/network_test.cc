// Tests of the data plane (net::NetworkEnvironment): two environments in one process exchange
// buffers over TCP on 127.0.0.1, plus an in-memory local channel; credit-based backpressure,
// cancellation and the loss of a producer.
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "flink/configuration.h"
#include "flink/io/network_input.h"
#include "flink/io/record_writer.h"
#include "flink/operators/stream_operator.h"
#include "net/network_environment.h"

using namespace flink;

namespace {

const std::string kHost = "127.0.0.1";
// Upper bound on poll rounds of the loops that wait for something to happen (never reached
// when things work; it turns a hang into a failure).
constexpr int kMaxPollRounds = 1000;

/// Runs `fn` on a thread; on destruction sets `cancelled` (unblocking a send) and joins.
class ProducerThread {
 public:
  ProducerThread(std::atomic<bool>* cancelled, std::function<void()> fn)
      : cancelled_(cancelled), finished_(finishedPromise_.get_future()), thread_([this, fn = std::move(fn)] {
          try {
            fn();
          } catch (const TaskFailure& e) {
            taskFailure = e.what();
          } catch (const std::exception& e) {
            otherError = e.what();
          }
          finishedPromise_.set_value();
        }) {}
  ~ProducerThread() {
    cancelled_->store(true);
    join();
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  /// Waits for the thread to finish on its own (without cancelling it), at most `bound`.
  /// The bound only turns a hang into a failure.
  bool finishesWithin(std::chrono::seconds bound) {
    if (finished_.wait_for(bound) != std::future_status::ready) return false;
    join();
    return true;
  }
  std::string taskFailure;  // read after join()
  std::string otherError;

 private:
  std::atomic<bool>* cancelled_;
  std::promise<void> finishedPromise_;
  std::future<void> finished_;
  std::thread thread_;
};

net::ConsumerEndpoint endpoint(const net::NetworkEnvironment& consumerEnv, bool local, const std::string& gate,
                               int channel, int numChannels) {
  net::ConsumerEndpoint e;
  e.host = kHost;
  e.port = consumerEnv.dataPort();
  e.local = local;
  e.gateKey = gate;
  e.channel = channel;
  e.numChannels = numChannels;
  return e;
}

/// Buffer content: producer, consumer, sequence number, then a payload whose size varies.
Buffer makeBuffer(int producer, int consumer, int seq) {
  size_t payload = static_cast<size_t>(seq % 5 == 4 ? 40'000 : seq * 37);
  Buffer b(3 + payload);
  b[0] = static_cast<uint8_t>(producer);
  b[1] = static_cast<uint8_t>(consumer);
  b[2] = static_cast<uint8_t>(seq);
  for (size_t i = 0; i < payload; ++i) b[3 + i] = static_cast<uint8_t>(i * 7 + static_cast<size_t>(seq));
  return b;
}

struct Environments {
  explicit Environments(const Configuration& conf) : a(conf), b(conf) {
    REQUIRE(a.start(kHost, 0).ok());
    REQUIRE(b.start(kHost, 0).ok());
    REQUIRE(a.dataPort() > 0);
    REQUIRE(b.dataPort() > 0);
    REQUIRE(a.dataPort() != b.dataPort());
  }
  net::NetworkEnvironment a;
  net::NetworkEnvironment b;
};

Configuration creditsConf(int buffersPerChannel) {
  Configuration conf;
  conf.set(options::kBuffersPerChannel, std::to_string(buffersPerChannel));
  return conf;
}

}  // namespace

TEST_CASE("InputGate::poll times out - and fails only for open channels once drained", "[network]") {
  net::InputGate gate(2, 4);
  int channel = -1;
  Buffer buffer;
  CHECK_FALSE(gate.poll(&channel, &buffer, 1));

  gate.push(1, Buffer{9});
  gate.channelClosed(0);
  gate.fail({0}, "producer 0 lost");  // channel 0 ended normally: not a failure
  REQUIRE(gate.poll(&channel, &buffer, 1000));
  CHECK(channel == 1);
  CHECK(buffer == Buffer{9});
  CHECK_FALSE(gate.poll(&channel, &buffer, 1));

  gate.push(1, Buffer{10});
  gate.fail({1}, "producer 1 lost");
  REQUIRE(gate.poll(&channel, &buffer, 1000));  // queued data first
  CHECK(buffer == Buffer{10});
  CHECK_THROWS_WITH(gate.poll(&channel, &buffer, 1000), "producer 1 lost");
}

TEST_CASE("InputGate grants the initial credits and one credit per recycled buffer", "[network]") {
  net::InputGate gate(2, 3);
  int credits0 = 0, credits1 = 0;
  gate.attachProducer(0, [&](int n) { credits0 += n; });
  gate.attachProducer(1, [&](int n) { credits1 += n; });
  CHECK(credits0 == 3);
  CHECK(credits1 == 3);
  gate.recycle(1);
  gate.recycle(1);
  CHECK(credits0 == 3);
  CHECK(credits1 == 5);
}

TEST_CASE("Buffers reach remote and local consumers in order per channel", "[network]") {
  Environments envs(Configuration{});
  const int kProducers = 2, kConsumers = 3, kBuffers = 40;
  // Consumers 0 and 1 run in env B (remote), consumer 2 in env A, next to the producers.
  auto consumers = [&](int producer) {
    std::vector<net::ConsumerEndpoint> v;
    for (int c = 0; c < kConsumers; ++c) {
      v.push_back(endpoint(envs.b, c == 2, "job/window/" + std::to_string(c), producer, kProducers));
    }
    return v;
  };
  std::atomic<bool> cancelled{false};
  std::vector<std::unique_ptr<BufferSink>> partitions;
  for (int p = 0; p < kProducers; ++p) {
    auto rp = envs.a.createResultPartition(consumers(p), &cancelled);
    REQUIRE(rp.ok());
    REQUIRE((*rp)->numChannels() == kConsumers);
    partitions.push_back(std::move(*rp));
  }
  std::vector<std::shared_ptr<net::InputGate>> gates = {envs.b.gate("job/window/0", kProducers),
                                                        envs.b.gate("job/window/1", kProducers),
                                                        envs.a.gate("job/window/2", kProducers)};

  std::vector<std::unique_ptr<ProducerThread>> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.push_back(std::make_unique<ProducerThread>(&cancelled, [&, p] {
      for (int seq = 0; seq < kBuffers; ++seq) {
        for (int c = 0; c < kConsumers; ++c) partitions[static_cast<size_t>(p)]->send(c, makeBuffer(p, c, seq));
      }
    }));
  }

  // next[consumer][channel]: the sequence number expected next.
  std::vector<std::vector<int>> next(kConsumers, std::vector<int>(kProducers, 0));
  int received = 0;
  for (int round = 0; round < kMaxPollRounds * 10 && received < kProducers * kConsumers * kBuffers; ++round) {
    for (int c = 0; c < kConsumers; ++c) {
      int channel = -1;
      Buffer buffer;
      while (gates[static_cast<size_t>(c)]->poll(&channel, &buffer, 2)) {
        REQUIRE(channel >= 0);
        REQUIRE(channel < kProducers);
        int& expected = next[static_cast<size_t>(c)][static_cast<size_t>(channel)];
        INFO("consumer " << c << " channel " << channel << " expects buffer " << expected);
        REQUIRE(buffer == makeBuffer(channel, c, expected));
        ++expected;
        ++received;
        gates[static_cast<size_t>(c)]->recycle(channel);
      }
    }
  }
  for (auto& p : producers) {
    REQUIRE(p->finishesWithin(std::chrono::seconds(30)));
    CHECK(p->taskFailure.empty());
    CHECK(p->otherError.empty());
  }
  CHECK(received == kProducers * kConsumers * kBuffers);
  for (int c = 0; c < kConsumers; ++c) {
    for (int p = 0; p < kProducers; ++p) CHECK(next[static_cast<size_t>(c)][static_cast<size_t>(p)] == kBuffers);
  }
}

TEST_CASE("A producer blocks without credit until the consumer recycles (backpressure)", "[network]") {
  const bool remote = GENERATE(true, false);
  INFO((remote ? "remote" : "local") << " channel");
  Environments envs(creditsConf(2));
  net::NetworkEnvironment& consumerEnv = remote ? envs.b : envs.a;
  auto gate = consumerEnv.gate("bp", 1);
  std::atomic<bool> cancelled{false};
  auto rp = envs.a.createResultPartition({endpoint(envs.b, !remote, "bp", 0, 1)}, &cancelled);
  REQUIRE(rp.ok());
  BufferSink* sink = rp->get();

  std::atomic<int> sent{0};
  ProducerThread producer(&cancelled, [&] {
    for (int i = 0; i < 10; ++i) {
      sink->send(0, Buffer{static_cast<uint8_t>(i)});
      sent.fetch_add(1);
    }
  });

  std::vector<int> got;
  auto pollOnce = [&](int timeoutMs) {
    int channel = -1;
    Buffer buffer;
    if (!gate->poll(&channel, &buffer, timeoutMs)) return false;
    REQUIRE(channel == 0);
    REQUIRE(buffer.size() == 1);
    got.push_back(buffer[0]);
    return true;
  };
  auto pollUntil = [&](int count) {
    for (int i = 0; i < kMaxPollRounds && (static_cast<int>(got.size()) < count || sent.load() < count); ++i) {
      pollOnce(20);
    }
  };

  // The two credits are used up...
  pollUntil(2);
  REQUIRE(got.size() == 2);
  REQUIRE(sent.load() == 2);
  // ...and, with nothing recycled, the producer stays blocked.
  for (int i = 0; i < 4; ++i) CHECK_FALSE(pollOnce(50));
  CHECK(sent.load() == 2);

  // One recycled buffer lets exactly one more through.
  gate->recycle(0);
  pollUntil(3);
  REQUIRE(got.size() == 3);
  REQUIRE(sent.load() == 3);
  for (int i = 0; i < 2; ++i) CHECK_FALSE(pollOnce(50));
  CHECK(sent.load() == 3);

  // Recycling everything lets the producer finish.
  for (int i = 0; i < 3; ++i) gate->recycle(0);
  for (int i = 0; i < kMaxPollRounds && got.size() < 10; ++i) {
    if (pollOnce(20)) gate->recycle(0);
  }
  REQUIRE(producer.finishesWithin(std::chrono::seconds(30)));
  CHECK(producer.taskFailure.empty());
  CHECK(sent.load() == 10);
  CHECK(got == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("Cancelling the task makes a send blocked on credit throw TaskFailure", "[network]") {
  const bool remote = GENERATE(true, false);
  INFO((remote ? "remote" : "local") << " channel");
  Environments envs(creditsConf(2));
  auto gate = (remote ? envs.b : envs.a).gate("cancel", 1);
  std::atomic<bool> cancelled{false};
  auto rp = envs.a.createResultPartition({endpoint(envs.b, !remote, "cancel", 0, 1)}, &cancelled);
  REQUIRE(rp.ok());
  BufferSink* sink = rp->get();

  std::atomic<int> sent{0};
  ProducerThread producer(&cancelled, [&] {
    for (int i = 0; i < 3; ++i) {
      sink->send(0, Buffer{static_cast<uint8_t>(i)});
      sent.fetch_add(1);
    }
  });
  int received = 0;
  for (int i = 0; i < kMaxPollRounds && (received < 2 || sent.load() < 2); ++i) {
    int channel;
    Buffer buffer;
    if (gate->poll(&channel, &buffer, 20)) ++received;
  }
  REQUIRE(received == 2);
  REQUIRE(sent.load() == 2);

  cancelled.store(true);
  REQUIRE(producer.finishesWithin(std::chrono::seconds(30)));
  CHECK(sent.load() == 2);
  CHECK_THAT(producer.taskFailure, Catch::Contains("cancelled"));
  CHECK(producer.otherError.empty());
}

TEST_CASE("Stopping the producer's environment fails the remote consumer once drained", "[network]") {
  Environments envs(Configuration{});
  auto gate = envs.b.gate("lost", 1);
  std::atomic<bool> cancelled{false};
  auto rp = envs.a.createResultPartition({endpoint(envs.b, false, "lost", 0, 1)}, &cancelled);
  REQUIRE(rp.ok());
  (*rp)->send(0, Buffer{1});
  (*rp)->send(0, Buffer{2, 2});

  envs.a.stop();  // the channel is still open: no end of partition was sent
  CHECK_THROWS_AS((*rp)->send(0, Buffer{3}), TaskFailure);

  std::vector<Buffer> got;
  std::string failure;
  for (int i = 0; i < kMaxPollRounds && failure.empty(); ++i) {
    try {
      int channel;
      Buffer buffer;
      if (gate->poll(&channel, &buffer, 20)) got.push_back(std::move(buffer));
    } catch (const TaskFailure& e) {
      failure = e.what();
    }
  }
  CHECK(got == std::vector<Buffer>{Buffer{1}, Buffer{2, 2}});
  CHECK_THAT(failure, Catch::Contains("network connection to producer lost"));
  // The gate stays failed.
  int channel;
  Buffer buffer;
  CHECK_THROWS_AS(gate->poll(&channel, &buffer, 20), TaskFailure);
}

TEST_CASE("A channel closed normally does not fail the consumer when the producer goes away", "[network]") {
  Environments envs(Configuration{});
  auto gate = envs.b.gate("closed", 1);
  std::atomic<bool> cancelled{false};
  auto rp = envs.a.createResultPartition({endpoint(envs.b, false, "closed", 0, 1)}, &cancelled);
  REQUIRE(rp.ok());
  (*rp)->send(0, Buffer{kTagEndOfPartition});
  rp->reset();  // releases the partition: sends the close of the channel
  envs.a.stop();

  int channel = -1;
  Buffer buffer;
  bool gotBuffer = false;
  for (int i = 0; i < kMaxPollRounds && !gotBuffer; ++i) gotBuffer = gate->poll(&channel, &buffer, 20);
  REQUIRE(gotBuffer);
  CHECK(buffer == Buffer{kTagEndOfPartition});
  for (int i = 0; i < 4; ++i) {
    bool polled = true;
    CHECK_NOTHROW(polled = gate->poll(&channel, &buffer, 50));
    CHECK_FALSE(polled);
  }
}

TEST_CASE("Losing the consumer's environment fails a producer blocked on credit", "[network]") {
  Environments envs(creditsConf(1));
  auto gate = envs.b.gate("gone", 1);
  std::atomic<bool> cancelled{false};
  auto rp = envs.a.createResultPartition({endpoint(envs.b, false, "gone", 0, 1)}, &cancelled);
  REQUIRE(rp.ok());
  BufferSink* sink = rp->get();
  std::atomic<int> sent{0};
  ProducerThread producer(&cancelled, [&] {
    for (int i = 0; i < 5; ++i) {
      sink->send(0, Buffer{static_cast<uint8_t>(i)});
      sent.fetch_add(1);
    }
  });
  bool got = false;
  for (int i = 0; i < kMaxPollRounds && !(got && sent.load() == 1); ++i) {
    int channel;
    Buffer buffer;
    got = gate->poll(&channel, &buffer, 20) || got;
  }
  REQUIRE(got);
  REQUIRE(sent.load() == 1);

  envs.b.stop();
  // Ends without cancellation: the lost connection fails the blocked send.
  REQUIRE(producer.finishesWithin(std::chrono::seconds(30)));
  CHECK(sent.load() == 1);
  CHECK_THAT(producer.taskFailure, Catch::Contains("network connection lost"));
}
