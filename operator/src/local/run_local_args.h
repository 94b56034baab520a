// The command line of `flink-cpp run-local` and the FlinkDeployment it selects:
//   flink-cpp run-local MANIFEST.yaml [--quiet] [--fromSavepoint PATH] [--allowNonRestoredState]
//                       [--parallelism N]
// MANIFEST holds an application FlinkDeployment, or a session FlinkDeployment and the
// FlinkSessionJobs to run on it.
// Errors are printed (to stderr) here, with the exit code the caller should return.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/flink_deployment.h"

namespace flink {

struct RunLocalArgs {
  std::string manifest;                // path of the FlinkDeployment manifest (YAML)
  std::string fromSavepoint;           // --fromSavepoint/-s: savepoint to restore ("" = none)
  bool quiet = false;                  // --quiet: no progress line
  bool allowNonRestoredState = false;  // --allowNonRestoredState/-n
  int parallelism = 0;                 // --parallelism/-p: overrides spec.job.parallelism (0 = keep)
};

/// Parses run-local's arguments. On a usage error prints it to stderr and returns nullopt
/// (the caller exits with 2).
std::optional<RunLocalArgs> parseRunLocalArgs(const std::vector<std::string>& args);

/// Loads args.manifest and applies the command line's overrides to spec.job. A session
/// FlinkDeployment (no spec.job) needs FlinkSessionJobs on it (spec.deploymentName = its name) in
/// the same manifest: they are validated (webhook/admission.h validateFlinkSessionJob) and put in
/// *sessionJobs as JSON objects (those with job.state suspended left out). Returns nullopt with
/// *exitCode set when there is nothing to run: 2 for an unreadable or invalid manifest, a session
/// cluster without session jobs or an invalid session job (printed to stderr), 0 when everything
/// is suspended (said on stdout).
std::optional<k8s::FlinkDeployment> loadRunLocalDeployment(const RunLocalArgs& args, int* exitCode,
                                                           std::vector<nlohmann::json>* sessionJobs);

}  // namespace flink
