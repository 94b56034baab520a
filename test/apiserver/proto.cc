#include "proto.h"

#include "util.h"

#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string_view>

namespace kta {
namespace {

enum class T { String, Bytes, Int, Bool, Msg, MapStr, MapBytes, MapQuantity, Time, IntOrString, Quantity };

struct Desc;
struct Field {
  int num;
  const char* name;
  T type;
  bool repeated = false;
  const Desc* msg = nullptr;
  bool pointer = false;  // Go pointer field: a zero value is kept (others are omitted, like omitempty)
};
struct Desc {
  std::vector<Field> fields;
  const Field* find(int n) const {
    for (const auto& f : fields)
      if (f.num == n) return &f;
    return nullptr;
  }
};

// Field numbers from k8s.io/api and k8s.io/apimachinery generated.proto.
const Desc kOwnerRef{{{1, "kind", T::String}, {3, "name", T::String}, {4, "uid", T::String}, {5, "apiVersion", T::String},
                      {6, "controller", T::Bool}, {7, "blockOwnerDeletion", T::Bool}}};
const Desc kObjectMeta{{{1, "name", T::String}, {2, "generateName", T::String}, {3, "namespace", T::String},
                        {5, "uid", T::String}, {6, "resourceVersion", T::String}, {7, "generation", T::Int},
                        {11, "labels", T::MapStr}, {12, "annotations", T::MapStr},
                        {13, "ownerReferences", T::Msg, true, &kOwnerRef}, {14, "finalizers", T::String, true}}};
const Desc kConfigMap{{{1, "metadata", T::Msg, false, &kObjectMeta}, {2, "data", T::MapStr}, {3, "binaryData", T::MapBytes},
                       {4, "immutable", T::Bool, false, nullptr, true}}};
const Desc kSecret{{{1, "metadata", T::Msg, false, &kObjectMeta}, {2, "data", T::MapBytes}, {3, "type", T::String},
                    {4, "stringData", T::MapStr}, {5, "immutable", T::Bool, false, nullptr, true}}};
const Desc kNamespaceSpec{{{1, "finalizers", T::String, true}}};
const Desc kNamespace{{{1, "metadata", T::Msg, false, &kObjectMeta}, {2, "spec", T::Msg, false, &kNamespaceSpec}}};
const Desc kLocalRef{{{1, "name", T::String}}};
const Desc kObjectRef{{{1, "kind", T::String}, {2, "namespace", T::String}, {3, "name", T::String}, {4, "uid", T::String},
                       {5, "apiVersion", T::String}}};
const Desc kServiceAccount{{{1, "metadata", T::Msg, false, &kObjectMeta}, {2, "secrets", T::Msg, true, &kObjectRef},
                            {3, "imagePullSecrets", T::Msg, true, &kLocalRef}, {4, "automountServiceAccountToken", T::Bool, false, nullptr, true}}};
const Desc kServicePort{{{1, "name", T::String}, {2, "protocol", T::String}, {3, "port", T::Int},
                         {4, "targetPort", T::IntOrString}, {5, "nodePort", T::Int}, {6, "appProtocol", T::String}}};
const Desc kServiceSpec{{{1, "ports", T::Msg, true, &kServicePort}, {2, "selector", T::MapStr}, {3, "clusterIP", T::String},
                         {4, "type", T::String}, {5, "externalIPs", T::String, true}, {7, "sessionAffinity", T::String},
                         {10, "externalName", T::String}, {18, "clusterIPs", T::String, true}}};
const Desc kService{{{1, "metadata", T::Msg, false, &kObjectMeta}, {2, "spec", T::Msg, false, &kServiceSpec}}};
const Desc kSelectorReq{{{1, "key", T::String}, {2, "operator", T::String}, {3, "values", T::String, true}}};
const Desc kLabelSelector{{{1, "matchLabels", T::MapStr}, {2, "matchExpressions", T::Msg, true, &kSelectorReq}}};
const Desc kContainerPort{{{1, "name", T::String}, {2, "hostPort", T::Int}, {3, "containerPort", T::Int},
                           {4, "protocol", T::String}, {5, "hostIP", T::String}}};
const Desc kEnvVar{{{1, "name", T::String}, {2, "value", T::String}}};
const Desc kResources{{{1, "limits", T::MapQuantity}, {2, "requests", T::MapQuantity}}};
const Desc kContainer{{{1, "name", T::String}, {2, "image", T::String}, {3, "command", T::String, true},
                       {4, "args", T::String, true}, {5, "workingDir", T::String},
                       {6, "ports", T::Msg, true, &kContainerPort}, {7, "env", T::Msg, true, &kEnvVar},
                       {8, "resources", T::Msg, false, &kResources}, {13, "terminationMessagePath", T::String},
                       {14, "imagePullPolicy", T::String}, {16, "stdin", T::Bool}, {17, "stdinOnce", T::Bool},
                       {18, "tty", T::Bool}, {20, "terminationMessagePolicy", T::String}}};
const Desc kPodSpec{{{2, "containers", T::Msg, true, &kContainer}, {3, "restartPolicy", T::String},
                     {4, "terminationGracePeriodSeconds", T::Int, false, nullptr, true}, {6, "dnsPolicy", T::String},
                     {7, "nodeSelector", T::MapStr}, {8, "serviceAccountName", T::String}, {10, "nodeName", T::String},
                     {15, "imagePullSecrets", T::Msg, true, &kLocalRef}, {20, "initContainers", T::Msg, true, &kContainer}}};
const Desc kPodTemplate{{{1, "metadata", T::Msg, false, &kObjectMeta}, {2, "spec", T::Msg, false, &kPodSpec}}};
const Desc kRollingUpdate{{{1, "maxUnavailable", T::IntOrString}, {2, "maxSurge", T::IntOrString}}};
const Desc kStrategy{{{1, "type", T::String}, {2, "rollingUpdate", T::Msg, false, &kRollingUpdate}}};
const Desc kDeploymentSpec{{{1, "replicas", T::Int, false, nullptr, true}, {2, "selector", T::Msg, false, &kLabelSelector},
                            {3, "template", T::Msg, false, &kPodTemplate}, {4, "strategy", T::Msg, false, &kStrategy},
                            {5, "minReadySeconds", T::Int}, {6, "revisionHistoryLimit", T::Int, false, nullptr, true}, {7, "paused", T::Bool},
                            {9, "progressDeadlineSeconds", T::Int, false, nullptr, true}}};
const Desc kDeployment{{{1, "metadata", T::Msg, false, &kObjectMeta}, {2, "spec", T::Msg, false, &kDeploymentSpec}}};
const Desc kPod{{{1, "metadata", T::Msg, false, &kObjectMeta}, {2, "spec", T::Msg, false, &kPodSpec}}};

const std::map<std::string, const Desc*>& kinds() {
  static const std::map<std::string, const Desc*> m = {
      {"v1/ConfigMap", &kConfigMap}, {"v1/Secret", &kSecret},   {"v1/Namespace", &kNamespace},
      {"v1/ServiceAccount", &kServiceAccount}, {"v1/Service", &kService}, {"v1/Pod", &kPod},
      {"apps/v1/Deployment", &kDeployment}};
  return m;
}

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool done() const { return p_ >= d_.size(); }
  bool ok() const { return ok_; }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= d_.size()) {
        ok_ = false;
        return 0;
      }
      uint8_t b = static_cast<uint8_t>(d_[p_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return v;
  }
  std::string_view bytes() {
    uint64_t n = varint();
    if (!ok_ || n > d_.size() - p_) {
      ok_ = false;
      return {};
    }
    std::string_view s = d_.substr(p_, n);
    p_ += n;
    return s;
  }
  void skip(int wire) {
    switch (wire) {
      case 0: varint(); break;
      case 1: p_ += 8; break;
      case 2: bytes(); break;
      case 5: p_ += 4; break;
      default: ok_ = false;
    }
    if (p_ > d_.size()) ok_ = false;
  }

 private:
  std::string_view d_;
  size_t p_ = 0;
  bool ok_ = true;
};

std::optional<json> decodeMessage(std::string_view data, const Desc& desc);

std::pair<std::string, std::string_view> mapEntry(std::string_view data) {
  Reader r(data);
  std::string key;
  std::string_view value;
  while (!r.done() && r.ok()) {
    uint64_t tag = r.varint();
    int num = static_cast<int>(tag >> 3), wire = static_cast<int>(tag & 7);
    if (wire == 2 && num == 1) key = std::string(r.bytes());
    else if (wire == 2 && num == 2) value = r.bytes();
    else r.skip(wire);
  }
  return {key, value};
}

std::string quantity(std::string_view data) {
  Reader r(data);
  std::string s;
  while (!r.done() && r.ok()) {
    uint64_t tag = r.varint();
    if ((tag >> 3) == 1 && (tag & 7) == 2) s = std::string(r.bytes());
    else r.skip(static_cast<int>(tag & 7));
  }
  return s;
}

json timeValue(std::string_view data) {
  Reader r(data);
  int64_t seconds = 0;
  while (!r.done() && r.ok()) {
    uint64_t tag = r.varint();
    if ((tag >> 3) == 1 && (tag & 7) == 0) seconds = static_cast<int64_t>(r.varint());
    else r.skip(static_cast<int>(tag & 7));
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json intOrString(std::string_view data) {
  Reader r(data);
  int64_t type = 0, i = 0;
  std::string s;
  while (!r.done() && r.ok()) {
    uint64_t tag = r.varint();
    int num = static_cast<int>(tag >> 3), wire = static_cast<int>(tag & 7);
    if (num == 1 && wire == 0) type = static_cast<int64_t>(r.varint());
    else if (num == 2 && wire == 0) i = static_cast<int32_t>(r.varint());
    else if (num == 3 && wire == 2) s = std::string(r.bytes());
    else r.skip(wire);
  }
  return type == 1 ? json(s) : json(i);
}

std::optional<json> decodeMessage(std::string_view data, const Desc& desc) {
  json out = json::object();
  Reader r(data);
  while (!r.done()) {
    uint64_t tag = r.varint();
    if (!r.ok()) return std::nullopt;
    int num = static_cast<int>(tag >> 3), wire = static_cast<int>(tag & 7);
    const Field* f = desc.find(num);
    if (!f) {
      r.skip(wire);
      if (!r.ok()) return std::nullopt;
      continue;
    }
    json value;
    switch (f->type) {
      case T::Int: {
        if (wire != 0) return std::nullopt;
        value = static_cast<int64_t>(r.varint());
        break;
      }
      case T::Bool:
        if (wire != 0) return std::nullopt;
        value = r.varint() != 0;
        break;
      case T::String:
        if (wire != 2) return std::nullopt;
        value = std::string(r.bytes());
        break;
      case T::Bytes:
        if (wire != 2) return std::nullopt;
        value = base64Encode(std::string(r.bytes()));
        break;
      case T::Quantity:
        value = quantity(r.bytes());
        break;
      case T::Time:
        value = timeValue(r.bytes());
        break;
      case T::IntOrString:
        value = intOrString(r.bytes());
        break;
      case T::Msg: {
        if (wire != 2) return std::nullopt;
        auto m = decodeMessage(r.bytes(), *f->msg);
        if (!m) return std::nullopt;
        value = std::move(*m);
        break;
      }
      case T::MapStr:
      case T::MapBytes:
      case T::MapQuantity: {
        if (wire != 2) return std::nullopt;
        auto [k, v] = mapEntry(r.bytes());
        if (!out.contains(f->name)) out[f->name] = json::object();
        out[f->name][k] = f->type == T::MapStr ? json(std::string(v))
                          : f->type == T::MapBytes ? json(base64Encode(std::string(v)))
                                                   : json(quantity(v));
        continue;
      }
    }
    if (!r.ok()) return std::nullopt;
    bool zero = (value.is_string() && value.get<std::string>().empty()) || (value.is_number() && value == 0) ||
                (value.is_boolean() && !value.get<bool>());
    if (zero && !f->repeated && !f->pointer && f->type != T::Msg) continue;
    if (f->repeated) {
      if (!out.contains(f->name)) out[f->name] = json::array();
      out[f->name].push_back(std::move(value));
    } else {
      out[f->name] = std::move(value);
    }
  }
  return out;
}

}  // namespace

bool isK8sProtobuf(const std::string& body) { return body.size() >= 4 && body.compare(0, 4, std::string("k8s\0", 4)) == 0; }

Result<json> decodeK8sProtobuf(const std::string& body) {
  if (!isK8sProtobuf(body)) return badRequest("the body is not a Kubernetes protobuf message");
  Reader r(std::string_view(body).substr(4));
  std::string apiVersion, kind;
  std::string_view raw;
  while (!r.done() && r.ok()) {
    uint64_t tag = r.varint();
    int num = static_cast<int>(tag >> 3), wire = static_cast<int>(tag & 7);
    if (num == 1 && wire == 2) {
      Reader tm(r.bytes());
      while (!tm.done() && tm.ok()) {
        uint64_t t2 = tm.varint();
        int n2 = static_cast<int>(t2 >> 3), w2 = static_cast<int>(t2 & 7);
        if (n2 == 1 && w2 == 2) apiVersion = std::string(tm.bytes());
        else if (n2 == 2 && w2 == 2) kind = std::string(tm.bytes());
        else tm.skip(w2);
      }
    } else if (num == 2 && wire == 2) {
      raw = r.bytes();
    } else {
      r.skip(wire);
    }
  }
  if (!r.ok()) return badRequest("malformed protobuf envelope");
  auto it = kinds().find(apiVersion + "/" + kind);
  if (it == kinds().end())
    return unsupportedMediaType("the body of the request was in an unknown format - accepted media types include: "
                                "application/json, application/yaml");
  auto obj = decodeMessage(raw, *it->second);
  if (!obj) return badRequest(kind + " in version \"" + apiVersion + "\" cannot be handled as a " + kind +
                              ": malformed protobuf");
  (*obj)["apiVersion"] = apiVersion;
  (*obj)["kind"] = kind;
  return std::move(*obj);
}

}  // namespace kta
