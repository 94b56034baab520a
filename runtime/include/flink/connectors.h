// File connectors: a line-oriented file source (plain or gzip) with a parse function, and a
// row-format file sink writing part files. Follows the shape of Flink's FileSource /
// FileSink (https://nightlies.apache.org/flink/flink-docs-stable/docs/connectors/datastream/filesystem/).
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>

#include "flink/datastream.h"

namespace flink {

/// Parses one line into `out`. Returns false and sets *error for a malformed line.
template <class T>
using LineFormat = std::function<bool(std::string_view line, T& out, std::string* error)>;

namespace detail {

/// Reads a file (gzip or plain, detected by content) line by line. Subtask i of p owns the
/// data lines whose number n (1-based, after skipped header lines) has n % p == i, so every
/// subtask reads in file order. Not thread-safe.
class LineFileReader {
 public:
  LineFileReader(std::string path, int skipLines) : path_(std::move(path)), skipLines_(skipLines) {}
  ~LineFileReader();
  /// Fails with an error naming the path when the file cannot be opened.
  Status open(RuntimeContext& ctx);
  /// Next owned line; false at end of file. *lineNumber is 1-based over the whole file.
  bool next(std::string_view* line, uint64_t* lineNumber);
  const std::string& path() const { return path_; }
  /// Reports a malformed line: counted in numRecordsDropped, the first few logged.
  void reportMalformed(uint64_t lineNumber, const std::string& error);
  /// Position: entries (parallelism, subtask, last data line read) saying "data lines n <= last
  /// with n % parallelism == subtask are done", this subtask's and those it restored, so that
  /// a restore at any parallelism skips exactly the lines already read.
  void snapshotState(DataOutputView& out) const;
  Status restoreState(const std::vector<Buffer>& states);

 private:
  struct Done {
    uint64_t parallelism, subtask, lastLine;
    bool operator<(const Done& o) const {
      return std::tie(parallelism, subtask, lastLine) < std::tie(o.parallelism, o.subtask, o.lastLine);
    }
  };
  bool done(uint64_t dataLine) const;
  bool fill();
  std::vector<Done> restored_;
  uint64_t lastDataLine_ = 0;
  std::string path_;
  int skipLines_;
  void* gz_ = nullptr;  // gzFile
  RuntimeContext* ctx_ = nullptr;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  uint64_t lineNo_ = 0;
  uint64_t malformed_ = 0;
};

template <class T>
class LineSourceReader final : public SourceReader<T> {
 public:
  LineSourceReader(std::string path, int skipLines, LineFormat<T> format, int64_t recordsPerSecond)
      : reader_(std::move(path), skipLines), format_(std::move(format)), rate_(recordsPerSecond) {}
  Status open(RuntimeContext& ctx) override {
    started_ = std::chrono::steady_clock::now();
    return reader_.open(ctx);
  }
  void snapshotState(DataOutputView& out) override { reader_.snapshotState(out); }
  Status restoreState(const std::vector<Buffer>& states) override { return reader_.restoreState(states); }
  InputStatus pollNext(ReaderOutput<T>& out, int maxRecords) override {
    std::string_view line;
    uint64_t lineNo = 0;
    std::string error;
    if (rate_ > 0) {
      auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
      auto allowed = static_cast<int64_t>(elapsed * static_cast<double>(rate_)) - emitted_;
      if (allowed <= 0) return InputStatus::kNothingAvailable;
      maxRecords = static_cast<int>(std::min<int64_t>(maxRecords, allowed));
      emitted_ += maxRecords;
    }
    for (int i = 0; i < maxRecords; ++i) {
      if (!reader_.next(&line, &lineNo)) return InputStatus::kEndOfInput;
      T value{};
      if (format_(line, value, &error)) {
        out.collect(std::move(value));
      } else {
        reader_.reportMalformed(lineNo, error);
      }
    }
    return InputStatus::kMoreAvailable;
  }

 private:
  LineFileReader reader_;
  LineFormat<T> format_;
  int64_t rate_;
  int64_t emitted_ = 0;
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

/// A bounded source of the lines of one file, each parsed by a LineFormat; malformed lines
/// are counted (numRecordsDropped), logged with file and line number, and skipped.
template <class T>
class FileSource final : public Source<T> {
 public:
  /// recordsPerSecond > 0 throttles each subtask (lines read per second), e.g. for tests.
  static std::shared_ptr<const FileSource<T>> forLines(std::string path, LineFormat<T> format, int skipHeaderLines = 0,
                                                       int64_t recordsPerSecond = 0) {
    return std::make_shared<FileSource<T>>(std::move(path), std::move(format), skipHeaderLines, recordsPerSecond);
  }
  FileSource(std::string path, LineFormat<T> format, int skip, int64_t recordsPerSecond)
      : path_(std::move(path)), format_(std::move(format)), skip_(skip), rate_(recordsPerSecond) {}
  std::unique_ptr<SourceReader<T>> createReader() const override {
    return std::make_unique<detail::LineSourceReader<T>>(path_, skip_, format_, rate_);
  }

 private:
  std::string path_;
  LineFormat<T> format_;
  int skip_;
  int64_t rate_;
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
