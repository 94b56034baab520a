#include "openapi_validator.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>
#include <regex>
#include <set>
#include <utility>

#include <yaml-cpp/yaml.h>

namespace flinktest {
namespace {

using nlohmann::json;

// Max chain of schema hops ($ref, allOf, oneOf, discriminator) applied to one value. Descending
// into a child value restarts the count, so deep bodies (e.g. flame graphs) are fine, while a
// self-referencing $ref cycle that never consumes the body is stopped.
constexpr int kMaxDepth = 64;

// --- YAML -> JSON -------------------------------------------------------


// --- validation ------------------------------------------------------------

std::string childPointer(const std::string& ptr, const std::string& key) {
  std::string out = ptr + "/";
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string typeOf(const json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number_float()) return "number";
  return v.type_name();
}

bool hasType(const std::string& type, const json& v) {
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  return true;  // unknown type keyword: do not guess
}

// Flags that apply to one value only; child values always start with defaults.
struct Flags {
  bool skipDiscriminator = false;  // already dispatched, or inside an allOf part
  bool skipStrict = false;         // allOf part: strict check happens at the composing schema
};

class Walker {
 public:
  Walker(const json& spec, bool strict) : spec_(spec), strict_(strict) {}

  void validate(const json& schema, const json& value, const std::string& ptr, int depth, Flags flags) {
    if (depth > kMaxDepth) return fail(ptr, "too many schema hops for one value (cyclic $ref?)");
    if (!schema.is_object()) return;  // OpenAPI 3.0 has no boolean schemas; nothing to check
    if (auto ref = schema.find("$ref"); ref != schema.end()) {  // siblings of $ref are ignored in 3.0
      if (const json* target = resolve(*ref)) return validate(*target, value, ptr, depth + 1, flags);
      return fail(ptr, "unresolvable $ref " + ref->dump());
    }
    if (value.is_null() && schema.value("nullable", false)) return;
    if (!flags.skipDiscriminator && value.is_object() && dispatchDiscriminator(schema, value, ptr, depth, flags)) return;

    if (auto all = schema.find("allOf"); all != schema.end() && all->is_array())
      for (const json& part : *all) validate(part, value, ptr, depth + 1, Flags{true, true});
    for (const char* key : {"anyOf", "oneOf"})
      if (auto alts = schema.find(key); alts != schema.end() && alts->is_array()) checkAlternatives(key, *alts, value, ptr, depth, flags);

    if (auto type = schema.find("type"); type != schema.end() && type->is_string() && !hasType(type->get<std::string>(), value))
      return fail(ptr, "expected " + type->get<std::string>() + ", got " + typeOf(value));
    if (auto values = schema.find("enum"); values != schema.end() && values->is_array() &&
                                           std::find(values->begin(), values->end(), value) == values->end())
      fail(ptr, "value " + value.dump() + " is not one of " + values->dump());
    if (value.is_number_integer()) checkIntegerFormat(schema.value("format", ""), value, ptr);
    if (value.is_string()) checkPattern(schema, value.get<std::string>(), ptr);
    if (value.is_array()) {
      if (auto items = schema.find("items"); items != schema.end())
        for (std::size_t i = 0; i < value.size(); ++i) validate(*items, value[i], childPointer(ptr, std::to_string(i)), 0, {});
    }
    if (value.is_object()) checkObject(schema, value, ptr, depth, flags);
  }

  std::vector<std::string> errors;

 private:
  void fail(const std::string& ptr, const std::string& msg) { errors.push_back(ptr + ": " + msg); }

  const json* resolve(const json& ref) const {
    if (!ref.is_string()) return nullptr;
    const std::string& s = ref.get_ref<const std::string&>();
    if (s.empty() || s[0] != '#') return nullptr;  // only same-document refs
    try {
      const json::json_pointer pointer(s.substr(1));
      return spec_.contains(pointer) ? &spec_.at(pointer) : nullptr;
    } catch (const json::exception&) {
      return nullptr;
    }
  }

  const json& deref(const json& schema, int depth = 0) const {
    if (depth > kMaxDepth || !schema.is_object() || !schema.contains("$ref")) return schema;
    const json* target = resolve(schema["$ref"]);
    return target ? deref(*target, depth + 1) : schema;
  }

