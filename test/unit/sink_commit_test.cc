// Tests of the sink's two-phase commit on the TaskManager side: committables of a checkpoint
// that never completes are carried into the next one and into the final commit, a restore
// commits what the restored checkpoint prepared, and the file sink's directory rules for fresh
// starts and restores (what each attempt may remove), also with several subtasks at once.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "flink/connectors.h"
#include "flink/datastream.h"

using namespace flink;
namespace fs = std::filesystem;

namespace {

// A sink whose writer hands out "<checkpoint>:<n>" committables and whose committer records them.
struct Recorder {
  std::vector<std::vector<std::string>> commits;
  std::vector<SinkInitContext> inits;
  std::vector<std::string> committed() const {
    std::vector<std::string> all;
    for (const auto& c : commits) all.insert(all.end(), c.begin(), c.end());
    return all;
  }
};

class RecordingSink final : public Sink<int> {
 public:
  explicit RecordingSink(std::shared_ptr<Recorder> r) : r_(std::move(r)) {}
  class Writer final : public SinkWriter<int> {
   public:
    Status open(RuntimeContext&) override { return Status::Ok(); }
    void write(const int&, int64_t) override { ++written_; }
    void prepareCommit(int64_t checkpointId, std::vector<std::string>* out) override {
      if (written_ == 0) return;  // nothing new: nothing to commit, as the file sink
      out->push_back((checkpointId == kFinalCheckpointId ? std::string("final") : std::to_string(checkpointId)) + ":" +
                     std::to_string(written_));
      written_ = 0;
    }

   private:
    int written_ = 0;
  };
  std::unique_ptr<SinkWriter<int>> createWriter() const override { return std::make_unique<Writer>(); }
  Status initializeOutput(const SinkInitContext& ctx) const override {
    r_->inits.push_back(ctx);
    return Status::Ok();
  }
  Status commit(const std::vector<std::string>& c) const override {
    r_->commits.push_back(c);
    return Status::Ok();
  }

 private:
  std::shared_ptr<Recorder> r_;
};

struct Harness {
  std::shared_ptr<Recorder> rec = std::make_shared<Recorder>();
  TaskMetrics metrics;
  RuntimeContext ctx;
  detail::SinkOperator<int> op{std::make_shared<RecordingSink>(rec)};
  explicit Harness(int attempt = 0) {
    ctx.jobId = "0123456789abcdef0123456789abcdef";
    ctx.attemptNumber = attempt;
    ctx.metrics = &metrics;
  }
  void write(int n) {
    for (int i = 0; i < n; ++i) op.collect(int(i), 0);
  }
  OperatorSnapshot snapshot(int64_t id) {
    OperatorSnapshot s;
    op.snapshotState(id, s);
    return s;
  }
};

}  // namespace

TEST_CASE("SinkOperator carries committables of a checkpoint that never completed into the next one", "[sink]") {
  Harness h;
  REQUIRE(h.op.initializeState(RestoredState{}).ok());
  REQUIRE(h.op.open(h.ctx).ok());
  h.write(3);
  auto s1 = h.snapshot(1);
  REQUIRE(s1.committables == std::vector<std::string>{"1:3"});  // made durable before the ack
  h.write(2);
  h.snapshot(2);
  // Checkpoint 1 failed (never notified); checkpoint 2 completes: both are committed.
  REQUIRE(h.op.notifyCheckpointComplete(2).ok());
  REQUIRE(h.rec->committed() == std::vector<std::string>{"1:3", "2:2"});
  // A late or repeated notification commits nothing twice.
  REQUIRE(h.op.notifyCheckpointComplete(2).ok());
  REQUIRE(h.op.notifyCheckpointComplete(1).ok());
  REQUIRE(h.rec->commits.size() == 1);
}

TEST_CASE("SinkOperator's final commit covers checkpoints still pending at the end of input", "[sink]") {
  Harness h;
  REQUIRE(h.op.open(h.ctx).ok());
  h.write(4);
  h.snapshot(5);  // in flight when the input ends: never completes
  h.write(1);
  REQUIRE(h.op.close().ok());  // prepares the final committable
  REQUIRE(h.rec->commits.empty());
  REQUIRE(h.op.notifyCheckpointComplete(kFinalCheckpointId).ok());
  REQUIRE(h.rec->committed() == std::vector<std::string>{"5:4", "final:1"});
}

