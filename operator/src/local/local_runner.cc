#include "local/local_runner.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/flink_deployment.h"
#include "flink/common/ids.h"

namespace flink {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::atomic<bool> gInterrupted{false};
void onSignal(int) { gInterrupted = true; }

struct Child {
  std::string name;
  pid_t pid = -1;
  std::string log;
};

// Starts `flink-cpp <args>` with FLINK_CONF_DIR=confDir, stdout+stderr to logPath.
Result<Child> spawn(const std::string& name, const std::vector<std::string>& args, const std::string& confDir,
                    const std::string& logPath) {
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  pid_t pid = fork();
  if (pid < 0) return Status::Error("cannot start " + name + ": fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the runner
    int fd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    setenv("FLINK_CONF_DIR", confDir.c_str(), 1);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  return Child{name, pid, logPath};
}

bool alive(Child& c, int* exitStatus = nullptr) {
  if (c.pid <= 0) return false;
  int status = 0;
  pid_t r = waitpid(c.pid, &status, WNOHANG);
  if (r == c.pid) {
    c.pid = -1;
    if (exitStatus) *exitStatus = status;
    return false;
  }
  return true;
}

std::string describeExit(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exit code " + std::to_string(WEXITSTATUS(status));
}

void stopAll(std::vector<Child>& children) {
  for (auto it = children.rbegin(); it != children.rend(); ++it) {
    if (it->pid > 0) kill(it->pid, SIGTERM);
  }
  auto deadline = Clock::now() + std::chrono::seconds(10);
  for (auto& c : children) {
    while (c.pid > 0 && alive(c) && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (c.pid > 0) {
      kill(c.pid, SIGKILL);
      waitpid(c.pid, nullptr, 0);
      c.pid = -1;
    }
  }
}

// Peak resident set size (VmHWM) of a live process, in bytes; 0 if unknown.
uint64_t peakRss(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

std::string tail(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  std::string l;
  while (std::getline(in, l)) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += "    " + all[i] + "\n";
  return out;
}

std::string human(double v) {
  char buf[64];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2f M", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1f K", v / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  }
  return buf;
}

class RestClient {
 public:
  explicit RestClient(int port) : client_("127.0.0.1", port) {
    client_.set_connection_timeout(2, 0);
    client_.set_read_timeout(10, 0);
  }
  std::optional<json> get(const std::string& path) {
    auto res = client_.Get(path.c_str());
    if (!res || res->status != 200) return std::nullopt;
    try {
      return json::parse(res->body);
    } catch (...) {
      return std::nullopt;
    }
  }
  // Sum over subtasks of the vertex's metrics.
  std::map<std::string, double> vertexMetrics(const std::string& job, const std::string& vertex,
                                              const std::string& names) {
    std::map<std::string, double> out;
    auto body = get("/jobs/" + job + "/vertices/" + vertex + "/subtasks/metrics?get=" + names + "&agg=sum");
    if (!body || !body->is_array()) return out;
    for (const auto& m : *body) out[m.at("id").get<std::string>()] = m.value("sum", 0.0);
    return out;
  }

 private:
  httplib::Client client_;
};

}  // namespace

int runLocal(const std::vector<std::string>& args) {
  std::string manifest, fromSavepoint;
  bool quiet = false, allowNonRestored = false;
  int parallelismOverride = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--quiet") {
      quiet = true;
    } else if ((a == "--fromSavepoint" || a == "-s") && i + 1 < args.size()) {
      fromSavepoint = args[++i];
    } else if (a == "--allowNonRestoredState" || a == "-n") {
      allowNonRestored = true;
    } else if ((a == "--parallelism" || a == "-p") && i + 1 < args.size()) {
      try {
        parallelismOverride = std::stoi(args[++i]);
      } catch (...) {
      }
      if (parallelismOverride < 1) {
        std::cerr << "run-local: --parallelism expects a positive integer, got '" << args[i] << "'\n";
        return 2;
      }
    } else if (manifest.empty()) {
      manifest = a;
    } else {
      std::cerr << "run-local: unexpected argument '" << a << "'\n";
      return 2;
    }
  }
  if (manifest.empty()) {
    std::cerr << "usage: flink-cpp run-local MANIFEST.yaml [--quiet] [--fromSavepoint PATH] [--allowNonRestoredState] "
                 "[--parallelism N]\n";
    return 2;
  }
  auto loaded = k8s::loadFlinkDeployment(manifest);
  if (!loaded.ok()) {
    std::cerr << "error: " << loaded.status().message() << "\n";
    return 2;
  }
  k8s::FlinkDeployment& fd = *loaded;
  if (fd.spec.job && parallelismOverride > 0) fd.spec.job->parallelism = parallelismOverride;
  if (fd.spec.job && !fromSavepoint.empty()) fd.spec.job->initialSavepointPath = fromSavepoint;
  if (fd.spec.job && allowNonRestored) fd.spec.job->allowNonRestoredState = true;
  if (!fd.spec.job) {
    std::cerr << "error: " << manifest << ": spec.job: required to run locally (session clusters without a job "
              << "are not supported by run-local)\n";
    return 2;
  }
  if (fd.spec.job->state == "suspended") {
    std::cout << "spec.job.state is 'suspended': nothing to run\n";
    return 0;
  }

