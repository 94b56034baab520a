#include "net/network_environment.h"

#include <chrono>
#include <cstring>

#include "flink/common/log.h"

namespace flink::net {

namespace {
enum : uint8_t { kRegister = 1, kBuffer = 2, kCredit = 3, kClose = 4 };
constexpr int kWaitSliceMs = 50;

struct Header {
  uint32_t streamId;
  uint32_t a;
  uint32_t b;
};
}  // namespace

// ---- InputGate ----------------------------------------------------------------------------

InputGate::InputGate(int numChannels, int creditsPerChannel)
    : numChannels_(numChannels), credits_(creditsPerChannel), creditListeners_(numChannels),
      closed_(numChannels, false) {}

void InputGate::attachProducer(int channel, std::function<void(int)> onCredit) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    creditListeners_.at(channel) = onCredit;
  }
  onCredit(credits_);
}

void InputGate::push(int channel, Buffer&& buffer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.emplace_back(channel, std::move(buffer));
  }
  cv_.notify_one();
}

bool InputGate::poll(int* channel, Buffer* buffer, int timeoutMs) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                    [this] { return !queue_.empty() || !failure_.empty(); })) {
    return false;
  }
  if (queue_.empty()) throw TaskFailure(failure_);
  *channel = queue_.front().first;
  *buffer = std::move(queue_.front().second);
  queue_.pop_front();
  return true;
}

void InputGate::recycle(int channel) {
  std::function<void(int)> listener;
  {
    std::lock_guard<std::mutex> lock(mu_);
    listener = creditListeners_.at(channel);
  }
  if (listener) listener(1);
}

void InputGate::channelClosed(int channel) {
  std::lock_guard<std::mutex> lock(mu_);
  closed_.at(channel) = true;
}

void InputGate::fail(const std::vector<int>& channels, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    bool open = false;
    for (int c : channels) open = open || !closed_.at(c);
    if (!open || !failure_.empty()) return;
    failure_ = reason;
  }
  cv_.notify_all();
}

// ---- Producer channels ------------------------------------------------------------------------

namespace {

class Credits {
 public:
  void add(int n) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      credits_ += n;
    }
    cv_.notify_one();
  }
  void fail(const std::string& reason) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      failure_ = reason;
    }
    cv_.notify_one();
  }
  /// Takes one credit, waiting while there is none (backpressure).
  void take(const std::atomic<bool>* cancelled, std::atomic<uint64_t>* waitedMs) {
    std::unique_lock<std::mutex> lock(mu_);
    if (credits_ == 0 && waitedMs) {
      auto start = std::chrono::steady_clock::now();
      struct Account {
        std::chrono::steady_clock::time_point start;
        std::atomic<uint64_t>* ms;
        ~Account() {
          auto d = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
          ms->fetch_add(static_cast<uint64_t>(d), std::memory_order_relaxed);
        }
      } account{start, waitedMs};
      waitUntilCredit(lock, cancelled);
    } else {
      waitUntilCredit(lock, cancelled);
    }
    --credits_;
  }

 private:
  void waitUntilCredit(std::unique_lock<std::mutex>& lock, const std::atomic<bool>* cancelled) {
    while (credits_ == 0) {
      if (!failure_.empty()) throw TaskFailure(failure_);
      if (cancelled && cancelled->load()) throw TaskFailure("task cancelled");
      cv_.wait_for(lock, std::chrono::milliseconds(kWaitSliceMs));
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  int credits_ = 0;
  std::string failure_;
};

}  // namespace

struct NetworkEnvironment::Outbound {
  std::shared_ptr<Connection> conn;
  std::mutex mu;
  uint32_t nextStreamId = 1;
  std::map<uint32_t, std::shared_ptr<Credits>> streams;

  void onFrame(uint8_t type, Buffer&& payload) {
    if (type != kCredit || payload.size() < sizeof(Header)) return;
    Header h;
    std::memcpy(&h, payload.data(), sizeof(h));
    std::shared_ptr<Credits> c;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = streams.find(h.streamId);
      if (it != streams.end()) c = it->second;
    }
    if (c) c->add(static_cast<int>(h.a));
  }
  void onClose(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& [id, c] : streams) c->fail("network connection lost: " + reason);
  }
};

