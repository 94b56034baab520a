// What the REST handler groups (jobmanager/rest/*_handlers.h) share: JSON replies, the 404
// shape, query parameters, and the lookups of a job (and a vertex of it) on the JobManager's
// main thread. The reply helpers run on httplib's threads; the `build` callbacks they take
// run on the JobManager's main thread through the Mailbox, where JobManagerView may be read.
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/mailbox.h"
#include "jobmanager/rest_handlers.h"

namespace flink::rest {

using json = nlohmann::json;
using Req = httplib::Request;
using Res = httplib::Response;

/// REST API level we answer as, and the revision we report.
inline constexpr const char* kFlinkVersion = "1.19.0";
inline constexpr const char* kRevision = "flink-cpp-" FLINK_CPP_VERSION;

/// `res` gets `status` and `body` as application/json.
void reply(Res& res, int status, const json& body);
/// 404 with Flink's error shape: {"errors": [what]}.
void notFound(Res& res, const std::string& what);
/// A client's triggerId (Flink's request field): absent, or 32 lowercase hex digits. Answers 400
/// naming the field and returns false otherwise.
bool checkTriggerId(const json& body, Res& res);
/// The query parameter `name`, or `fallback` when the request has none.
std::string param(const Req& req, const char* name, const std::string& fallback = "");
/// A JSON request body as the handlers see it, already checked: a JSON object (`{}` when the
/// request has no body).
using Body = json;
using BodyHandler = std::function<void(const Req&, Res&, const Body&)>;

/// Registers a POST or PATCH handler that reads its body itself, as HTTP/1.1 says (RFC 9112
/// section 6.3): no Content-Length and no Transfer-Encoding means no body (answered at once); a
/// Content-Length over `maxBytes` is refused with 413 before anything is read; a chunked body is
/// read up to `maxBytes` and refused with 413 beyond; a body that is not a JSON object gets 400.
/// Errors have Flink's shape {"errors": [...]}; after a refused body the connection is closed.
void registerJsonBodyHandler(httplib::Server& server, const std::string& method, const std::string& pattern,
                             size_t maxBytes, BodyHandler handler);
/// rest.server.max-content-length of the JobManager's configuration (bytes, default 1 MiB; an
/// unparseable value falls back to the default). Main thread only, as JobManagerView.
size_t maxContentLength(const JobManagerView& view);

/// Expected JSON type of a request field.
/// kStringArray: an array of strings; kStringMap: an object whose values are strings.
enum class FieldType { kString, kBoolean, kInteger, kStringArray, kStringMap };
struct FieldSpec {
  const char* name;
  FieldType type;
  std::vector<std::string> allowed = {};  // for strings: the accepted values, when an enum
};
/// Checks the fields of `body` that are present (unknown fields are ignored, as Flink does);
/// on the first field of the wrong type or an unknown enum value answers 400 naming the field
/// and returns false.
bool checkFields(const Body& body, const std::vector<FieldSpec>& fields, Res& res);

/// A job's plan as Flink's JobPlanInfo "plan" (jid, name, type, nodes with their inputs); no
/// nodes when `jg` is null (the job did not build).
json planJson(const std::string& jobId, const std::string& name, const JobGraph* jg);

/// The vertex of `jm` with JobVertex id `id`, or nullptr.
const ExecutionJobVertex* findVertex(const JobMaster& jm, const std::string& id);

/// Runs `build` (-> std::optional<json>) on the main thread; replies 200 with its result, or
/// 404 with `missing` when it returns nothing.
template <class Build>
void replyOrNotFound(Res& res, Mailbox& mailbox, const std::string& missing, Build build) {
  std::optional<json> body = mailbox.call(build);
  body ? reply(res, 200, *body) : notFound(res, missing);
}

/// Replies with `build(const JobMaster&)` (-> json) for job `id`, or 404 "Job <id> not found".
template <class Build>
void replyForJob(Res& res, JobManagerView& view, Mailbox& mailbox, const std::string& id, Build build) {
  replyOrNotFound(res, mailbox, "Job " + id + " not found", [&]() -> std::optional<json> {
    const JobMaster* jm = view.job(id);
    if (!jm) return std::nullopt;
    return build(*jm);
  });
}

/// Replies with `build(const ExecutionJobVertex&)` (-> json) for vertex `vid` of job `id`, or
/// 404 "Job <id> or vertex <vid> not found".
template <class Build>
void replyForVertex(Res& res, JobManagerView& view, Mailbox& mailbox, const std::string& id, const std::string& vid,
                    Build build) {
  replyOrNotFound(res, mailbox, "Job " + id + " or vertex " + vid + " not found", [&]() -> std::optional<json> {
    const JobMaster* jm = view.job(id);
    const ExecutionJobVertex* ejv = jm ? findVertex(*jm, vid) : nullptr;
    if (!ejv) return std::nullopt;
    return build(*ejv);
  });
}

}  // namespace flink::rest
