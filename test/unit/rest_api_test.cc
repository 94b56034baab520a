// The JobManager's REST API, end to end: a real standalone-job JobManager and real TaskManager
// processes (the flink-cpp binary) run the flight-delay job on a small CSV; every response we
// read is validated (strict mode) against Flink's OpenAPI spec (test/compat/rest_v1_dispatcher.yml)
// and checked for what it must say about the cluster and the job.
//
// Tagged [process]: these tests fork/exec FLINK_CPP_BINARY and bind loopback ports (port 0, so
// they can run next to other tests). Each test bounds its waits by a deadline; the processes are
// killed (SIGTERM, then SIGKILL) when the test ends, whatever its outcome, and die with the test
// process (PR_SET_PDEATHSIG) if it crashes.
#include "checkpoint/storage.h"
#include "openapi_validator.h"

#include <fcntl.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using flinktest::OpenApiValidator;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kDeadline = 60s;  // bound of every wait for the cluster
constexpr int kInputRows = 20000;
constexpr const char* kEntryClass = "flinkcpp.examples.FlightDelays";

const OpenApiValidator& spec() {
  static const OpenApiValidator validator = [] {
    std::string error;
    auto loaded = OpenApiValidator::load(std::string(FLINK_TEST_COMPAT_DIR) + "/rest_v1_dispatcher.yml", &error);
    if (!loaded) throw std::runtime_error("cannot load the OpenAPI spec: " + error);
    return *std::move(loaded);
  }();
  return validator;
}

std::string joinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

std::string lastLines(const fs::path& path, size_t n) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) out += "    " + lines[i] + "\n";
  return out;
}

std::string randomHex(size_t digits) {
  static std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < digits; ++i) s += kHex[rng() % 16];
  return s;
}

// A fresh directory under $TMPDIR, removed with everything in it on destruction unless
// FLINK_TEST_KEEP_TMP is set (then its path stays in the failure messages for post-mortems).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = buf.data();
  }
  ~TempDir() {
    if (std::getenv("FLINK_TEST_KEEP_TMP")) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// One flink-cpp process: FLINK_CONF_DIR=confDir, stdout and stderr to logPath. The destructor
// stops it (SIGTERM, then SIGKILL after a grace period) and reaps it.
class Process {
 public:
  Process(std::string name, const std::vector<std::string>& args, const fs::path& confDir, fs::path logPath)
      : name_(std::move(name)), log_(std::move(logPath)) {
    // Everything the child needs is prepared before fork(): the child only calls
    // async-signal-safe functions (the test process may have threads).
    std::vector<std::string> argv{FLINK_CPP_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      if (std::strncmp(*e, "FLINK_CONF_DIR=", 15) != 0) env.emplace_back(*e);
    }
    env.push_back("FLINK_CONF_DIR=" + confDir.string());
    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (auto& e : env) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    std::string logPathStr = log_.string();
    pid_t parent = getpid();

    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed for " + name_);
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
      if (getppid() != parent) _exit(126);  // the test died between fork() and prctl()
      int fd = ::open(logPathStr.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO) close(fd);
      }
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        if (devnull > STDERR_FILENO) close(devnull);
      }
      execve(cargv[0], cargv.data(), cenv.data());
      _exit(127);
    }
  }
  ~Process() { stop(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  const fs::path& log() const { return log_; }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exitStatus_ = status;
      pid_ = -1;
      return false;
    }
    return r == 0;
  }

  // SIGTERM, up to `grace` for it to exit, then SIGKILL. Returns the wait status (see
  // exitedWith()); idempotent.
  int stop(std::chrono::milliseconds grace = 10s) {
    if (pid_ > 0 && running()) {
      kill(pid_, SIGTERM);
      auto until = Clock::now() + grace;
      while (running() && Clock::now() < until) std::this_thread::sleep_for(10ms);
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        int status = 0;
        if (waitpid(pid_, &status, 0) == pid_) exitStatus_ = status;
        pid_ = -1;
      }
    }
    return exitStatus_;
  }

  // The exit code if the process exited normally, -signal if a signal ended it, or
  // std::nullopt while it runs.
  std::optional<int> exitCode() const {
    if (pid_ > 0 || exitStatus_ < 0) return std::nullopt;
    if (WIFEXITED(exitStatus_)) return WEXITSTATUS(exitStatus_);
    if (WIFSIGNALED(exitStatus_)) return -WTERMSIG(exitStatus_);
    return std::nullopt;
  }

  std::string describe() const {
    std::string state = pid_ > 0 ? "running (pid " + std::to_string(pid_) + ")"
                                 : exitCode() ? "exited with " + std::to_string(*exitCode()) : "not started";
    return name_ + ": " + state + "; last lines of " + log_.string() + ":\n" + lastLines(log_, 20);
  }

 private:
  std::string name_;
  fs::path log_;
  pid_t pid_ = -1;
  int exitStatus_ = -1;
};

struct Response {
  int status = 0;  // 0: no response (connection refused, timeout)
  json body;       // null unless the body is JSON
  std::string raw;
};

class RestClient {
 public:
  explicit RestClient(int port) : client_("127.0.0.1", port) {
    client_.set_connection_timeout(2, 0);
    client_.set_read_timeout(10, 0);
  }
  Response get(const std::string& path) {
    Response r;
    auto res = client_.Get(path.c_str());
    if (!res) return r;
    r.status = res->status;
    r.raw = res->body;
    r.body = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (r.body.is_discarded()) r.body = nullptr;
    return r;
  }

 private:
  httplib::Client client_;
};

std::string yamlQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Header plus the first `rows` data rows of the flights data set, as plain CSV.
void writeSmallInput(const fs::path& out, int rows) {
  std::string src = std::string(FLINK_SOURCE_DIR) + "/examples/data/flights-3m.csv.gz";
  gzFile in = gzopen(src.c_str(), "rb");
  if (!in) throw std::runtime_error("cannot open " + src);
  std::ofstream o(out);
  char line[4096];
  int lines = 0;
  while (lines < rows + 1 && gzgets(in, line, sizeof(line))) {
    o << line;
    ++lines;
  }
  gzclose(in);
  if (lines != rows + 1) throw std::runtime_error("expected " + std::to_string(rows + 1) + " lines in " + src);
}

// A standalone-job JobManager running the flight-delay job, plus the TaskManagers a test adds.
class Cluster {
 public:
  /// `extraArgs`: more program arguments, each preceded by ';' (e.g. ";--records-per-second;1000").
  explicit Cluster(int parallelism, const std::string& window = "1 h", const std::string& extraArgs = "")
      : dir_("flink-cpp-rest-test"), jobId_(randomHex(32)) {
    fs::create_directories(dir_.path() / "conf");
    fs::create_directories(dir_.path() / "log");
    input_ = dir_.path() / "flights.csv";
    writeSmallInput(input_, kInputRows);
    portFile_ = dir_.path() / "jobmanager.ports";
    std::ofstream conf(dir_.path() / "conf" / "config.yaml");
    conf << "jobmanager.rpc.address: 127.0.0.1\n"
         << "jobmanager.rpc.port: 0\n"
         << "jobmanager.bind-host: 127.0.0.1\n"
         << "rest.address: 127.0.0.1\n"
         << "rest.bind-address: 127.0.0.1\n"
         << "rest.port: 0\n"
         << "taskmanager.host: 127.0.0.1\n"
         << "taskmanager.bind-host: 127.0.0.1\n"
         << "taskmanager.numberOfTaskSlots: 1\n"
         << "parallelism.default: " << parallelism << "\n"
         << "execution.shutdown-on-application-finish: false\n"
         << "rest.server.max-content-length: 65536\n"
         << "$internal.local.port-file: " << yamlQuote(portFile_.string()) << "\n"
         << "$internal.pipeline.job-id: " << yamlQuote(jobId_) << "\n"
         << "$internal.application.main: " << kEntryClass << "\n"
         << "pipeline.jars: builtin://flink-cpp-examples\n"
         << "$internal.application.program-args: "
         << yamlQuote("--input;" + input_.string() + ";--output;" + output().string() + ";--window;" + window + extraArgs)
         << "\n";
  }

