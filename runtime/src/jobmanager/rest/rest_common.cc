#include "jobmanager/rest/rest_common.h"

namespace flink::rest {

void reply(Res& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void notFound(Res& res, const std::string& what) {
  reply(res, 404, {{"errors", {what}}});
}

std::string param(const Req& req, const char* name, const std::string& fallback) {
  return req.has_param(name) ? req.get_param_value(name) : fallback;
}

const ExecutionJobVertex* findVertex(const JobMaster& jm, const std::string& id) {
  for (const auto& ejv : jm.vertices()) {
    if (ejv.vertex->id == id) return &ejv;
  }
  return nullptr;
}

}  // namespace flink::rest
