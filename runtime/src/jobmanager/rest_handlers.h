// Flink's REST API (v1) on the JobManager, in the shapes of Flink's OpenAPI description
// (rest_v1_dispatcher.yml): /config, /overview, /jobs, /jobs/overview, /jobs/{jobid},
// /jobs/{jobid}/config, /jobs/{jobid}/exceptions, /jobs/{jobid}/metrics, /jobs/{jobid}/checkpoints
// (and details/{id}), POST /jobs/{jobid}/savepoints, GET /jobs/{jobid}/savepoints/{triggerid},
// POST /jobs/{jobid}/stop, /jobs/{jobid}/vertices/{vertexid}/metrics,
// /jobs/{jobid}/vertices/{vertexid}/subtasks/metrics, /jobs/{jobid}/vertices/{vertexid} (its
// subtasks) and .../backpressure, /jobs/{jobid}/checkpoints/details/{id}/subtasks/{vertexid},
// /taskmanagers, /taskmanagers/{id} with its /metrics, /logs, /log and /stdout, /jobmanager/config,
// /jobmanager/logs, /log and /stdout, PATCH /jobs/{jobid}; and the web dashboard at /.
// Handlers run on httplib's threads and read JobManager state on its main thread (Mailbox).
// The handlers are grouped by resource in jobmanager/rest/ (cluster, jobs, checkpoints,
// savepoints, metrics, processes, web); registerRestHandlers registers every group and the
// 404 error handler.
#pragma once

#include <httplib.h>

#include <functional>
#include <string>
#include <vector>

#include "core/mailbox.h"
#include "jobmanager/jar_store.h"
#include "jobmanager/job_master.h"
#include "jobmanager/resource_manager.h"

namespace flink {

/// What the REST API reads; called on the JobManager's main thread only.
class JobManagerView {
 public:
  virtual ~JobManagerView() = default;
  virtual const Configuration& config() const = 0;
  virtual const ResourceManager& resourceManager() const = 0;
  virtual std::vector<const JobMaster*> jobs() const = 0;
  virtual const JobMaster* job(const std::string& id) const = 0;
  virtual bool cancelJob(const std::string& id) = 0;
  virtual JobMaster* mutableJob(const std::string& id) = 0;
  /// Session mode (the Dispatcher's submitJob): starts a JobMaster for `sub`, whose job id is
  /// not in use (the caller checked). A job library in sub.library goes to the BlobServer
  /// first; an error (it cannot be stored) leaves no job behind.
  virtual Status submitJob(JobSubmission sub) = 0;
  /// Asks TaskManager `tmId` for a file of its process: "log", "stdout", the name of a file in
  /// its log directory, or "list" (its LogListInfo). `done` runs later on the main thread with
  /// the answer, {"content": text}, {"logs": [...]} or {"error": why} (also when the
  /// TaskManager is lost first). Returns false, and never calls `done`, for an unknown TaskManager.
  virtual bool requestTaskManagerFile(const std::string& tmId, const std::string& file,
                                      std::function<void(nlohmann::json)> done) = 0;
};

/// Registers every handler group. `jars` (null: no /jars endpoints, as in application mode or
/// with web.submit.enable: false) and `address` (the REST endpoint's URL for GET /jars, set
/// before the server listens) must outlive `server`.
void registerRestHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox, JarStore* jars = nullptr,
                          const std::string* address = nullptr);

}  // namespace flink
