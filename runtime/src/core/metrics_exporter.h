// Prometheus endpoint of a JobManager or TaskManager, as Flink's PrometheusReporter
// (metrics.reporter.prom.port, default 9249; a range "9249-9260" tries each port in turn;
// 0 picks a free port). Metric names follow Flink's reporter: flink_<scope>_<name> with
// labels for the scope's variables. The values are rendered at scrape time by a callback
// that fills a fresh prometheus-cpp Registry (so tasks that ended disappear).
// Thread-safety: the callback runs on the HTTP server's threads.
#pragma once

#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "flink/status.h"

namespace httplib {
class Server;
}

namespace flink {

class MetricsExporter {
 public:
  using Fill = std::function<void(prometheus::Registry&)>;
  MetricsExporter();
  ~MetricsExporter();
  /// Binds host and the first free port of portSpec ("9249", "9249-9260" or "0").
  Status start(const std::string& host, const std::string& portSpec, Fill fill);
  int port() const { return port_; }
  void stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = -1;
};

/// This process's resource use, read from /proc (zero what cannot be read).
struct ProcessStats {
  double cpuSeconds = 0;  // user + system
  double rssBytes = 0;    // resident set size
  int threads = 0;
};
ProcessStats readProcessStats();

/// Adds <prefix>_Status_Process_CPU_Time (seconds) and <prefix>_Status_Process_RSS (bytes)
/// of this process, read from /proc.
void addProcessMetrics(prometheus::Registry& registry, const std::string& prefix);

}  // namespace flink
