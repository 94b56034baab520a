// The one fake of a JobManager's REST API for operator unit tests (what
// operator/src/controller/jobmanager_client.h talks to): an httplib server on loopback with one
// job whose id and state the test sets, GET /jobs/overview, /config, /jobs/{id}/checkpoints (the
// latest completed checkpoint the test sets), POST /jobs/{id}/stop, /jobs/{id}/savepoints and
// /jobs/{id}/checkpoints (with GET /jobs/{id}/checkpoints/{trigger})
// (recorded under the request's triggerId, once per id; answer it, or 409 while
// `refuseTriggers`), GET
// /jobs/{id}/savepoints/{trigger} (IN_PROGRESS until the test completes or fails the trigger), and
// POST /savepoint-disposal (recorded, always COMPLETED), PATCH /jobs/{id}?mode=cancel (the job
// CANCELED, or CANCELLING while `cancelSlowly`), GET /jobs/{id}/metrics?get=numRestarts, the jar
// API of session clusters (GET /jars, POST /jars/upload, POST /jars/{id}/run, DELETE
// /jars/{id}) and GET /jobs/{id}; 503 to everything while `unavailable`.
// Answers as Flink's REST API does (rest_v1_dispatcher.yml). Thread-safe: the server's threads
// and the test share state under `mu`.
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace flink::k8s::testing {

class JobManagerStandIn {
 public:
  struct Trigger {
    std::string jobId;
    std::string path;  // "stop" or "savepoints"
    nlohmann::json body;
    std::string state = "IN_PROGRESS";  // IN_PROGRESS, COMPLETED (location) or FAILED
    std::string location;
  };

  JobManagerStandIn() {
    server_.set_pre_routing_handler([this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      if (!unavailable) return httplib::Server::HandlerResponse::Unhandled;
      res.status = 503;
      res.set_content(R"({"errors":["unavailable"]})", "application/json");
      return httplib::Server::HandlerResponse::Handled;
    });
    server_.Get("/jobs/overview", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      nlohmann::json jobs = nlohmann::json::array();
      if (!jobId.empty()) {
        jobs.push_back({{"jid", jobId}, {"name", "flight-delays"}, {"state", state}, {"start-time", 1700000000000}});
      }
      res.set_content(nlohmann::json{{"jobs", jobs}}.dump(), "application/json");
    });
    server_.Get(R"(/jobs/([0-9a-f]{32})/exceptions)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      if (req.matches[1] != jobId) return notFound(res);
      nlohmann::json body = {{"timestamp", 1700000002000}, {"truncated", false}};
      if (state == "FAILED") body["root-exception"] = "java.lang.RuntimeException: the input file is gone\n\tat somewhere";
      res.set_content(body.dump(), "application/json");
    });
    server_.Get("/config", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"flink-version":"1.19.0","flink-revision":"flink-cpp-0.1.0"})", "application/json");
    });
    server_.Get(R"(/jobs/([0-9a-f]{32})/checkpoints)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      if (req.matches[1] != jobId) return notFound(res);
      nlohmann::json completed = nullptr;
      if (checkpointId > 0) {
        completed = {{"id", checkpointId}, {"trigger_timestamp", 1700000001000}, {"is_savepoint", checkpointIsSavepoint},
                     {"checkpoint_type", checkpointIsSavepoint ? savepointType : std::string("CHECKPOINT")},
                     {"external_path", checkpointIsSavepoint ? "/savepoints/savepoint-" + std::to_string(checkpointId)
                                                             : "/checkpoints/" + jobId + "/chk-" + std::to_string(checkpointId)}};
      }
      res.set_content(nlohmann::json{{"latest", {{"completed", completed}}}, {"counts", {{"completed", completedCheckpoints}}}}.dump(),
                      "application/json");
    });
    server_.Get(R"(/jobs/([0-9a-f]{32})/metrics)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      if (req.matches[1] != jobId) return notFound(res);
      res.set_content(nlohmann::json::array({{{"id", "numRestarts"}, {"value", std::to_string(numRestarts)}}}).dump(),
                      "application/json");
    });
    server_.Patch(R"(/jobs/([0-9a-f]{32}))", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      if (req.matches[1] != jobId) return notFound(res);
      if (req.get_param_value("mode") != "cancel") {
        res.status = 400;
        return;
      }
      ++cancels;
      if (state != "FINISHED" && state != "FAILED") state = cancelSlowly ? "CANCELLING" : "CANCELED";
      res.status = 202;
      res.set_content("{}", "application/json");
    });
    for (const char* path : {"stop", "savepoints", "checkpoints"}) {
      server_.Post(std::string(R"(/jobs/([0-9a-f]{32})/)") + path,
                   [this, path](const httplib::Request& req, httplib::Response& res) {
                     std::lock_guard<std::mutex> lock(mu);
                     if (req.matches[1] != jobId) return notFound(res);
                     if (refuseTriggers) {
                       res.status = 409;
                       res.set_content(R"({"errors":["not all tasks are running"]})", "application/json");
                       return;
                     }
                     nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
                     std::string id = body.is_object() ? body.value("triggerId", "") : "";
                     if (id.empty()) id = std::string(31, '0') + std::to_string(triggers.size() % 10);
                     if (!triggers.count(id)) {  // idempotent per triggerId, as Flink's REST API
                       triggers[id] = Trigger{jobId, path, body};
                       order.push_back(id);
                     }
                     res.status = 202;
                     res.set_content(nlohmann::json{{"request-id", id}}.dump(), "application/json");
                   });
    }
    for (bool savepoint : {true, false}) {
      // GET /jobs/{id}/savepoints/{trigger} and /jobs/{id}/checkpoints/{trigger}.
      server_.Get(std::string(R"(/jobs/([0-9a-f]{32})/)") + (savepoint ? "savepoints" : "checkpoints") + R"(/([0-9a-f]{32}))",
                  [this, savepoint](const httplib::Request& req, httplib::Response& res) {
                    std::lock_guard<std::mutex> lock(mu);
                    auto it = triggers.find(req.matches[2]);
                    if (it == triggers.end() || it->second.jobId != req.matches[1]) return notFound(res);
                    const Trigger& t = it->second;
                    nlohmann::json body = {{"status", {{"id", t.state == "IN_PROGRESS" ? "IN_PROGRESS" : "COMPLETED"}}}};
                    if (t.state == "COMPLETED") {
                      body["operation"] = savepoint ? nlohmann::json{{"location", t.location}}
                                                    : nlohmann::json{{"checkpointId", std::stoll(t.location)}};
                    }
                    if (t.state == "FAILED") {
                      body["operation"] = {{savepoint ? "failure-cause" : "failureCause", {{"stack-trace", "checkpoint declined"}}}};
                    }
                    res.set_content(body.dump(), "application/json");
                  });
    }
    server_.Post("/savepoint-disposal", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      disposed.push_back(nlohmann::json::parse(req.body, nullptr, false).value("savepoint-path", ""));
      res.set_content(nlohmann::json{{"request-id", std::string(32, 'd')}}.dump(), "application/json");
    });
    server_.Get(R"(/savepoint-disposal/([0-9a-f]{32}))", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":{"id":"COMPLETED"},"operation":{}})", "application/json");
    });
    // Session clusters: the jar API (GET /jars with the builtin library, POST /jars/upload,
    // POST /jars/{id}/run starting the job RUNNING under the body's jobId, DELETE /jars/{id})
    // and GET /jobs/{id}.
    server_.Get(R"(/jobs/([0-9a-f]{32}))", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      if (req.matches[1] != jobId) return notFound(res);
      res.set_content(nlohmann::json{{"jid", jobId}, {"state", state}}.dump(), "application/json");
    });
    server_.Get("/jars", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      nlohmann::json files = nlohmann::json::array({{{"id", "builtin_flink-cpp-examples"}, {"name", "flink-cpp-examples"}}});
      for (const auto& [id, name] : jars) files.push_back({{"id", id}, {"name", name}});
      res.set_content(nlohmann::json{{"address", "http://localhost"}, {"files", files}}.dump(), "application/json");
    });
    server_.Post("/jars/upload", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      if (!req.has_file("jarfile")) {
        res.status = 400;
        res.set_content(R"({"errors":["no jarfile"]})", "application/json");
        return;
      }
      auto file = req.get_file_value("jarfile");
      std::string id = std::to_string(++uploads) + "_" + file.filename;
      jars[id] = file.filename;
      uploaded[id] = file.content;
      res.set_content(nlohmann::json{{"filename", "/tmp/flink-web-upload/" + id}, {"status", "success"}}.dump(), "application/json");
    });
    server_.Post(R"(/jars/([^/]+)/run)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      std::string id = req.matches[1];
      if (id != "builtin_flink-cpp-examples" && !jars.count(id)) return notFound(res);
      nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      runs.push_back({{"jar", id}, {"body", body}});
      jobId = body.value("jobId", std::string(32, 'a'));
      state = "RUNNING";
      res.set_content(nlohmann::json{{"jobid", jobId}}.dump(), "application/json");
    });
    server_.Delete(R"(/jars/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      if (!jars.erase(req.matches[1])) return notFound(res);
      res.set_content("{}", "application/json");
    });
    port = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~JobManagerStandIn() { stop(); }
  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  /// Completes the newest trigger at `location` (a stop-with-savepoint also ends the job; for a
  /// checkpoint trigger, `location` is the checkpoint id).
  void completeLatest(const std::string& location) {
    std::lock_guard<std::mutex> lock(mu);
    Trigger& t = triggers.at(order.back());
    t.state = "COMPLETED";
    t.location = location;
    if (t.path == "stop") state = "FINISHED";
  }
  void failLatest() {
    std::lock_guard<std::mutex> lock(mu);
    triggers.at(order.back()).state = "FAILED";
  }
  size_t numTriggers() {
    std::lock_guard<std::mutex> lock(mu);
    return order.size();
  }
  Trigger latest() {
    std::lock_guard<std::mutex> lock(mu);
    return triggers.at(order.back());
  }
  void set(const std::string& id, const std::string& s) {
    std::lock_guard<std::mutex> lock(mu);
    jobId = id;
    state = s;
  }

  std::mutex mu;
  std::string jobId;             // guarded by mu; empty = no job
  std::string state = "RUNNING";  // guarded by mu
  int64_t checkpointId = 0;      // guarded by mu; 0 = none completed
  bool checkpointIsSavepoint = false;  // guarded by mu; the latest completed one is a savepoint
  std::string savepointType = "SYNC_SAVEPOINT";  // guarded by mu; its checkpoint_type (SAVEPOINT: not a stop)
  bool refuseTriggers = false;   // guarded by mu
  int64_t numRestarts = 0;           // guarded by mu; GET /jobs/{id}/metrics?get=numRestarts
  int64_t completedCheckpoints = 0;  // guarded by mu; /jobs/{id}/checkpoints counts.completed
  int cancels = 0;                   // guarded by mu; PATCH /jobs/{id}?mode=cancel received
  bool cancelSlowly = false;         // guarded by mu; a cancel leaves the job CANCELLING
  bool unavailable = false;          // guarded by mu; every request answered 503 (a JobManager going away)
  std::map<std::string, Trigger> triggers;  // guarded by mu
  std::vector<std::string> order;           // trigger ids, oldest first; guarded by mu
  std::vector<std::string> disposed;        // POST /savepoint-disposal paths; guarded by mu
  std::map<std::string, std::string> jars;      // uploaded jar id -> file name; guarded by mu
  std::map<std::string, std::string> uploaded;  // jar id -> bytes; guarded by mu
  std::vector<nlohmann::json> runs;             // {jar, body} of each POST /jars/{id}/run; guarded by mu
  int uploads = 0;                              // guarded by mu
  int port = 0;

 private:
  static void notFound(httplib::Response& res) {
    res.status = 404;
    res.set_content(R"({"errors":["Not found"]})", "application/json");
  }
  httplib::Server server_;
  std::thread thread_;
};

}  // namespace flink::k8s::testing
