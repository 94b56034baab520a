// The operator's own configuration at runtime: per-namespace and per-Flink-version defaults in
// the Apache operator's precedence (config/operator_config_store.h) and the dynamic reload of
// the configuration directory (config/config_watcher.h), with a manual clock.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/config_watcher.h"
#include "config/operator_config_store.h"
#include "flink/common/log.h"

namespace fs = std::filesystem;
using namespace flink::k8s;
using Map = std::map<std::string, std::string>;

namespace {

/// A manual clock for the watcher.
struct ManualClock {
  std::chrono::steady_clock::time_point now{};
  ConfigWatcher::Clock fn() {
    return [this] { return now; };
  }
};

/// A configuration directory laid out as Kubernetes mounts a ConfigMap: the files are symlinks
/// through `..data`, a symlink to a timestamped directory that an update replaces whole.
struct ConfigMapDir {
  fs::path dir = fs::temp_directory_path() / ("flink-cpp-opconf-" + std::to_string(::getpid()));
  int version = 0;
  ConfigMapDir() {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~ConfigMapDir() {
    fs::remove_all(dir);
    flink::log::setLevels(flink::log::Level::kInfo, {});
  }
  /// A new version of the ConfigMap with these files, swapped in atomically through ..data;
  /// every file gets the same modification time as in the version before.
  void publish(const Map& files) {
    fs::path data = dir / ("..2026_01_01_00_00_0" + std::to_string(++version));
    fs::create_directories(data);
    for (const auto& [name, text] : files) {
      std::ofstream(data / name) << text;
      fs::last_write_time(data / name, fs::file_time_type{});
      if (!fs::exists(fs::symlink_status(dir / name))) fs::create_symlink(fs::path("..data") / name, dir / name);
    }
    fs::create_directory_symlink(data.filename(), dir / "..data_tmp");
    fs::rename(dir / "..data_tmp", dir / "..data");  // rename(2) replaces the old link atomically
  }
  std::string path() const { return dir.string(); }
};

std::string value(const std::shared_ptr<const OperatorConfig>& c, const std::string& key) {
  auto it = c->defaultConfiguration.find(key);
  return it == c->defaultConfiguration.end() ? "(unset)" : it->second;
}

}  // namespace

TEST_CASE("Defaults per namespace and per Flink version, in the Apache operator's precedence", "[operator-config]") {
  const std::string ns = "kubernetes.operator.default-configuration.namespace.";
  const std::string v = "kubernetes.operator.default-configuration.flink-version.";
  Map defaults = {{"a", "global"},           {"b", "global"},         {"c", "global"},
                  {"d", "global"},           {"e", "global"},         {ns + "team-a.a", "team-a"},
                  {ns + "team-a.b", "team-a"}, {ns + "team-b.a", "team-b"}, {v + "v1_16+.b", "v1_16+"},
                  {v + "v1_16+.c", "v1_16+"}, {v + "v1_17+.c", "v1_17+"}, {v + "v1_19+.d", "v1_19+"},
                  {v + "v1_18.d", "v1_18"},   {v + "v1_18.e", "v1_18"},   {v + "v1_17.e", "v1_17"}};

  Map r = resolveDefaults(defaults, "team-a", "v1_18");
  CHECK(r == Map{{"a", "team-a"}, {"b", "v1_16+"}, {"c", "v1_17+"}, {"d", "v1_18"}, {"e", "v1_18"}});

  // Another namespace and an older version: v1_17+ applies to v1_17, v1_18's keys do not.
  r = resolveDefaults(defaults, "team-b", "v1_17");
  CHECK(r == Map{{"a", "team-b"}, {"b", "v1_16+"}, {"c", "v1_17+"}, {"d", "global"}, {"e", "v1_17"}});

  // A version older than every "+" prefix, and no namespace entry: only the global keys.
  r = resolveDefaults(defaults, "other", "v1_15");
  CHECK(r == Map{{"a", "global"}, {"b", "global"}, {"c", "global"}, {"d", "global"}, {"e", "global"}});

  // A malformed or missing version: no version defaults, the namespace's still apply.
  CHECK(resolveDefaults(defaults, "team-a", "1.18")["c"] == "global");
  CHECK(resolveDefaults(defaults, "team-a", "")["a"] == "team-a");
}

TEST_CASE("The config store hands out snapshots: a reload never changes one a reconcile holds", "[operator-config]") {
  OperatorConfig initial;
  initial.jobManagerAddress = "pod-ip";
  initial.defaultConfiguration = {{"k", "1"}, {"kubernetes.operator.default-configuration.namespace.x.k", "x1"}};
  OperatorConfigStore store(initial);
  auto held = store.forResource("x", "v1_18");
  CHECK(value(held, "k") == "x1");
  CHECK(held->jobManagerAddress == "pod-ip");
  CHECK(value(store.forResource("y", "v1_18"), "k") == "1");

  store.setDefaults({{"k", "2"}});
  CHECK(value(held, "k") == "x1");
  CHECK(value(store.forResource("x", "v1_18"), "k") == "2");
  CHECK(store.current()->jobManagerAddress == "pod-ip");
}

TEST_CASE("kubernetes.operator.dynamic.config.*: Apache defaults, values and malformed ones", "[operator-config]") {
  auto d = DynamicConfigSettings::fromConfiguration({});
  REQUIRE(d.ok());
  CHECK(d->enabled);
  CHECK(d->checkInterval == std::chrono::minutes(5));
  d = DynamicConfigSettings::fromConfiguration({{"kubernetes.operator.dynamic.config.enabled", "false"},
                                                {"kubernetes.operator.dynamic.config.check.interval", "30 s"}});
  REQUIRE(d.ok());
  CHECK_FALSE(d->enabled);
  CHECK(d->checkInterval == std::chrono::seconds(30));
  auto bad = DynamicConfigSettings::fromConfiguration({{"kubernetes.operator.dynamic.config.check.interval", "soon"}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("kubernetes.operator.dynamic.config.check.interval"));
}

TEST_CASE("Options read only at start are reported as changed", "[operator-config]") {
  Map before = {{"kubernetes.operator.reconcile.interval", "60 s"},
                {"kubernetes.operator.metrics.reporter.prom.port", "9999"},
                {"kubernetes.operator.leader-election.enabled", "false"}};
  Map after = {{"kubernetes.operator.reconcile.interval", "15 s"},
               {"kubernetes.operator.metrics.reporter.prom.port", "9998"},
               {"kubernetes.operator.leader-election.lease-name", "lock"},
               {"kubernetes.operator.watched.namespaces", "a,b"}};
  CHECK(restartRequiredChanges(before, after) ==
        std::vector<std::string>{"kubernetes.operator.leader-election.enabled",
                                 "kubernetes.operator.leader-election.lease-name",
                                 "kubernetes.operator.metrics.reporter.prom.port",
                                 "kubernetes.operator.watched.namespaces"});
  CHECK(restartRequiredChanges(before, before).empty());
}

TEST_CASE("Dynamic reload: a ConfigMap update (..data swapped, mtimes unchanged) is applied at the next check",
          "[operator-config]") {
  ConfigMapDir d;
  d.publish({{"config.yaml", "kubernetes.operator.reconcile.interval: 60 s\nk: 1\n"}});
  auto loaded = flink::Configuration::loadFromDirectory(d.path());
  REQUIRE(loaded.ok());
  OperatorConfig initial;
  initial.defaultConfiguration = loaded->entries();
  auto store = std::make_shared<OperatorConfigStore>(initial);
  ManualClock clock;
  DynamicConfigSettings settings;
  settings.checkInterval = std::chrono::seconds(30);
  ConfigWatcher watcher(d.path(), loaded->entries(), store, settings, clock.fn());

  // Nothing changed: a check finds nothing to do.
  clock.now += std::chrono::seconds(31);
  auto r = watcher.poll();
  REQUIRE(r.ok());
  CHECK_FALSE(*r);

  d.publish({{"config.yaml", "kubernetes.operator.reconcile.interval: 15 s\nk: 2\n"
                             "kubernetes.operator.default-configuration.namespace.team.k: 3\n"}});
  // Not due yet: the store keeps the old configuration.
  clock.now += std::chrono::seconds(10);
  r = watcher.poll();
  REQUIRE(r.ok());
  CHECK_FALSE(*r);
  CHECK(value(store.get()->forResource("any", ""), "k") == "1");

  clock.now += std::chrono::seconds(21);
  r = watcher.poll();
  REQUIRE(r.ok());
  CHECK(*r);
  CHECK(value(store->forResource("any", ""), "kubernetes.operator.reconcile.interval") == "15 s");
  CHECK(value(store->forResource("any", ""), "k") == "2");
  CHECK(value(store->forResource("team", ""), "k") == "3");
}

TEST_CASE("Dynamic reload: a malformed file is reported and the configuration in use kept until it is fixed",
          "[operator-config]") {
  ConfigMapDir d;
  d.publish({{"flink-conf.yaml", "k: 1\n"}});
  auto store = std::make_shared<OperatorConfigStore>(OperatorConfig{"img", {{"k", "1"}}});
  ManualClock clock;
  ConfigWatcher watcher(d.path(), {{"k", "1"}}, store, DynamicConfigSettings{}, clock.fn());

  d.publish({{"flink-conf.yaml", "k: [unclosed\n"}});
  clock.now += std::chrono::minutes(5);
  auto r = watcher.poll();
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("flink-conf.yaml"));
  CHECK_THAT(r.status().message(), Catch::Contains("keeping the previous operator configuration"));
  CHECK(value(store->current(), "k") == "1");

  d.publish({{"flink-conf.yaml", "k: 4\n"}});
  clock.now += std::chrono::minutes(5);
  r = watcher.poll();
  REQUIRE(r.ok());
  CHECK(*r);
  CHECK(value(store->current(), "k") == "4");
}

TEST_CASE("Dynamic reload: disabled, nothing is ever read again", "[operator-config]") {
  ConfigMapDir d;
  d.publish({{"config.yaml", "k: 1\n"}});
  auto store = std::make_shared<OperatorConfigStore>(OperatorConfig{"img", {{"k", "1"}}});
  ManualClock clock;
  DynamicConfigSettings off;
  off.enabled = false;
  ConfigWatcher watcher(d.path(), {{"k", "1"}}, store, off, clock.fn());
  d.publish({{"config.yaml", "k: 2\n"}});
  clock.now += std::chrono::hours(1);
  auto r = watcher.poll();
  REQUIRE(r.ok());
  CHECK_FALSE(*r);
  CHECK(value(store->current(), "k") == "1");
}

TEST_CASE("Dynamic reload: log4j-operator.properties sets the operator's log levels again, a bad one keeps them",
          "[operator-config]") {
  using flink::log::Level;
  ConfigMapDir d;
  d.publish({{"config.yaml", "k: 1\n"}, {"log4j-operator.properties", "rootLogger.level = INFO\n"}});
  flink::log::setLevels(Level::kInfo, {});
  auto store = std::make_shared<OperatorConfigStore>(OperatorConfig{"img", {{"k", "1"}}});
  ManualClock clock;
  ConfigWatcher watcher(d.path(), {{"k", "1"}}, store, DynamicConfigSettings{}, clock.fn());
  REQUIRE_FALSE(flink::log::enabled(Level::kDebug));

  d.publish({{"config.yaml", "k: 1\n"}, {"log4j-operator.properties", "rootLogger.level = DEBUG\n"}});
  clock.now += std::chrono::minutes(5);
  auto r = watcher.poll();
  REQUIRE(r.ok());
  CHECK_FALSE(*r);  // the default configuration did not change
  CHECK(flink::log::enabled(Level::kDebug));

  d.publish({{"config.yaml", "k: 1\n"}, {"log4j-operator.properties", "rootLogger.level = LOUD\n"}});
  clock.now += std::chrono::minutes(5);
  r = watcher.poll();
  REQUIRE(r.ok());
  CHECK(flink::log::enabled(Level::kDebug));
}
