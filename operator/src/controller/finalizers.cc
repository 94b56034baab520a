#include "controller/finalizers.h"

namespace flink::k8s {

using nlohmann::json;

bool hasFinalizer(const json& obj, const std::string& finalizer) {
  const json meta = obj.value("metadata", json::object());
  for (const auto& f : meta.value("finalizers", json::array())) {
    if (f == finalizer) return true;
  }
  return false;
}

ApiResponse setFinalizer(KubeApi& client, const ResourceType& type, const json& obj, const std::string& finalizer,
                         bool present) {
  const json meta = obj.value("metadata", json::object());
  json finalizers = json::array();
  for (const auto& f : meta.value("finalizers", json::array())) {
    if (f != finalizer) finalizers.push_back(f);
  }
  if (present) finalizers.push_back(finalizer);
  return client.patch(type.objectPath(meta.value("namespace", ""), meta.value("name", "")),
                      {{"metadata", {{"finalizers", finalizers}, {"resourceVersion", meta.value("resourceVersion", "")}}}});
}

}  // namespace flink::k8s
