// flink-cpp: one binary for every role, selected by the first argument as in Flink's image.
//   flink-cpp jobmanager     [-D key=value]...          session cluster JobManager
//   flink-cpp standalone-job [-D key=value]... [--job-classname C] [--jars URI] [--job-id ID] [job args]
//   flink-cpp taskmanager    [-D key=value]...
//   flink-cpp run-local MANIFEST.yaml [-s SAVEPOINT] [-p N]   a FlinkDeployment on local processes
//   flink-cpp savepoint|stop|cancel -m HOST:PORT ...    client commands (see operator/src/local/cli.h)
//   flink-cpp operator [options]                         the Kubernetes operator (operator/src/operator.h)
//   flink-cpp list-jobs                                 entry classes compiled in
// Configuration: $FLINK_CONF_DIR/config.yaml (or flink-conf.yaml), then -D overrides.
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "core/log.h"
#include "core/rpc.h"
#include "flink/job.h"
#include "jobmanager/jobmanager.h"
#include "local/cli.h"
#include "local/local_runner.h"
#include "operator.h"
#include "taskmanager/task_executor.h"

namespace {

std::atomic<bool> gStop{false};

void onSignal(int) { gStop = true; }

void usage() {
  std::cerr << "usage: flink-cpp (jobmanager|standalone-job|taskmanager) [-D key=value]... [options]\n"
               "       flink-cpp run-local MANIFEST.yaml [--fromSavepoint PATH] [--allowNonRestoredState] [-p N]\n"
               "       flink-cpp savepoint -m HOST:PORT JOBID [DIR] | stop -m HOST:PORT [--savepointPath DIR] JOBID\n"
               "       flink-cpp cancel -m HOST:PORT JOBID\n"
               "       flink-cpp list-jobs\n";
}

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

int main(int argc, char** argv) {
  using namespace flink;
  if (argc < 2) {
    usage();
    return 2;
  }
  std::string role = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);

  if (role == "run-local") return runLocal(args);
  if (role == "savepoint" || role == "stop" || role == "cancel") return runClientCommand(role, args);
  if (role == "operator") {
    std::signal(SIGTERM, onSignal);
    std::signal(SIGINT, onSignal);
    std::signal(SIGPIPE, SIG_IGN);
    return runOperator(args, &gStop);
  }
  if (role == "list-jobs") {
    for (const auto& n : JobRegistry::names()) std::cout << n << "\n";
    return 0;
  }
  if (role != "jobmanager" && role != "standalone-job" && role != "taskmanager") {
    std::cerr << "unknown role '" << role << "'\n";
    usage();
    return 2;
  }

  const char* confDir = std::getenv("FLINK_CONF_DIR");
  auto loaded = Configuration::loadFromDirectory(confDir ? confDir : "conf");
  if (!loaded.ok()) {
    std::cerr << "error: " << loaded.status().message() << "\n";
    return 1;
  }
  Configuration config = *loaded;
  std::vector<std::string> rest;
  std::string jobClass, jars, jobId;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next = [&](const char* flag) -> std::string {
      if (i + 1 >= args.size()) {
        std::cerr << "error: " << flag << " needs a value\n";
        std::exit(2);
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

  std::signal(SIGTERM, onSignal);
  std::signal(SIGINT, onSignal);
  std::signal(SIGPIPE, SIG_IGN);

  if (role == "taskmanager") return runTaskManager(config, &gStop);

  std::optional<JobSubmission> application;
  if (role == "standalone-job") {
    JobSubmission sub;
    sub.spec.entryClass = !jobClass.empty() ? jobClass : config.getString("$internal.application.main", "");
    sub.spec.jarURI = !jars.empty() ? jars : config.getString("pipeline.jars", "builtin://flink-cpp");
    sub.spec.args = !rest.empty() ? rest : splitArgs(config.getString("$internal.application.program-args", ""));
    sub.jobId = !jobId.empty() ? jobId : config.getString(options::kJobId, rpc::randomId());
    if (sub.spec.entryClass.empty()) {
      std::cerr << "error: standalone-job needs --job-classname (or $internal.application.main)\n";
      return 2;
    }
    sub.config = config;
    application = std::move(sub);
  }
  return runJobManager(config, std::move(application), &gStop);
}
