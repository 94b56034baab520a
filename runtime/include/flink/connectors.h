// File connectors: a split-based line-oriented file source (plain or gzip files, a directory or
// a glob of them) with a parse function, and a row-format file sink writing part files. Follows the shape of Flink's FileSource /
// FileSink (https://nightlies.apache.org/flink/flink-docs-stable/docs/connectors/datastream/filesystem/).
#pragma once

#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

#include "flink/datastream.h"

namespace flink {

/// Parses one line into `out`. Returns false and sets *error for a malformed line.
template <class T>
using LineFormat = std::function<bool(std::string_view line, T& out, std::string* error)>;

namespace detail {

/// A split of a line-oriented file source (Flink's FileSourceSplit): a whole file, or the byte
/// range [start, end) of a plain-text file. A reader of a range reads the lines that START in
/// it: it skips to the first line starting at or after `offset` (a line starts at 0 or right
/// after a '\n'), and reads lines starting before `end`, the last one past `end` if it crosses
/// it. So the ranges of a file, cut anywhere, give every line exactly once. A gzip file is one
/// split (offsets are then in its uncompressed bytes). The header lines of a file are skipped
/// by the reader of the split that reads from offset 0 only.
struct FileSplit {
  static constexpr uint64_t kToEnd = UINT64_MAX;
  std::string path;
  uint64_t start = 0;     // bytes
  uint64_t end = kToEnd;  // bytes, exclusive; kToEnd: to the end of the file
  /// Where reading resumes: `start`, or (after a checkpoint) the start of the next unread line.
  uint64_t offset = 0;
  /// 1-based number of the line at `offset` when known (the split starts at 0), else 0.
  uint64_t line = 0;

  /// Stable identity of the split (its path and start), for logs and ordering.
  std::string id() const;
  std::string serialize() const;
  /// Error (naming the text) when `text` is not a serialized split.
  static Result<FileSplit> parse(const std::string& text);
  bool operator<(const FileSplit& o) const { return std::tie(path, start) < std::tie(o.path, o.start); }
};

/// The files `input` names, sorted: a regular file; every file below a directory, recursively,
/// except hidden ones (names starting with '.' or '_', as Flink's default file filter); or the
/// files matching a glob (`*`, `?`, `[...]`; detected by those characters). Errors name the
/// path: it does not exist, cannot be read, or a glob matches nothing.
Result<std::vector<std::string>> listInputFiles(const std::string& input);

/// The splits of `files` (in order): an empty file has none; a gzip file (detected by its
/// magic bytes) is one split; a plain file is cut into byte ranges of `splitSize` bytes (> 0),
/// the last one shorter. Errors name a file that cannot be read.
Result<std::vector<FileSplit>> computeFileSplits(const std::vector<std::string>& files, uint64_t splitSize);

/// The split enumerator of FileSource: the splits of listInputFiles(input), assigned in order
/// to whichever reader asks first. With a discovery interval (monitorContinuously) it lists
/// `input` again every interval and adds the splits of files it has not seen before (a file
/// must appear complete, e.g. moved in; files that change later are not re-read), and never
/// says noMoreSplits. State: the unassigned splits and the files seen. JobMaster thread only.
class FileSplitEnumerator final : public SplitEnumerator {
 public:
  FileSplitEnumerator(std::string input, uint64_t splitSize, int64_t discoveryIntervalMs)
      : input_(std::move(input)), splitSize_(splitSize), intervalMs_(discoveryIntervalMs) {}
  Status start() override;
  Status restoreState(const std::string& state) override;
  std::string snapshotState() const override;
  bool nextSplit(int subtask, std::string* split) override;
  void addSplitsBack(const std::vector<std::string>& splits) override;
  bool noMoreSplits() const override { return intervalMs_ <= 0 && unassigned_.empty(); }
  int64_t discoveryIntervalMs() const override { return intervalMs_; }
  Status discover() override;
  size_t numUnassigned() const { return unassigned_.size(); }

