#include "webhook/admission.h"

#include "controller/flink_deployment_controller.h"
#include "flink/common/strings.h"

#include <fmt/format.h>

namespace flink::k8s {
namespace {

using nlohmann::json;

Result<std::string> requestUid(const json& review) {
  const json* req = review.is_object() && review.contains("request") ? &review["request"] : nullptr;
  if (!req || !req->is_object() || !(*req).contains("uid") || !(*req)["uid"].is_string())
    return Status::Error("not an AdmissionReview request: request.uid is missing");
  return (*req)["uid"].get<std::string>();
}

json answer(const std::string& uid, const json& review) {
  return {{"apiVersion", review.value("apiVersion", "admission.k8s.io/v1")},
          {"kind", "AdmissionReview"},
          {"response", {{"uid", uid}, {"allowed", true}}}};
}

std::string kindOf(const json& req) {
  if (req.contains("kind") && req["kind"].is_object()) return req["kind"].value("kind", "");
  return "";
}

const json& objectOf(const json& req) {
  static const json empty = json::object();
  return req.contains("object") && req["object"].is_object() ? req["object"] : empty;
}

}  // namespace

Status validateFlinkSessionJob(const json& sj) {
  const json spec = sj.value("spec", json::object());
  if (!spec.is_object()) return Status::Error("spec: must be an object");
  if (!spec.contains("deploymentName") || !spec["deploymentName"].is_string() ||
      spec["deploymentName"].get<std::string>().empty())
    return Status::Error("spec.deploymentName: the session cluster's FlinkDeployment is required");
  const json job = spec.value("job", json());
  if (!job.is_object()) return Status::Error("spec.job: required for a FlinkSessionJob");
  if (!job.contains("jarURI") || !job["jarURI"].is_string() || job["jarURI"].get<std::string>().empty())
    return Status::Error("spec.job.jarURI: required");
  if (job.contains("parallelism") && (!job["parallelism"].is_number_integer() || job["parallelism"].get<int64_t>() <= 0))
    return Status::Error("spec.job.parallelism: must be a positive integer");
  if (job.contains("state") && job["state"] != "running" && job["state"] != "suspended")
    return Status::Error(fmt::format("spec.job.state: unknown value {}, expected running or suspended", job["state"].dump()));
  if (job.contains("upgradeMode") && job["upgradeMode"] != "stateless" && job["upgradeMode"] != "savepoint" &&
      job["upgradeMode"] != "last-state")
    return Status::Error(fmt::format("spec.job.upgradeMode: unknown value {}, expected stateless, savepoint or last-state",
                                     job["upgradeMode"].dump()));
  return Status::Ok();
}

Result<json> validateAdmission(const json& review, const OperatorConfig& config) {
  auto uid = requestUid(review);
  if (!uid.ok()) return uid.status();
  json out = answer(*uid, review);
  const json& req = review["request"];
  if (req.value("operation", "") == "DELETE") return out;
  // Only a new or changed spec is judged: the operator's own metadata writes (finalizers) and
  // a resource being deleted must go through even when its spec predates the webhook and is
  // invalid (it is then reported in status.error), or it could never be cleaned up.
  const json& obj0 = objectOf(req);
  if (req.value("operation", "") == "UPDATE") {
    const json& old = req.contains("oldObject") && req["oldObject"].is_object() ? req["oldObject"] : json::object();
    bool deleting = obj0.contains("metadata") && obj0["metadata"].is_object() && obj0["metadata"].contains("deletionTimestamp");
    if (deleting || (old.contains("spec") && obj0.contains("spec") && old["spec"] == obj0["spec"])) return out;
  }
  std::string kind = kindOf(req);
  Status st = Status::Ok();
  const json& obj = objectOf(req);
  if (kind == "FlinkDeployment" || kind == "FlinkSessionJob") {
    if (!obj.contains("metadata") || !obj["metadata"].is_object()) st = Status::Error("metadata: required");
    else if (kind == "FlinkDeployment") st = FlinkDeploymentController::validateObject(obj, config);
    else st = validateFlinkSessionJob(obj);
  }
  if (!st.ok()) {
    // The parser names the resource first ("FlinkDeployment ns/name: spec..."), for status.error
    // and logs; the client knows which object it sent, so the answer starts with the field.
    std::string message = st.message();
    const json& meta = obj.contains("metadata") ? obj["metadata"] : obj;  // (a denial may be for its absence)
    auto str = [&](const char* key) {
      return meta.is_object() && meta.contains(key) && meta[key].is_string() ? meta[key].get<std::string>() : "";
    };
    std::string prefix = kind + " " + str("namespace") + "/" + str("name") + ": ";
    if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
    out["response"]["allowed"] = false;
    out["response"]["status"] = {{"code", 400}, {"reason", "BadRequest"}, {"message", message}};
  }
  return out;
}

Result<json> mutateAdmission(const json& review) {
  auto uid = requestUid(review);
  if (!uid.ok()) return uid.status();
  json out = answer(*uid, review);
  const json& req = review["request"];
  if (kindOf(req) != "FlinkSessionJob" || req.value("operation", "") == "DELETE") return out;
  const json& obj = objectOf(req);
  const json spec = obj.value("spec", json::object());
  if (!spec.is_object() || !spec.contains("deploymentName") || !spec["deploymentName"].is_string()) return out;
  std::string target = spec["deploymentName"];
  const json meta = obj.value("metadata", json::object());
  json patch = json::array();
  if (!meta.contains("labels") || !meta["labels"].is_object()) {
    patch.push_back({{"op", "add"}, {"path", "/metadata/labels"}, {"value", {{"target.session", target}}}});
  } else if (meta["labels"].value("target.session", json()) != target) {
    patch.push_back({{"op", "add"}, {"path", "/metadata/labels/target.session"}, {"value", target}});
  }
  if (!patch.empty()) {
    out["response"]["patchType"] = "JSONPatch";
    out["response"]["patch"] = base64Encode(patch.dump());
  }
  return out;
}

}  // namespace flink::k8s