  // Work directory: configuration and logs of the local cluster.
  const char* tmp = std::getenv("TMPDIR");
  fs::path work = fs::path(tmp ? tmp : "/tmp") / ("flink-cpp-" + fd.name + "-" + std::to_string(getpid()));
  fs::create_directories(work / "conf");
  fs::create_directories(work / "log");
  std::string jobId = randomId();
  Configuration conf = fd.effectiveConfiguration();
  conf.set(options::kRpcAddress, "127.0.0.1");
  conf.set(options::kRpcPort, "0");
  conf.set("jobmanager.bind-host", "127.0.0.1");
  conf.set(options::kRestAddress, "127.0.0.1");
  conf.set(options::kRestBindAddress, "127.0.0.1");
  conf.set(options::kRestPort, "0");
  conf.set(options::kTaskManagerHost, "127.0.0.1");
  conf.set("taskmanager.bind-host", "127.0.0.1");
  conf.set(options::kShutdownOnFinish, "false");
  if (!conf.contains("metrics.reporter.prom.port")) conf.set("metrics.reporter.prom.port", "0");  // the runner reads the final state, then stops the cluster
  conf.set(options::kJobId, jobId);
  std::string portFile = (work / "jobmanager.ports").string();
  conf.set(options::kPortFile, portFile);
  { std::ofstream(work / "conf" / "config.yaml") << conf.toYaml(); }

  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  auto started = Clock::now();
  int tms = fd.taskManagerReplicas();
  std::cout << "Running FlinkDeployment '" << fd.name << "' locally: 1 JobManager, " << tms << " TaskManager"
            << (tms == 1 ? "" : "s") << " x " << fd.taskSlots() << " slot" << (fd.taskSlots() == 1 ? "" : "s")
            << ", parallelism " << fd.parallelism() << "\n"
            << "  logs: " << (work / "log").string() << "\n"
            << std::flush;

  std::vector<Child> children;
  bool tty = isatty(STDOUT_FILENO) && !quiet;
  auto fail = [&](const std::string& message, const Child* show) {
    std::cerr << "error: " << message << "\n";
    if (show) std::cerr << "  last lines of " << show->log << ":\n" << tail(show->log, 15);
    stopAll(children);
    return 1;
  };

  auto jm = spawn("jobmanager", {"standalone-job"}, (work / "conf").string(), (work / "log" / "jobmanager.log").string());
  if (!jm.ok()) return fail(jm.status().message(), nullptr);
  children.push_back(*jm);

