// How a job gets into the runtime. A job is a C++ function with this signature:
//
//   void myJob(flink::StreamExecutionEnvironment& env, const std::vector<std::string>& args);
//
// It builds a pipeline and calls env.execute("name"). Register it under an entry class name:
//
//   FLINK_JOB("com.example.MyJob", myJob);
//
// A FlinkDeployment selects it with `job.entryClass`. `job.jarURI` says where it lives:
//   - `builtin://...` (or any URI not ending in .so): compiled into the runtime binary;
//   - a path or `file://` / `local://` URI ending in `.so`: a shared library loaded with
//     dlopen at submission; its FLINK_JOB registrations run when it loads.
// The same main() runs on the JobManager (to build the JobGraph) and on every TaskManager
// (to instantiate its operators), so it must build the same pipeline for the same args.
// It may throw std::exception (e.g. for bad args); the message fails the submission.
#pragma once

#include <string>
#include <vector>

#include "flink/datastream.h"
#include "flink/status.h"

namespace flink {

using JobMainFn = void (*)(StreamExecutionEnvironment& env, const std::vector<std::string>& args);

/// Process-wide registry of job entry points. Thread-safe.
class JobRegistry {
 public:
  static bool add(const std::string& entryClass, JobMainFn main);
  static JobMainFn find(const std::string& entryClass);
  static std::vector<std::string> names();
};

/// What identifies a job to run: Flink's jarURI + entryClass + args.
struct JobSpec {
  std::string jarURI;
  std::string entryClass;
  std::vector<std::string> args;
};

/// Resolves the spec (loading a .so if needed), runs its main() in plan mode with `config`,
/// and returns the StreamGraph. Errors name the jarURI/entryClass or carry main()'s message.
Result<std::shared_ptr<StreamExecutionEnvironment>> buildJob(const JobSpec& spec, const Configuration& config);

}  // namespace flink

#define FLINK_JOB_CONCAT2(a, b) a##b
#define FLINK_JOB_CONCAT(a, b) FLINK_JOB_CONCAT2(a, b)
#define FLINK_JOB(entryClass, fn) \
  static const bool FLINK_JOB_CONCAT(flink_job_registered_, __LINE__) = ::flink::JobRegistry::add(entryClass, fn)
