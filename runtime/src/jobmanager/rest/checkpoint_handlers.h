// REST handlers for checkpoint statistics (Flink's rest_v1_dispatcher.yml):
// GET /jobs/{jobid}/checkpoints (counts, summary, latest and history, from the job's
// CheckpointCoordinator, with the restore of the job's last deployment), GET
// /jobs/{jobid}/checkpoints/details/{checkpointid} (per vertex in "tasks"), GET
// /jobs/{jobid}/checkpoints/details/{checkpointid}/subtasks/{vertexid} (each subtask's
// acknowledgement: time and state size; alignment and sync/async durations are not measured: 0), POST
// /jobs/{jobid}/checkpoints ({"checkpointType"}: a checkpoint now, 202 {"request-id"}; 409 when the
// job's tasks do not all run) and GET /jobs/{jobid}/checkpoints/{triggerid} (IN_PROGRESS, or
// COMPLETED with {"checkpointId"} or a failure cause). An unknown job, checkpoint or trigger gets
// 404. Handlers run on httplib's threads and read the JobManagerView on the
// JobManager's main thread through the Mailbox. `view` and `mailbox` must outlive `server`.
#pragma once

#include <httplib.h>

#include "core/mailbox.h"
#include "jobmanager/rest_handlers.h"

namespace flink {

void registerCheckpointHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox);

}  // namespace flink
