// Logging levels from log4j / logback configuration files (flink/common/log.h), as
// spec.logConfiguration puts them next to the runtime's config.yaml.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "flink/common/log.h"

namespace fs = std::filesystem;
using flink::log::Level;

namespace {

struct LogDir {
  fs::path dir = fs::temp_directory_path() / ("flink-cpp-logging-" + std::to_string(::getpid()));
  LogDir() { fs::create_directories(dir); }
  ~LogDir() {
    fs::remove_all(dir);
    flink::log::setLevels(Level::kInfo, {});  // the process default again
    flink::log::setComponent("flink");
  }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir / name) << text; }
};

}  // namespace

TEST_CASE("Logging levels from log4j 2 and log4j 1 properties, per logger by name prefix", "[logging]") {
  LogDir d;
  d.write("log4j-console.properties",
          "# Flink's layout, a quieter root and a verbose runtime\n"
          "rootLogger.level = WARN\n"
          "rootLogger.appenderRef.console.ref = ConsoleAppender\n"
          "logger.runtime.name = org.apache.flink.runtime\n"
          "logger.runtime.level = DEBUG\n"
          "logger.tm.name = org.apache.flink.runtime.taskexecutor\n"
          "logger.tm.level = ERROR\n");
  auto r = flink::log::configureFromDirectory(d.dir.string());
  REQUIRE(r.ok());
  CHECK(*r);
  flink::log::setComponent("jobmanager");  // org.apache.flink.runtime.jobmanager: under runtime
  CHECK(flink::log::loggerName() == "org.apache.flink.runtime.jobmanager");
  CHECK(flink::log::enabled(Level::kDebug));
  flink::log::setComponent("taskmanager");  // the longer name wins
  CHECK_FALSE(flink::log::enabled(Level::kWarn));
  CHECK(flink::log::enabled(Level::kError));
  flink::log::setComponent("operator");  // only the root applies
  CHECK_FALSE(flink::log::enabled(Level::kInfo));
  CHECK(flink::log::enabled(Level::kWarn));

  d.write("log4j-console.properties",
          "log4j.rootLogger=${env:ROOT_LOG_LEVEL:-ERROR}, console\nlog4j.logger.org.apache.flink.kubernetes=INFO\n");
  REQUIRE(flink::log::configureFromDirectory(d.dir.string()).ok());
  CHECK(flink::log::enabled(Level::kInfo));  // operator, under org.apache.flink.kubernetes
  flink::log::setComponent("jobmanager");
  CHECK_FALSE(flink::log::enabled(Level::kWarn));
}

TEST_CASE("Logging levels from logback-console.xml, and errors that name the file and line", "[logging]") {
  LogDir d;
  d.write("logback-console.xml",
          "<configuration>\n  <root level=\"ERROR\"><appender-ref ref=\"console\"/></root>\n"
          "  <logger level=\"DEBUG\" name=\"org.apache.flink.runtime.jobmanager\"/>\n</configuration>\n");
  REQUIRE(flink::log::configureFromDirectory(d.dir.string()).ok());
  flink::log::setComponent("jobmanager");
  CHECK(flink::log::enabled(Level::kDebug));
  flink::log::setComponent("taskmanager");
  CHECK_FALSE(flink::log::enabled(Level::kWarn));

  d.write("log4j-console.properties", "# a typo\nrootLogger.level = WARNN\n");
  auto bad = flink::log::configureFromDirectory(d.dir.string());
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("log4j-console.properties:2") && Catch::Contains("WARNN"));
  CHECK_FALSE(flink::log::enabled(Level::kWarn));  // nothing applied: the logback levels stay

  fs::remove(d.dir / "log4j-console.properties");
  fs::remove(d.dir / "logback-console.xml");
  auto none = flink::log::configureFromDirectory(d.dir.string());
  REQUIRE(none.ok());
  CHECK_FALSE(*none);
}