  // Validates against the mapped subtype instead of the base schema. Returns true if dispatched.
  bool dispatchDiscriminator(const json& schema, const json& value, const std::string& ptr, int depth, Flags flags) {
    auto disc = schema.find("discriminator");
    if (disc == schema.end() || !disc->is_object()) return false;
    const std::string prop = disc->value("propertyName", "");
    auto tag = value.find(prop);
    if (tag == value.end() || !tag->is_string()) return false;  // base validation reports it if required
    const std::string name = tag->get<std::string>();
    std::string ref = "#/components/schemas/" + name;  // implicit mapping: the schema name itself
    if (auto mapping = disc->find("mapping"); mapping != disc->end() && mapping->contains(name) && (*mapping)[name].is_string())
      ref = (*mapping)[name].get<std::string>();
    const json* target = resolve(ref);
    if (!target) {
      fail(childPointer(ptr, prop), "discriminator value \"" + name + "\" maps to no schema");
      return true;
    }
    flags.skipDiscriminator = true;
    validate(*target, value, ptr, depth + 1, flags);
    return true;
  }

  void checkAlternatives(const std::string& key, const json& alts, const json& value, const std::string& ptr, int depth, Flags flags) {
    std::string why;
    for (std::size_t i = 0; i < alts.size(); ++i) {
      Walker sub(spec_, strict_);
      sub.validate(alts[i], value, ptr, depth + 1, Flags{false, flags.skipStrict});
      if (sub.errors.empty()) return;
      why += (i ? "; #" : " (#") + std::to_string(i) + ": " + sub.errors.front();
    }
    fail(ptr, "matches none of the " + key + " alternatives" + why + ")");
  }

  void checkIntegerFormat(const std::string& format, const json& value, const std::string& ptr) {
    const bool fitsInt64 = !value.is_number_unsigned() || value.get<std::uint64_t>() <= std::numeric_limits<std::int64_t>::max();
    const bool ok = format == "int32"   ? fitsInt64 && value.get<std::int64_t>() >= std::numeric_limits<std::int32_t>::min() &&
                                            value.get<std::int64_t>() <= std::numeric_limits<std::int32_t>::max()
                    : format == "int64" ? fitsInt64
                                        : true;
    if (!ok) fail(ptr, "value " + value.dump() + " out of range for format " + format);
  }

  void checkPattern(const json& schema, const std::string& s, const std::string& ptr) {
    auto pattern = schema.find("pattern");
    if (pattern == schema.end() || !pattern->is_string()) return;
    try {
      if (!std::regex_search(s, std::regex(pattern->get<std::string>(), std::regex::ECMAScript)))
        fail(ptr, "\"" + s + "\" does not match pattern " + pattern->dump());
    } catch (const std::regex_error&) {
      fail(ptr, "schema has invalid pattern " + pattern->dump());
    }
  }

  // Property names declared by the schema itself and by its allOf parts.
  void collectDeclared(const json& schema, std::set<std::string>& out, int depth) const {
    const json& s = deref(schema);
    if (depth > kMaxDepth || !s.is_object()) return;
    if (auto props = s.find("properties"); props != s.end() && props->is_object())
      for (const auto& [name, _] : props->items()) out.insert(name);
    if (auto all = s.find("allOf"); all != s.end() && all->is_array())
      for (const json& part : *all) collectDeclared(part, out, depth + 1);
  }

  void checkObject(const json& schema, const json& value, const std::string& ptr, int depth, Flags flags) {
    if (auto required = schema.find("required"); required != schema.end() && required->is_array())
      for (const json& name : *required)
        if (name.is_string() && !value.contains(name.get<std::string>())) fail(ptr, "missing required property \"" + name.get<std::string>() + "\"");

    const json* props = schema.contains("properties") && schema["properties"].is_object() ? &schema["properties"] : nullptr;
    const auto additional = schema.find("additionalProperties");
    std::set<std::string> declared;
    const bool strictHere = strict_ && !flags.skipStrict && additional == schema.end();
    if (strictHere) collectDeclared(schema, declared, depth);

    for (const auto& [key, member] : value.items()) {
      const std::string where = childPointer(ptr, key);
      if (props && props->contains(key)) {
        validate((*props)[key], member, where, 0, {});
      } else if (additional != schema.end()) {
        if (additional->is_object()) validate(*additional, member, where, 0, {});
        else if (additional->is_boolean() && !additional->get<bool>()) fail(where, "property not allowed by schema");
      } else if (strictHere && !declared.empty() && !declared.count(key)) {
        fail(where, "property not declared by schema (strict mode)");
      }
    }
  }

