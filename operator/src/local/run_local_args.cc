#include "local/run_local_args.h"

#include <iostream>

namespace flink {

std::optional<RunLocalArgs> parseRunLocalArgs(const std::vector<std::string>& args) {
  RunLocalArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--quiet") {
      out.quiet = true;
    } else if ((a == "--fromSavepoint" || a == "-s") && i + 1 < args.size()) {
      out.fromSavepoint = args[++i];
    } else if (a == "--allowNonRestoredState" || a == "-n") {
      out.allowNonRestoredState = true;
    } else if ((a == "--parallelism" || a == "-p") && i + 1 < args.size()) {
      try {
        out.parallelism = std::stoi(args[++i]);
      } catch (...) {
      }
      if (out.parallelism < 1) {
        std::cerr << "run-local: --parallelism expects a positive integer, got '" << args[i] << "'\n";
        return std::nullopt;
      }
    } else if (out.manifest.empty()) {
      out.manifest = a;
    } else {
      std::cerr << "run-local: unexpected argument '" << a << "'\n";
      return std::nullopt;
    }
  }
  if (out.manifest.empty()) {
    std::cerr << "usage: flink-cpp run-local MANIFEST.yaml [--quiet] [--fromSavepoint PATH] [--allowNonRestoredState] "
                 "[--parallelism N]\n";
    return std::nullopt;
  }
  return out;
}

std::optional<k8s::FlinkDeployment> loadRunLocalDeployment(const RunLocalArgs& args, int* exitCode) {
  *exitCode = 2;
  auto loaded = k8s::loadFlinkDeployment(args.manifest);
  if (!loaded.ok()) {
    std::cerr << "error: " << loaded.status().message() << "\n";
    return std::nullopt;
  }
  k8s::FlinkDeployment& fd = *loaded;
  if (!fd.spec.job) {
    std::cerr << "error: " << args.manifest << ": spec.job: required to run locally (session clusters without a job "
              << "are not supported by run-local)\n";
    return std::nullopt;
  }
  if (args.parallelism > 0) {
    // -p N wins over taskManager.replicas too (which would set the parallelism to replicas x slots).
    fd.spec.job->parallelism = args.parallelism;
    fd.spec.taskManager.replicas.reset();
  }
  if (!args.fromSavepoint.empty()) fd.spec.job->initialSavepointPath = args.fromSavepoint;
  if (args.allowNonRestoredState) fd.spec.job->allowNonRestoredState = true;
  if (fd.spec.job->state == "suspended") {
    *exitCode = 0;
    std::cout << "spec.job.state is 'suspended': nothing to run\n";
    return std::nullopt;
  }
  return std::move(fd);
}

}  // namespace flink
