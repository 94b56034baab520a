#include "jobmanager/rest_handlers.h"

#include "flink/common/http.h"
#include "jobmanager/rest/checkpoint_handlers.h"
#include "jobmanager/rest/cluster_handlers.h"
#include "jobmanager/rest/jar_handlers.h"
#include "jobmanager/rest/job_handlers.h"
#include "jobmanager/rest/metric_handlers.h"
#include "jobmanager/rest/process_handlers.h"
#include "jobmanager/rest/rest_common.h"
#include "jobmanager/rest/savepoint_handlers.h"
#include "jobmanager/rest/web_handlers.h"

namespace flink {

void registerRestHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox, JarStore* jars,
                          const std::string* address) {
  registerClusterHandlers(server, view, mailbox, /*webSubmit=*/jars != nullptr);
  if (jars) registerJarHandlers(server, view, mailbox, *jars, *address);
  registerJobHandlers(server, view, mailbox);
  registerMetricHandlers(server, view, mailbox);
  registerCheckpointHandlers(server, view, mailbox);
  registerSavepointHandlers(server, view, mailbox);
  registerProcessHandlers(server, view, mailbox);
  registerWebHandlers(server);

  // Any other POST, PUT, PATCH or DELETE: 404 at once, the body (if any) left unread.
  answerUnroutedWithoutBody(server, [](const rest::Req& req, rest::Res& res) {
    rest::reply(res, 404, {{"errors", {"Not found: " + req.path}}});
  });
  // Backstop for any body read by httplib itself; our POST and PATCH handlers read their own.
  // (Uploads are bounded by their own limit, checked as they are read.)
  server.set_payload_max_length(std::max(rest::maxContentLength(view), jars ? uploadMaxSize(view.config()) : 0));
  // Whatever a handler throws is a 500 with Flink's error shape, never an empty answer.
  server.set_exception_handler([](const rest::Req&, rest::Res& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    rest::reply(res, 500, {{"errors", {"Internal server error: " + what}}});
  });
  server.set_error_handler([](const rest::Req& req, rest::Res& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      rest::reply(res, 404, {{"errors", {"Not found: " + req.path}}});
    } else if (res.status == 413) {
      rest::reply(res, 413, {{"errors", {std::string("request body exceeds ") + options::kRestMaxContentLength}}});
    } else if (res.status >= 400) {
      rest::reply(res, res.status, {{"errors", {"HTTP " + std::to_string(res.status) + " for " + req.method + " " + req.path}}});
    }
  });
}

}  // namespace flink
