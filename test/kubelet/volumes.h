// Pod volumes in the test kubelet: configMap, secret, downwardAPI and emptyDir volumes are
// materialised once, at pod start, as plain directories under <podDir>/volumes/<name> (later
// changes of the ConfigMap or Secret are not propagated); a hostPath volume is the host's path
// itself (the pods run on the host). Each is bind-mounted at each container's
// volumeMounts[].mountPath inside a private mount namespace. projected volumes (the API server's
// kube-api-access-* service account volume) too. Other volume types (persistentVolumeClaim, ...)
// are errors. Thread-safe (distinct pods).
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
/// emptyDir directories are mode 0777; with the pod's securityContext.fsGroup, every volume
/// but hostPath belongs to that group (group-readable, emptyDir group-writable, directories
/// setgid), as the kubelet's volume ownership does.
/// Errors name the volume: a missing (non-optional) ConfigMap/Secret, a hostPath that is not
/// what its type says, an unsupported volume type.
/// projected volumes: configMap, secret, downwardAPI sources, and serviceAccountToken written as
/// serviceAccountToken (the kubelet's own token: there is no TokenRequest here).
flink::Status materializeVolumes(const nlohmann::json& pod, const std::string& podDir, const std::string& podIP,
                                 const ObjectLookup& lookup, const std::string& serviceAccountToken = "");

/// The bind mounts of a container of the pod (volumeMounts with subPath honoured).
std::vector<Mount> containerMounts(const nlohmann::json& pod, const nlohmann::json& container, const std::string& podDir);

/// Creates each mount point on the host if missing (a directory, or an empty file when the
/// source is a file), as the bind mount needs one.
flink::Status prepareMountPoints(const std::vector<Mount>& mounts);

/// How a container's process is wrapped: its bind mounts, working directory, the pod's hostname
/// and the identity it runs as.
struct Sandbox {
  std::vector<Mount> mounts;
  std::string workingDir;  // "" = the kubelet's
  std::string hostname;    // "" = the host's (no UTS namespace)
  RunAs runAs;
  /// shareProcessNamespace: a PID namespace (with its own /proc) whose init is a shell that
  /// waits for the program, so that the program is not the namespace's init and a SIGKILL from
  /// inside it (kubectl exec) reaches it. (Real: one namespace shared by the pod's containers,
  /// with the pause process as init; here one per container.)
  bool pidNamespace = false;
};

/// argv that runs argv in new private mount and UTS namespaces, after setting the hostname,
/// the bind mounts and a cd into workingDir, as runAs (setpriv; root when unset):
/// unshare -m -u --propagation private sh -c 'hostname H; <mounts>; cd W; exec setpriv ... "$@"';
/// with pidNamespace: unshare -m -u -p --fork --mount-proc ... sh -c '...; setpriv ... "$@" & wait $!'.
/// A mount source or an absolute argv[0] that a mount would hide is opened before the mounts and
/// reached through /proc/self/fd/N (3-9). Exit 121: a mount failed; 122: workingDir missing; 123: the hostname could not be set.
std::vector<std::string> sandboxWrapper(const Sandbox& box, const std::vector<std::string>& argv);

/// s as one single-quoted shell word.
std::string shellQuote(const std::string& s);

}  // namespace kubelet
