// API errors as values: ApiError carries what a Kubernetes meta/v1 Status says (code, reason,
// message, details) and Result<T> is "a T or an ApiError". statusJson renders the Status object
// exactly as the real API server words it (e.g. `configmaps "x" not found`).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace kta {

using json = nlohmann::json;

struct ApiError {
  int code = 500;
  std::string reason;   // NotFound, AlreadyExists, Conflict, Invalid, Expired, ...
  std::string message;
  json details;         // {name, group, kind, causes: [...]} or null
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit on purpose
  Result(ApiError error) : v_(std::move(error)) {}     // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const ApiError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ApiError> v_;
};

/// Result without a value.
struct Ok {};
using Status = Result<Ok>;

/// meta/v1 Status object for an error.
json statusJson(const ApiError& e);
/// meta/v1 Status object for a success (used by DELETE of collections).
json successStatus(const json& details = nullptr);

// Constructors in the real server's wording. `resource` is the plural ("deployments"),
// `group` may be empty for the core group.
ApiError notFound(const std::string& group, const std::string& resource, const std::string& name);
ApiError alreadyExists(const std::string& group, const std::string& resource, const std::string& name);
ApiError conflict(const std::string& group, const std::string& resource, const std::string& name,
                  const std::string& why = "the object has been modified; please apply your changes to the latest version and try again");
/// 422 from field errors worded "path: Invalid value: ...": `kind` is the Kind ("FlinkDeployment").
ApiError invalid(const std::string& group, const std::string& kind, const std::string& name,
                 const std::vector<std::string>& fieldErrors);
ApiError badRequest(const std::string& message);
ApiError forbidden(const std::string& message);
ApiError methodNotAllowed(const std::string& message);
ApiError unsupportedMediaType(const std::string& message);
ApiError gone(const std::string& message);
ApiError unauthorized();
ApiError internalError(const std::string& message);

}  // namespace kta
