// The job libraries of a session cluster, behind Flink's /jars REST API: uploaded shared objects
// kept under web.upload.dir (Flink's key) as <uuid>_<file name>, plus the jobs compiled into the
// runtime, listed under fixed ids (builtin_<name>, jarURI builtin://<name>) that cannot be
// deleted. A library is accepted only when it is an ELF shared object that loads (dlopen) and
// registers at least one entry class (FLINK_JOB). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "flink/status.h"

namespace flink {

/// The id under which the compiled-in jobs are listed (jarURI builtin://flink-cpp-examples).
inline constexpr const char* kBuiltinJarId = "builtin_flink-cpp-examples";

struct JarFile {
  std::string id;          // <uuid>_<name> for an upload; builtin_<name> for compiled-in jobs
  std::string name;        // the file name as uploaded (flink-cpp-examples for the builtin one)
  std::string path;        // the stored file ("" for builtin)
  std::string jarURI;      // what a job built from it uses: the stored path, or builtin://<name>
  std::string sha256;      // of the stored file ("" for builtin): its blob key
  int64_t uploadedMs = 0;  // epoch ms
  std::vector<std::string> entryClasses;
  bool builtin = false;
};

class JarStore {
 public:
  /// Opens (creating it) the upload directory `dir`; libraries already there from an earlier
  /// run are listed again when they still load (others are skipped with a warning).
  static Result<std::unique_ptr<JarStore>> open(const std::string& dir);

  /// Takes the uploaded file at `tempPath` (in dir(), see tempPath()) sent as `fileName`:
  /// validates it and stores it as <uuid>_<fileName>. The temporary file is gone afterwards,
  /// whatever the outcome. Errors (a client's fault, Flink answers 400): a file name that is
  /// empty or does not end in .so, not an ELF shared object, dlopen fails (dlerror's
  /// message), no entry class registered.
  Result<JarFile> upload(const std::string& fileName, const std::string& tempPath);
  /// A fresh path in dir() for an upload in progress.
  std::string tempPath() const;

  /// Every library: the builtin one first, then uploads, oldest first.
  std::vector<JarFile> list() const;
  /// The library with `id` (any builtin_<name> maps to builtin://<name>). Errors name the id.
  Result<JarFile> find(const std::string& id) const;
  /// Deletes an uploaded library. Errors: unknown id, builtin id.
  Status remove(const std::string& id);

  const std::string& dir() const { return dir_; }

 private:
  explicit JarStore(std::string dir) : dir_(std::move(dir)) {}
  Result<JarFile> load(const std::string& id, const std::string& name, const std::string& path, int64_t uploadedMs);
  JarFile builtin(const std::string& name) const;

  std::string dir_;
  int64_t startedMs_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, JarFile> jars_;  // by id; guarded by mu_
};

}  // namespace flink