 private:
  std::string input_;
  uint64_t splitSize_;
  int64_t intervalMs_;
  std::vector<std::string> unassigned_;  // serialized FileSplits, in assignment order
  std::set<std::string> seen_;           // files whose splits were created
};

/// Reads the lines of the splits assigned to one reader, one split at a time, in the order they
/// came. Splits come from the enumerator through ctx.splits; without one (a task run without a
/// JobMaster) the reader enumerates `input` itself and takes every p-th split. Its checkpointed
/// state is its current split (with the offset of the next unread line) and the splits it holds
/// but has not started; on restore every reader sees all readers' states (union list) and takes
/// every p-th of the splits in them (sorted), so a restore at another parallelism reads each
/// line once. Not thread-safe (task thread).
class SplitLineReader {
 public:
  enum class Next { kLine, kWaiting, kExhausted, kEnd };
  SplitLineReader(std::string input, int skipLines, uint64_t splitSize)
      : input_(std::move(input)), skipLines_(skipLines), splitSize_(splitSize) {}
  ~SplitLineReader();
  /// Fails with an error naming the path when a restored split or (without an enumerator) the
  /// input cannot be read.
  Status open(RuntimeContext& ctx);
  /// kLine: *line (valid until the next call) with its 1-based *lineNumber (0 when unknown) and
  /// *byteOffset; kWaiting: a split was requested and has not come; kExhausted: no split will
  /// come to this reader any more, but it must keep running (the other readers are not done);
  /// kEnd: no more splits, the input ends.
  /// Throws TaskFailure on an I/O error naming the file.
  Next next(std::string_view* line, uint64_t* lineNumber, uint64_t* byteOffset);
  /// Reports a malformed line: counted in numRecordsDropped, the first few logged with the file
  /// and the line number (or byte offset).
  void reportMalformed(uint64_t lineNumber, uint64_t byteOffset, const std::string& error);
  /// Writes the held splits, including those assigned but not yet started.
  void snapshotState(DataOutputView& out);
  Status restoreState(const std::vector<Buffer>& states);

 private:
  void takeAssignedSplits();
  void credit(uint64_t bytes);
  bool openSplit(const FileSplit& split);  // throws TaskFailure
  void closeSplit();
  bool fill();
  std::string input_;
  int skipLines_;
  uint64_t splitSize_;
  RuntimeContext* ctx_ = nullptr;
  std::vector<FileSplit> restored_;      // every reader's, until open() takes this one's share
  std::deque<FileSplit> queue_;          // assigned, not started
  std::optional<FileSplit> current_;
  bool noMoreSplits_ = false;
  void* gz_ = nullptr;  // gzFile
  std::string buf_;
  size_t pos_ = 0;
  uint64_t bufBase_ = 0;  // file offset of buf_[0]
  bool eof_ = false;
  bool skipPartial_ = false;  // skip to the first line start (reading from offset - 1)
  int headerLeft_ = 0;
  uint64_t lastGzOffset_ = 0;
  uint64_t share_ = 0, credited_ = 0;  // progress of the current split (bytes on disk)
  uint64_t malformed_ = 0;
};

template <class T>
class LineSourceReader final : public SourceReader<T> {
 public:
  LineSourceReader(std::string input, int skipLines, uint64_t splitSize, LineFormat<T> format, int64_t recordsPerSecond)
      : reader_(std::move(input), skipLines, splitSize), format_(std::move(format)), rate_(recordsPerSecond) {}
  Status open(RuntimeContext& ctx) override {
    started_ = std::chrono::steady_clock::now();
    return reader_.open(ctx);
  }
  void snapshotState(DataOutputView& out) override { reader_.snapshotState(out); }
  Status restoreState(const std::vector<Buffer>& states) override { return reader_.restoreState(states); }
  InputStatus pollNext(ReaderOutput<T>& out, int maxRecords) override {
    std::string_view line;
    uint64_t lineNo = 0, offset = 0;
    std::string error;
    if (rate_ > 0) {
      auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
      auto allowed = static_cast<int64_t>(elapsed * static_cast<double>(rate_)) - emitted_;
      if (allowed <= 0) return InputStatus::kNothingAvailable;
      maxRecords = static_cast<int>(std::min<int64_t>(maxRecords, allowed));
      emitted_ += maxRecords;
    }
    for (int i = 0; i < maxRecords; ++i) {
      switch (reader_.next(&line, &lineNo, &offset)) {
        case SplitLineReader::Next::kEnd: return InputStatus::kEndOfInput;
        case SplitLineReader::Next::kExhausted:
          // No record will come from here: let event time go on without this reader.
          if (!exhausted_) out.emitWatermark(kMaxWatermark);
          exhausted_ = true;
          if (rate_ > 0) emitted_ -= maxRecords - i;
          return InputStatus::kNothingAvailable;
        case SplitLineReader::Next::kWaiting:
          if (rate_ > 0) emitted_ -= maxRecords - i;
          return InputStatus::kNothingAvailable;
        case SplitLineReader::Next::kLine: break;
      }
      T value{};
      if (format_(line, value, &error)) {
        out.collect(std::move(value));
      } else {
        reader_.reportMalformed(lineNo, offset, error);
      }
    }
    return InputStatus::kMoreAvailable;
  }

