// Pod networking with iproute2: one network namespace per pod, a veth pair whose host end is
// enslaved to the bridge <prefix>0 (198.18.0.1/15), loopback up, default route via the bridge,
// and the pod's hosts file in /etc/netns/<netns>/hosts (which `ip netns exec` bind-mounts over
// /etc/hosts). Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN). Functions are thread-safe as far as
// iproute2 is (distinct pods may be set up concurrently); errors carry ip's output.
#pragma once

#include <string>

#include "flink/status.h"

namespace kubelet {

struct PodNetNames {
  std::string netns;     // <prefix>-<ns>-<pod>, shortened with a hash to at most 48 characters
  std::string hostVeth;  // <prefix>v<8 hex digits> (at most 15 characters)
};

/// The names of a pod's namespace and veth. prefix: at most 6 characters [a-z0-9].
PodNetNames podNetNames(const std::string& prefix, const std::string& ns, const std::string& pod,
                        const std::string& uid);

/// The bridge's name: <prefix>0.
std::string bridgeName(const std::string& prefix);

/// Creates the bridge with kBridgeIP/15 and brings it up, unless it exists.
flink::Status ensureBridge(const std::string& prefix);

/// Creates the namespace, veth pair (eth0 inside with ip/15), loopback and default route.
/// On error, what was created is removed again.
flink::Status createPodNetwork(const std::string& prefix, const PodNetNames& names, const std::string& ip);

/// Removes the namespace, the veth and /etc/netns/<netns>; ignores what is already gone.
void deletePodNetwork(const PodNetNames& names);

/// Removes every namespace named <prefix>-*, every link named <prefix>*, and /etc/netns/<prefix>-*.
void removeLeftovers(const std::string& prefix);

/// Writes /etc/netns/<netns>/hosts in place (truncate and write, never rename: a running pod
/// sees the file through a bind mount of its inode). Unchanged content is not rewritten.
flink::Status writeHostsFile(const std::string& netns, const std::string& content);

}  // namespace kubelet