namespace {

class ResultPartition final : public BufferSink {
 public:
  struct Channel {
    std::shared_ptr<Credits> credits = std::make_shared<Credits>();
    // local
    std::shared_ptr<InputGate> gate;
    int gateChannel = 0;
    // remote
    std::shared_ptr<NetworkEnvironment::Outbound> out;
    uint32_t streamId = 0;
  };

  ResultPartition(const std::atomic<bool>* cancelled, std::atomic<uint64_t>* backPressuredMs)
      : cancelled_(cancelled), backPressuredMs_(backPressuredMs) {}
  ~ResultPartition() override {
    for (auto& ch : channels_) {
      if (ch.gate) ch.gate->channelClosed(ch.gateChannel);
      if (ch.out) {
        Header h{ch.streamId, 0, 0};
        (void)ch.out->conn->send(kClose, &h, sizeof(h));
        std::lock_guard<std::mutex> lock(ch.out->mu);
        ch.out->streams.erase(ch.streamId);
      }
    }
  }
  int numChannels() const override { return static_cast<int>(channels_.size()); }
  void send(int channel, Buffer&& buffer) override {
    Channel& ch = channels_[channel];
    ch.credits->take(cancelled_, backPressuredMs_);
    if (ch.gate) {
      ch.gate->push(ch.gateChannel, std::move(buffer));
      return;
    }
    Header h{ch.streamId, 0, 0};
    Status s = ch.out->conn->send(kBuffer, &h, sizeof(h), buffer.data(), buffer.size());
    if (!s.ok()) throw TaskFailure(s.message());
  }
  std::vector<Channel> channels_;

 private:
  const std::atomic<bool>* cancelled_;
  std::atomic<uint64_t>* backPressuredMs_;
};

}  // namespace

// ---- NetworkEnvironment ---------------------------------------------------------------------------

NetworkEnvironment::NetworkEnvironment(const Configuration& config) {
  auto credits = config.getInt(options::kBuffersPerChannel, 4);
  credits_ = credits.ok() && *credits > 0 ? static_cast<int>(*credits) : 4;
}

NetworkEnvironment::~NetworkEnvironment() { stop(); }

Status NetworkEnvironment::start(const std::string& host, int port, std::shared_ptr<const tls::TlsContext> tls) {
  tls_ = std::move(tls);
  Status s = listener_.bind(host, port, tls_);
  if (!s.ok()) return s.withContext("data port");
  listener_.start([this](std::shared_ptr<Connection> conn) { onInbound(std::move(conn)); });
  return Status::Ok();
}

void NetworkEnvironment::stop() {
  listener_.stop();
  std::vector<std::shared_ptr<Connection>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns = std::move(inbound_);
    for (auto& [k, o] : outbound_) conns.push_back(o->conn);
    outbound_.clear();
  }
  for (auto& c : conns) c->close();
}

std::shared_ptr<InputGate> NetworkEnvironment::gate(const std::string& key, int numChannels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& g = gates_[key];
  if (!g) g = std::make_shared<InputGate>(numChannels, credits_);
  return g;
}

void NetworkEnvironment::releaseGate(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  gates_.erase(key);
}

// ---- InboundStreams -------------------------------------------------------------------------

InboundStreams::InboundStreams(NetworkEnvironment& env, std::function<void(uint32_t, int)> sendCredit)
    : env_(env), sendCredit_(std::make_shared<std::function<void(uint32_t, int)>>(std::move(sendCredit))) {}

void InboundStreams::onFrame(uint8_t type, Buffer&& payload) {
  if (payload.size() < sizeof(Header)) throw SerializationError("short data frame");
  Header h;
  std::memcpy(&h, payload.data(), sizeof(h));
  if (type == kRegister) {
    // Both come from the peer: checked before they size anything.
    if (h.b == 0 || h.b > kMaxGateChannels) {
      throw SerializationError("gate of " + std::to_string(h.b) + " channels (at most " +
                               std::to_string(kMaxGateChannels) + ")");
    }
    std::string key(payload.begin() + sizeof(Header), payload.end());
    auto g = env_.gate(key, static_cast<int>(h.b));
    if (h.a >= static_cast<uint32_t>(g->numChannels())) throw SerializationError("channel out of range for gate " + key);
    int channel = static_cast<int>(h.a);
    if (streams_.count(h.streamId)) throw SerializationError("stream registered twice");
    streams_[h.streamId] = Stream{g, channel};
    uint32_t id = h.streamId;
    std::weak_ptr<std::function<void(uint32_t, int)>> send = sendCredit_;
    g->attachProducer(channel, [send, id](int n) {
      if (auto f = send.lock()) (*f)(id, n);
    });
  } else if (type == kBuffer) {
    auto it = streams_.find(h.streamId);
    if (it == streams_.end()) throw SerializationError("buffer for unknown stream");
    payload.erase(payload.begin(), payload.begin() + sizeof(Header));
    it->second.gate->push(it->second.channel, std::move(payload));
  } else if (type == kClose) {
    auto it = streams_.find(h.streamId);
    if (it != streams_.end()) {
      it->second.gate->channelClosed(it->second.channel);
      streams_.erase(it);
    }
  }
}

