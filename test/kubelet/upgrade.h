// What exec and port-forward sessions share: the WebSocket handshake on a connection whose
// upgrade request the kubelet's HTTP server has already read, and the parsing of the offered
// subprotocols.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/websocket.hpp>

#include <string>
#include <utility>
#include <vector>

namespace kubelet {

/// The items of a comma-separated Sec-WebSocket-Protocol header, trimmed.
std::vector<std::string> offeredProtocols(const std::string& header);

/// Accepts the WebSocket of the request (target and headers as received) with the chosen
/// subprotocol, binary messages and a 5 s closing handshake; false when the handshake fails.
bool acceptWebSocket(boost::beast::websocket::stream<boost::asio::ip::tcp::socket>& ws, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers, const std::string& protocol);

}  // namespace kubelet
