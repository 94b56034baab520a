// What a FlinkDeployment becomes in Kubernetes (standalone mode). See resources.h.
//
// Choices worth knowing (they follow the Apache operator's standalone deployments, whose
// decorators live in flink-kubernetes-standalone, unless noted):
//  - Port names are Flink's: jobmanager-rpc (6123), blobserver (6124), rest (8081), plus
//    metrics (metrics.reporter.prom.port, the first port of a range, 9249 unless set) and, on
//    TaskManagers, data (taskmanager.data.port, 6121 unless set).
//    The ports come from the merged configuration when it holds a plain port number.
//  - Every main container gets FLINK_CONF_DIR=/opt/flink/conf and _POD_IP_ADDRESS (the pod IP,
//    Flink's variable). TaskManagers get `-Dtaskmanager.host=$(_POD_IP_ADDRESS)` after
//    `taskmanager` so that they advertise a reachable address (the runtime defaults to
//    127.0.0.1; Flink's TaskManager accepts the same -D). With high availability the JobManager
//    gets `-Djobmanager.rpc.address=$(_POD_IP_ADDRESS)`, as the Apache operator does.
//  - Memory strings are read as Flink does first ("2048m" = 2048 MiB), then as Kubernetes
//    quantities ("1.5Gi"), as the Apache operator's FlinkConfigBuilder does; the configuration
//    gets Flink sizes ("2048m") and the pods Kubernetes quantities in the canonical form the API
//    server stores ("2048m" -> "2Gi", "0.5" CPU -> "500m", for every container of the pod), so
//    that comparing these objects with the live ones converges. YAML nulls are dropped.
//  - Pod templates: spec.podTemplate, then the component's podTemplate deep-merged over it
//    (lists of objects merged by name, volumeMounts by mountPath, other lists replaced); then
//    the generated main container overlaid on the template's flink-main-container: generated
//    scalars win, env/ports/volumeMounts are upserted, resources are merged key by key and a
//    template's command, probes and other fields are kept.
//  - The JobManager Deployment uses the Recreate strategy (never two JobManagers running the
//    same application during a rollout); the headless JobManager Service publishes not-ready
//    addresses so TaskManagers can resolve the JobManager before its readiness probe passes.
#include "controller/resources.h"

#include "flink/common/strings.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace flink::k8s {
namespace {

using json = nlohmann::json;

constexpr const char* kMainContainer = "flink-main-container";
constexpr const char* kConfigVolume = "flink-config-volume";
constexpr const char* kConfDir = "/opt/flink/conf";
constexpr const char* kPodIpEnv = "_POD_IP_ADDRESS";
constexpr int kDefaultRpcPort = 6123;
constexpr int kDefaultBlobPort = 6124;
constexpr int kDefaultRestPort = 8081;
constexpr int kDefaultDataPort = 6121;
constexpr int kMetricsPort = 9249;
constexpr const char* kLogConfigKeys[] = {"log4j-console.properties", "logback-console.xml"};

// ---------------------------------------------------------------------------------------------
// Strings and quantities

/// A Kubernetes quantity ("1.5Gi", "500M", "2e9") in bytes, rounded up. Follows the Apache
/// operator's fallback: upper-cased, a trailing B dropped, a trailing I made lower-case.
std::optional<int64_t> kubernetesQuantityBytes(const std::string& text) {
  std::string q;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) q += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (!q.empty() && q.back() == 'B') q.pop_back();
  if (!q.empty() && q.back() == 'I') q.back() = 'i';
  static const std::regex kQuantity("([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(E[-+]?[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|K|M|G|T|P|E)?");
  std::smatch m;
  if (!std::regex_match(q, m, kQuantity)) return std::nullopt;
  long double v = 0;
  try {
    v = std::stold(m[1].str() + m[3].str());
  } catch (...) {
    return std::nullopt;
  }
  static const std::pair<const char*, long double> kSuffixes[] = {
      {"Ki", 1024.0L}, {"Mi", 1048576.0L}, {"Gi", 1073741824.0L}, {"Ti", 1099511627776.0L},
      {"Pi", 1125899906842624.0L}, {"Ei", 1152921504606846976.0L}, {"K", 1e3L}, {"M", 1e6L},
      {"G", 1e9L}, {"T", 1e12L}, {"P", 1e15L}, {"E", 1e18L}};
  for (const auto& [name, factor] : kSuffixes) {
    if (m[4].str() == name) v *= factor;
  }
  v = std::ceil(v);
  if (v < 0 || v > 9.2e18L) return std::nullopt;
  return static_cast<int64_t>(v);
}

/// Bytes of a memory size written the Flink way ("2048m", "1g") or, failing that, as a
/// Kubernetes quantity ("1.5Gi").
Result<int64_t> memoryBytes(const std::string& text) {
  auto flinkSize = parseMemoryBytes(text);
  if (flinkSize.ok()) return flinkSize;
  if (auto q = kubernetesQuantityBytes(text)) return *q;
  return flinkSize.status();
}

