// Client commands against a running JobManager's REST API, named as Flink's CLI:
//   flink-cpp run -m HOST:PORT [-p N] [-s SAVEPOINT] [-n] [-c ENTRY_CLASS] [-d] [-D k=v]... JOB.so|builtin://NAME [ARGS]
//       uploads the library (POST /jars/upload), runs it (POST /jars/{jarid}/run), prints
//       "Job has been submitted with JobID <id>"; without -d (--detached) waits for the job's end
//       (exit 0 when FINISHED)
//   flink-cpp list -m HOST:PORT [-a]                          running and scheduled jobs (-a: all)
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
