#include "controller/flink_deployment_controller.h"

#include "controller/child_digest.h"
#include "controller/finalizers.h"

#include <fmt/format.h>

#include "api/json_yaml.h"
#include "api/spec_bounds.h"
#include "controller/resources/cluster_config.h"
#include "controller/resources/quantities.h"
#include "flink/common/log.h"
#include "flink/common/strings.h"

namespace flink::k8s {

using nlohmann::json;

namespace {

// True when every field of `want` is present with an equal value in `have` (objects compare
// recursively; arrays and scalars compare whole). Fields the server or others add are ignored.
bool contains(const json& have, const json& want) {
  if (want.is_object()) {
    if (!have.is_object()) return false;
    for (const auto& [k, v] : want.items()) {
      auto it = have.find(k);
      if (it == have.end()) {
        if (v.is_null()) continue;
        return false;
      }
      if (!contains(*it, v)) return false;
    }
    return true;
  }
  if (want.is_array()) {
    if (!have.is_array() || have.size() != want.size()) return false;
    for (size_t i = 0; i < want.size(); ++i) {
      if (!contains(have[i], want[i])) return false;
    }
    return true;
  }
  if (want.is_number() && have.is_number()) return want.get<double>() == have.get<double>();
  return have == want;
}

}  // namespace

Result<FlinkDeployment> FlinkDeploymentController::parseObject(const json& obj) {
  const json& meta = obj.contains("metadata") && obj["metadata"].is_object() ? obj["metadata"] : json::object();
  auto str = [&](const char* key) { return meta.contains(key) && meta[key].is_string() ? meta[key].get<std::string>() : ""; };
  std::string source = "FlinkDeployment " + str("namespace") + "/" + str("name");
  // Bounded before the conversion, which recurses over the object.
  for (const char* field : {"metadata", "spec", "status"}) {
    if (!obj.contains(field)) continue;
    if (Status s = checkSpecBounds(obj[field], field); !s.ok()) return Status::Error(source + ": " + s.message());
  }
  return parseFlinkDeployment(jsonToYaml(obj), source);
}

FlinkDeploymentController::FlinkDeploymentController(std::shared_ptr<KubeApi> client, Informers informers,
                                                     OperatorConfig config)
    : FlinkDeploymentController(std::move(client), informers, std::make_shared<OperatorConfigStore>(std::move(config))) {}

FlinkDeploymentController::FlinkDeploymentController(std::shared_ptr<KubeApi> client, Informers informers,
                                                     std::shared_ptr<OperatorConfigStore> configs)
    : client_(client), informers_(informers), configs_(std::move(configs)), events_(std::move(client)) {}

std::optional<std::string> FlinkDeploymentController::ownerKey(const json& child) {
  const json& meta = child.value("metadata", json::object());
  for (const auto& ref : meta.value("ownerReferences", json::array())) {
    if (ref.value("kind", "") == "FlinkDeployment" && ref.value("apiVersion", "").rfind("flink.apache.org/", 0) == 0) {
      return meta.value("namespace", "") + "/" + ref.value("name", "");
    }
  }
  return std::nullopt;
}

std::map<std::string, int> FlinkDeploymentController::lifecycleStates() const {
  std::map<std::string, int> out;
  informers_.flinkDeployments->forEach([&](const json& fd) {
    std::string s = fd.value("status", json::object()).value("lifecycleState", "");
    out[s.empty() ? "CREATED" : s]++;
  });
  return out;
}

Status FlinkDeploymentController::applyChild(const json& fd, const json& desiredIn, bool* changed) {
  *changed = false;
  const std::string kind = desiredIn.value("kind", "");
  const ResourceType& type = kind == "Deployment" ? types::kDeployment
                             : kind == "Service"  ? types::kService
                             : kind == "Ingress"  ? types::kIngress
                                                  : types::kConfigMap;
  Informer* inf = kind == "Deployment" ? informers_.deployments
                  : kind == "Service"  ? informers_.services
                  : kind == "Ingress"  ? informers_.ingresses
                                       : informers_.configMaps;
  // The digest of the desired object travels with it (child_digest.h): an unchanged child is
  // recognised from the informer's compact record, without a request.
  const std::string desiredHash = jsonDigest(desiredIn);
  json desired = desiredIn;
  desired["metadata"]["annotations"][kDesiredHashAnnotation] = desiredHash;
  std::string ns = desired["metadata"].value("namespace", "default");
  std::string name = desired["metadata"].value("name", "");
  const std::string digestKey = kind + "/" + ns + "/" + name;
  auto current = inf->get(ns, name);
  if (current && childDigests_.upToDate(digestKey, *current, desiredHash)) return Status::Ok();
  if (!current) {
    ApiResponse r = client_->post(type.collectionPath(ns), desired);
    if (r.ok()) {
      *changed = true;
      childDigests_.written(digestKey, desiredHash, r.body);
      events_.record(fd, "Normal", "Created", fmt::format("Created {} {}", kind, name));
      return Status::Ok();
    }
    if (!r.conflict()) return Status::Error(fmt::format("creating {} {}: {}", kind, name, r.error));
    current = client_->get(type.objectPath(ns, name)).body;  // created meanwhile: compare with it
  }
  json want = desired;
  want["metadata"].erase("namespace");
  want["metadata"].erase("name");
  if (!current->contains("observedDigest") && contains(*current, want)) {
    childDigests_.written(digestKey, desiredHash, *current);
    return Status::Ok();
  }
  // Merge patch: sets every field we own, keeps what the server and others added
  // (a Service's clusterIP, annotations); lists we own are replaced whole.
  ApiResponse r = client_->patch(type.objectPath(ns, name), want);
  if (r.notFound()) {
    // Deleted after the informer's last event (e.g. by the job lifecycle): create it.
    r = client_->post(type.collectionPath(ns), desired);
    if (r.ok()) {
      *changed = true;
      childDigests_.written(digestKey, desiredHash, r.body);
      events_.record(fd, "Normal", "Created", fmt::format("Created {} {}", kind, name));
      return Status::Ok();
    }
  }
  if (!r.ok()) return Status::Error(fmt::format("updating {} {}: {}", kind, name, r.error));
  childDigests_.written(digestKey, desiredHash, r.body);
  if (observedDigest(r.body) == observedDigest(*current)) return Status::Ok();  // only the annotation was new
  *changed = true;
  events_.record(fd, "Normal", "Updated", fmt::format("Updated {} {} to the desired state", kind, name));
  return Status::Ok();
}

ApiResponse FlinkDeploymentController::writeStatus(const json& fd, const FlinkDeploymentStatus& status) {
  json obj = fd;
  obj["status"] = status.toJson();
  const json& meta = fd["metadata"];
  return client_->put(types::kFlinkDeployment.objectPath(meta.value("namespace", ""), meta.value("name", "")) + "/status",
                      obj);
}

ApiResponse FlinkDeploymentController::writeLatestStatus(const std::string& ns, const std::string& name,
                                                         const FlinkDeploymentStatus& status) {
  auto latest = client_->get(types::kFlinkDeployment.objectPath(ns, name));
  if (!latest.ok()) return latest;
  return writeStatus(latest.body, status);
}

ReconcileResult FlinkDeploymentController::reconcileCanary(const json& fd) {
  // Canary resources (as in the Apache operator) only prove that reconciliation is alive:
  // nothing is deployed; the status records the reconcile.
  auto status = FlinkDeploymentStatus::fromJson(fd.value("status", json::object()));
  status.observedGeneration = fd["metadata"].value("generation", int64_t{0});
  status.reconciliationStatus = ReconciliationStatus{};
  status.reconciliationStatus->reconciliationTimestamp = nowMs();
  status.reconciliationStatus->state = "DEPLOYED";
  ApiResponse r = writeStatus(fd, status);
  if (!r.ok() && !r.conflict()) return {false, "writing canary status: " + r.error, std::nullopt};
  return {true, "", std::chrono::milliseconds(60000)};
}

std::optional<FlinkDeployment> FlinkDeploymentController::lastReconciledOf(const json& fd, const FlinkDeploymentStatus& status) {
  const auto& recon = status.reconciliationStatus;
  if (!recon || !recon->lastReconciledSpec) return std::nullopt;
  json last = fd;
  last["spec"] = json::parse(*recon->lastReconciledSpec, nullptr, false);
  if (!last["spec"].is_object()) return std::nullopt;
  auto parsed = parseObject(last);
  if (!parsed.ok()) return std::nullopt;
  return std::move(*parsed);
}

Status FlinkDeploymentController::validateObject(const json& fd, const OperatorConfig& config) {
  auto parsed = parseObject(fd);
  if (!parsed.ok()) return parsed.status();
  auto lastValid = lastReconciledOf(fd, FlinkDeploymentStatus::fromJson(fd.value("status", json::object())));
  return validateFlinkDeployment(*parsed, lastValid ? &*lastValid : nullptr, config);
}

FlinkDeploymentController::Validation FlinkDeploymentController::validate(const json& fd,
                                                                          const FlinkDeploymentStatus& status) const {
  // The last valid spec is what was last reconciled.
  const auto& recon = status.reconciliationStatus;
  std::optional<FlinkDeployment> lastValid = lastReconciledOf(fd, status);
  Validation v;
  v.lastReconciled = lastValid;
  if (v.lastReconciled) v.lastReconciled->uid = fd["metadata"].value("uid", "");
  auto parsed = parseObject(fd);
  Status valid = parsed.ok() ? validateFlinkDeployment(*parsed, lastValid ? &*lastValid : nullptr, *configFor(*parsed)) : parsed.status();
  if (valid.ok()) {
    v.target = std::move(*parsed);
    v.specChanged = !recon || recon->lastReconciledSpec.value_or("") != fd["spec"].dump();
  } else {
    v.error = valid.message();
    v.target = std::move(lastValid);
  }
  if (v.target) v.target->uid = fd["metadata"].value("uid", "");
  return v;
}

void FlinkDeploymentController::recordSpecDecision(const json& fd, const Validation& v, FlinkDeploymentStatus* status,
                                                   bool recordSpec) {
  ReconciliationStatus recon = status->reconciliationStatus.value_or(ReconciliationStatus{});
  if (!v.error && !recordSpec) {
    if (v.specChanged) status->error.reset();
  } else if (!v.error) {
    if (v.specChanged) status->error.reset();  // a new attempt; otherwise cleared once the children are written
    if (v.specChanged) {
      bool first = !recon.lastReconciledSpec;
      recon.lastReconciledSpec = fd["spec"].dump();
      recon.state = first ? "DEPLOYED" : "UPGRADING";
      recon.reconciliationTimestamp = nowMs();
      status->lifecycleState = first ? "DEPLOYED" : "UPGRADING";
    }
  } else {
    if (status->error.value_or("") != *v.error) events_.record(fd, "Warning", "ValidationError", *v.error);
    status->error = *v.error;
    if (!v.target) status->lifecycleState = "FAILED";
  }
  status->reconciliationStatus = std::move(recon);
  status->observedGeneration = fd["metadata"].value("generation", int64_t{0});
}

namespace {
// job.state: suspended (validation allows it with upgradeMode stateless only, for now).
bool suspended(const FlinkDeployment& fd) { return fd.spec.job && fd.spec.job->state == "suspended"; }
}  // namespace

Status FlinkDeploymentController::ensureTlsSecret(const json& fd, const FlinkDeployment& target, bool* created) {
  *created = false;
  detail::Ports ports;
  if (!detail::generatesTls(detail::clusterConfiguration(target, *configFor(target), &ports))) return Status::Ok();
  std::string path = "/api/v1/namespaces/" + target.namespace_ + "/secrets/" + tlsSecretName(target);
  ApiResponse current = client_->get(path);
  if (current.ok()) return Status::Ok();  // kept: pods and the operator keep trusting the same CA
  if (!current.notFound()) return Status::Error(fmt::format("reading Secret {}: {}", tlsSecretName(target), current.error));
  auto secret = newTlsSecret(target, std::chrono::hours(24 * 365));
  if (!secret.ok()) return secret.status().withContext("generating Secret " + tlsSecretName(target));
  ApiResponse r = client_->post("/api/v1/namespaces/" + target.namespace_ + "/secrets", *secret);
  if (!r.ok() && !r.conflict()) return Status::Error(fmt::format("creating Secret {}: {}", tlsSecretName(target), r.error));
  if (r.ok()) {
    *created = true;
    events_.record(fd, "Normal", "Created",
                   fmt::format("Created Secret {}: a CA and certificate for TLS inside the cluster ({})",
                               tlsSecretName(target), kGenerateTlsKey));
  }
  return Status::Ok();
}

Status FlinkDeploymentController::applyChildren(const json& fd, const FlinkDeployment& target, bool* anyChanged) {
  *anyChanged = false;
  if (Status s = ensureTlsSecret(fd, target, anyChanged); !s.ok()) {
    events_.record(fd, "Warning", "ReconcileError", s.message());
    return s;
  }
  for (const json& child : desiredResources(target, *configFor(target))) {
    bool changed = false;
    if (suspended(target) && child.value("kind", "") == "Deployment") {
      // Suspended: no JobManager and no TaskManagers; the ConfigMap and Services stay.
      std::string name = child["metadata"].value("name", "");
      if (!informers_.deployments->get(target.namespace_, name)) continue;
      ApiResponse r = client_->del(types::kDeployment.objectPath(target.namespace_, name));
      if (!r.ok() && !r.notFound()) return Status::Error(fmt::format("deleting Deployment {}: {}", name, r.error));
      events_.record(fd, "Normal", "Suspended", fmt::format("Deleted Deployment {}: the job is suspended", name));
      *anyChanged = true;
      continue;
    }
    Status s = applyChild(fd, child, &changed);
    if (!s.ok()) {
      events_.record(fd, "Warning", "ReconcileError", s.message());
      return s;
    }
    *anyChanged = *anyChanged || changed;
  }
  if (!target.spec.ingress) {
    // spec.ingress removed: the Ingress goes, if it is ours (an owner reference with our uid).
    auto ingress = informers_.ingresses->get(target.namespace_, ingressName(target));
    bool ours = false;
    if (ingress) {
      for (const auto& ref : (*ingress)["metadata"].value("ownerReferences", json::array())) {
        ours = ours || (ref.value("kind", "") == "FlinkDeployment" && ref.value("uid", "") == target.uid);
      }
    }
    if (ours) {
      ApiResponse r = client_->del(types::kIngress.objectPath(target.namespace_, ingressName(target)));
      if (!r.ok() && !r.notFound()) {
        Status s = Status::Error(fmt::format("deleting Ingress {}: {}", ingressName(target), r.error));
        events_.record(fd, "Warning", "ReconcileError", s.message());
        return s;
      }
      if (r.ok()) {
        events_.record(fd, "Normal", "Deleted",
                       fmt::format("Deleted Ingress {}: spec.ingress was removed", ingressName(target)));
        *anyChanged = true;
      }
    }
  }
  return Status::Ok();
}

std::string FlinkDeploymentController::observeCluster(const FlinkDeployment& target, FlinkDeploymentStatus* status) const {
  auto jm = informers_.deployments->get(target.namespace_, jobManagerName(target));
  std::string jmStatus = "MISSING";
  if (jm) {
    int want = (*jm)["spec"].value("replicas", 1);
    // With Kubernetes HA only the leader is Ready (standbys open no port until they lead).
    if (detail::highAvailabilityEnabled(target.effectiveConfiguration().entries())) want = std::min(want, 1);
    int ready = (*jm).value("status", json::object()).value("readyReplicas", 0);
    jmStatus = ready >= want && want > 0 ? "READY" : "DEPLOYING";
  }
  status->jobManagerDeploymentStatus = jmStatus;
  status->taskManager = TaskManagerInfo{target.taskManagerReplicas(), "app=" + target.name + ",component=taskmanager"};
  if (!status->error && jmStatus == "READY" && status->lifecycleState == "UPGRADING") {
    status->lifecycleState = "DEPLOYED";
    status->reconciliationStatus->state = "DEPLOYED";
  }
  if (suspended(target)) {
    status->lifecycleState = "SUSPENDED";
    status->jobStatus = status->jobStatus.value_or(JobStatusInfo{});
    status->jobStatus->state = "SUSPENDED";
  }
  if (!status->jobStatus && target.spec.job) {
    // The job's own state comes from the JobManager's REST API (job lifecycle issue).
    status->jobStatus = JobStatusInfo{};
    status->jobStatus->state = "RECONCILING";
  }
  return jmStatus;
}

std::optional<RestAddress> FlinkDeploymentController::restAddress(const FlinkDeployment& target) const {
  return restAddressOf(*client_, target, *configFor(target));
}

std::optional<RestAddress> FlinkDeploymentController::restAddressOf(KubeApi& client, const FlinkDeployment& target,
                                                                    const OperatorConfig& config) {
  detail::Ports ports;
  Configuration conf = detail::clusterConfiguration(target, config, &ports);
  std::optional<RestAddress> at;
  if (config.jobManagerAddress != "pod-ip") {
    at = RestAddress{restServiceName(target) + "." + target.namespace_ + ".svc", ports.rest};
  } else {
    auto ep = client.get("/api/v1/namespaces/" + target.namespace_ + "/endpoints/" + restServiceName(target));
    if (!ep.ok()) return std::nullopt;
    for (const auto& subset : ep.body.value("subsets", json::array())) {
      auto addresses = subset.value("addresses", json::array());
      auto epPorts = subset.value("ports", json::array());
      if (addresses.empty() || epPorts.empty()) continue;
      at = RestAddress{addresses[0].value("ip", ""), epPorts[0].value("port", 0)};
      break;
    }
  }
  if (!at) return std::nullopt;
  auto tls = restClientTls(client, target, conf, config.jobManagerAddress == "pod-ip");
  if (!tls.ok()) {
    log::warn("FlinkDeployment {}/{}: {}", target.namespace_, target.name, tls.status().message());
    return std::nullopt;  // not observable until the Secret is there
  }
  at->tls = *tls;
  return at;
}

Result<std::shared_ptr<const tls::TlsContext>> FlinkDeploymentController::restClientTls(KubeApi& client,
                                                                                   const FlinkDeployment& target,
                                                                                   const Configuration& conf, bool byIp) {
  auto options = tls::TlsOptions::fromConfig(Configuration(), tls::Scope::kRest);
  auto enabled = conf.getBool(tls::kRestEnabled, false);
  if (!enabled.ok() || !*enabled) return std::shared_ptr<const tls::TlsContext>();
  bool generated = detail::generatesTls(conf);
  std::string secretName = generated ? tlsSecretName(target) : conf.getString(kRestClientSecretKey, "");
  if (secretName.empty())
    return Status::Error(fmt::format("security.ssl.rest.enabled is true but neither {} nor {} is set: the operator "
                                     "has no client certificate for the REST API",
                                     kGenerateTlsKey, kRestClientSecretKey));
  ApiResponse secret = client.get("/api/v1/namespaces/" + target.namespace_ + "/secrets/" + secretName);
  if (!secret.ok()) return Status::Error(fmt::format("reading Secret {}: {}", secretName, secret.error));
  // One context per Secret version, kept between reconciles (a new one per reconcile would
  // mean a new REST client, and its TLS session, every time).
  std::string key = target.namespace_ + "/" + secretName + "@" +
                    secret.body.value("metadata", json::object()).value("resourceVersion", "") + (byIp ? "/ip" : "");
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const tls::TlsContext>> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  json data = secret.body.value("data", json::object());
  auto field = [&](const char* name) { return data.value(name, json()).is_string() ? base64Decode(data[name].get<std::string>()) : ""; };
  tls::TlsOptions opts = *options;
  opts.enabled = true;
  // The generated CA signs this deployment's certificate only, so trusting it pins the server;
  // by pod IP no host name can match.
  auto verify = conf.getBool("security.ssl.verify-hostname", true);
  opts.verifyHostname = !generated && !byIp && (!verify.ok() || *verify);
  auto ctx = tls::TlsContext::fromPem(opts, field("tls.crt"), field("tls.key"), field("ca.crt"), "Secret " + secretName);
  if (!ctx.ok()) return ctx.status();
  std::lock_guard<std::mutex> lock(mu);
  cache[key] = *ctx;
  return *ctx;
}

bool FlinkDeploymentController::observeJob(const json& fd, const FlinkDeployment& target, FlinkDeploymentStatus* status) {
  auto address = restAddress(target);
  auto job = address ? jobs_.observe(*address) : std::nullopt;
  if (!job) return true;  // not reachable yet: keep what the status says, look again soon
  JobStatusInfo js = status->jobStatus.value_or(JobStatusInfo{});
  // The job ID is fixed per deployment: a JobManager running another job is an old one.
  if (!target.deployJobId.empty() && job->jobId != target.deployJobId) return true;
  if (js.state != job->state) {
    js.extra["updateTime"] = std::to_string(nowMs());
    // As the Apache operator: an event for each change of the job's state it observes.
    events_.record(fd, job->state == "FAILED" ? "Warning" : "Normal", "JobStatusChanged",
                   fmt::format("Job status changed from {} to {}", js.state.value_or("UNKNOWN"), job->state));
  }
  js.state = job->state;
  js.extra["jobId"] = job->jobId;
  js.extra["jobName"] = job->name;
  js.extra["startTime"] = std::to_string(job->startTimeMs);
  status->jobStatus = std::move(js);
  json& clusterInfo = status->extra["clusterInfo"];
  if (!clusterInfo.is_object()) clusterInfo = json::object();
  if (!job->flinkVersion.empty()) {
    clusterInfo["flink-version"] = job->flinkVersion;
    clusterInfo["flink-revision"] = job->flinkRevision;
  }
  // What the cluster asks of Kubernetes, as the Apache operator reports it: cores and bytes of
  // the JobManager and TaskManager replicas together.
  double cpu = target.spec.jobManager.replicas * target.spec.jobManager.resource.cpu +
               target.taskManagerReplicas() * target.spec.taskManager.resource.cpu;
  auto jmBytes = detail::memoryBytes(target.spec.jobManager.resource.memory);
  auto tmBytes = detail::memoryBytes(target.spec.taskManager.resource.memory);
  clusterInfo["total-cpu"] = cpu == static_cast<double>(static_cast<int64_t>(cpu)) ? fmt::format("{:.1f}", cpu)
                                                                                     : fmt::format("{}", cpu);
  if (jmBytes.ok() && tmBytes.ok()) {
    clusterInfo["total-memory"] =
        std::to_string(target.spec.jobManager.replicas * *jmBytes + target.taskManagerReplicas() * *tmBytes);
  }
  if (job->state == "RUNNING") {
    if (auto cp = jobs_.latestCheckpoint(*address, job->jobId); cp && !cp->savepoint) {
      json& info = status->jobStatus->extra["checkpointInfo"];
      if (!info.is_object()) info = json::object();
      json last = info.value("lastCheckpoint", json::object());
      if (!last.is_object() || last.value("id", int64_t{0}) < cp->id) {
        // The job's own newest checkpoint (the operator's manual ones keep their trigger type).
        info["lastCheckpoint"] = {{"timeStamp", cp->timestampMs}, {"triggerType", "PERIODIC"}, {"formatType", "FULL"},
                                  {"id", cp->id}, {"location", cp->externalPath}};
      }
    }
  }
  if (job->state == "RUNNING") evaluateHealth(target, *address, job->jobId, status);
  bool healthy = job->state == "RUNNING" || job->state == "FINISHED";
  if (!status->error && healthy && status->lifecycleState == "DEPLOYED") {
    status->lifecycleState = "STABLE";
    status->reconciliationStatus->lastStableSpec = status->reconciliationStatus->lastReconciledSpec;
  } else if (job->state == "FAILED") {
    status->lifecycleState = "FAILED";
    // Why, as the Apache operator reports it: the job's root exception (first line).
    if (auto cause = jobs_.rootException(*address, job->jobId)) {
      std::string line = truncateUtf8(cause->substr(0, cause->find('\n')), 500);
      status->error = "Job " + job->jobId + " failed: " + line;
    }
  }
  return job->state != "FINISHED" && job->state != "FAILED" && job->state != "CANCELED";
}

bool FlinkDeploymentController::hasFinalizer(const json& fd) { return k8s::hasFinalizer(fd, kFinalizer); }

ReconcileResult FlinkDeploymentController::reconcileDeletion(const json& fd) {
  if (!hasFinalizer(fd)) return {};  // not ours (or done): the garbage collector removes the children
  const std::string ns = fd["metadata"].value("namespace", ""), name = fd["metadata"].value("name", "");
  auto status = FlinkDeploymentStatus::fromJson(fd.value("status", json::object()));
  const auto written = status;
  status.lifecycleState = "DELETING";
  Validation v = validate(fd, status);
  const FlinkDeployment* deployed = v.lastReconciled ? &*v.lastReconciled : v.target ? &*v.target : nullptr;
  bool jobRuns = deployed && deployed->spec.job && deployed->spec.job->state != "suspended";
  if (deployed && !deployed->spec.job &&
      lower(trim(deployed->effectiveConfiguration().getString("kubernetes.operator.session.deletion.block-on-session-jobs",
                                                               "true"))) != "false") {
    // A session cluster goes only after the FlinkSessionJobs on it (as the Apache operator,
    // kubernetes.operator.session.deletion.block-on-session-jobs, default true).
    ApiResponse jobs = client_->get(types::kFlinkSessionJob.collectionPath(ns));
    std::string names;
    for (const auto& j : jobs.ok() ? jobs.body.value("items", json::array()) : json::array()) {
      if (j.value("spec", json::object()).value("deploymentName", "") == name) {
        names += (names.empty() ? "" : ", ") + j["metadata"].value("name", "");
      }
    }
    if (!names.empty()) {
      events_.record(fd, "Warning", "CleanupFailed", "The session jobs " + names + " should be deleted first");
      if (!(status == written)) writeLatestStatus(ns, name, status);
      return {true, "", std::chrono::milliseconds(5000)};
    }
  }
  if (deployed) {
    FlinkDeployment running = *deployed;
    running.deployJobId = status.jobStatus ? status.jobStatus->extra.value("jobId", "") : "";
    std::string mode = "stateless";
    if (jobRuns && lower(trim(running.effectiveConfiguration().getString("kubernetes.operator.job.savepoint-on-deletion",
                                                                           "false"))) == "true") {
      mode = "savepoint";
    }
    if (mode == "savepoint") {
      // Stop with a savepoint first, at most kubernetes.operator.resource.cleanup.timeout (5 min).
      status.jobStatus = status.jobStatus.value_or(JobStatusInfo{});
      int64_t started = parseRfc3339Ms(fd["metadata"].value("deletionTimestamp", "")).value_or(nowMs());
      Configuration c = running.effectiveConfiguration();
      auto configured = c.getDurationMs("kubernetes.operator.resource.cleanup.timeout", 300000);
      int64_t timeout = configured.ok() ? *configured : 300000;
      if (nowMs() - started > timeout) {
        events_.record(fd, "Warning", "CleanupTimeout",
                       "The savepoint on deletion did not complete within kubernetes.operator.resource.cleanup.timeout: "
                       "deleting the cluster without it");
        mode = "stateless";
      }
    }
    if (jobRuns && mode == "stateless") {
      // Cancelled, so that the JobManager discards the job's checkpoints (Flink's
      // externalized-checkpoint-retention), within kubernetes.operator.resource.cleanup.timeout.
      int64_t started = parseRfc3339Ms(fd["metadata"].value("deletionTimestamp", "")).value_or(nowMs());
      auto configured = running.effectiveConfiguration().getDurationMs("kubernetes.operator.resource.cleanup.timeout", 300000);
      if (awaitCancel(fd, running, running.deployJobId, started + (configured.ok() ? *configured : 300000))) {
        if (!(status == written)) writeLatestStatus(ns, name, status);
        return {true, "", std::chrono::milliseconds(300)};
      }
    }
    if (mode == "savepoint") {
      StopOutcome stop = stopJob(fd, running, mode, &status);
      if (!stop.stopped) {
        if (!(status == written)) writeLatestStatus(ns, name, status);
        return {true, "", stop.requeue};
      }
    }
    if (!(status == written)) writeLatestStatus(ns, name, status);
    if (Status s = deleteClusterDeployments(fd, running, "the FlinkDeployment is deleted"); !s.ok()) {
      return {false, s.message(), std::nullopt};
    }
    if (detail::highAvailabilityEnabled(running.effectiveConfiguration().entries())) {
      // The HA data goes with the deployment (not with a suspend), once no JobManager is left
      // to write it again, as the Apache operator deletes it.
      // Level-triggered: the finalizer goes once a listing finds none (a JobManager still
      // shutting down may write one again).
      if (clusterPodsExist(running)) return {true, "", std::chrono::milliseconds(500)};
      auto deletedSome = deleteHaConfigMaps(running);
      if (!deletedSome.ok()) return {false, deletedSome.status().message(), std::nullopt};
      if (*deletedSome) return {true, "", std::chrono::milliseconds(1000)};
    }
  }
  ApiResponse r = setFinalizer(*client_, types::kFlinkDeployment, fd, kFinalizer, false);
  if (!r.ok() && !r.notFound()) return {false, "removing the finalizer: " + r.error, std::nullopt};
  events_.record(fd, "Normal", "Cleanup", "Cleaned up: the job is stopped and the cluster deleted");
  return {};
}

ReconcileResult FlinkDeploymentController::reconcile(const std::string& ns, const std::string& name) {
  auto obj = informers_.flinkDeployments->get(ns, name);
  if (!obj) return {};  // deleted: the garbage collector removes the children
  if ((*obj)["metadata"].value("labels", json::object()).value("flink.apache.org/canary", "") == "true") {
    if ((*obj)["metadata"].contains("deletionTimestamp")) return {};
    return reconcileCanary(*obj);
  }
  {
    // While a lifecycle step is in flight (an upgrade, a rollback, a stop recorded but not yet
    // followed by the new deployment), decide from the object as the API server has it, never
    // from a cache that may lag the last status written: a stale step would be carried out twice.
    json st = obj->value("status", json::object());
    json recon = st.is_object() ? st.value("reconciliationStatus", json::object()) : json::object();
    std::string state = recon.is_object() ? recon.value("state", "") : "";
    std::string last = recon.is_object() ? recon.value("lastReconciledSpec", "") : "";
    if (state == "UPGRADING" || state == "ROLLING_BACK" || last.find("\"suspended\"") != std::string::npos ||
        (*obj)["metadata"].contains("deletionTimestamp")) {
      ApiResponse fresh = client_->get(types::kFlinkDeployment.objectPath(ns, name));
      if (fresh.notFound()) return {};
      if (!fresh.ok()) return {false, "reading the FlinkDeployment: " + fresh.error, std::nullopt};
      obj = fresh.body;
    }
  }
  if ((*obj)["metadata"].contains("deletionTimestamp")) return reconcileDeletion(*obj);
  if (!hasFinalizer(*obj)) {
    // Ours before anything is deployed, so that a deletion waits for the cleanup.
    ApiResponse r = setFinalizer(*client_, types::kFlinkDeployment, *obj, kFinalizer, true);
    if (r.conflict()) return {false, "adding the finalizer: the resource changed; retrying", std::nullopt};
    if (!r.ok()) return {false, "adding the finalizer: " + r.error, std::nullopt};
    obj = r.body;
  }
  const json& fd = *obj;
  auto status = FlinkDeploymentStatus::fromJson(fd.value("status", json::object()));
  const auto written = status;

  Validation v = validate(fd, status);
  bool application = (v.target && v.target->spec.job) || (v.lastReconciled && v.lastReconciled->spec.job);
  if (application && v.target) return reconcileApplication(fd, v, std::move(status), written);
  recordSpecDecision(fd, v, &status);
  // Status is the write-ahead log: record the intent before touching the cluster.
  if (!(status == written)) {
    ApiResponse r = writeStatus(fd, status);
    if (r.conflict()) return {false, "status update conflict (the resource changed); retrying", std::nullopt};
    if (!r.ok()) return {false, "writing status: " + r.error, std::nullopt};
    if (v.specChanged) {
      events_.record(fd, "Normal", "SpecChanged",
                     status.reconciliationStatus->state == "DEPLOYED" ? "Deploying the FlinkDeployment"
                                                                      : "Spec changed: updating the cluster");
    }
  }
  if (!v.target) return {};  // nothing valid to deploy yet: wait for a spec change
  return applyAndObserve(fd, *v.target, v.error.has_value(), status, status);
}

ReconcileResult FlinkDeploymentController::applyAndObserve(const json& fd, const FlinkDeployment& target, bool specError,
                                                           FlinkDeploymentStatus status,
                                                           const FlinkDeploymentStatus& intent) {
  const std::string& ns = target.namespace_;
  const std::string& name = target.name;
  bool anyChanged = false;
  Status applied = applyChildren(fd, target, &anyChanged);
  if (!applied.ok()) {
    // Users see it in the status (and a Warning event); the Controller retries with back-off.
    status.error = applied.message();
    status.jobManagerDeploymentStatus = "ERROR";
    if (!(status == intent)) writeLatestStatus(ns, name, status);
    return {false, applied.message(), std::nullopt};
  }
  if (!specError) status.error.reset();  // the children are written: a deployment error is over

  std::string jmStatus = observeCluster(target, &status);
  bool jobActive = target.spec.job && jmStatus == "READY" && target.spec.job->state != "suspended" &&
                   observeJob(fd, target, &status);
  bool recordedTrigger = false;
  if (jobActive && target.spec.job) {
    recordedTrigger = reconcileSnapshots(fd, target, fd["spec"], &status, /*savepoint=*/true);
    recordedTrigger = reconcileSnapshots(fd, target, fd["spec"], &status, /*savepoint=*/false) || recordedTrigger;
  }
  if (!(status == intent)) {
    ApiResponse r = writeLatestStatus(ns, name, status);
    if (!r.ok() && !r.conflict()) return {false, "writing status: " + r.error, std::nullopt};
  }
  // Level-triggered: look again soon while the JobManager is not ready, and resync otherwise
  // (kubernetes.operator.reconcile.interval, 60 s). A running job is observed every
  // kubernetes.operator.observer.progress-check.interval (10 s, as the Apache operator's
  // observer); a savepoint or checkpoint in flight every 300 ms.
  auto inFlight = [&](const char* field) {
    if (!status.jobStatus) return false;
    json info = status.jobStatus->extra.value(field, json::object());
    return info.is_object() && !info.value("triggerId", "").empty();
  };
  bool savepointPending = inFlight("savepointInfo") || inFlight("checkpointInfo");
  if (recordedTrigger) return {true, "", std::chrono::milliseconds(10)};  // recorded: send it now
  if (savepointPending) return {true, "", std::chrono::milliseconds(300)};
  if (jmStatus == "READY") {
    int64_t resync = durationOptionMs(target, "kubernetes.operator.reconcile.interval");
    int64_t observe = durationOptionMs(target, "kubernetes.operator.observer.progress-check.interval");
    return {true, "", std::chrono::milliseconds(jobActive ? (observe > 0 ? observe : 10000) : (resync > 0 ? resync : 60000))};
  }
  // Not ready yet: the JobManager Deployment's status changes reach this resource through its
  // informer (an owned object), so only a child just written is looked at again soon; otherwise
  // the resync interval is the safety net (thousands of deploying resources polled every few
  // seconds would keep the operator busy doing nothing).
  if (anyChanged) return {true, "", std::chrono::milliseconds(2000)};
  int64_t resync = durationOptionMs(target, "kubernetes.operator.reconcile.interval");
  return {true, "", std::chrono::milliseconds(resync > 0 ? std::min<int64_t>(resync, 60000) : 60000)};
}

}  // namespace flink::k8s
