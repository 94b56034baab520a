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

}  // namespace flink
