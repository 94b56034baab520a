#include "volumes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

namespace kubelet {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

flink::Status writeFile(const fs::path& path, const std::string& content, int mode) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return flink::Status::Error("cannot write " + path.string());
  chmod(path.c_str(), static_cast<mode_t>(mode));
  return flink::Status::Ok();
}

// configMap or secret volume: all keys, or the items given.
flink::Status writeKeys(const json& source, const std::string& kind, const fs::path& dir, const ObjectLookup& lookup) {
  std::string name = source.value(kind == "Secret" ? "secretName" : "name", "");
  auto obj = lookup(kind, name);
  if (!obj) {
    return source.value("optional", false) ? flink::Status::Ok() : flink::Status::Error(kind + " " + name + " not found");
  }
  std::map<std::string, std::string> data;
  const json text = obj->value("data", json::object()), binary = obj->value("binaryData", json::object());
  for (const auto& [k, v] : text.items()) data[k] = kind == "Secret" ? base64Decode(v.get<std::string>()) : v.get<std::string>();
  for (const auto& [k, v] : binary.items()) data[k] = base64Decode(v.get<std::string>());
  int mode = source.value("defaultMode", 0644);
  const json items = source.value("items", json::array());
  if (items.empty()) {
    for (const auto& [k, v] : data) {
      if (auto s = writeFile(dir / k, v, mode); !s.ok()) return s;
    }
    return flink::Status::Ok();
  }
  for (const json& item : items) {
    std::string key = item.value("key", "");
    if (!data.count(key)) return flink::Status::Error(kind + " " + name + " has no key " + key);
    if (auto s = writeFile(dir / item.value("path", key), data[key], item.value("mode", mode)); !s.ok()) return s;
  }
  return flink::Status::Ok();
}

flink::Status writeDownwardAPI(const json& source, const json& pod, const fs::path& dir, const std::string& podIP) {
  for (const json& item : source.value("items", json::array())) {
    std::string path = item.value("fieldRef", json::object()).value("fieldPath", "");
    std::string value;
    if (path == "metadata.labels" || path == "metadata.annotations") {
      const json map = pod["metadata"].value(path.substr(9), json::object());
      for (const auto& [k, v] : map.items()) {
        value += k + "=" + v.dump() + "\n";
      }
    } else if (auto v = podField(pod, path, podIP)) {
      value = *v;
    } else {
      return flink::Status::Error("unsupported downwardAPI fieldPath " + path);
    }
    if (auto s = writeFile(dir / item.value("path", ""), value, source.value("defaultMode", 0644)); !s.ok()) return s;
  }
  return flink::Status::Ok();
}

// projected volume: its sources written into one directory (configMap and secret keys,
// downwardAPI items, the serviceAccountToken as the file its `path` names).
flink::Status writeProjected(const json& source, const json& pod, const fs::path& dir, const std::string& podIP,
                             const ObjectLookup& lookup, const std::string& token) {
  const int mode = source.value("defaultMode", 0644);
  for (json part : source.value("sources", json::array())) {
    flink::Status s;
    for (const char* kind : {"configMap", "secret", "downwardAPI"}) {
      if (part.contains(kind) && !part[kind].contains("defaultMode")) part[kind]["defaultMode"] = mode;
    }
    if (part.contains("configMap")) {
      s = writeKeys(part["configMap"], "ConfigMap", dir, lookup);
    } else if (part.contains("secret")) {
      json secret = part["secret"];
      secret["secretName"] = secret.value("name", "");
      s = writeKeys(secret, "Secret", dir, lookup);
    } else if (part.contains("downwardAPI")) {
      s = writeDownwardAPI(part["downwardAPI"], pod, dir, podIP);
    } else if (part.contains("serviceAccountToken")) {
      s = writeFile(dir / part["serviceAccountToken"].value("path", "token"), token, mode);
    } else {
      s = flink::Status::Error("unsupported projected volume source");
    }
    if (!s.ok()) return s;
  }
  return flink::Status::Ok();
}

