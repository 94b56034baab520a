#include "status.h"

#include <algorithm>

namespace kubelet {

using nlohmann::json;

std::string rfc3339(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string terminatedReason(int exitCode) { return exitCode == 0 ? "Completed" : "Error"; }

json containerStateJson(const ContainerState& s) {
  if (s.kind == ContainerState::kRunning) return {{"running", {{"startedAt", s.startedAt}}}};
  if (s.kind == ContainerState::kWaiting) {
    json w = {{"reason", s.reason}};
    if (!s.message.empty()) w["message"] = s.message;
    return {{"waiting", w}};
  }
  json t = {{"exitCode", s.exitCode}, {"reason", s.reason}, {"startedAt", s.startedAt}, {"finishedAt", s.finishedAt}};
  if (!s.message.empty()) t["message"] = s.message;
  return {{"terminated", t}};
}

json containerStatusJson(const ContainerRecord& c) {
  json j = {{"name", c.name},
            {"image", c.image},
            {"imageID", ""},
            {"ready", c.ready},
            {"restartCount", c.restartCount},
            {"started", c.state.kind == ContainerState::kRunning},
            {"state", containerStateJson(c.state)},
            {"lastState", json::object()}};
  if (c.lastTerminated) j["lastState"] = containerStateJson(*c.lastTerminated);
  return j;
}

namespace {

bool terminated(const ContainerRecord& c) { return c.state.kind == ContainerState::kTerminated; }
bool succeeded(const ContainerRecord& c) { return terminated(c) && c.state.exitCode == 0; }
bool everStarted(const ContainerRecord& c) {
  return c.state.kind != ContainerState::kWaiting || c.lastTerminated.has_value();
}

bool initialized(const PodView& v) { return std::all_of(v.initContainers.begin(), v.initContainers.end(), succeeded); }

json condition(const std::string& type, bool status, const std::string& reason, const json& previous,
               const std::string& now) {
  json c = {{"type", type}, {"status", status ? "True" : "False"}, {"lastProbeTime", nullptr}};
  c["lastTransitionTime"] = now;
  for (const json& p : previous.value("conditions", json::array())) {
    if (p.value("type", "") == type && p.value("status", "") == c["status"]) {
      c["lastTransitionTime"] = p.value("lastTransitionTime", now);
    }
  }
  if (!status && !reason.empty()) c["reason"] = reason;
  return c;
}

}  // namespace

std::string podPhase(const PodView& v) {
  bool never = v.restartPolicy == "Never";
  for (const auto& c : v.initContainers) {
    if (never && terminated(c) && c.state.exitCode != 0) return "Failed";
  }
  if (!initialized(v) || v.containers.empty()) return "Pending";
  if (std::all_of(v.containers.begin(), v.containers.end(), terminated)) {
    return std::all_of(v.containers.begin(), v.containers.end(), succeeded) ? "Succeeded" : "Failed";
  }
  return std::any_of(v.containers.begin(), v.containers.end(), everStarted) ? "Running" : "Pending";
}

json podStatus(const PodView& v, const json& previous, const std::string& now) {
  std::string phase = podPhase(v);
  bool init = initialized(v);
  bool ready = phase == "Running" && std::all_of(v.containers.begin(), v.containers.end(),
                                                 [](const ContainerRecord& c) { return c.ready; });
  std::string notReady = phase == "Succeeded" || phase == "Failed" ? "PodCompleted" : "ContainersNotReady";
  json s = {{"phase", phase},
            {"conditions",
             json::array({condition("PodScheduled", true, "", previous, now),
                          condition("Initialized", init, "ContainersNotInitialized", previous, now),
                          condition("ContainersReady", ready, notReady, previous, now),
                          condition("Ready", ready, notReady, previous, now)})},
            {"hostIP", v.hostIP},
            {"hostIPs", json::array({{{"ip", v.hostIP}}})},
            {"startTime", v.startTime},
            {"qosClass", "BestEffort"}};
  if (!v.podIP.empty()) {
    s["podIP"] = v.podIP;
    s["podIPs"] = json::array({{{"ip", v.podIP}}});
  }
  json statuses = json::array();
  for (const auto& c : v.containers) statuses.push_back(containerStatusJson(c));
  s["containerStatuses"] = statuses;
  if (!v.initContainers.empty()) {
    json inits = json::array();
    for (const auto& c : v.initContainers) inits.push_back(containerStatusJson(c));
    s["initContainerStatuses"] = inits;
  }
  return s;
}

}  // namespace kubelet
