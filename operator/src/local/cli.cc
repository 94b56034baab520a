#include "local/cli.h"
#include "flink/common/tls.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
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

// A client of `endpoint`'s REST API: https with the security.ssl.rest.* keys of
// $FLINK_CONF_DIR's configuration when they enable REST TLS (as Flink's CLI reads its
// configuration), else plain HTTP.
struct RestClient {
  std::shared_ptr<const tls::TlsContext> tls;  // outlives the client
  std::unique_ptr<httplib::ClientImpl> client;
};
Result<RestClient> restClient(const Endpoint& endpoint) {
  RestClient out;
  if (const char* dir = std::getenv("FLINK_CONF_DIR"); dir && *dir) {
    auto conf = Configuration::loadFromDirectory(dir);
    if (!conf.ok()) return conf.status();
    auto tls = tls::TlsContext::fromConfig(*conf, tls::Scope::kRest);
    if (!tls.ok()) return tls.status();
    out.tls = *tls;
  }
  out.client = tls::newHttpClient(endpoint.host, endpoint.port, out.tls.get());
  return out;
}

int usage() {
  std::cerr << "usage: flink-cpp run -m HOST:PORT [-p N] [-s SAVEPOINT] [-n] [-c ENTRY_CLASS] [-d] [-D key=value]... JOB.so|builtin://NAME [ARGS]\n"
               "       flink-cpp list -m HOST:PORT [-a]\n"
               "       flink-cpp savepoint -m HOST:PORT JOBID [TARGET_DIR]\n"
               "       flink-cpp stop -m HOST:PORT [--savepointPath DIR] [--drain] JOBID\n"
               "       flink-cpp cancel -m HOST:PORT JOBID\n";
  return 2;
}

