#include "local/run_local_args.h"

#include "controller/resources/yaml_json.h"
#include "webhook/admission.h"

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

namespace {

// The FlinkSessionJobs of `manifest` that run on session cluster `cluster`, validated.
Result<std::vector<nlohmann::json>> sessionJobsOf(const std::string& manifest, const std::string& cluster) {
  std::vector<nlohmann::json> out;
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAllFromFile(manifest);
  } catch (const YAML::Exception& e) {
    return Status::Error(manifest + ": " + e.what());
  }
  for (const auto& doc : docs) {
    if (!doc.IsMap() || !doc["kind"] || !doc["kind"].IsScalar() || doc["kind"].as<std::string>() != "FlinkSessionJob") continue;
    nlohmann::json job = k8s::detail::yamlToJson(doc);
    std::string name = job.value("metadata", nlohmann::json::object()).value("name", "");
    if (Status st = k8s::validateFlinkSessionJob(job); !st.ok()) {
      return Status::Error(manifest + ": FlinkSessionJob " + name + ": " + st.message());
    }
    if (job["spec"].value("deploymentName", "") != cluster) {
      return Status::Error(manifest + ": FlinkSessionJob " + name + ": spec.deploymentName: " +
                           job["spec"].value("deploymentName", "") + " is not the manifest's FlinkDeployment " + cluster);
    }
    if (job["spec"]["job"].value("state", "running") != "suspended") out.push_back(std::move(job));
  }
  return out;
}

}  // namespace

std::optional<k8s::FlinkDeployment> loadRunLocalDeployment(const RunLocalArgs& args, int* exitCode,
                                                           std::vector<nlohmann::json>* sessionJobs) {
  *exitCode = 2;
  auto loaded = k8s::loadFlinkDeployment(args.manifest);
  if (!loaded.ok()) {
    std::cerr << "error: " << loaded.status().message() << "\n";
    return std::nullopt;
  }
  k8s::FlinkDeployment& fd = *loaded;
  if (!fd.spec.job) {
    auto jobs = sessionJobsOf(args.manifest, fd.name);
    if (!jobs.ok()) {
      std::cerr << "error: " << jobs.status().message() << "\n";
      return std::nullopt;
    }
    if (jobs->empty()) {
      std::cerr << "error: " << args.manifest << ": FlinkDeployment " << fd.name << " is a session cluster (no spec.job) "
                << "and the manifest has no running FlinkSessionJob for it: nothing to run\n";
      return std::nullopt;
    }
    if (!args.fromSavepoint.empty() || args.parallelism > 0 || args.allowNonRestoredState) {
      std::cerr << "error: --fromSavepoint, --parallelism and --allowNonRestoredState apply to an application "
                << "FlinkDeployment; set them in each FlinkSessionJob's spec.job\n";
      return std::nullopt;
    }
    *sessionJobs = std::move(*jobs);
    return std::move(fd);
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
