// Sources of the DataStream API, in the shape of Flink's FLIP-27 Source: a Source creates one
// SourceReader per subtask; the reader polls records into a ReaderOutput and checkpoints its
// position as operator state. Readers run on their task's thread.
#pragma once

#include <memory>
#include <vector>

#include "flink/operators/stream_operator.h"

namespace flink {

template <class T>
class ReaderOutput {
 public:
  virtual ~ReaderOutput() = default;
  virtual void collect(T&& value, int64_t timestamp = kNoTimestamp) = 0;
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

template <class T>
class Source {
 public:
  virtual ~Source() = default;
  virtual std::unique_ptr<SourceReader<T>> createReader() const = 0;
};

}  // namespace flink
