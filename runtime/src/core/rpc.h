// Control-plane messages between JobManager and TaskManagers: JSON objects with a "type"
// field, one per frame (frame type kRpcFrame) on a net::Connection.
#pragma once

#include <nlohmann/json.hpp>

#include "flink/common/ids.h"
#include "net/connection.h"

namespace flink::rpc {

inline constexpr uint8_t kRpcFrame = 1;

inline Status send(net::Connection& conn, const nlohmann::json& message) {
  std::string text = message.dump();
  return conn.send(kRpcFrame, text.data(), text.size());
}

inline nlohmann::json parse(const Buffer& payload) {
  return nlohmann::json::parse(payload.begin(), payload.end());
}

}  // namespace flink::rpc
