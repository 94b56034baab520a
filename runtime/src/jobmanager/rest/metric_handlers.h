// REST handlers for metrics (Flink's rest_v1_dispatcher.yml): GET /jobs/{jobid}/metrics (job
// metrics such as numRestarts and checkpoint counts), GET /jobs/{jobid}/vertices/{vertexid}/metrics
// (values summed over the subtasks) and GET /jobs/{jobid}/vertices/{vertexid}/subtasks/metrics
// (min/max/avg/sum over the subtasks). Without ?get=a,b they list the metric ids; with it, the
// values of those ids. An unknown job or vertex gets 404. Handlers run on httplib's threads and
// read the JobManagerView on the JobManager's main thread through the Mailbox. `view` and
// `mailbox` must outlive `server`.
#pragma once

#include <httplib.h>

#include "core/mailbox.h"
#include "jobmanager/rest_handlers.h"

namespace flink {

void registerMetricHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox);

}  // namespace flink
