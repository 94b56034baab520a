// File connectors: a line-oriented file source (plain or gzip) with a parse function, and a
// row-format file sink writing part files. Follows the shape of Flink's FileSource /
// FileSink (https://nightlies.apache.org/flink/flink-docs-stable/docs/connectors/datastream/filesystem/).
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

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

 private:
  bool fill();
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
  LineSourceReader(std::string path, int skipLines, LineFormat<T> format)
      : reader_(std::move(path), skipLines), format_(std::move(format)) {}
  Status open(RuntimeContext& ctx) override { return reader_.open(ctx); }
  InputStatus pollNext(ReaderOutput<T>& out, int maxRecords) override {
    std::string_view line;
    uint64_t lineNo = 0;
    std::string error;
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
};

/// Writes rows to `<dir>/.part-<subtask>-0.inprogress`, renamed to `<dir>/part-<subtask>-0`
/// when the input ends, so readers never see a partial file.
class PartFileWriter {
 public:
  explicit PartFileWriter(std::string dir) : dir_(std::move(dir)) {}
  ~PartFileWriter();
  Status open(RuntimeContext& ctx);
  void write(std::string_view row);  // row without newline
  Status finish();

 private:
  std::string dir_;
  std::string inProgress_;
  std::string final_;
  FILE* file_ = nullptr;
};

/// Creates `dir` and removes part files of an earlier run (Flink's OVERWRITE write mode).
Status preparePartFileDirectory(const std::string& dir);

}  // namespace detail

/// A bounded source of the lines of one file, each parsed by a LineFormat; malformed lines
/// are counted (numRecordsDropped), logged with file and line number, and skipped.
template <class T>
class FileSource final : public Source<T> {
 public:
  static std::shared_ptr<const FileSource<T>> forLines(std::string path, LineFormat<T> format, int skipHeaderLines = 0) {
    return std::make_shared<FileSource<T>>(std::move(path), std::move(format), skipHeaderLines);
  }
  FileSource(std::string path, LineFormat<T> format, int skip)
      : path_(std::move(path)), format_(std::move(format)), skip_(skip) {}
  std::unique_ptr<SourceReader<T>> createReader() const override {
    return std::make_unique<detail::LineSourceReader<T>>(path_, skip_, format_);
  }

 private:
  std::string path_;
  LineFormat<T> format_;
  int skip_;
};

/// A sink writing one line per record (formatted by `encoder`) into part files in `dir`.
/// Existing part files in `dir` are removed when the job starts.
template <class T>
class FileSink final : public Sink<T> {
 public:
  using Encoder = std::function<void(const T& value, std::string* line)>;
  static std::shared_ptr<const FileSink<T>> forRowFormat(std::string dir, Encoder encoder) {
    return std::make_shared<FileSink<T>>(std::move(dir), std::move(encoder));
  }
  FileSink(std::string dir, Encoder encoder) : dir_(std::move(dir)), encoder_(std::move(encoder)) {}

  std::unique_ptr<SinkWriter<T>> createWriter() const override { return std::make_unique<Writer>(dir_, encoder_); }
  Status initializeOnMaster() const override { return detail::preparePartFileDirectory(dir_); }

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
    Status finish() override { return out_.finish(); }

   private:
    detail::PartFileWriter out_;
    Encoder encoder_;
    std::string line_;
  };
  std::string dir_;
  Encoder encoder_;
};

}  // namespace flink
