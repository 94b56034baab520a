// REST handlers for savepoints (Flink's rest_v1_dispatcher.yml): POST /jobs/{jobid}/savepoints
// ({"target-directory", "cancel-job"}), POST /jobs/{jobid}/stop ({"targetDirectory", "drain"};
// stop-with-savepoint), both answering 202 {"request-id"}, and GET
// /jobs/{jobid}/savepoints/{triggerid} (IN_PROGRESS, or COMPLETED with a location or a failure
// cause). An unknown job or trigger gets 404, a rejected trigger 409, a malformed body 400.
// POST /savepoint-disposal ({"savepoint-path"}) removes a savepoint directory, but only one whose
// `_metadata` verifies as a savepoint's (never a checkpoint or any other directory), and answers
// 200 {"request-id"}; GET /savepoint-disposal/{triggerid} answers COMPLETED with no operation
// body, or with a failure cause naming the path and why.
// Handlers run on httplib's threads and reach the JobManagerView on the JobManager's main thread
// through the Mailbox. `view` and `mailbox` must outlive `server`.
#pragma once

#include <httplib.h>

#include "core/mailbox.h"
#include "jobmanager/rest_handlers.h"

namespace flink {

void registerSavepointHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox);

}  // namespace flink