void InboundStreams::fail(const std::string& reason) {
  for (auto& [id, s] : streams_) s.gate->fail({s.channel}, "network connection to producer lost: " + reason);
}

void NetworkEnvironment::onInbound(std::shared_ptr<Connection> conn) {
  std::weak_ptr<Connection> weak = conn;
  // Touched by the connection's reader thread only.
  auto streams = std::make_shared<InboundStreams>(*this, [weak](uint32_t id, int n) {
    if (auto c = weak.lock()) {
      Header credit{id, static_cast<uint32_t>(n), 0};
      (void)c->send(kCredit, &credit, sizeof(credit));
    }
  });
  conn->start([streams](uint8_t type, Buffer&& payload) { streams->onFrame(type, std::move(payload)); },
              [streams](const std::string& reason) { streams->fail(reason); });
  std::lock_guard<std::mutex> lock(mu_);
  inbound_.push_back(std::move(conn));
}

Result<std::shared_ptr<NetworkEnvironment::Outbound>> NetworkEnvironment::outbound(const std::string& host, int port) {
  std::string key = host + ":" + std::to_string(port);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = outbound_.find(key);
    if (it != outbound_.end() && !it->second->conn->closed()) return it->second;
  }
  auto conn = Connection::connect(host, port, 5000, nullptr, tls_);
  if (!conn.ok()) return conn.status();
  auto out = std::make_shared<Outbound>();
  out->conn = *conn;
  std::weak_ptr<Outbound> weak = out;
  out->conn->start(
      [weak](uint8_t type, Buffer&& payload) {
        if (auto o = weak.lock()) o->onFrame(type, std::move(payload));
      },
      [weak](const std::string& reason) {
        if (auto o = weak.lock()) o->onClose(reason);
      });
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = outbound_[key];
  if (slot && !slot->conn->closed()) {
    out->conn->close();  // lost a race with another producer; use its connection
    return slot;
  }
  slot = out;
  return out;
}

Result<std::unique_ptr<BufferSink>> NetworkEnvironment::createResultPartition(
    const std::vector<ConsumerEndpoint>& consumers, const std::atomic<bool>* cancelled,
    std::atomic<uint64_t>* backPressuredMs) {
  auto rp = std::make_unique<ResultPartition>(cancelled, backPressuredMs);
  rp->channels_.resize(consumers.size());
  for (size_t i = 0; i < consumers.size(); ++i) {
    const ConsumerEndpoint& c = consumers[i];
    auto& ch = rp->channels_[i];
    if (c.local) {
      ch.gate = gate(c.gateKey, c.numChannels);
      ch.gateChannel = c.channel;
      auto credits = ch.credits;
      ch.gate->attachProducer(c.channel, [credits](int n) { credits->add(n); });
      continue;
    }
    auto out = outbound(c.host, c.port);
    if (!out.ok()) return out.status().withContext("connecting to the TaskManager of a consumer");
    ch.out = *out;
    {
      std::lock_guard<std::mutex> lock(ch.out->mu);
      ch.streamId = ch.out->nextStreamId++;
      ch.out->streams[ch.streamId] = ch.credits;
    }
    Header h{ch.streamId, static_cast<uint32_t>(c.channel), static_cast<uint32_t>(c.numChannels)};
    Status s = ch.out->conn->send(kRegister, &h, sizeof(h), c.gateKey.data(), c.gateKey.size());
    if (!s.ok()) return s;
  }
  return std::unique_ptr<BufferSink>(std::move(rp));
}

}  // namespace flink::net
