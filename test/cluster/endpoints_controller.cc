#include "endpoints_controller.h"

#include <algorithm>
#include <map>
#include <set>

#include "flink/common/log.h"

namespace ktc {

namespace {

bool selects(const json& selector, const json& pod) {
  if (!selector.is_object() || selector.empty()) return false;
  const json labels = pod["metadata"].value("labels", json::object());
  for (const auto& [k, v] : selector.items()) {
    if (!labels.contains(k) || labels[k] != v) return false;
  }
  return true;
}

// The container port a Service port's targetPort names on this pod, if any.
std::optional<long long> resolvePort(const json& servicePort, const json& pod) {
  json target = servicePort.value("targetPort", servicePort.value("port", json()));
  if (target.is_number_integer()) return target.get<long long>();
  if (!target.is_string()) return std::nullopt;
  std::string protocol = servicePort.value("protocol", "TCP");
  for (const auto& c : pod.value("/spec/containers"_json_pointer, json::array())) {
    for (const auto& p : c.value("ports", json::array())) {
      if (p.value("name", "") == target.get<std::string>() && p.value("protocol", "TCP") == protocol) {
        return p.value("containerPort", 0LL);
      }
    }
  }
  try {  // a number given as a string ("8080")
    size_t used = 0;
    long long n = std::stoll(target.get<std::string>(), &used);
    if (used == target.get<std::string>().size()) return n;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

json addressOf(const json& pod) {
  const json& m = pod["metadata"];
  json a = {{"ip", pod["status"]["podIP"]},
            {"targetRef",
             {{"kind", "Pod"}, {"namespace", m.value("namespace", "")}, {"name", m.value("name", "")}, {"uid", m.value("uid", "")}}}};
  std::string node = pod.value("/spec/nodeName"_json_pointer, "");
  if (!node.empty()) a["nodeName"] = node;
  return a;
}

}  // namespace

EndpointsReconciler::EndpointsReconciler(std::shared_ptr<KubeApi> api, Cache services, Cache endpoints, Cache pods)
    : api_(std::move(api)), services_(std::move(services)), endpoints_(std::move(endpoints)), pods_(std::move(pods)) {}

std::vector<std::string> EndpointsReconciler::servicesOfPod(const json& pod) const {
  std::string ns = pod["metadata"].value("namespace", ""), name = pod["metadata"].value("name", "");
  std::set<std::string> keys;
  for (const auto& svc : services_.list(ns)) {
    if (selects(svc.value("/spec/selector"_json_pointer, json()), pod)) keys.insert(ns + "/" + svc["metadata"].value("name", ""));
  }
  for (const auto& ep : endpoints_.list(ns)) {
    for (const auto& subset : ep.value("subsets", json::array())) {
      for (const char* list : {"addresses", "notReadyAddresses"}) {
        for (const auto& a : subset.value(list, json::array())) {
          if (a.value("/targetRef/name"_json_pointer, "") == name) keys.insert(ns + "/" + ep["metadata"].value("name", ""));
        }
      }
    }
  }
  return {keys.begin(), keys.end()};
}

Reconciler::Result EndpointsReconciler::reconcile(const std::string& ns, const std::string& name) {
  auto svc = services_.get(ns, name);
  auto current = endpoints_.get(ns, name);
  if (!svc) {
    if (!current) return {};
    ApiResponse r = api_->del(kEndpoints.objectPath(ns, name));
    if (!r.ok() && !r.notFound()) return {false, describeFailure("DELETE endpoints " + ns + "/" + name, r), std::nullopt};
    flink::log::info("deleted endpoints {}/{} of a deleted service", ns, name);
    return {};
  }
  json selector = svc->value("/spec/selector"_json_pointer, json::object());
  if (!selector.is_object() || selector.empty()) return {};  // Endpoints managed by hand

  bool headless = svc->value("/spec/clusterIP"_json_pointer, "") == "None";
  bool publishNotReady = svc->value("/spec/publishNotReadyAddresses"_json_pointer, false);
  json servicePorts = svc->value("/spec/ports"_json_pointer, json::array());
  // Resolved ports (as JSON text) -> {addresses, notReadyAddresses}
  std::map<std::string, std::pair<json, json>> subsets;
  for (const auto& pod : pods_.list(ns)) {
    if (!selects(selector, pod) || !isPodActive(pod) || pod.value("/status/podIP"_json_pointer, "").empty()) continue;
    json ports = json::array();
    for (const auto& sp : servicePorts) {
      auto port = resolvePort(sp, pod);
      if (!port) continue;
      json p = {{"port", *port}, {"protocol", sp.value("protocol", "TCP")}};
      if (sp.contains("name") && !sp["name"].get<std::string>().empty()) p["name"] = sp["name"];
      if (sp.contains("appProtocol")) p["appProtocol"] = sp["appProtocol"];
      ports.push_back(p);
    }
    if (ports.empty() && !(servicePorts.empty() && headless)) continue;
    auto& entry = subsets[ports.dump()];
    if (entry.first.is_null()) entry = {json::array(), json::array()};
    (publishNotReady || isPodReady(pod) ? entry.first : entry.second).push_back(addressOf(pod));
  }
  json wantSubsets = json::array();
  auto byIp = [](const json& a, const json& b) {
    return std::pair(a.value("ip", ""), a.value("/targetRef/name"_json_pointer, "")) <
           std::pair(b.value("ip", ""), b.value("/targetRef/name"_json_pointer, ""));
  };
  for (auto& [ports, addrs] : subsets) {
    json subset = json::object();
    std::sort(addrs.first.begin(), addrs.first.end(), byIp);
    std::sort(addrs.second.begin(), addrs.second.end(), byIp);
    if (!addrs.first.empty()) subset["addresses"] = addrs.first;
    if (!addrs.second.empty()) subset["notReadyAddresses"] = addrs.second;
    json p = json::parse(ports);
    if (!p.empty()) subset["ports"] = p;
    wantSubsets.push_back(subset);
  }
  json labels = svc->value("/metadata/labels"_json_pointer, json::object());
  if (headless) labels["service.kubernetes.io/headless"] = "";

  if (!current) {
    json ep = {{"apiVersion", "v1"}, {"kind", "Endpoints"}, {"metadata", {{"name", name}, {"namespace", ns}}}};
    if (!labels.empty()) ep["metadata"]["labels"] = labels;
    if (!wantSubsets.empty()) ep["subsets"] = wantSubsets;
    ApiResponse r = api_->post(kEndpoints.collectionPath(ns), ep);
    if (!r.ok() && !r.conflict()) return {false, describeFailure("POST endpoints " + ns + "/" + name, r), std::nullopt};
    return {};
  }
  if (current->value("subsets", json::array()) == wantSubsets &&
      current->value("/metadata/labels"_json_pointer, json::object()) == labels) {
    return {};
  }
  json ep = *current;
  if (labels.empty()) {
    ep["metadata"].erase("labels");
  } else {
    ep["metadata"]["labels"] = labels;
  }
  if (wantSubsets.empty()) {
    ep.erase("subsets");
  } else {
    ep["subsets"] = wantSubsets;
  }
  ApiResponse r = api_->put(kEndpoints.objectPath(ns, name), ep);
  if (!r.ok()) return {false, describeFailure("PUT endpoints " + ns + "/" + name, r), std::nullopt};
  return {};
}

}  // namespace ktc
