// Tests for flinktest::OpenApiValidator against Flink's REST API spec.
#include "openapi_validator.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using flinktest::OpenApiValidator;
using nlohmann::json;

namespace {

const std::string kSpecPath = std::string(FLINK_TEST_COMPAT_DIR) + "/rest_v1_dispatcher.yml";
const std::string kJobId = "5f0f4a6ab6a8d2e5e3a0d7b1c2e3f4a5";
const std::string kVertexId = "cbc357ccb763df2852fee8c4fc7d55f2";

const OpenApiValidator& spec() {
  static const OpenApiValidator validator = [] {
    std::string error;
    auto loaded = OpenApiValidator::load(kSpecPath, &error);
    if (!loaded) throw std::runtime_error("cannot load spec: " + error);
    return *std::move(loaded);
  }();
  return validator;
}

std::string join(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

// Writes a throwaway spec under a unique temp name (tests may run concurrently).
std::filesystem::path writeTempSpec(const std::string& yaml) {
  auto path = std::filesystem::temp_directory_path() / ("openapi_validator_test_" + std::to_string(std::random_device{}()) + ".yml");
  std::ofstream(path) << yaml;
  return path;
}

bool startsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

bool anyStartsWith(const std::vector<std::string>& errors, const std::string& prefix) {
  for (const auto& e : errors)
    if (startsWith(e, prefix)) return true;
  return false;
}

json clusterOverview() {
  return {{"taskmanagers", 2},         {"taskmanagers-blocked", 0}, {"slots-total", 4},
          {"slots-available", 3},      {"slots-free-and-blocked", 0}, {"jobs-running", 1},
          {"jobs-finished", 0},        {"jobs-cancelled", 0},       {"jobs-failed", 0},
          {"flink-version", "1.19.0"}, {"flink-commit", "eaffd22"}};
}

json jobsOverview(const std::string& state) {
  return {{"jobs",
           {{{"jid", kJobId},
             {"name", "wordcount"},
             {"start-time", 1700000000000},
             {"end-time", -1},
             {"duration", 12345},
             {"last-modification", 1700000001000},
             {"state", state},
             {"tasks", {{"total", 2}, {"running", 2}, {"finished", 0}, {"canceling", 0}, {"failed", 0}}}}}}};
}

json ioMetrics() {
  return {{"read-bytes", 0},        {"read-bytes-complete", true},   {"write-bytes", 512},
          {"write-bytes-complete", true}, {"read-records", 0},      {"read-records-complete", true},
          {"write-records", 10},    {"write-records-complete", true}, {"accumulated-backpressured-time", 0},
          {"accumulated-idle-time", 100}, {"accumulated-busy-time", 0.5}};
}

json jobDetails() {
  return {{"jid", kJobId},
          {"name", "wordcount"},
          {"isStoppable", false},
          {"state", "RUNNING"},
          {"start-time", 1700000000000},
          {"end-time", -1},
          {"duration", 12345},
          {"maxParallelism", -1},
          {"now", 1700000012345},
          {"timestamps", {{"CREATED", 1700000000000}, {"RUNNING", 1700000000100}, {"FAILED", 0}}},
          {"vertices",
           {{{"id", kVertexId},
             {"name", "Source: words"},
             {"maxParallelism", 128},
             {"parallelism", 2},
             {"status", "RUNNING"},
             {"start-time", 1700000000200},
             {"end-time", -1},
             {"duration", 12145},
             {"tasks", {{"RUNNING", 2}, {"FINISHED", 0}}},
             {"metrics", ioMetrics()}}}},
          {"status-counts", {{"RUNNING", 2}, {"CREATED", 0}}},
          {"plan", {{"jid", kJobId}, {"name", "wordcount"}, {"type", "STREAMING"}, {"nodes", json::array()}}}};
}

json taskManagers() {
  json resource = {{"cpuCores", 2.0},      {"taskHeapMemory", 512}, {"taskOffHeapMemory", 0},
                   {"managedMemory", 512}, {"networkMemory", 128},  {"extendedResources", json::object()}};
  return {{"taskmanagers",
           {{{"id", "0123456789abcdef0123456789abcdef"},
             {"path", "pekko.tcp://flink@10.0.0.5:6122/user/rpc/taskmanager_0"},
             {"dataPort", 6121},
             {"jmxPort", -1},
             {"timeSinceLastHeartbeat", 1700000000000},
             {"slotsNumber", 2},
             {"freeSlots", 1},
             {"totalResource", resource},
             {"freeResource", resource},
             {"hardware", {{"cpuCores", 4}, {"physicalMemory", 8589934592}, {"freeMemory", 1073741824}, {"managedMemory", 536870912}}},
             {"memoryConfiguration",
              {{"frameworkHeap", 134217728}, {"taskHeap", 536870912}, {"frameworkOffHeap", 134217728},
               {"taskOffHeap", 0}, {"networkMemory", 134217728}, {"managedMemory", 536870912},
               {"jvmMetaspace", 268435456}, {"jvmOverhead", 201326592}, {"totalFlinkMemory", 1476395008},
               {"totalProcessMemory", 1946157056}}},
             {"blocked", false}}}}};
}

}  // namespace

TEST_CASE("load reports a missing file by name", "[openapi]") {
  std::string error;
  auto v = OpenApiValidator::load("/nonexistent/spec.yml", &error);
  CHECK_FALSE(v.has_value());
  CHECK(error.find("/nonexistent/spec.yml") != std::string::npos);
}

TEST_CASE("valid /overview body passes", "[openapi]") {
  auto errors = spec().validateResponse("/overview", "get", "200", clusterOverview());
  INFO(join(errors));
  CHECK(errors.empty());
}

TEST_CASE("valid bodies for config - jobs overview - job details and taskmanagers pass", "[openapi]") {
  json config = {{"refresh-interval", 3000},
                 {"timezone-name", "Coordinated Universal Time"},
                 {"timezone-offset", 0},
                 {"flink-version", "1.19.0"},
                 {"flink-revision", "eaffd22 @ 2024-03-04T10:00:00+01:00"},
                 {"features", {{"web-submit", false}, {"web-cancel", true}, {"web-rescale", false}, {"web-history", false}}}};
  std::vector<std::string> errors = spec().validateResponse("/config", "GET", "200", config);
  auto more = spec().validateResponse("/jobs/overview", "get", "200", jobsOverview("RUNNING"));
  errors.insert(errors.end(), more.begin(), more.end());
  more = spec().validateResponse("/jobs/{jobid}", "get", "200", jobDetails());
  errors.insert(errors.end(), more.begin(), more.end());
  more = spec().validateResponse("/taskmanagers", "get", "200", taskManagers());
  errors.insert(errors.end(), more.begin(), more.end());
  more = spec().validateSchema("JobDetailsInfo", jobDetails());
  errors.insert(errors.end(), more.begin(), more.end());
  INFO(join(errors));
  CHECK(errors.empty());
}

TEST_CASE("bad enum value is reported at its pointer", "[openapi]") {
  auto errors = spec().validateResponse("/jobs/overview", "get", "200", jobsOverview("RUNNINGX"));
  REQUIRE(errors.size() == 1);
  CHECK(startsWith(errors[0], "/jobs/0/state: "));
  CHECK(errors[0].find("RUNNINGX") != std::string::npos);
}

TEST_CASE("wrong types are reported at their pointers", "[openapi]") {
  json body = clusterOverview();
  body["slots-total"] = "4";
  body["jobs-running"] = 1.5;
  auto errors = spec().validateResponse("/overview", "get", "200", body);
  REQUIRE(errors.size() == 2);
  CHECK(anyStartsWith(errors, "/jobs-running: expected integer, got number"));
  CHECK(anyStartsWith(errors, "/slots-total: expected integer, got string"));

  json details = jobDetails();
  details["vertices"][0]["metrics"]["read-bytes-complete"] = "true";
  details["status-counts"]["RUNNING"] = "2";
  errors = spec().validateResponse("/jobs/{jobid}", "get", "200", details);
  REQUIRE(errors.size() == 2);
  CHECK(anyStartsWith(errors, "/status-counts/RUNNING: expected integer"));
  CHECK(anyStartsWith(errors, "/vertices/0/metrics/read-bytes-complete: expected boolean"));

  errors = spec().validateResponse("/overview", "get", "200", json::array());
  REQUIRE(errors.size() == 1);
  CHECK(startsWith(errors[0], ": expected object, got array"));
}

TEST_CASE("int32 range and id patterns are enforced", "[openapi]") {
  json body = clusterOverview();
  body["slots-total"] = 3000000000LL;
  auto errors = spec().validateResponse("/overview", "get", "200", body);
  REQUIRE(errors.size() == 1);
  CHECK(startsWith(errors[0], "/slots-total: "));

  json details = jobDetails();
  details["jid"] = "5f0f4a6a-b6a8-d2e5-e3a0-d7b1c2e3f4a5";  // UUID form is not a Flink JobID
  errors = spec().validateSchema("JobDetailsInfo", details);
  REQUIRE(errors.size() == 1);
  CHECK(startsWith(errors[0], "/jid: "));
}

TEST_CASE("missing required property is reported at the owning object", "[openapi]") {
  auto errors = spec().validateResponse("/jobs/{jobid}/execution-result", "get", "200", json::object());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == ": missing required property \"status\"");

