// REST handlers for the cluster as a whole (Flink's rest_v1_dispatcher.yml): GET /config (the
// web UI's settings, web-cancel from web.cancel.enable), GET /overview (TaskManagers, slots, jobs
// by state), GET /taskmanagers, GET /taskmanagers/{id} (with its allocated slots) and GET
// /taskmanagers/{id}/metrics (its process's CPU time, RSS, threads and tasks as reported with
// its task metrics; ?get=a,b for values); an unknown TaskManager gets 404. Handlers run on
// httplib's threads and read the JobManagerView on the JobManager's main thread through the
// Mailbox. `view` and `mailbox` must outlive `server`.
#pragma once

#include <httplib.h>

#include "core/mailbox.h"
#include "jobmanager/rest_handlers.h"

namespace flink {

/// `webSubmit`: /config reports the web-submit feature (the /jars endpoints) as enabled.
void registerClusterHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox, bool webSubmit);

}  // namespace flink