// hostPath volume: the path checked (or created) as its `type` asks, as the kubelet does at
// mount time. "" checks nothing.
flink::Status checkHostPath(const json& source) {
  const std::string path = source.value("path", ""), type = source.value("type", "");
  if (path.empty() || path[0] != '/') return flink::Status::Error("hostPath.path '" + path + "' is not absolute");
  struct stat st {};
  bool exists = stat(path.c_str(), &st) == 0;
  if (type == "DirectoryOrCreate" && !exists) {
    std::error_code ec;
    fs::create_directories(path, ec);
    chmod(path.c_str(), 0755);
    exists = stat(path.c_str(), &st) == 0;
  } else if (type == "FileOrCreate" && !exists) {
    std::ofstream touch(path, std::ios::app);
    touch.close();
    chmod(path.c_str(), 0644);
    exists = stat(path.c_str(), &st) == 0;
  }
  if (type.empty()) return flink::Status::Ok();
  static const std::map<std::string, std::pair<mode_t, const char*>> kinds = {
      {"Directory", {S_IFDIR, "a directory"}}, {"DirectoryOrCreate", {S_IFDIR, "a directory"}},
      {"File", {S_IFREG, "a file"}},           {"FileOrCreate", {S_IFREG, "a file"}},
      {"Socket", {S_IFSOCK, "a socket"}},      {"CharDevice", {S_IFCHR, "a character device"}},
      {"BlockDevice", {S_IFBLK, "a block device"}}};
  auto kind = kinds.find(type);
  if (kind == kinds.end()) return flink::Status::Error("unsupported hostPath type " + type);
  if (!exists || (st.st_mode & S_IFMT) != kind->second.first) {
    return flink::Status::Error("hostPath " + path + " is not " + kind->second.second);
  }
  return flink::Status::Ok();
}

// The kubelet's volume ownership for fsGroup: group gid on everything, group read (and write
// for writable volumes) added, directories setgid and group-searchable.
void applyFsGroup(const fs::path& dir, gid_t gid, bool writable) {
  auto fix = [&](const fs::path& p) {
    struct stat st {};
    if (lstat(p.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return;
    if (lchown(p.c_str(), static_cast<uid_t>(-1), gid) != 0) return;
    mode_t mode = st.st_mode & 07777;
    mode |= S_IRGRP | (writable ? S_IWGRP : 0);
    if (S_ISDIR(st.st_mode)) mode |= S_ISGID | S_IXGRP;
    chmod(p.c_str(), mode);
  };
  fix(dir);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    fix(it->path());
  }
}

}  // namespace

flink::Status materializeVolumes(const json& pod, const std::string& podDir, const std::string& podIP,
                                 const ObjectLookup& lookup, const std::string& serviceAccountToken) {
  std::optional<int64_t> fsGroup;
  const json podCtx = pod.value("spec", json::object()).value("securityContext", json::object());
  if (podCtx.contains("fsGroup") && podCtx["fsGroup"].is_number_integer()) fsGroup = podCtx["fsGroup"].get<int64_t>();
  for (const json& v : pod.value("spec", json::object()).value("volumes", json::array())) {
    const std::string name = v.value("name", "");
    if (v.contains("hostPath")) {  // the host's own path: nothing to write under podDir
      if (auto s = checkHostPath(v["hostPath"]); !s.ok()) return s.withContext("volume " + name);
      continue;
    }
    const fs::path dir = fs::path(podDir) / "volumes" / name;
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir, ec);
    flink::Status s;
    if (v.contains("configMap")) {
      s = writeKeys(v["configMap"], "ConfigMap", dir, lookup);
    } else if (v.contains("secret")) {
      s = writeKeys(v["secret"], "Secret", dir, lookup);
    } else if (v.contains("downwardAPI")) {
      s = writeDownwardAPI(v["downwardAPI"], pod, dir, podIP);
    } else if (v.contains("projected")) {
      s = writeProjected(v["projected"], pod, dir, podIP, lookup, serviceAccountToken);
    } else if (!v.contains("emptyDir")) {
      s = flink::Status::Error("unsupported volume type");
    }
    if (!s.ok()) return s.withContext("volume " + name);
    if (v.contains("emptyDir")) chmod(dir.c_str(), 0777);
    if (fsGroup) applyFsGroup(dir, static_cast<gid_t>(*fsGroup), v.contains("emptyDir"));
  }
  return flink::Status::Ok();
}

