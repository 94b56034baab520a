// REST handlers for jobs (Flink's rest_v1_dispatcher.yml): GET /jobs, GET /jobs/overview,
// GET /jobs/{jobid} (details with vertices, timestamps and plan), PATCH /jobs/{jobid}
// (?mode=cancel, the only mode supported), GET /jobs/{jobid}/config, /jobs/{jobid}/plan,
// /jobs/{jobid}/exceptions, /jobs/{jobid}/vertices/{vertexid} (its subtasks: state, attempt,
// TaskManager, I/O counters) and /jobs/{jobid}/vertices/{vertexid}/backpressure (per subtask the
// share of the TaskManagers' last one-second sample back-pressured, idle and busy, with Flink's
// levels). An unknown job or vertex gets 404. Handlers run on httplib's threads and read
// (or cancel through) the JobManagerView on the JobManager's main thread via the Mailbox.
// `view` and `mailbox` must outlive `server`.
#pragma once

#include <httplib.h>

#include "core/mailbox.h"
#include "jobmanager/rest_handlers.h"

namespace flink {

void registerJobHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox);

}  // namespace flink
