// The job registry and buildJob (flink/job.h): entry classes compiled in or loaded from a
// shared library (dlopen).
#include <dlfcn.h>

#include <map>
#include <mutex>

#include "flink/common/log.h"
#include "checkpoint/storage.h"
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

}  // namespace

bool JobRegistry::add(const std::string& entryClass, JobMainFn main) {
  std::lock_guard<std::mutex> lock(registryMutex());
  registry()[entryClass] = main;
  return true;
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
  if (uri.size() > 3 && uri.compare(uri.size() - 3, 3, ".so") == 0) {
    std::string path = checkpoint::pathOf(uri);
    static std::mutex dlMutex;
    std::lock_guard<std::mutex> lock(dlMutex);
    if (!dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
      return Status::Error("job.jarURI '" + uri + "': cannot load shared library: " + dlerror());
    }
  }
  JobMainFn main = JobRegistry::find(spec.entryClass);
  if (!main) {
    std::string known;
    for (const auto& n : JobRegistry::names()) known += (known.empty() ? "" : ", ") + n;
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
