// Binary serialization of records for the network exchange and for state snapshots, and the
// stable key hashing behind key groups.
//
// Supported types out of the box: arithmetic types, std::string, std::pair, std::tuple,
// std::vector, std::optional, and any struct that exposes its fields as a tuple of references:
//
//   struct Flight {
//     int64_t time; std::string origin; int32_t delay;
//     auto fields() { return std::tie(time, origin, delay); }
//     auto fields() const { return std::tie(time, origin, delay); }
//   };
//
// Encoding: little-endian fixed-width integers, strings as u32 length + bytes. The encoding
// is the same on every process of one build; it is not a long-term storage format.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace flink {

/// Appends bytes to a growable buffer. Not thread-safe.
class DataOutputView {
 public:
  explicit DataOutputView(std::vector<uint8_t>* buf) : buf_(buf) {}
  void write(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    buf_->insert(buf_->end(), p, p + n);
  }
  template <class T>
  void writePod(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    size_t old = buf_->size();
    buf_->resize(old + sizeof(T));
    std::memcpy(buf_->data() + old, &v, sizeof(T));
  }
  /// Zigzag LEB128, as protobuf's sint64: 1 byte for -64..63, at most 10.
  void writeVarint(int64_t v) {
    auto z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
    uint8_t tmp[10];
    size_t n = 0;
    while (z >= 0x80) {
      tmp[n++] = static_cast<uint8_t>(z | 0x80);
      z >>= 7;
    }
    tmp[n++] = static_cast<uint8_t>(z);
    write(tmp, n);
  }
  size_t size() const { return buf_->size(); }

 private:
  std::vector<uint8_t>* buf_;
};

/// Thrown by DataInputView when a buffer ends early: a corrupt or truncated frame.
struct SerializationError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Reads bytes from a fixed region. Not thread-safe.
class DataInputView {
 public:
  DataInputView(const uint8_t* data, size_t n) : p_(data), end_(data + n) {}
  template <class T>
  T readPod() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  std::string_view readBytes(size_t n) {
    need(n);
    std::string_view v(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return v;
  }
  /// Reads what DataOutputView::writeVarint wrote; SerializationError when truncated or longer
  /// than 10 bytes.
  int64_t readVarint() {
    uint64_t z = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      need(1);
      uint8_t b = *p_++;
      z |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (b < 0x80) return static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
    }
    throw SerializationError("malformed varint");
  }
  bool atEnd() const { return p_ >= end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

 private:
  void need(size_t n) const {
    if (static_cast<size_t>(end_ - p_) < n) throw SerializationError("truncated buffer");
  }
  const uint8_t* p_;
  const uint8_t* end_;
};

template <class T, class = void>
struct TypeSerializer;  // specialise for your own types, or give the type a fields() method

template <class T>
struct TypeSerializer<T, std::enable_if_t<std::is_arithmetic_v<T> || std::is_enum_v<T>>> {
  static void serialize(const T& v, DataOutputView& out) { out.writePod(v); }
  static void deserialize(T& v, DataInputView& in) { v = in.readPod<T>(); }
};

/// State encoding that writes integers as zigzag varints (small ids and counts in 1-4 bytes
/// instead of 8) and everything else as TypeSerializer does. For operator state snapshots.
template <class T>
struct CompactSerializer {
  static void serialize(const T& v, DataOutputView& out) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> && sizeof(T) <= 8) {
      out.writeVarint(static_cast<int64_t>(v));
    } else {
      TypeSerializer<T>::serialize(v, out);
    }
  }
  static void deserialize(T& v, DataInputView& in) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> && sizeof(T) <= 8) {
      v = static_cast<T>(in.readVarint());
    } else {
      TypeSerializer<T>::deserialize(v, in);
    }
  }
};

template <>
struct TypeSerializer<std::string> {
  static void serialize(const std::string& v, DataOutputView& out) {
    out.writePod(static_cast<uint32_t>(v.size()));
    out.write(v.data(), v.size());
  }
  static void deserialize(std::string& v, DataInputView& in) {
    auto n = in.readPod<uint32_t>();
    v.assign(in.readBytes(n));
  }
};

template <class A, class B>
struct TypeSerializer<std::pair<A, B>> {
  static void serialize(const std::pair<A, B>& v, DataOutputView& out) {
    TypeSerializer<std::remove_cv_t<A>>::serialize(v.first, out);
    TypeSerializer<B>::serialize(v.second, out);
  }
  static void deserialize(std::pair<A, B>& v, DataInputView& in) {
    TypeSerializer<std::remove_cv_t<A>>::deserialize(const_cast<std::remove_cv_t<A>&>(v.first), in);
    TypeSerializer<B>::deserialize(v.second, in);
  }
};

template <class... Ts>
struct TypeSerializer<std::tuple<Ts...>> {
  static void serialize(const std::tuple<Ts...>& v, DataOutputView& out) {
    std::apply([&](const auto&... f) { (TypeSerializer<std::decay_t<decltype(f)>>::serialize(f, out), ...); }, v);
  }
  static void deserialize(std::tuple<Ts...>& v, DataInputView& in) {
    std::apply([&](auto&... f) { (TypeSerializer<std::decay_t<decltype(f)>>::deserialize(f, in), ...); }, v);
  }
};

