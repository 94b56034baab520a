#include "controller/job_observer.h"

#include <nlohmann/json.hpp>

namespace flink::k8s {

std::optional<ObservedJob> JobObserver::observe(const std::string& host, int port) {
  httplib::Client* client = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& c = clients_[host + ":" + std::to_string(port)];
    if (!c) {
      c = std::make_unique<httplib::Client>(host, port);
      c->set_connection_timeout(2, 0);
      c->set_read_timeout(2, 0);
      c->set_keep_alive(true);
    }
    client = c.get();
  }
  auto jobs = client->Get("/jobs/overview");
  if (!jobs || jobs->status != 200) return std::nullopt;
  auto body = nlohmann::json::parse(jobs->body, nullptr, false);
  if (!body.is_object() || !body.value("jobs", nlohmann::json()).is_array() || body["jobs"].empty()) return std::nullopt;
  const auto& j = body["jobs"][0];
  ObservedJob out;
  out.jobId = j.value("jid", "");
  out.name = j.value("name", "");
  out.state = j.value("state", "");
  out.startTimeMs = j.value("start-time", int64_t{0});
  if (out.jobId.empty() || out.state.empty()) return std::nullopt;
  if (auto config = client->Get("/config"); config && config->status == 200) {
    auto c = nlohmann::json::parse(config->body, nullptr, false);
    if (c.is_object()) {
      out.flinkVersion = c.value("flink-version", "");
      out.flinkRevision = c.value("flink-revision", "");
    }
  }
  return out;
}

}  // namespace flink::k8s