/// A byte count as a Flink memory size: "2048m", "512k" or "123b".
std::string flinkMemory(int64_t bytes) {
  if (bytes > 0 && bytes % (1LL << 20) == 0) return std::to_string(bytes >> 20) + "m";
  if (bytes > 0 && bytes % (1LL << 10) == 0) return std::to_string(bytes >> 10) + "k";
  return std::to_string(bytes) + "b";
}

/// Kubernetes' canonical DecimalSI form of m * 10^e (what the API server stores): an integer
/// mantissa and the largest exponent that is a multiple of 3, rounded up to nano units.
std::optional<std::string> canonicalDecimal(__int128 m, int e, bool negative) {
  if (m == 0) return std::string("0");
  while (m % 10 == 0) {
    m /= 10;
    ++e;
  }
  if (e < -9) {
    __int128 div = 1;
    for (int i = e; i < -9; ++i) div *= 10;
    m = (m + div - 1) / div;
    e = -9;
    while (m % 10 == 0) {
      m /= 10;
      ++e;
    }
  }
  int e3 = e >= 0 ? e / 3 * 3 : -((-e + 2) / 3 * 3);
  if (e3 > 18) e3 = 18;
  for (int i = e3; i < e; ++i) {
    m *= 10;
    if (m > static_cast<__int128>(INT64_MAX)) return std::nullopt;
  }
  static const std::pair<int, const char*> kSuffixes[] = {{-9, "n"}, {-6, "u"}, {-3, "m"}, {0, ""}, {3, "k"},
                                                          {6, "M"},  {9, "G"},  {12, "T"}, {15, "P"}, {18, "E"}};
  for (const auto& [exp, suffix] : kSuffixes) {
    if (exp == e3) return (negative ? "-" : "") + std::to_string(static_cast<int64_t>(m)) + suffix;
  }
  return std::nullopt;
}

