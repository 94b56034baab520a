// The file connectors (flink/connectors.h): the split-based line file source (FLIP-27: splits,
// their enumerator and reader) and the part file sink.
#include <glob.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "checkpoint/storage.h"
#include "flink/common/log.h"
#include "flink/connectors.h"

namespace flink {

namespace detail {

// --- splits -----------------------------------------------------------------

namespace {

namespace fs = std::filesystem;

constexpr uint32_t kReaderStateMagic = 0x53504c31;  // "SPL1"

bool isGlob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

bool hiddenName(const std::string& name) { return !name.empty() && (name[0] == '.' || name[0] == '_'); }

}  // namespace

std::string FileSplit::id() const { return path + ":" + std::to_string(start); }

std::string FileSplit::serialize() const {
  return nlohmann::json{{"path", path}, {"start", start}, {"end", end}, {"offset", offset}, {"line", line}}.dump();
}

Result<FileSplit> FileSplit::parse(const std::string& text) {
  try {
    auto j = nlohmann::json::parse(text);
    FileSplit s;
    s.path = j.at("path").get<std::string>();
    s.start = j.at("start").get<uint64_t>();
    s.end = j.at("end").get<uint64_t>();
    s.offset = j.at("offset").get<uint64_t>();
    s.line = j.value("line", uint64_t{0});
    if (s.path.empty() || s.offset < s.start || s.end < s.start) throw std::invalid_argument("inconsistent fields");
    return s;
  } catch (const std::exception& e) {
    return Status::Error("corrupt file split '" + text.substr(0, 200) + "': " + e.what());
  }
}

Result<std::vector<std::string>> listInputFiles(const std::string& input) {
  std::vector<std::string> files;
  std::error_code ec;
  if (isGlob(input) && !fs::exists(input, ec)) {
    glob_t g{};
    int rc = ::glob(input.c_str(), GLOB_ERR, nullptr, &g);
    if (rc == GLOB_NOMATCH) {
      globfree(&g);
      return Status::Error("input '" + input + "' cannot be read: the glob matches no file");
    }
    if (rc != 0) {
      globfree(&g);
      return Status::Error("input '" + input + "' cannot be read: glob failed (" + std::to_string(rc) + ")");
    }
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      if (fs::is_regular_file(g.gl_pathv[i], ec)) files.emplace_back(g.gl_pathv[i]);
    }
    globfree(&g);
    if (files.empty()) return Status::Error("input '" + input + "' cannot be read: the glob matches no regular file");
  } else {
    auto st = fs::status(input, ec);
    if (ec) return Status::Error("input file '" + input + "' cannot be read: " + ec.message());
    if (fs::is_directory(st)) {
      fs::recursive_directory_iterator it(input, ec), endIt;
      if (ec) return Status::Error("input directory '" + input + "' cannot be read: " + ec.message());
      for (; it != endIt; it.increment(ec)) {
        if (ec) return Status::Error("input directory '" + input + "' cannot be read: " + ec.message());
        if (hiddenName(it->path().filename().string())) {
          if (it->is_directory(ec)) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file(ec)) files.push_back(it->path().string());
      }
    } else if (fs::is_regular_file(st)) {
      files.push_back(input);
    } else {
      return Status::Error("input '" + input + "' is neither a file nor a directory");
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

Result<std::vector<FileSplit>> computeFileSplits(const std::vector<std::string>& files, uint64_t splitSize) {
  if (splitSize == 0) return Status::Error("split size must be positive");
  std::vector<FileSplit> splits;
  for (const auto& path : files) {
    std::error_code ec;
    uint64_t size = fs::file_size(path, ec);
    if (ec) return Status::Error("input file '" + path + "' cannot be read: " + ec.message());
    if (size == 0) continue;
    unsigned char magic[2] = {0, 0};
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return Status::Error("input file '" + path + "' cannot be opened: " + std::strerror(errno));
    size_t n = std::fread(magic, 1, 2, f);
    std::fclose(f);
    bool gzip = n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (gzip || size <= splitSize) {
      splits.push_back(FileSplit{path, 0, FileSplit::kToEnd, 0, 1});
      continue;
    }
    for (uint64_t a = 0; a < size; a += splitSize) {
      splits.push_back(FileSplit{path, a, std::min(size, a + splitSize), a, a == 0 ? 1u : 0u});
    }
  }
  return splits;
}

Status FileSplitEnumerator::start() {
  unassigned_.clear();
  seen_.clear();
  return discover();
}

Status FileSplitEnumerator::discover() {
  auto files = listInputFiles(input_);
  if (!files.ok()) return files.status();
  std::vector<std::string> fresh;
  for (const auto& f : *files) {
    if (!seen_.count(f)) fresh.push_back(f);
  }
  auto splits = computeFileSplits(fresh, splitSize_);
  if (!splits.ok()) return splits.status();
  for (const auto& f : fresh) seen_.insert(f);
  for (const auto& s : *splits) unassigned_.push_back(s.serialize());
  if (!fresh.empty()) log::info("File source {}: {} new file(s), {} split(s)", input_, fresh.size(), splits->size());
  return Status::Ok();
}

std::string FileSplitEnumerator::snapshotState() const {
  return nlohmann::json{{"version", 1}, {"input", input_}, {"unassigned", unassigned_}, {"seen", seen_}}.dump();
}

Status FileSplitEnumerator::restoreState(const std::string& state) {
  try {
    auto j = nlohmann::json::parse(state);
    if (j.at("version").get<int>() != 1) return Status::Error("file split enumerator state: unknown version");
    std::vector<std::string> unassigned = j.at("unassigned").get<std::vector<std::string>>();
    for (const auto& s : unassigned) {
      auto parsed = FileSplit::parse(s);
      if (!parsed.ok()) return parsed.status();
    }
    unassigned_ = std::move(unassigned);
    auto seen = j.at("seen").get<std::vector<std::string>>();
    seen_ = std::set<std::string>(seen.begin(), seen.end());
    std::string input = j.value("input", input_);
    if (input != input_) {
      log::warn("File source: the restored splits are of input '{}', the job now reads '{}': the restored splits are "
                "finished first, new files of '{}' are picked up only when monitoring continuously",
                input, input_, input_);
    }
    return Status::Ok();
  } catch (const std::exception& e) {
    return Status::Error(std::string("corrupt file split enumerator state: ") + e.what());
  }
}

bool FileSplitEnumerator::nextSplit(int /*subtask*/, std::string* split) {
  if (unassigned_.empty()) return false;
  *split = std::move(unassigned_.front());
  unassigned_.erase(unassigned_.begin());
  return true;
}

void FileSplitEnumerator::addSplitsBack(const std::vector<std::string>& splits) {
  unassigned_.insert(unassigned_.begin(), splits.begin(), splits.end());
}

// --- the reader --------------------------------------------------------------

SplitLineReader::~SplitLineReader() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

void SplitLineReader::credit(uint64_t bytes) {
  bytes = std::min(bytes, share_ - credited_);
  credited_ += bytes;
  if (ctx_) TaskMetrics::inc(ctx_->metrics->sourceBytesRead, bytes);
}

void SplitLineReader::closeSplit() {
  if (current_) credit(share_);  // done: the rest of its share
  if (gz_) gzclose(static_cast<gzFile>(gz_));
  gz_ = nullptr;
  current_.reset();
  buf_.clear();
  pos_ = 0;
}

Status SplitLineReader::open(RuntimeContext& ctx) {
  ctx_ = &ctx;
  // Restored splits: every p-th of all readers' (sorted, so every subtask cuts the same list).
  for (size_t i = 0; i < restored_.size(); ++i) {
    if (static_cast<int>(i % static_cast<size_t>(ctx.parallelism)) == ctx.subtaskIndex) queue_.push_back(restored_[i]);
  }
  restored_.clear();
  for (const FileSplit& s : queue_) {
    std::error_code ec;
    if (!fs::exists(s.path, ec)) return Status::Error("input file '" + s.path + "' of a restored split cannot be read: " +
                                                      (ec ? ec.message() : std::string("it does not exist")));
  }
  if (!ctx.splits) {
    // No enumerator (a task run on its own): every p-th split of the input.
    auto files = listInputFiles(input_);
    if (!files.ok()) return files.status();
    auto splits = computeFileSplits(*files, splitSize_);
    if (!splits.ok()) return splits.status();
    for (size_t i = 0; i < splits->size(); ++i) {
      if (static_cast<int>(i % static_cast<size_t>(ctx.parallelism)) == ctx.subtaskIndex) queue_.push_back((*splits)[i]);
    }
    noMoreSplits_ = true;
  }
  return Status::Ok();
}

bool SplitLineReader::openSplit(const FileSplit& split) {
  gz_ = gzopen(split.path.c_str(), "rb");
  if (!gz_) throw TaskFailure("input file '" + split.path + "' cannot be opened: " + std::strerror(errno));
  gzbuffer(static_cast<gzFile>(gz_), 256 * 1024);
  current_ = split;
  buf_.clear();
  pos_ = 0;
  eof_ = false;
  headerLeft_ = split.offset == 0 ? skipLines_ : 0;
  skipPartial_ = split.offset > 0;
  bufBase_ = skipPartial_ ? split.offset - 1 : 0;
  if (bufBase_ > 0 && gzseek(static_cast<gzFile>(gz_), static_cast<z_off_t>(bufBase_), SEEK_SET) < 0) {
    throw TaskFailure("input file '" + split.path + "': cannot seek to byte " + std::to_string(bufBase_));
  }
  std::error_code ec;
  uint64_t size = fs::file_size(split.path, ec);
  // Progress (sourceBytesRead of sourceBytesTotal): the split's share of the file's bytes on
  // disk (compressed for gzip), credited as it is read.
  share_ = ec ? 0 : split.end == FileSplit::kToEnd ? size - std::min(size, split.offset) : split.end - split.offset;
  credited_ = 0;
  auto off = gzoffset(static_cast<gzFile>(gz_));
  lastGzOffset_ = off > 0 ? static_cast<uint64_t>(off) : 0;
  TaskMetrics::inc(ctx_->metrics->sourceBytesTotal, share_);
  return true;
}

bool SplitLineReader::fill() {
  if (eof_) return false;
  bufBase_ += pos_;
  buf_.erase(0, pos_);
  pos_ = 0;
  size_t old = buf_.size();
  constexpr size_t kChunk = 1 << 20;
  buf_.resize(old + kChunk);
  int n = gzread(static_cast<gzFile>(gz_), buf_.data() + old, kChunk);
  if (n < 0) {
    int err = 0;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &err);
    throw TaskFailure("error reading input file '" + current_->path + "': " + msg);
  }
  buf_.resize(old + static_cast<size_t>(n));
  if (n == 0) eof_ = true;
  auto off = gzoffset(static_cast<gzFile>(gz_));
  if (off >= 0 && static_cast<uint64_t>(off) > lastGzOffset_) {
    credit(static_cast<uint64_t>(off) - lastGzOffset_);
    lastGzOffset_ = static_cast<uint64_t>(off);
  }
  return n > 0;
}

void SplitLineReader::takeAssignedSplits() {
  if (!ctx_ || !ctx_->splits) return;
  std::vector<std::string> got;
  noMoreSplits_ = ctx_->splits->pollSplits(&got) || noMoreSplits_;
  for (const auto& text : got) {
    auto split = FileSplit::parse(text);
    if (!split.ok()) throw TaskFailure(split.status().message());
    queue_.push_back(std::move(*split));
  }
}

SplitLineReader::Next SplitLineReader::next(std::string_view* line, uint64_t* lineNumber, uint64_t* byteOffset) {
  for (;;) {
    if (!current_) {
      takeAssignedSplits();
      if (queue_.empty()) {
        if (noMoreSplits_) return Next::kEnd;
        if (ctx_->splits->allSplitsAssigned()) return Next::kExhausted;
        ctx_->splits->requestSplit();
        return Next::kWaiting;
      }
      FileSplit split = std::move(queue_.front());
      queue_.pop_front();
      openSplit(split);
    }
    FileSplit& split = *current_;
    size_t nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) {
      if (fill()) continue;
      if (pos_ >= buf_.size() || skipPartial_) {  // the split ended (no line starts in the rest)
        closeSplit();
        continue;
      }
      nl = buf_.size();  // the last line, without a newline
    }
    uint64_t lineStart = bufBase_ + pos_;
    pos_ = nl < buf_.size() ? nl + 1 : nl;
    if (skipPartial_) {  // the rest of a line that started before the split's offset
      skipPartial_ = false;
      split.offset = bufBase_ + pos_;
      continue;
    }
    if (lineStart >= split.end) {
      closeSplit();
      continue;
    }
    std::string_view l(buf_.data() + (lineStart - bufBase_), nl - (lineStart - bufBase_));
    split.offset = bufBase_ + pos_;
    uint64_t number = split.line;
    if (split.line) ++split.line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (headerLeft_ > 0) {
      --headerLeft_;
      continue;
    }
    if (l.empty()) continue;
    *line = l;
    *lineNumber = number;
    *byteOffset = lineStart;
    return Next::kLine;
  }
}

void SplitLineReader::snapshotState(DataOutputView& out) {
  takeAssignedSplits();  // assigned before the checkpoint's trigger: this reader's
  std::vector<std::string> held;
  if (current_) held.push_back(current_->serialize());
  for (const FileSplit& s : queue_) held.push_back(s.serialize());
  out.writePod(kReaderStateMagic);
  out.writePod(static_cast<uint32_t>(held.size()));
  for (const auto& s : held) {
    out.writePod(static_cast<uint32_t>(s.size()));
    out.write(s.data(), s.size());
  }
}

Status SplitLineReader::restoreState(const std::vector<Buffer>& states) {
  std::vector<FileSplit> all;
  try {
    for (const Buffer& b : states) {
      if (b.empty()) continue;
      DataInputView in(b.data(), b.size());
      if (in.readPod<uint32_t>() != kReaderStateMagic) {
        return Status::Error("the file source's position in the checkpoint is not a split position (written by a "
                             "version before split-based file sources): start the job without it");
      }
      auto n = in.readPod<uint32_t>();
      for (uint32_t i = 0; i < n; ++i) {
        auto len = in.readPod<uint32_t>();
        std::string text(in.readBytes(len));
        auto split = FileSplit::parse(text);
        if (!split.ok()) return split.status();
        all.push_back(std::move(*split));
      }
    }
  } catch (const SerializationError& e) {
    return Status::Error(std::string("corrupt source position: ") + e.what());
  }
  std::sort(all.begin(), all.end());
  restored_ = std::move(all);
  return Status::Ok();
}

void SplitLineReader::reportMalformed(uint64_t lineNumber, uint64_t byteOffset, const std::string& error) {
  TaskMetrics::inc(ctx_->metrics->numRecordsDropped);
  const std::string& path = current_ ? current_->path : input_;
  if (++malformed_ <= 10) {
    if (lineNumber) {
      log::warn("malformed record skipped: {}:{}: {}", path, lineNumber, error);
    } else {
      log::warn("malformed record skipped: {} (line at byte {}): {}", path, byteOffset, error);
    }
  } else if (malformed_ == 11) {
    log::warn("more malformed records in {}; further ones are counted (numRecordsDropped) but not logged", input_);
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
