#include "k8s/watch_stream.h"

namespace flink::k8s {

WatchStreamDecoder::Outcome WatchStreamDecoder::feed(const char* data, size_t size,
                                                     const std::function<bool(const nlohmann::json&)>& onEvent) {
  buffer_.append(data, size);
  size_t start = 0;
  Outcome outcome = Outcome::kContinue;
  for (;;) {
    size_t nl = buffer_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(buffer_.data() + start, nl - start);
    start = nl + 1;
    if (line.size() > maxLineBytes_) return Outcome::kLineTooLong;
    if (line.empty()) continue;
    nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
    if (event.is_discarded()) continue;
    if (!onEvent(event)) {
      outcome = Outcome::kStopped;
      break;
    }
  }
  buffer_.erase(0, start);
  if (outcome == Outcome::kContinue && buffer_.size() > maxLineBytes_) return Outcome::kLineTooLong;
  return outcome;
}

}  // namespace flink::k8s
