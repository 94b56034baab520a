// Fuzz target: control-plane RPC messages from TaskManagers (core/rpc.h) as the JobManager
// handles them: a frame's JSON, a TaskManager's registration, and the task reports a JobMaster
// takes (task state, checkpoint acknowledgements and declines, input ended, metrics). The
// JobManager treats an exception as a malformed message (it drops the connection); anything
// else a message can do to memory is what this looks for.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz_support.h"
#include "core/rpc.h"
#include "jobmanager/job_master.h"
#include "jobmanager/resource_manager.h"

namespace {

using namespace flink;

std::unique_ptr<JobMaster> newJob(ResourceManager* rm) {
  JobSubmission sub = fuzz::flightDelaysSubmission();
  sub.config.set("parallelism.default", "2");
  auto jm = std::make_unique<JobMaster>(std::move(sub), rm, [](const std::string&, const nlohmann::json&) {});
  jm->start();
  return jm;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json msg;
  try {
    msg = rpc::parse(Buffer(data, data + size));
  } catch (const std::exception&) {
    return 0;  // not JSON, or an integer field that is not an integer: the connection is dropped
  }
  // One TaskManager with two slots, so that the job is deployed and its tasks are known. The
  // job lives across inputs (building it is what costs) until a message ends it.
  static ResourceManager* rm = new ResourceManager();
  static std::shared_ptr<net::Connection> conn = std::make_shared<net::Connection>();
  static std::unique_ptr<JobMaster> jm;
  static int uses = 0;
  if (!jm || isGloballyTerminal(jm->status()) || ++uses % 1000 == 0) {
    jm.reset();
    rm->releaseSlots(fuzz::kJobId);
    rm->registerTaskManager(conn, {{"resourceId", "tm-1"}, {"host", "127.0.0.1"}, {"dataPort", 1}, {"slots", 2}});
    jm = newJob(rm);
    jm->tick();
  }
  try {
    std::string type = msg.is_object() ? msg.value("type", "") : "";
    if (type == "register") {
      rm->registerTaskManager(conn, msg);
    } else if (type == "taskState") {
      jm->onTaskState(msg);
    } else if (type == "acknowledgeCheckpoint") {
      jm->onCheckpointAck(msg);
    } else if (type == "declineCheckpoint") {
      jm->onCheckpointDecline(msg);
    } else if (type == "inputEnded") {
      jm->onTaskInputEnded(msg);
    } else if (type == "metrics") {
      for (const auto& t : msg.at("tasks")) jm->onTaskMetrics(t);
    } else if (msg.is_array()) {
      // A sequence of task states (a task's life: running, finished or failed).
      for (const auto& m : msg) jm->onTaskState(m);
    }
  } catch (const std::exception&) {
    // Malformed: the JobManager logs it and drops the connection.
  }
  return 0;
}
