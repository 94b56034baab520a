// jobStatus.savepointInfo as the Apache operator writes it (FlinkDeployment and FlinkSessionJob
// status): the trigger in flight (triggerId, triggerTimestamp, triggerType, triggerNonce),
// lastSavepoint and savepointHistory ({timeStamp (ms), location, triggerType, formatType,
// triggerNonce}). Pure functions on the JSON object.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace flink::k8s {

/// Records a completed savepoint as lastSavepoint and appends it to savepointHistory; `nonce`
/// (the spec's savepointTriggerNonce, or null) is kept as triggerNonce.
void recordSavepoint(nlohmann::json& info, const std::string& location, const std::string& triggerType,
                     const nlohmann::json& nonce);

/// Forgets the trigger in flight.
void clearTrigger(nlohmann::json& info);

}  // namespace flink::k8s
