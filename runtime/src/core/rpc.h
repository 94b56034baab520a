// Control-plane messages between JobManager and TaskManagers: JSON objects with a "type"
// field, one per frame (frame type kRpcFrame) on a net::Connection.
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

#include "flink/common/ids.h"
#include "net/connection.h"

namespace flink::rpc {

inline constexpr uint8_t kRpcFrame = 1;

inline Status send(net::Connection& conn, const nlohmann::json& message) {
  std::string text = message.dump();
  return conn.send(kRpcFrame, text.data(), text.size());
}

/// The fields of control-plane messages (and of each entry of "tasks") that are read as
/// integers. A number too large for 64 bits parses as a double, whose conversion to an integer
/// type is undefined behaviour: such fields must hold JSON integers.
inline constexpr const char* kIntegerFields[] = {"vertex", "subtask", "attempt", "checkpointId", "slots",
                                                 "dataPort", "pid", "size", "timestamp"};

namespace detail {
inline void checkIntegers(const nlohmann::json& message) {
  if (!message.is_object()) return;
  for (const char* key : kIntegerFields) {
    auto it = message.find(key);
    if (it != message.end() && it->is_number() && !it->is_number_integer()) {
      throw std::invalid_argument(std::string("field '") + key + "' is not an integer");
    }
  }
}
}  // namespace detail

/// Parses one message. Throws (nlohmann::json::parse_error, std::invalid_argument) when it is
/// not JSON or a field of kIntegerFields is a non-integer number: the peer is broken.
inline nlohmann::json parse(const Buffer& payload) {
  nlohmann::json message = nlohmann::json::parse(payload.begin(), payload.end());
  detail::checkIntegers(message);
  if (message.is_object() && message.contains("tasks") && message["tasks"].is_array()) {
    for (const auto& task : message["tasks"]) detail::checkIntegers(task);
  }
  return message;
}

}  // namespace flink::rpc
