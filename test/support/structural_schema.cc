// Validation and pruning of custom resources against a CRD's structural schema, as the
// Kubernetes API server does (k8s.io/apiextensions-apiserver: pruning, then OpenAPI v3 value
// validation with go-openapi's messages wrapped in field errors).
//
// Behaviour, per schema node:
//  * type: object, array, string, integer, number, boolean. A mismatch is reported as
//      <path>: Invalid value: "<actual type>": <path> in body must be of type <type>: "<actual type>"
//    and the value is not looked into further. An integer-valued number passes as integer and
//    any integer passes as number.
//  * x-kubernetes-int-or-string: the value must be an integer or a string (type "integer,string").
//  * properties / additionalProperties (schema, true or false) / x-kubernetes-preserve-unknown-fields:
//    a known property is validated against its schema; any other key goes to additionalProperties
//    if it is a schema, is kept unvalidated if additionalProperties is true or the node preserves
//    unknown fields, and is pruned otherwise (no error). An object value whose schema says nothing
//    about its keys is pruned to {} (Kubernetes prunes against a missing schema). As in
//    Kubernetes, preserving an array's unknown fields preserves its items' unknown fields too,
//    and the items of a preserving array without an items schema are kept as they are.
//  * null: allowed where nullable is true. A non-nullable null property or map value is dropped
//    (Kubernetes prunes non-nullable nulls before validation); elsewhere (array items, the
//    root) it is a type error.
//  * required: "<path>.<name>: Required value" for each missing (or dropped) property.
//  * items (one schema; an array of schemas uses the first), enum ("Unsupported value: ...:
//    supported values: ..."), minimum/maximum with exclusiveMinimum/exclusiveMaximum,
//    pattern (ECMAScript, unanchored search as Go's regexp.MatchString; strings longer than
//    kMaxPatternInput are not matched, to bound the recursion of std::regex), format int32 and
//    int64 (integer range), minLength/maxLength, minItems/maxItems, uniqueItems,
//    minProperties/maxProperties, and the value validations allOf/anyOf/oneOf/not (checked
//    without pruning).
//  * At the root, apiVersion and kind must be strings and metadata an object; they are kept
//    as given whatever the schema says. The same holds for the three fields of a node with
//    x-kubernetes-embedded-resource: true.
// Paths are dotted, with [i] for array items and map keys appended with a dot, as the API server
// prints them: spec.job.args[0], spec.flinkConfiguration.key. The root itself is "<root>".
//
// Defaults (`default`) are not applied. Never throws: an unexpected exception becomes one error.
#include "structural_schema.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace flinktest {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxPatternInput = 4096;
constexpr int kMaxDepth = 256;  // nesting bound: deeper values are reported, not recursed into

const json kEmptySchema = json::object();

std::string quote(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string typeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    case json::value_t::string: return "string";
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    default: return "unknown";
  }
}

bool isIntegral(const json& v) {
  if (v.is_number_integer()) return true;  // also unsigned
  if (v.is_number_float()) {
    double d = v.get<double>();
    return std::isfinite(d) && std::floor(d) == d;
  }
  return false;
}

bool flag(const json& schema, const char* key) {
  auto it = schema.find(key);
  return it != schema.end() && it->is_boolean() && it->get<bool>();
}

const json* member(const json& schema, const char* key) {
  if (!schema.is_object()) return nullptr;
  auto it = schema.find(key);
  return it == schema.end() ? nullptr : &*it;
}

std::string display(const std::string& path) { return path.empty() ? "<root>" : path; }

// "<path> in body ..." as go-openapi words it ("body ..." at the root).
std::string inBody(const std::string& path) { return path.empty() ? "body" : path + " in body"; }

std::string formatNumber(const json& n) { return quote(n); }

