// Tests of the configuration: Flink durations and memory sizes, YAML parsing (nested and flat
// keys), typed getters and their errors, loading from a directory and rendering back to YAML.
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "flink/configuration.h"

using namespace flink;

namespace {

/// A fresh temporary directory, removed with its content at scope exit.
struct TempDir {
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "flink-config-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream out(path / name);
    out << text;
    REQUIRE(out.good());
  }
  std::filesystem::path path;
};

int64_t durationMs(const std::string& text) {
  auto r = parseDurationMs(text);
  INFO("'" << text << "': " << r.status().message());
  REQUIRE(r.ok());
  return *r;
}

int64_t memoryBytes(const std::string& text) {
  auto r = parseMemoryBytes(text);
  INFO("'" << text << "': " << r.status().message());
  REQUIRE(r.ok());
  return *r;
}

Configuration parse(const std::string& yaml) {
  auto r = Configuration::parseYaml(yaml, "test.yaml");
  INFO(r.status().message());
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("parseDurationMs accepts Flink's duration syntax", "[config]") {
  CHECK(durationMs("1 h") == 3'600'000);
  CHECK(durationMs("15 min") == 900'000);
  CHECK(durationMs("30s") == 30'000);
  CHECK(durationMs("500 ms") == 500);
  CHECK(durationMs("2 d") == 172'800'000);
  CHECK(durationMs("100") == 100);  // a bare number is milliseconds
  CHECK(durationMs("0") == 0);
  CHECK(durationMs("  10 S  ") == 10'000);
  CHECK(durationMs("3 hours") == 10'800'000);
  CHECK(durationMs("1 day") == 86'400'000);
  CHECK(durationMs("2 minutes") == 120'000);
  CHECK(durationMs("5 m") == 300'000);
  CHECK(durationMs("7 millis") == 7);
  CHECK(durationMs("+4 sec") == 4'000);
}

TEST_CASE("parseDurationMs rejects malformed durations - naming the text", "[config]") {
  for (const char* text : {"abc", "5 weeks", "-1 s", "", "ms", "1.5 h", "10 hh"}) {
    auto r = parseDurationMs(text);
    INFO("'" << text << "'");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains("'" + std::string(text) + "'"));
  }
  CHECK_THAT(parseDurationMs("5 weeks").status().message(), Catch::Contains("weeks"));
}

TEST_CASE("formatDurationMs prints the largest whole unit", "[config]") {
  CHECK(formatDurationMs(3'600'000) == "1 h");
  CHECK(formatDurationMs(172'800'000) == "2 d");
  CHECK(formatDurationMs(900'000) == "15 min");
  CHECK(formatDurationMs(30'000) == "30 s");
  CHECK(formatDurationMs(1'500) == "1500 ms");
  CHECK(formatDurationMs(0) == "0 ms");
  for (int64_t ms : {int64_t{1}, int64_t{999}, int64_t{60'000}, int64_t{5'400'000}, int64_t{90'000'000}}) {
    CHECK(durationMs(formatDurationMs(ms)) == ms);
  }
}

TEST_CASE("parseMemoryBytes accepts Flink's memory sizes", "[config]") {
  CHECK(memoryBytes("32kb") == 32 * 1024);
  CHECK(memoryBytes("32 kb") == 32 * 1024);
  CHECK(memoryBytes("1024m") == int64_t{1} << 30);
  CHECK(memoryBytes("1g") == int64_t{1} << 30);
  CHECK(memoryBytes("512 mb") == int64_t{512} << 20);
  CHECK(memoryBytes("1gb") == int64_t{1} << 30);
  CHECK(memoryBytes("2 GB") == int64_t{2} << 30);
  CHECK(memoryBytes("100") == 100);
  CHECK(memoryBytes("100 bytes") == 100);
  CHECK(memoryBytes("3 t") == int64_t{3} << 40);
  CHECK(memoryBytes("64 kibibytes") == 64 * 1024);
  CHECK(memoryBytes("1 mebibytes") == 1 << 20);
  for (const char* text : {"abc", "1 zb", "-5m", "", "kb"}) {
    INFO("'" << text << "'");
    auto r = parseMemoryBytes(text);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains("'" + std::string(text) + "'"));
  }
}

TEST_CASE("Configuration::parseYaml flattens nested keys and keeps flat ones", "[config]") {
  Configuration conf = parse(R"(
taskmanager:
  numberOfTaskSlots: 2
  memory:
    segment-size: 64kb
parallelism.default: 3
pipeline:
  max-parallelism: 256
execution.buffer-timeout: 10 ms
my.custom:
  unknown-key: hello   # unknown keys are kept
kubernetes.tolerations: [a, b, c]
empty.value:
)");
  CHECK(conf.entries() == std::map<std::string, std::string>{
                              {"taskmanager.numberOfTaskSlots", "2"},
                              {"taskmanager.memory.segment-size", "64kb"},
                              {"parallelism.default", "3"},
                              {"pipeline.max-parallelism", "256"},
                              {"execution.buffer-timeout", "10 ms"},
                              {"my.custom.unknown-key", "hello"},
                              {"kubernetes.tolerations", "a;b;c"},
                              {"empty.value", ""},
                          });
  CHECK(*conf.getInt(options::kNumTaskSlots, 1) == 2);
  CHECK(*conf.getInt(options::kMaxParallelism, 128) == 256);
  CHECK(*conf.getDurationMs(options::kBufferTimeout, 100) == 10);
  CHECK(conf.getString("my.custom.unknown-key", "") == "hello");
}

TEST_CASE("Configuration::parseYaml reports errors with the source and line", "[config]") {
  auto bad = Configuration::parseYaml("a: 1\nb: [unclosed\n", "conf/config.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::StartsWith("conf/config.yaml:"));

  auto notMap = Configuration::parseYaml("- a\n- b\n", "list.yaml");
  REQUIRE_FALSE(notMap.ok());
  CHECK_THAT(notMap.status().message(), Catch::Contains("list.yaml"));

  auto empty = Configuration::parseYaml("", "empty.yaml");
  REQUIRE(empty.ok());
  CHECK(empty->entries().empty());
}

TEST_CASE("Typed getters return defaults - parse values and name the key in errors", "[config]") {
  Configuration conf;
  CHECK(*conf.getInt("absent", 7) == 7);
  CHECK(*conf.getBool("absent", true));
  CHECK(*conf.getDurationMs("absent", 250) == 250);
  CHECK(conf.getString("absent", "def") == "def");
  CHECK_FALSE(conf.get("absent").has_value());

  conf.set("rest.port", " 8081 ");
  conf.set("flag", "TRUE");
  conf.set("off", "false");
  conf.set("bad.int", "12abc");
  conf.set("bad.bool", "yes");
  conf.set("bad.duration", "soon");
  CHECK(*conf.getInt("rest.port", 0) == 8081);
  CHECK(*conf.getBool("flag", false));
  CHECK_FALSE(*conf.getBool("off", true));

  auto i = conf.getInt("bad.int", 0);
  REQUIRE_FALSE(i.ok());
  CHECK_THAT(i.status().message(), Catch::Contains("bad.int") && Catch::Contains("12abc"));
  auto b = conf.getBool("bad.bool", false);
  REQUIRE_FALSE(b.ok());
  CHECK_THAT(b.status().message(), Catch::Contains("bad.bool") && Catch::Contains("yes"));
  auto d = conf.getDurationMs("bad.duration", 0);
  REQUIRE_FALSE(d.ok());
  CHECK_THAT(d.status().message(), Catch::Contains("bad.duration") && Catch::Contains("soon"));
}

TEST_CASE("Configuration::addAll overlays entries", "[config]") {
  Configuration base = parse("a: 1\nb: 2\n");
  Configuration over = parse("b: 3\nc: 4\n");
  base.addAll(over);
  CHECK(base.entries() == std::map<std::string, std::string>{{"a", "1"}, {"b", "3"}, {"c", "4"}});
}

TEST_CASE("Configuration::toYaml round-trips through parseYaml", "[config]") {
  Configuration conf;
  conf.set("parallelism.default", "2");
  conf.set("rest.bind-address", "0.0.0.0");
  conf.set(options::kJobId, "d7c11951157d8d48dc7c2636ac63223e");
  conf.set("env.java.opts", "-Xmx1g -Dkey=value: with colon # and hash");
  conf.set("quoted", "say \"hi\" and 'bye'");
  conf.set("multi.line", "line one\nline two");
  conf.set("padded", "  spaces  ");
  conf.set("empty", "");
  conf.set("looks.like.bool", "true");
  conf.set("looks.like.null", "null");
  conf.set("looks.like.list", "[a, b]");
  conf.set("unicode", "caf\xc3\xa9");
  std::string yaml = conf.toYaml();
  INFO(yaml);
  Configuration back = parse(yaml);
  CHECK(back.entries() == conf.entries());
  CHECK(back.toYaml() == yaml);
}

TEST_CASE("Configuration::loadFromDirectory prefers config.yaml over flink-conf.yaml", "[config]") {
  TempDir dir;
  auto none = Configuration::loadFromDirectory(dir.path.string());
  REQUIRE(none.ok());
  CHECK(none->entries().empty());

  dir.write("flink-conf.yaml", "jobmanager.rpc.address: jm\ntaskmanager.numberOfTaskSlots: 4\n");
  auto legacy = Configuration::loadFromDirectory(dir.path.string());
  REQUIRE(legacy.ok());
  CHECK(legacy->getString(options::kRpcAddress, "") == "jm");
  CHECK(*legacy->getInt(options::kNumTaskSlots, 1) == 4);

  dir.write("config.yaml", "jobmanager:\n  rpc:\n    address: jm2\n");
  auto current = Configuration::loadFromDirectory(dir.path.string());
  REQUIRE(current.ok());
  CHECK(current->entries() == std::map<std::string, std::string>{{"jobmanager.rpc.address", "jm2"}});

  dir.write("config.yaml", "a: [broken\n");
  auto broken = Configuration::loadFromDirectory(dir.path.string());
  REQUIRE_FALSE(broken.ok());
  CHECK_THAT(broken.status().message(), Catch::Contains("config.yaml"));

  auto missing = Configuration::loadFromDirectory((dir.path / "does-not-exist").string());
  REQUIRE(missing.ok());
  CHECK(missing->entries().empty());
}

TEST_CASE("HeartbeatSettings: Flink's defaults, and a timeout not above the interval is an error naming both keys",
          "[config]") {
  Configuration defaults;
  auto d = HeartbeatSettings::fromConfig(defaults);
  REQUIRE(d.ok());
  CHECK(d->intervalMs == 10000);
  CHECK(d->timeoutMs == 50000);

  Configuration fast;
  fast.set("heartbeat.interval", "1 s");
  fast.set("heartbeat.timeout", "5 s");
  auto f = HeartbeatSettings::fromConfig(fast);
  REQUIRE(f.ok());
  CHECK(f->intervalMs == 1000);
  CHECK(f->timeoutMs == 5000);

  Configuration wrong;
  wrong.set("heartbeat.timeout", "5 s");  // below the default interval of 10 s
  auto w = HeartbeatSettings::fromConfig(wrong);
  REQUIRE_FALSE(w.ok());
  CHECK_THAT(w.status().message(), Catch::Contains("heartbeat.timeout") && Catch::Contains("heartbeat.interval"));

  Configuration garbage;
  garbage.set("heartbeat.interval", "soon");
  CHECK_FALSE(HeartbeatSettings::fromConfig(garbage).ok());
}