 private:
  SplitLineReader reader_;
  LineFormat<T> format_;
  int64_t rate_;
  int64_t emitted_ = 0;
  bool exhausted_ = false;
  std::chrono::steady_clock::time_point started_;
};

/// Writes rows to in-progress part files `<dir>/.part-<job8><attempt>-<subtask>-<n>.inprogress`.
/// prepareCommit(checkpoint c) closes the current file and renames it to
/// `.part-<job8><attempt>-<subtask>-<n>-c<c>.pending`, which commitPartFiles() later renames to
/// the visible name without the dot and `.pending` (two-phase commit, as Flink's FileSink).
/// The checkpoint id in the name lets a restore from an older checkpoint remove output that
/// was committed for newer ones.
class PartFileWriter {
 public:
  explicit PartFileWriter(std::string dir) : dir_(std::move(dir)) {}
  ~PartFileWriter();
  Status open(RuntimeContext& ctx);
  void write(std::string_view row);  // row without newline
  void prepareCommit(int64_t checkpointId, std::vector<std::string>* committables);

 private:
  std::string dir_;
  std::string prefix_;
  std::string inProgress_;
  int counter_ = 0;
  FILE* file_ = nullptr;
};

/// Renames pending part files to their visible names. Idempotent and safe to run concurrently
/// on overlapping lists: a file already committed (by an earlier attempt or another subtask) is
/// skipped; a file that is neither pending nor committed is an error that names it.
Status commitPartFiles(const std::vector<std::string>& pending);

/// Creates `dir` and removes what the current attempt (ctx.jobId, ctx.attemptNumber) must not
/// see, leaving the current attempt's own files alone (every sink subtask runs this at once):
/// - fresh start: every part file, visible or not (Flink's OVERWRITE write mode);
/// - restored from checkpoint c (whose committables are already committed): every in-progress
///   and pending file of earlier attempts, and the files this job committed for checkpoints
///   after c (also `-cfinal`), whose records the restored run produces again.
Status initializePartFileDirectory(const std::string& dir, const SinkInitContext& ctx);

}  // namespace detail

/// A source of the lines of files, each parsed by a LineFormat; malformed lines are counted
/// (numRecordsDropped), logged with file and line number, and skipped. Split-based, as Flink's
/// FileSource (FLIP-27): the JobMaster's FileSplitEnumerator lists `input` (a file, a directory
/// or a glob), cuts it into splits (one per gzip file, byte ranges of splitSize for plain text)
/// and hands them to the readers on request, so each subtask reads only its share. Bounded by
/// default; monitorContinuously(interval) makes it unbounded, adding the files that appear.
/// Exactly-once across failover, restore and rescale (see SplitEnumerator). Immutable once
/// built (the builder methods return a new source); safe to share between threads.
template <class T>
class FileSource final : public Source<T> {
 public:
  static constexpr uint64_t kDefaultSplitSize = 8u << 20;  // bytes
  /// skipHeaderLines: lines skipped at the start of each file. recordsPerSecond > 0 throttles
  /// each subtask (lines read per second), e.g. for tests.
  static std::shared_ptr<const FileSource<T>> forLines(std::string input, LineFormat<T> format, int skipHeaderLines = 0,
                                                       int64_t recordsPerSecond = 0) {
    return std::make_shared<FileSource<T>>(std::move(input), std::move(format), skipHeaderLines, recordsPerSecond);
  }
  FileSource(std::string input, LineFormat<T> format, int skip, int64_t recordsPerSecond)
      : input_(std::move(input)), format_(std::move(format)), skip_(skip), rate_(recordsPerSecond) {}
  /// Unbounded: lists the input again every intervalMs (> 0) and reads the new files.
  std::shared_ptr<const FileSource<T>> monitorContinuously(int64_t intervalMs) const {
    auto copy = std::make_shared<FileSource<T>>(*this);
    copy->intervalMs_ = intervalMs;
    return copy;
  }
  /// Size in bytes (> 0) of the byte ranges plain-text files are cut into.
  std::shared_ptr<const FileSource<T>> withSplitSize(uint64_t bytes) const {
    auto copy = std::make_shared<FileSource<T>>(*this);
    copy->splitSize_ = bytes > 0 ? bytes : kDefaultSplitSize;
    return copy;
  }
  std::unique_ptr<SourceReader<T>> createReader() const override {
    return std::make_unique<detail::LineSourceReader<T>>(input_, skip_, splitSize_, format_, rate_);
  }
  std::unique_ptr<SplitEnumerator> createEnumerator() const override {
    return std::make_unique<detail::FileSplitEnumerator>(input_, splitSize_, intervalMs_);
  }

