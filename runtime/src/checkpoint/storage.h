// Checkpoint storage on a file system (state.checkpoints.dir, file:// URIs or plain paths):
//
//   <dir>/<job-id>/chk-<n>/<vertex-id>-<subtask>-<attempt>   state of one task (binary)
//   <dir>/<job-id>/chk-<n>/_metadata                          the completed checkpoint
//   <target>/savepoint-<6 hex of job id>-<12 hex>/...          savepoints, same layout
//
// Both file kinds start with a header carrying a CRC-32 (zlib) and the payload length, and are
// written to a temporary name, fsynced and renamed, so a torn or corrupt file is detected on
// read and never mistaken for a complete one. Layout follows Flink's checkpoint directory
// structure (https://nightlies.apache.org/flink/flink-docs-stable/docs/ops/state/checkpoints/).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "flink/operators/stream_operator.h"
#include "flink/status.h"

namespace flink::checkpoint {

/// Strips file:// (and local://) from a URI.
std::string pathOf(const std::string& uri);

using TaskState = std::vector<std::pair<std::string, OperatorSnapshot>>;  // (operator id, state)

/// Writes a task's state file atomically; returns its size in bytes.
Result<int64_t> writeTaskState(const std::string& path, const TaskState& state);
/// Reads and verifies a task's state file; errors name the path.
Result<TaskState> readTaskState(const std::string& path);
/// Verifies and decodes the bytes of a task state file (header included); errors name `path`.
Result<TaskState> decodeTaskState(const Buffer& file, const std::string& path);

/// The largest pipeline.max-parallelism (Flink's upper bound, 2^15).
inline constexpr int kMaxMaxParallelism = 1 << 15;

/// A completed checkpoint or savepoint as recorded in `_metadata`. fromJson checks what
/// restoring relies on: maxParallelism in [1, 2^15], per operator a parallelism in [1,
/// maxParallelism] with one file per subtask, each a plain name inside the checkpoint directory.
struct Metadata {
  std::string jobId;
  int64_t checkpointId = 0;
  int64_t timestampMs = 0;
  bool savepoint = false;
  int maxParallelism = 128;
  /// Per operator id: parallelism that wrote it and the state file of each subtask.
  struct OperatorEntry {
    int parallelism = 0;
    std::vector<std::string> files;  // index = subtask
  };
  std::map<std::string, OperatorEntry> operators;
  /// Per source operator id: its split enumerator's state (the unassigned splits) at the
  /// trigger, as Flink's OperatorCoordinator state in `_metadata`.
  std::map<std::string, std::string> coordinators;
  int64_t stateSize = 0;

  nlohmann::json toJson() const;
  static Result<Metadata> fromJson(const nlohmann::json& j);
};

Status writeMetadata(const std::string& dir, const Metadata& m);
/// Reads `<dir>/_metadata`, verifying its checksum.
Result<Metadata> readMetadata(const std::string& dir);
/// Verifies and decodes the bytes of a `_metadata` file (header included); errors name `name`.
Result<Metadata> decodeMetadata(const Buffer& file, const std::string& name);
/// The `chk-<n>` directories under a job's checkpoint directory (complete or not), by id,
/// oldest first.
std::vector<std::pair<int64_t, std::string>> listCheckpointDirs(const std::string& jobDir);
/// Replaces `path` with `text` atomically (temporary file, fsync, rename), creating its
/// directory; the error names the file.
Status writeTextAtomically(const std::string& path, const std::string& text);
/// The newest checkpoint under `<root>/<job-id>` whose metadata verifies; corrupt ones are
/// skipped (and logged). Error when there is none.
Result<std::pair<std::string, Metadata>> findLatest(const std::string& jobDir);

}  // namespace flink::checkpoint