// Compiled patterns, shared by all calls (and threads).
class RegexCache {
 public:
  // Returns null for a pattern std::regex cannot compile (then the pattern is not checked).
  std::shared_ptr<const std::regex> get(const std::string& pattern) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cache_.find(pattern);
    if (it != cache_.end()) return it->second;
    std::shared_ptr<const std::regex> re;
    try {
      re = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
    } catch (const std::exception&) {
      re = nullptr;
    }
    if (cache_.size() > 1024) cache_.clear();
    cache_.emplace(pattern, re);
    return re;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const std::regex>> cache_;
};

RegexCache& regexCache() {
  static RegexCache* cache = new RegexCache();  // never destroyed: usable from any thread at exit
  return *cache;
}

class Validator {
 public:
  explicit Validator(std::vector<std::string>& errors) : errors_(errors) {}

  // Validates `value` at `path` against `schema`; if `out` is not null, stores the pruned value
  // there. `path` is restored before returning.
  // `preserveInherited`: the value is an item of an array whose node preserves unknown fields,
  // which Kubernetes applies to the items too (skipPrune), though not to their properties.
  void walk(const json& schema, const json& value, std::string& path, json* out, int depth,
            bool preserveInherited = false) {
    const json& s = schema.is_object() ? schema : kEmptySchema;
    if (depth > kMaxDepth) {
      add(display(path) + ": Invalid value: \"" + typeName(value) + "\": " + inBody(path) + " is nested too deeply");
      if (out) *out = value;
      return;
    }

    if (value.is_null()) {
      // Only reached for the root, array items and composite branches: properties and map
      // values with null are handled (dropped) by the object walk.
      if (!flag(s, "nullable") && !allowsAnyType(s)) typeError(s, value, path);
      if (out) *out = value;
      return;
    }

    if (!checkType(s, value, path)) {
      if (out) *out = value;
      return;
    }

    const bool preserve = preserveInherited || flag(s, "x-kubernetes-preserve-unknown-fields");
    if (value.is_object()) {
      walkObject(s, value, path, out, depth, preserve);
    } else if (value.is_array()) {
      walkArray(s, value, path, out, depth, preserve);
    } else {
      if (out) *out = value;
      checkScalar(s, value, path);
    }
    checkEnum(s, value, path);
    checkComposites(s, value, path, depth);
  }

  // The root (an empty path): apiVersion, kind and metadata are checked for type only and kept.
  void walkRoot(const json& schema, const json& object, json* out) {
    std::string path;
    walk(schema, object, path, out, 0);
  }

 private:
  void add(std::string e) { errors_.push_back(std::move(e)); }

  static bool allowsAnyType(const json& s) {
    auto t = s.find("type");
    return (t == s.end() || !t->is_string() || t->get_ref<const std::string&>().empty()) &&
           !flag(s, "x-kubernetes-int-or-string");
  }

  void typeError(const json& s, const json& value, const std::string& path) {
    std::string expected;
    if (flag(s, "x-kubernetes-int-or-string")) {
      expected = "integer,string";
    } else if (auto t = s.find("type"); t != s.end() && t->is_string()) {
      expected = t->get<std::string>();
    }
    const std::string actual = typeName(value);
    add(display(path) + ": Invalid value: \"" + actual + "\": " + inBody(path) + " must be of type " + expected + ": \"" +
        actual + "\"");
  }

  // Returns false (after reporting) if the value's type does not match.
  bool checkType(const json& s, const json& value, const std::string& path) {
    if (flag(s, "x-kubernetes-int-or-string")) {
      if (isIntegral(value) || value.is_string()) return true;
      typeError(s, value, path);
      return false;
    }
    auto t = s.find("type");
    if (t == s.end() || !t->is_string()) return true;
    const std::string& type = t->get_ref<const std::string&>();
    bool ok = true;
    if (type == "object") ok = value.is_object();
    else if (type == "array") ok = value.is_array();
    else if (type == "string") ok = value.is_string();
    else if (type == "boolean") ok = value.is_boolean();
    else if (type == "integer") ok = isIntegral(value);
    else if (type == "number") ok = value.is_number();
    if (!ok) typeError(s, value, path);
    return ok;
  }

