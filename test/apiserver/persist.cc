#include "persist.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kta {
namespace {

const char* kStateKind = "KubeTestApiserverState";
const std::string kCrdKey = "apiextensions.k8s.io/customresourcedefinitions";

ApiError ioError(const std::string& what, const std::string& path) {
  return internalError(what + " " + path + ": " + std::strerror(errno));
}

bool writeAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Status saveStateFile(Api& api, const std::string& path) {
  std::vector<std::pair<std::string, ObjPtr>> objects;
  uint64_t rv = 0;
  uint32_t allocator = 0;
  api.store().transact([&](Store::Txn& t) {
    objects = t.all();
    rv = t.currentRv();
    allocator = api.allocatorPosition();
    return 0;
  });
  // Serialized by hand so that the (immutable, shared) objects are not copied.
  std::string out = "{\"kind\":\"" + std::string(kStateKind) + "\",\"version\":1,\"resourceVersion\":\"" +
                    std::to_string(rv) + "\",\"allocatorPosition\":" + std::to_string(allocator) + ",\"objects\":[";
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i) out += ",\n";
    out += "{\"resource\":" + json(objects[i].first).dump() + ",\"object\":" + objects[i].second->dump() + "}";
  }
  out += "]}\n";

  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ioError("cannot create", tmp);
  bool ok = writeAll(fd, out) && ::fsync(fd) == 0;
  int savedErrno = errno;
  ::close(fd);
  if (!ok) {
    errno = savedErrno;
    ApiError e = ioError("cannot write", tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ApiError e = ioError("cannot rename to", path);
    ::unlink(tmp.c_str());
    return e;
  }
  // Make the rename itself durable.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Ok{};
}

Result<bool> loadStateFile(Api& api, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return ioError("cannot read", path);
  std::stringstream ss;
  ss << in.rdbuf();
  json doc = json::parse(ss.str(), nullptr, false);
  auto bad = [&](const std::string& why) { return internalError("state file " + path + ": " + why); };
  if (doc.is_discarded() || !doc.is_object()) return bad("not JSON");
  if (doc.value("kind", "") != kStateKind || doc.value("version", 0) != 1)
    return bad("not a kube-test-apiserver state file (version 1)");
  try {
    uint64_t rv = std::stoull(doc.at("resourceVersion").get<std::string>());
    std::vector<std::pair<std::string, json>> objects;
    for (const auto& item : doc.at("objects")) {
      std::string resource = item.at("resource").get<std::string>();
      const json& obj = item.at("object");
      if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object() ||
          !obj["metadata"].contains("name"))
        return bad("an object of " + resource + " has no metadata.name");
      objects.emplace_back(resource, obj);
    }
    // CRDs first: the types of the custom resources that follow.
    for (const auto& [resource, obj] : objects)
      if (resource == kCrdKey) api.registry().install(Registry::typeFromCrd(obj));
    for (const auto& [resource, obj] : objects)
      if (!api.registry().byKey(resource)) return bad("unknown resource '" + resource + "'");
    api.store().restore(rv, objects);
    api.setAllocatorPosition(doc.value("allocatorPosition", 10u));
  } catch (const std::exception& e) {
    return bad(e.what());
  }
  return true;
}

}  // namespace kta
