#include "api/flink_deployment.h"
#include "api/spec_bounds.h"

#include <fmt/format.h>

#include <fstream>
#include <regex>
#include <sstream>

namespace flink::k8s {
namespace {

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  Status error(const YAML::Node& node, const std::string& path, const std::string& problem) const {
    int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    return Status::Error(line > 0 ? fmt::format("{}:{}: {}: {}", source_, line, path, problem)
                                  : fmt::format("{}: {}: {}", source_, path, problem));
  }

  /// `s` (whose message starts with the field path) located in the source, as error() does.
  Status located(const YAML::Node& node, const Status& s) const {
    int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    return Status::Error(line > 0 ? fmt::format("{}:{}: {}", source_, line, s.message())
                                  : fmt::format("{}: {}", source_, s.message()));
  }

  Status string(const YAML::Node& parent, const char* key, const std::string& path, std::string* out,
                bool required = false) const {
    const YAML::Node n = parent[key];
    if (!n || n.IsNull()) {
      return required ? error(parent, path, "required field is missing") : Status::Ok();
    }
    if (!n.IsScalar()) return error(n, path, "expected a string");
    *out = n.as<std::string>();
    return Status::Ok();
  }

  Status integer(const YAML::Node& parent, const char* key, const std::string& path, std::optional<int>* out,
                 int min) const {
    const YAML::Node n = parent[key];
    if (!n || n.IsNull()) return Status::Ok();
    int v = 0;
    try {
      if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "");
      v = n.as<int>();
    } catch (const YAML::Exception&) {
      return error(n, path, "expected an integer, got '" + (n.IsScalar() ? n.Scalar() : "a " + kind(n)) + "'");
    }
    if (v < min) return error(n, path, fmt::format("must be at least {}, got {}", min, v));
    *out = v;
    return Status::Ok();
  }

  /// A map whose nested maps are flattened to dotted keys and whose scalars (numbers,
  /// booleans) become strings, as Flink's config.yaml allows.
  Status flatMap(const YAML::Node& parent, const char* key, const std::string& path,
                 std::map<std::string, std::string>* out) const {
    const YAML::Node n = parent[key];
    if (!n || n.IsNull()) return Status::Ok();
    if (!n.IsMap()) return error(n, path, "expected a map, got a " + kind(n));
    return flatten(n, "", path, out);
  }
  Status flatten(const YAML::Node& n, const std::string& prefix, const std::string& path,
                 std::map<std::string, std::string>* out) const {
    for (const auto& kv : n) {
      std::string k = prefix + kv.first.as<std::string>();
      if (kv.second.IsMap()) {
        Status s = flatten(kv.second, k + ".", path, out);
        if (!s.ok()) return s;
      } else if (kv.second.IsSequence()) {
        std::string joined;
        for (const auto& item : kv.second) {
          if (!item.IsScalar()) return error(item, path + "." + k, "expected a list of scalars");
          joined += (joined.empty() ? "" : ";") + item.as<std::string>();
        }
        (*out)[k] = joined;
      } else if (kv.second.IsScalar()) {
        (*out)[k] = kv.second.as<std::string>();
      } else {
        (*out)[k] = "";
      }
    }
    return Status::Ok();
  }

  Status stringMap(const YAML::Node& parent, const char* key, const std::string& path,
                   std::map<std::string, std::string>* out) const {
    const YAML::Node n = parent[key];
    if (!n || n.IsNull()) return Status::Ok();
    if (!n.IsMap()) return error(n, path, "expected a map of strings, got a " + kind(n));
    for (const auto& kv : n) {
      std::string k = kv.first.as<std::string>();
      if (!kv.second.IsScalar()) return error(kv.second, path + "." + k, "expected a string value");
      (*out)[k] = kv.second.as<std::string>();
    }
    return Status::Ok();
  }

