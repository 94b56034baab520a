// Fuzz target: FlinkDeployment manifests (YAML) as run-local and the CLI read them: parsing
// into the model, the operator's validation, and, for a valid one, the children it would create.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "api/flink_deployment.h"
#include "controller/resources.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return 0;
  }
  auto fd = flink::k8s::parseFlinkDeployment(doc, "manifest.yaml");
  if (!fd.ok()) return 0;
  (void)fd->effectiveConfiguration();
  flink::k8s::OperatorConfig config;
  if (!flink::k8s::validateFlinkDeployment(*fd, nullptr, config).ok()) return 0;
  (void)flink::k8s::validateFlinkDeployment(*fd, &*fd, config);
  // (Manifest strings may hold any bytes; the API server would refuse what is not UTF-8.)
  for (const auto& child : flink::k8s::desiredResources(*fd, config)) {
    (void)child.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return 0;
}
