// `kubectl port-forward` on the test kubelet: one port-forward session, the SPDY/3.1 streams of
// Kubernetes' portforward.k8s.io protocol. kubectl (1.31 and later, unless
// PORT_FORWARD_WEBSOCKETS=false) first asks for a WebSocket with subprotocol
// `SPDY/3.1+portforward.k8s.io` and sends the SPDY frames as binary messages (client-go's
// tunneling dialer, KEP-4006); when that upgrade is refused it falls back to a plain SPDY/3.1
// upgrade (`Upgrade: SPDY/3.1`, `X-Stream-Protocol-Version: portforward.k8s.io`). This kubelet
// accepts both. (A real API server unwraps the WebSocket and speaks SPDY to the kubelet;
// kube-test-apiserver forwards the upgrade unchanged, so the kubelet sees what kubectl sent.)
//
// Per forwarded connection the client opens two streams (SYN_STREAM) with headers `streamtype`
// (`error`, then `data`), `port` and `requestid`; the kubelet answers each (SYN_REPLY), connects
// to 127.0.0.1:port inside the pod's network namespace, and copies bytes between that TCP
// connection and the data stream. A refused connection is reported as text on the error
// stream; the end of the TCP connection closes (FIN) the data and the error stream. PINGs are
// echoed. When the pod stops running the kubelet sends GOAWAY and closes the connection
// (kubectl: `lost connection to pod`).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kubelet {

namespace spdy {

enum FrameType : uint16_t { kSynStream = 1, kSynReply = 2, kRstStream = 3, kSettings = 4, kPing = 6, kGoAway = 7, kHeaders = 8, kWindowUpdate = 9 };
constexpr uint8_t kFlagFin = 0x01;

/// One SPDY/3 frame: a control frame (type, flags, payload after the 8-byte header) or a data
/// frame (stream id, flags, data).
struct Frame {
  bool control = false;
  uint16_t type = 0;  // control frames
  uint32_t streamId = 0;  // data frames; for control frames the payload's first word when it names a stream
  uint8_t flags = 0;
  std::string payload;
};

/// Takes the first complete frame off the front of buf; nullopt while buf holds less than one.
std::optional<Frame> takeFrame(std::string& buf);
std::string dataFrame(uint32_t streamId, std::string_view data, bool fin);
std::string controlFrame(FrameType type, uint8_t flags, std::string_view payload);
std::string u32(uint32_t v);  // big-endian

/// The zlib contexts of one connection's header blocks (one per direction, shared by all its
/// frames, with SPDY/3's dictionary).
class HeaderCodec {
 public:
  HeaderCodec();
  ~HeaderCodec();
  HeaderCodec(const HeaderCodec&) = delete;
  HeaderCodec& operator=(const HeaderCodec&) = delete;
  /// A received header block: name → value (several values joined by NUL); nullopt when corrupt.
  std::optional<std::map<std::string, std::string>> decode(std::string_view block);
  std::string encode(const std::map<std::string, std::string>& headers);

 private:
  struct Z;
  std::unique_ptr<Z> z_;
};

/// SPDY/3's header compression dictionary (1423 bytes).
const std::string& dictionary();

}  // namespace spdy

constexpr const char* kPortForwardProtocol = "portforward.k8s.io";
constexpr const char* kTunnelPrefix = "SPDY/3.1+";

/// The WebSocket subprotocol to accept from a Sec-WebSocket-Protocol header (comma-separated
/// offers): `SPDY/3.1+portforward.k8s.io` if offered, else "".
std::string choosePortForwardProtocol(const std::string& offered);

struct PortForwardSession {
  std::string target;                                        // the request's path and query
  std::vector<std::pair<std::string, std::string>> headers;  // the request's headers
  bool websocket = true;     // SPDY tunnelled in WebSocket messages, else a plain SPDY upgrade
  std::string protocol;      // the WebSocket subprotocol (websocket only)
  std::string pod, uid;      // for error messages
  std::string netns;         // path of the pod's network namespace (/run/netns/...)
  /// Polled every 200 ms: false once the pod has stopped (or the kubelet is stopping).
  std::function<bool()> podRunning;
};

/// Serves a session on the connected socket fd (whose request has been read): answers the
/// upgrade, then serves streams until the client leaves or the pod stops. Blocks; works on a
/// duplicate of fd, which the caller keeps.
void servePortForward(int fd, const PortForwardSession& session);

}  // namespace kubelet
