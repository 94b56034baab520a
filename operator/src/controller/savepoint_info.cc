#include "controller/savepoint_info.h"

#include "controller/event_recorder.h"

namespace flink::k8s {

using nlohmann::json;

void recordSavepoint(json& info, const std::string& location, const std::string& triggerType, const json& nonce) {
  json sp = {{"timeStamp", nowMs()}, {"location", location}, {"triggerType", triggerType}, {"formatType", "CANONICAL"}};
  if (!nonce.is_null()) sp["triggerNonce"] = nonce;
  info["lastSavepoint"] = sp;
  json& history = info["savepointHistory"];
  if (!history.is_array()) history = json::array();
  history.push_back(sp);
}

void clearTrigger(json& info) {
  for (const char* k : {"triggerId", "triggerTimestamp", "triggerType", "triggerNonce"}) info.erase(k);
}

}  // namespace flink::k8s
