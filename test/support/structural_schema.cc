// Placeholder until the full validator lands: accepts everything, prunes nothing.
#include "structural_schema.h"

namespace flinktest {

std::vector<std::string> validateStructural(const nlohmann::json&, const nlohmann::json& object, nlohmann::json* pruned) {
  if (pruned) *pruned = object;
  return {};
}

}  // namespace flinktest
