#include "k8s/leader_election.h"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "flink/common/log.h"

namespace flink::k8s {

using nlohmann::json;
using Clock = std::chrono::system_clock;

namespace {
std::string microTime(Clock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof(out), "%s.%06lldZ", buf, static_cast<long long>(us % 1000000));
  return out;
}

std::optional<Clock::time_point> parseMicroTime(const std::string& s) {
  std::tm tm{};
  if (s.size() < 19 || !strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return std::nullopt;
  auto t = Clock::from_time_t(timegm(&tm));
  if (s.size() > 20 && s[19] == '.') {
    std::string frac = s.substr(20);
    frac = frac.substr(0, frac.find_first_not_of("0123456789"));
    while (frac.size() < 6) frac += '0';
    t += std::chrono::microseconds(std::stoll(frac.substr(0, 6)));
  }
  return t;
}
}  // namespace

LeaderElector::LeaderElector(std::shared_ptr<KubeApi> client, LeaderElectionConfig config)
    : client_(std::move(client)), config_(std::move(config)) {}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  leading_ = false;  // a stopped elector renews nothing: it leads no more
}

bool LeaderElector::tryAcquireOrRenew() {
  const bool configMap = config_.lock == LockKind::kConfigMap;
  const ResourceType& type = configMap ? types::kConfigMap : types::kLease;
  std::string path = type.objectPath(config_.ns, config_.leaseName);
  auto now = Clock::now();
  // The LeaderElectionRecord: a Lease's spec, or the JSON in a ConfigMap's annotation (whose
  // transition count is leaderTransitions rather than leaseTransitions).
  const char* transitions = configMap ? "leaderTransitions" : "leaseTransitions";
  json record = {{"holderIdentity", config_.identity},
                 {"leaseDurationSeconds", config_.leaseDurationSeconds},
                 {"renewTime", microTime(now)}};
  auto store = [&](json object, const json& rec) {
    if (configMap) {
      object["metadata"]["annotations"][kLeaderAnnotation] = rec.dump();
    } else {
      object["spec"] = rec;
    }
    return object;
  };
  ApiResponse cur = client_->get(path);
  if (cur.notFound()) {
    record["acquireTime"] = microTime(now);
    record[transitions] = 0;
    json meta = {{"name", config_.leaseName}, {"namespace", config_.ns}};
    if (!config_.labels.empty()) meta["labels"] = config_.labels;
    json object = configMap ? json{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", meta}}
                            : json{{"apiVersion", "coordination.k8s.io/v1"}, {"kind", "Lease"}, {"metadata", meta}};
    return client_->post(type.collectionPath(config_.ns), store(object, record)).ok();
  }
  if (!cur.ok()) return false;
  json old = json::object();
  if (configMap) {
    const json annotations = cur.body["metadata"].value("annotations", json::object());
    auto it = annotations.find(kLeaderAnnotation);
    if (it != annotations.end() && it->is_string()) old = json::parse(it->get<std::string>(), nullptr, false);
    if (!old.is_object()) old = json::object();  // unreadable: treated as free
  } else {
    old = cur.body.value("spec", json::object());
  }
  std::string holder = old.value("holderIdentity", "");
  if (holder != config_.identity && !holder.empty()) {
    auto renew = parseMicroTime(old.value("renewTime", ""));
    int duration = old.value("leaseDurationSeconds", config_.leaseDurationSeconds);
    if (renew && now < *renew + std::chrono::seconds(duration)) return false;  // held by a live leader
    record["acquireTime"] = microTime(now);
    record[transitions] = old.value(transitions, 0) + 1;
  } else {
    record["acquireTime"] = old.value("acquireTime", microTime(now));
    record[transitions] = old.value(transitions, 0);
  }
  // PUT with the resourceVersion we read: a concurrent writer makes this fail with 409.
  return client_->put(path, store(cur.body, record)).ok();
}

void LeaderElector::start(std::function<void()> onStarted, std::function<void()> onStopped) {
  thread_ = std::thread([this, onStarted, onStopped] {
    auto lastRenew = std::chrono::steady_clock::now();
    while (!stop_) {
      bool ok = tryAcquireOrRenew();
      auto now = std::chrono::steady_clock::now();
      if (ok) {
        lastRenew = now;
        if (!leading_.exchange(true)) {
          log::info("became leader ({} {}/{}, identity {})", configMap() ? "ConfigMap" : "Lease", config_.ns, config_.leaseName, config_.identity);
          onStarted();
        }
      } else if (leading_ && now - lastRenew > std::chrono::milliseconds(config_.renewDeadlineMs)) {
        leading_ = false;
        log::error("lost leadership: {} {}/{} not renewed within {} ms", configMap() ? "ConfigMap" : "Lease", config_.ns,
                   config_.leaseName, config_.renewDeadlineMs);
        onStopped();
      }
      for (int64_t i = 0; i < std::max<int64_t>(1, config_.retryPeriodMs / 50) && !stop_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  });
}

}  // namespace flink::k8s
