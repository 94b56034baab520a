#include "jobmanager/rest/web_handlers.h"

#include <string>

#include "jobmanager/web/dashboard_assets.h"

namespace flink {
namespace {

const web::DashboardAsset* findAsset(std::string_view path) {
  for (const auto& a : web::dashboardAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

std::string escapeHtml(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string notBuiltPage() {
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Flink dashboard not built</title></head>\n"
         "<body><main><h1>The web dashboard was not built</h1>\n"
         "<p>This flink-cpp binary was built without its web dashboard: " +
         escapeHtml(web::dashboardMissingReason()) +
         "</p>\n<p>The REST API works as usual, e.g. <a href=\"overview\">/overview</a> and "
         "<a href=\"jobs/overview\">/jobs/overview</a>. Build with node and npm (and access to the npm registry) to "
         "get the dashboard: <code>bash scripts/build-dashboard.sh</code> runs from the CMake build.</p></main></body></html>\n";
}

}  // namespace

void registerWebHandlers(httplib::Server& server) {
  auto serve = [](const httplib::Request& req, httplib::Response& res) {
    std::string path = req.path == "/" ? "/index.html" : req.path;
    if (const auto* asset = findAsset(path)) {
      res.set_content(std::string(asset->data), std::string(asset->contentType));
      // A new binary brings a new bundle under the same names: browsers must revalidate.
      res.set_header("Cache-Control", "no-cache");
      res.set_header("X-Content-Type-Options", "nosniff");
      return;
    }
    if (path == "/index.html") {
      res.set_content(notBuiltPage(), "text/html; charset=utf-8");
      return;
    }
    res.status = 404;
  };
  server.Get("/", serve);
  server.Get("/index.html", serve);
  for (const auto& a : web::dashboardAssets()) {
    if (a.path != "/index.html") server.Get(std::string(a.path), serve);
  }
}

}  // namespace flink
