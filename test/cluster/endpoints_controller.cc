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

constexpr const char* kServiceNameLabel = "kubernetes.io/service-name";
constexpr const char* kManagedByLabel = "endpointslice.kubernetes.io/managed-by";
constexpr const char* kManagedBy = "endpointslice-controller.k8s.io";

unsigned long long fnv1a64(const std::string& s) {
  unsigned long long h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// The EndpointSlice of one group of pods sharing resolved ports (ports: the Endpoints form).
json sliceOf(const json& svc, const std::string& portsKey, const std::vector<json>& pods, bool publishNotReady,
             const json& labels) {
  const std::string ns = svc["metadata"].value("namespace", ""), name = svc["metadata"].value("name", "");
  json endpoints = json::array();
  for (const json& pod : pods) {
    bool ready = publishNotReady || isPodReady(pod);
    json a = addressOf(pod);
    json e = {{"addresses", json::array({a["ip"]})},
              {"conditions", {{"ready", ready}, {"serving", ready}, {"terminating", false}}},
              {"targetRef", a["targetRef"]}};
    if (a.contains("nodeName")) e["nodeName"] = a["nodeName"];
    endpoints.push_back(e);
  }
  std::sort(endpoints.begin(), endpoints.end(), [](const json& x, const json& y) {
    return std::pair(x["addresses"][0].get<std::string>(), x.value("/targetRef/name"_json_pointer, "")) <
           std::pair(y["addresses"][0].get<std::string>(), y.value("/targetRef/name"_json_pointer, ""));
  });
  json ports = json::array();
  for (json p : json::parse(portsKey)) {
    if (!p.contains("name")) p["name"] = "";
    ports.push_back(p);
  }
  json sliceLabels = labels;
  sliceLabels[kServiceNameLabel] = name;
  sliceLabels[kManagedByLabel] = kManagedBy;
  json slice = {{"apiVersion", "discovery.k8s.io/v1"},
                {"kind", "EndpointSlice"},
                {"metadata",
                 {{"name", name + "-" + safeEncode(fnv1a64(portsKey), 5)},
                  {"namespace", ns},
                  {"labels", sliceLabels},
                  {"ownerReferences", json::array({controllerRef(flink::k8s::types::kService, svc)})}}},
                {"addressType", "IPv4"},
                {"endpoints", endpoints}};
  if (!ports.empty()) slice["ports"] = ports;
  return slice;
}

}  // namespace

EndpointsReconciler::EndpointsReconciler(std::shared_ptr<KubeApi> api, Cache services, Cache endpoints, Cache pods,
                                         Cache slices)
    : api_(std::move(api)), services_(std::move(services)), endpoints_(std::move(endpoints)), pods_(std::move(pods)),
      slices_(std::move(slices)) {}

std::optional<std::string> EndpointsReconciler::serviceOfSlice(const json& slice) {
  const json labels = slice["metadata"].value("labels", json::object());
  if (labels.value(kManagedByLabel, "") != kManagedBy || labels.value(kServiceNameLabel, "").empty()) return std::nullopt;
  return slice["metadata"].value("namespace", "") + "/" + labels.value(kServiceNameLabel, "");
}

std::optional<std::string> EndpointsReconciler::syncSlices(const std::string& ns, const std::string& service,
                                                           const std::vector<json>& want) {
  std::map<std::string, json> have;
  for (const json& slice : slices_.list(ns)) {
    if (serviceOfSlice(slice) == ns + "/" + service) have[slice["metadata"].value("name", "")] = slice;
  }
  for (const json& slice : want) {
    const std::string name = slice["metadata"]["name"];
    auto it = have.find(name);
    if (it == have.end()) {
      ApiResponse r = api_->post(kEndpointSlice.collectionPath(ns), slice);
      if (!r.ok() && !r.conflict()) return describeFailure("POST endpointslices " + ns + "/" + name, r);
      continue;
    }
    json current = it->second;
    have.erase(it);
    bool same = current.value("addressType", "") == slice["addressType"] &&
                current.value("endpoints", json::array()) == slice["endpoints"] &&
                current.value("ports", json::array()) == slice.value("ports", json::array()) &&
                current["metadata"].value("labels", json::object()) == slice["metadata"]["labels"] &&
                current["metadata"].value("ownerReferences", json::array()) == slice["metadata"]["ownerReferences"];
    if (same) continue;
    for (const char* key : {"labels", "ownerReferences"}) current["metadata"][key] = slice["metadata"][key];
    current["addressType"] = slice["addressType"];
    current["endpoints"] = slice["endpoints"];
    if (slice.contains("ports")) {
      current["ports"] = slice["ports"];
    } else {
      current.erase("ports");
    }
    ApiResponse r = api_->put(kEndpointSlice.objectPath(ns, name), current);
    if (!r.ok()) return describeFailure("PUT endpointslices " + ns + "/" + name, r);
  }
  for (const auto& [name, slice] : have) {
    ApiResponse r = api_->del(kEndpointSlice.objectPath(ns, name));
    if (!r.ok() && !r.notFound()) return describeFailure("DELETE endpointslices " + ns + "/" + name, r);
  }
  return std::nullopt;
}

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
    if (auto error = syncSlices(ns, name, {})) return {false, *error, std::nullopt};
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
  std::map<std::string, std::vector<json>> podsByPorts;  // for the EndpointSlices
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
    podsByPorts[ports.dump()].push_back(pod);
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

  std::vector<json> slices;
  for (const auto& [ports, pods] : podsByPorts) slices.push_back(sliceOf(*svc, ports, pods, publishNotReady, labels));
  if (slices.empty()) slices.push_back(sliceOf(*svc, "[]", {}, publishNotReady, labels));  // the placeholder
  if (auto error = syncSlices(ns, name, slices)) return {false, *error, std::nullopt};

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