  errors = spec().validateResponse("/jobs/{jobid}/savepoints/{triggerid}", "get", "200", {{"status", json::object()}});
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "/status: missing required property \"id\"");
}

TEST_CASE("misspelt property fails in strict mode only", "[openapi]") {
  json body = clusterOverview();
  body.erase("taskmanagers");
  body["taskmanager"] = 2;
  auto strictErrors = spec().validateResponse("/overview", "get", "200", body);
  REQUIRE(strictErrors.size() == 1);
  CHECK(startsWith(strictErrors[0], "/taskmanager: "));
  CHECK(spec().validateResponse("/overview", "get", "200", body, /*strict=*/false).empty());

  json jobs = jobsOverview("RUNNING");
  jobs["jobs"][0]["start_time"] = 1;
  auto nested = spec().validateResponse("/jobs/overview", "get", "200", jobs);
  REQUIRE(nested.size() == 1);
  CHECK(startsWith(nested[0], "/jobs/0/start_time: "));
}

TEST_CASE("unknown path - method or status is an error", "[openapi]") {
  auto errors = spec().validateResponse("/jobz", "get", "200", json::object());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("/jobz") != std::string::npos);
  CHECK(spec().validateResponse("/overview", "post", "200", clusterOverview()).size() == 1);
  CHECK(spec().validateResponse("/overview", "get", "404", clusterOverview()).size() == 1);
  CHECK(spec().validateSchema("NoSuchSchema", json::object()).size() == 1);
}