  // `resources` (Kubernetes ResourceRequirements): requests (else limits) give cpu and memory.
  Status resources(const YAML::Node& parent, const std::string& path, Resource* out, YAML::Node* keep,
                   bool* set) const {
    const YAML::Node n = parent["resources"];
    if (!n || n.IsNull()) return Status::Ok();
    if (!n.IsMap()) return error(n, path + ".resources", "expected a map with requests and limits");
    *keep = YAML::Clone(n);
    *set = true;
    for (const char* section : {"limits", "requests"}) {
      const YAML::Node r = n[section];
      if (!r || !r.IsMap()) continue;
      if (r["memory"] && r["memory"].IsScalar()) out->memory = r["memory"].as<std::string>();
      if (r["cpu"] && r["cpu"].IsScalar()) {
        std::string cpu = r["cpu"].as<std::string>();
        try {
          out->cpu = !cpu.empty() && cpu.back() == 'm' ? std::stod(cpu.substr(0, cpu.size() - 1)) / 1000 : std::stod(cpu);
        } catch (...) {
          return error(r["cpu"], path + ".resources." + section + ".cpu", "expected a CPU quantity, got '" + cpu + "'");
        }
      }
    }
    return Status::Ok();
  }

  Status resource(const YAML::Node& parent, const std::string& path, Resource* out) const {
    const YAML::Node n = parent["resource"];
    if (!n || n.IsNull()) return Status::Ok();
    if (!n.IsMap()) return error(n, path + ".resource", "expected a map");
    if (n["cpu"]) {
      try {
        out->cpu = n["cpu"].as<double>();
      } catch (const YAML::Exception&) {
        return error(n["cpu"], path + ".resource.cpu", "expected a number");
      }
      if (out->cpu <= 0) return error(n["cpu"], path + ".resource.cpu", "must be positive");
    }
    Status s = string(n, "memory", path + ".resource.memory", &out->memory);
    if (!s.ok()) return s;
    if (n["memory"]) {
      auto mem = parseMemoryBytes(out->memory);
      if (!mem.ok()) return error(n["memory"], path + ".resource.memory", mem.status().message());
    }
    std::string eph;
    s = string(n, "ephemeralStorage", path + ".resource.ephemeralStorage", &eph);
    if (!s.ok()) return s;
    if (!eph.empty()) out->ephemeralStorage = eph;
    return Status::Ok();
  }

  static std::string kind(const YAML::Node& n) {
    return n.IsMap() ? "map" : n.IsSequence() ? "list" : n.IsScalar() ? "scalar" : "null";
  }

 private:
  std::string source_;
};

#define RETURN_IF_ERROR(expr)        \
  do {                               \
    ::flink::Status _s = (expr);     \
    if (!_s.ok()) return _s;         \
  } while (0)

}  // namespace

int FlinkDeployment::taskSlots() const {
  auto it = spec.flinkConfiguration.find(options::kNumTaskSlots);
  if (it == spec.flinkConfiguration.end()) return 1;
  try {
    return std::max(1, std::stoi(it->second));
  } catch (...) {
    return 1;
  }
}

int FlinkDeployment::parallelism() const {
  if (spec.taskManager.replicas) return *spec.taskManager.replicas * taskSlots();
  if (spec.job && spec.job->parallelism) return *spec.job->parallelism;
  auto it = spec.flinkConfiguration.find(options::kParallelismDefault);
  if (it != spec.flinkConfiguration.end()) {
    try {
      return std::max(1, std::stoi(it->second));
    } catch (...) {
    }
  }
  return 1;
}

int FlinkDeployment::taskManagerReplicas() const {
  if (spec.taskManager.replicas) return *spec.taskManager.replicas;
  int slots = taskSlots();
  return (parallelism() + slots - 1) / slots;
}

Configuration FlinkDeployment::effectiveConfiguration() const {
  Configuration c;
  for (const auto& [k, v] : spec.flinkConfiguration) c.set(k, v);
  c.set(options::kNumTaskSlots, std::to_string(taskSlots()));
  c.set(options::kParallelismDefault, std::to_string(parallelism()));
  if (spec.job) {
    c.set("$internal.application.main", spec.job->entryClass);
    c.set("pipeline.jars", spec.job->jarURI);
    std::string args;
    for (size_t i = 0; i < spec.job->args.size(); ++i) args += (i ? ";" : "") + spec.job->args[i];
    c.set("$internal.application.program-args", args);
    if (spec.job->initialSavepointPath) c.set("execution.savepoint.path", *spec.job->initialSavepointPath);
    if (spec.job->allowNonRestoredState) c.set("execution.savepoint.ignore-unclaimed-state", "true");
  }
  return c;
}

