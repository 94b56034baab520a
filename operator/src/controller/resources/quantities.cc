// Memory and CPU quantities. See quantities.h.
//
// Memory strings are read as Flink does first ("2048m" = 2048 MiB), then as Kubernetes
// quantities ("1.5Gi"), as the Apache operator's FlinkConfigBuilder does; the configuration
// gets Flink sizes ("2048m") and the pods Kubernetes quantities in the canonical form the API
// server stores ("2048m" -> "2Gi", "0.5" CPU -> "500m", for every container of the pod), so
// that comparing these objects with the live ones converges.
#include "controller/resources/quantities.h"

#include "flink/common/strings.h"
#include "flink/configuration.h"

#include <cctype>
#include <climits>
#include <cmath>
#include <optional>
#include <regex>
#include <utility>

namespace flink::k8s::detail {
namespace {

using json = nlohmann::json;

/// A Kubernetes quantity ("1.5Gi", "500M", "2e9") in bytes, rounded up. Follows the Apache
/// operator's fallback: upper-cased, a trailing B dropped, a trailing I made lower-case.
std::optional<int64_t> kubernetesQuantityBytes(const std::string& text) {
  std::string q;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) q += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (!q.empty() && q.back() == 'B') q.pop_back();
  if (!q.empty() && q.back() == 'I') q.back() = 'i';
  static const std::regex kQuantity("([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(E[-+]?[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|K|M|G|T|P|E)?");
  std::smatch m;
  if (!std::regex_match(q, m, kQuantity)) return std::nullopt;
  long double v = 0;
  try {
    v = std::stold(m[1].str() + m[3].str());
  } catch (...) {
    return std::nullopt;
  }
  static const std::pair<const char*, long double> kSuffixes[] = {
      {"Ki", 1024.0L}, {"Mi", 1048576.0L}, {"Gi", 1073741824.0L}, {"Ti", 1099511627776.0L},
      {"Pi", 1125899906842624.0L}, {"Ei", 1152921504606846976.0L}, {"K", 1e3L}, {"M", 1e6L},
      {"G", 1e9L}, {"T", 1e12L}, {"P", 1e15L}, {"E", 1e18L}};
  for (const auto& [name, factor] : kSuffixes) {
    if (m[4].str() == name) v *= factor;
  }
  v = std::ceil(v);
  if (v < 0 || v > 9.2e18L) return std::nullopt;
  return static_cast<int64_t>(v);
}

/// Kubernetes' canonical DecimalSI form of m * 10^e (what the API server stores): an integer
/// mantissa and the largest exponent that is a multiple of 3, rounded up to nano units.
std::optional<std::string> canonicalDecimal(__int128 m, int e, bool negative) {
  if (m == 0) return std::string("0");
  while (m % 10 == 0) {
    m /= 10;
    ++e;
  }
  if (e < -9) {
    __int128 div = 1;
    for (int i = e; i < -9; ++i) div *= 10;
    m = (m + div - 1) / div;
    e = -9;
    while (m % 10 == 0) {
      m /= 10;
      ++e;
    }
  }
  int e3 = e >= 0 ? e / 3 * 3 : -((-e + 2) / 3 * 3);
  if (e3 > 18) e3 = 18;
  for (int i = e3; i < e; ++i) {
    m *= 10;
    if (m > static_cast<__int128>(INT64_MAX)) return std::nullopt;
  }
  static const std::pair<int, const char*> kSuffixes[] = {{-9, "n"}, {-6, "u"}, {-3, "m"}, {0, ""}, {3, "k"},
                                                          {6, "M"},  {9, "G"},  {12, "T"}, {15, "P"}, {18, "E"}};
  for (const auto& [exp, suffix] : kSuffixes) {
    if (exp == e3) return (negative ? "-" : "") + std::to_string(static_cast<int64_t>(m)) + suffix;
  }
  return std::nullopt;
}

/// The canonical form the API server gives a Kubernetes quantity ("0.5" -> "500m",
/// "2048Mi" -> "2Gi", "1000M" -> "1G"); nullopt when not a quantity this handles (exponent
/// notation keeps its own format and is left alone).
std::optional<std::string> canonicalQuantity(const std::string& text) {
  static const std::regex kQuantity("([+-]?)([0-9]*)(?:\\.([0-9]*))?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?");
  std::smatch q;
  std::string t = trim(text);
  if (!std::regex_match(t, q, kQuantity)) return std::nullopt;
  std::string digits = q[2].str() + q[3].str();
  if (digits.empty()) return std::nullopt;
  size_t nz = digits.find_first_not_of('0');
  digits = nz == std::string::npos ? "0" : digits.substr(nz);
  if (digits.size() > 18) return std::nullopt;
  __int128 m = std::stoll(digits);
  int e = -static_cast<int>(q[3].str().size());
  bool negative = q[1].str() == "-";
  std::string suffix = q[4].str();
  static const std::pair<const char*, int> kBinary[] = {{"Ki", 1}, {"Mi", 2}, {"Gi", 3}, {"Ti", 4}, {"Pi", 5}, {"Ei", 6}};
  for (const auto& [name, k] : kBinary) {
    if (suffix != name) continue;
    for (int i = 0; i < k; ++i) m *= 1024;
    // An integer number of bytes of at least 1024 stays binary; anything else is DecimalSI.
    __int128 scale = 1;
    for (int i = e; i < 0; ++i) scale *= 10;
    if (m % scale == 0 && m / scale >= 1024 && m / scale <= static_cast<__int128>(INT64_MAX)) {
      int64_t bytes = static_cast<int64_t>(m / scale);
      if (bytes % 1024 != 0) return (negative ? "-" : "") + std::to_string(bytes);
      return (negative ? "-" : "") + kubernetesMemory(bytes);
    }
    return canonicalDecimal(m, e, negative);
  }
  static const std::pair<const char*, int> kDecimal[] = {{"n", -9}, {"u", -6}, {"m", -3}, {"", 0}, {"k", 3},
                                                         {"M", 6},  {"G", 9},  {"T", 12}, {"P", 15}, {"E", 18}};
  for (const auto& [name, exp] : kDecimal) {
    if (suffix == name) return canonicalDecimal(m, e + exp, negative);
  }
  return std::nullopt;
}

}  // namespace

