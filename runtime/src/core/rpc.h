// Control-plane messages between JobManager and TaskManagers: JSON objects with a "type"
// field, one per frame (frame type kRpcFrame) on a net::Connection.
#pragma once

#include <nlohmann/json.hpp>

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

/// A random 32-hex-character id (JobID, ResourceID, trigger ids).
std::string randomId();

}  // namespace flink::rpc