TEST_CASE("responses without declared content accept only an empty body", "[openapi]") {
  CHECK(spec().validateResponse("/cluster", "delete", "200", json::object()).empty());
  CHECK(spec().validateResponse("/cluster", "delete", "200", {{"x", 1}}).size() == 1);
}

TEST_CASE("discriminator and allOf subtypes are validated with their own properties", "[openapi]") {
  json completed = {{"className", "completed"}, {"id", 7},           {"status", "COMPLETED"},
                    {"is_savepoint", false},    {"trigger_timestamp", 1700000000000},
                    {"external_path", "s3://bucket/chk-7"}, {"discarded", false},
                    {"checkpoint_type", "CHECKPOINT"}};
  json body = {{"counts", {{"restored", 0}, {"total", 7}, {"in_progress", 0}, {"completed", 7}, {"failed", 0}}},
               {"history", {completed}},
               {"latest", {{"completed", completed}}}};
  auto errors = spec().validateResponse("/jobs/{jobid}/checkpoints", "get", "200", body);
  INFO(join(errors));
  CHECK(errors.empty());

  body["history"][0]["external_pth"] = "x";
  body["history"][0]["status"] = "DONE";
  auto badErrors = spec().validateResponse("/jobs/{jobid}/checkpoints", "get", "200", body);
  INFO(join(badErrors));
  REQUIRE(badErrors.size() == 2);
  CHECK(anyStartsWith(badErrors, "/history/0/external_pth: "));
  CHECK(anyStartsWith(badErrors, "/history/0/status: "));
}

TEST_CASE("oneOf accepts a matching alternative and rejects none matching", "[openapi]") {
  json ok = {{"status", {{"id", "COMPLETED"}}}, {"operation", {{"location", "s3://bucket/savepoint-1"}}}};
  auto errors = spec().validateResponse("/jobs/{jobid}/savepoints/{triggerid}", "get", "200", ok);
  INFO(join(errors));
  CHECK(errors.empty());

  json bad = {{"status", {{"id", "COMPLETED"}}}, {"operation", {{"location", 42}}}};
  errors = spec().validateResponse("/jobs/{jobid}/savepoints/{triggerid}", "get", "200", bad);
  REQUIRE(errors.size() == 1);
  CHECK(startsWith(errors[0], "/operation: matches none of the oneOf alternatives"));
}

TEST_CASE("pointers escape '/' and '~' in keys", "[openapi]") {
  json details = jobDetails();
  details["status-counts"]["a/b~c"] = "x";
  auto errors = spec().validateSchema("JobDetailsInfo", details);
  REQUIRE(errors.size() == 1);
  CHECK(startsWith(errors[0], "/status-counts/a~1b~0c: "));
}

TEST_CASE("deeply nested bodies validate - cyclic $ref is reported instead of recursing forever", "[openapi]") {
  json node = {{"name", "leaf"}, {"value", 1}};
  for (int i = 0; i < 200; ++i) node = {{"name", "frame"}, {"value", 1}, {"children", {node}}};
  auto errors = spec().validateResponse("/jobs/{jobid}/vertices/{vertexid}/flamegraph", "get", "200",
                                        {{"endTimestamp", 1}, {"data", node}});
  INFO(join(errors));
  CHECK(errors.empty());

  const auto path = writeTempSpec(
      "openapi: 3.0.1\npaths: {}\ncomponents:\n  schemas:\n"
      "    A:\n      $ref: '#/components/schemas/B'\n"
      "    B:\n      $ref: '#/components/schemas/A'\n");
  std::string error;
  auto cyclic = OpenApiValidator::load(path.string(), &error);
  std::filesystem::remove(path);
  REQUIRE(cyclic.has_value());
  auto cycleErrors = cyclic->validateSchema("A", json::object());
  REQUIRE(cycleErrors.size() == 1);
  CHECK(startsWith(cycleErrors[0], ": too many schema hops"));
}

TEST_CASE("load rejects documents that are not OpenAPI 3", "[openapi]") {
  const auto path = writeTempSpec("swagger: '2.0'\npaths: {}\n");
  std::string error;
  auto v = OpenApiValidator::load(path.string(), &error);
  std::filesystem::remove(path);
  CHECK_FALSE(v.has_value());
  CHECK(error.find(path.string()) != std::string::npos);
}