namespace {

Status parseMetadata(const Parser& p, const YAML::Node& doc, FlinkDeployment* out) {
  FlinkDeployment& d = *out;
  const YAML::Node meta = doc["metadata"];
  if (!meta || !meta.IsMap()) return p.error(doc, "metadata", "required field is missing");
  RETURN_IF_ERROR(p.string(meta, "name", "metadata.name", &d.name, true));
  static const std::regex kDns1035("[a-z]([-a-z0-9]*[a-z0-9])?");
  if (!std::regex_match(d.name, kDns1035) || d.name.size() > 45) {
    return p.error(meta["name"], "metadata.name",
                   "'" + d.name + "' is not a valid name: a DNS-1035 label (lower-case letters, digits and '-', starting with a letter) of at most 45 characters");
  }
  RETURN_IF_ERROR(p.string(meta, "namespace", "metadata.namespace", &d.namespace_));
  RETURN_IF_ERROR(p.string(meta, "uid", "metadata.uid", &d.uid));
  if (meta["generation"] && meta["generation"].IsScalar()) {
    try {
      d.generation = meta["generation"].as<int64_t>();
    } catch (const YAML::Exception&) {
    }
  }
  RETURN_IF_ERROR(p.stringMap(meta, "labels", "metadata.labels", &d.labels));

  return Status::Ok();
}

/// spec fields outside jobManager, taskManager and job.
Status parseClusterSpec(const Parser& p, const YAML::Node& spec, FlinkDeploymentSpec* out) {
  FlinkDeploymentSpec& s = *out;
  RETURN_IF_ERROR(p.string(spec, "image", "spec.image", &s.image));
  RETURN_IF_ERROR(p.string(spec, "imagePullPolicy", "spec.imagePullPolicy", &s.imagePullPolicy));
  RETURN_IF_ERROR(p.string(spec, "flinkVersion", "spec.flinkVersion", &s.flinkVersion));
  RETURN_IF_ERROR(p.string(spec, "serviceAccount", "spec.serviceAccount", &s.serviceAccount));
  RETURN_IF_ERROR(p.string(spec, "mode", "spec.mode", &s.mode));
  const YAML::Node modeNode = spec["mode"];
  s.modeSet = modeNode && !modeNode.IsNull();
  if (s.mode != "native" && s.mode != "standalone") {
    return p.error(spec["mode"], "spec.mode", "expected 'native' or 'standalone', got '" + s.mode + "'");
  }
  RETURN_IF_ERROR(p.flatMap(spec, "flinkConfiguration", "spec.flinkConfiguration", &s.flinkConfiguration));
  RETURN_IF_ERROR(p.stringMap(spec, "logConfiguration", "spec.logConfiguration", &s.logConfiguration));
  for (const char* key : {options::kNumTaskSlots, options::kParallelismDefault}) {
    auto it = s.flinkConfiguration.find(key);
    if (it == s.flinkConfiguration.end()) continue;
    try {
      size_t pos = 0;
      int v = std::stoi(it->second, &pos);
      if (pos != it->second.size() || v < 1) throw std::invalid_argument("");
    } catch (...) {
      return p.error(spec["flinkConfiguration"], std::string("spec.flinkConfiguration.") + key,
                     "expected a positive integer, got '" + it->second + "'");
    }
  }
  if (spec["podTemplate"]) s.podTemplate = spec["podTemplate"];

  return Status::Ok();
}

/// What jobManager and taskManager share: resource / resources and podTemplate.
template <class Spec>
Status parseProcessSpec(const Parser& p, const YAML::Node& n, const std::string& path, Spec* out) {
  if (!n.IsMap()) return p.error(n, path, "expected a map");
  RETURN_IF_ERROR(p.resources(n, path, &out->resource, &out->resources, &out->resourceSet));
  RETURN_IF_ERROR(p.resource(n, path, &out->resource));
  if (n["resource"]) out->resourceSet = true;
  if (n["podTemplate"]) out->podTemplate = n["podTemplate"];
  return Status::Ok();
}

Status parseJobManager(const Parser& p, const YAML::Node& jm, JobManagerSpec* out) {
  RETURN_IF_ERROR(parseProcessSpec(p, jm, "spec.jobManager", out));
  std::optional<int> replicas;
  RETURN_IF_ERROR(p.integer(jm, "replicas", "spec.jobManager.replicas", &replicas, 1));
  if (replicas) out->replicas = *replicas;
  return Status::Ok();
}

Status parseTaskManager(const Parser& p, const YAML::Node& tm, TaskManagerSpec* out) {
  RETURN_IF_ERROR(parseProcessSpec(p, tm, "spec.taskManager", out));
  return p.integer(tm, "replicas", "spec.taskManager.replicas", &out->replicas, 1);
}

Status parseIngress(const Parser& p, const YAML::Node& n, IngressSpec* out) {
  if (!n.IsMap()) return p.error(n, "spec.ingress", "expected a map");
  RETURN_IF_ERROR(p.string(n, "template", "spec.ingress.template", &out->urlTemplate, true));
  if (out->urlTemplate.empty()) return p.error(n["template"], "spec.ingress.template", "must not be empty");
  RETURN_IF_ERROR(p.string(n, "className", "spec.ingress.className", &out->className));
  RETURN_IF_ERROR(p.stringMap(n, "annotations", "spec.ingress.annotations", &out->annotations));
  RETURN_IF_ERROR(p.stringMap(n, "labels", "spec.ingress.labels", &out->labels));
  const YAML::Node tls = n["tls"];
  if (!tls || tls.IsNull()) return Status::Ok();
  if (!tls.IsSequence()) return p.error(tls, "spec.ingress.tls", "expected a list of {hosts, secretName}");
  for (size_t i = 0; i < tls.size(); ++i) {
    const std::string path = fmt::format("spec.ingress.tls[{}]", i);
    if (!tls[i].IsMap()) return p.error(tls[i], path, "expected a map with hosts and secretName");
    IngressTls entry;
    RETURN_IF_ERROR(p.string(tls[i], "secretName", path + ".secretName", &entry.secretName));
    if (const YAML::Node hosts = tls[i]["hosts"]; hosts && !hosts.IsNull()) {
      if (!hosts.IsSequence()) return p.error(hosts, path + ".hosts", "expected a list of strings");
      for (size_t h = 0; h < hosts.size(); ++h) {
        if (!hosts[h].IsScalar()) return p.error(hosts[h], fmt::format("{}.hosts[{}]", path, h), "expected a string");
        entry.hosts.push_back(hosts[h].as<std::string>());
      }
    }
    out->tls.push_back(std::move(entry));
  }
  return Status::Ok();
}

Status parseJob(const Parser& p, const YAML::Node& job, JobSpec* out) {
  if (!job.IsMap()) return p.error(job, "spec.job", "expected a map");
  JobSpec& j = *out;
  RETURN_IF_ERROR(p.string(job, "jarURI", "spec.job.jarURI", &j.jarURI, true));
  RETURN_IF_ERROR(p.string(job, "entryClass", "spec.job.entryClass", &j.entryClass));
  if (const YAML::Node args = job["args"]; args && !args.IsNull()) {
    if (!args.IsSequence()) return p.error(args, "spec.job.args", "expected a list of strings");
    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].IsScalar()) return p.error(args[i], fmt::format("spec.job.args[{}]", i), "expected a string");
      j.args.push_back(args[i].as<std::string>());
    }
  }
  RETURN_IF_ERROR(p.integer(job, "parallelism", "spec.job.parallelism", &j.parallelism, 1));
  RETURN_IF_ERROR(p.string(job, "upgradeMode", "spec.job.upgradeMode", &j.upgradeMode));
  if (j.upgradeMode != "stateless" && j.upgradeMode != "savepoint" && j.upgradeMode != "last-state") {
    return p.error(job["upgradeMode"], "spec.job.upgradeMode",
                   "expected 'stateless', 'savepoint' or 'last-state', got '" + j.upgradeMode + "'");
  }
  RETURN_IF_ERROR(p.string(job, "state", "spec.job.state", &j.state));
  if (j.state != "running" && j.state != "suspended") {
    return p.error(job["state"], "spec.job.state", "expected 'running' or 'suspended', got '" + j.state + "'");
  }
  std::string sp;
  RETURN_IF_ERROR(p.string(job, "initialSavepointPath", "spec.job.initialSavepointPath", &sp));
  if (!sp.empty()) j.initialSavepointPath = sp;
  if (job["allowNonRestoredState"]) {
    try {
      j.allowNonRestoredState = job["allowNonRestoredState"].as<bool>();
    } catch (const YAML::Exception&) {
      return p.error(job["allowNonRestoredState"], "spec.job.allowNonRestoredState", "expected true or false");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<FlinkDeployment> parseFlinkDeployment(const YAML::Node& doc, const std::string& source) {
  Parser p(source);
  FlinkDeployment d;
  if (!doc.IsMap()) return p.error(doc, "(document)", "expected a Kubernetes object (a map)");
  // Before anything recurses over it or copies it (an alias may stand for a large subtree).
  for (const char* field : {"metadata", "spec", "status"}) {
    if (Status s = checkSpecBounds(doc[field], field); !s.ok()) return p.located(doc[field], s);
  }
  RETURN_IF_ERROR(p.string(doc, "apiVersion", "apiVersion", &d.apiVersion, true));
  RETURN_IF_ERROR(p.string(doc, "kind", "kind", &d.kind, true));
  if (d.apiVersion != "flink.apache.org/v1beta1") {
    return p.error(doc["apiVersion"], "apiVersion", "expected 'flink.apache.org/v1beta1', got '" + d.apiVersion + "'");
  }
  if (d.kind != "FlinkDeployment") return p.error(doc["kind"], "kind", "expected 'FlinkDeployment', got '" + d.kind + "'");
  RETURN_IF_ERROR(parseMetadata(p, doc, &d));
  const YAML::Node spec = doc["spec"];
  if (!spec || !spec.IsMap()) return p.error(doc, "spec", "required field is missing");
  d.specNode = YAML::Clone(spec);
  RETURN_IF_ERROR(parseClusterSpec(p, spec, &d.spec));
  if (const YAML::Node jm = spec["jobManager"]; jm && !jm.IsNull()) RETURN_IF_ERROR(parseJobManager(p, jm, &d.spec.jobManager));
  if (const YAML::Node tm = spec["taskManager"]; tm && !tm.IsNull()) RETURN_IF_ERROR(parseTaskManager(p, tm, &d.spec.taskManager));
  if (const YAML::Node ingress = spec["ingress"]; ingress && !ingress.IsNull()) {
    IngressSpec in;
    RETURN_IF_ERROR(parseIngress(p, ingress, &in));
    d.spec.ingress = std::move(in);
  }
  if (const YAML::Node job = spec["job"]; job && !job.IsNull()) {
    JobSpec j;
    RETURN_IF_ERROR(parseJob(p, job, &j));
    d.spec.job = std::move(j);
  }
  return d;
}

Result<FlinkDeployment> loadFlinkDeployment(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Error(path + ": cannot read the manifest");
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(ss.str());
  } catch (const YAML::Exception& e) {
    return Status::Error(fmt::format("{}:{}: not valid YAML: {}", path, e.mark.line + 1, e.msg));
  }
  for (const auto& doc : docs) {
    if (doc.IsMap() && doc["kind"] && doc["kind"].IsScalar() && doc["kind"].as<std::string>() == "FlinkDeployment") {
      return parseFlinkDeployment(doc, path);
    }
  }
  if (docs.size() == 1) return parseFlinkDeployment(docs[0], path);
  return Status::Error(path + ": no FlinkDeployment (kind: FlinkDeployment) in the manifest");
}

std::optional<std::pair<int, int>> parseFlinkVersion(const std::string& v) {
  static const std::regex kVersion("[vV]?([0-9]+)_([0-9]+)");
  std::smatch m;
  if (!std::regex_match(v, m, kVersion)) return std::nullopt;
  try {
    return std::make_pair(std::stoi(m[1].str()), std::stoi(m[2].str()));
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace flink::k8s
