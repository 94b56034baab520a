// The processes of the runtime image, as Flink's image starts them:
//   jobmanager     [-D key=value]...                                   session cluster JobManager
//   standalone-job [-D key=value]... [--job-classname C] [--jars URI] [--job-id ID] [job args]
//   taskmanager    [-D key=value]...
// Configuration: $FLINK_CONF_DIR/config.yaml (or flink-conf.yaml; ./conf without the variable),
// then the -D overrides.
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace flink {

/// True for the roles runClusterProcess serves.
bool isClusterRole(const std::string& role);

/// Loads the configuration and runs the process of `role` until *stop (set by SIGTERM) or, for
/// standalone-job with execution.shutdown-on-application-finish, the end of the job. Returns the
/// process exit code: 0; 1 for a configuration error or a job that did not finish; 2 for a
/// usage error (message on stderr).
int runClusterProcess(const std::string& role, const std::vector<std::string>& args, const std::atomic<bool>* stop);

}  // namespace flink
