#include "flink/common/http.h"

namespace flink {

void answerUnroutedWithoutBody(httplib::Server& server,
                               std::function<void(const httplib::Request&, httplib::Response&)> notFound) {
  auto handler = [notFound = std::move(notFound)](const httplib::Request& req, httplib::Response& res,
                                                  const httplib::ContentReader&) {
    notFound(req, res);
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) res.set_header("Connection", "close");
  };
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Patch(".*", handler);
  server.Delete(".*", handler);
}

}  // namespace flink