  static bool isEmbedded(const json& s) { return flag(s, "x-kubernetes-embedded-resource"); }

  void walkObject(const json& s, const json& value, std::string& path, json* out, int depth, bool preserve) {
    const json* properties = member(s, "properties");
    if (properties && !properties->is_object()) properties = nullptr;
    const json* additional = member(s, "additionalProperties");
    const bool keepTypeMeta = path.empty() || isEmbedded(s);
    const std::size_t base = path.size();

    if (out) *out = json::object();
    std::size_t kept = 0;
    for (auto it = value.begin(); it != value.end(); ++it) {
      const std::string& key = it.key();
      const json& child = it.value();
      appendKey(path, key);

      if (keepTypeMeta && (key == "apiVersion" || key == "kind" || key == "metadata")) {
        const bool ok = key == "metadata" ? child.is_object() : child.is_string();
        if (!ok) {
          const std::string actual = typeName(child);
          add(path + ": Invalid value: \"" + actual + "\": " + inBody(path) + " must be of type " +
              (key == "metadata" ? "object" : "string") + ": \"" + actual + "\"");
        }
        if (out) (*out)[key] = child;
        ++kept;
        path.resize(base);
        continue;
      }

      const json* childSchema = nullptr;
      if (properties) {
        auto p = properties->find(key);
        if (p != properties->end()) childSchema = &*p;
      }
      if (!childSchema && additional && additional->is_object()) childSchema = additional;

      if (childSchema) {
        const json& cs = childSchema->is_object() ? *childSchema : kEmptySchema;
        if (child.is_null() && !flag(cs, "nullable")) {
          path.resize(base);  // dropped, as the API server prunes non-nullable nulls
          continue;
        }
        ++kept;
        if (out) {
          json& slot = (*out)[key];
          walk(cs, child, path, &slot, depth + 1);
        } else {
          walk(cs, child, path, nullptr, depth + 1);
        }
      } else if (preserve || (additional && additional->is_boolean() && additional->get<bool>())) {
        ++kept;
        if (out) (*out)[key] = child;
      }
      // else: unknown field, pruned silently
      path.resize(base);
    }

    if (const json* required = member(s, "required"); required && required->is_array()) {
      for (const auto& r : *required) {
        if (!r.is_string()) continue;
        const std::string& name = r.get_ref<const std::string&>();
        auto it = value.find(name);
        if (it == value.end() || (it->is_null() && !nullableProperty(s, name))) {
          add((path.empty() ? name : path + "." + name) + ": Required value");
        }
      }
    }

    if (const json* minP = member(s, "minProperties"); minP && minP->is_number() && kept < minP->get<double>()) {
      add(display(path) + ": Invalid value: " + std::to_string(kept) + ": " + inBody(path) + " should have at least " +
          formatNumber(*minP) + " properties");
    }
    if (const json* maxP = member(s, "maxProperties"); maxP && maxP->is_number() && kept > maxP->get<double>()) {
      add(display(path) + ": Too many: " + std::to_string(kept) + ": must have at most " + formatNumber(*maxP) + " items");
    }
  }

  static bool nullableProperty(const json& s, const std::string& name) {
    const json* properties = member(s, "properties");
    if (!properties || !properties->is_object()) return false;
    auto p = properties->find(name);
    return p != properties->end() && p->is_object() && flag(*p, "nullable");
  }

  static void appendKey(std::string& path, const std::string& key) {
    if (!path.empty()) path += '.';
    path += key;
  }

