// Fuzz target: FlinkDeployment, FlinkSessionJob and FlinkStateSnapshot objects as the API
// server serves them (JSON): the model, the status, and the admission webhook's validation and
// mutation of each kind. The first byte picks the kind the review claims.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "api/flink_deployment_status.h"
#include "controller/flink_deployment_controller.h"
#include "webhook/admission.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using nlohmann::json;
  if (size == 0) return 0;
  static const char* kKinds[] = {"FlinkDeployment", "FlinkSessionJob", "FlinkStateSnapshot"};
  const char* kind = kKinds[data[0] % 3];
  json obj = json::parse(data + 1, data + size, nullptr, false);
  if (obj.is_discarded()) return 0;
  flink::k8s::OperatorConfig config;
  if (obj.is_object()) {
    if (data[0] % 3 == 0) {
      (void)flink::k8s::FlinkDeploymentController::parseObject(obj);
      (void)flink::k8s::FlinkDeploymentController::validateObject(obj, config);
      if (obj.contains("status") && obj["status"].is_object()) {
        auto status = flink::k8s::FlinkDeploymentStatus::fromJson(obj["status"]);
        (void)status.toJson();
      }
    } else if (data[0] % 3 == 1) {
      (void)flink::k8s::validateFlinkSessionJob(obj);
    }
  }
  for (const char* operation : {"CREATE", "UPDATE"}) {
    json review = {{"apiVersion", "admission.k8s.io/v1"},
                   {"kind", "AdmissionReview"},
                   {"request",
                    {{"uid", "fuzz"},
                     {"kind", {{"group", "flink.apache.org"}, {"version", "v1beta1"}, {"kind", kind}}},
                     {"operation", operation},
                     {"object", obj},
                     {"oldObject", json::object()}}}};
    (void)flink::k8s::validateAdmission(review, config);
    (void)flink::k8s::mutateAdmission(review);
  }
  return 0;
}
