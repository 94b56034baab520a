// The file connectors (flink/connectors.h): the line file source and the part file sink.
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <set>

#include "checkpoint/storage.h"
#include "flink/common/log.h"
#include "flink/connectors.h"

namespace flink {

namespace detail {

LineFileReader::~LineFileReader() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

Status LineFileReader::open(RuntimeContext& ctx) {
  ctx_ = &ctx;
  std::error_code ec;
  auto size = std::filesystem::file_size(path_, ec);
  if (ec) return Status::Error("input file '" + path_ + "' cannot be read: " + ec.message());
  gz_ = gzopen(path_.c_str(), "rb");
  if (!gz_) return Status::Error("input file '" + path_ + "' cannot be opened");
  gzbuffer(static_cast<gzFile>(gz_), 256 * 1024);
  ctx.metrics->sourceBytesTotal.store(size, std::memory_order_relaxed);
  return Status::Ok();
}

bool LineFileReader::fill() {
  if (eof_) return false;
  buf_.erase(0, pos_);
  pos_ = 0;
  size_t old = buf_.size();
  constexpr size_t kChunk = 1 << 20;
  buf_.resize(old + kChunk);
  int n = gzread(static_cast<gzFile>(gz_), buf_.data() + old, kChunk);
  if (n < 0) {
    int err = 0;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &err);
    throw TaskFailure("error reading input file '" + path_ + "': " + msg);
  }
  buf_.resize(old + static_cast<size_t>(n));
  if (n == 0) eof_ = true;
  auto off = gzoffset(static_cast<gzFile>(gz_));
  if (off >= 0) ctx_->metrics->sourceBytesRead.store(static_cast<uint64_t>(off), std::memory_order_relaxed);
  return n > 0;
}

bool LineFileReader::next(std::string_view* line, uint64_t* lineNumber) {
  const auto p = static_cast<uint64_t>(ctx_->parallelism);
  const auto me = static_cast<uint64_t>(ctx_->subtaskIndex);
  for (;;) {
    size_t nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) {
      if (fill()) continue;
      if (pos_ >= buf_.size()) {
        if (eof_) ctx_->metrics->sourceBytesRead.store(ctx_->metrics->sourceBytesTotal.load());
        return false;
      }
      nl = buf_.size();  // last line without newline
    }
    std::string_view l(buf_.data() + pos_, nl - pos_);
    pos_ = nl < buf_.size() ? nl + 1 : nl;
    ++lineNo_;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (lineNo_ <= static_cast<uint64_t>(skipLines_)) continue;
    uint64_t dataLine = lineNo_ - static_cast<uint64_t>(skipLines_);
    if (dataLine % p != me) continue;
    lastDataLine_ = dataLine;
    if (l.empty() || done(dataLine)) continue;
    *line = l;
    *lineNumber = lineNo_;
    return true;
  }
}

bool LineFileReader::done(uint64_t dataLine) const {
  for (const Done& d : restored_) {
    if (dataLine % d.parallelism == d.subtask && dataLine <= d.lastLine) return true;
  }
  return false;
}

void LineFileReader::snapshotState(DataOutputView& out) const {
  std::vector<Done> all = restored_;
  all.push_back({static_cast<uint64_t>(ctx_->parallelism), static_cast<uint64_t>(ctx_->subtaskIndex), lastDataLine_});
  out.writePod(static_cast<uint32_t>(all.size()));
  for (const Done& d : all) {
    out.writePod(d.parallelism);
    out.writePod(d.subtask);
    out.writePod(d.lastLine);
  }
}

Status LineFileReader::restoreState(const std::vector<Buffer>& states) {
  std::set<Done> all;
  try {
    for (const Buffer& b : states) {
      DataInputView in(b.data(), b.size());
      auto n = in.readPod<uint32_t>();
      for (uint32_t i = 0; i < n; ++i) {
        Done d{in.readPod<uint64_t>(), in.readPod<uint64_t>(), in.readPod<uint64_t>()};
        if (d.parallelism == 0 || d.subtask >= d.parallelism) return Status::Error("corrupt source position");
        all.insert(d);
      }
    }
  } catch (const SerializationError& e) {
    return Status::Error(std::string("corrupt source position: ") + e.what());
  }
  restored_.assign(all.begin(), all.end());
  return Status::Ok();
}

void LineFileReader::reportMalformed(uint64_t lineNumber, const std::string& error) {
  TaskMetrics::inc(ctx_->metrics->numRecordsDropped);
  if (++malformed_ <= 10) {
    log::warn("malformed record skipped: {}:{}: {}", path_, lineNumber, error);
  } else if (malformed_ == 11) {
    log::warn("more malformed records in {}; further ones are counted (numRecordsDropped) but not logged", path_);
  }
}