 private:
  std::string input_;
  LineFormat<T> format_;
  int skip_;
  int64_t rate_;
  int64_t intervalMs_ = 0;
  uint64_t splitSize_ = kDefaultSplitSize;
};

/// A sink writing one line per record (formatted by `encoder`) into part files in `dir`,
/// exactly once: files become visible only when the checkpoint covering them completes (or
/// the job finishes). Existing part files in `dir` are removed when the job starts fresh.
template <class T>
class FileSink final : public Sink<T> {
 public:
  using Encoder = std::function<void(const T& value, std::string* line)>;
  static std::shared_ptr<const FileSink<T>> forRowFormat(std::string dir, Encoder encoder) {
    return std::make_shared<FileSink<T>>(std::move(dir), std::move(encoder));
  }
  FileSink(std::string dir, Encoder encoder) : dir_(std::move(dir)), encoder_(std::move(encoder)) {}

  std::unique_ptr<SinkWriter<T>> createWriter() const override { return std::make_unique<Writer>(dir_, encoder_); }
  Status initializeOutput(const SinkInitContext& ctx) const override {
    return detail::initializePartFileDirectory(dir_, ctx);
  }
  Status commit(const std::vector<std::string>& committables) const override {
    return detail::commitPartFiles(committables);
  }

 private:
  class Writer final : public SinkWriter<T> {
   public:
    Writer(std::string dir, Encoder encoder) : out_(std::move(dir)), encoder_(std::move(encoder)) {}
    Status open(RuntimeContext& ctx) override { return out_.open(ctx); }
    void write(const T& value, int64_t) override {
      line_.clear();
      encoder_(value, &line_);
      out_.write(line_);
    }
    void prepareCommit(int64_t checkpointId, std::vector<std::string>* committables) override {
      out_.prepareCommit(checkpointId, committables);
    }

   private:
    detail::PartFileWriter out_;
    Encoder encoder_;
    std::string line_;
  };
  std::string dir_;
  Encoder encoder_;
};

}  // namespace flink
