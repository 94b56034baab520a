#include "local/local_cluster.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "flink/common/ids.h"

namespace flink {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kMaxReplacements = 20;

fs::path workDirectory(const std::string& deploymentName) {
  const char* tmp = std::getenv("TMPDIR");
  return fs::path(tmp ? tmp : "/tmp") / ("flink-cpp-" + deploymentName + "-" + std::to_string(getpid()));
}

}  // namespace

LocalCluster::LocalCluster(const k8s::FlinkDeployment& fd, const std::atomic<bool>* interrupted)
    : fd_(fd),
      interrupted_(interrupted),
      work_(workDirectory(fd.name)),
      jobId_(randomId()),
      taskManagers_(fd.taskManagerReplicas()),
      processes_((work_ / "conf").string(), (work_ / "log").string()) {}

void LocalCluster::writeConfiguration() {
  fs::create_directories(work_ / "conf");
  fs::create_directories(work_ / "log");
  Configuration conf = fd_.effectiveConfiguration();
  conf.set(options::kRpcAddress, "127.0.0.1");
  conf.set(options::kRpcPort, "0");
  conf.set("jobmanager.bind-host", "127.0.0.1");
  conf.set(options::kRestAddress, "127.0.0.1");
  conf.set(options::kRestBindAddress, "127.0.0.1");
  conf.set(options::kRestPort, "0");
  conf.set(options::kTaskManagerHost, "127.0.0.1");
  conf.set("taskmanager.bind-host", "127.0.0.1");
  conf.set(options::kShutdownOnFinish, "false");
  // The runner reads the final state, then stops the cluster.
  if (!conf.contains("metrics.reporter.prom.port")) conf.set("metrics.reporter.prom.port", "0");
  if (fd_.spec.job) conf.set(options::kJobId, jobId_);  // a session cluster's jobs come with their own
  conf.set(options::kPortFile, (work_ / "jobmanager.ports").string());
  std::ofstream(work_ / "conf" / "config.yaml") << conf.toYaml();
  auto rest = tls::TlsContext::fromConfig(conf, tls::Scope::kRest);
  restTls_ = rest.ok() ? *rest : nullptr;
  // spec.logConfiguration, as the operator's ConfigMap carries it to the pods.
  for (const auto& [file, content] : fd_.spec.logConfiguration) {
    if (file == "log4j-console.properties" || file == "logback-console.xml") std::ofstream(work_ / "conf" / file) << content;
  }
}

// The JobManager writes its ports to the port file once it listens; true once rpc.port is there.
bool LocalCluster::readPortFile() {
  std::ifstream in(work_ / "jobmanager.ports");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("rpc.port=", 0) == 0) rpcPort_ = std::stoi(line.substr(9));
    if (line.rfind("rest.port=", 0) == 0) restPort_ = std::stoi(line.substr(10));
    if (line.rfind("metrics.port=", 0) == 0) metricsPort_ = std::stoi(line.substr(13));
  }
  return rpcPort_ != 0;
}

std::optional<LocalCluster::Failure> LocalCluster::start() {
  std::string role = fd_.spec.job ? "standalone-job" : "jobmanager";  // application or session cluster
  if (Status st = processes_.spawn(0, "jobmanager", {role}); !st.ok()) return Failure{st.message(), ""};
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!readPortFile()) {
    if (!processes_.alive(0)) return Failure{"the JobManager exited during start-up", processes_[0].log};
    if (Clock::now() > deadline || *interrupted_) {
      return Failure{"the JobManager did not start within 30 s", processes_[0].log};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int i = 0; i < taskManagers_; ++i) {
    if (Status st = startTaskManager(i, 0); !st.ok()) return Failure{st.message(), ""};
  }
  return std::nullopt;
}

Status LocalCluster::startTaskManager(int index, int generation) {
  std::string name = "taskmanager-" + std::to_string(index) + (generation ? "-" + std::to_string(generation) : "");
  return processes_.spawn(static_cast<size_t>(index) + 1, name,
                          {"taskmanager", "-D", std::string(options::kRpcPort) + "=" + std::to_string(rpcPort_)});
}

std::optional<LocalCluster::Failure> LocalCluster::supervise(bool breakLine) {
  if (!processes_.alive(0)) return Failure{"the JobManager exited unexpectedly", processes_[0].log};
  for (size_t i = 1; i < processes_.size(); ++i) {
    int status = 0;
    if (processes_.alive(i, &status)) continue;
    const ChildProcess& dead = processes_[i];
    if (++replacements_ > kMaxReplacements) return Failure{dead.name + " keeps exiting", dead.log};
    std::cout << (breakLine ? "\n" : "") << "  " << dead.name << " exited (" << describeExit(status)
              << "); starting a replacement TaskManager\n" << std::flush;
    if (Status st = startTaskManager(static_cast<int>(i) - 1, replacements_); !st.ok()) return Failure{st.message(), ""};
  }
  return std::nullopt;
}

}  // namespace flink
