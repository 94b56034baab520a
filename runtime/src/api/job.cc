// The job registry and buildJob (flink/job.h): entry classes compiled in or loaded from a
// shared library (dlopen).
#include <dlfcn.h>

#include <map>
#include <mutex>

#include "flink/common/log.h"
#include "checkpoint/storage.h"
#include "api/job_library.h"
#include "flink/job.h"

namespace flink {

namespace {
std::mutex& registryMutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, JobMainFn>& registry() {
  static std::map<std::string, JobMainFn> r;
  return r;
}

// Serializes dlopen; while a library loads, its registrations go to `capturing`.
std::mutex& loadMutex() {
  static std::mutex m;
  return m;
}
thread_local JobEntries* capturing = nullptr;  // set by loadJobLibrary around its dlopen

std::map<std::string, JobEntries>& loadedLibraries() {  // guarded by loadMutex()
  static std::map<std::string, JobEntries> m;
  return m;
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

bool JobRegistry::add(const std::string& entryClass, JobMainFn main) {
  // A library being loaded (loadJobLibrary holds loadMutex() and runs dlopen on this thread).
  if (capturing) {
    (*capturing)[entryClass] = main;
    return true;
  }
  std::lock_guard<std::mutex> lock(registryMutex());
  registry()[entryClass] = main;
  return true;
}

Result<JobEntries> loadJobLibrary(const std::string& path) {
  std::lock_guard<std::mutex> lock(loadMutex());
  auto known = loadedLibraries().find(path);
  if (known != loadedLibraries().end()) return known->second;
  JobEntries entries;
  capturing = &entries;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  capturing = nullptr;
  if (!handle) return Status::Error(std::string("cannot load shared library: ") + dlerror());
  if (entries.empty()) {
    // Keep it loaded (dlclose could run code of a half-initialized library) but remember it.
    loadedLibraries()[path] = entries;
    return Status::Error("the library registers no entry class (no FLINK_JOB in it)");
  }
  loadedLibraries()[path] = entries;
  return entries;
}

JobMainFn JobRegistry::find(const std::string& entryClass) {
  std::lock_guard<std::mutex> lock(registryMutex());
  auto it = registry().find(entryClass);
  return it == registry().end() ? nullptr : it->second;
}

std::vector<std::string> JobRegistry::names() {
  std::lock_guard<std::mutex> lock(registryMutex());
  std::vector<std::string> out;
  for (const auto& [name, fn] : registry()) out.push_back(name);
  return out;
}

Result<std::shared_ptr<StreamExecutionEnvironment>> buildJob(const JobSpec& spec, const Configuration& config) {
  const std::string& uri = spec.jarURI;
  JobMainFn main = nullptr;
  std::vector<std::string> names;
  if (endsWith(uri, ".so")) {
    auto entries = loadJobLibrary(checkpoint::pathOf(uri));
    if (!entries.ok()) return Status::Error("job.jarURI '" + uri + "': " + entries.status().message());
    auto it = entries->find(spec.entryClass);
    if (it != entries->end()) main = it->second;
    for (const auto& [name, fn] : *entries) names.push_back(name);
  } else {
    main = JobRegistry::find(spec.entryClass);
    names = JobRegistry::names();
  }
  if (!main) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    return Status::Error("job.entryClass '" + spec.entryClass + "' is not registered by job.jarURI '" + uri +
                         "' (known entry classes: " + known + ")");
  }
  auto env = std::make_shared<StreamExecutionEnvironment>(config);
  auto parallelism = config.getInt(options::kParallelismDefault, 1);
  if (!parallelism.ok()) return parallelism.status();
  env->setParallelism(static_cast<int>(*parallelism));
  try {
    main(*env, spec.args);
  } catch (const std::exception& e) {
    return Status::Error("job " + spec.entryClass + " failed to build its pipeline: " + e.what());
  }
  if (!env->executed()) return Status::Error("job " + spec.entryClass + " did not call env.execute()");
  return env;
}

}  // namespace flink
