#include "errors.h"

namespace kta {
namespace {

std::string qualified(const std::string& group, const std::string& resource) {
  return group.empty() ? resource : resource + "." + group;
}

json detailsFor(const std::string& group, const std::string& kind, const std::string& name) {
  json d = json::object();
  if (!name.empty()) d["name"] = name;
  if (!group.empty()) d["group"] = group;
  d["kind"] = kind;
  return d;
}

// Maps the wording of a field error to the CauseType the API server reports.
std::string causeReason(const std::string& message) {
  static const std::pair<const char*, const char*> kinds[] = {
      {"Required value", "FieldValueRequired"},     {"Unsupported value", "FieldValueNotSupported"},
      {"Duplicate value", "FieldValueDuplicate"},   {"Forbidden", "FieldValueForbidden"},
      {"Too long", "FieldValueTooLong"},            {"Too many", "FieldValueTooMany"},
      {"Not found", "FieldValueNotFound"},          {"Invalid value", "FieldValueInvalid"}};
  for (const auto& [text, reason] : kinds)
    if (message.rfind(text, 0) == 0) return reason;
  return "FieldValueInvalid";
}

}  // namespace

json statusJson(const ApiError& e) {
  json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"status", "Failure"},
            {"message", e.message}, {"reason", e.reason}, {"code", e.code}};
  if (!e.details.is_null()) s["details"] = e.details;
  return s;
}

json successStatus(const json& details) {
  json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"status", "Success"}};
  if (!details.is_null()) s["details"] = details;
  return s;
}

ApiError notFound(const std::string& group, const std::string& resource, const std::string& name) {
  return {404, "NotFound", qualified(group, resource) + " \"" + name + "\" not found", detailsFor(group, resource, name)};
}

ApiError alreadyExists(const std::string& group, const std::string& resource, const std::string& name) {
  return {409, "AlreadyExists", qualified(group, resource) + " \"" + name + "\" already exists",
          detailsFor(group, resource, name)};
}

ApiError conflict(const std::string& group, const std::string& resource, const std::string& name, const std::string& why) {
  return {409, "Conflict", "Operation cannot be fulfilled on " + qualified(group, resource) + " \"" + name + "\": " + why,
          detailsFor(group, resource, name)};
}

ApiError invalid(const std::string& group, const std::string& kind, const std::string& name,
                 const std::vector<std::string>& fieldErrors) {
  json causes = json::array();
  for (const auto& fe : fieldErrors) {
    auto colon = fe.find(": ");
    std::string field = colon == std::string::npos ? "" : fe.substr(0, colon);
    std::string msg = colon == std::string::npos ? fe : fe.substr(colon + 2);
    causes.push_back({{"reason", causeReason(msg)}, {"message", msg}, {"field", field}});
  }
  std::string what = (group.empty() ? kind : kind + "." + group) + " \"" + name + "\" is invalid: ";
  if (fieldErrors.size() == 1) {
    what += fieldErrors[0];
  } else {
    what += "[";
    for (size_t i = 0; i < fieldErrors.size(); ++i) what += (i ? ", " : "") + fieldErrors[i];
    what += "]";
  }
  json d = detailsFor(group, kind, name);
  d["causes"] = causes;
  return {422, "Invalid", what, d};
}

ApiError badRequest(const std::string& message) { return {400, "BadRequest", message, nullptr}; }
ApiError forbidden(const std::string& message) { return {403, "Forbidden", message, nullptr}; }
ApiError methodNotAllowed(const std::string& message) { return {405, "MethodNotAllowed", message, nullptr}; }
ApiError unsupportedMediaType(const std::string& message) { return {415, "UnsupportedMediaType", message, nullptr}; }
ApiError gone(const std::string& message) { return {410, "Expired", message, nullptr}; }
ApiError unauthorized() { return {401, "Unauthorized", "Unauthorized", nullptr}; }
ApiError internalError(const std::string& message) { return {500, "InternalError", message, nullptr}; }

}  // namespace kta
