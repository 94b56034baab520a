// Label selectors (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`) and field
// selectors (`f=v`, `f==v`, `f!=v` on any dotted field path, e.g. metadata.name or
// involvedObject.uid), parsed from the query string as the API server does.
#pragma once

#include "errors.h"

#include <string>
#include <vector>

namespace kta {

class LabelSelector {
 public:
  static Result<LabelSelector> parse(const std::string& text);
  /// From a meta/v1 LabelSelector object ({matchLabels, matchExpressions}).
  static Result<LabelSelector> fromObject(const json& selector);
  bool matches(const json& labels) const;
  bool empty() const { return reqs_.empty(); }
  std::string toString() const;

 private:
  enum class Op { Eq, NotEq, In, NotIn, Exists, NotExists };
  struct Req {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };
  std::vector<Req> reqs_;
};

class FieldSelector {
 public:
  static Result<FieldSelector> parse(const std::string& text);
  bool matches(const json& object) const;
  bool empty() const { return reqs_.empty(); }
  /// The value required for `field` by an equality term, or empty.
  std::string equalityValue(const std::string& field) const;

 private:
  struct Req {
    std::string field;
    bool equal;
    std::string value;
  };
  std::vector<Req> reqs_;
};

}  // namespace kta