  const std::string& jobId() const { return jobId_; }
  /// Appends lines to the cluster's config.yaml (before the processes start).
  void configure(const std::string& lines) {
    std::ofstream conf(dir_.path() / "conf" / "config.yaml", std::ios::app);
    conf << lines;
  }
  fs::path dir() const { return dir_.path(); }
  fs::path input() const { return input_; }
  fs::path output() const { return dir_.path() / "out"; }
  int restPort() const { return restPort_; }
  int rpcPort() const { return rpcPort_; }

  // Starts the JobManager (`role`: standalone-job, or jobmanager for a session cluster, which
  // ignores the application keys of the configuration) and waits until it has written its ports.
  void startJobManager(const std::string& role = "standalone-job") {
    processes_.push_back(std::make_unique<Process>("jobmanager", std::vector<std::string>{role},
                                                   dir_.path() / "conf", dir_.path() / "log" / "jobmanager.log"));
    auto until = Clock::now() + kDeadline;
    while (!rpcPort_ || !restPort_) {
      std::ifstream in(portFile_);
      for (std::string line; std::getline(in, line);) {
        if (line.rfind("rpc.port=", 0) == 0) rpcPort_ = std::stoi(line.substr(9));
        if (line.rfind("rest.port=", 0) == 0) restPort_ = std::stoi(line.substr(10));
      }
      if (rpcPort_ && restPort_) break;
      if (!processes_[0]->running()) FAIL("the JobManager exited during start-up\n" << describe());
      if (Clock::now() > until) FAIL("the JobManager did not write " << portFile_ << " in time\n" << describe());
      std::this_thread::sleep_for(20ms);
    }
    rest_ = std::make_unique<RestClient>(restPort_);
  }

  Process& startTaskManager(int slots) {
    std::string name = "taskmanager-" + std::to_string(processes_.size() - 1);
    processes_.push_back(std::make_unique<Process>(
        name,
        std::vector<std::string>{"taskmanager", "-D", "jobmanager.rpc.port=" + std::to_string(rpcPort_), "-D",
                                 "taskmanager.numberOfTaskSlots=" + std::to_string(slots)},
        dir_.path() / "conf", dir_.path() / "log" / (name + ".log")));
    return *processes_.back();
  }

  Process& jobManager() { return *processes_.at(0); }
  std::vector<Process*> taskManagers() {
    std::vector<Process*> out;
    for (size_t i = 1; i < processes_.size(); ++i) out.push_back(processes_[i].get());
    return out;
  }

  Response get(const std::string& path) { return rest_->get(path); }

  // GET that must answer 200 with JSON valid (strict) for the spec's pathTemplate.
  json getValid(const std::string& path, const std::string& pathTemplate) {
    Response r = get(path);
    INFO("GET " << path << " -> " << r.status << " " << r.raw.substr(0, 2000));
    REQUIRE(r.status == 200);
    REQUIRE_FALSE(r.body.is_null());
    auto errors = spec().validateResponse(pathTemplate, "get", "200", r.body, /*strict=*/true);
    INFO("OpenAPI violations of GET " << path << " (as " << pathTemplate << "):\n" << joinLines(errors));
    REQUIRE(errors.empty());
    return r.body;
  }

  // Polls `path` until pred(body) holds (200 responses only); FAILs after kDeadline or when a
  // process of the cluster exited.
  template <typename Pred>
  json waitFor(const std::string& path, const std::string& what, Pred pred) {
    auto until = Clock::now() + kDeadline;
    Response last;
    while (true) {
      last = get(path);
      if (last.status == 200 && !last.body.is_null() && pred(last.body)) return last.body;
      for (auto& p : processes_) {
        if (!p->running()) FAIL(p->name() << " exited while waiting for " << what << "\n" << describe());
      }
      if (Clock::now() > until) {
        FAIL("timed out after " << std::chrono::duration_cast<std::chrono::seconds>(kDeadline).count()
                                << " s waiting for " << what << "; last GET " << path << " -> " << last.status
                                << " " << last.raw.substr(0, 1000) << "\n"
                                << describe());
      }
      std::this_thread::sleep_for(50ms);
    }
  }

  // Waits for the job to reach `state`; FAILs at once if it ends in another terminal state.
  json waitForJobState(const std::string& state) {
    static const std::set<std::string> kTerminal = {"FINISHED", "FAILED", "CANCELED"};
    json body = waitFor("/jobs/" + jobId_, "job state " + state, [&](const json& b) {
      std::string s = b.value("state", "");
      return s == state || kTerminal.count(s) > 0;
    });
    if (body.value("state", "") != state) {
      Response exceptions = get("/jobs/" + jobId_ + "/exceptions");
      FAIL("the job ended " << body.value("state", "") << " while waiting for " << state
                            << "; /exceptions: " << exceptions.raw << "\n" << describe());
    }
    return body;
  }

  std::string describe() const {
    std::string out = "cluster directory: " + dir_.path().string() + "\n";
    for (const auto& p : processes_) out += p->describe();
    return out;
  }

  // Stops the TaskManagers, then the JobManager; each must exit 0 on SIGTERM.
  void stopAll() {
    for (auto it = processes_.rbegin(); it != processes_.rend(); ++it) {
      (*it)->stop();
      INFO((*it)->describe());
      CHECK((*it)->exitCode() == std::optional<int>(0));
    }
  }

 private:
  TempDir dir_;
  std::string jobId_;
  fs::path input_;
  fs::path portFile_;
  int rpcPort_ = 0;
  int restPort_ = 0;
  std::unique_ptr<RestClient> rest_;
  std::vector<std::unique_ptr<Process>> processes_;  // [0] the JobManager; destroyed (stopped) in reverse
};

int64_t metric(const json& vertex, const char* name) { return vertex.at("metrics").at(name).get<int64_t>(); }

