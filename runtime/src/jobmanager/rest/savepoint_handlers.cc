#include "jobmanager/rest/savepoint_handlers.h"

#include <filesystem>
#include <map>
#include <mutex>

#include "checkpoint/storage.h"
#include "flink/common/ids.h"
#include "jobmanager/rest/rest_common.h"

namespace flink {
namespace {

using namespace rest;

// POST /jobs/{jobid}/savepoints (stop = false) or /jobs/{jobid}/stop (stop = true).
// Bodies as Flink's SavepointTriggerRequestBody and StopWithSavepointRequestBody.
void triggerSavepoint(JobManagerView& view, Mailbox& mailbox, const Req& req, Res& res, const Body& request, bool stop) {
  std::string id = req.matches[1];
  const std::vector<std::string> formats = {"CANONICAL", "NATIVE"};
  bool valid = stop ? checkFields(request, {{"targetDirectory", FieldType::kString}, {"drain", FieldType::kBoolean},
                                            {"triggerId", FieldType::kString}, {"formatType", FieldType::kString, formats}},
                                  res)
                    : checkFields(request, {{"target-directory", FieldType::kString}, {"cancel-job", FieldType::kBoolean},
                                            {"triggerId", FieldType::kString}, {"formatType", FieldType::kString, formats}},
                                  res);
  if (!valid || !checkTriggerId(request, res)) return;
  std::string target = request.value(stop ? "targetDirectory" : "target-directory", std::string());
  bool cancelJob = request.value("cancel-job", false);
  bool drain = request.value("drain", false);
  auto result = mailbox.call([&]() -> std::optional<Result<std::string>> {
    JobMaster* jm = view.mutableJob(id);
    if (!jm) return std::nullopt;
    return jm->triggerSavepoint(target, cancelJob, stop, drain, request.value("triggerId", std::string()));
  });
  if (!result) return notFound(res, "Job " + id + " not found");
  if (!result->ok()) return reply(res, 409, {{"errors", {result->status().message()}}});
  reply(res, 202, {{"request-id", result->value()}});
}

json savepointStatus(const SavepointOperation& op) {
  if (!op.done) return json{{"status", {{"id", "IN_PROGRESS"}}}};
  json operation = op.failure.empty()
                       ? json{{"location", "file://" + op.location}}
                       : json{{"failure-cause", {{"class", "org.apache.flink.runtime.checkpoint.CheckpointException"},
                                                 {"stack-trace", op.failure},
                                                 {"serialized-throwable", op.failure}}}};
  return json{{"status", {{"id", "COMPLETED"}}}, {"operation", operation}};
}

// Savepoint disposals: done at once on the request's thread (removing a directory), kept as
// operations so that clients poll them as in Flink. Bounded: the oldest results are dropped.
struct Disposals {
  std::mutex mu;
  std::map<std::string, std::string> failures;  // trigger id -> failure ("" = completed)
  std::vector<std::string> order;
};

std::string dispose(const std::string& uri) {
  if (uri.empty()) return "savepoint-path is required";
  std::string dir = checkpoint::pathOf(uri);
  auto meta = checkpoint::readMetadata(dir);
  if (!meta.ok()) return "'" + uri + "' is not a savepoint: " + meta.status().message();
  if (!meta->savepoint) return "'" + uri + "' is a checkpoint, not a savepoint: it is not disposed";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return "'" + uri + "' cannot be removed: " + ec.message();
  return "";
}

}  // namespace

void registerSavepointHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox) {
  size_t maxBytes = maxContentLength(view);
  registerJsonBodyHandler(server, "POST", R"(/jobs/([0-9a-f]{32})/savepoints)", maxBytes,
                          [&](const Req& req, Res& res, const Body& body) { triggerSavepoint(view, mailbox, req, res, body, false); });
  registerJsonBodyHandler(server, "POST", R"(/jobs/([0-9a-f]{32})/stop)", maxBytes,
                          [&](const Req& req, Res& res, const Body& body) { triggerSavepoint(view, mailbox, req, res, body, true); });

  auto disposals = std::make_shared<Disposals>();
  registerJsonBodyHandler(server, "POST", R"(/savepoint-disposal)", maxBytes,
                          [disposals](const Req&, Res& res, const Body& body) {
                            if (!checkFields(body, {{"savepoint-path", FieldType::kString}}, res)) return;
                            std::string failure = dispose(body.value("savepoint-path", std::string()));
                            std::string id = randomId();
                            std::lock_guard<std::mutex> lock(disposals->mu);
                            disposals->failures[id] = failure;
                            disposals->order.push_back(id);
                            if (disposals->order.size() > 1000) {
                              disposals->failures.erase(disposals->order.front());
                              disposals->order.erase(disposals->order.begin());
                            }
                            reply(res, 200, {{"request-id", id}});
                          });
  server.Get(R"(/savepoint-disposal/([0-9a-f]{32}))", [disposals](const Req& req, Res& res) {
    std::lock_guard<std::mutex> lock(disposals->mu);
    auto it = disposals->failures.find(req.matches[1]);
    if (it == disposals->failures.end()) return notFound(res, "Savepoint disposal " + std::string(req.matches[1]) + " not found");
    json body = {{"status", {{"id", "COMPLETED"}}}};
    if (!it->second.empty()) {
      body["operation"] = {{"failure-cause", {{"class", "org.apache.flink.runtime.rest.handler.RestHandlerException"},
                                              {"stack-trace", it->second},
                                              {"serialized-throwable", it->second}}}};
    } else {
      body["operation"] = json::object();
    }
    reply(res, 200, body);
  });

  server.Get(R"(/jobs/([0-9a-f]{32})/savepoints/([0-9a-f]{32}))", [&](const Req& req, Res& res) {
    std::string id = req.matches[1], trigger = req.matches[2];
    replyOrNotFound(res, mailbox, "Savepoint trigger " + trigger + " of job " + id + " not found",
                    [&]() -> std::optional<json> {
                      const JobMaster* jm = view.job(id);
                      const SavepointOperation* op = jm ? jm->savepointOperation(trigger) : nullptr;
                      if (!op) return std::nullopt;
                      return savepointStatus(*op);
                    });
  });
}

}  // namespace flink
