// Finalizers of the operator's resources (metadata.finalizers), as controller-runtime's
// controllerutil does it: added before anything is deployed so that a deletion waits for the
// cleanup, removed once the cleanup is done. Writes are merge patches carrying the
// resourceVersion read, so a finalizer someone else added meanwhile is never dropped (409, and
// the caller retries).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "k8s/client.h"

namespace flink::k8s {

/// Whether `obj` carries `finalizer`.
bool hasFinalizer(const nlohmann::json& obj, const std::string& finalizer);

/// Adds (`present`) or removes `finalizer` on `obj` (of `type`). The answer's body is the
/// updated object; a removal from an object that is gone already is ok (notFound()).
ApiResponse setFinalizer(KubeApi& client, const ResourceType& type, const nlohmann::json& obj, const std::string& finalizer,
                         bool present);

}  // namespace flink::k8s
