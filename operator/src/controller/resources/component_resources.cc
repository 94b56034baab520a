// The memory and CPU of the components. See component_resources.h; the quantities follow
// quantities.h (Flink notation first, canonical Kubernetes quantities in the pods).
#include "controller/resources/component_resources.h"

#include "controller/resources/pod_template.h"
#include "controller/resources/quantities.h"
#include "controller/resources/yaml_json.h"
#include "flink/common/strings.h"

#include <cmath>
#include <cstdint>
#include <string>

namespace flink::k8s::detail {
namespace {

using json = nlohmann::json;

/// The limit factor under `key` (kubernetes.<component>.{cpu,memory}.limit-factor): a number of
/// at least 1, else 1.
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

}  // namespace

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

std::vector<std::string> memoryConfigKeys(bool jm) {
  if (jm) return {"jobmanager.memory.process.size", "jobmanager.memory.flink.size", "jobmanager.memory.heap.size"};
  return {"taskmanager.memory.process.size", "taskmanager.memory.flink.size"};
}

std::string processMemory(const FlinkDeployment& fd, bool jm, const Configuration& conf) {
  const Resource& r = jm ? fd.spec.jobManager.resource : fd.spec.taskManager.resource;
  if (memorySpec(fd, jm).inSpec) return r.memory;
  if (auto v = conf.get(processSizeKey(jm)); v && memoryBytes(*v).ok()) return *v;
  return r.memory;
}

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

}  // namespace flink::k8s::detail
