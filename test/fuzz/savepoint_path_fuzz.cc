// Fuzz target: savepoint paths (execution.savepoint.path, a job's initialSavepointPath, the REST
// API's targetDirectory): URI schemes stripped by checkpoint::pathOf, `<path>/_metadata` read
// as a JobMaster reads it, and when that is a savepoint, a JobMaster starting from it (mapping
// its state to the job's operators). The input is the path; paths that exist on this machine are
// read, nothing is written.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "checkpoint/storage.h"
#include "jobmanager/job_master.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace flink;
  std::string path(reinterpret_cast<const char*>(data), size);
  if (path.find('\0') != std::string::npos) return 0;  // not a path
  std::string plain = checkpoint::pathOf(path);
  if (plain.size() > path.size()) __builtin_trap();
  // Where a JobMaster looks for the savepoint's metadata (JobMaster::validateSavepoint).
  auto meta = checkpoint::readMetadata(plain);
  if (!meta.ok()) return 0;
  ResourceManager rm;
  JobSubmission sub = fuzz::flightDelaysSubmission();
  sub.config.set("execution.savepoint.path", path);
  JobMaster jm(std::move(sub), &rm, [](const std::string&, const nlohmann::json&) {});
  jm.start();
  return 0;
}
