#include "util.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <regex>

namespace kta {

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::time_t> parseRfc3339(const std::string& s) {
  std::tm tm{};
  int y, mo, d, h, mi, sec;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec) != 6) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  std::time_t t = timegm(&tm);
  // Offsets like +02:00 (the server itself always writes Z).
  auto tpos = s.find('T');
  auto off = s.find_first_of("+-", tpos == std::string::npos ? 0 : tpos);
  if (off != std::string::npos && off + 5 < s.size() + 1) {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + off + 1, "%d:%d", &oh, &om) == 2) t -= (s[off] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  return t;
}

std::string humanDuration(long long seconds) {
  auto f = [](const char* fmt, long long a, long long b = 0) {
    char buf[48];
    std::snprintf(buf, sizeof buf, fmt, a, b);
    return std::string(buf);
  };
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return f("%llds", seconds);
  long long minutes = seconds / 60;
  if (minutes < 10) return seconds % 60 == 0 ? f("%lldm", minutes) : f("%lldm%llds", minutes, seconds % 60);
  if (minutes < 180) return f("%lldm", minutes);
  long long hours = seconds / 3600;
  if (hours < 8) return minutes % 60 == 0 ? f("%lldh", hours) : f("%lldh%lldm", hours, minutes % 60);
  if (hours < 48) return f("%lldh", hours);
  if (hours < 24 * 8) return hours % 24 == 0 ? f("%lldd", hours / 24) : f("%lldd%lldh", hours / 24, hours % 24);
  if (hours < 24 * 365 * 2) return f("%lldd", hours / 24);
  if (hours < 24 * 365 * 8) {
    long long dy = (hours / 24) % 365;
    return dy == 0 ? f("%lldy", hours / 24 / 365) : f("%lldy%lldd", hours / 24 / 365, dy);
  }
  return f("%lldy", hours / 24 / 365);
}

std::string ageSince(const std::string& rfc3339) {
  auto t = parseRfc3339(rfc3339);
  if (!t) return "<unknown>";
  return humanDuration(static_cast<long long>(std::time(nullptr) - *t));
}

std::string randomHex(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  RAND_bytes(b.data(), static_cast<int>(b.size()));
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string newUid() {
  std::string h = randomHex(16);
  h[12] = '4';
  h[16] = "89ab"[h[16] % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

std::string randomNameSuffix() {
  static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  unsigned char b[5];
  RAND_bytes(b, sizeof b);
  std::string s;
  for (unsigned char c : b) s += alphabet[c % (sizeof alphabet - 1)];
  return s;
}

std::string base64Encode(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64Decode(const std::string& in) {
  std::string data;
  for (char c : in)
    if (!std::isspace(static_cast<unsigned char>(c))) data += c;
  if (data.size() % 4 != 0) return std::nullopt;
  std::string out(data.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  if (!data.empty() && data.back() == '=') --len;
  if (data.size() > 1 && data[data.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

namespace {

json scalarToJson(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str") return s;  // quoted
  static const std::regex intRe(R"([-+]?[0-9]+)"), hexRe(R"(0x[0-9a-fA-F]+)"), octRe(R"(0o[0-7]+)"),
      floatRe(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  try {
    if (std::regex_match(s, intRe)) return std::stoll(s);
    if (std::regex_match(s, hexRe)) return std::stoll(s.substr(2), nullptr, 16);
    if (std::regex_match(s, octRe)) return std::stoll(s.substr(2), nullptr, 8);
    if (std::regex_match(s, floatRe)) return std::stod(s);
  } catch (const std::exception&) {
    return s;  // out of range: keep the text
  }
  if (s == ".inf" || s == ".Inf" || s == "+.inf") return s;  // JSON has no infinity
  return s;
}

json nodeToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalarToJson(n);
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& e : n) a.push_back(nodeToJson(e));
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = nodeToJson(kv.second);
      return o;
    }
  }
  return nullptr;
}

}  // namespace

Result<json> parseYamlOrJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_discarded()) return j;
  try {
    return nodeToJson(YAML::Load(text));
  } catch (const std::exception& e) {
    return badRequest(std::string("error decoding YAML: ") + e.what());
  }
}

Result<std::vector<json>> parseYamlDocuments(const std::string& text) {
  try {
    std::vector<json> out;
    for (const auto& doc : YAML::LoadAll(text)) {
      json j = nodeToJson(doc);
      if (!j.is_null()) out.push_back(std::move(j));
    }
    return out;
  } catch (const std::exception& e) {
    return badRequest(std::string("error decoding YAML: ") + e.what());
  }
}

bool versionHigherPriority(const std::string& a, const std::string& b) {
  static const std::regex re(R"(v([0-9]+)(?:(alpha|beta)([0-9]+))?)");
  std::smatch ma, mb;
  bool ka = std::regex_match(a, ma, re), kb = std::regex_match(b, mb, re);
  if (ka != kb) return ka;
  if (!ka) return a < b;
  auto rank = [](const std::smatch& m) { return !m[2].matched ? 2 : (m[2] == "beta" ? 1 : 0); };
  int ra = rank(ma), rb = rank(mb);
  if (ra != rb) return ra > rb;
  long major_a = std::stol(ma[1]), major_b = std::stol(mb[1]);
  if (major_a != major_b) return major_a > major_b;
  long minor_a = ma[3].matched ? std::stol(ma[3]) : 0, minor_b = mb[3].matched ? std::stol(mb[3]) : 0;
  return minor_a > minor_b;
}

std::string validateDns1123Subdomain(const std::string& name) {
  static const std::regex re(R"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)");
  if (name.size() > 253) return "must be no more than 253 characters";
  if (!std::regex_match(name, re))
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
           "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
           "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  return "";
}

std::string validateDns1123Label(const std::string& name) {
  static const std::regex re(R"([a-z0-9]([-a-z0-9]*[a-z0-9])?)");
  if (name.size() > 63) return "must be no more than 63 characters";
  if (!std::regex_match(name, re))
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
           "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
           "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
  return "";
}

const json* lookupPath(const json& obj, const std::string& dotted) {
  const json* cur = &obj;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!key.empty()) {
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(key);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

void setPath(json& obj, const std::string& dotted, json value) {
  json* cur = &obj;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) {
      if (!cur->is_object()) *cur = json::object();
      (*cur)[key] = std::move(value);
      return;
    }
    if (!key.empty()) {
      if (!cur->is_object()) *cur = json::object();
      cur = &(*cur)[key];
    }
    start = dot + 1;
  }
}

}  // namespace kta
