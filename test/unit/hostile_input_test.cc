// Bounded resources under hostile input: what the outside world sends is checked before it
// sizes anything (network frames, RPC registrations, checkpoint metadata, watch streams,
// kubeconfigs, FlinkDeployment specs), and the parsers that the fuzz targets (test/fuzz) run
// behave as documented on their seeds' edge cases.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <cstring>
#include <string>
#include <vector>

#include "api/spec_bounds.h"
#include "checkpoint/storage.h"
#include "core/rpc.h"
#include "controller/flink_deployment_controller.h"
#include "entrypoint_args.h"
#include "jobmanager/resource_manager.h"
#include "k8s/client.h"
#include "k8s/watch_stream.h"
#include "webhook/admission.h"
#include "net/network_environment.h"

using nlohmann::json;

namespace {

flink::Buffer frame(uint32_t streamId, uint32_t a, uint32_t b, const std::string& rest = "") {
  flink::Buffer out(12 + rest.size());
  std::memcpy(out.data(), &streamId, 4);
  std::memcpy(out.data() + 4, &a, 4);
  std::memcpy(out.data() + 8, &b, 4);
  if (!rest.empty()) std::memcpy(out.data() + 12, rest.data(), rest.size());
  return out;
}

json nested(int depth) {
  json v = "leaf";
  for (int i = 0; i < depth; ++i) {
    json outer = json::object();
    outer["a"] = std::move(v);
    v = std::move(outer);
  }
  return v;
}

}  // namespace

TEST_CASE("A data connection announcing an impossible gate or channel is refused before allocating", "[network]") {
  flink::net::NetworkEnvironment env{flink::Configuration()};
  flink::net::InboundStreams streams(env, [](uint32_t, int) {});
  constexpr uint8_t kRegister = 1, kBuffer = 2;
  CHECK_THROWS_AS(streams.onFrame(kRegister, frame(1, 0, 0xFFFFFFFFu, "g")), flink::SerializationError);
  CHECK_THROWS_AS(streams.onFrame(kRegister, frame(1, 0, 0, "g")), flink::SerializationError);
  CHECK_THROWS_AS(streams.onFrame(kRegister, frame(1, 0x80000000u, 2, "g")), flink::SerializationError);  // negative as int
  CHECK_THROWS_AS(streams.onFrame(kRegister, frame(1, 2, 2, "g")), flink::SerializationError);
  CHECK_THROWS_AS(streams.onFrame(kBuffer, frame(9, 0, 0, "data")), flink::SerializationError);
  CHECK_THROWS_AS(streams.onFrame(kBuffer, flink::Buffer(5)), flink::SerializationError);
  streams.onFrame(kRegister, frame(1, 1, 2, "g"));  // a real one
  CHECK_THROWS_AS(streams.onFrame(kRegister, frame(1, 0, 2, "g")), flink::SerializationError);  // stream id reused
  streams.onFrame(kBuffer, frame(1, 0, 0, "payload"));
  int channel = -1;
  flink::Buffer got;
  REQUIRE(env.gate("g", 2)->poll(&channel, &got, 0));
  CHECK(channel == 1);
  CHECK(std::string(got.begin(), got.end()) == "payload");
}

TEST_CASE("A TaskManager registration with an impossible slot count is refused", "[rpc]") {
  flink::ResourceManager rm;
  auto conn = std::make_shared<flink::net::Connection>();
  json msg = {{"resourceId", "tm"}, {"host", "h"}, {"dataPort", 1}, {"slots", 2000000000}};
  CHECK_THROWS(rm.registerTaskManager(conn, msg));
  msg["slots"] = -1;
  CHECK_THROWS(rm.registerTaskManager(conn, msg));
  msg["slots"] = "2";
  CHECK_THROWS(rm.registerTaskManager(conn, msg));
  CHECK(rm.taskManagers().empty());
  msg["slots"] = 2;
  rm.registerTaskManager(conn, msg);
  CHECK(rm.totalSlots() == 2);
}