  void walkArray(const json& s, const json& value, std::string& path, json* out, int depth, bool preserve) {
    const json* items = member(s, "items");
    if (items && items->is_array()) items = items->empty() ? nullptr : &(*items)[0];
    if (items && !items->is_object()) items = nullptr;
    if (!items && preserve) {
      if (out) *out = value;  // no schema for the items: kept as they are
    } else {
      const json& itemSchema = items ? *items : kEmptySchema;
      const std::size_t base = path.size();
      if (out) *out = json::array();
      std::size_t index = 0;
      for (const auto& item : value) {
        path += '[';
        path += std::to_string(index++);
        path += ']';
        if (out) {
          out->push_back(nullptr);
          walk(itemSchema, item, path, &out->back(), depth + 1, preserve);
        } else {
          walk(itemSchema, item, path, nullptr, depth + 1, preserve);
        }
        path.resize(base);
      }
    }

    const double size = static_cast<double>(value.size());
    if (const json* minI = member(s, "minItems"); minI && minI->is_number() && size < minI->get<double>()) {
      add(display(path) + ": Invalid value: " + std::to_string(value.size()) + ": " + inBody(path) +
          " should have at least " + formatNumber(*minI) + " items");
    }
    if (const json* maxI = member(s, "maxItems"); maxI && maxI->is_number() && size > maxI->get<double>()) {
      add(display(path) + ": Too many: " + std::to_string(value.size()) + ": must have at most " + formatNumber(*maxI) +
          " items");
    }
    if (flag(s, "uniqueItems")) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        bool duplicate = false;
        for (std::size_t j = 0; j < i && !duplicate; ++j) duplicate = value[i] == value[j];
        if (duplicate) {
          add(display(path) + "[" + std::to_string(i) + "]: Duplicate value: " + quote(value[i]));
          break;
        }
      }
    }
  }

  void checkScalar(const json& s, const json& value, const std::string& path) {
    if (value.is_number()) checkNumber(s, value, path);
    if (value.is_string()) checkString(s, value, path);
  }

  void invalid(const std::string& path, const json& value, const std::string& what) {
    add(display(path) + ": Invalid value: " + quote(value) + ": " + inBody(path) + " " + what);
  }

  void checkNumber(const json& s, const json& value, const std::string& path) {
    const double d = value.get<double>();
    if (const json* min = member(s, "minimum"); min && min->is_number()) {
      const bool exclusive = flag(s, "exclusiveMinimum");
      const double m = min->get<double>();
      if (exclusive ? !(d > m) : !(d >= m)) {
        invalid(path, value, std::string("should be greater than ") + (exclusive ? "" : "or equal to ") + formatNumber(*min));
      }
    }
    if (const json* max = member(s, "maximum"); max && max->is_number()) {
      const bool exclusive = flag(s, "exclusiveMaximum");
      const double m = max->get<double>();
      if (exclusive ? !(d < m) : !(d <= m)) {
        invalid(path, value, std::string("should be less than ") + (exclusive ? "" : "or equal to ") + formatNumber(*max));
      }
    }
    if (const json* multiple = member(s, "multipleOf"); multiple && multiple->is_number()) {
      const double m = multiple->get<double>();
      if (m > 0 && std::fmod(d, m) != 0) invalid(path, value, "should be a multiple of " + formatNumber(*multiple));
    }
    if (const json* format = member(s, "format"); format && format->is_string() && isIntegral(value)) {
      const std::string& f = format->get_ref<const std::string&>();
      bool inRange = true;
      if (value.is_number_unsigned()) {
        const auto u = value.get<std::uint64_t>();
        if (f == "int32") inRange = u <= static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max());
        else if (f == "int64") inRange = u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
      } else if (value.is_number_integer()) {
        const auto i = value.get<std::int64_t>();
        if (f == "int32") inRange = i >= std::numeric_limits<std::int32_t>::min() && i <= std::numeric_limits<std::int32_t>::max();
      } else {
        if (f == "int32") inRange = d >= -2147483648.0 && d <= 2147483647.0;
        else if (f == "int64") inRange = d >= -9223372036854775808.0 && d < 9223372036854775808.0;
      }
      if (!inRange) {
        const std::string text = quote(value);
        add(display(path) + ": Invalid value: " + text + ": " + inBody(path) + " must be of type " + f + ": \"" + text + "\"");
      }
    }
  }

  void checkString(const json& s, const json& value, const std::string& path) {
    const std::string& str = value.get_ref<const std::string&>();
    if (const json* minL = member(s, "minLength"); minL && minL->is_number()) {
      if (static_cast<double>(utf8Length(str)) < minL->get<double>())
        invalid(path, value, "should be at least " + formatNumber(*minL) + " chars long");
    }
    if (const json* maxL = member(s, "maxLength"); maxL && maxL->is_number()) {
      if (static_cast<double>(utf8Length(str)) > maxL->get<double>())
        add(display(path) + ": Too long: may not be longer than " + formatNumber(*maxL));
    }
    if (const json* pattern = member(s, "pattern"); pattern && pattern->is_string() && str.size() <= kMaxPatternInput) {
      const std::string& p = pattern->get_ref<const std::string&>();
      if (auto re = regexCache().get(p)) {
        bool matched = true;
        try {
          matched = std::regex_search(str, *re);
        } catch (const std::exception&) {
          matched = true;  // too complex for std::regex: not held against the object
        }
        if (!matched) invalid(path, value, "should match '" + p + "'");
      }
    }
  }

  static std::size_t utf8Length(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s)
      if ((c & 0xC0) != 0x80) ++n;
    return n;
  }

  void checkEnum(const json& s, const json& value, const std::string& path) {
    const json* values = member(s, "enum");
    if (!values || !values->is_array() || values->empty()) return;
    for (const auto& v : *values)
      if (v == value) return;
    std::string supported;
    for (const auto& v : *values) {
      if (!supported.empty()) supported += ", ";
      supported += quote(v);
    }
    add(display(path) + ": Unsupported value: " + quote(value) + ": supported values: " + supported);
  }

  // allOf/anyOf/oneOf/not: value validations evaluated on the value as it is, without pruning.
  void checkComposites(const json& s, const json& value, std::string& path, int depth) {
    if (const json* all = member(s, "allOf"); all && all->is_array()) {
      for (const auto& branch : *all) walk(branch, value, path, nullptr, depth + 1);
    }
    if (const json* any = member(s, "anyOf"); any && any->is_array() && !any->empty()) {
      if (matching(*any, value, path, depth) == 0)
        add(display(path) + ": Invalid value: " + quote(value) + ": " + inBody(path) + " must validate at least one schema (anyOf)");
    }
    if (const json* one = member(s, "oneOf"); one && one->is_array() && !one->empty()) {
      if (matching(*one, value, path, depth) != 1)
        add(display(path) + ": Invalid value: " + quote(value) + ": " + inBody(path) +
            " must validate one and only one schema (oneOf)");
    }
    if (const json* notSchema = member(s, "not"); notSchema && notSchema->is_object()) {
      if (passes(*notSchema, value, path, depth))
        add(display(path) + ": Invalid value: " + quote(value) + ": " + inBody(path) + " must not validate the schema (not)");
    }
  }

  bool passes(const json& branch, const json& value, std::string& path, int depth) {
    std::vector<std::string> scratch;
    Validator sub(scratch);
    sub.walk(branch, value, path, nullptr, depth + 1);
    return scratch.empty();
  }

  std::size_t matching(const json& branches, const json& value, std::string& path, int depth) {
    std::size_t n = 0;
    for (const auto& branch : branches)
      if (passes(branch, value, path, depth)) ++n;
    return n;
  }

  std::vector<std::string>& errors_;
};

}  // namespace

std::vector<std::string> validateStructural(const nlohmann::json& schema, const nlohmann::json& object, nlohmann::json* pruned) {
  std::vector<std::string> errors;
  try {
    json out;
    Validator validator(errors);
    validator.walkRoot(schema, object, pruned ? &out : nullptr);
    if (pruned) *pruned = std::move(out);
  } catch (const std::exception& e) {
    errors.push_back(std::string("<root>: Internal error: ") + e.what());
    if (pruned) {
      try {
        *pruned = object;
      } catch (...) {
      }
    }
  } catch (...) {
    errors.push_back("<root>: Internal error");
  }
  return errors;
}

}  // namespace flinktest