TEST_CASE("SinkOperator checkpoints its uncommitted committables and a restore commits them first", "[sink]") {
  Harness a;
  REQUIRE(a.op.open(a.ctx).ok());
  a.write(2);
  a.snapshot(1);
  a.write(3);
  auto s2 = a.snapshot(2);  // checkpoint 2 completes on the JobManager, the task dies before the notification
  Harness restored(1);
  RestoredState rs;
  rs.restored = true;
  rs.checkpointId = 2;
  rs.operatorStates = {s2.operatorState, Buffer{0}};  // two subtasks wrote it; the second had nothing pending
  REQUIRE(restored.op.initializeState(rs).ok());
  REQUIRE(restored.op.open(restored.ctx).ok());
  REQUIRE(restored.rec->committed() == std::vector<std::string>{"1:2", "2:3"});
  REQUIRE(restored.rec->inits.size() == 1);
  REQUIRE(restored.rec->inits[0].restoredCheckpointId == std::optional<int64_t>(2));
  REQUIRE(restored.rec->inits[0].attemptNumber == 1);
  // What was restored is not committed again.
  restored.write(1);
  restored.snapshot(3);
  REQUIRE(restored.op.notifyCheckpointComplete(3).ok());
  REQUIRE(restored.rec->committed() == std::vector<std::string>{"1:2", "2:3", "3:1"});
}

TEST_CASE("SinkOperator rejects corrupt restored state with an error", "[sink]") {
  Harness h;
  RestoredState rs;
  rs.restored = true;
  rs.checkpointId = 4;
  rs.operatorStates = {Buffer{0x06, 0x02}};  // claims 3 entries, holds none
  Status s = h.op.initializeState(rs);
  REQUIRE_FALSE(s.ok());
  REQUIRE_THAT(s.message(), Catch::Contains("sink state is corrupt"));
}

namespace {

std::vector<std::string> listDir(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void touch(const fs::path& p) { std::ofstream(p) << "x\n"; }

}  // namespace

TEST_CASE("initializePartFileDirectory: a fresh start removes every part file but the current attempt's", "[sink][files]") {
  fs::path dir = fs::temp_directory_path() / ("sink-fresh-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* n : {"part-aaaaaaaa0-0-0-c1", ".part-aaaaaaaa0-1-0.inprogress", "part-01234567" "0-0-0-cfinal",
                        ".part-012345670-0-1-c2.pending", ".part-012345671-0-0.inprogress", "notes.txt"}) {
    touch(dir / n);
  }
  SinkInitContext ctx{"0123456789abcdef0123456789abcdef", 1, 0, std::nullopt};
  REQUIRE(detail::initializePartFileDirectory(dir.string(), ctx).ok());
  REQUIRE(listDir(dir) == std::vector<std::string>{".part-012345671-0-0.inprogress", "notes.txt"});
  fs::remove_all(dir);
}

TEST_CASE("initializePartFileDirectory: a restore keeps what the checkpoint covers and removes the rest", "[sink][files]") {
  fs::path dir = fs::temp_directory_path() / ("sink-restore-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* n : {"part-012345670-0-0-c1", "part-012345670-1-0-c3", "part-012345670-0-1-c4", "part-012345670-1-1-cfinal",
                        ".part-012345670-0-2-c5.pending", ".part-012345670-1-2.inprogress", "part-aaaaaaaa0-0-0-c9",
                        ".part-012345672-0-0.inprogress", "part-0123456712-0-0-c1"}) {
    touch(dir / n);
  }
  // Attempt 2 restores checkpoint 3 of the same job.
  SinkInitContext ctx{"0123456789abcdef0123456789abcdef", 2, 0, 3};
  REQUIRE(detail::initializePartFileDirectory(dir.string(), ctx).ok());
  REQUIRE(listDir(dir) == std::vector<std::string>{".part-012345672-0-0.inprogress", "part-012345670-0-0-c1",
                                                   "part-012345670-1-0-c3", "part-0123456712-0-0-c1",
                                                   "part-aaaaaaaa0-0-0-c9"});
  fs::remove_all(dir);
}

TEST_CASE("commitPartFiles is idempotent and safe when several subtasks commit the same files at once", "[sink][files]") {
  fs::path dir = fs::temp_directory_path() / ("sink-commit-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<std::string> pending;
  for (int i = 0; i < 200; ++i) {
    fs::path p = dir / (".part-012345670-0-" + std::to_string(i) + "-c1.pending");
    touch(p);
    pending.push_back(p.string());
  }
  std::vector<Status> results(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&, t] { results[t] = detail::commitPartFiles(pending); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) REQUIRE(r.ok());
  auto names = listDir(dir);
  REQUIRE(names.size() == 200);
  for (const auto& n : names) REQUIRE(n.rfind("part-012345670-0-", 0) == 0);
  REQUIRE(detail::commitPartFiles(pending).ok());  // again: already committed
  // A committable that is neither pending nor committed is an error naming it.
  Status missing = detail::commitPartFiles({(dir / ".part-012345670-9-9-c1.pending").string()});
  REQUIRE_FALSE(missing.ok());
  REQUIRE_THAT(missing.message(), Catch::Contains(".part-012345670-9-9-c1.pending"));
  fs::remove_all(dir);
}
