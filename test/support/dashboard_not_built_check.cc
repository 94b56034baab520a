// Checks the JobManager's `/` of a build without the dashboard: linked with the web handlers
// (jobmanager/rest/web_handlers.cc) and the assets file scripts/build-dashboard.sh writes when
// npm is not used (FLINK_CPP_NO_NPM=1), it serves them on a loopback port and asks for `/`,
// which must answer 200 with a page that says the dashboard was not built and why, and for the
// bundle, which must be a 404. Exits 0 when all holds, 1 (with the reason on stderr) otherwise.
#include <httplib.h>

#include <iostream>
#include <string>
#include <thread>

#include "jobmanager/rest/web_handlers.h"
#include "jobmanager/web/dashboard_assets.h"

int main() {
  httplib::Server server;
  flink::registerWebHandlers(server);
  int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    std::cerr << "cannot listen on a loopback port\n";
    return 1;
  }
  std::thread listener([&] { server.listen_after_bind(); });
  httplib::Client client("127.0.0.1", port);
  auto index = client.Get("/");
  auto bundle = client.Get("/dashboard.js");
  server.stop();
  listener.join();

  std::string failure;
  if (!flink::web::dashboardAssets().empty()) failure = "the assets are not empty";
  else if (!index || index->status != 200) failure = "GET / did not answer 200";
  else if (index->body.find("was not built") == std::string::npos) failure = "GET / does not say the dashboard was not built";
  else if (index->body.find("FLINK_CPP_NO_NPM") == std::string::npos) failure = "GET / does not say why";
  else if (!bundle || bundle->status != 404) failure = "GET /dashboard.js did not answer 404";
  if (!failure.empty()) {
    std::cerr << "FAIL: " << failure << (index ? "\n" + index->body : std::string()) << "\n";
    return 1;
  }
  std::cout << "PASS: / of a build without npm says the dashboard was not built\n";
  return 0;
}
