// What a container runs in the test kubelet: image -> executable mapping, the argv from
// command/args with Kubernetes $(VAR) expansion, and the environment from env (value,
// fieldRef, configMapKeyRef, secretKeyRef). Pure functions: no I/O, thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flink/status.h"

namespace kubelet {

/// Finds an object of the pod's namespace: kind is "ConfigMap" or "Secret".
using ObjectLookup = std::function<std::optional<nlohmann::json>(const std::string& kind, const std::string& name)>;

/// Kubernetes $(VAR) expansion: $(NAME) becomes vars[NAME] when NAME is defined, else stays as
/// written; $$ becomes $ (so $$(NAME) is the literal $(NAME)).
std::string expandVars(const std::string& in, const std::map<std::string, std::string>& vars);

/// The repository of an image reference without registry, tag or digest:
/// "ghcr.io/x/flink-cpp:1.0@sha256:..." -> "flink-cpp".
std::string imageRepository(const std::string& image);

/// True for images this kubelet can run: repository flink-cpp or flink-cpp-operator.
bool isRunnableImage(const std::string& image);

/// The environment of a container: the image's (FLINK_HOME, FLINK_CONF_DIR, PATH, HOSTNAME)
/// then env entries in order, each value expanded with the entries before it. Errors name a
/// missing (non-optional) ConfigMap/Secret or key, or an unsupported fieldRef.
flink::Result<std::map<std::string, std::string>> containerEnv(const nlohmann::json& pod, const nlohmann::json& container,
                                                               const std::string& podIP, const ObjectLookup& lookup);

/// argv of a container: command (command[0] flink-cpp or /opt/flink/bin/flink-cpp -> flinkCpp)
/// else the image entrypoint flinkCpp, followed by args; every word $(VAR)-expanded from env.
std::vector<std::string> containerArgv(const nlohmann::json& container, const std::string& flinkCpp,
                                       const std::map<std::string, std::string>& env);

/// The value of a downward-API fieldPath of a pod (metadata.name, metadata.namespace,
/// metadata.uid, spec.nodeName, status.podIP, status.hostIP, metadata.labels['k'],
/// metadata.annotations['k']); nullopt for anything else.
std::optional<std::string> podField(const nlohmann::json& pod, const std::string& fieldPath, const std::string& podIP);

/// The identity of a container's processes, from securityContext: runAsUser and runAsGroup of
/// the container, else of the pod (unset: root, as the kubelet's images run); groups: the pod's
/// fsGroup then supplementalGroups, as supplementary groups. Ids are numeric (uid/gid).
struct RunAs {
  std::optional<int64_t> uid;
  std::optional<int64_t> gid;
  std::vector<int64_t> groups;
  bool root() const { return !uid && !gid && groups.empty(); }
};
RunAs containerRunAs(const nlohmann::json& pod, const nlohmann::json& container);

/// The kernel hostname of a pod (its UTS namespace): spec.hostname, else metadata.name cut to
/// 63 characters without trailing '-' or '.', as the kubelet does.
std::string podHostname(const nlohmann::json& pod);

/// Decodes standard base64 (Secret data); invalid characters are skipped.
std::string base64Decode(const std::string& in);

}  // namespace kubelet
