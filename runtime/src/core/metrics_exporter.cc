#include "core/metrics_exporter.h"

#include <httplib.h>
#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace flink {

MetricsExporter::MetricsExporter() : server_(std::make_unique<httplib::Server>()) {}
MetricsExporter::~MetricsExporter() { stop(); }

Status MetricsExporter::start(const std::string& host, const std::string& portSpec, Fill fill) {
  int first = 0, last = 0;
  try {
    auto dash = portSpec.find('-');
    first = std::stoi(portSpec.substr(0, dash));
    last = dash == std::string::npos ? first : std::stoi(portSpec.substr(dash + 1));
  } catch (...) {
    return Status::Error("metrics.reporter.prom.port: '" + portSpec + "' is not a port or a port range");
  }
  server_->Get("/metrics", [fill](const httplib::Request&, httplib::Response& res) {
    prometheus::Registry registry;
    fill(registry);
    prometheus::TextSerializer serializer;
    res.set_content(serializer.Serialize(registry.Collect()), "text/plain; version=0.0.4");
  });
  if (first == 0) {
    port_ = server_->bind_to_any_port(host);
  } else {
    for (int p = first; p <= last && port_ < 0; ++p) {
      if (server_->bind_to_port(host, p)) port_ = p;
    }
  }
  if (port_ <= 0) {
    port_ = -1;
    return Status::Error("metrics.reporter.prom.port: no free port in '" + portSpec + "'");
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void MetricsExporter::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

ProcessStats readProcessStats() {
  ProcessStats stats;
  {
    std::ifstream in("/proc/self/stat");
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = content.rfind(')');
    if (close != std::string::npos) {
      std::istringstream fields(content.substr(close + 2));
      std::string f;
      double utime = 0, stime = 0;
      for (int i = 3; i <= 15 && fields >> f; ++i) {
        if (i == 14) utime = std::stod(f);
        if (i == 15) stime = std::stod(f);
      }
      stats.cpuSeconds = (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) stats.rssBytes = std::stod(line.substr(6)) * 1024;
      if (line.rfind("Threads:", 0) == 0) stats.threads = std::stoi(line.substr(8));
    }
  }
  return stats;
}

void addProcessMetrics(prometheus::Registry& registry, const std::string& prefix) {
  ProcessStats stats = readProcessStats();
  double cpuSeconds = stats.cpuSeconds, rss = stats.rssBytes;
  prometheus::BuildGauge().Name(prefix + "_Status_Process_CPU_Time").Help("CPU seconds used by the process")
      .Register(registry).Add({}).Set(cpuSeconds);
  prometheus::BuildGauge().Name(prefix + "_Status_Process_RSS").Help("Resident set size of the process in bytes")
      .Register(registry).Add({}).Set(rss);
}

}  // namespace flink
