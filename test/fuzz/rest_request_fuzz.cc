// Fuzz target: HTTP requests to the JobManager's REST API (jobmanager/rest_handlers.h), request
// line, query parameters, headers and body, served by cpp-httplib from memory. The JobManager
// behind it is a session one with the /jars API and one job (the flight-delay job, waiting for
// slots). A request must never make a handler throw: a 500 answer stops the fuzzer.
#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "fuzz_support.h"
#include "jobmanager/rest_handlers.h"

namespace {

using namespace flink;

/// A connection whose bytes are the fuzzer's input; answers are kept.
class MemoryStream : public httplib::Stream {
 public:
  MemoryStream(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    size_t n = std::min(size, size_ - at_);
    std::memcpy(ptr, data_ + at_, n);
    at_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    out_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 8081;
  }
  socket_t socket() const override { return INVALID_SOCKET; }
  const std::string& out() const { return out_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
  std::string out_;
};

class MemoryServer : public httplib::Server {
 public:
  bool serve(httplib::Stream& stream) {
    bool closed = false;
    return process_request(stream, /*close_connection=*/true, closed, [](httplib::Request&) {});
  }
};

class View : public JobManagerView {
 public:
  explicit View(Configuration config) : config_(std::move(config)) {
    JobSubmission sub = fuzz::flightDelaysSubmission();
    sub.config = config_;
    job_ = std::make_unique<JobMaster>(std::move(sub), &rm_, [](const std::string&, const nlohmann::json&) {});
    job_->start();
  }
  const Configuration& config() const override { return config_; }
  const ResourceManager& resourceManager() const override { return rm_; }
  std::vector<const JobMaster*> jobs() const override { return {job_.get()}; }
  const JobMaster* job(const std::string& id) const override { return id == job_->jobId() ? job_.get() : nullptr; }
  bool cancelJob(const std::string& id) override { return id == job_->jobId(); }  // stays as it is
  JobMaster* mutableJob(const std::string& id) override { return id == job_->jobId() ? job_.get() : nullptr; }
  Status submitJob(JobSubmission) override { return Status::Ok(); }
  /// No TaskManager is registered: every file request names an unknown one.
  bool requestTaskManagerFile(const std::string&, const std::string&, std::function<void(nlohmann::json)>) override {
    return false;
  }

 private:
  Configuration config_;
  ResourceManager rm_;
  std::unique_ptr<JobMaster> job_;
};

struct Fixture {
  Fixture() {
    namespace fs = std::filesystem;
    dir = (fs::temp_directory_path() / ("rest-fuzz-" + std::to_string(::getpid()))).string();
    fs::create_directories(dir);
    Configuration config;
    config.set("state.savepoints.dir", "file://" + dir + "/savepoints");
    config.set("flink-cpp.web.upload.max-size", "65536");
    config.set("rest.server.max-content-length", "65536");
    view = std::make_unique<View>(config);
    auto opened = JarStore::open(dir + "/jars");
    if (!opened.ok()) std::abort();
    jars = std::move(*opened);
    mainThread = std::thread([this] {
      while (!stop) mailbox.runFor(std::chrono::milliseconds(20));
    });
    registerRestHandlers(server, *view, mailbox, jars.get(), &address);
  }
  std::string dir;
  std::string address = "http://127.0.0.1:8081";
  Mailbox mailbox;
  std::unique_ptr<View> view;
  std::unique_ptr<JarStore> jars;
  std::atomic<bool> stop{false};
  std::thread mainThread;  // the JobManager's main thread (never joined: the process exits)
  MemoryServer server;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();
  MemoryStream stream(data, size);
  fixture->server.serve(stream);
  if (stream.out().rfind("HTTP/1.1 500", 0) == 0) {
    std::fprintf(stderr, "500 answer:\n%s\n", stream.out().c_str());
    __builtin_trap();
  }
  return 0;
}