template <class T>
struct TypeSerializer<std::vector<T>> {
  static void serialize(const std::vector<T>& v, DataOutputView& out) {
    out.writePod(static_cast<uint32_t>(v.size()));
    for (const auto& e : v) TypeSerializer<T>::serialize(e, out);
  }
  static void deserialize(std::vector<T>& v, DataInputView& in) {
    auto n = in.readPod<uint32_t>();
    // Every element takes at least one byte: a larger count is a corrupt buffer.
    if (n > in.remaining()) throw SerializationError("vector length exceeds the buffer");
    v.clear();
    v.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      T e{};
      TypeSerializer<T>::deserialize(e, in);
      v.push_back(std::move(e));
    }
  }
};

template <class T>
struct TypeSerializer<std::optional<T>> {
  static void serialize(const std::optional<T>& v, DataOutputView& out) {
    out.writePod(static_cast<uint8_t>(v.has_value()));
    if (v) TypeSerializer<T>::serialize(*v, out);
  }
  static void deserialize(std::optional<T>& v, DataInputView& in) {
    if (in.readPod<uint8_t>()) {
      v.emplace();
      TypeSerializer<T>::deserialize(*v, in);
    } else {
      v.reset();
    }
  }
};

/// Structs that expose `fields()` as a tuple of references.
template <class T>
struct TypeSerializer<T, std::void_t<decltype(std::declval<T&>().fields())>> {
  static void serialize(const T& v, DataOutputView& out) {
    std::apply([&](const auto&... f) { (TypeSerializer<std::decay_t<decltype(f)>>::serialize(f, out), ...); },
               v.fields());
  }
  static void deserialize(T& v, DataInputView& in) {
    std::apply([&](auto&... f) { (TypeSerializer<std::decay_t<decltype(f)>>::deserialize(f, in), ...); },
               v.fields());
  }
};

// ---- Stable key hashing and key groups -------------------------------------------------

/// MurmurHash3 x86_32 (Austin Appleby, public domain algorithm) over bytes.
uint32_t murmur3_32(const void* data, size_t len, uint32_t seed = 0);
/// MurmurHash3's 32-bit finalizer; spreads an int hash, as Flink's MathUtils.murmurHash does.
inline uint32_t murmurMix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bU;
  h ^= h >> 13;
  h *= 0xc2b2ae35U;
  h ^= h >> 16;
  return h;
}

/// Stable hash of a key: identical in every process and every run (std::hash is not promised
/// to be). Specialise for your own key types, or give them fields().
template <class T, class = void>
struct KeyHash;

namespace detail {
template <class T, bool = std::is_enum_v<T>>
struct IntegralOf {
  using type = T;
};
template <class T>
struct IntegralOf<T, true> {
  using type = std::underlying_type_t<T>;
};
}  // namespace detail

template <class T>
struct KeyHash<T, std::enable_if_t<std::is_integral_v<T> || std::is_enum_v<T>>> {
  uint32_t operator()(T v) const {
    // Through the unsigned type of the same width, so that negative values do not sign-extend.
    auto x = static_cast<uint64_t>(static_cast<std::make_unsigned_t<typename detail::IntegralOf<T>::type>>(v));
    return static_cast<uint32_t>(x ^ (x >> 32));
  }
};
template <>
struct KeyHash<std::string> {
  uint32_t operator()(const std::string& v) const { return murmur3_32(v.data(), v.size()); }
};
template <class... Ts>
struct KeyHash<std::tuple<Ts...>> {
  uint32_t operator()(const std::tuple<Ts...>& v) const {
    uint32_t h = 17;
    std::apply([&](const auto&... f) { ((h = h * 31 + KeyHash<std::decay_t<decltype(f)>>()(f)), ...); }, v);
    return h;
  }
};
template <class A, class B>
struct KeyHash<std::pair<A, B>> {
  uint32_t operator()(const std::pair<A, B>& v) const {
    return KeyHash<std::remove_cv_t<A>>()(v.first) * 31 + KeyHash<B>()(v.second);
  }
};

/// Key groups as in Flink's KeyGroupRangeAssignment: a key belongs to key group
/// murmur(hash) % maxParallelism, and key group g is owned by operator subtask
/// g * parallelism / maxParallelism. Requires 0 < parallelism <= maxParallelism.
inline int assignToKeyGroup(uint32_t keyHash, int maxParallelism) {
  return static_cast<int>(murmurMix(keyHash) % static_cast<uint32_t>(maxParallelism));
}
inline int operatorIndexForKeyGroup(int keyGroup, int maxParallelism, int parallelism) {
  return static_cast<int>(static_cast<int64_t>(keyGroup) * parallelism / maxParallelism);
}
/// First and last (inclusive) key group owned by subtask `index`.
inline std::pair<int, int> keyGroupRange(int index, int maxParallelism, int parallelism) {
  int start = static_cast<int>((static_cast<int64_t>(index) * maxParallelism + parallelism - 1) / parallelism);
  int end = static_cast<int>((static_cast<int64_t>(index + 1) * maxParallelism - 1) / parallelism);
  return {start, end};
}

}  // namespace flink
