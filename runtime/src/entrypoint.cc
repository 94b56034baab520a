// The runtime's processes (flink/entrypoint.h): configuration, arguments, and the JobManager or
// TaskManager.
#include "flink/entrypoint.h"

#include <cstdlib>
#include <iostream>
#include <optional>

#include "flink/common/ids.h"
#include "flink/common/log.h"
#include "flink/job.h"
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
  std::vector<std::string> rest;
  std::string jobClass, jars, jobId;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next = [&](const char* flag) -> std::string {
      if (i + 1 >= args.size()) {
        std::cerr << "error: " << flag << " needs a value\n";
        std::exit(2);  // usage error while parsing: nothing started yet
      }
      return args[++i];
    };
    if (a == "-D" || (a.rfind("-D", 0) == 0 && a.size() > 2)) {
      std::string kv = a == "-D" ? next("-D") : a.substr(2);
      auto eq = kv.find('=');
      if (eq == std::string::npos) {
        std::cerr << "error: -D expects key=value, got '" << kv << "'\n";
        return 2;
      }
      config.set(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (role == "standalone-job" && rest.empty() && (a == "--job-classname" || a == "-c")) {
      jobClass = next("--job-classname");
    } else if (role == "standalone-job" && rest.empty() && a == "--jars") {
      jars = next("--jars");
    } else if (role == "standalone-job" && rest.empty() && (a == "--job-id" || a == "-jid")) {
      jobId = next("--job-id");
    } else {
      rest.push_back(a);
    }
  }

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
