// The data plane of a TaskManager: input gates that receive buffers for the local consumer
// subtasks, and result partitions that send a producer subtask's buffers to its consumers,
// locally (in memory) or to other TaskManagers over one multiplexed TCP connection per peer.
//
// Flow control is credit-based, as in Flink's network stack (FLIP-6 era "credit-based flow
// control"): a consumer channel grants `buffers-per-channel` credits; a producer sends a buffer
// only while it holds a credit and the consumer returns one credit per buffer it has processed.
// A slow consumer therefore blocks its producers (backpressure) with bounded memory.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "flink/configuration.h"
#include "flink/io/record_writer.h"
#include "flink/operators/stream_operator.h"
#include "net/connection.h"

namespace flink::net {

/// Receives the buffers of `numChannels` producer channels for one consumer subtask.
/// Thread-safe: producers push from their threads, the consumer task polls.
class InputGate {
 public:
  InputGate(int numChannels, int creditsPerChannel);
  int numChannels() const { return numChannels_; }
  /// A producer attached to `channel`; onCredit(n) grants it n credits (initially all).
  void attachProducer(int channel, std::function<void(int)> onCredit);
  void push(int channel, Buffer&& buffer);
  /// Waits up to timeoutMs for a buffer. Throws TaskFailure after fail() once drained.
  bool poll(int* channel, Buffer* buffer, int timeoutMs);
  /// Returns the credit of a processed buffer of `channel` to its producer.
  void recycle(int channel);
  /// The producer of `channel` will send no more (after its end-of-partition).
  void channelClosed(int channel);
  /// The producers of `channels` are gone without closing: fails the gate.
  void fail(const std::vector<int>& channels, const std::string& reason);

 private:
  const int numChannels_;
  const int credits_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<int, Buffer>> queue_;
  std::vector<std::function<void(int)>> creditListeners_;
  std::vector<bool> closed_;
  std::string failure_;
};

/// Where a producer subtask's channel goes.
struct ConsumerEndpoint {
  std::string host;
  int port = 0;
  bool local = false;   // the consumer runs in this TaskManager
  std::string gateKey;  // the consumer's input gate
  int channel = 0;      // this producer's channel index in that gate
  int numChannels = 1;  // number of channels of that gate
};

class NetworkEnvironment;

/// Most channels a gate may have: far above any parallelism (pipeline.max-parallelism is at
/// most 32768 in Flink), and small enough that a gate announced by a peer cannot exhaust memory.
inline constexpr uint32_t kMaxGateChannels = 1u << 17;

/// The receiving side of one data connection from another TaskManager: registers its streams
/// (producer channels) at `env`'s input gates, delivers their buffers and closes them. Frames
/// come from the network, so every field is checked: a malformed frame throws
/// SerializationError (the connection is then dropped). Not thread-safe: the connection's reader
/// thread only.
class InboundStreams {
 public:
  /// sendCredit(streamId, n) returns n credits to the producer of a stream.
  InboundStreams(NetworkEnvironment& env, std::function<void(uint32_t, int)> sendCredit);
  void onFrame(uint8_t type, Buffer&& payload);
  /// The connection is gone: fails the channels of every open stream.
  void fail(const std::string& reason);

 private:
  struct Stream {
    std::shared_ptr<InputGate> gate;
    int channel;
  };
  NetworkEnvironment& env_;
  std::shared_ptr<std::function<void(uint32_t, int)>> sendCredit_;
  std::map<uint32_t, Stream> streams_;
};

class NetworkEnvironment {
 public:
  explicit NetworkEnvironment(const Configuration& config);
  ~NetworkEnvironment();
  /// Listens for other TaskManagers on host:port (0 = any free port). With `tls`
  /// (security.ssl.internal.enabled) inbound and outbound data connections use mutual TLS.
  Status start(const std::string& host, int port, std::shared_ptr<const tls::TlsContext> tls = nullptr);
  int dataPort() const { return listener_.port(); }
  void stop();

  /// The input gate `key`, created on first use by its consumer or by a producer.
  std::shared_ptr<InputGate> gate(const std::string& key, int numChannels);
  void releaseGate(const std::string& key);
  /// A BufferSink with one channel per consumer. send() blocks without credit and throws
  /// TaskFailure once *cancelled is set or a peer is lost.
  /// backPressuredMs (optional) accumulates the time send() waited for credit.
  Result<std::unique_ptr<BufferSink>> createResultPartition(const std::vector<ConsumerEndpoint>& consumers,
                                                            const std::atomic<bool>* cancelled,
                                                            std::atomic<uint64_t>* backPressuredMs = nullptr);

  struct Outbound;

 private:
  Result<std::shared_ptr<Outbound>> outbound(const std::string& host, int port);
  void onInbound(std::shared_ptr<Connection> conn);

  int credits_;
  std::shared_ptr<const tls::TlsContext> tls_;  // set by start()
  Listener listener_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<InputGate>> gates_;
  std::map<std::string, std::shared_ptr<Outbound>> outbound_;
  std::vector<std::shared_ptr<Connection>> inbound_;
};

}  // namespace flink::net
