// REST handlers for the cluster's processes, as Flink's web UI reads them: GET /jobmanager/config
// (the JobManager's configuration, secrets masked), GET /jobmanager/logs (LogListInfo of its log
// directory), GET /jobmanager/log, /jobmanager/stdout and /jobmanager/logs/{name} (text/plain),
// and for each TaskManager GET /taskmanagers/{id}/logs, /log, /stdout and /logs/{name}, fetched
// from the TaskManager over its RPC connection (core/process_files.h says which files those
// are). A process without such a file answers 404 with Flink's error shape; a TaskManager that
// does not answer within 10 s, 504. Handlers run on httplib's threads and reach the
// JobManagerView on the JobManager's main thread through the Mailbox; `view` and `mailbox` must
// outlive `server`.
#pragma once

#include <httplib.h>

#include "core/mailbox.h"
#include "jobmanager/rest_handlers.h"

namespace flink {

void registerProcessHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox);

}  // namespace flink