// Checks of a FINISHED flight-delay job with the given parallelism, on `tms` TaskManagers
// with `slots` slots in all. Returns /jobs/{jobid}.
json checkFinishedJob(Cluster& c, int parallelism, int tms, int slots) {
  const std::string& jid = c.jobId();

  json overview = c.getValid("/overview", "/overview");
  INFO("/overview: " << overview.dump());
  CHECK(overview.at("taskmanagers") == tms);
  CHECK(overview.at("slots-total") == slots);
  CHECK(overview.at("slots-available") == slots);  // the finished job released its slots
  CHECK(overview.at("jobs-running") == 0);
  CHECK(overview.at("jobs-finished") == 1);
  CHECK(overview.at("jobs-failed") == 0);
  CHECK(overview.at("jobs-cancelled") == 0);

  json jobs = c.getValid("/jobs/overview", "/jobs/overview");
  INFO("/jobs/overview: " << jobs.dump());
  REQUIRE(jobs.at("jobs").size() == 1);
  const json& job = jobs["jobs"][0];
  CHECK(job.at("jid") == jid);
  CHECK(job.at("name") == "flight-delays");
  CHECK(job.at("state") == "FINISHED");
  CHECK(job.at("end-time").get<int64_t>() >= job.at("start-time").get<int64_t>());
  CHECK(job.at("tasks").at("total") == 2);
  CHECK(job.at("tasks").at("finished") == 2);

  json details = c.getValid("/jobs/" + jid, "/jobs/{jobid}");
  INFO("/jobs/" << jid << ": " << details.dump());
  CHECK(details.at("jid") == jid);
  CHECK(details.at("state") == "FINISHED");
  CHECK(details.at("timestamps").at("FINISHED").get<int64_t>() > 0);
  const json& vertices = details.at("vertices");
  REQUIRE(vertices.size() == 2);
  for (const auto& v : vertices) {
    CHECK(v.at("parallelism") == parallelism);
    CHECK(v.at("status") == "FINISHED");
    CHECK(v.at("tasks").at("FINISHED") == parallelism);
  }
  CHECK(vertices[0].at("name").get<std::string>().rfind("Source: flights", 0) == 0);
  // Every input row is good: the source emits each once, the window operator reads each once.
  CHECK(metric(vertices[0], "write-records") == kInputRows);
  CHECK(metric(vertices[1], "read-records") == metric(vertices[0], "write-records"));
  CHECK(metric(vertices[1], "read-bytes") == metric(vertices[0], "write-bytes"));
  REQUIRE(details.at("plan").at("nodes").size() == 2);

  json tmList = c.getValid("/taskmanagers", "/taskmanagers");
  INFO("/taskmanagers: " << tmList.dump());
  REQUIRE(tmList.at("taskmanagers").size() == static_cast<size_t>(tms));
  int slotSum = 0;
  std::set<std::string> ids;
  for (const auto& tm : tmList["taskmanagers"]) {
    slotSum += tm.at("slotsNumber").get<int>();
    CHECK(tm.at("freeSlots") == tm.at("slotsNumber"));
    ids.insert(tm.at("id").get<std::string>());
  }
  CHECK(slotSum == slots);
  CHECK(ids.size() == static_cast<size_t>(tms));

  c.getValid("/config", "/config");

  // Vertex metrics: [{"id", "value"}], values as strings. Flink's MetricCollectionResponseBody
  // extends ArrayList<Metric> and goes over the wire as a bare array; the generated spec shows it
  // as an object {"metrics": [...]}, which no Flink version sends. So the body must be an array
  // whose items are valid (strict) Metric objects.
  std::string vid = vertices[1].at("id");
  std::string metricsPath = "/jobs/" + jid + "/vertices/" + vid + "/metrics?get=numRecordsIn";
  Response mr = c.get(metricsPath);
  INFO("GET " << metricsPath << " -> " << mr.status << " " << mr.raw);
  REQUIRE(mr.status == 200);
  const json& m = mr.body;
  REQUIRE(m.is_array());
  for (const auto& item : m) {
    auto errors = spec().validateSchema("Metric", item, /*strict=*/true);
    INFO("OpenAPI violations of " << item.dump() << " as Metric:\n" << joinLines(errors));
    CHECK(errors.empty());
  }
  REQUIRE(m.size() == 1);
  CHECK(m[0].size() == 2);
  CHECK(m[0].at("id") == "numRecordsIn");
  REQUIRE(m[0].at("value").is_string());
  CHECK(m[0]["value"].get<std::string>() == std::to_string(metric(vertices[1], "read-records")));

  json exceptions = c.getValid("/jobs/" + jid + "/exceptions", "/jobs/{jobid}/exceptions");
  CHECK_FALSE(exceptions.contains("root-exception"));

  // Unknown job: 404 with Flink's {"errors": [...]} body.
  std::string unknown = randomHex(32);
  while (unknown == jid) unknown = randomHex(32);
  Response nf = c.get("/jobs/" + unknown);
  INFO("GET /jobs/" << unknown << " -> " << nf.status << " " << nf.raw);
  CHECK(nf.status == 404);
  CHECK((nf.body.is_object() && nf.body.contains("errors") && nf.body["errors"].is_array()));
  Response nfv = c.get("/jobs/" + jid + "/vertices/" + randomHex(32) + "/metrics?get=numRecordsIn");
  CHECK(nfv.status == 404);
  return details;
}

}  // namespace

TEST_CASE("REST API of a standalone-job cluster before and after TaskManagers register", "[process][rest]") {
  Cluster c(/*parallelism=*/2);
  c.startJobManager();
  const std::string& jid = c.jobId();

  // No TaskManager yet: the job is RUNNING with every task SCHEDULED (waiting for slots), and
  // stays so until a TaskManager registers. These responses are deterministic.
  json running = c.waitForJobState("RUNNING");
  {
    INFO("/jobs/" << jid << " before any TaskManager: " << running.dump());
    auto errors = spec().validateResponse("/jobs/{jobid}", "get", "200", running, true);
    INFO("OpenAPI violations:\n" << joinLines(errors));
    REQUIRE(errors.empty());
    CHECK(running.at("end-time") == -1);
    REQUIRE(running.at("vertices").size() == 2);
    for (const auto& v : running["vertices"]) {
      CHECK(v.at("status") == "SCHEDULED");
      CHECK(v.at("tasks").at("SCHEDULED") == 2);
      CHECK(v.at("start-time") == -1);
    }
    CHECK(running.at("status-counts").at("SCHEDULED") == 2);
  }
  {
    json overview = c.getValid("/overview", "/overview");
    INFO("/overview before any TaskManager: " << overview.dump());
    CHECK(overview.at("taskmanagers") == 0);
    CHECK(overview.at("slots-total") == 0);
    CHECK(overview.at("slots-available") == 0);
    CHECK(overview.at("jobs-running") == 1);
    CHECK(overview.at("jobs-finished") == 0);
    CHECK(overview.at("flink-version") == "1.19.0");

    json jobs = c.getValid("/jobs/overview", "/jobs/overview");
    INFO("/jobs/overview before any TaskManager: " << jobs.dump());
    REQUIRE(jobs.at("jobs").size() == 1);
    CHECK(jobs["jobs"][0].at("jid") == jid);
    CHECK(jobs["jobs"][0].at("state") == "RUNNING");
    CHECK(jobs["jobs"][0].at("end-time") == -1);
    CHECK(jobs["jobs"][0].at("tasks").at("scheduled") == 2);

    json tms = c.getValid("/taskmanagers", "/taskmanagers");
    CHECK(tms.at("taskmanagers").empty());

    json config = c.getValid("/config", "/config");
    CHECK(config.at("flink-version") == "1.19.0");

    json exceptions = c.getValid("/jobs/" + jid + "/exceptions", "/jobs/{jobid}/exceptions");
    CHECK_FALSE(exceptions.contains("root-exception"));
  }

  // One TaskManager with 2 slots runs the whole job (parallelism 2, slot sharing).
  c.startTaskManager(2);
  c.waitForJobState("FINISHED");
  checkFinishedJob(c, 2, /*tms=*/1, /*slots=*/2);

  // A second TaskManager (1 slot) registering after the job finished shows up in the cluster
  // figures; the job's figures do not change.
  c.startTaskManager(1);
  c.waitFor("/overview", "2 registered TaskManagers", [](const json& b) { return b.value("taskmanagers", 0) == 2; });
  checkFinishedJob(c, 2, /*tms=*/2, /*slots=*/3);
  c.stopAll();
}

