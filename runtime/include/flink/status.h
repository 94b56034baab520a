// Errors as values for everything the outside world can cause (bad input, lost peers, I/O).
// A broken invariant inside the runtime is a bug and aborts instead.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace flink {

/// Outcome of an operation: ok, or an error message meant for a human (it names the
/// file, field or peer involved). Cheap to copy when ok. Not thread-safe to mutate.
class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message), true); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }
  /// Prefixes the message with context, e.g. "manifest.yaml: " + message.
  Status withContext(const std::string& context) const {
    return ok() ? *this : Error(context + ": " + message_);
  }

 private:
  Status(std::string message, bool failed) : message_(std::move(message)), failed_(failed) {}
  std::string message_;
  bool failed_ = false;
};

/// A value or an error Status (a small std::expected for C++20).
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status error) : v_(std::move(error)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace flink
