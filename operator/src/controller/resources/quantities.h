// Memory and CPU quantities of a FlinkDeployment: memory sizes read the Flink way or as
// Kubernetes quantities, written back as Flink sizes (for the configuration) or as the
// canonical Kubernetes quantities the API server stores (for the pods). Internal to
// controller/resources.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "flink/status.h"

namespace flink::k8s::detail {

/// Bytes of a memory size written the Flink way ("2048m" = 2048 MiB, "1g") or, failing that,
/// as a Kubernetes quantity ("1.5Gi", "500M", rounded up to whole bytes). The error is Flink's
/// parse error when the text is neither.
Result<int64_t> memoryBytes(const std::string& text);

/// A byte count as a Flink memory size: "2048m" (whole MiB), "512k" (whole KiB) or "123b".
std::string flinkMemory(int64_t bytes);

/// A byte count as the API server stores it: the largest exact binary unit ("2Gi",
/// "1536Mi") when it is a multiple of 1024, else DecimalSI ("1G", "1000").
std::string kubernetesMemory(int64_t bytes);

/// A memory size of the FlinkDeployment (Flink notation first, then a Kubernetes quantity) as
/// the API server stores it: "2048m" -> "2Gi", "1g" -> "1Gi", "1536m" -> "1536Mi",
/// "1000000000" -> "1G". Unparseable text is returned unchanged (validation reports it).
std::string kubernetesMemory(const std::string& text);

/// CPU cores as the canonical Kubernetes quantity, rounded to millicores: 1 -> "1",
/// 0.5 -> "500m".
std::string cpuQuantity(double cpu);

/// A resource quantity from a FlinkDeployment's `resources` section (a string or a number),
/// canonical; "memory" is read the Flink way first, as everywhere in the FlinkDeployment,
/// other resources as Kubernetes quantities. Text that does not parse is returned as given.
std::string quantityString(const std::string& resourceName, const nlohmann::json& v);

/// Pod template quantities (Kubernetes semantics) in canonical form, in place, so that what is
/// applied reads back unchanged: resources.requests and resources.limits of every container of
/// the array `containers` (a null section is removed). Anything not an array is left alone.
void canonicalizeResources(nlohmann::json& containers);

}  // namespace flink::k8s::detail
