// Small string helpers shared by the runtime, the operator and the test API server. ASCII only.
#pragma once

#include <string>
#include <vector>

namespace flink {

/// `s` without leading and trailing whitespace (std::isspace).
std::string trim(const std::string& s);
/// `s` in lower case (ASCII).
std::string lower(std::string s);
/// The non-empty items of a comma-separated list ("a,,b" -> {"a", "b"}).
std::vector<std::string> splitList(const std::string& s);
/// Base64 (RFC 4648, standard alphabet, padded) of `data`.
std::string base64Encode(const std::string& data);
/// The bytes of base64 `text` (padded, whitespace-free); "" when it is not valid base64.
std::string base64Decode(const std::string& text);
/// At most `maxBytes` bytes of `s`, cut before a UTF-8 sequence rather than inside one (a
/// message cut inside a character is not valid UTF-8, and JSON serialization refuses it).
std::string truncateUtf8(const std::string& s, size_t maxBytes);

}  // namespace flink
