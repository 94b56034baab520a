// Client commands against a running JobManager's REST API, named as Flink's CLI:
//   flink-cpp savepoint -m HOST:PORT JOBID [TARGET_DIR]       trigger a savepoint, wait, print its path
//   flink-cpp stop -m HOST:PORT [--savepointPath DIR] [--drain] JOBID   stop with a savepoint
//   flink-cpp cancel -m HOST:PORT JOBID
// Each returns the process exit code (0 on success) and prints errors naming the job or path.
#pragma once

#include <string>
#include <vector>

namespace flink {

int runClientCommand(const std::string& command, const std::vector<std::string>& args);

}  // namespace flink
