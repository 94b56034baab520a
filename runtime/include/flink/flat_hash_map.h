// An open-addressing hash map for operator state on the hot path (window slices).
//
// Linear probing over one array of slots (key, value, used flag), capacity a power of two, at
// most 70 % full. The slot index is the top bits of the key's 32-bit hash, salted per map and
// mixed by multiplications (Fibonacci hashing, Knuth, TAOCP vol. 3, 6.4, plus a xor-shift). No erase: state is dropped a whole map at
// a time. Compared with std::unordered_map: no allocation per entry, one cache miss per lookup
// in the common case, and copying a map of trivially copyable entries is one memcpy (what the
// copy-on-write snapshots of the WindowOperator rely on).
//
// Requirements: K and V default-constructible and copyable; Hash()(key) returns an integer;
// K has operator==. Iteration order is the slot order (unspecified, stable while the map is
// not modified). Pointers to values stay valid until the next insertion. Not thread-safe; a
// const map may be read by several threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace flink::detail {

template <class K, class V, class Hash>
class FlatHashMap {
 public:
  FlatHashMap() = default;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  /// Number of slots (0 before the first insertion).
  size_t capacity() const { return slots_.size(); }

  /// The value of `key`, inserting a default-constructed V when absent; second: whether it
  /// was inserted.
  std::pair<V*, bool> tryEmplace(const K& key) {
    if ((size_ + 1) * 10 > slots_.size() * 7) grow();
    size_t i = indexOf(key);
    for (;;) {
      Slot& s = slots_[i];
      if (!s.used) {
        s.used = true;
        s.key = key;
        s.value = V{};
        ++size_;
        return {&s.value, true};
      }
      if (s.key == key) return {&s.value, false};
      i = (i + 1) & mask_;
    }
  }

  /// The value of `key`, or nullptr.
  const V* find(const K& key) const {
    if (size_ == 0) return nullptr;
    for (size_t i = indexOf(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.key == key) return &s.value;
    }
  }

  /// Calls f(const K&, const V&) for every entry.
  template <class F>
  void forEach(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.used) f(s.key, s.value);
    }
  }

  /// Ensures `n` entries fit without rehashing.
  void reserve(size_t n) {
    size_t cap = 16;
    while (n * 10 > cap * 7) cap *= 2;
    if (cap > slots_.size()) rehash(cap);
  }

  /// Removes every entry, keeping the slots' memory.
  void clear() {
    for (Slot& s : slots_) s.used = false;
    size_ = 0;
  }

 private:
  struct Slot {
    K key{};
    V value{};
    bool used = false;
  };

  size_t indexOf(const K& key) const {
    uint64_t h = (static_cast<uint64_t>(Hash()(key)) ^ seed_) * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>((h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ull >> shift_);
  }

  /// A different slot order per map: inserting one map's entries in its slot order into
  /// another map would otherwise fill the target's slots front to back and build long probe
  /// runs (a known trap of linear probing with a shared hash function).
  static uint64_t nextSeed() {
    static std::atomic<uint64_t> counter{0};
    return (counter.fetch_add(1, std::memory_order_relaxed) + 1) * 0xD6E8FEB86659FD93ull;
  }

  void grow() { rehash(slots_.empty() ? 16 : slots_.size() * 2); }

  void rehash(size_t capacity) {
    std::vector<Slot> old(capacity);
    old.swap(slots_);
    mask_ = capacity - 1;
    shift_ = 64;
    for (size_t c = capacity; c > 1; c >>= 1) --shift_;
    for (Slot& s : old) {
      if (!s.used) continue;
      size_t i = indexOf(s.key);
      while (slots_[i].used) i = (i + 1) & mask_;
      slots_[i] = std::move(s);
    }
  }

  std::vector<Slot> slots_;
  uint64_t seed_ = nextSeed();  // copied with the slots: a copy has the same layout
  size_t size_ = 0;
  size_t mask_ = 0;
  int shift_ = 64;
};

}  // namespace flink::detail
