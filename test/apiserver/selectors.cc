#include "selectors.h"

#include "util.h"
#include "flink/common/strings.h"

#include <algorithm>
#include <cctype>

namespace kta {
namespace {

using flink::trim;

// Splits on commas outside parentheses.
std::vector<std::string> splitTerms(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!trim(cur).empty() || !out.empty()) out.push_back(trim(cur));
  return out;
}

std::string fieldString(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

}  // namespace

Result<LabelSelector> LabelSelector::parse(const std::string& text) {
  LabelSelector sel;
  for (const std::string& term : splitTerms(text)) {
    if (term.empty()) return badRequest("unable to parse requirement: found '', expected: identifier");
    Req r;
    size_t pos;
    if (term[0] == '!') {
      r = {trim(term.substr(1)), Op::NotExists, {}};
    } else if ((pos = term.find("!=")) != std::string::npos) {
      r = {trim(term.substr(0, pos)), Op::NotEq, {trim(term.substr(pos + 2))}};
    } else if ((pos = term.find("==")) != std::string::npos) {
      r = {trim(term.substr(0, pos)), Op::Eq, {trim(term.substr(pos + 2))}};
    } else if ((pos = term.find('=')) != std::string::npos) {
      r = {trim(term.substr(0, pos)), Op::Eq, {trim(term.substr(pos + 1))}};
    } else if (auto open = term.find('('); open != std::string::npos) {
      auto close = term.rfind(')');
      if (close == std::string::npos || close < open) return badRequest("unable to parse requirement: " + term);
      std::string head = trim(term.substr(0, open));
      auto sp = head.find_last_of(" \t");
      if (sp == std::string::npos) return badRequest("unable to parse requirement: " + term);
      std::string op = trim(head.substr(sp + 1));
      r.key = trim(head.substr(0, sp));
      if (op == "in") r.op = Op::In;
      else if (op == "notin") r.op = Op::NotIn;
      else return badRequest("unable to parse requirement: found '" + op + "', expected: in, notin");
      for (const auto& v : splitTerms(term.substr(open + 1, close - open - 1))) r.values.push_back(v);
    } else {
      r = {trim(term), Op::Exists, {}};
    }
    if (r.key.empty()) return badRequest("unable to parse requirement: " + term);
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

Result<LabelSelector> LabelSelector::fromObject(const json& s) {
  LabelSelector sel;
  if (!s.is_object()) return sel;
  // A named copy: items() of the temporary value() returns would outlive it in the loop.
  const json matchLabels = s.value("matchLabels", json::object());
  for (const auto& [k, v] : matchLabels.items()) sel.reqs_.push_back({k, Op::Eq, {fieldString(v)}});
  for (const auto& e : s.value("matchExpressions", json::array())) {
    std::string op = e.value("operator", "");
    std::vector<std::string> values;
    for (const auto& v : e.value("values", json::array())) values.push_back(fieldString(v));
    Op o;
    if (op == "In") o = Op::In;
    else if (op == "NotIn") o = Op::NotIn;
    else if (op == "Exists") o = Op::Exists;
    else if (op == "DoesNotExist") o = Op::NotExists;
    else return badRequest("\"" + op + "\" is not a valid label selector operator");
    sel.reqs_.push_back({e.value("key", ""), o, values});
  }
  return sel;
}

bool LabelSelector::matches(const json& labels) const {
  for (const auto& r : reqs_) {
    const json* v = labels.is_object() && labels.contains(r.key) ? &labels[r.key] : nullptr;
    std::string val = v ? fieldString(*v) : "";
    bool in = std::find(r.values.begin(), r.values.end(), val) != r.values.end();
    switch (r.op) {
      case Op::Eq:
      case Op::In:
        if (!v || !in) return false;
        break;
      case Op::NotEq:
      case Op::NotIn:
        if (v && in) return false;
        break;
      case Op::Exists:
        if (!v) return false;
        break;
      case Op::NotExists:
        if (v) return false;
        break;
    }
  }
  return true;
}

std::string LabelSelector::toString() const {
  std::string out;
  for (const auto& r : reqs_) {
    if (!out.empty()) out += ",";
    auto list = [&] {
      std::string s;
      for (size_t i = 0; i < r.values.size(); ++i) s += (i ? "," : "") + r.values[i];
      return s;
    };
    switch (r.op) {
      case Op::Eq: out += r.key + "=" + r.values[0]; break;
      case Op::NotEq: out += r.key + "!=" + r.values[0]; break;
      case Op::In: out += r.key + " in (" + list() + ")"; break;
      case Op::NotIn: out += r.key + " notin (" + list() + ")"; break;
      case Op::Exists: out += r.key; break;
      case Op::NotExists: out += "!" + r.key; break;
    }
  }
  return out;
}

Result<FieldSelector> FieldSelector::parse(const std::string& text) {
  FieldSelector sel;
  for (const std::string& term : splitTerms(text)) {
    size_t pos;
    if ((pos = term.find("!=")) != std::string::npos) {
      sel.reqs_.push_back({trim(term.substr(0, pos)), false, trim(term.substr(pos + 2))});
    } else if ((pos = term.find("==")) != std::string::npos) {
      sel.reqs_.push_back({trim(term.substr(0, pos)), true, trim(term.substr(pos + 2))});
    } else if ((pos = term.find('=')) != std::string::npos) {
      sel.reqs_.push_back({trim(term.substr(0, pos)), true, trim(term.substr(pos + 1))});
    } else {
      return badRequest("invalid selector: '" + text + "'; can't understand '" + term + "'");
    }
  }
  return sel;
}

bool FieldSelector::matches(const json& object) const {
  for (const auto& r : reqs_) {
    const json* v = lookupPath(object, r.field);
    std::string val = v ? fieldString(*v) : "";
    if ((val == r.value) != r.equal) return false;
  }
  return true;
}

std::string FieldSelector::equalityValue(const std::string& field) const {
  for (const auto& r : reqs_)
    if (r.equal && r.field == field) return r.value;
  return "";
}

}  // namespace kta