TEST_CASE("REST API of a standalone-job cluster running a job across two TaskManagers", "[process][rest]") {
  // Two TaskManagers with one slot each: the keyBy exchange crosses TaskManagers over TCP.
  Cluster c(/*parallelism=*/2, "15 min");
  c.startJobManager();
  json overview = c.getValid("/overview", "/overview");
  CHECK(overview.at("taskmanagers") == 0);
  c.startTaskManager(1);
  c.startTaskManager(1);
  c.waitForJobState("FINISHED");
  json details = checkFinishedJob(c, 2, /*tms=*/2, /*slots=*/2);

  // The sink wrote part files with every flight counted once.
  int64_t flights = 0, parts = 0, lines = 0;
  std::vector<std::string> malformed;
  for (const auto& e : fs::directory_iterator(c.output())) {
    if (e.path().filename().string().rfind("part-", 0) != 0) continue;
    ++parts;
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      // window_start,window_end,key,flights,total_delay_min,max_delay_min
      std::vector<std::string> cols;
      std::stringstream ss(line);
      for (std::string col; std::getline(ss, col, ',');) cols.push_back(col);
      if (cols.size() != 6 || cols[3].empty() || cols[3].find_first_not_of("0123456789") != std::string::npos) {
        malformed.push_back(e.path().filename().string() + ": " + line);
        continue;
      }
      ++lines;
      flights += std::stoll(cols[3]);
    }
  }
  INFO("malformed output lines:\n" << joinLines(malformed));
  CHECK(malformed.empty());
  CHECK(parts > 0);
  CHECK(flights == kInputRows);
  // One output line per fired (window, key): the window vertex's numFiredWindows says as much.
  std::string windowVertex = details.at("vertices").at(1).at("id");
  Response fired = c.get("/jobs/" + c.jobId() + "/vertices/" + windowVertex + "/metrics?get=numFiredWindows");
  INFO("numFiredWindows: " << fired.status << " " << fired.raw);
  REQUIRE(fired.status == 200);
  REQUIRE(fired.body.is_array());
  REQUIRE(fired.body.size() == 1);
  CHECK(fired.body[0].at("id") == "numFiredWindows");
  CHECK(fired.body[0].at("value") == std::to_string(lines));
  c.stopAll();
}

