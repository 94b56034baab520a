#include "upgrade.h"

#include <boost/beast/http.hpp>

#include <sstream>

namespace kubelet {

std::vector<std::string> offeredProtocols(const std::string& header) {
  std::vector<std::string> offers;
  std::stringstream in(header);
  for (std::string item; std::getline(in, item, ',');) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    offers.push_back(item);
  }
  return offers;
}

bool acceptWebSocket(boost::beast::websocket::stream<boost::asio::ip::tcp::socket>& ws, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers, const std::string& protocol) {
  namespace http = boost::beast::http;
  namespace websocket = boost::beast::websocket;
  http::request<http::empty_body> req{http::verb::get, target, 11};
  for (const auto& [name, value] : headers) req.insert(name, value);
  ws.set_option(websocket::stream_base::decorator([protocol](websocket::response_type& res) {
    res.set(http::field::sec_websocket_protocol, protocol);
    res.set(http::field::server, "kube-test-kubelet");
  }));
  // Closing handshakes wait at most this long for the client's answer.
  ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(5), websocket::stream_base::none(), false});
  ws.binary(true);
  boost::beast::error_code ec;
  ws.accept(req, ec);
  return !ec;
}

}  // namespace kubelet
