// Pure parts of the test kubelet (test/kubelet): $(VAR) expansion, image mapping, addresses,
// hosts files and pod status, securityContext identities, the container sandbox command, log
// instance selection and tails; hostPath and fsGroup volumes (in a temporary directory); exec:
// subprotocol choice, the exit status message, the command line, and piped child processes;
// port-forward: SPDY/3 frames, header blocks and the subprotocol choice.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "addresses.h"
#include "container_spec.h"
#include "exec.h"
#include "hosts.h"
#include "logs.h"
#include "netns.h"
#include "portforward.h"
#include "probes.h"
#include "process.h"
#include "status.h"
#include "volumes.h"

using nlohmann::json;
using namespace kubelet;

TEST_CASE("$(VAR) expansion follows Kubernetes", "[kubelet]") {
  std::map<std::string, std::string> vars = {{"A", "x"}, {"B", "y"}};
  CHECK(expandVars("$(A)-$(B)", vars) == "x-y");
  CHECK(expandVars("$(MISSING)", vars) == "$(MISSING)");
  CHECK(expandVars("$$(A)", vars) == "$(A)");
  CHECK(expandVars("$(A", vars) == "$(A");
  CHECK(expandVars("cost $5", vars) == "cost $5");
}

TEST_CASE("images map to the flink-cpp executable", "[kubelet]") {
  CHECK(imageRepository("ghcr.io/org/flink-cpp:1.0@sha256:ab") == "flink-cpp");
  CHECK(imageRepository("localhost:5000/flink-cpp-operator") == "flink-cpp-operator");
  CHECK(isRunnableImage("flink-cpp:latest"));
  CHECK(isRunnableImage("registry.example/x/flink-cpp-operator:2"));
  CHECK_FALSE(isRunnableImage("busybox"));
  CHECK_FALSE(isRunnableImage("flink-cpp-other:1"));
  json c = {{"image", "flink-cpp"}, {"args", {"taskmanager", "-D", "a=$(X)"}}};
  CHECK(containerArgv(c, "/bin/fc", {{"X", "1"}}) == std::vector<std::string>{"/bin/fc", "taskmanager", "-D", "a=1"});
  c["command"] = {"/opt/flink/bin/flink-cpp", "jobmanager"};
  CHECK(containerArgv(c, "/bin/fc", {})[0] == "/bin/fc");
  c["command"] = {"sh", "-c"};
  CHECK(containerArgv(c, "/bin/fc", {})[0] == "sh");
}

TEST_CASE("container env: values, fieldRef, configMapKeyRef, secretKeyRef", "[kubelet]") {
  json pod = {{"metadata", {{"name", "p"}, {"namespace", "ns"}}}, {"spec", {{"nodeName", "test-node"}}}};
  json c = {{"image", "flink-cpp"},
            {"env",
             {{{"name", "IP"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}},
              {{"name", "ADDR"}, {"value", "$(IP):8081"}},
              {{"name", "CM"}, {"valueFrom", {{"configMapKeyRef", {{"name", "cm"}, {"key", "k"}}}}}},
              {{"name", "S"}, {"valueFrom", {{"secretKeyRef", {{"name", "s"}, {"key", "k"}}}}}}}}};
  ObjectLookup lookup = [](const std::string& kind, const std::string&) -> std::optional<json> {
    return kind == "ConfigMap" ? json{{"data", {{"k", "v"}}}} : json{{"data", {{"k", "aGVsbG8="}}}};
  };
  auto env = containerEnv(pod, c, "198.18.0.2", lookup);
  REQUIRE(env.ok());
  CHECK(env->at("ADDR") == "198.18.0.2:8081");
  CHECK(env->at("CM") == "v");
  CHECK(env->at("S") == "hello");
  CHECK(env->at("FLINK_CONF_DIR") == "/opt/flink/conf");
  auto missing = containerEnv(pod, c, "ip", [](const std::string&, const std::string&) { return std::optional<json>(); });
  CHECK_FALSE(missing.ok());
}

