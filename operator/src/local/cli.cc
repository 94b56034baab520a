#include "local/cli.h"

#include <httplib.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

namespace flink {
namespace {

using nlohmann::json;

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 8081;
};

bool parseEndpoint(const std::string& s, Endpoint* e) {
  std::string t = s;
  for (const char* prefix : {"http://", "https://"}) {
    if (t.rfind(prefix, 0) == 0) t = t.substr(std::string(prefix).size());
  }
  auto colon = t.rfind(':');
  if (colon == std::string::npos) return false;
  e->host = t.substr(0, colon);
  try {
    e->port = std::stoi(t.substr(colon + 1));
  } catch (...) {
    return false;
  }
  return true;
}

int usage() {
  std::cerr << "usage: flink-cpp savepoint -m HOST:PORT JOBID [TARGET_DIR]\n"
               "       flink-cpp stop -m HOST:PORT [--savepointPath DIR] [--drain] JOBID\n"
               "       flink-cpp cancel -m HOST:PORT JOBID\n";
  return 2;
}

// Polls the savepoint operation until it completes; prints the path.
int awaitSavepoint(httplib::Client& client, const std::string& jobId, const std::string& triggerId) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto res = client.Get(("/jobs/" + jobId + "/savepoints/" + triggerId).c_str());
    if (!res) {
      std::cerr << "error: the JobManager did not answer while the savepoint was in progress\n";
      return 1;
    }
    if (res->status != 200) {
      std::cerr << "error: " << res->body << "\n";
      return 1;
    }
    json body = json::parse(res->body, nullptr, false);
    if (body.value("status", json::object()).value("id", "") == "COMPLETED") {
      const json& op = body["operation"];
      if (op.contains("location")) {
        std::cout << "Savepoint completed. Path: " << op["location"].get<std::string>() << "\n";
        return 0;
      }
      std::cerr << "error: the savepoint failed: "
                << op.value("failure-cause", json::object()).value("stack-trace", std::string("unknown cause")) << "\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cerr << "error: the savepoint did not complete within 10 minutes\n";
  return 1;
}

}  // namespace

int runClientCommand(const std::string& command, const std::vector<std::string>& args) {
  Endpoint endpoint;
  std::vector<std::string> positional;
  std::string savepointPath;
  bool drain = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "-m" || a == "--jobmanager") && i + 1 < args.size()) {
      if (!parseEndpoint(args[++i], &endpoint)) {
        std::cerr << "error: -m expects HOST:PORT of the JobManager's REST endpoint, got '" << args[i] << "'\n";
        return 2;
      }
    } else if ((a == "--savepointPath" || a == "-p") && i + 1 < args.size()) {
      savepointPath = args[++i];
    } else if (a == "--drain" || a == "-d") {
      drain = true;
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty()) return usage();
  const std::string jobId = positional[0];
  httplib::Client client(endpoint.host, endpoint.port);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  auto request = [&](const char* method, const std::string& path, const json& body) -> std::optional<json> {
    httplib::Result res = std::string(method) == "PATCH" ? client.Patch(path.c_str())
                                                         : client.Post(path.c_str(), body.dump(), "application/json");
    if (!res) {
      std::cerr << "error: cannot reach the JobManager at " << endpoint.host << ":" << endpoint.port << "\n";
      return std::nullopt;
    }
    if (res->status >= 300) {
      json err = json::parse(res->body, nullptr, false);
      std::string message = err.is_object() && err.contains("errors") ? err["errors"].dump() : res->body;
      std::cerr << "error: " << method << " " << path << " answered " << res->status << ": " << message << "\n";
      return std::nullopt;
    }
    return json::parse(res->body.empty() ? "{}" : res->body, nullptr, false);
  };

  if (command == "cancel") {
    if (!request("PATCH", "/jobs/" + jobId + "?mode=cancel", json::object())) return 1;
    std::cout << "Cancelled job " << jobId << ".\n";
    return 0;
  }
  if (command == "savepoint") {
    json body = {{"cancel-job", false}};
    if (positional.size() > 1) body["target-directory"] = positional[1];
    auto r = request("POST", "/jobs/" + jobId + "/savepoints", body);
    if (!r) return 1;
    std::cout << "Triggering savepoint for job " << jobId << ".\n";
    return awaitSavepoint(client, jobId, r->value("request-id", ""));
  }
  if (command == "stop") {
    json body = {{"drain", drain}};
    if (!savepointPath.empty()) body["targetDirectory"] = savepointPath;
    auto r = request("POST", "/jobs/" + jobId + "/stop", body);
    if (!r) return 1;
    std::cout << "Suspending job " << jobId << " with a savepoint.\n";
    return awaitSavepoint(client, jobId, r->value("request-id", ""));
  }
  return usage();
}

}  // namespace flink