namespace {

struct RawResponse {
  int status = 0;  // 0: no complete answer before the timeout
  std::string body;
  std::chrono::milliseconds elapsed{0};
};

// Sends `request` as raw bytes (so that malformed framing can be sent) and reads one response
// (headers and Content-Length body), giving up after `timeout`.
RawResponse rawRequest(int port, const std::string& request, std::chrono::milliseconds timeout = 5000ms) {
  RawResponse out;
  auto start = Clock::now();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early (a refused body): read what it answered
    sent += static_cast<size_t>(n);
  }
  std::string data;
  char buf[4096];
  for (;;) {
    auto headerEnd = data.find("\r\n\r\n");
    if (headerEnd != std::string::npos) {
      auto cl = data.find("Content-Length: ");
      size_t length = cl != std::string::npos && cl < headerEnd ? std::stoul(data.substr(cl + 16)) : 0;
      if (data.size() >= headerEnd + 4 + length) {
        out.status = std::stoi(data.substr(9, 3));
        out.body = data.substr(headerEnd + 4, length);
        break;
      }
    }
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return out;
}

std::string withBody(const std::string& method, const std::string& path, const std::string& body) {
  return method + " " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("REST API answers malformed and edge-case requests at once with Flink's error shape, and the job keeps running",
          "[process][rest]") {
  Cluster c(/*parallelism=*/2);  // no TaskManager: the job stays RUNNING, tasks SCHEDULED
  c.startJobManager();
  c.waitForJobState("RUNNING");
  const std::string jid = c.jobId(), other = std::string(32, 'a');
  const std::string big(100 * 1024, 'x');  // over the cluster's rest.server.max-content-length (64 KiB)
  std::string chunked = "POST /jobs/" + jid + "/savepoints HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) chunked += "8000\r\n" + std::string(0x8000, 'y') + "\r\n";
  chunked += "0\r\n\r\n";
  struct Case {
    const char* what;
    std::string request;
    int status;
    const char* mentions;  // the error names this (field, id, limit)
  };
  const std::vector<Case> cases = {
      {"PATCH without a body, unknown job", "PATCH /jobs/" + other + "?mode=cancel HTTP/1.1\r\nHost: x\r\n\r\n", 404, "aaaa"},
      {"PATCH with an unknown mode", "PATCH /jobs/" + jid + "?mode=stop HTTP/1.1\r\nHost: x\r\n\r\n", 400, "stop"},
      {"PATCH with a body that is not an object", withBody("PATCH", "/jobs/" + jid + "?mode=cancel", "[1]"), 400, "object"},
      {"stop: targetDirectory of the wrong type", withBody("POST", "/jobs/" + jid + "/stop", R"({"targetDirectory": 12})"), 400,
       "targetDirectory"},
      {"stop: drain of the wrong type", withBody("POST", "/jobs/" + jid + "/stop", R"({"drain": "yes"})"), 400, "drain"},
      {"savepoint: cancel-job of the wrong type", withBody("POST", "/jobs/" + jid + "/savepoints", R"({"cancel-job": 1})"), 400,
       "cancel-job"},
      {"savepoint: unknown formatType", withBody("POST", "/jobs/" + jid + "/savepoints", R"({"formatType": "BOGUS"})"), 400,
       "formatType"},
      {"savepoint: invalid JSON", withBody("POST", "/jobs/" + jid + "/savepoints", "{"), 400, "JSON"},
      {"savepoint: empty body, no target directory", withBody("POST", "/jobs/" + jid + "/savepoints", ""), 409,
       "target-directory"},
      {"savepoint: no body at all", "POST /jobs/" + jid + "/savepoints HTTP/1.1\r\nHost: x\r\n\r\n", 409,
       "target-directory"},
      {"savepoint: Content-Length over the limit, body never sent",
       "POST /jobs/" + jid + "/savepoints HTTP/1.1\r\nHost: x\r\nContent-Length: 52428800\r\n\r\n", 413,
       "max-content-length"},
      {"savepoint: body over the limit", withBody("POST", "/jobs/" + jid + "/savepoints", big), 413, "max-content-length"},
      {"savepoint: chunked body over the limit", chunked, 413, "max-content-length"},
      {"savepoint of an unknown job", withBody("POST", "/jobs/" + other + "/savepoints", "{}"), 404, "aaaa"},
      {"malformed job id", withBody("POST", "/jobs/xyz/savepoints", "{}"), 404, "xyz"},
      {"POST to an unknown path without a body", "POST /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, "/nope"},
      {"DELETE of a job (not an endpoint)", "DELETE /jobs/" + jid + " HTTP/1.1\r\nHost: x\r\n\r\n", 404, jid.c_str()},
      {"PUT announcing 50 MB to an unknown path", "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 52428800\r\n\r\n", 404, "/x"},
      {"checkpoints of an unknown job", "GET /jobs/" + other + "/checkpoints HTTP/1.1\r\nHost: x\r\n\r\n", 404, "aaaa"},
      {"metrics of an unknown vertex", "GET /jobs/" + jid + "/vertices/" + other + "/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
       404, "aaaa"},
      {"unknown savepoint trigger", "GET /jobs/" + jid + "/savepoints/" + other + " HTTP/1.1\r\nHost: x\r\n\r\n", 404,
       "aaaa"},
      {"checkpoint while the tasks do not run", withBody("POST", "/jobs/" + jid + "/checkpoints", "{}"), 409,
       "not all tasks are running"},
      {"savepoint: triggerId not 32 hex digits", withBody("POST", "/jobs/" + jid + "/savepoints", R"({"triggerId": "xyz"})"),
       400, "triggerId"},
      {"checkpoint: unknown checkpointType", withBody("POST", "/jobs/" + jid + "/checkpoints", R"({"checkpointType": "X"})"),
       400, "checkpointType"},
      {"checkpoint of an unknown job", withBody("POST", "/jobs/" + other + "/checkpoints", "{}"), 404, "aaaa"},
      {"unknown checkpoint trigger", "GET /jobs/" + jid + "/checkpoints/" + other + " HTTP/1.1\r\nHost: x\r\n\r\n", 404,
       "aaaa"},
      {"request line over 8 KiB", "GET /jobs/" + std::string(9000, 'u') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "414"},
      {"header line over 8 KiB", "GET /jobs HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'h') + "\r\n\r\n", 400,
       "400"},
      {"savepoint with a multipart body (found by rest_request_fuzz: an exception, 500)",
       "POST /jobs/" + jid + "/savepoints HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\n"
       "Content-Length: 10\r\n\r\n--XX--\r\n\r\n",
       400, "multipart"},
      {"not HTTP (a TLS hello)", "\x16\x03\x01\x02\x05\x01\x01\x01\xfc\x03\x03\r\n\r\n", 400, "400"},
  };
  for (const Case& k : cases) {
    INFO(k.what);
    RawResponse r = rawRequest(c.restPort(), k.request);
    INFO("status " << r.status << " after " << r.elapsed.count() << " ms: " << r.body);
    CHECK(r.status == k.status);
    json body = json::parse(r.body, nullptr, false);
    REQUIRE(body.is_object());
    REQUIRE(body.size() == 1);
    REQUIRE(body.contains("errors"));
    REQUIRE(body["errors"].is_array());
    REQUIRE_FALSE(body["errors"].empty());
    CHECK(body["errors"][0].is_string());
    CHECK_THAT(body["errors"][0].get<std::string>(), Catch::Contains(k.mentions));
    json state = c.getValid("/jobs/" + jid, "/jobs/{jobid}");
    CHECK(state.at("state") == "RUNNING");
  }
  // A PATCH cancel without a body (as curl -X PATCH sends it) is answered at once and cancels.
  RawResponse cancel = rawRequest(c.restPort(), "PATCH /jobs/" + jid + "?mode=cancel HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(cancel.status == 202);
  c.waitForJobState("CANCELED");
  c.stopAll();
}

TEST_CASE("POST /savepoint-disposal removes a savepoint and nothing else", "[process][rest]") {
  Cluster c(/*parallelism=*/1);
  c.startJobManager();
  fs::path root = fs::temp_directory_path() / ("flink-cpp-disposal-" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto make = [&](const std::string& name, bool savepoint) {
    flink::checkpoint::Metadata m;
    m.jobId = std::string(32, 'c');
    m.checkpointId = 3;
    m.savepoint = savepoint;
    fs::create_directories(root / name);
    REQUIRE(flink::checkpoint::writeMetadata((root / name).string(), m).ok());
    return (root / name).string();
  };
  const std::string savepoint = make("savepoint-cccccc-000000000001", true);
  const std::string checkpoint = make("chk-3", false);
  fs::create_directories(root / "other");
  struct Case {
    std::string path;
    bool removed;
    const char* failure;  // in the operation's failure cause
  };
  for (const Case& k : std::vector<Case>{{"file://" + savepoint, true, ""},
                                         {checkpoint, false, "is a checkpoint, not a savepoint"},
                                         {(root / "other").string(), false, "is not a savepoint"},
                                         {(root / "missing").string(), false, "is not a savepoint"}}) {
    INFO(k.path);
    RawResponse r = rawRequest(c.restPort(), withBody("POST", "/savepoint-disposal", json{{"savepoint-path", k.path}}.dump()));
    REQUIRE(r.status == 200);
    std::string id = json::parse(r.body).at("request-id");
    // (Not validated against the spec: its `operation` is a oneOf of three schemas that an
    // operation with only a failure cause, or none, matches alike, Flink's own answers included.)
    Response got = c.get("/savepoint-disposal/" + id);
    REQUIRE(got.status == 200);
    json op = got.body;
    CHECK(op["status"]["id"] == "COMPLETED");
    std::string local = flink::checkpoint::pathOf(k.path);
    CHECK(fs::exists(local) == (!k.removed && local != (root / "missing").string()));
    if (*k.failure) {
      CHECK_THAT(op["operation"]["failure-cause"]["stack-trace"].get<std::string>(), Catch::Contains(k.failure));
    } else {
      CHECK_FALSE(op["operation"].contains("failure-cause"));
    }
  }
  RawResponse bad = rawRequest(c.restPort(), withBody("POST", "/savepoint-disposal", R"({"savepoint-path": 3})"));
  CHECK(bad.status == 400);
  fs::remove_all(root);
  c.stopAll();
}

TEST_CASE("A cancelled job's checkpoints are removed unless externalized-checkpoint-retention is RETAIN_ON_CANCELLATION",
          "[process][rest]") {
  for (const char* retention : {"", "DELETE_ON_CANCELLATION", "RETAIN_ON_CANCELLATION"}) {
    INFO("retention '" << retention << "'");
    Cluster c(/*parallelism=*/1);  // no TaskManager: the job stays RUNNING, tasks SCHEDULED
    const fs::path root = c.dir() / "checkpoints";
    const fs::path chk = root / c.jobId() / "chk-7";
    fs::create_directories(chk);
    std::ofstream(chk / "state").put('x');
    c.configure("state.checkpoints.dir: " + yamlQuote("file://" + root.string()) + "\n" +
                (*retention ? "execution.checkpointing.externalized-checkpoint-retention: " + std::string(retention) + "\n"
                            : std::string()));
    c.startJobManager();
    c.waitForJobState("RUNNING");
    RawResponse cancel = rawRequest(c.restPort(), "PATCH /jobs/" + c.jobId() + "?mode=cancel HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(cancel.status == 202);
    c.waitForJobState("CANCELED");
    const bool retained = std::string(retention) == "RETAIN_ON_CANCELLATION";
    CHECK(fs::exists(chk) == retained);
    std::ifstream result(root / c.jobId() / "job-result");
    std::string state;
    result >> state;
    CHECK(state == "CANCELED");  // the job result stays: the job is not run again
    c.stopAll();
  }
}

TEST_CASE("log4j-console.properties next to config.yaml sets the JobManager's log level, in Flink's console layout",
          "[process][rest]") {
  for (bool quiet : {false, true}) {
    INFO("rootLogger.level " << (quiet ? "WARN" : "unset (INFO)"));
    Cluster c(/*parallelism=*/1);  // no TaskManager: the job stays RUNNING
    if (quiet) std::ofstream(c.dir() / "conf" / "log4j-console.properties") << "rootLogger.level = WARN\n";
    c.startJobManager();
    c.waitForJobState("RUNNING");
    c.stopAll();
    std::ifstream in(c.dir() / "log" / "jobmanager.log");
    int infoLines = 0, layoutLines = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.find(" INFO  org.apache.flink.runtime.jobmanager ") != std::string::npos) ++infoLines;
      // 2026-01-01 12:00:00,123 LEVEL logger... [] - message
      if (line.size() > 24 && line[19] == ',' && line.find(" [] - ") != std::string::npos) ++layoutLines;
    }
    CHECK((infoLines == 0) == quiet);
    if (!quiet) CHECK(layoutLines >= infoLines);
  }
}

namespace {

struct Part {
  std::string name;
  std::string filename;  // "" for a plain form field
  std::string content;
};

std::string multipartBody(const std::string& boundary, const std::vector<Part>& parts) {
  std::string body;
  for (const Part& p : parts) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.filename.empty()) body += "; filename=\"" + p.filename + "\"\r\nContent-Type: application/octet-stream";
    body += "\r\n\r\n" + p.content + "\r\n";
  }
  return body + "--" + boundary + "--\r\n";
}

std::string multipartRequest(const std::string& path, const std::string& contentType, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: " + contentType +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string upload(const std::vector<Part>& parts) {
  return multipartRequest("/jars/upload", "multipart/form-data; boundary=XyZ", multipartBody("XyZ", parts));
}

std::string readBinary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The body of a 200 answer, checked (strict) against the spec's response of pathTemplate.
json validBody(const RawResponse& r, const std::string& pathTemplate, const std::string& method) {
  INFO(method << " " << pathTemplate << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  json body = json::parse(r.body, nullptr, false);
  REQUIRE_FALSE(body.is_discarded());
  auto errors = spec().validateResponse(pathTemplate, method, "200", body, /*strict=*/true);
  INFO("OpenAPI violations:\n" << joinLines(errors));
  REQUIRE(errors.empty());
  return body;
}

}  // namespace

TEST_CASE("Session cluster: Flink's /jars API uploads, lists, plans, runs and deletes job libraries, bad requests get "
          "Flink's error shape at once",
          "[process][rest]") {
  Cluster c(/*parallelism=*/1);
  const std::string library = readBinary(ROUTE_COUNTS_SO);
  // Room for two copies of the library (an instrumented build's is several MB), not for more.
  const size_t maxUpload = std::max<size_t>(2u << 20, 3 * library.size());
  c.configure(fmt::format("flink-cpp.web.upload.max-size: {}b\n", maxUpload) +
              "state.checkpoints.dir: " + yamlQuote("file://" + (c.dir() / "checkpoints").string()) + "\n");
  c.startJobManager("jobmanager");
  const int port = c.restPort();
  const std::string jarFile = upload({{"jarfile", "route-counts.so", library}});
  const std::string builtinRun = "/jars/builtin_flink-cpp-examples/run";
  const std::string goodArgs = json{{"entryClass", kEntryClass},
                                    {"programArgsList", {"--input", c.input().string(), "--output", c.output().string()}}}
                                   .dump();
  std::string bigChunked = "POST /jars/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n";
  const std::string partHeader = "--XyZ\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\"a.so\"\r\n\r\n";
  bigChunked += fmt::format("{:x}\r\n{}\r\n", partHeader.size(), partHeader);
  for (size_t i = 0; i < maxUpload / 0x8000 + 16; ++i) {
    bigChunked += "8000\r\n" + std::string(0x8000, 'y') + "\r\n";  // 512 KiB over the limit
  }
  bigChunked += "0\r\n\r\n";
  const std::string unknownJar = "00000000-0000-0000-0000-000000000000_x.so";

  struct Case {
    const char* what;
    std::string request;
    int status;
    const char* mentions;
  };
  const std::vector<Case> cases = {
      {"upload without a body", "POST /jars/upload HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Exactly 1 file"},
      {"upload with an empty body", withBody("POST", "/jars/upload", ""), 400, "Exactly 1 file"},
      {"upload of JSON", withBody("POST", "/jars/upload", "{}"), 400, "multipart/form-data"},
      {"multipart without a boundary", multipartRequest("/jars/upload", "multipart/form-data", "x"), 400, "malformed"},
      {"multipart that is not", multipartRequest("/jars/upload", "multipart/form-data; boundary=XyZ", "garbage"), 400,
       "malformed"},
      {"multipart with only a form field", upload({{"jarfile", "", "text"}}), 400, "received 0"},
      {"multipart with two files", upload({{"jarfile", "a.so", library}, {"other", "b.so", library}}), 400, "received 2"},
      {"a text file", upload({{"jarfile", "job.so", "hello"}}), 400, "not a valid job library"},
      {"a library cut short", upload({{"jarfile", "job.so", library.substr(0, library.size() / 3)}}), 400, "truncated"},
      {"not a .so", upload({{"jarfile", "job.jar", library}}), 400, ".so"},
      {"upload announcing 50 MB, body never sent",
       "POST /jars/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 52428800\r\n\r\n",
       413, "flink-cpp.web.upload.max-size"},
      {"chunked upload over the limit", bigChunked, 413, "flink-cpp.web.upload.max-size"},
      {"run: unknown jar", withBody("POST", "/jars/" + unknownJar + "/run", "{}"), 400, unknownJar.c_str()},
      {"run: no body (entryClass needed)", "POST " + builtinRun + " HTTP/1.1\r\nHost: x\r\n\r\n", 400, "entryClass"},
      {"run: empty body", withBody("POST", builtinRun, ""), 400, "entryClass"},
      {"run: invalid JSON", withBody("POST", builtinRun, "{"), 400, "JSON"},
      {"run: body not an object", withBody("POST", builtinRun, "[]"), 400, "object"},
      {"run: parallelism of the wrong type", withBody("POST", builtinRun, R"({"parallelism": "2"})"), 400, "parallelism"},
      {"run: parallelism 0", withBody("POST", builtinRun, R"({"parallelism": 0, "entryClass": "x"})"), 400, "parallelism"},
      {"run: programArgsList not strings", withBody("POST", builtinRun, R"({"programArgsList": [1]})"), 400,
       "programArgsList"},
      {"run: flinkConfiguration value not a string", withBody("POST", builtinRun, R"({"flinkConfiguration": {"a": 1}})"),
       400, "flinkConfiguration"},
      {"run: unknown restoreMode", withBody("POST", builtinRun, R"({"restoreMode": "MOVE"})"), 400, "restoreMode"},
      {"run: allowNonRestoredState not a boolean", withBody("POST", builtinRun, R"({"allowNonRestoredState": "yes"})"), 400,
       "allowNonRestoredState"},
      {"run: jobId not 32 hex digits", withBody("POST", builtinRun, R"({"jobId": "xyz"})"), 400, "jobId"},
      {"run: programArgs and programArgsList", withBody("POST", builtinRun, R"({"programArgs": "a", "programArgsList": ["a"]})"),
       400, "programArgsList"},
      {"run: unknown entry class", withBody("POST", builtinRun, R"({"entryClass": "com.example.Nope"})"), 400,
       "com.example.Nope"},
      {"run: main() rejects the arguments",
       withBody("POST", builtinRun, R"({"entryClass": "flinkcpp.examples.FlightDelays", "programArgs": "--input x --output y --window \"5 weeks\""})"),
       400, "--window"},
      {"run: body over rest.server.max-content-length", withBody("POST", builtinRun, std::string(100 * 1024, ' ')), 413,
       "max-content-length"},
      {"run: query parallelism not a number", withBody("POST", builtinRun + "?parallelism=two", "{}"), 400, "parallelism"},
      {"plan: unknown jar", withBody("POST", "/jars/" + unknownJar + "/plan", "{}"), 400, "does not exist"},
      {"plan (GET): bad allowNonRestoredState",
       "GET /jars/builtin_flink-cpp-examples/plan?allowNonRestoredState=maybe HTTP/1.1\r\nHost: x\r\n\r\n", 400,
       "allowNonRestoredState"},
      {"delete: unknown jar", "DELETE /jars/" + unknownJar + " HTTP/1.1\r\nHost: x\r\n\r\n", 400, "does not exist"},
      {"delete: the builtin jar", "DELETE /jars/builtin_flink-cpp-examples HTTP/1.1\r\nHost: x\r\n\r\n", 400,
       "cannot be deleted"},
  };
  for (const Case& k : cases) {
    INFO(k.what);
    RawResponse r = rawRequest(port, k.request);
    INFO("status " << r.status << " after " << r.elapsed.count() << " ms: " << r.body);
    CHECK(r.status == k.status);
    CHECK(r.elapsed < 3000ms);
    json body = json::parse(r.body, nullptr, false);
    REQUIRE(body.is_object());
    REQUIRE(body.size() == 1);
    REQUIRE(body.contains("errors"));
    REQUIRE(body["errors"].is_array());
    REQUIRE_FALSE(body["errors"].empty());
    CHECK_THAT(body["errors"][0].get<std::string>(), Catch::Contains(k.mentions));
    json overview = c.getValid("/overview", "/overview");
    CHECK(overview.at("jobs-running") == 0);
  }
  json jars = c.getValid("/jars", "/jars");
  REQUIRE(jars.at("files").size() == 1);  // nothing of the refused uploads
  CHECK(jars.at("address") == "http://127.0.0.1:" + std::to_string(port));

  // An upload as curl -F jarfile=@route-counts.so sends it, listed with its entry class.
  json uploaded = validBody(rawRequest(port, jarFile), "/jars/upload", "post");
  CHECK(uploaded.at("status") == "success");
  std::string jarId = fs::path(uploaded.at("filename").get<std::string>()).filename();
  CHECK(jarId.size() == 36 + std::string("_route-counts.so").size());
  jars = c.getValid("/jars", "/jars");
  REQUIRE(jars.at("files").size() == 2);
  CHECK(jars["files"][0].at("id") == "builtin_flink-cpp-examples");
  CHECK(jars["files"][1].at("id") == jarId);
  CHECK(jars["files"][1].at("name") == "route-counts.so");
  REQUIRE(jars["files"][1].at("entry").size() == 1);
  CHECK(jars["files"][1]["entry"][0].at("name") == "com.example.RouteCounts");

  // Plans (POST with a body, GET with query parameters) and runs.
  json plan = validBody(rawRequest(port, withBody("POST", "/jars/" + jarId + "/plan",
                                                   R"({"programArgs": "--input x --output y", "parallelism": 3})")),
                        "/jars/{jarid}/plan", "post");
  REQUIRE(plan.at("plan").at("nodes").size() == 2);
  CHECK(plan["plan"]["nodes"][0].at("parallelism") == 3);
  RawResponse getPlan = rawRequest(port, "GET /jars/builtin_flink-cpp-examples/plan?entry-class=" + std::string(kEntryClass) +
                                             "&programArg=--input,x,--output,y&parallelism=2 HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(getPlan.status == 200);
  CHECK(json::parse(getPlan.body).at("plan").at("name") == "flight-delays");

  const std::string jobId = randomHex(32);  // fresh: a job id with a job-result on disk would not run again
  json body = json::parse(goodArgs);
  body["jobId"] = jobId;
  json ran = validBody(rawRequest(port, withBody("POST", builtinRun, body.dump())), "/jars/{jarid}/run", "post");
  CHECK(ran.at("jobid") == jobId);
  RawResponse again = rawRequest(port, withBody("POST", builtinRun, body.dump()));
  CHECK(again.status == 409);
  CHECK_THAT(again.body, Catch::Contains("already been submitted"));
  json rcArgs = {{"programArgsList", {"--input", c.input().string(), "--output", (c.dir() / "out-rc").string()}}};
  json second = validBody(rawRequest(port, withBody("POST", "/jars/" + jarId + "/run", rcArgs.dump())), "/jars/{jarid}/run",
                          "post");
  // Both wait for slots (no TaskManager): listed and counted.
  json jobs = c.getValid("/jobs/overview", "/jobs/overview");
  CHECK(jobs.at("jobs").size() == 2);
  json overview = c.getValid("/overview", "/overview");
  CHECK(overview.at("jobs-running") == 2);
  CHECK(c.getValid("/config", "/config").at("features").at("web-submit") == true);

  // DELETE: the job keeps running; the jar is gone.
  RawResponse deleted = rawRequest(port, "DELETE /jars/" + jarId + " HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(deleted.status == 200);
  CHECK(c.getValid("/jars", "/jars").at("files").size() == 1);
  CHECK(c.get("/jobs/" + second.at("jobid").get<std::string>()).body.at("state") == "RUNNING");

  // Slots are short: a job whose slot.request.timeout passes fails as Flink's does
  // (NoResourceAvailableException), alone; the others keep waiting.
  json impatient = json::parse(goodArgs);
  impatient["flinkConfiguration"] = {{"slot.request.timeout", "1 s"}};
  std::string failing =
      validBody(rawRequest(port, withBody("POST", builtinRun, impatient.dump())), "/jars/{jarid}/run", "post").at("jobid");
  c.waitFor("/jobs/" + failing, "the impatient job FAILED", [](const json& b) { return b.value("state", "") == "FAILED"; });
  CHECK_THAT(c.get("/jobs/" + failing + "/exceptions").raw, Catch::Contains("NoResourceAvailableException"));
  CHECK(c.getValid("/overview", "/overview").at("jobs-running") == 2);

  // One TaskManager with one slot: the two waiting jobs run one after the other and finish
  // (the slot is released when a job ends); the route-counts job gets its library from the
  // BlobServer although the jar was deleted.
  c.startTaskManager(1);
  c.waitFor("/overview", "two jobs FINISHED", [](const json& b) { return b.value("jobs-finished", 0) == 2; });
  overview = c.getValid("/overview", "/overview");
  CHECK(overview.at("jobs-failed") == 1);
  CHECK(overview.at("jobs-running") == 0);
  CHECK(overview.at("slots-available") == 1);
  CHECK_FALSE(fs::is_empty(c.dir() / "out-rc"));
  c.stopAll();
}

TEST_CASE("No /jars endpoints in application mode or with web.submit.enable: false (Flink's 404)", "[process][rest]") {
  for (const std::string mode : {"application", "web.submit.enable: false"}) {
    INFO(mode);
    Cluster c(/*parallelism=*/1);
    if (mode != "application") c.configure("web.submit.enable: false\n");
    c.startJobManager(mode == "application" ? "standalone-job" : "jobmanager");
    for (const std::string& request :
         {std::string("GET /jars HTTP/1.1\r\nHost: x\r\n\r\n"), upload({{"jarfile", "a.so", "x"}}),
          withBody("POST", "/jars/builtin_flink-cpp-examples/run", "{}")}) {
      RawResponse r = rawRequest(c.restPort(), request);
      INFO(request.substr(0, 60) << " -> " << r.status << " " << r.body);
      CHECK(r.status == 404);
      CHECK_THAT(r.body, Catch::Contains("errors"));
    }
    CHECK(c.getValid("/config", "/config").at("features").at("web-submit") == false);
    c.stopAll();
  }
}

TEST_CASE("REST API of the web dashboard: vertex subtasks, back pressure, checkpoint subtasks, TaskManager and "
          "JobManager logs and configuration, and the pages at /",
          "[process][rest]") {
  // Sources throttled (20000 rows at 1000 rows/s per subtask): the job runs and checkpoints.
  Cluster c(/*parallelism=*/2, "1 h", ";--records-per-second;1000");
  c.configure("execution.checkpointing.interval: 100 ms\nstate.checkpoints.dir: " +
              yamlQuote("file://" + (c.dir() / "checkpoints").string()) +
              "\nweb.cancel.enable: false\nsecurity.ssl.keystore-password: hunter2\n");
  c.startJobManager();
  c.startTaskManager(1);
  c.startTaskManager(1);
  c.waitForJobState("RUNNING");
  const std::string jid = c.jobId();
  // A completed checkpoint, acknowledged by every subtask of every vertex.
  json checkpoints = c.waitFor("/jobs/" + jid + "/checkpoints", "a completed checkpoint",
                               [](const json& b) { return !b.at("latest").at("completed").is_null(); });

  json tms = c.getValid("/taskmanagers", "/taskmanagers").at("taskmanagers");
  REQUIRE(tms.size() == 2);
  std::set<std::string> tmIds;
  for (const auto& tm : tms) tmIds.insert(tm.at("id").get<std::string>());

  json details = c.getValid("/jobs/" + jid, "/jobs/{jobid}");
  for (const auto& v : details.at("vertices")) {
    const std::string vid = v.at("id");
    INFO("vertex " << v.at("name"));
    json vertex = c.getValid("/jobs/" + jid + "/vertices/" + vid, "/jobs/{jobid}/vertices/{vertexid}");
    REQUIRE(vertex.at("subtasks").size() == 2);
    for (const auto& s : vertex.at("subtasks")) CHECK(tmIds.count(s.at("taskmanager-id").get<std::string>()) == 1);
    json bp = c.getValid("/jobs/" + jid + "/vertices/" + vid + "/backpressure", "/jobs/{jobid}/vertices/{vertexid}/backpressure");
    CHECK(bp.at("subtasks").size() == 2);
  }

  json completed = checkpoints.at("latest").at("completed");
  const std::string cid = std::to_string(completed.at("id").get<int64_t>());
  REQUIRE(completed.at("tasks").size() == details.at("vertices").size());
  // The job: source -> keyed exchange -> window and sink, so each window subtask has two input
  // channels (one per source subtask) and aligns the barriers of both.
  REQUIRE(details.at("vertices").size() == 2);
  bool source = true;  // the vertices in topological order: the source first
  for (const auto& v : details.at("vertices")) {
    const std::string vid = v.at("id");
    INFO("vertex " << v.at("name"));
    CHECK(completed.at("tasks").at(vid).at("num_acknowledged_subtasks") == 2);
    json sub = c.getValid("/jobs/" + jid + "/checkpoints/details/" + cid + "/subtasks/" + vid,
                          "/jobs/{jobid}/checkpoints/details/{checkpointid}/subtasks/{vertexid}");
    REQUIRE(sub.at("subtasks").size() == 2);
    // The measured durations of each subtask (sync and async part, alignment, start delay),
    // and the summary over the subtasks agrees with them.
    std::map<std::string, std::vector<int64_t>> measured;
    for (const auto& s : sub.at("subtasks")) {
      CHECK(s.at("className") == "completed");
      measured["sync"].push_back(s.at("checkpoint").at("sync").get<int64_t>());
      measured["async"].push_back(s.at("checkpoint").at("async").get<int64_t>());
      measured["alignment"].push_back(s.at("alignment").at("duration").get<int64_t>());
      measured["start_delay"].push_back(s.at("start_delay").get<int64_t>());
      CHECK(s.at("start_delay").get<int64_t>() <= s.at("end_to_end_duration").get<int64_t>());
    }
    if (source) {
      for (int64_t ms : measured["alignment"]) CHECK(ms == 0);  // sources align nothing
    }
    const json& summary = sub.at("summary");
    const std::map<std::string, json> summaries = {{"sync", summary.at("checkpoint_duration").at("sync")},
                                                   {"async", summary.at("checkpoint_duration").at("async")},
                                                   {"alignment", summary.at("alignment").at("duration")},
                                                   {"start_delay", summary.at("start_delay")}};
    for (const auto& [name, values] : measured) {
      INFO(name << " " << summary.dump());
      for (int64_t ms : values) CHECK(ms >= 0);
      const json& st = summaries.at(name);
      CHECK(st.at("min").get<int64_t>() == *std::min_element(values.begin(), values.end()));
      CHECK(st.at("max").get<int64_t>() == *std::max_element(values.begin(), values.end()));
      CHECK(st.at("avg").get<int64_t>() >= st.at("min").get<int64_t>());
      CHECK(st.at("avg").get<int64_t>() <= st.at("max").get<int64_t>());
    }
    source = false;
  }
  CHECK(c.get("/jobs/" + jid + "/checkpoints/details/" + cid + "/subtasks/" + std::string(32, 'a')).status == 404);

  // Each TaskManager's details, log list, log and stdout, fetched from its process.
  for (const auto& id : tmIds) {
    INFO("TaskManager " << id);
    json tm = c.getValid("/taskmanagers/" + id, "/taskmanagers/{taskmanagerid}");
    CHECK(tm.at("slotsNumber") == 1);
    json rss = c.waitFor("/taskmanagers/" + id + "/metrics?get=Status.Process.Memory.RSS,Status.Process.Threads",
                         "the TaskManager's process metrics", [](const json& b) { return b.size() == 2; });
    for (const auto& item : rss) {  // a bare array of Metric, as Flink sends (see the vertex metrics above)
      auto errors = spec().validateSchema("Metric", item, /*strict=*/true);
      INFO("OpenAPI violations of " << item.dump() << " as Metric:\n" << joinLines(errors));
      CHECK(errors.empty());
    }
    CHECK(std::stod(rss.at(0).at("value").get<std::string>()) > 0);
    json logs = c.getValid("/taskmanagers/" + id + "/logs", "/taskmanagers/{taskmanagerid}/logs").at("logs");
    std::set<std::string> names;
    for (const auto& l : logs) names.insert(l.at("name").get<std::string>());
    CHECK(names.count("taskmanager-0.log") == 1);
    Response log = c.get("/taskmanagers/" + id + "/log");
    CHECK(log.status == 200);
    CHECK(log.raw.find("Registered at the ResourceManager as " + id) != std::string::npos);
    CHECK(c.get("/taskmanagers/" + id + "/stdout").status == 200);
    CHECK(c.get("/taskmanagers/" + id + "/logs/taskmanager-1.log").status == 200);
    CHECK(c.get("/taskmanagers/" + id + "/logs/..").status == 404);
  }
  Response unknown = c.get("/taskmanagers/" + std::string(32, 'b') + "/log");
  CHECK(unknown.status == 404);
  CHECK(unknown.body.at("errors").size() == 1);

  // The JobManager's configuration (secrets masked), log list, log and stdout.
  json config = c.getValid("/jobmanager/config", "/jobmanager/config");
  std::map<std::string, std::string> entries;
  for (const auto& e : config) entries[e.at("key")] = e.at("value");
  CHECK(entries.at("parallelism.default") == "2");
  CHECK(entries.at("security.ssl.keystore-password") == "******");
  json jmLogs = c.getValid("/jobmanager/logs", "/jobmanager/logs").at("logs");
  CHECK(std::any_of(jmLogs.begin(), jmLogs.end(), [](const json& l) { return l.at("name") == "jobmanager.log"; }));
  Response jmLog = c.get("/jobmanager/log");
  CHECK(jmLog.status == 200);
  CHECK(jmLog.raw.find("Submitting job") != std::string::npos);
  CHECK(c.get("/jobmanager/stdout").status == 200);
  CHECK(c.get("/jobmanager/logs/jobmanager.log").status == 200);
  CHECK(c.get("/jobmanager/logs/.hidden").status == 404);

  // web.cancel.enable: false hides the dashboard's cancel button; / serves the dashboard (or,
  // in a build without npm, the page that says it was not built).
  json webConfig = c.getValid("/config", "/config");
  CHECK(webConfig.at("features").at("web-cancel") == false);
  Response index = c.get("/");
  CHECK(index.status == 200);
  CHECK((index.raw.find("dashboard.js") != std::string::npos || index.raw.find("was not built") != std::string::npos));
  c.stopAll();
}
