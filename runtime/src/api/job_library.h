// Loading job libraries (shared objects whose FLINK_JOB registrations run when they load), each
// with its own table of entry classes, so two libraries registering the same entry class name
// do not replace each other's, and a library's entry classes do not leak into the process-wide
// JobRegistry of compiled-in jobs.
#pragma once

#include <map>
#include <string>

#include "flink/job.h"

namespace flink {

/// The entry classes one library registered while it loaded.
using JobEntries = std::map<std::string, JobMainFn>;

/// Loads the shared library at `path` (dlopen, RTLD_NOW | RTLD_LOCAL) and returns the entry
/// classes its static initializers registered. A path loaded before returns its first result
/// (dlopen does not run the initializers again). Libraries are never unloaded: a job built from
/// one may still run its code. Thread-safe (one load at a time). Errors: the file cannot be
/// loaded (dlerror's message), or it registers no entry class.
Result<JobEntries> loadJobLibrary(const std::string& path);

}  // namespace flink