  const json& spec_;
  const bool strict_;
};

}  // namespace

// Plain scalars follow the YAML 1.2 core schema; quoted or tagged ones stay strings.
json scalarToJson(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() != "?") return s;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  const bool numeric = std::any_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
                       s.find_first_not_of("0123456789+-.eE") == std::string::npos;
  if (!numeric) return s;
  const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
  const char* end = s.data() + s.size();
  if (std::int64_t i = 0; std::from_chars(begin, end, i).ptr == end) return i;
  if (std::uint64_t u = 0; std::from_chars(begin, end, u).ptr == end) return u;
  if (double d = 0; std::from_chars(begin, end, d).ptr == end) return d;
  return s;
}

json yamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return scalarToJson(node);
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(yamlToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) out[kv.first.Scalar()] = yamlToJson(kv.second);
      return out;
    }
    default:
      return nullptr;
  }
}

std::optional<OpenApiValidator> OpenApiValidator::load(const std::string& path, std::string* error) {
  auto failWith = [&](const std::string& msg) -> std::optional<OpenApiValidator> {
    if (error) *error = path + ": " + msg;
    return std::nullopt;
  };
  json doc;
  try {
    doc = yamlToJson(YAML::LoadFile(path));
  } catch (const std::exception& e) {  // YAML::BadFile, YAML::ParserException, ...
    return failWith(e.what());
  }
  if (!doc.is_object() || !doc.contains("openapi") || !doc["openapi"].is_string() ||
      doc["openapi"].get<std::string>().rfind("3.", 0) != 0)
    return failWith("not an OpenAPI 3.x document (missing or unsupported \"openapi\" version)");
  if (!doc.contains("paths") || !doc["paths"].is_object()) return failWith("OpenAPI document has no \"paths\" map");
  return OpenApiValidator(std::move(doc));
}

std::vector<std::string> OpenApiValidator::validateResponse(const std::string& pathTemplate, const std::string& method,
                                                            const std::string& status, const json& body,
                                                            bool strict) const {
  std::string verb = method;
  std::transform(verb.begin(), verb.end(), verb.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::string what = verb + " " + pathTemplate;
  const json& paths = spec_["paths"];
  if (!paths.contains(pathTemplate)) return {": unknown path \"" + pathTemplate + "\""};
  const json& op = paths[pathTemplate];
  if (!op.contains(verb) || !op[verb].is_object()) return {": no operation " + what};
  const json& operation = op[verb];
  if (!operation.contains("responses") || !operation["responses"].contains(status))
    return {": no response \"" + status + "\" declared for " + what};
  const json& response = operation["responses"][status];
  const json::json_pointer schemaPtr("/content/application~1json/schema");
  if (!response.is_object() || !response.contains(schemaPtr)) {
    if (body.is_null() || (body.is_object() && body.empty())) return {};
    return {": " + what + " " + status + " declares no application/json body, got " + body.dump()};
  }
  return validateAgainst(response[schemaPtr], body, strict);
}

std::vector<std::string> OpenApiValidator::validateSchema(const std::string& componentName, const json& body,
                                                          bool strict) const {
  const json::json_pointer schemasPtr("/components/schemas");
  if (!spec_.contains(schemasPtr) || !spec_[schemasPtr].contains(componentName))
    return {": unknown component schema \"" + componentName + "\""};
  return validateAgainst(spec_[schemasPtr][componentName], body, strict);
}

std::vector<std::string> OpenApiValidator::validateAgainst(const json& schema, const json& body, bool strict) const {
  Walker walker(spec_, strict);
  walker.validate(schema, body, "", 0, {});
  return std::move(walker.errors);
}

}  // namespace flinktest
