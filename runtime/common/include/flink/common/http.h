// HTTP server helpers shared by the JobManager's REST API and the operator's endpoints
// (cpp-httplib).
#pragma once

#include <httplib.h>

#include <functional>

namespace flink {

/// Registers catch-all POST, PUT, PATCH and DELETE handlers (call it after the real routes, which
/// for these methods must take a ContentReader, as the catch-alls would shadow others) that
/// answer through `notFound` without reading a body. Without them cpp-httplib reads the body of
/// any such request before routing, and one without Content-Length or Transfer-Encoding (which
/// has no body, RFC 9112 section 6.3) would hang until the client gives up. When a body was
/// announced it is left unread and the response says Connection: close.
void answerUnroutedWithoutBody(httplib::Server& server,
                               std::function<void(const httplib::Request&, httplib::Response&)> notFound);

}  // namespace flink
