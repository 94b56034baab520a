#include "netns.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "addresses.h"
#include "process.h"

namespace kubelet {

namespace fs = std::filesystem;

namespace {

uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

std::string hex8(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

flink::Status ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = runCommand(argv);
  if (r.exitCode == 0) return flink::Status::Ok();
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  return flink::Status::Error(cmd + ": " + r.output);
}

// Names of lines of `ip -o link show` / `ip netns list` output starting with prefix.
std::vector<std::string> namesWithPrefix(const std::vector<std::string>& argv, const std::string& prefix, bool links) {
  std::vector<std::string> out;
  std::istringstream in(runCommand(argv).output);
  for (std::string line; std::getline(in, line);) {
    std::string name;
    if (links) {  // "12: kta0: <...>" or "13: ktav1234@if2: <...>"
      size_t a = line.find(": ");
      if (a == std::string::npos) continue;
      name = line.substr(a + 2, line.find_first_of(":@", a + 2) - a - 2);
    } else {  // "kta-default-x (id: 3)"
      name = line.substr(0, line.find(' '));
    }
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  return out;
}

}  // namespace

PodNetNames podNetNames(const std::string& prefix, const std::string& ns, const std::string& pod,
                        const std::string& uid) {
  PodNetNames n;
  n.netns = prefix + "-" + ns + "-" + pod;
  if (n.netns.size() > 48) n.netns = n.netns.substr(0, 39) + "-" + hex8(fnv1a(ns + "/" + pod));
  n.hostVeth = prefix + "v" + hex8(fnv1a(ns + "/" + pod + "/" + uid));
  return n;
}

std::string bridgeName(const std::string& prefix) { return prefix + "0"; }

flink::Status ensureBridge(const std::string& prefix) {
  const std::string br = bridgeName(prefix);
  if (runCommand({"ip", "link", "show", br}).exitCode == 0) return flink::Status::Ok();
  flink::Status s = ip({"link", "add", br, "type", "bridge"});
  if (s.ok()) s = ip({"addr", "add", std::string(kBridgeIP) + "/" + std::to_string(kPrefixLength), "dev", br});
  if (s.ok()) s = ip({"link", "set", br, "up"});
  return s;
}

flink::Status createPodNetwork(const std::string& prefix, const PodNetNames& n, const std::string& address) {
  const std::string cidr = address + "/" + std::to_string(kPrefixLength);
  std::vector<std::vector<std::string>> steps = {
      {"netns", "add", n.netns},
      {"link", "add", n.hostVeth, "type", "veth", "peer", "name", "eth0", "netns", n.netns},
      {"link", "set", n.hostVeth, "master", bridgeName(prefix), "up"},
      {"-n", n.netns, "link", "set", "lo", "up"},
      {"-n", n.netns, "addr", "add", cidr, "dev", "eth0"},
      {"-n", n.netns, "link", "set", "eth0", "up"},
      {"-n", n.netns, "route", "add", "default", "via", kBridgeIP}};
  for (const auto& step : steps) {
    flink::Status s = ip(step);
    if (!s.ok()) {
      deletePodNetwork(n);
      return s;
    }
  }
  return flink::Status::Ok();
}

void deletePodNetwork(const PodNetNames& n) {
  runCommand({"ip", "netns", "del", n.netns});
  runCommand({"ip", "link", "del", n.hostVeth});
  std::error_code ec;
  fs::remove_all("/etc/netns/" + n.netns, ec);
}

void removeLeftovers(const std::string& prefix) {
  for (const auto& ns : namesWithPrefix({"ip", "netns", "list"}, prefix + "-", false)) {
    runCommand({"ip", "netns", "del", ns});
  }
  for (const auto& link : namesWithPrefix({"ip", "-o", "link", "show"}, prefix, true)) {
    runCommand({"ip", "link", "del", link});
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/etc/netns", ec)) {
    if (e.path().filename().string().rfind(prefix + "-", 0) == 0) fs::remove_all(e.path(), ec);
  }
}

flink::Status writeHostsFile(const std::string& netns, const std::string& content) {
  const fs::path dir = fs::path("/etc/netns") / netns;
  const fs::path file = dir / "hosts";
  std::ifstream old(file);
  std::stringstream current;
  current << old.rdbuf();
  if (old && current.str() == content) return flink::Status::Ok();
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::ofstream out(file, std::ios::trunc);
  out << content;
  out.flush();
  return out ? flink::Status::Ok() : flink::Status::Error("cannot write " + file.string());
}

}  // namespace kubelet