/// A byte count as the API server stores it: the largest exact binary unit ("2Gi",
/// "1536Mi") when it is a multiple of 1024, else DecimalSI ("1G", "1000").
std::string kubernetesMemory(int64_t bytes) {
  static const char* kBinary[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  if (bytes >= 1024 && bytes % 1024 == 0) {
    int k = 0;
    while (k < 6 && bytes % 1024 == 0) {
      bytes /= 1024;
      ++k;
    }
    return std::to_string(bytes) + kBinary[k];
  }
  return canonicalDecimal(bytes < 0 ? -static_cast<__int128>(bytes) : bytes, 0, bytes < 0).value_or(std::to_string(bytes));
}

/// The canonical form the API server gives a Kubernetes quantity ("0.5" -> "500m",
/// "2048Mi" -> "2Gi", "1000M" -> "1G"); nullopt when not a quantity this handles (exponent
/// notation keeps its own format and is left alone).
std::optional<std::string> canonicalQuantity(const std::string& text) {
  static const std::regex kQuantity("([+-]?)([0-9]*)(?:\\.([0-9]*))?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?");
  std::smatch q;
  std::string t = trim(text);
  if (!std::regex_match(t, q, kQuantity)) return std::nullopt;
  std::string digits = q[2].str() + q[3].str();
  if (digits.empty()) return std::nullopt;
  size_t nz = digits.find_first_not_of('0');
  digits = nz == std::string::npos ? "0" : digits.substr(nz);
  if (digits.size() > 18) return std::nullopt;
  __int128 m = std::stoll(digits);
  int e = -static_cast<int>(q[3].str().size());
  bool negative = q[1].str() == "-";
  std::string suffix = q[4].str();
  static const std::pair<const char*, int> kBinary[] = {{"Ki", 1}, {"Mi", 2}, {"Gi", 3}, {"Ti", 4}, {"Pi", 5}, {"Ei", 6}};
  for (const auto& [name, k] : kBinary) {
    if (suffix != name) continue;
    for (int i = 0; i < k; ++i) m *= 1024;
    // An integer number of bytes of at least 1024 stays binary; anything else is DecimalSI.
    __int128 scale = 1;
    for (int i = e; i < 0; ++i) scale *= 10;
    if (m % scale == 0 && m / scale >= 1024 && m / scale <= static_cast<__int128>(INT64_MAX)) {
      int64_t bytes = static_cast<int64_t>(m / scale);
      if (bytes % 1024 != 0) return (negative ? "-" : "") + std::to_string(bytes);
      return (negative ? "-" : "") + kubernetesMemory(bytes);
    }
    return canonicalDecimal(m, e, negative);
  }
  static const std::pair<const char*, int> kDecimal[] = {{"n", -9}, {"u", -6}, {"m", -3}, {"", 0}, {"k", 3},
                                                         {"M", 6},  {"G", 9},  {"T", 12}, {"P", 15}, {"E", 18}};
  for (const auto& [name, exp] : kDecimal) {
    if (suffix == name) return canonicalDecimal(m, e + exp, negative);
  }
  return std::nullopt;
}

/// A memory size of the FlinkDeployment (Flink notation first, then a Kubernetes quantity) as
/// the API server stores it: "2048m" -> "2Gi", "1g" -> "1Gi", "1536m" -> "1536Mi",
/// "1000000000" -> "1G". Unparseable text is returned unchanged (validation reports it).
std::string kubernetesMemory(const std::string& text) {
  auto bytes = memoryBytes(text);
  if (!bytes.ok()) return text;
  return kubernetesMemory(*bytes);
}

/// CPU cores as the canonical Kubernetes quantity: 1 -> "1", 0.5 -> "500m".
std::string cpuQuantity(double cpu) {
  long long milli = std::llround(cpu * 1000.0);
  if (milli % 1000 == 0) return std::to_string(milli / 1000);
  return std::to_string(milli) + "m";
}

/// A resource quantity from a FlinkDeployment's `resources` section, canonical; memory is read
/// the Flink way first, as everywhere in the FlinkDeployment.
std::string quantityString(const std::string& resourceName, const json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (resourceName == "memory") return kubernetesMemory(s);
  return canonicalQuantity(s).value_or(s);
}

/// Pod template quantities (Kubernetes semantics) in canonical form, so that what is applied
/// reads back unchanged.
void canonicalizeResources(json& containers) {
  if (!containers.is_array()) return;
  for (auto& c : containers) {
    if (!c.is_object() || !c.contains("resources") || !c["resources"].is_object()) continue;
    for (const char* section : {"requests", "limits"}) {
      json& r = c["resources"][section];
      if (r.is_null()) {
        c["resources"].erase(section);
        continue;
      }
      if (!r.is_object()) continue;
      for (auto& [name, v] : r.items()) {
        std::string s = v.is_string() ? v.get<std::string>() : v.dump();
        v = canonicalQuantity(s).value_or(s);
      }
    }
  }
}

/// A port number in the configuration when it is a plain port, else the default.
int configuredPort(const Configuration& conf, const char* key, int def) {
  auto v = conf.get(key);
  if (!v) return def;
  try {
    size_t pos = 0;
    std::string t = trim(*v);
    int p = std::stoi(t, &pos);
    if (pos == t.size() && p > 0 && p < 65536) return p;
  } catch (...) {
  }
  return def;
}

double limitFactor(const Configuration& conf, const std::string& key) {
  auto v = conf.get(key);
  if (!v) return 1.0;
  try {
    size_t pos = 0;
    double f = std::stod(trim(*v), &pos);
    if (pos == trim(*v).size() && f >= 1.0 && std::isfinite(f)) return f;
  } catch (...) {
  }
  return 1.0;
}

bool highAvailabilityEnabled(const std::map<std::string, std::string>& conf) {
  for (const char* key : {"high-availability.type", "high-availability"}) {
    auto it = conf.find(key);
    if (it == conf.end()) continue;
    std::string v = lower(trim(it->second));
    if (!v.empty() && v != "none") return true;
  }
  return false;
}

/// "v1_19" -> {1, 19}; nullopt when not of that form.
std::optional<std::pair<int, int>> flinkVersion(const std::string& v) {
  static const std::regex kVersion("[vV]?([0-9]+)_([0-9]+)");
  std::smatch m;
  if (!std::regex_match(v, m, kVersion)) return std::nullopt;
  try {
    return std::make_pair(std::stoi(m[1].str()), std::stoi(m[2].str()));
  } catch (...) {
    return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------
// YAML to JSON

/// A plain scalar typed with YAML 1.2's core schema (null, bool, int, float); quoted
/// scalars stay strings.
json scalarToJson(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  const std::string& tag = n.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return s;
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  try {
    if (std::regex_match(s, kInt)) return std::stoll(s);
    if (std::regex_match(s, kFloat)) return std::stod(s);
  } catch (...) {
  }
  return s;
}

json yamlToJson(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return nullptr;
  if (n.IsScalar()) return scalarToJson(n);
  if (n.IsSequence()) {
    json a = json::array();
    for (const auto& item : n) a.push_back(yamlToJson(item));
    return a;
  }
  json o = json::object();
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) continue;
    json v = yamlToJson(kv.second);
    if (!v.is_null()) o[kv.first.Scalar()] = std::move(v);  // the API server drops nulls too
  }
  return o;
}

/// A scalar at `path` under `n` (maps only), without inserting anything.
bool hasScalar(const YAML::Node& n, const std::vector<std::string>& path, size_t i = 0) {
  if (!n.IsDefined()) return false;
  if (i == path.size()) return n.IsScalar() && !trim(n.Scalar()).empty();
  if (!n.IsMap()) return false;
  const YAML::Node child = n[path[i]];
  return hasScalar(child, path, i + 1);
}

bool hasMap(const YAML::Node& n, const std::vector<std::string>& path, size_t i = 0) {
  if (!n.IsDefined()) return false;
  if (i == path.size()) return n.IsMap();
  if (!n.IsMap()) return false;
  const YAML::Node child = n[path[i]];
  return hasMap(child, path, i + 1);
}

// ---------------------------------------------------------------------------------------------
// Merging

/// The key by which two lists of objects are merged: "mountPath" for volume mounts, "name" for
/// containers, volumes, env, ports...; empty when the lists are not keyed (then replaced).
std::string listKey(const json& a, const json& b) {
  for (const char* key : {"mountPath", "name"}) {
    auto keyed = [&](const json& list) {
      return std::all_of(list.begin(), list.end(),
                         [&](const json& e) { return e.is_object() && e.contains(key) && e[key].is_string(); });
    };
    if (keyed(a) && keyed(b)) return key;
  }
  return "";
}

/// Deep merge of `over` onto `base` (the Apache operator's pod template merge, with lists of
/// named objects merged by name).
json deepMerge(const json& base, const json& over) {
  if (over.is_null()) return base;
  if (base.is_object() && over.is_object()) {
    json r = base;
    for (const auto& [k, v] : over.items()) r[k] = r.contains(k) ? deepMerge(r[k], v) : v;
    return r;
  }
  if (base.is_array() && over.is_array()) {
    std::string key = listKey(base, over);
    if (key.empty()) return over;
    json r = base;
    for (const auto& e : over) {
      auto it = std::find_if(r.begin(), r.end(), [&](const json& x) { return x[key] == e[key]; });
      if (it != r.end()) {
        *it = deepMerge(*it, e);
      } else {
        r.push_back(e);
      }
    }
    return r;
  }
  return over;
}

/// Replaces the first element of `list` matching `item` on any of `keys` (dropping further
/// matches), or appends `item`.
void upsert(json& list, const json& item, std::initializer_list<const char*> keys) {
  if (!list.is_array()) list = json::array();
  auto matches = [&](const json& e) {
    if (!e.is_object()) return false;
    for (const char* k : keys) {
      if (e.contains(k) && item.contains(k) && e[k] == item[k]) return true;
    }
    return false;
  };
  bool placed = false;
  json out = json::array();
  for (const auto& e : list) {
    if (!matches(e)) {
      out.push_back(e);
    } else if (!placed) {
      out.push_back(item);
      placed = true;
    }
  }
  if (!placed) out.push_back(item);
  list = std::move(out);
}

// ---------------------------------------------------------------------------------------------
// Building blocks

json ownerReference(const FlinkDeployment& fd) {
  return json{{"apiVersion", "flink.apache.org/v1beta1"},
              {"kind", "FlinkDeployment"},
              {"name", fd.name},
              {"uid", fd.uid},
              {"controller", true},
              {"blockOwnerDeletion", true}};
}

json labels(const FlinkDeployment& fd, const char* component) {
  json l = {{"app", fd.name}};
  if (component) l["component"] = component;
  return l;
}

json metadata(const FlinkDeployment& fd, const std::string& name, const char* component) {
  return json{{"name", name},
              {"namespace", fd.namespace_},
              {"labels", labels(fd, component)},
              {"ownerReferences", json::array({ownerReference(fd)})}};
}

json port(const char* name, int number) {
  return json{{"name", name}, {"containerPort", number}, {"protocol", "TCP"}};
}

json servicePort(const char* name, int number) {
  return json{{"name", name}, {"port", number}, {"targetPort", number}, {"protocol", "TCP"}};
}

/// What the spec says about one component's memory, read from the spec as written when
/// available (the model fills defaults in).
struct MemorySpec {
  bool inSpec = false;        // resource.memory or resources.{requests,limits}.memory given
  bool resourceGiven = false; // `resource` given
  bool resourcesGiven = false;
};

MemorySpec memorySpec(const FlinkDeployment& fd, bool jm) {
  MemorySpec m;
  const std::string comp = jm ? "jobManager" : "taskManager";
  const YAML::Node& spec = fd.specNode;
  if (spec.IsDefined() && spec.IsMap()) {
    m.resourceGiven = hasMap(spec, {comp, "resource"});
    m.resourcesGiven = hasMap(spec, {comp, "resources"});
    m.inSpec = hasScalar(spec, {comp, "resource", "memory"}) || hasScalar(spec, {comp, "resources", "requests", "memory"}) ||
               hasScalar(spec, {comp, "resources", "limits", "memory"});
    return m;
  }
  // Built in code rather than parsed: trust the model.
  bool set = jm ? fd.spec.jobManager.resourceSet : fd.spec.taskManager.resourceSet;
  const YAML::Node& resources = jm ? fd.spec.jobManager.resources : fd.spec.taskManager.resources;
  const Resource& r = jm ? fd.spec.jobManager.resource : fd.spec.taskManager.resource;
  m.resourcesGiven = resources.IsDefined() && resources.IsMap();
  m.resourceGiven = set && !m.resourcesGiven;
  m.inSpec = set && !r.memory.empty();
  return m;
}

const char* processSizeKey(bool jm) {
  return jm ? "jobmanager.memory.process.size" : "taskmanager.memory.process.size";
}

/// Flink memory keys that size a component without resource.memory.
std::vector<std::string> memoryConfigKeys(bool jm) {
  if (jm) return {"jobmanager.memory.process.size", "jobmanager.memory.flink.size", "jobmanager.memory.heap.size"};
  return {"taskmanager.memory.process.size", "taskmanager.memory.flink.size"};
}

/// The process memory of a component: resource.memory when given, else the configured
/// process size, else the model's default.
std::string processMemory(const FlinkDeployment& fd, bool jm, const Configuration& conf) {
  const Resource& r = jm ? fd.spec.jobManager.resource : fd.spec.taskManager.resource;
  if (memorySpec(fd, jm).inSpec) return r.memory;
  if (auto v = conf.get(processSizeKey(jm)); v && memoryBytes(*v).ok()) return *v;
  return r.memory;
}

struct Ports {
  int rpc = kDefaultRpcPort;
  int blob = kDefaultBlobPort;
  int rest = kDefaultRestPort;
  int data = kDefaultDataPort;
  int metrics = kMetricsPort;
};

/// metrics.reporter.prom.port: a port or a range "9249-9259" (Flink's reporter binds the first
/// free one; one process per pod binds the first).
int metricsPort(const Configuration& conf) {
  auto v = conf.get("metrics.reporter.prom.port");
  if (!v) return kMetricsPort;
  Configuration first;
  first.set("p", trim(v->substr(0, v->find('-'))));
  return configuredPort(first, "p", kMetricsPort);
}

/// The configuration written to the ConfigMap, and the ports it settles.
Configuration clusterConfiguration(const FlinkDeployment& fd, const OperatorConfig& config, Ports* ports) {
  Configuration c;
  for (const auto& [k, v] : config.defaultConfiguration) c.set(k, v);
  c.addAll(fd.effectiveConfiguration());

  ports->rpc = configuredPort(c, options::kRpcPort, kDefaultRpcPort);
  ports->blob = configuredPort(c, "blob.server.port", kDefaultBlobPort);
  ports->rest = configuredPort(c, options::kRestPort, kDefaultRestPort);
  ports->data = configuredPort(c, options::kTaskManagerDataPort, kDefaultDataPort);
  ports->metrics = metricsPort(c);

  c.set(options::kRpcAddress, jobManagerName(fd));
  c.set(options::kRpcPort, std::to_string(ports->rpc));
  c.set("blob.server.port", std::to_string(ports->blob));
  c.set(options::kRestAddress, jobManagerName(fd));
  c.set(options::kRestPort, std::to_string(ports->rest));
  c.set(options::kTaskManagerDataPort, std::to_string(ports->data));
  c.set("kubernetes.cluster-id", fd.name);
  c.set("kubernetes.namespace", fd.namespace_);
  if (highAvailabilityEnabled(c.entries())) c.set("high-availability.cluster-id", fd.name);
  c.set(options::kShutdownOnFinish, "false");
  // As the Apache operator's standalone clusters: the job jar on the classpath (local:// is
  // native mode's scheme for a file in the image), remote execution target.
  c.set("execution.target", "remote");
  if (fd.spec.job) {
    const std::string& jar = fd.spec.job->jarURI;
    if (jar.rfind("local://", 0) == 0) {
      c.set("pipeline.classpaths", "file://" + jar.substr(8));
    } else if (jar.rfind("file:", 0) == 0) {
      c.set("pipeline.classpaths", jar);
    }
  }

  for (bool jm : {true, false}) {
    bool configured = false;
    for (const auto& k : memoryConfigKeys(jm)) configured = configured || c.contains(k);
    if (memorySpec(fd, jm).inSpec || !configured) {
      auto bytes = memoryBytes(processMemory(fd, jm, c));
      if (bytes.ok()) c.set(processSizeKey(jm), flinkMemory(*bytes));
    }
  }
  return c;
}

/// The main container's resources: the template's, then the spec's `resources` (memory as
/// Kubernetes quantities), then requests and limits from `resource` (limits scaled by
/// kubernetes.<component>.{cpu,memory}.limit-factor).
json containerResources(const FlinkDeployment& fd, bool jm, const Configuration& conf, const json& fromTemplate) {
  json r = fromTemplate.is_object() ? fromTemplate : json::object();
  const MemorySpec ms = memorySpec(fd, jm);
  const YAML::Node& resources = jm ? fd.spec.jobManager.resources : fd.spec.taskManager.resources;
  if (ms.resourcesGiven) {
    json given = yamlToJson(resources);
    for (const char* section : {"requests", "limits"}) {
      if (!given.contains(section) || !given[section].is_object()) continue;
      for (auto& [name, v] : given[section].items()) v = quantityString(name, v);
    }
    r = deepMerge(r, given);
  }
  if (ms.resourceGiven || !ms.resourcesGiven) {
    const Resource& res = jm ? fd.spec.jobManager.resource : fd.spec.taskManager.resource;
    const std::string comp = jm ? "jobmanager" : "taskmanager";
    const std::string memory = processMemory(fd, jm, conf);
    auto bytes = memoryBytes(memory);
    double memFactor = limitFactor(conf, "kubernetes." + comp + ".memory.limit-factor");
    double cpuFactor = limitFactor(conf, "kubernetes." + comp + ".cpu.limit-factor");
    std::string requestMemory = kubernetesMemory(memory);
    std::string limitMemory = requestMemory;
    if (bytes.ok() && memFactor != 1.0) {
      int64_t mib = static_cast<int64_t>(std::floor(static_cast<double>(*bytes >> 20) * memFactor));
      limitMemory = kubernetesMemory(mib << 20);
    }
    r["requests"]["memory"] = requestMemory;
    r["limits"]["memory"] = limitMemory;
    r["requests"]["cpu"] = cpuQuantity(res.cpu);
    r["limits"]["cpu"] = cpuQuantity(res.cpu * cpuFactor);
    if (res.ephemeralStorage) {
      r["requests"]["ephemeral-storage"] = *res.ephemeralStorage;
      r["limits"]["ephemeral-storage"] = *res.ephemeralStorage;
    }
  }
  return r;
}

json podIpEnv() {
  return json{{"name", kPodIpEnv},
              {"valueFrom", {{"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", "status.podIP"}}}}}};
}