TEST_CASE("An RPC message whose integer fields are not integers is refused as it is parsed", "[rpc]") {
  auto parse = [](const std::string& text) { return flink::rpc::parse(flink::Buffer(text.begin(), text.end())); };
  CHECK(parse(R"({"type": "register", "slots": 2, "metrics": {"rate": 1.5}})")["slots"] == 2);
  // Beyond 64 bits a literal parses as a double (found by rpc_message_fuzz: UB converting it).
  CHECK_THROWS_AS(parse(R"({"type": "register", "slots": 888888888888888888888888888888})"), std::invalid_argument);
  CHECK_THROWS_AS(parse(R"({"type": "metrics", "tasks": [{"vertex": 0.5}]})"), std::invalid_argument);
  CHECK_THROWS(parse("{"));
}

TEST_CASE("Checkpoint metadata that restoring cannot rely on is refused", "[checkpoint]") {
  json good = {{"jobId", "j"}, {"checkpointId", 1}, {"timestamp", 0}, {"savepoint", false}, {"maxParallelism", 128},
               {"operators", {{"op", {{"parallelism", 2}, {"files", {"a", "b"}}}}}}};
  REQUIRE(flink::checkpoint::Metadata::fromJson(good).ok());
  struct Case {
    const char* what;
    json patch;
    const char* mentions;
  };
  for (const Case& k : std::vector<Case>{
           {"more subtasks than files", {{"operators", {{"op", {{"parallelism", 3}, {"files", {"a", "b"}}}}}}}, "parallelism 3"},
           {"no subtask", {{"operators", {{"op", {{"parallelism", 0}, {"files", json::array()}}}}}}, "parallelism 0"},
           {"a file outside the directory", {{"operators", {{"op", {{"parallelism", 1}, {"files", {"../../etc/passwd"}}}}}}},
            "not a name inside"},
           {"maxParallelism 0", {{"maxParallelism", 0}}, "maxParallelism 0"},
           {"maxParallelism too large", {{"maxParallelism", 1 << 20}}, "maxParallelism"},
           {"a field of the wrong type", {{"checkpointId", "one"}}, "malformed"},
           {"stateSize beyond 64 bits (found by checkpoint_files_fuzz)", {{"stateSize", 1e58}}, "'stateSize' is not an integer"},
       }) {
    INFO(k.what);
    json m = good;
    m.merge_patch(k.patch);
    auto r = flink::checkpoint::Metadata::fromJson(m);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains(k.mentions));
  }
  // A whole file: header checks before the payload is decoded.
  flink::Buffer junk = {'F', 'C', 'M', '1', 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
  auto truncated = flink::checkpoint::decodeMetadata(junk, "x/_metadata");
  REQUIRE_FALSE(truncated.ok());
  CHECK_THAT(truncated.status().message(), Catch::Contains("truncated"));
}

TEST_CASE("A watch stream with an endless line ends with an error instead of growing", "[k8s]") {
  flink::k8s::WatchStreamDecoder decoder(64);
  std::vector<std::string> types;
  auto onEvent = [&](const json& e) {
    types.push_back(e.value("type", ""));
    return true;
  };
  std::string events = R"({"type":"ADDED"})" "\n" "garbage\n\n" R"({"type":"MOD)";
  CHECK(decoder.feed(events.data(), events.size(), onEvent) == flink::k8s::WatchStreamDecoder::Outcome::kContinue);
  std::string rest = "IFIED\"}\n";
  CHECK(decoder.feed(rest.data(), rest.size(), onEvent) == flink::k8s::WatchStreamDecoder::Outcome::kContinue);
  CHECK(types == std::vector<std::string>{"ADDED", "MODIFIED"});
  std::string endless(100, 'x');
  CHECK(decoder.feed(endless.data(), endless.size(), onEvent) == flink::k8s::WatchStreamDecoder::Outcome::kLineTooLong);
}

TEST_CASE("A kubeconfig with fields of the wrong kind is an error naming the file, not an exception", "[k8s]") {
  for (const char* text : {"current-context: [a]\n", "current-context: a\ncontexts: [{name: a, context: [x]}]\n",
                           "current-context: a\ncontexts: [{name: {x: 1}}]\n", "[unclosed\n",
                           "current-context: a\ncontexts: [7]\n"}) {
    INFO(text);
    auto r = flink::k8s::KubeConfig::fromYaml(text, "cfg");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::StartsWith("kubeconfig cfg"));
  }
}

