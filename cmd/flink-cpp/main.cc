// flink-cpp: one binary for every role, selected by the first argument as in Flink's image.
//   flink-cpp jobmanager     [-D key=value]...          session cluster JobManager
//   flink-cpp standalone-job [-D key=value]... [--job-classname C] [--jars URI] [--job-id ID] [job args]
//   flink-cpp taskmanager    [-D key=value]...
//   flink-cpp run-local MANIFEST.yaml [-s SAVEPOINT] [-p N]   a FlinkDeployment on local processes
//   flink-cpp run|list|savepoint|stop|cancel -m HOST:PORT ...   client commands (see operator/src/local/cli.h)
//   flink-cpp operator [options]                         the Kubernetes operator (operator/src/operator.h)
//   flink-cpp list-jobs                                 entry classes compiled in
// Configuration: $FLINK_CONF_DIR/config.yaml (or flink-conf.yaml), then -D overrides.
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "flink/entrypoint.h"
#include "flink/job.h"
#include "local/cli.h"
#include "local/local_runner.h"
#include "operator.h"

namespace {

std::atomic<bool> gStop{false};

void onSignal(int) { gStop = true; }

void usage() {
  std::cerr << "usage: flink-cpp (jobmanager|standalone-job|taskmanager) [-D key=value]... [options]\n"
               "       flink-cpp run-local MANIFEST.yaml [--fromSavepoint PATH] [--allowNonRestoredState] [-p N]\n"
               "       flink-cpp run -m HOST:PORT [-p N] [-s SAVEPOINT] [-c ENTRY_CLASS] [--detached] JOB.so [args]\n"
               "       flink-cpp list -m HOST:PORT [-a]\n"
               "       flink-cpp savepoint -m HOST:PORT JOBID [DIR] | stop -m HOST:PORT [--savepointPath DIR] JOBID\n"
               "       flink-cpp cancel -m HOST:PORT JOBID\n"
               "       flink-cpp list-jobs\n";
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
  if (role == "savepoint" || role == "stop" || role == "cancel" || role == "run" || role == "list") {
    return runClientCommand(role, args);
  }
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
  if (!isClusterRole(role)) {
    std::cerr << "unknown role '" << role << "'\n";
    usage();
    return 2;
  }

  std::signal(SIGTERM, onSignal);
  std::signal(SIGINT, onSignal);
  std::signal(SIGPIPE, SIG_IGN);
  return runClusterProcess(role, args, &gStop);
}
