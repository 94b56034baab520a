#include "addresses.h"

#include <cstdio>

namespace kubelet {

namespace {
constexpr uint32_t kBase = (198u << 24) | (18u << 16);  // 198.18.0.0
constexpr uint32_t kFirst = kBase + 2;
constexpr uint32_t kLast = kBase + (1u << 17) - 2;  // 198.19.255.254
}  // namespace

std::string formatIPv4(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." + std::to_string((a >> 8) & 255) + "." +
         std::to_string(a & 255);
}

std::optional<uint32_t> parseIPv4(const std::string& text) {
  unsigned p[4];
  char tail;
  if (std::sscanf(text.c_str(), "%u.%u.%u.%u%c", &p[0], &p[1], &p[2], &p[3], &tail) != 4) return std::nullopt;
  uint32_t a = 0;
  for (unsigned v : p) {
    if (v > 255) return std::nullopt;
    a = (a << 8) | v;
  }
  return a;
}

bool inPodRange(const std::string& text) {
  auto a = parseIPv4(text);
  return a && (*a >> 17) == (kBase >> 17);
}

std::optional<std::string> AddressPool::allocate() {
  std::lock_guard<std::mutex> lock(mu_);
  uint32_t candidate = kFirst;
  for (uint32_t u : used_) {
    if (u != candidate) break;
    ++candidate;
  }
  if (candidate > kLast) return std::nullopt;
  used_.insert(candidate);
  return formatIPv4(candidate);
}

void AddressPool::release(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto a = parseIPv4(address)) used_.erase(*a);
}

size_t AddressPool::inUse() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_.size();
}

}  // namespace kubelet