std::vector<Mount> containerMounts(const json& pod, const json& container, const std::string& podDir) {
  std::map<std::string, std::string> hostPaths;  // volume name -> hostPath.path
  for (const json& v : pod.value("spec", json::object()).value("volumes", json::array())) {
    if (v.contains("hostPath")) hostPaths[v.value("name", "")] = v["hostPath"].value("path", "");
  }
  std::vector<Mount> mounts;
  for (const json& m : container.value("volumeMounts", json::array())) {
    auto host = hostPaths.find(m.value("name", ""));
    fs::path source = host != hostPaths.end() ? fs::path(host->second) : fs::path(podDir) / "volumes" / m.value("name", "");
    if (!m.value("subPath", "").empty()) source /= m.value("subPath", "");
    mounts.push_back({source.string(), m.value("mountPath", ""), m.value("readOnly", false)});
  }
  return mounts;
}

flink::Status prepareMountPoints(const std::vector<Mount>& mounts) {
  for (const Mount& m : mounts) {
    std::error_code ec;
    if (fs::exists(m.target, ec)) continue;
    if (fs::is_directory(m.source, ec) || !fs::exists(m.source, ec)) {
      fs::create_directories(m.target, ec);
    } else {
      fs::create_directories(fs::path(m.target).parent_path(), ec);
      std::ofstream touch(m.target);
    }
    if (!fs::exists(m.target)) return flink::Status::Error("cannot create mount point " + m.target);
  }
  return flink::Status::Ok();
}

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

namespace {

// True when one of the mounts covers path (its target is path or a directory above it): the
// path is no longer what it was on the host once that mount is made.
bool covered(const std::string& path, const std::vector<Mount>& mounts) {
  for (const Mount& m : mounts) {
    const std::string dir = m.target.size() > 1 && m.target.back() == '/' ? m.target.substr(0, m.target.size() - 1) : m.target;
    if (path == dir || dir == "/" || path.rfind(dir + "/", 0) == 0) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> sandboxWrapper(const Sandbox& box, const std::vector<std::string>& argv) {
  std::string script;
  if (!box.hostname.empty()) script += "hostname " + shellQuote(box.hostname) + " || exit 123; ";
  // Pods see the host's file system: a mount (an emptyDir at /tmp, say) may hide the source of
  // another or the executable. Those are opened first and reached through /proc/self/fd/N, which
  // keeps naming the file the descriptor was opened on (a runtime resolves sources outside the
  // container's root). Descriptors 3-9 (what sh redirects); they stay open in the process.
  int nextFd = 3;
  auto hold = [&](const std::string& path) -> std::string {
    if (path.empty() || path[0] != '/' || !covered(path, box.mounts) || nextFd > 9) return "";
    const std::string fd = std::to_string(nextFd++);
    script += "exec " + fd + "<" + shellQuote(path) + " || exit 121; ";
    return "/proc/self/fd/" + fd;
  };
  std::vector<std::string> sources;
  for (const Mount& m : box.mounts) {
    std::string held = hold(m.source);
    sources.push_back(held.empty() ? m.source : held);
  }
  const std::string program = argv.empty() ? "" : hold(argv[0]);
  for (size_t i = 0; i < box.mounts.size(); ++i) {
    const Mount& m = box.mounts[i];
    script += "mount --bind " + shellQuote(sources[i]) + " " + shellQuote(m.target) + " || exit 121; ";
    if (m.readOnly) script += "mount -o remount,bind,ro " + shellQuote(m.target) + " || exit 121; ";
  }
  if (!box.workingDir.empty()) script += "cd " + shellQuote(box.workingDir) + " || exit 122; ";
  if (!program.empty()) script += "shift; ";  // the program is the held descriptor
  if (!box.pidNamespace) script += "exec ";
  if (!box.runAs.root()) {
    script += "setpriv --reuid=" + std::to_string(box.runAs.uid.value_or(0)) +
              " --regid=" + std::to_string(box.runAs.gid.value_or(0));
    if (box.runAs.groups.empty()) {
      script += " --clear-groups";
    } else {
      std::string groups;
      for (int64_t g : box.runAs.groups) groups += (groups.empty() ? "" : ",") + std::to_string(g);
      script += " --groups=" + groups;
    }
    script += " -- ";
  }
  script += program.empty() ? "\"$@\"" : program + " \"$@\"";
  // The init shell waits for the program and ends with its status (128+N when killed by N).
  if (box.pidNamespace) script += " & wait $!";
  std::vector<std::string> out = {"unshare", "-m"};
  if (!box.hostname.empty()) out.push_back("-u");
  if (box.pidNamespace) out.insert(out.end(), {"-p", "--fork", "--mount-proc"});
  out.insert(out.end(), {"--propagation", "private", "sh", "-c", script, "sh"});
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace kubelet
