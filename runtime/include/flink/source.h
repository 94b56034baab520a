// Sources of the DataStream API, in the shape of Flink's FLIP-27 Source: a Source creates one
// SourceReader per subtask; the reader polls records into a ReaderOutput and checkpoints its
// position as operator state. Readers run on their task's thread. A split-based source also
// creates a SplitEnumerator, which runs in the JobMaster and hands out splits (units of work:
// a file, a byte range of a file) to the readers when they ask for one (FLIP-27's pull model).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "flink/operators/stream_operator.h"

namespace flink {

template <class T>
class ReaderOutput {
 public:
  virtual ~ReaderOutput() = default;
  virtual void collect(T&& value, int64_t timestamp = kNoTimestamp) = 0;
  /// Emits a watermark (ms) directly, besides the WatermarkStrategy's: kMaxWatermark when the
  /// reader will emit no record any more but keeps running (FLIP-27's ReaderOutput).
  virtual void emitWatermark(int64_t /*watermark*/) {}
};

/// Reads one subtask's share of a source. Runs on the task thread.
template <class T>
class SourceReader {
 public:
  virtual ~SourceReader() = default;
  /// Errors (e.g. a missing file, named in the message) fail the task.
  virtual Status open(RuntimeContext& ctx) = 0;
  /// Emits up to maxRecords records; may throw TaskFailure on I/O errors.
  virtual InputStatus pollNext(ReaderOutput<T>& output, int maxRecords) = 0;
  virtual void close() {}
  /// Writes the reader's position (checkpoint). A reader without state replays from the start.
  virtual void snapshotState(DataOutputView& /*out*/) {}
  /// Called before open() with the positions written by every subtask of the restored run.
  virtual Status restoreState(const std::vector<Buffer>& /*states*/) { return Status::Ok(); }
};

/// Assigns the splits of one source to its readers (Flink's SplitEnumerator, FLIP-27). Lives in
/// the JobMaster and runs on its main thread only (not thread-safe). Splits are opaque strings
/// that the source's readers understand; their order of assignment is the enumerator's.
///
/// Exactly-once contract: the JobMaster snapshots the enumerator when it triggers a checkpoint,
/// before any barrier is injected, and delivers every split it assigns after that only after
/// the reader took its snapshot of that checkpoint. So each split is either unassigned in the
/// enumerator's state or owned by exactly one reader's state. On a failover or a restore the
/// enumerator is rebuilt from the restored checkpoint (restoreState), which gives back the
/// splits assigned since then (Flink's addSplitsBack on a global failover), or started afresh
/// when no checkpoint completed.
class SplitEnumerator {
 public:
  virtual ~SplitEnumerator() = default;
  /// Discovers the initial splits (fresh start). An error (e.g. an input path that does not
  /// exist, named in the message) fails the job.
  virtual Status start() = 0;
  /// Replaces the state with one written by snapshotState (restore, rescale). Error: corrupt.
  virtual Status restoreState(const std::string& state) = 0;
  /// The unassigned splits (and whatever the enumerator needs to continue), serialized.
  virtual std::string snapshotState() const = 0;
  /// The next split for reader `subtask`, removed from the unassigned ones; false when there is
  /// none at the moment.
  virtual bool nextSplit(int subtask, std::string* split) = 0;
  /// Returns splits to the unassigned ones (a reader failed before it checkpointed them).
  virtual void addSplitsBack(const std::vector<std::string>& splits) = 0;
  /// True when no split will ever come again (bounded input, all assigned): readers then end.
  virtual bool noMoreSplits() const = 0;
  /// Periodic discovery of new splits (continuous monitoring), in ms: 0 when the enumerator
  /// never discovers more (bounded). discover() is called that often; an error is logged and
  /// the next discovery tried.
  virtual int64_t discoveryIntervalMs() const { return 0; }
  virtual Status discover() { return Status::Ok(); }
};

/// A reader's side of split assignment, given to it by the runtime (RuntimeContext::splits;
/// nullptr when the task runs without a JobMaster, e.g. in unit tests). Task thread only.
class SplitReaderContext {
 public:
  virtual ~SplitReaderContext() = default;
  /// Asks the enumerator for one more split; asynchronous, and a no-op while a request is
  /// outstanding. The answer arrives through pollSplits.
  virtual void requestSplit() = 0;
  /// Moves the splits received so far into *splits; returns true once the enumerator said no
  /// split will come any more (the reader then ends its input).
  virtual bool pollSplits(std::vector<std::string>* splits) = 0;
  /// True once a bounded source's enumerator said it assigned every split: no split will come
  /// to this reader any more, but it keeps running until every reader is out of splits (then
  /// pollSplits says so). No request is needed meanwhile.
  virtual bool allSplitsAssigned() const = 0;
};

template <class T>
class Source {
 public:
  virtual ~Source() = default;
  virtual std::unique_ptr<SourceReader<T>> createReader() const = 0;
  /// A split-based source returns its enumerator (a new one per call); nullptr: every reader
  /// decides alone what it reads (no splits).
  virtual std::unique_ptr<SplitEnumerator> createEnumerator() const { return nullptr; }
};

}  // namespace flink
