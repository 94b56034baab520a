// REST handlers for the cluster as a whole (Flink's rest_v1_dispatcher.yml): GET /config (the
// web UI's settings, web-cancel from web.cancel.enable), GET /overview (TaskManagers, slots, jobs
// by state), GET /taskmanagers and GET /taskmanagers/{id} (with its allocated slots; 404 when
// unknown). Handlers run on httplib's threads and read the JobManagerView on the
// JobManager's main thread through the Mailbox. `view` and `mailbox` must outlive `server`.
#pragma once

#include <httplib.h>

#include "core/mailbox.h"
#include "jobmanager/rest_handlers.h"

namespace flink {

/// `webSubmit`: /config reports the web-submit feature (the /jars endpoints) as enabled.
void registerClusterHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox, bool webSubmit);

}  // namespace flink