// Polls the savepoint operation until it completes; prints the path.
int awaitSavepoint(httplib::ClientImpl& client, const std::string& jobId, const std::string& triggerId) {
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

// The error of a REST answer: Flink's {"errors": [...]} joined, else the body.
std::string errorOf(const httplib::Result& res) {
  if (!res) return "no answer (" + httplib::to_string(res.error()) + ")";
  json err = json::parse(res->body, nullptr, false);
  std::string out;
  if (err.is_object() && err.contains("errors") && err["errors"].is_array()) {
    for (const auto& e : err["errors"]) out += (out.empty() ? "" : "; ") + (e.is_string() ? e.get<std::string>() : e.dump());
  }
  return "HTTP " + std::to_string(res->status) + ": " + (out.empty() ? res->body : out);
}

std::string formatTime(int64_t epochMs) {
  std::time_t t = static_cast<std::time_t>(epochMs / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%d.%m.%Y %H:%M:%S", &tm);
  return buf;
}

// flink run: uploads the library (POST /jars/upload), runs it (POST /jars/{id}/run) and, unless
// detached, waits for the job's end.
int runJob(const std::vector<std::string>& args) {
  Endpoint endpoint;
  json body = json::object();
  json conf = json::object();
  bool detached = false;
  std::string jar;
  std::vector<std::string> programArgs;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* what) -> std::optional<std::string> {
      if (i + 1 >= args.size()) {
        std::cerr << "error: " << a << " needs " << what << "\n";
        return std::nullopt;
      }
      return args[++i];
    };
    if (!jar.empty()) {
      programArgs.push_back(a);  // everything after the library goes to the job
    } else if (a == "-m" || a == "--jobmanager") {
      auto v = value("HOST:PORT");
      if (!v) return 2;
      if (!parseEndpoint(*v, &endpoint)) {
        std::cerr << "error: -m expects HOST:PORT of the JobManager's REST endpoint, got '" << *v << "'\n";
        return 2;
      }
    } else if (a == "-p" || a == "--parallelism") {
      auto v = value("a number");
      if (!v) return 2;
      try {
        size_t used = 0;
        int p = std::stoi(*v, &used);
        if (used != v->size() || p < 1) throw std::invalid_argument(*v);
        body["parallelism"] = p;
      } catch (const std::exception&) {
        std::cerr << "error: -p expects a positive number, got '" << *v << "'\n";
        return 2;
      }
    } else if (a == "-s" || a == "--fromSavepoint") {
      auto v = value("a savepoint path");
      if (!v) return 2;
      body["savepointPath"] = *v;
    } else if (a == "-c" || a == "--class") {
      auto v = value("an entry class");
      if (!v) return 2;
      body["entryClass"] = *v;
    } else if (a == "-n" || a == "--allowNonRestoredState") {
      body["allowNonRestoredState"] = true;
    } else if (a == "-d" || a == "--detached") {
      detached = true;
    } else if (a == "-D" || (a.rfind("-D", 0) == 0 && a.size() > 2)) {
      std::string kv = a.size() > 2 ? a.substr(2) : value("key=value").value_or("");
      auto eq = kv.find('=');
      if (eq == std::string::npos) {
        std::cerr << "error: -D expects key=value, got '" << kv << "'\n";
        return 2;
      }
      conf[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "error: unknown option '" << a << "'\n";
      return usage();
    } else {
      jar = a;
    }
  }
  if (jar.empty()) {
    std::cerr << "error: no job library given\n";
    return usage();
  }
  if (!conf.empty()) body["flinkConfiguration"] = conf;
  body["programArgsList"] = programArgs;
  auto rest = restClient(endpoint);
  if (!rest.ok()) {
    std::cerr << "error: " << rest.status().message() << "\n";
    return 1;
  }
  httplib::ClientImpl& client = *rest->client;
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(120, 0);
  client.set_write_timeout(120, 0);
  std::string jarId;
  if (jar.rfind("builtin://", 0) == 0) {
    jarId = "builtin_" + jar.substr(10);
  } else {
    std::ifstream in(jar, std::ios::binary);
    if (!in) {
      std::cerr << "error: cannot read the job library '" << jar << "'\n";
      return 1;
    }
    std::string content((std::istreambuf_iterator<char>(in)), {});
    std::string name = std::filesystem::path(jar).filename().string();
    httplib::MultipartFormDataItems items = {{"jarfile", content, name, "application/x-sharedlib"}};
    auto res = client.Post("/jars/upload", items);
    if (!res || res->status != 200) {
      std::cerr << "error: uploading " << jar << " to " << endpoint.host << ":" << endpoint.port << " failed: " << errorOf(res) << "\n";
      return 1;
    }
    std::string stored = json::parse(res->body, nullptr, false).value("filename", "");
    jarId = std::filesystem::path(stored).filename().string();
    if (jarId.empty()) {
      std::cerr << "error: the upload's answer names no file: " << res->body << "\n";
      return 1;
    }
  }
  auto res = client.Post(("/jars/" + jarId + "/run").c_str(), body.dump(), "application/json");
  if (!res || res->status != 200) {
    std::cerr << "error: running " << jar << " failed: " << errorOf(res) << "\n";
    return 1;
  }
  std::string jobId = json::parse(res->body, nullptr, false).value("jobid", "");
  std::cout << "Job has been submitted with JobID " << jobId << "\n" << std::flush;
  if (detached) return 0;
  for (;;) {
    auto job = client.Get(("/jobs/" + jobId).c_str());
    if (!job || job->status != 200) {
      std::cerr << "error: reading the state of job " << jobId << " failed: " << errorOf(job) << "\n";
      return 1;
    }
    json j = json::parse(job->body, nullptr, false);
    std::string state = j.value("state", "");
    if (state == "FINISHED") {
      std::cout << "Program execution finished\nJob with JobID " << jobId << " has finished.\nJob Runtime: "
                << j.value("duration", int64_t{0}) << " ms\n";
      return 0;
    }
    if (state == "FAILED" || state == "CANCELED") {
      auto ex = client.Get(("/jobs/" + jobId + "/exceptions").c_str());
      json e = ex && ex->status == 200 ? json::parse(ex->body, nullptr, false) : json();
      std::cerr << "error: job " << jobId << " ended " << state
                << (e.is_object() && e.contains("root-exception") ? ": " + e["root-exception"].get<std::string>() : "")
                << "\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// flink list: the jobs of /jobs/overview in Flink's CLI layout (-a: ended jobs too).
int listJobs(const Endpoint& endpoint, bool all) {
  auto rest = restClient(endpoint);
  if (!rest.ok()) {
    std::cerr << "error: " << rest.status().message() << "\n";
    return 1;
  }
  httplib::ClientImpl& client = *rest->client;
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  std::cout << "Waiting for response...\n";
  auto res = client.Get("/jobs/overview");
  if (!res || res->status != 200) {
    std::cerr << "error: listing the jobs of " << endpoint.host << ":" << endpoint.port << " failed: " << errorOf(res) << "\n";
    return 1;
  }
  json jobs = json::parse(res->body, nullptr, false).value("jobs", json::array());
  std::sort(jobs.begin(), jobs.end(), [](const json& a, const json& b) {
    return a.value("start-time", int64_t{0}) < b.value("start-time", int64_t{0});
  });
  std::vector<std::string> running, scheduled, ended;
  for (const auto& j : jobs) {
    std::string state = j.value("state", "");
    std::string line = formatTime(j.value("start-time", int64_t{0})) + " : " + j.value("jid", "") + " : " + j.value("name", "") +
                       " (" + state + ")";
    if (state == "CREATED" || state == "INITIALIZING") {
      scheduled.push_back(line);
    } else if (state == "FINISHED" || state == "FAILED" || state == "CANCELED") {
      ended.push_back(line);
    } else {
      running.push_back(line);
    }
  }
  auto section = [](const char* title, const std::vector<std::string>& lines, const char* none) {
    if (lines.empty()) {
      std::cout << none << "\n";
      return;
    }
    std::cout << title << "\n";
    for (const auto& l : lines) std::cout << l << "\n";
    std::cout << "--------------------------------------------------------------\n";
  };
  section("------------------ Running/Restarting Jobs -------------------", running, "No running jobs.");
  section("----------------------- Scheduled Jobs -----------------------", scheduled, "No scheduled jobs.");
  if (all) section("---------------------- Terminated Jobs -----------------------", ended, "No terminated jobs.");
  return 0;
}

}  // namespace

int runClientCommand(const std::string& command, const std::vector<std::string>& args) {
  if (command == "run") return runJob(args);
  if (command == "list") {
    Endpoint endpoint;
    bool all = false;
    for (size_t i = 0; i < args.size(); ++i) {
      if ((args[i] == "-m" || args[i] == "--jobmanager") && i + 1 < args.size()) {
        if (!parseEndpoint(args[++i], &endpoint)) {
          std::cerr << "error: -m expects HOST:PORT of the JobManager's REST endpoint, got '" << args[i] << "'\n";
          return 2;
        }
      } else if (args[i] == "-a" || args[i] == "--all") {
        all = true;
      } else {
        std::cerr << "error: unknown argument '" << args[i] << "'\n";
        return usage();
      }
    }
    return listJobs(endpoint, all);
  }
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
  auto rest = restClient(endpoint);
  if (!rest.ok()) {
    std::cerr << "error: " << rest.status().message() << "\n";
    return 1;
  }
  httplib::ClientImpl& client = *rest->client;
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
