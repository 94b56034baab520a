// Flink's jar REST API (WebSubmissionExtension; shapes of rest_v1_dispatcher.yml) for C++ job
// libraries, registered on session clusters when web.submit.enable is true (Flink's default):
//   POST   /jars/upload          multipart/form-data with exactly one file (curl -F jarfile=@job.so)
//                                -> {"filename": "<web.upload.dir>/<uuid>_<name>", "status": "success"}
//   GET    /jars                 -> {"address", "files": [{"id", "name", "uploaded", "entry": [{"name", "description"}]}]}
//   DELETE /jars/{jarid}         -> {}
//   POST   /jars/{jarid}/run     JarRunRequestBody (and Flink's query parameters) -> {"jobid"}
//   GET|POST /jars/{jarid}/plan  JarPlanRequestBody (and query parameters) -> {"plan"}
// Errors have Flink's shape {"errors": [...]}: 400 for a bad request (an invalid library, a field
// of the wrong type, an unknown jar id or entry class, a job main() that throws), 409 for a job
// id already in use, 413 for a body over its limit (rest.server.max-content-length for JSON,
// flink-cpp.web.upload.max-size, default 100 MiB, for uploads). `view`, `mailbox` and `jars`
// must outlive `server`.
#pragma once

#include <httplib.h>

#include <string>

#include "core/mailbox.h"
#include "jobmanager/jar_store.h"
#include "jobmanager/rest_handlers.h"

namespace flink {

inline constexpr const char* kUploadMaxSize = "flink-cpp.web.upload.max-size";

/// `address` (the REST endpoint, e.g. http://host:port, for GET /jars) is read on every request
/// and must be set before the server starts listening.
void registerJarHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox, JarStore& jars,
                         const std::string& address);

/// The upload limit of `config` (flink-cpp.web.upload.max-size; bytes, default 100 MiB).
size_t uploadMaxSize(const Configuration& config);

/// Splits Flink's `programArgs` string into arguments: whitespace separates them, single or
/// double quotes group (and are removed). Exposed for tests.
std::vector<std::string> tokenizeProgramArgs(const std::string& s);

}  // namespace flink
