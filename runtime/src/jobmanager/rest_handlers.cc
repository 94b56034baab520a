#include "jobmanager/rest_handlers.h"

#include "jobmanager/rest/checkpoint_handlers.h"
#include "jobmanager/rest/cluster_handlers.h"
#include "jobmanager/rest/job_handlers.h"
#include "jobmanager/rest/metric_handlers.h"
#include "jobmanager/rest/rest_common.h"
#include "jobmanager/rest/savepoint_handlers.h"

namespace flink {

void registerRestHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox) {
  registerClusterHandlers(server, view, mailbox);
  registerJobHandlers(server, view, mailbox);
  registerMetricHandlers(server, view, mailbox);
  registerCheckpointHandlers(server, view, mailbox);
  registerSavepointHandlers(server, view, mailbox);

  server.set_error_handler([](const rest::Req& req, rest::Res& res) {
    if (res.status == 404 && res.body.empty()) {
      rest::reply(res, 404, {{"errors", {"Not found: " + req.path}}});
    }
  });
}

}  // namespace flink
