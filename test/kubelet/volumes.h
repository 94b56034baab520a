// Pod volumes in the test kubelet: configMap, secret, downwardAPI and emptyDir volumes are
// materialised once, at pod start, as plain directories under <podDir>/volumes/<name> (later
// changes of the ConfigMap or Secret are not propagated); a hostPath volume is the host's path
// itself (the pods run on the host). Each is bind-mounted at each container's
// volumeMounts[].mountPath inside a private mount namespace. Other volume types
// (persistentVolumeClaim, projected, ...) are errors. Thread-safe (distinct pods).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "container_spec.h"
#include "flink/status.h"

namespace kubelet {

struct Mount {
  std::string source;  // a directory or file under <podDir>/volumes, or a hostPath
  std::string target;  // mountPath
  bool readOnly = false;
};

/// Writes every volume of the pod under podDir/volumes (replacing what was there) and checks
/// hostPath volumes against their `type` (creating them for DirectoryOrCreate/FileOrCreate).
/// Errors name the volume: a missing (non-optional) ConfigMap/Secret, a hostPath that is not
/// what its type says, an unsupported volume type.
flink::Status materializeVolumes(const nlohmann::json& pod, const std::string& podDir, const std::string& podIP,
                                 const ObjectLookup& lookup);

/// The bind mounts of a container of the pod (volumeMounts with subPath honoured).
std::vector<Mount> containerMounts(const nlohmann::json& pod, const nlohmann::json& container, const std::string& podDir);

/// Creates each mount point on the host if missing (a directory, or an empty file when the
/// source is a file), as the bind mount needs one.
flink::Status prepareMountPoints(const std::vector<Mount>& mounts);

/// argv that runs argv in a new private mount namespace after the bind mounts and a cd into
/// workingDir (if not empty): unshare -m --propagation private sh -c '<mounts>; cd; exec "$@"'.
/// Exit 121: a mount failed; 122: workingDir missing.
std::vector<std::string> mountWrapper(const std::vector<Mount>& mounts, const std::string& workingDir,
                                      const std::vector<std::string>& argv);

/// s as one single-quoted shell word.
std::string shellQuote(const std::string& s);

}  // namespace kubelet