TEST_CASE("A deeply nested or huge FlinkDeployment spec is a validation error naming the field", "[validation]") {
  json fd = {{"apiVersion", "flink.apache.org/v1beta1"},
             {"kind", "FlinkDeployment"},
             {"metadata", {{"name", "deep"}, {"namespace", "default"}}},
             {"spec", {{"image", "flink-cpp"}, {"podTemplate", nested(5000)}}}};
  auto deep = flink::k8s::FlinkDeploymentController::parseObject(fd);
  REQUIRE_FALSE(deep.ok());
  CHECK_THAT(deep.status().message(), Catch::Contains("spec.podTemplate.a.a.a"));
  CHECK_THAT(deep.status().message(), Catch::Contains("nested deeper than 64 levels"));
  json wide = json::object();
  for (int i = 0; i < 30000; ++i) wide["k" + std::to_string(i)] = "v";
  fd["spec"]["flinkConfiguration"] = wide;
  fd["spec"].erase("podTemplate");
  auto huge = flink::k8s::FlinkDeploymentController::parseObject(fd);
  REQUIRE_FALSE(huge.ok());
  CHECK_THAT(huge.status().message(), Catch::Contains("spec: more than 20000 values"));
  // The same bounds for a manifest (YAML), with the line.
  std::string yaml = "apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nmetadata: {name: x}\nspec:\n  podTemplate: " +
                     std::string(200, '[') + std::string(200, ']') + "\n";
  auto manifest = flink::k8s::parseFlinkDeployment(YAML::Load(yaml), "m.yaml");
  REQUIRE_FALSE(manifest.ok());
  CHECK_THAT(manifest.status().message(), Catch::StartsWith("m.yaml:5: spec.podTemplate[0][0]"));
  // Within the bounds: parsed as before.
  CHECK(flink::k8s::checkSpecBounds(nested(60), "spec").ok());
}

TEST_CASE("A cluster process's command line parses without side effects", "[config]") {
  auto ok = flink::parseClusterArgs("standalone-job", {"-Da=1", "-D", "b=2=3", "-c", "C", "--jars", "j", "-jid", "id", "x", "-c"});
  REQUIRE(ok.ok());
  CHECK(ok->dynamicProperties == std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2=3"}});
  CHECK(ok->jobClass == "C");
  CHECK(ok->jars == "j");
  CHECK(ok->jobId == "id");
  CHECK(ok->rest == std::vector<std::string>{"x", "-c"});
  auto tm = flink::parseClusterArgs("taskmanager", {"-c", "C"});
  REQUIRE(tm.ok());
  CHECK(tm->rest == std::vector<std::string>{"-c", "C"});
  for (auto args : std::vector<std::vector<std::string>>{{"-D"}, {"-Dnoequals"}, {"--job-id"}}) {
    auto r = flink::parseClusterArgs("standalone-job", args);
    REQUIRE_FALSE(r.ok());
  }
}

TEST_CASE("The admission webhook denies a FlinkDeployment whose name is not a string instead of throwing", "[webhook]") {
  // Found by custom_resource_fuzz: the denial's message prefix read metadata.name as a string.
  json review = {{"request",
                  {{"uid", "u"},
                   {"operation", "CREATE"},
                   {"kind", {{"group", "flink.apache.org"}, {"version", "v1beta1"}, {"kind", "FlinkDeployment"}}},
                   {"object",
                    {{"apiVersion", "flink.apache.org/v1beta1"},
                     {"kind", "FlinkDeployment"},
                     {"metadata", {{"name", {{"jarURI", "x"}}}, {"namespace", "default"}}},
                     {"spec", json::object()}}}}}};
  auto answer = flink::k8s::validateAdmission(review, flink::k8s::OperatorConfig{});
  REQUIRE(answer.ok());
  CHECK((*answer)["response"]["allowed"] == false);
}