/// The pod template of one component: templates merged, the generated main container
/// overlaid, the configuration volume added.
json podTemplate(const FlinkDeployment& fd, const OperatorConfig& config, bool jm, const Configuration& conf,
                 const Ports& ports) {
  const char* component = jm ? "jobmanager" : "taskmanager";
  const YAML::Node& own = jm ? fd.spec.jobManager.podTemplate : fd.spec.taskManager.podTemplate;
  json base = yamlToJson(fd.spec.podTemplate);
  json tmpl = deepMerge(base.is_object() ? base : json::object(), yamlToJson(own));
  if (!tmpl.is_object()) tmpl = json::object();

  // Metadata: the templates' labels and annotations; selector labels win, the Prometheus
  // annotations are defaults.
  json meta = json::object();
  json tmplMeta = tmpl.contains("metadata") && tmpl["metadata"].is_object() ? tmpl["metadata"] : json::object();
  json podLabels = tmplMeta.contains("labels") && tmplMeta["labels"].is_object() ? tmplMeta["labels"] : json::object();
  podLabels.update(labels(fd, component));
  json annotations = {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", std::to_string(kMetricsPort)}};
  if (tmplMeta.contains("annotations") && tmplMeta["annotations"].is_object()) {
    annotations.update(tmplMeta["annotations"]);
  }
  meta["labels"] = podLabels;
  meta["annotations"] = annotations;

  json spec = tmpl.contains("spec") && tmpl["spec"].is_object() ? tmpl["spec"] : json::object();
  json containers = spec.contains("containers") && spec["containers"].is_array() ? spec["containers"] : json::array();
  auto mainIt = std::find_if(containers.begin(), containers.end(), [](const json& c) {
    return c.is_object() && c.contains("name") && c["name"] == kMainContainer;
  });
  json main = mainIt != containers.end() ? *mainIt : json::object();

  // The generated main container.
  main["name"] = kMainContainer;
  main["image"] = fd.spec.image.empty() ? config.defaultImage : fd.spec.image;
  if (!fd.spec.imagePullPolicy.empty()) main["imagePullPolicy"] = fd.spec.imagePullPolicy;
  json args = json::array();
  if (!jm) {
    args = {"taskmanager", fmt::format("-D{}=$({})", options::kTaskManagerHost, kPodIpEnv)};
  } else if (fd.spec.job) {
    args.push_back("standalone-job");
    if (!fd.spec.job->entryClass.empty()) {
      args.push_back("--job-classname");
      args.push_back(fd.spec.job->entryClass);
    }
    if (highAvailabilityEnabled(conf.entries())) args.push_back(fmt::format("-D{}=$({})", options::kRpcAddress, kPodIpEnv));
    for (const auto& a : fd.spec.job->args) args.push_back(a);
  } else {
    args.push_back("jobmanager");
    if (highAvailabilityEnabled(conf.entries())) args.push_back(fmt::format("-D{}=$({})", options::kRpcAddress, kPodIpEnv));
  }
  main["args"] = args;
  upsert(main["env"], json{{"name", "FLINK_CONF_DIR"}, {"value", kConfDir}}, {"name"});
  upsert(main["env"], podIpEnv(), {"name"});
  std::vector<json> ports_;
  if (jm) {
    ports_ = {port("rest", ports.rest), port("jobmanager-rpc", ports.rpc), port("blobserver", ports.blob),
              port("metrics", ports.metrics)};
  } else {
    ports_ = {port("data", ports.data), port("metrics", ports.metrics)};
  }
  for (const auto& p : ports_) upsert(main["ports"], p, {"name", "containerPort"});
  upsert(main["volumeMounts"], json{{"name", kConfigVolume}, {"mountPath", kConfDir}}, {"mountPath"});
  main["resources"] = containerResources(fd, jm, conf, main.contains("resources") ? main["resources"] : json());
  if (jm && !main.contains("readinessProbe")) {
    main["readinessProbe"] = {{"tcpSocket", {{"port", ports.rest}}}, {"initialDelaySeconds", 1}, {"periodSeconds", 5}};
  }

  if (mainIt != containers.end()) {
    *mainIt = main;
  } else {
    containers.insert(containers.begin(), main);
  }
  canonicalizeResources(containers);
  spec["containers"] = containers;
  if (spec.contains("initContainers")) canonicalizeResources(spec["initContainers"]);
  upsert(spec["volumes"], json{{"name", kConfigVolume}, {"configMap", {{"name", configMapName(fd)}}}}, {"name"});
  if (!fd.spec.serviceAccount.empty()) spec["serviceAccountName"] = fd.spec.serviceAccount;

  return json{{"metadata", meta}, {"spec", spec}};
}

json deployment(const FlinkDeployment& fd, const OperatorConfig& config, bool jm, const Configuration& conf,
                const Ports& ports) {
  const char* component = jm ? "jobmanager" : "taskmanager";
  json spec = {{"replicas", jm ? fd.spec.jobManager.replicas : fd.taskManagerReplicas()},
               {"selector", {{"matchLabels", labels(fd, component)}}},
               {"template", podTemplate(fd, config, jm, conf, ports)}};
  if (jm) spec["strategy"] = {{"type", "Recreate"}};
  return json{{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", metadata(fd, jm ? jobManagerName(fd) : taskManagerName(fd), component)},
              {"spec", spec}};
}

}  // namespace

std::string configMapName(const FlinkDeployment& fd) { return "flink-config-" + fd.name; }
std::string jobManagerName(const FlinkDeployment& fd) { return fd.name; }
std::string taskManagerName(const FlinkDeployment& fd) { return fd.name + "-taskmanager"; }
std::string restServiceName(const FlinkDeployment& fd) { return fd.name + "-rest"; }

std::vector<nlohmann::json> desiredResources(const FlinkDeployment& fd, const OperatorConfig& config) {
  Ports ports;
  const Configuration conf = clusterConfiguration(fd, config, &ports);

  // ConfigMap: config.yaml from Flink 1.19 on (and when the version is not given), the
  // legacy flink-conf.yaml before; the logging configuration next to it.
  auto version = flinkVersion(fd.spec.flinkVersion);
  bool legacy = version && *version < std::make_pair(1, 19);
  json data = json::object();
  data[legacy ? "flink-conf.yaml" : "config.yaml"] = conf.toYaml();
  for (const char* key : kLogConfigKeys) {
    auto it = fd.spec.logConfiguration.find(key);
    if (it != fd.spec.logConfiguration.end()) data[key] = it->second;
  }
  json configMap = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", metadata(fd, configMapName(fd), nullptr)},
                    {"data", data}};

  // The JobManager's headless Service (RPC, blob server) and its REST Service.
  json internal = {{"apiVersion", "v1"},
                   {"kind", "Service"},
                   {"metadata", metadata(fd, jobManagerName(fd), "jobmanager")},
                   {"spec",
                    {{"clusterIP", "None"},
                     {"publishNotReadyAddresses", true},
                     {"selector", labels(fd, "jobmanager")},
                     {"ports", json::array({servicePort("jobmanager-rpc", ports.rpc), servicePort("blobserver", ports.blob)})}}}};
  json restSpec = {{"type", "ClusterIP"},
                   {"selector", labels(fd, "jobmanager")},
                   {"ports", json::array({servicePort("rest", ports.rest)})}};
  std::string exposed = lower(conf.getString("kubernetes.rest-service.exposed.type", "ClusterIP"));
  if (exposed == "nodeport") {
    restSpec["type"] = "NodePort";
  } else if (exposed == "loadbalancer") {
    restSpec["type"] = "LoadBalancer";
  } else if (exposed == "headless_clusterip") {
    restSpec["clusterIP"] = "None";
  }
  json rest = {{"apiVersion", "v1"},
               {"kind", "Service"},
               {"metadata", metadata(fd, restServiceName(fd), "jobmanager")},
               {"spec", restSpec}};

  return {configMap, internal, rest, deployment(fd, config, true, conf, ports), deployment(fd, config, false, conf, ports)};
}

