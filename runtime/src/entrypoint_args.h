// The command line of a cluster process (flink/entrypoint.h), parsed without side effects, so
// that it can be tested and fuzzed on its own.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "flink/status.h"

namespace flink {

/// What runClusterProcess reads from its arguments.
struct ClusterArgs {
  std::vector<std::pair<std::string, std::string>> dynamicProperties;  // -D key=value, in order
  std::string jobClass;                                                // --job-classname / -c
  std::string jars;                                                    // --jars
  std::string jobId;                                                   // --job-id / -jid
  std::vector<std::string> rest;                                       // the job's arguments
};

/// Parses the arguments of `role` (the flags after the first job argument belong to the job;
/// --job-classname, --jars and --job-id only for standalone-job). A flag without its value or a
/// -D without '=' is an error naming it.
Result<ClusterArgs> parseClusterArgs(const std::string& role, const std::vector<std::string>& args);

}  // namespace flink
