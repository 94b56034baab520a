#include "controller/event_recorder.h"

#include <chrono>
#include <ctime>

#include "flink/common/ids.h"
#include "flink/common/log.h"

namespace flink::k8s {

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<int64_t> parseRfc3339Ms(const std::string& timestamp) {
  std::tm tm{};
  if (timestamp.size() < 19 || !strptime(timestamp.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

void EventRecorder::record(const nlohmann::json& involved, const std::string& type, const std::string& reason,
                           const std::string& message) {
  const nlohmann::json& meta = involved["metadata"];
  std::string ns = meta.value("namespace", "default");
  std::string key = ns + "/" + meta.value("name", "") + "/" + reason + "/" + message;
  std::string now = nowRfc3339();
  std::string name;
  int count = 1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = events_.find(key);
    if (it != events_.end()) {
      name = it->second.first;
      count = ++it->second.second;
    } else {
      name = meta.value("name", "") + "." + randomId().substr(0, 16);
      events_[key] = {name, 1};
    }
  }
  if (count > 1) {
    nlohmann::json patch = {{"count", count}, {"lastTimestamp", now}};
    if (client_->patch(types::kEvent.objectPath(ns, name), patch).ok()) return;
  }
  nlohmann::json ev = {{"apiVersion", "v1"},
                       {"kind", "Event"},
                       {"metadata", {{"name", name}, {"namespace", ns}}},
                       {"involvedObject",
                        {{"apiVersion", involved.value("apiVersion", "flink.apache.org/v1beta1")},
                         {"kind", involved.value("kind", "FlinkDeployment")},
                         {"name", meta.value("name", "")},
                         {"namespace", ns},
                         {"uid", meta.value("uid", "")},
                         {"resourceVersion", meta.value("resourceVersion", "")}}},
                       {"reason", reason},
                       {"message", message},
                       {"type", type},
                       {"count", count},
                       {"firstTimestamp", now},
                       {"lastTimestamp", now},
                       {"source", {{"component", "flink-kubernetes-operator"}}},
                       {"reportingComponent", "flink-kubernetes-operator"}};
  auto r = client_->post(types::kEvent.collectionPath(ns), ev);
  if (!r.ok()) log::warn("cannot record event {} for {}: {}", reason, meta.value("name", ""), r.error);
}

}  // namespace flink::k8s