PartFileWriter::~PartFileWriter() {
  if (file_) std::fclose(file_);
}

Status PartFileWriter::open(RuntimeContext& ctx) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::Error("output directory '" + dir_ + "' cannot be created: " + ec.message());
  // Unique per job and attempt (as the UUID in Flink's part-<uuid>-<subtask>-<n>), so runs
  // restored from a savepoint never overwrite earlier output.
  prefix_ = "part-" + ctx.jobId.substr(0, 8) + std::to_string(ctx.attemptNumber) + "-" +
            std::to_string(ctx.subtaskIndex) + "-";
  return Status::Ok();
}

void PartFileWriter::write(std::string_view row) {
  if (!file_) {
    inProgress_ = dir_ + "/." + prefix_ + std::to_string(counter_) + ".inprogress";
    file_ = std::fopen(inProgress_.c_str(), "wb");
    if (!file_) throw TaskFailure("cannot create part file '" + inProgress_ + "': " + std::strerror(errno));
    std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
  }
  if (std::fwrite(row.data(), 1, row.size(), file_) != row.size() || std::fputc('\n', file_) == EOF) {
    throw TaskFailure("cannot write part file '" + inProgress_ + "': " + std::strerror(errno));
  }
}

void PartFileWriter::prepareCommit(int64_t checkpointId, std::vector<std::string>* committables) {
  if (!file_) return;
  // The file is made durable (fsync) off the task thread, before the checkpoint is
  // acknowledged (see TaskExecutor's snapshot writer), so the pipeline does not wait for the disk.
  bool ok = std::fflush(file_) == 0;
  ok = std::fclose(file_) == 0 && ok;
  file_ = nullptr;
  if (!ok) throw TaskFailure("cannot write part file '" + inProgress_ + "': " + std::strerror(errno));
  std::string pending = dir_ + "/." + prefix_ + std::to_string(counter_++) + "-c" +
                        (checkpointId == kFinalCheckpointId ? std::string("final") : std::to_string(checkpointId)) +
                        ".pending";
  if (std::rename(inProgress_.c_str(), pending.c_str()) != 0) {
    throw TaskFailure("cannot rename part file '" + inProgress_ + "': " + std::strerror(errno));
  }
  committables->push_back(pending);
}

Status commitPartFiles(const std::vector<std::string>& pending) {
  namespace fs = std::filesystem;
  for (const auto& p : pending) {
    fs::path path(p);
    std::string name = path.filename().string();
    const std::string suffix = ".pending";
    if (name.size() < suffix.size() + 2 || name[0] != '.' || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      return Status::Error("not a pending part file: '" + p + "'");
    }
    fs::path target = path.parent_path() / name.substr(1, name.size() - 1 - suffix.size());
    std::error_code ec;
    fs::rename(path, target, ec);
    if (!ec) continue;
    std::error_code ec2;
    if (fs::exists(target, ec2)) continue;  // committed before, or by another subtask just now
    if (ec == std::errc::no_such_file_or_directory) {
      return Status::Error("pending part file '" + p +
                           "' is missing and was not committed (the sink's directory must be storage that every "
                           "TaskManager sees, for recovery)");
    }
    return Status::Error("cannot commit part file '" + target.string() + "': " + ec.message());
  }
  return Status::Ok();
}

Status initializePartFileDirectory(const std::string& dir, const SinkInitContext& ctx) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Error("output directory '" + dir + "' cannot be created: " + ec.message());
  const std::string job = "part-" + ctx.jobId.substr(0, 8);
  const std::string current = job + std::to_string(ctx.attemptNumber) + "-";
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    bool hidden = name.rfind(".part-", 0) == 0;
    std::string base = hidden ? name.substr(1) : name;
    if (base.rfind("part-", 0) != 0 || base.rfind(current, 0) == 0) continue;
    bool remove = !ctx.restoredCheckpointId || hidden;
    if (!remove && base.rfind(job, 0) == 0) {
      // Committed by this job for checkpoint c (`-c<c>` or `-cfinal`): kept only if covered.
      auto c = base.rfind("-c");
      if (c == std::string::npos) continue;
      std::string id = base.substr(c + 2);
      remove = id == "final";
      if (!remove && !id.empty() && id.find_first_not_of("0123456789") == std::string::npos) {
        remove = std::stoll(id) > *ctx.restoredCheckpointId;
      }
    }
    std::error_code rec;
    if (remove) fs::remove(entry.path(), rec);  // a file another subtask removed first is fine
    if (rec) return Status::Error("output directory '" + dir + "' cannot be cleaned: '" + name + "': " + rec.message());
  }
  if (ec) return Status::Error("output directory '" + dir + "' cannot be read: " + ec.message());
  return Status::Ok();
}

}  // namespace detail

}  // namespace flink