Result<int64_t> memoryBytes(const std::string& text) {
  auto flinkSize = parseMemoryBytes(text);
  if (flinkSize.ok()) return flinkSize;
  if (auto q = kubernetesQuantityBytes(text)) return *q;
  return flinkSize.status();
}

std::string flinkMemory(int64_t bytes) {
  if (bytes > 0 && bytes % (1LL << 20) == 0) return std::to_string(bytes >> 20) + "m";
  if (bytes > 0 && bytes % (1LL << 10) == 0) return std::to_string(bytes >> 10) + "k";
  return std::to_string(bytes) + "b";
}

std::string kubernetesMemory(int64_t bytes) {
  static const char* kBinary[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  if (bytes >= 1024 && bytes % 1024 == 0) {
    int k = 0;
    while (k < 6 && bytes % 1024 == 0) {
      bytes /= 1024;
      ++k;
    }
    return std::to_string(bytes) + kBinary[k];
  }
  return canonicalDecimal(bytes < 0 ? -static_cast<__int128>(bytes) : bytes, 0, bytes < 0).value_or(std::to_string(bytes));
}

std::string kubernetesMemory(const std::string& text) {
  auto bytes = memoryBytes(text);
  if (!bytes.ok()) return text;
  return kubernetesMemory(*bytes);
}

std::string cpuQuantity(double cpu) {
  long long milli = std::llround(cpu * 1000.0);
  if (milli % 1000 == 0) return std::to_string(milli / 1000);
  return std::to_string(milli) + "m";
}

std::string quantityString(const std::string& resourceName, const json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (resourceName == "memory") return kubernetesMemory(s);
  return canonicalQuantity(s).value_or(s);
}

void canonicalizeResources(json& containers) {
  if (!containers.is_array()) return;
  for (auto& c : containers) {
    if (!c.is_object() || !c.contains("resources") || !c["resources"].is_object()) continue;
    for (const char* section : {"requests", "limits"}) {
      json& r = c["resources"][section];
      if (r.is_null()) {
        c["resources"].erase(section);
        continue;
      }
      if (!r.is_object()) continue;
      for (auto& [name, v] : r.items()) {
        std::string s = v.is_string() ? v.get<std::string>() : v.dump();
        v = canonicalQuantity(s).value_or(s);
      }
    }
  }
}

}  // namespace flink::k8s::detail
