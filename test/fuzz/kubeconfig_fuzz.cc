// Fuzz target: kubeconfig files (KubeConfig::fromYaml). Paths they name are read as given; the
// seeds use inline *-data fields only.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "k8s/client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)flink::k8s::KubeConfig::fromYaml(text, "fuzz-kubeconfig");
  return 0;
}
