// The runtime's processes (flink/entrypoint.h): configuration, arguments, and the JobManager or
// TaskManager.
#include "flink/entrypoint.h"

#include <cstdlib>
#include <iostream>
#include <optional>

#include "flink/common/ids.h"
#include "flink/common/log.h"
#include "flink/job.h"
#include "entrypoint_args.h"
#include "jobmanager/jobmanager.h"
#include "taskmanager/task_executor.h"

namespace flink {
namespace {

std::vector<std::string> splitArgs(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(';', start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

}  // namespace

bool isClusterRole(const std::string& role) {
  return role == "jobmanager" || role == "standalone-job" || role == "taskmanager";
}

int runClusterProcess(const std::string& role, const std::vector<std::string>& args, const std::atomic<bool>* stop) {
  const char* confDir = std::getenv("FLINK_CONF_DIR");
  auto loaded = Configuration::loadFromDirectory(confDir ? confDir : "conf");
  if (!loaded.ok()) {
    std::cerr << "error: " << loaded.status().message() << "\n";
    return 1;
  }
  Configuration config = *loaded;
  // spec.logConfiguration's log4j-console.properties (or logback-console.xml) next to it.
  if (auto logging = log::configureFromDirectory(confDir ? confDir : "conf"); !logging.ok()) {
    std::cerr << "warning: " << logging.status().message() << " (logging at INFO)\n";
  }
  auto parsed = parseClusterArgs(role, args);
  if (!parsed.ok()) {
    std::cerr << "error: " << parsed.status().message() << "\n";
    return 2;  // usage error while parsing: nothing started yet
  }
  for (const auto& [key, value] : parsed->dynamicProperties) config.set(key, value);
  const std::string& jobClass = parsed->jobClass;
  const std::string& jars = parsed->jars;
  const std::string& jobId = parsed->jobId;
  const std::vector<std::string>& rest = parsed->rest;

  if (role == "taskmanager") return runTaskManager(config, stop);

  std::optional<JobSubmission> application;
  if (role == "standalone-job") {
    JobSubmission sub;
    sub.spec.entryClass = !jobClass.empty() ? jobClass : config.getString("$internal.application.main", "");
    sub.spec.jarURI = !jars.empty() ? jars : config.getString("pipeline.jars", "builtin://flink-cpp");
    sub.spec.args = !rest.empty() ? rest : splitArgs(config.getString("$internal.application.program-args", ""));
    sub.jobId = !jobId.empty() ? jobId : config.getString(options::kJobId, randomId());
    if (sub.spec.entryClass.empty()) {
      std::cerr << "error: standalone-job needs --job-classname (or $internal.application.main)\n";
      return 2;
    }
    sub.config = config;
    application = std::move(sub);
  }
  return runJobManager(config, std::move(application), stop);
}

}  // namespace flink
