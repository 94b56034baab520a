// Sinks of the DataStream API, in the shape of Flink's Sink V2 with a Committer (two-phase
// commit): a SinkWriter per subtask prepares committables at every checkpoint and at the end of
// input; the Sink commits them once a checkpoint covering them completes (see
// flink/operators/sink_operator.h for the protocol).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flink/operators/stream_operator.h"

namespace flink {

/// Writes one subtask's share of a stream. Runs on the task thread.
template <class T>
class SinkWriter {
 public:
  virtual ~SinkWriter() = default;
  virtual Status open(RuntimeContext& ctx) = 0;
  virtual void write(const T& value, int64_t timestamp) = 0;
  /// Called after the last record, before the final prepareCommit.
  virtual Status finish() { return Status::Ok(); }
  /// At a checkpoint barrier and after the input ended (kFinalCheckpointId): closes what was
  /// written so far and returns committables (e.g. pending file names) that Sink::commit makes
  /// visible once a checkpoint covering them completes (two-phase commit).
  virtual void prepareCommit(int64_t /*checkpointId*/, std::vector<std::string>* /*committables*/) {}
};

/// Where a sink subtask starts: the job, the attempt, and the checkpoint it was restored from.
struct SinkInitContext {
  std::string jobId;
  int attemptNumber = 0;  // the job's restart count: every subtask of a run has the same one
  int subtaskIndex = 0;
  /// The checkpoint or savepoint restored (its committables are already committed), or
  /// nullopt when the job starts fresh (no completed checkpoint).
  std::optional<int64_t> restoredCheckpointId;
};

/// A two-phase-commit sink (the shape of Flink's Sink V2 with a Committer): the writer
/// prepares committables at every checkpoint barrier and at the end of input; the sink operator
/// keeps every committable that is not yet committed in its checkpointed state and commits it,
/// on the TaskManager that runs the sink, once a checkpoint covering it completes or once every
/// task of the job reached the end of its input. A committable of a checkpoint that never
/// completes is carried into the next one, so none is ever dropped.
template <class T>
class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::unique_ptr<SinkWriter<T>> createWriter() const = 0;
  /// Runs on every sink subtask before it opens (concurrently on all of them, so it must
  /// tolerate the others doing the same), after the committables of a restored checkpoint were
  /// committed: prepares the output (e.g. creates a directory) and removes what earlier
  /// attempts left that the restored checkpoint does not cover.
  virtual Status initializeOutput(const SinkInitContext& /*ctx*/) const { return Status::Ok(); }
  /// Committer: makes committables visible. Runs on the sink's task thread. Must be idempotent
  /// and tolerate other subtasks committing the same committables at the same time (after a
  /// restore every subtask commits all the restored ones).
  virtual Status commit(const std::vector<std::string>& /*committables*/) const { return Status::Ok(); }
};

}  // namespace flink
