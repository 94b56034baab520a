// A pod's /etc/hosts: localhost, the pod's own hostname, and one line per Service of the pod's
// namespace that has a ready backend (the names <svc>, <svc>.<ns>, <svc>.<ns>.svc and
// <svc>.<ns>.svc.cluster.local). This stands in for cluster DNS. Pure functions, thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace kubelet {

/// True when the pod's status has condition Ready True and a podIP.
bool podReady(const nlohmann::json& pod);

/// True when every key=value of the (equality-based) selector map is among labels; an empty
/// selector matches nothing (as Services without selectors).
bool selectorMatches(const nlohmann::json& selector, const nlohmann::json& labels);

/// The address a Service's names resolve to: the first ready address of its Endpoints object
/// (same namespace and name) when there is one, else the podIP of the first ready pod (by name)
/// of its namespace its selector matches; nullopt when nothing is ready.
std::optional<std::string> serviceAddress(const nlohmann::json& service, const std::vector<nlohmann::json>& endpoints,
                                          const std::vector<nlohmann::json>& pods);

/// The hosts file of pod (whose address is podIP) given all Services, Endpoints and Pods
/// (any namespace; only the pod's namespace is used). Lines are sorted by Service name.
std::string hostsFile(const nlohmann::json& pod, const std::string& podIP, const std::vector<nlohmann::json>& services,
                      const std::vector<nlohmann::json>& endpoints, const std::vector<nlohmann::json>& pods);

}  // namespace kubelet
