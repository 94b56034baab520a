#include "jobmanager/jar_store.h"

#include <elf.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include "api/job_library.h"
#include "blob/blob.h"
#include "flink/common/ids.h"
#include "flink/common/log.h"
#include "flink/job.h"

namespace flink {
namespace {

namespace fs = std::filesystem;

int64_t epochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A random UUID in its usual 8-4-4-4-12 form (as Flink names uploads).
std::string randomUuid() {
  std::string h = randomId();
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20, 12);
}

const std::regex& storedName() {
  static const std::regex re("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_(.+\\.so)$");
  return re;
}

// The e_machine of the running executable: a library for another machine cannot load.
int hostMachine() {
  static const int machine = [] {
    Elf64_Ehdr h{};
    std::ifstream in("/proc/self/exe", std::ios::binary);
    in.read(reinterpret_cast<char*>(&h), sizeof(h));
    return in ? static_cast<int>(h.e_machine) : -1;
  }();
  return machine;
}

// An ELF shared object for this machine whose headers and loadable segments lie inside the
// file. Checked before dlopen: the loader maps segments from the file and a segment past its
// end (a truncated upload) would crash the process with SIGBUS instead of failing.
Status checkElfSharedObject(const std::string& path) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return Status::Error("cannot read it: " + ec.message());
  Elf64_Ehdr h{};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(&h), sizeof(h));
  if (!in || std::memcmp(h.e_ident, ELFMAG, SELFMAG) != 0) return Status::Error("not an ELF shared object (no ELF header)");
  if (h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_ident[EI_DATA] != ELFDATA2LSB) {
    return Status::Error("an ELF file, but not 64-bit little-endian as this runtime");
  }
  if (h.e_type != ET_DYN) return Status::Error("an ELF file, but not a shared object (e_type " + std::to_string(h.e_type) + ")");
  if (static_cast<int>(h.e_machine) != hostMachine()) {
    return Status::Error("a shared object for another machine (e_machine " + std::to_string(h.e_machine) + ")");
  }
  auto inside = [size](uint64_t offset, uint64_t length) { return offset <= size && length <= size - offset; };
  if (h.e_phentsize != sizeof(Elf64_Phdr) || h.e_phnum == 0 ||
      !inside(h.e_phoff, static_cast<uint64_t>(h.e_phnum) * sizeof(Elf64_Phdr))) {
    return Status::Error("truncated or malformed ELF file (program headers outside the file)");
  }
  in.seekg(static_cast<std::streamoff>(h.e_phoff));
  for (int i = 0; i < h.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.read(reinterpret_cast<char*>(&ph), sizeof(ph));
    if (!in) return Status::Error("cannot read its program headers");
    if (ph.p_type != PT_NULL && !inside(ph.p_offset, ph.p_filesz)) {
      return Status::Error("truncated or malformed ELF file (segment " + std::to_string(i) + " ends at byte " +
                           std::to_string(ph.p_offset + ph.p_filesz) + " of a " + std::to_string(size) + "-byte file)");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<JarStore>> JarStore::open(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Error("web.upload.dir '" + dir + "' cannot be created: " + ec.message());
  std::unique_ptr<JarStore> store(new JarStore(dir));
  store->startedMs_ = epochMs();
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string file = e.path().filename().string();
    std::smatch m;
    if (!e.is_regular_file() || !std::regex_match(file, m, storedName())) continue;
    auto mtime = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::file_clock::to_sys(e.last_write_time()).time_since_epoch()).count();
    auto jar = store->load(file, m[1], e.path().string(), mtime);
    if (!jar.ok()) {
      log::warn("web.upload.dir: skipping {}: {}", e.path().string(), jar.status().message());
      continue;
    }
    store->jars_[jar->id] = *jar;
  }
  return store;
}

std::string JarStore::tempPath() const { return dir_ + "/.upload-" + randomId(); }

Result<JarFile> JarStore::load(const std::string& id, const std::string& name, const std::string& path, int64_t uploadedMs) {
  Status elf = checkElfSharedObject(path);
  if (!elf.ok()) return elf;
  auto sha = blob::sha256OfFile(path);
  if (!sha.ok()) return sha.status();
  auto entries = loadJobLibrary(path);
  if (!entries.ok()) return entries.status();
  JarFile jar;
  jar.id = id;
  jar.name = name;
  jar.path = path;
  jar.jarURI = path;
  jar.sha256 = *sha;
  jar.uploadedMs = uploadedMs;
  for (const auto& [entry, fn] : *entries) jar.entryClasses.push_back(entry);
  return jar;
}

Result<JarFile> JarStore::upload(const std::string& fileName, const std::string& tempPath) {
  std::error_code ec;
  // The last part of the name, with anything but letters, digits and ._+- replaced: it becomes
  // part of the jar id, which clients put in URLs.
  std::string name = fs::path(fileName).filename().string();
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-' && ch != '+') ch = '_';
  }
  auto reject = [&](const std::string& why) -> Result<JarFile> {
    fs::remove(tempPath, ec);
    return Status::Error("'" + fileName + "' is not a valid job library: " + why);
  };
  if (name.size() <= 3 || name.compare(name.size() - 3, 3, ".so") != 0) {
    return reject("only shared libraries (file names ending in .so) can be uploaded");
  }
  std::string id = randomUuid() + "_" + name;
  std::string path = dir_ + "/" + id;
  Status elf = checkElfSharedObject(tempPath);
  if (!elf.ok()) return reject(elf.message());
  fs::rename(tempPath, path, ec);
  if (ec) return reject("cannot store it in web.upload.dir: " + ec.message());
  auto jar = load(id, name, path, epochMs());
  if (!jar.ok()) {
    fs::remove(path, ec);
    return Status::Error("'" + fileName + "' is not a valid job library: " + jar.status().message());
  }
  std::lock_guard<std::mutex> lock(mu_);
  jars_[id] = *jar;
  log::info("Uploaded job library {} ({} entry classes, SHA-256 {})", path, jar->entryClasses.size(), jar->sha256);
  return jar;
}

JarFile JarStore::builtin(const std::string& name) const {
  JarFile jar;
  jar.id = std::string("builtin_") + name;
  jar.name = name;
  jar.jarURI = "builtin://" + name;
  jar.uploadedMs = startedMs_;
  jar.entryClasses = JobRegistry::names();
  jar.builtin = true;
  return jar;
}

std::vector<JarFile> JarStore::list() const {
  std::vector<JarFile> out = {builtin(std::string(kBuiltinJarId).substr(8))};
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, jar] : jars_) out.push_back(jar);
  std::stable_sort(out.begin() + 1, out.end(), [](const JarFile& a, const JarFile& b) { return a.uploadedMs < b.uploadedMs; });
  return out;
}

Result<JarFile> JarStore::find(const std::string& id) const {
  if (id.rfind("builtin_", 0) == 0 && id.size() > 8) return builtin(id.substr(8));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jars_.find(id);
  if (it == jars_.end()) return Status::Error("Jar file " + dir_ + "/" + id + " does not exist");
  return it->second;
}

Status JarStore::remove(const std::string& id) {
  if (id.rfind("builtin_", 0) == 0) return Status::Error("Jar " + id + " holds the jobs compiled into the runtime and cannot be deleted");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jars_.find(id);
  if (it == jars_.end()) return Status::Error("File " + id + " does not exist in " + dir_ + ".");
  std::error_code ec;
  fs::remove(it->second.path, ec);
  jars_.erase(it);
  return Status::Ok();
}

}  // namespace flink