  int rpcPort = 0, restPort = 0, metricsPort = -1;
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!rpcPort) {
    std::ifstream in(portFile);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("rpc.port=", 0) == 0) rpcPort = std::stoi(line.substr(9));
      if (line.rfind("rest.port=", 0) == 0) restPort = std::stoi(line.substr(10));
      if (line.rfind("metrics.port=", 0) == 0) metricsPort = std::stoi(line.substr(13));
    }
    if (rpcPort) break;
    if (!alive(children[0])) return fail("the JobManager exited during start-up", &children[0]);
    if (Clock::now() > deadline || gInterrupted) return fail("the JobManager did not start within 30 s", &children[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // TaskManagers are kept at the requested count, as a Kubernetes Deployment would: one that
  // dies is replaced (at most kMaxReplacements times per run).
  constexpr int kMaxReplacements = 20;
  int replacements = 0;
  auto startTaskManager = [&](int index, int generation) -> Status {
    std::string name = "taskmanager-" + std::to_string(index) + (generation ? "-" + std::to_string(generation) : "");
    auto tm = spawn(name, {"taskmanager", "-D", std::string(options::kRpcPort) + "=" + std::to_string(rpcPort)},
                    (work / "conf").string(), (work / "log" / (name + ".log")).string());
    if (!tm.ok()) return tm.status();
    if (static_cast<int>(children.size()) > index + 1) {
      children[index + 1] = *tm;
    } else {
      children.push_back(*tm);
    }
    return Status::Ok();
  };
  for (int i = 0; i < tms; ++i) {
    Status st = startTaskManager(i, 0);
    if (!st.ok()) return fail(st.message(), nullptr);
  }
  std::cout << "  JobManager REST API: http://127.0.0.1:" << restPort << "  job " << jobId << "\n";
  if (metricsPort > 0) std::cout << "  JobManager metrics: http://127.0.0.1:" << metricsPort << "/metrics\n";
  if (!fromSavepoint.empty()) std::cout << "  restoring from: " << fromSavepoint << "\n";
  std::cout << std::flush;

  RestClient rest(restPort);
  std::string state;
  std::string sourceVertex;
  auto lastLine = Clock::now();
  json details;
  while (true) {
    if (gInterrupted) {
      std::cout << "\ninterrupted: cancelling the job and stopping the cluster\n";
      httplib::Client(std::string("127.0.0.1"), restPort).Patch(("/jobs/" + jobId + "?mode=cancel").c_str());
      stopAll(children);
      return 130;
    }
    if (!alive(children[0])) return fail("the JobManager exited unexpectedly", &children[0]);
    for (size_t i = 1; i < children.size(); ++i) {
      int status = 0;
      if (alive(children[i], &status)) continue;
      if (++replacements > kMaxReplacements) return fail(children[i].name + " keeps exiting", &children[i]);
      std::cout << (tty ? "\n" : "") << "  " << children[i].name << " exited (" << describeExit(status)
                << "); starting a replacement TaskManager\n" << std::flush;
      Status st = startTaskManager(static_cast<int>(i) - 1, replacements);
      if (!st.ok()) return fail(st.message(), nullptr);
    }
    if (auto d = rest.get("/jobs/" + jobId)) {
      details = *d;
      state = details.value("state", "");
      if (sourceVertex.empty() && details.contains("vertices") && !details["vertices"].empty()) {
        sourceVertex = details["vertices"][0].value("id", "");
      }
      if (state == "FINISHED" || state == "FAILED" || state == "CANCELED") break;
      if (!sourceVertex.empty() && !quiet) {
        auto m = rest.vertexMetrics(jobId, sourceVertex, "numRecordsIn,numRecordsDropped,sourceBytesRead,sourceBytesTotal");
        double read = m["numRecordsIn"] + m["numRecordsDropped"];
        double share = m["sourceBytesTotal"] > 0 ? 100.0 * m["sourceBytesRead"] / m["sourceBytesTotal"] : 0;
        double secs = std::chrono::duration<double>(Clock::now() - started).count();
        char line[200];
        std::snprintf(line, sizeof(line), "  [%s] %s records read (%.0f%% of the input), %.1f s", state.c_str(),
                      human(read).c_str(), share, secs);
        if (tty) {
          std::cout << "\r" << line << "   " << std::flush;
        } else if (Clock::now() - lastLine > std::chrono::seconds(2)) {
          std::cout << line << "\n" << std::flush;
          lastLine = Clock::now();
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (tty) std::cout << "\n";
  double wall = std::chrono::duration<double>(Clock::now() - started).count();

  // Summary from the REST API.
  double recordsIn = 0, bad = 0, recordsOut = 0, windows = 0, late = 0;
  std::set<std::string> inputs;
  for (const auto& v : details["vertices"]) {
    for (const auto& n : details["plan"]["nodes"]) {
      if (n.contains("inputs")) {
        for (const auto& i : n["inputs"]) inputs.insert(i.value("id", ""));
      }
    }
    (void)v;
  }
  for (const auto& v : details["vertices"]) {
    std::string vid = v.value("id", "");
    auto m = rest.vertexMetrics(jobId, vid, "numRecordsIn,numRecordsOut,numRecordsDropped,numFiredWindows,numLateRecordsDropped");
    if (vid == sourceVertex) recordsIn += m["numRecordsIn"] + m["numRecordsDropped"];
    if (!inputs.count(vid)) recordsOut += m["numRecordsOut"];
    bad += m["numRecordsDropped"];
    windows += m["numFiredWindows"];
    late += m["numLateRecordsDropped"];
  }
  std::map<std::string, std::string> jobMetrics;
  if (auto m = rest.get("/jobs/" + jobId + "/metrics?get=numberOfCompletedCheckpoints,numberOfFailedCheckpoints,numRestarts")) {
    for (const auto& e : *m) jobMetrics[e.value("id", "")] = e.value("value", "0");
  }
  std::string output;
  if (auto c = rest.get("/jobs/" + jobId + "/config")) {
    output = (*c)["execution-config"]["user-config"].value("output", "");
  }
  std::string cause;
  if (state != "FINISHED") {
    if (auto e = rest.get("/jobs/" + jobId + "/exceptions")) cause = e->value("root-exception", "");
  }
  std::string rss;
  for (const auto& c : children) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%s%s %.1f MB", rss.empty() ? "" : ", ", c.name.c_str(),
                  static_cast<double>(peakRss(c.pid)) / (1 << 20));
    rss += buf;
  }
  stopAll(children);

  std::cout << "Job " << details.value("name", "") << " (" << jobId << ") " << state << "\n"
            << "  records in: " << static_cast<uint64_t>(recordsIn) << (jobMetrics["numRestarts"] != "0" ? " (since the last restore)" : "") << "\n"
            << "  bad records: " << static_cast<uint64_t>(bad) << "\n"
            << "  late records: " << static_cast<uint64_t>(late) << "\n"
            << "  records out: " << static_cast<uint64_t>(recordsOut) << "\n"
            << "  windows fired: " << static_cast<uint64_t>(windows) << "\n"
            << "  checkpoints: " << jobMetrics["numberOfCompletedCheckpoints"] << " completed, "
            << jobMetrics["numberOfFailedCheckpoints"] << " failed\n"
            << "  restarts: " << jobMetrics["numRestarts"] << "\n";
  char wallLine[128];
  std::snprintf(wallLine, sizeof(wallLine), "  wall time: %.2f s (%s records/s)\n", wall,
                human(wall > 0 ? recordsIn / wall : 0).c_str());
  std::cout << wallLine << "  peak RSS: " << rss << "\n";
  if (!output.empty()) std::cout << "  output: " << fs::absolute(output).lexically_normal().string() << "/part-*\n";
  std::cout << "  logs: " << (work / "log").string() << "\n" << std::flush;
  if (state != "FINISHED") {
    std::cerr << "error: job " << state << (cause.empty() ? "" : ": " + cause) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace flink
