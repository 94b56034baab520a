// The pod templates. See pod_template.h for the merge rules.
//
// Every main container gets FLINK_CONF_DIR=/opt/flink/conf and _POD_IP_ADDRESS (the pod IP,
// Flink's variable). TaskManagers get `-Dtaskmanager.host=$(_POD_IP_ADDRESS)` after
// `taskmanager` so that they advertise a reachable address (the runtime defaults to
// 127.0.0.1; Flink's TaskManager accepts the same -D). With high availability the JobManager
// gets `-Djobmanager.rpc.address=$(_POD_IP_ADDRESS)`, as the Apache operator does.
#include "controller/resources/pod_template.h"

#include "controller/resources/cluster_config.h"
#include "controller/resources/component_resources.h"
#include "controller/resources/object_meta.h"
#include "controller/resources/quantities.h"
#include "controller/resources/yaml_json.h"
#include "flink/common/strings.h"

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace flink::k8s::detail {
namespace {

using json = nlohmann::json;

constexpr const char* kMainContainer = "flink-main-container";
constexpr const char* kConfigVolume = "flink-config-volume";
constexpr const char* kPodIpEnv = "_POD_IP_ADDRESS";

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

json port(const char* name, int number) {
  return json{{"name", name}, {"containerPort", number}, {"protocol", "TCP"}};
}

json podIpEnv() {
  return json{{"name", kPodIpEnv},
              {"valueFrom", {{"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", "status.podIP"}}}}}};
}

/// The pod's metadata: the templates' labels and annotations; selector labels win, the
/// Prometheus annotations are defaults.
json podMetadata(const FlinkDeployment& fd, const char* component, const json& tmpl) {
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
  return meta;
}

/// The main container's arguments: `taskmanager` with the advertised host, `standalone-job`
/// with the job's class and arguments (application mode) or `jobmanager` (session mode).
json mainContainerArgs(const FlinkDeployment& fd, bool jm, const Configuration& conf) {
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
  return args;
}

/// The generated main container overlaid on `main` (the template's flink-main-container or an
/// empty object).
void overlayMainContainer(json& main, const FlinkDeployment& fd, const OperatorConfig& config, bool jm,
                          const Configuration& conf, const Ports& ports) {
  main["name"] = kMainContainer;
  main["image"] = fd.spec.image.empty() ? config.defaultImage : fd.spec.image;
  if (!fd.spec.imagePullPolicy.empty()) main["imagePullPolicy"] = fd.spec.imagePullPolicy;
  main["args"] = mainContainerArgs(fd, jm, conf);
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
  if (generatesTls(conf))
    upsert(main["volumeMounts"], json{{"name", kTlsVolume}, {"mountPath", kTlsMountDir}, {"readOnly", true}}, {"mountPath"});
  main["resources"] = containerResources(fd, jm, conf, main.contains("resources") ? main["resources"] : json());
  if (jm && !main.contains("readinessProbe")) {
    main["readinessProbe"] = {{"tcpSocket", {{"port", ports.rest}}}, {"initialDelaySeconds", 1}, {"periodSeconds", 1}};
  }
}

}  // namespace

json deepMerge(const json& base, const json& over, ListMerge lists) {
  if (over.is_null()) return base;
  if (base.is_object() && over.is_object()) {
    json r = base;
    for (const auto& [k, v] : over.items()) r[k] = r.contains(k) ? deepMerge(r[k], v, lists) : v;
    return r;
  }
  if (base.is_array() && over.is_array()) {
    std::string key = lists == ListMerge::kByName ? listKey(base, over) : "";
    if (!key.empty()) {
      json r = base;
      for (const auto& e : over) {
        auto it = std::find_if(r.begin(), r.end(), [&](const json& x) { return x[key] == e[key]; });
        if (it != r.end()) {
          *it = deepMerge(*it, e, lists);
        } else {
          r.push_back(e);
        }
      }
      return r;
    }
    auto objects = [](const json& list) {
      return std::all_of(list.begin(), list.end(), [](const json& e) { return e.is_object(); });
    };
    if (!objects(base) || !objects(over)) return over;
    // Element i of `over` merged onto element i of `base`; the longer list's tail kept.
    json r = base;
    for (size_t i = 0; i < over.size(); ++i) {
      if (i < r.size()) {
        r[i] = deepMerge(r[i], over[i], lists);
      } else {
        r.push_back(over[i]);
      }
    }
    return r;
  }
  return over;
}

ListMerge podTemplateListMerge(const FlinkDeployment& fd, const OperatorConfig& config) {
  const std::string key = "kubernetes.operator.pod-template.merge-arrays-by-name";
  auto it = fd.spec.flinkConfiguration.find(key);
  std::string v;
  if (it != fd.spec.flinkConfiguration.end()) {
    v = it->second;
  } else if (auto d = config.defaultConfiguration.find(key); d != config.defaultConfiguration.end()) {
    v = d->second;
  }
  return lower(trim(v)) == "true" ? ListMerge::kByName : ListMerge::kByPosition;
}

json podTemplate(const FlinkDeployment& fd, const OperatorConfig& config, bool jm, const Configuration& conf,
                 const Ports& ports) {
  const char* component = jm ? "jobmanager" : "taskmanager";
  const YAML::Node& own = jm ? fd.spec.jobManager.podTemplate : fd.spec.taskManager.podTemplate;
  json base = yamlToJson(fd.spec.podTemplate);
  json tmpl = deepMerge(base.is_object() ? base : json::object(), yamlToJson(own), podTemplateListMerge(fd, config));
  if (!tmpl.is_object()) tmpl = json::object();
  json meta = podMetadata(fd, component, tmpl);

  json spec = tmpl.contains("spec") && tmpl["spec"].is_object() ? tmpl["spec"] : json::object();
  json containers = spec.contains("containers") && spec["containers"].is_array() ? spec["containers"] : json::array();
  auto mainIt = std::find_if(containers.begin(), containers.end(), [](const json& c) {
    return c.is_object() && c.contains("name") && c["name"] == kMainContainer;
  });
  json main = mainIt != containers.end() ? *mainIt : json::object();
  overlayMainContainer(main, fd, config, jm, conf, ports);

  if (mainIt != containers.end()) {
    *mainIt = main;
  } else {
    containers.insert(containers.begin(), main);
  }
  canonicalizeResources(containers);
  spec["containers"] = containers;
  if (spec.contains("initContainers")) canonicalizeResources(spec["initContainers"]);
  upsert(spec["volumes"], json{{"name", kConfigVolume}, {"configMap", {{"name", configMapName(fd)}}}}, {"name"});
  if (generatesTls(conf))
    upsert(spec["volumes"], json{{"name", kTlsVolume}, {"secret", {{"secretName", tlsSecretName(fd)}, {"defaultMode", 0400}}}},
           {"name"});
  if (!fd.spec.serviceAccount.empty()) spec["serviceAccountName"] = fd.spec.serviceAccount;

  return json{{"metadata", meta}, {"spec", spec}};
}

}  // namespace flink::k8s::detail
