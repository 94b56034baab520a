// The Ingress of spec.ingress and the expansion of its template. See controller/resources.h.
#include "controller/resources.h"

#include <fmt/format.h>

#include <regex>

#include "controller/resources/object_meta.h"
#include "flink/common/strings.h"

namespace flink::k8s {
namespace {

using json = nlohmann::json;

/// `s` with every occurrence of `placeholder` replaced by `value`, ignoring letter case.
std::string replaceIgnoringCase(const std::string& s, const std::string& placeholder, const std::string& value) {
  const std::string lowerS = lower(s);
  std::string out;
  size_t from = 0;
  for (size_t at = lowerS.find(placeholder); at != std::string::npos; at = lowerS.find(placeholder, from)) {
    out += s.substr(from, at - from) + value;
    from = at + placeholder.size();
  }
  return out + s.substr(from);
}

Status templateError(const std::string& urlTemplate, const std::string& problem) {
  return Status::Error(fmt::format("spec.ingress.template: '{}': {}", urlTemplate, problem));
}

}  // namespace

std::string ingressName(const FlinkDeployment& fd) { return fd.name; }

Result<IngressUrl> expandIngressTemplate(const std::string& urlTemplate, const std::string& name,
                                         const std::string& ns) {
  std::string url = replaceIgnoringCase(urlTemplate, "{{name}}", name);
  url = replaceIgnoringCase(url, "{{namespace}}", ns);
  static const std::regex kPlaceholder("\\{\\{[^}]*\\}\\}");
  if (std::smatch m; std::regex_search(url, m, kPlaceholder)) {
    return templateError(urlTemplate, "unknown placeholder " + m.str() + " (only {{name}} and {{namespace}} are expanded)");
  }
  // The scheme is optional; what follows "scheme://" up to the first '/', '?' or '#' is the
  // authority ([user@]host[:port]), then the path up to '?' or '#'.
  const std::string l = lower(url);
  size_t start = l.rfind("http://", 0) == 0 ? 7 : l.rfind("https://", 0) == 0 ? 8 : 0;
  std::string rest = url.substr(start);
  size_t authorityEnd = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, authorityEnd);
  std::string tail = authorityEnd == std::string::npos ? "" : rest.substr(authorityEnd);
  IngressUrl out;
  out.path = tail.substr(0, tail.find_first_of("?#"));
  if (size_t at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  if (size_t colon = authority.rfind(':'); colon != std::string::npos) {
    std::string port = authority.substr(colon + 1);
    if (!port.empty() && !std::regex_match(port, std::regex("[0-9]{1,5}"))) {
      return templateError(urlTemplate, "the port '" + port + "' is not a number");
    }
    authority = authority.substr(0, colon);
  }
  out.host = lower(authority);
  static const std::regex kHost(
      "(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  if (!out.host.empty() && (out.host.size() > 253 || !std::regex_match(out.host, kHost))) {
    return templateError(urlTemplate, "the host '" + out.host +
                                          "' is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', "
                                          "optionally after '*.')");
  }
  if (out.host.empty() && out.path.empty()) return templateError(urlTemplate, "neither a host nor a path");
  return out;
}

Result<std::optional<json>> desiredIngress(const FlinkDeployment& fd, int restPort) {
  if (!fd.spec.ingress) return std::optional<json>{};
  const IngressSpec& in = *fd.spec.ingress;
  auto url = expandIngressTemplate(in.urlTemplate, fd.name, fd.namespace_);
  if (!url.ok()) return url.status();

  json meta = detail::metadata(fd, ingressName(fd), nullptr);
  json labels = json::object();
  for (const auto& [k, v] : in.labels) labels[k] = v;
  labels.update(meta["labels"]);  // app=<name> stays: the operator's informers select on it
  meta["labels"] = labels;
  if (!in.annotations.empty()) meta["annotations"] = in.annotations;

  json path = {{"pathType", "ImplementationSpecific"},
               {"backend", {{"service", {{"name", restServiceName(fd)}, {"port", {{"number", restPort}}}}}}}};
  if (!url->path.empty()) path["path"] = url->path;
  json rule = {{"http", {{"paths", json::array({path})}}}};
  if (!url->host.empty()) rule["host"] = url->host;
  json spec = {{"rules", json::array({rule})}};
  if (!in.className.empty()) spec["ingressClassName"] = in.className;
  if (!in.tls.empty()) {
    json tls = json::array();
    for (const IngressTls& t : in.tls) {
      json entry = json::object();
      if (!t.hosts.empty()) entry["hosts"] = t.hosts;
      if (!t.secretName.empty()) entry["secretName"] = t.secretName;
      tls.push_back(entry);
    }
    spec["tls"] = tls;
  }
  return std::optional<json>{
      json{{"apiVersion", "networking.k8s.io/v1"}, {"kind", "Ingress"}, {"metadata", meta}, {"spec", spec}}};
}

}  // namespace flink::k8s