Status validateFlinkDeployment(const FlinkDeployment& fd, const FlinkDeployment* lastValid) {
  // Name: a DNS-1035 label of at most 45 characters (the JobManager Service is named after it).
  static const std::regex kDns1035("[a-z]([-a-z0-9]*[a-z0-9])?");
  if (fd.name.empty()) return Status::Error("metadata.name: FlinkDeployment name must be defined");
  if (fd.name.size() > 45) {
    return Status::Error(fmt::format("metadata.name: Invalid FlinkDeployment name '{}': must be no more than 45 characters (got {})",
                                     fd.name, fd.name.size()));
  }
  if (!std::regex_match(fd.name, kDns1035)) {
    return Status::Error(fmt::format(
        "metadata.name: Invalid FlinkDeployment name '{}': must be a DNS-1035 label (lower-case letters, digits and "
        "'-', starting with a letter and ending with a letter or digit)",
        fd.name));
  }

  const auto& conf = fd.spec.flinkConfiguration;
  // Slots and parallelism: positive integers.
  for (const char* key : {options::kNumTaskSlots, options::kParallelismDefault}) {
    auto it = conf.find(key);
    if (it == conf.end()) continue;
    bool ok = false;
    try {
      size_t pos = 0;
      std::string t = trim(it->second);
      ok = std::stoi(t, &pos) >= 1 && pos == t.size();
    } catch (...) {
    }
    if (!ok) {
      return Status::Error(fmt::format("spec.flinkConfiguration.{}: must be a positive integer, got '{}'", key, it->second));
    }
  }

  // Job.
  if (fd.spec.job) {
    const JobSpec& job = *fd.spec.job;
    if (job.parallelism && *job.parallelism < 1) {
      return Status::Error(fmt::format("spec.job.parallelism: Job parallelism must be larger than 0, got {}", *job.parallelism));
    }
    if (trim(job.jarURI).empty()) return Status::Error("spec.job.jarURI: Jar URI must be defined");
    if (job.upgradeMode == "savepoint" || job.upgradeMode == "last-state") {
      bool checkpointDir = false;
      for (const char* key : {"state.checkpoints.dir", "execution.checkpointing.dir"}) {
        auto it = conf.find(key);
        checkpointDir = checkpointDir || (it != conf.end() && !trim(it->second).empty());
      }
      if (!checkpointDir) {
        return Status::Error(fmt::format(
            "spec.flinkConfiguration.state.checkpoints.dir: Checkpoint directory[state.checkpoints.dir] must be defined "
            "for {} upgrade mode",
            job.upgradeMode));
      }
    }
  }

  // JobManager and TaskManager memory, replicas.
  for (bool jm : {true, false}) {
    const char* comp = jm ? "JobManager" : "TaskManager";
    const std::string path = jm ? "spec.jobManager" : "spec.taskManager";
    const MemorySpec ms = memorySpec(fd, jm);
    bool configured = false;
    for (const auto& k : memoryConfigKeys(jm)) configured = configured || conf.count(k) != 0;
    if (!ms.inSpec && !configured) {
      return Status::Error(fmt::format("{}.resource.memory: {} resource memory must be defined.", path, comp));
    }
    if (ms.inSpec) {
      const Resource& r = jm ? fd.spec.jobManager.resource : fd.spec.taskManager.resource;
      auto bytes = memoryBytes(r.memory);
      if (!bytes.ok()) {
        return Status::Error(fmt::format("{}.resource.memory: {} resource memory parse error: {}", path, comp,
                                         bytes.status().message()));
      }
      if (*bytes <= 0) return Status::Error(fmt::format("{}.resource.memory: {} resource memory must be positive", path, comp));
    }
    const Resource& r = jm ? fd.spec.jobManager.resource : fd.spec.taskManager.resource;
    if (!(r.cpu > 0)) return Status::Error(fmt::format("{}.resource.cpu: {} resource cpu must be positive", path, comp));
  }
  if (fd.spec.jobManager.replicas < 1) {
    return Status::Error("spec.jobManager.replicas: JobManager replicas should not be configured less than one.");
  }
  if (fd.spec.jobManager.replicas > 1 && !highAvailabilityEnabled(conf)) {
    return Status::Error(
        "spec.jobManager.replicas: High availability should be enabled when starting standalone JobManagers with more "
        "than one replica (set high-availability.type)");
  }
  if (fd.spec.taskManager.replicas && *fd.spec.taskManager.replicas < 1) {
    return Status::Error("spec.taskManager.replicas: TaskManager replicas should not be configured less than one.");
  }

  // No switch between session and application mode.
  if (lastValid) {
    if (fd.spec.job && !lastValid->spec.job) return Status::Error("spec.job: Cannot switch from session to job cluster");
    if (!fd.spec.job && lastValid->spec.job) return Status::Error("spec.job: Cannot switch from job to session cluster");
  }
  return Status::Ok();
}

}  // namespace flink::k8s
