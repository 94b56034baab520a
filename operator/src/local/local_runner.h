// The embedded default: runs a FlinkDeployment manifest on this machine, with no Kubernetes,
// as a local cluster of real processes: one JobManager (`flink-cpp standalone-job`, Flink's
// application mode) and the TaskManagers the manifest asks for (taskManager.replicas, or
// ceil(parallelism / taskmanager.numberOfTaskSlots)), on loopback with free ports. Shows the
// job's progress, prints a summary, shuts the cluster down and returns the exit code
// (0 when the job FINISHED; non-zero with the cause otherwise). A session FlinkDeployment runs
// the manifest's FlinkSessionJobs on one local session cluster (`flink-cpp jobmanager`),
// submitted through its jar API as the operator submits them; 0 when they all FINISHED.
#pragma once

#include <string>
#include <vector>

namespace flink {

/// args: MANIFEST.yaml [--quiet] [--keep-cluster]. Returns the process exit code.
int runLocal(const std::vector<std::string>& args);

}  // namespace flink
