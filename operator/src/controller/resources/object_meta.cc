// Metadata of the children. See object_meta.h.
#include "controller/resources/object_meta.h"

namespace flink::k8s::detail {
namespace {

using json = nlohmann::json;

json ownerReference(const FlinkDeployment& fd) {
  return json{{"apiVersion", "flink.apache.org/v1beta1"},
              {"kind", "FlinkDeployment"},
              {"name", fd.name},
              {"uid", fd.uid},
              {"controller", true},
              {"blockOwnerDeletion", true}};
}

}  // namespace

json labels(const FlinkDeployment& fd, const char* component) {
  json l = {{"app", fd.name}};
  if (component) l["component"] = component;
  return l;
}

json metadata(const FlinkDeployment& fd, const std::string& name, const char* component) {
  return json{{"name", name},
              {"namespace", fd.namespace_},
              {"labels", labels(fd, component)},
              {"ownerReferences", json::array({ownerReference(fd)})}};
}

}  // namespace flink::k8s::detail
