// Fuzz target: Flink configuration YAML (config.yaml / flink-conf.yaml, nested or flat) and a
// cluster process's command line (-D key=value, --job-classname ...).
// Input: YAML text, then after the first NUL byte the arguments, NUL-separated.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "entrypoint_args.h"
#include "flink/configuration.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string yaml = input.substr(0, nul);
  std::vector<std::string> args;
  if (nul != std::string::npos) {
    size_t start = nul + 1;
    for (;;) {
      size_t next = input.find('\0', start);
      args.push_back(input.substr(start, next == std::string::npos ? std::string::npos : next - start));
      if (next == std::string::npos) break;
      start = next + 1;
    }
  }
  auto conf = flink::Configuration::parseYaml(yaml, "config.yaml");
  if (!conf.ok()) return 0;
  for (const char* role : {"standalone-job", "taskmanager"}) {
    auto parsed = flink::parseClusterArgs(role, args);
    if (!parsed.ok()) continue;
    for (const auto& [key, value] : parsed->dynamicProperties) conf->set(key, value);
  }
  for (const auto& [key, value] : conf->entries()) {
    (void)conf->getInt(key, 0);
    (void)conf->getDurationMs(key, 0);
    (void)conf->getBool(key, false);
  }
  (void)flink::HeartbeatSettings::fromConfig(*conf);
  (void)flink::Configuration::parseYaml(conf->toYaml(), "rendered");
  return 0;
}