TEST_CASE("addresses: lowest free in 198.18.0.0/15", "[kubelet]") {
  AddressPool pool;
  CHECK(pool.allocate() == "198.18.0.2");
  CHECK(pool.allocate() == "198.18.0.3");
  CHECK(pool.allocate() == "198.18.0.4");
  pool.release("198.18.0.3");
  CHECK(pool.allocate() == "198.18.0.3");
  CHECK(inPodRange("198.19.255.254"));
  CHECK_FALSE(inPodRange("198.20.0.1"));
  CHECK_FALSE(parseIPv4("1.2.3").has_value());
  PodNetNames n = podNetNames("kta", "default", std::string(80, 'p'), "uid");
  CHECK(n.netns.size() <= 48);
  CHECK(n.hostVeth.size() <= 15);
}

namespace {
json pod(const std::string& name, const std::string& ip, bool ready, json labels) {
  return {{"metadata", {{"name", name}, {"namespace", "ns"}, {"labels", labels}}},
          {"status", {{"podIP", ip}, {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
}
}  // namespace

TEST_CASE("hosts file from Services, Endpoints and ready pods", "[kubelet]") {
  json self = pod("tm", "198.18.0.3", false, json::object());
  std::vector<json> pods = {self, pod("jm-b", "198.18.0.5", true, {{"app", "jm"}}),
                            pod("jm-a", "198.18.0.4", false, {{"app", "jm"}})};
  json svc = {{"metadata", {{"name", "jobmanager"}, {"namespace", "ns"}}}, {"spec", {{"selector", {{"app", "jm"}}}}}};
  json other = {{"metadata", {{"name", "x"}, {"namespace", "other"}}}, {"spec", {{"selector", {{"app", "jm"}}}}}};
  std::string hosts = hostsFile(self, "198.18.0.3", {svc, other}, {}, pods);
  CHECK(hosts.find("127.0.0.1\tlocalhost\n") != std::string::npos);
  CHECK(hosts.find("198.18.0.3\ttm\n") != std::string::npos);
  CHECK(hosts.find("198.18.0.5\tjobmanager jobmanager.ns jobmanager.ns.svc jobmanager.ns.svc.cluster.local\n") !=
        std::string::npos);
  CHECK(hosts.find("x.other") == std::string::npos);
  json ep = {{"metadata", {{"name", "jobmanager"}, {"namespace", "ns"}}},
             {"subsets", {{{"addresses", {{{"ip", "198.18.0.9"}}}}}}}};
  CHECK(serviceAddress(svc, {ep}, pods) == "198.18.0.9");
  ep.erase("subsets");
  CHECK_FALSE(serviceAddress(svc, {ep}, pods).has_value());
  pods[1]["status"]["conditions"][0]["status"] = "False";
  CHECK(hostsFile(self, "198.18.0.3", {svc}, {}, pods).find("jobmanager") == std::string::npos);
}

TEST_CASE("pod status from container states", "[kubelet]") {
  PodView v;
  v.podIP = "198.18.0.2";
  v.containers.push_back({"c", "flink-cpp"});
  CHECK(podPhase(v) == "Pending");
  v.containers[0].state = {ContainerState::kRunning, "", "", 0, "t0"};
  v.containers[0].ready = true;
  json s = podStatus(v, json::object(), "t1");
  CHECK(s["phase"] == "Running");
  CHECK(s["conditions"][3]["type"] == "Ready");
  CHECK(s["conditions"][3]["status"] == "True");
  CHECK(s["podIPs"][0]["ip"] == "198.18.0.2");
  CHECK(podStatus(v, s, "t2")["conditions"][3]["lastTransitionTime"] == "t1");
  v.containers[0].ready = false;
  v.containers[0].lastTerminated = ContainerState{ContainerState::kTerminated, terminatedReason(1), "", 1, "t0", "t1"};
  v.containers[0].state = ContainerState{ContainerState::kWaiting, "CrashLoopBackOff"};
  json crash = podStatus(v, s, "t3");
  CHECK(crash["phase"] == "Running");
  CHECK(crash["conditions"][3]["lastTransitionTime"] == "t3");
  CHECK(crash["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "Error");
  CHECK(crash["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff");
  v.containers[0].state = ContainerState{ContainerState::kTerminated, "Completed", "", 0, "t0", "t1"};
  CHECK(podPhase(v) == "Succeeded");
  v.containers[0].state.exitCode = 2;
  CHECK(podPhase(v) == "Failed");
  v.restartPolicy = "Never";
  v.initContainers.push_back({"init", "flink-cpp", ContainerState{ContainerState::kTerminated, "Error", "", 1}});
  CHECK(podPhase(v) == "Failed");
  v.initContainers[0].state = ContainerState{};
  CHECK(podPhase(v) == "Pending");
}

TEST_CASE("hostPath volumes: checked or created by type, mounted from the host path", "[kubelet]") {
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path() / ("kubelet-hostpath-" + std::to_string(getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp / "shared");
  auto pod = [&](json hostPath) {
    return json{{"spec", {{"volumes", {{{"name", "data"}, {"hostPath", hostPath}}, {{"name", "scratch"}, {"emptyDir", json::object()}}}}}}};
  };
  auto none = [](const std::string&, const std::string&) { return std::optional<json>(); };
  const std::string podDir = (tmp / "pod").string();

  CHECK(materializeVolumes(pod({{"path", (tmp / "shared").string()}, {"type", "Directory"}}), podDir, "", none).ok());
  CHECK_FALSE(fs::exists(tmp / "pod" / "volumes" / "data"));  // nothing written for a hostPath
  CHECK(fs::is_directory(tmp / "pod" / "volumes" / "scratch"));
  CHECK(materializeVolumes(pod({{"path", (tmp / "shared").string()}}), podDir, "", none).ok());
  auto missingDir = materializeVolumes(pod({{"path", (tmp / "missing").string()}, {"type", "Directory"}}), podDir, "", none);
  CHECK_FALSE(missingDir.ok());
  CHECK(missingDir.message().find("volume data") != std::string::npos);
  CHECK_FALSE(materializeVolumes(pod({{"path", (tmp / "shared").string()}, {"type", "File"}}), podDir, "", none).ok());
  CHECK_FALSE(materializeVolumes(pod({{"path", "relative/dir"}}), podDir, "", none).ok());
  CHECK(materializeVolumes(pod({{"path", (tmp / "made" / "here").string()}, {"type", "DirectoryOrCreate"}}), podDir, "", none).ok());
  CHECK(fs::is_directory(tmp / "made" / "here"));
  CHECK(materializeVolumes(pod({{"path", (tmp / "shared" / "f").string()}, {"type", "FileOrCreate"}}), podDir, "", none).ok());
  CHECK(fs::is_regular_file(tmp / "shared" / "f"));

  json p = pod({{"path", (tmp / "shared").string()}});
  json c = {{"volumeMounts",
             {{{"name", "data"}, {"mountPath", "/data"}, {"readOnly", true}},
              {{"name", "data"}, {"mountPath", "/sub"}, {"subPath", "x"}},
              {{"name", "scratch"}, {"mountPath", "/scratch"}}}}};
  auto mounts = containerMounts(p, c, podDir);
  REQUIRE(mounts.size() == 3);
  CHECK(mounts[0].source == (tmp / "shared").string());
  CHECK(mounts[0].target == "/data");
  CHECK(mounts[0].readOnly);
  CHECK(mounts[1].source == (tmp / "shared" / "x").string());
  CHECK(mounts[2].source == (tmp / "pod" / "volumes" / "scratch").string());
  fs::remove_all(tmp);
}

TEST_CASE("securityContext: container fields win over the pod's, fsGroup and supplementalGroups", "[kubelet]") {
  json pod = {{"metadata", {{"name", "p"}}},
              {"spec", {{"securityContext", {{"runAsUser", 1000}, {"runAsGroup", 3000}, {"fsGroup", 2000},
                                             {"supplementalGroups", {4000, 2000}}}}}}};
  RunAs r = containerRunAs(pod, json{{"name", "c"}});
  CHECK(r.uid == 1000);
  CHECK(r.gid == 3000);
  CHECK(r.groups == std::vector<int64_t>{2000, 4000});
  r = containerRunAs(pod, json{{"securityContext", {{"runAsUser", 1001}}}});
  CHECK(r.uid == 1001);
  CHECK(r.gid == 3000);  // field by field: the pod's runAsGroup stays
  CHECK(containerRunAs(json{{"spec", json::object()}}, json::object()).root());
  json plain = {{"metadata", {{"name", "p"}}}, {"spec", json::object()}};
  CHECK(containerEnv(pod, json{{"image", "flink-cpp"}}, "", nullptr)->at("HOME") == "/");
  CHECK(containerEnv(plain, json{{"image", "flink-cpp"}}, "", nullptr)->at("HOME") == "/root");
}

TEST_CASE("pod hostname: spec.hostname, else the name cut to 63 characters", "[kubelet]") {
  CHECK(podHostname(json{{"metadata", {{"name", "web-0"}}}}) == "web-0");
  CHECK(podHostname(json{{"metadata", {{"name", "web-0"}}}, {"spec", {{"hostname", "h"}}}}) == "h");
  std::string longName = std::string(62, 'a') + "-b";
  CHECK(podHostname(json{{"metadata", {{"name", longName}}}}) == std::string(62, 'a'));
}

TEST_CASE("sandbox: UTS namespace with the hostname, mounts, then the container's identity", "[kubelet]") {
  Sandbox box{{{"/src", "/dst", true}}, "/w", "pod-a", RunAs{1000, std::nullopt, {2000}}};
  auto argv = sandboxWrapper(box, {"id", "-u"});
  REQUIRE(argv.size() == 11);
  CHECK(std::vector<std::string>(argv.begin(), argv.begin() + 5) ==
        std::vector<std::string>{"unshare", "-m", "-u", "--propagation", "private"});
  const std::string& script = argv[7];
  CHECK(script.find("hostname 'pod-a' || exit 123") == 0);
  CHECK(script.find("mount -o remount,bind,ro '/dst'") != std::string::npos);
  CHECK(script.find("cd '/w' || exit 122") != std::string::npos);
  CHECK(script.find("exec setpriv --reuid=1000 --regid=0 --groups=2000 -- \"$@\"") != std::string::npos);
  CHECK(argv[9] == "id");
  auto rootArgv = sandboxWrapper(Sandbox{{}, "", "", RunAs{}}, {"true"});
  CHECK(rootArgv[1] == "-m");
  CHECK(rootArgv[2] == "--propagation");  // no hostname: no UTS namespace
  CHECK(rootArgv[6] == "exec \"$@\"");

  // An emptyDir at /tmp hides a source and the executable under /tmp: both are opened first.
  Sandbox hiding{{{"/tmp/pods/p/volumes/tmp", "/tmp", false}, {"/tmp/pods/p/volumes/conf", "/opt/conf", true}, {"/etc/x", "/x", false}},
                 "", "", RunAs{}};
  const std::string s = sandboxWrapper(hiding, {"/tmp/build/bin/flink-cpp", "operator"})[6];
  CHECK(s == "exec 3<'/tmp/pods/p/volumes/tmp' || exit 121; exec 4<'/tmp/pods/p/volumes/conf' || exit 121; "
             "exec 5<'/tmp/build/bin/flink-cpp' || exit 121; mount --bind '/proc/self/fd/3' '/tmp' || exit 121; "
             "mount --bind '/proc/self/fd/4' '/opt/conf' || exit 121; mount -o remount,bind,ro '/opt/conf' || exit 121; "
             "mount --bind '/etc/x' '/x' || exit 121; shift; exec /proc/self/fd/5 \"$@\"");
}

TEST_CASE("container logs: the instance a request reads, in the kubelet's words", "[kubelet]") {
  ContainerRecord rec{"c", "flink-cpp", {}, std::nullopt, 0, false};
  rec.state.reason = "ErrImagePull";
  auto r = selectLogRun(rec, {}, false, "p");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "container \"c\" in pod \"p\" is waiting to start: image can't be pulled");
  rec.state.reason = "ContainerCreating";
  CHECK(selectLogRun(rec, {}, false, "p").status().message() == "container \"c\" in pod \"p\" is waiting to start: ContainerCreating");

  std::vector<LogRun> runs = {{0, 10}, {10, std::nullopt}};
  rec.state = ContainerState{ContainerState::kRunning, "", "", 0, "t"};
  CHECK(selectLogRun(rec, {{0, std::nullopt}}, true, "p").status().message() ==
        "previous terminated container \"c\" in pod \"p\" not found");
  rec.lastTerminated = ContainerState{ContainerState::kTerminated, "Error", "", 1, "t", "t"};
  CHECK(selectLogRun(rec, runs, false, "p")->begin == 10);
  CHECK(selectLogRun(rec, runs, true, "p")->begin == 0);
  CHECK(selectLogRun(rec, runs, true, "p")->end == 10);
  // waiting to restart: the current and the previous instance are both the last run
  rec.state = ContainerState{ContainerState::kWaiting, "CrashLoopBackOff", "", 0, "", ""};
  runs = {{0, 10}, {10, 25}};
  CHECK(selectLogRun(rec, runs, false, "p")->begin == 10);
  CHECK(selectLogRun(rec, runs, true, "p")->begin == 10);
  // ended for good after a restart: current = the last run, previous = the one before
  rec.state = ContainerState{ContainerState::kTerminated, "Completed", "", 0, "t", "t"};
  CHECK(selectLogRun(rec, runs, false, "p")->begin == 10);
  CHECK(selectLogRun(rec, runs, true, "p")->begin == 0);
}

TEST_CASE("container logs: tail lines and query parameters", "[kubelet]") {
  CHECK(tailStart("a\nb\nc\n", 2) == 2);
  CHECK(tailStart("a\nb\nc", 1) == 4);
  CHECK(tailStart("a\nb\n", 5) == 0);
  CHECK(tailStart("a\nb\n", 0) == 4);
  CHECK(tailStart("", 3) == 0);
  std::map<std::string, std::string> params = {{"follow", "true"}, {"tailLines", "3"}};
  auto get = [&](const char* k) -> std::optional<std::string> {
    auto it = params.find(k);
    return it == params.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto q = parseLogQuery(get);
  REQUIRE(q.ok());
  CHECK(q->follow);
  CHECK_FALSE(q->previous);
  CHECK(q->tailLines == 3);
  CHECK_FALSE(q->limitBytes);
  params["limitBytes"] = "-1";
  CHECK_FALSE(parseLogQuery(get).ok());
  params.erase("limitBytes");
  params["previous"] = "maybe";
  CHECK_FALSE(parseLogQuery(get).ok());
}

TEST_CASE("fsGroup: volumes belong to the group, emptyDir is world-writable", "[kubelet]") {
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path() / ("kubelet-fsgroup-" + std::to_string(getpid()));
  fs::remove_all(tmp);
  json pod = {{"metadata", {{"name", "p"}}},
              {"spec", {{"securityContext", {{"fsGroup", 2345}}},
                        {"volumes", {{{"name", "scratch"}, {"emptyDir", json::object()}},
                                     {{"name", "conf"}, {"configMap", {{"name", "cm"}}}}}}}}};
  auto lookup = [](const std::string&, const std::string&) {
    return std::optional<json>(json{{"data", {{"k", "v"}}}});
  };
  REQUIRE(materializeVolumes(pod, tmp.string(), "", lookup).ok());
  struct stat st {};
  REQUIRE(stat((tmp / "volumes" / "scratch").c_str(), &st) == 0);
  CHECK(st.st_gid == 2345);
  CHECK((st.st_mode & 07777) == (07777 & (0777 | S_ISGID)));
  REQUIRE(stat((tmp / "volumes" / "conf" / "k").c_str(), &st) == 0);
  CHECK(st.st_gid == 2345);
  CHECK((st.st_mode & 0777) == 0644);
  fs::remove_all(tmp);
}

TEST_CASE("exec: the subprotocol is v5, else v4, of what the client offers", "[kubelet]") {
  CHECK(chooseExecProtocol("v5.channel.k8s.io") == "v5.channel.k8s.io");
  CHECK(chooseExecProtocol("v4.channel.k8s.io, v5.channel.k8s.io") == "v5.channel.k8s.io");
  CHECK(chooseExecProtocol("v4.channel.k8s.io,channel.k8s.io") == "v4.channel.k8s.io");
  CHECK(chooseExecProtocol("channel.k8s.io, base64.channel.k8s.io") == "");
  CHECK(chooseExecProtocol("") == "");
}

TEST_CASE("exec: the error channel's Status carries the exit code as kubectl reads it", "[kubelet]") {
  CHECK(execExitStatus({"true"}, 0) == json{{"metadata", json::object()}, {"status", "Success"}});
  json failed = execExitStatus({"sh", "-c", "exit 3"}, 3);
  CHECK(failed["status"] == "Failure");
  CHECK(failed["reason"] == "NonZeroExitCode");
  CHECK(failed["message"] == "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3");
  CHECK(failed["details"]["causes"] == json::array({{{"reason", "ExitCode"}, {"message", "3"}}}));
}

TEST_CASE("exec: the command joins the container's namespaces and working directory as its user", "[kubelet]") {
  CHECK(enterArgv(42, {}) == std::vector<std::string>{"nsenter", "-t", "42", "-n", "-m", "-u", "-w", "--"});
  RunAs runAs{1000, 3000, {2000}};
  CHECK(enterArgv(42, runAs) == std::vector<std::string>{"nsenter", "-t", "42", "-n", "-m", "-u", "-w", "setpriv", "--reuid=1000",
                                                         "--regid=3000", "--groups=2000", "--"});
}

TEST_CASE("spawnPiped: stdin in, stdout and stderr apart, exactly the given environment", "[kubelet]") {
  auto child = spawnPiped({"sh", "-c", "read line; echo \"out $line $GREETING\"; echo \"err ${HOME:-unset}\" >&2; exit 5"},
                          {{"GREETING", "hi"}, {"PATH", "/usr/bin:/bin"}}, true);
  REQUIRE(child.ok());
  REQUIRE(write(child->in, "x\n", 2) == 2);
  close(child->in);
  auto readAll = [](int fd) {
    std::string out;
    char buf[256];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    close(fd);
    return out;
  };
  CHECK(readAll(child->out) == "out x hi\n");
  CHECK(readAll(child->err) == "err unset\n");
  int status = 0;
  REQUIRE(waitpid(child->pid, &status, 0) == child->pid);
  CHECK(exitCodeOf(status) == 5);

  auto noStdin = spawnPiped({"cat"}, {}, false);  // stdin is /dev/null: cat ends at once
  REQUIRE(noStdin.ok());
  CHECK(noStdin->in == -1);
  CHECK(readAll(noStdin->out).empty());
  close(noStdin->err);
  REQUIRE(waitpid(noStdin->pid, &status, 0) == noStdin->pid);
  CHECK(exitCodeOf(status) == 0);
}

TEST_CASE("port-forward: SPDY frames, header blocks, subprotocol", "[kubelet]") {
  using namespace kubelet;
  CHECK(spdy::dictionary().size() == 1423);
  CHECK(spdy::dictionary().substr(0, 11) == std::string("\0\0\0\7options", 11));
  CHECK(spdy::dictionary().substr(spdy::dictionary().size() - 7) == ",enq=0.");

  std::string wire = spdy::dataFrame(3, "hello", true) + spdy::controlFrame(spdy::kPing, 0, spdy::u32(7));
  std::string partial = wire.substr(0, 10);
  CHECK_FALSE(spdy::takeFrame(partial));  // incomplete: nothing taken
  CHECK(partial.size() == 10);
  auto data = spdy::takeFrame(wire);
  REQUIRE(data);
  CHECK_FALSE(data->control);
  CHECK(data->streamId == 3);
  CHECK(data->flags == spdy::kFlagFin);
  CHECK(data->payload == "hello");
  auto ping = spdy::takeFrame(wire);
  REQUIRE(ping);
  CHECK(ping->control);
  CHECK(ping->type == spdy::kPing);
  CHECK(ping->streamId == 7);
  CHECK(wire.empty());
  CHECK(spdy::controlFrame(spdy::kPing, 0, "")[0] == '\x80');  // control bit and version 3
  CHECK(spdy::controlFrame(spdy::kPing, 0, "")[1] == 3);

  // One compression context per direction, shared by the connection's frames.
  spdy::HeaderCodec sender, receiver;
  for (const char* id : {"0", "1"}) {
    auto got = receiver.decode(sender.encode({{"streamtype", "data"}, {"port", "8081"}, {"requestid", id}}));
    REQUIRE(got);
    CHECK(*got == std::map<std::string, std::string>{{"port", "8081"}, {"requestid", id}, {"streamtype", "data"}});
  }
  auto empty = receiver.decode(sender.encode({}));
  REQUIRE(empty);
  CHECK(empty->empty());
  spdy::HeaderCodec fresh;
  CHECK_FALSE(fresh.decode("not zlib at all"));

  CHECK(choosePortForwardProtocol("SPDY/3.1+portforward.k8s.io") == "SPDY/3.1+portforward.k8s.io");
  CHECK(choosePortForwardProtocol("v4.channel.k8s.io, SPDY/3.1+portforward.k8s.io") == "SPDY/3.1+portforward.k8s.io");
  CHECK(choosePortForwardProtocol("portforward.k8s.io") == "");
}
