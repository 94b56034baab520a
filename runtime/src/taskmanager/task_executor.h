// The TaskManager process (Flink's TaskExecutor): registers with the ResourceManager, offers
// taskmanager.numberOfTaskSlots slots, runs the subtasks the JobMaster deploys, reports their
// states and metrics, and heartbeats. Reconnects with exponential backoff
// (cluster.registration.initial-timeout .. max-timeout) when the JobManager is unreachable.
#pragma once

#include <atomic>

#include "flink/configuration.h"

namespace flink {

/// Runs the TaskManager until *stop becomes true (SIGTERM). Returns the process exit code.
int runTaskManager(const Configuration& config, const std::atomic<bool>* stop);

}  // namespace flink
