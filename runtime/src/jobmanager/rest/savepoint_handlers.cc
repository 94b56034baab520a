#include "jobmanager/rest/savepoint_handlers.h"

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
  if (!valid) return;
  std::string target = request.value(stop ? "targetDirectory" : "target-directory", std::string());
  bool cancelJob = request.value("cancel-job", false);
  bool drain = request.value("drain", false);
  auto result = mailbox.call([&]() -> std::optional<Result<std::string>> {
    JobMaster* jm = view.mutableJob(id);
    if (!jm) return std::nullopt;
    return jm->triggerSavepoint(target, cancelJob, stop, drain);
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

}  // namespace

void registerSavepointHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox) {
  size_t maxBytes = maxContentLength(view);
  registerJsonBodyHandler(server, "POST", R"(/jobs/([0-9a-f]{32})/savepoints)", maxBytes,
                          [&](const Req& req, Res& res, const Body& body) { triggerSavepoint(view, mailbox, req, res, body, false); });
  registerJsonBodyHandler(server, "POST", R"(/jobs/([0-9a-f]{32})/stop)", maxBytes,
                          [&](const Req& req, Res& res, const Body& body) { triggerSavepoint(view, mailbox, req, res, body, true); });

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
