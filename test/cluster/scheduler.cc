#include "scheduler.h"

#include "flink/common/log.h"

namespace ktc {

SchedulerReconciler::SchedulerReconciler(std::shared_ptr<KubeApi> api, Cache pods, std::string node)
    : api_(std::move(api)), pods_(std::move(pods)), node_(std::move(node)) {}

bool SchedulerReconciler::needsScheduling(const json& pod) {
  return isPodActive(pod) && pod.value("/spec/nodeName"_json_pointer, "").empty();
}

Reconciler::Result SchedulerReconciler::reconcile(const std::string& ns, const std::string& name) {
  auto pod = pods_.get(ns, name);
  if (!pod || !needsScheduling(*pod)) return {};
  json binding = {{"apiVersion", "v1"},
                  {"kind", "Binding"},
                  {"metadata", {{"name", name}, {"namespace", ns}}},
                  {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node_}}}};
  ApiResponse r = api_->post(kPod.objectPath(ns, name) + "/binding", binding);
  if (r.ok()) {
    flink::log::info("Successfully assigned {}/{} to {}", ns, name, node_);
    return {};
  }
  if (r.conflict() || r.notFound()) return {};
  return resultOf(describeFailure("POST " + kPod.objectPath(ns, name) + "/binding", r));
}

}  // namespace ktc
