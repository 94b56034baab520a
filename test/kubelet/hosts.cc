#include "hosts.h"

#include <algorithm>
#include <map>

namespace kubelet {

using nlohmann::json;

namespace {
std::string nsOf(const json& o) { return o.value("metadata", json::object()).value("namespace", ""); }
std::string nameOf(const json& o) { return o.value("metadata", json::object()).value("name", ""); }
}  // namespace

bool podReady(const json& pod) {
  const json& status = pod.value("status", json::object());
  if (status.value("podIP", "").empty()) return false;
  for (const json& c : status.value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

bool selectorMatches(const json& selector, const json& labels) {
  if (!selector.is_object() || selector.empty()) return false;
  for (const auto& [k, v] : selector.items()) {
    if (!labels.is_object() || !labels.contains(k) || labels[k] != v) return false;
  }
  return true;
}

std::optional<std::string> serviceAddress(const json& service, const std::vector<json>& endpoints,
                                          const std::vector<json>& pods) {
  const std::string ns = nsOf(service), name = nameOf(service);
  for (const json& ep : endpoints) {
    if (nsOf(ep) != ns || nameOf(ep) != name) continue;
    for (const json& subset : ep.value("subsets", json::array())) {
      for (const json& a : subset.value("addresses", json::array())) {
        if (!a.value("ip", "").empty()) return a.value("ip", "");
      }
    }
    return std::nullopt;
  }
  const json selector = service.value("spec", json::object()).value("selector", json::object());
  std::map<std::string, std::string> ready;  // name -> podIP, sorted by name
  for (const json& p : pods) {
    if (nsOf(p) != ns || !podReady(p)) continue;
    if (p["metadata"].contains("deletionTimestamp")) continue;
    if (selectorMatches(selector, p["metadata"].value("labels", json::object()))) {
      ready[nameOf(p)] = p["status"].value("podIP", "");
    }
  }
  if (ready.empty()) return std::nullopt;
  return ready.begin()->second;
}

std::string hostsFile(const json& pod, const std::string& podIP, const std::vector<json>& services,
                      const std::vector<json>& endpoints, const std::vector<json>& pods) {
  const std::string ns = nsOf(pod);
  const json spec = pod.value("spec", json::object());
  std::string hostname = spec.value("hostname", nameOf(pod));
  std::string out = "# written by kube-test-kubelet\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  std::string self = podIP + "\t" + hostname;
  if (!spec.value("subdomain", "").empty()) self += " " + hostname + "." + spec.value("subdomain", "") + "." + ns + ".svc.cluster.local";
  if (!podIP.empty()) out += self + "\n";
  std::map<std::string, std::string> lines;
  for (const json& svc : services) {
    if (nsOf(svc) != ns) continue;
    auto ip = serviceAddress(svc, endpoints, pods);
    if (!ip) continue;
    const std::string n = nameOf(svc);
    lines[n] = *ip + "\t" + n + " " + n + "." + ns + " " + n + "." + ns + ".svc " + n + "." + ns + ".svc.cluster.local\n";
  }
  for (const auto& [n, line] : lines) out += line;
  return out;
}

}  // namespace kubelet
