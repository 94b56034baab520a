// Pod addresses: 198.18.0.0/15 (RFC 2544 benchmarking range), the bridge is 198.18.0.1 and
// pods get the lowest free address from 198.18.0.2 up to 198.19.255.254.
// AddressPool is thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace kubelet {

inline constexpr const char* kBridgeIP = "198.18.0.1";
inline constexpr int kPrefixLength = 15;

/// "a.b.c.d" of a host-order IPv4 address.
std::string formatIPv4(uint32_t address);
/// Host-order address of "a.b.c.d"; nullopt when malformed.
std::optional<uint32_t> parseIPv4(const std::string& text);
/// True when text is an address in 198.18.0.0/15.
bool inPodRange(const std::string& text);

class AddressPool {
 public:
  /// The lowest free address; nullopt when all 131069 are taken.
  std::optional<std::string> allocate();
  /// Returns an address to the pool (unknown addresses are ignored).
  void release(const std::string& address);
  size_t inUse() const;

 private:
  mutable std::mutex mu_;
  std::set<uint32_t> used_;
};

}  // namespace kubelet
