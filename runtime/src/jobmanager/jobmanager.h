// The JobManager process: RPC endpoint for TaskManagers (jobmanager.rpc.port), REST API
// (rest.port), and on its main thread the ResourceManager, the Dispatcher and one JobMaster
// per job. In application mode (`standalone-job`) it runs the job given at start-up and,
// when execution.shutdown-on-application-finish is true (the default), exits after it ends.
#pragma once

#include <atomic>
#include <optional>

#include "flink/configuration.h"
#include "jobmanager/job_master.h"

namespace flink {

/// Runs until *stop (SIGTERM) or, in application mode, the job's end. Returns the exit code:
/// 0, or 1 when the application's job did not finish successfully.
int runJobManager(const Configuration& config, std::optional<JobSubmission> application, const std::atomic<bool>* stop);

}  // namespace flink
