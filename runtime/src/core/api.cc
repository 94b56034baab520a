// Non-template parts of the DataStream API, connectors and job registry.
#include <dlfcn.h>
#include <zlib.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "checkpoint/storage.h"
#include "core/log.h"
#include "flink/connectors.h"
#include "flink/job.h"

namespace flink {

std::vector<std::pair<std::string, double>> TaskMetrics::snapshot() const {
  auto v = [](const std::atomic<uint64_t>& c) { return static_cast<double>(c.load(std::memory_order_relaxed)); };
  return {{"numRecordsIn", v(numRecordsIn)},
          {"numRecordsOut", v(numRecordsOut)},
          {"numRecordsDropped", v(numRecordsDropped)},
          {"numLateRecordsDropped", v(numLateRecordsDropped)},
          {"numFiredWindows", v(numFiredWindows)},
          {"numBytesIn", v(numBytesIn)},
          {"numBytesOut", v(numBytesOut)},
          {"sourceBytesRead", v(sourceBytesRead)},
          {"sourceBytesTotal", v(sourceBytesTotal)},
          {"idleTimeMs", v(idleTimeMs)},
          {"backPressuredTimeMs", v(backPressuredTimeMs)},
          {"currentInputWatermark", static_cast<double>(currentInputWatermark.load(std::memory_order_relaxed))}};
}

// ---- NetworkInputBase ---------------------------------------------------------------------

NetworkInputBase::NetworkInputBase(int numChannels, TaskMetrics* metrics)
    : metrics_(metrics), channelWatermark_(numChannels, kMinWatermark), channelFinished_(numChannels, false) {}

NetworkInputBase::Progress NetworkInputBase::process(int channel, const uint8_t* data, size_t size, size_t offset) {
  TaskMetrics::inc(metrics_->numBytesIn, size - offset);
  DataInputView in(data + offset, size - offset);
  while (!in.atEnd()) {
    uint8_t tag = in.readPod<uint8_t>();
    if (tag == kTagRecord) {
      int64_t ts = in.readPod<int64_t>();
      emitRecord(channel, in, ts);
    } else if (tag == kTagBarrier) {
      Progress p;
      p.kind = Progress::kBarrier;
      p.checkpointId = in.readPod<int64_t>();
      p.offset = size - in.remaining();
      return p;
    } else if (tag == kTagWatermark || tag == kTagEndOfPartition) {
      if (tag == kTagWatermark) {
        channelWatermark_[channel] = std::max(channelWatermark_[channel], in.readPod<int64_t>());
      } else if (!channelFinished_[channel]) {
        channelFinished_[channel] = true;
        ++finishedChannels_;
      }
      // The input watermark is the minimum over channels still running; once every channel
      // ended, the last watermarks they sent are final.
      int64_t minWm = kMaxWatermark;
      bool any = false;
      for (size_t c = 0; c < channelWatermark_.size(); ++c) {
        if (channelFinished_[c]) continue;
        any = true;
        minWm = std::min(minWm, channelWatermark_[c]);
      }
      if (!any) minWm = *std::min_element(channelWatermark_.begin(), channelWatermark_.end());
      if (minWm > currentWatermark_) {
        currentWatermark_ = minWm;
        metrics_->currentInputWatermark.store(minWm, std::memory_order_relaxed);
        emitWatermark(minWm);
      }
      if (finished()) endInput();
    } else {
      throw SerializationError("unknown element tag " + std::to_string(tag) + " in network buffer");
    }
  }
  return Progress{};
}

bool NetworkInputBase::processBuffer(int channel, const uint8_t* data, size_t size) {
  size_t offset = 0;
  for (;;) {
    Progress p = process(channel, data, size, offset);
    if (p.kind == Progress::kConsumed) break;
    offset = p.offset;
  }
  return finished();
}

// ---- Environment and registry ---------------------------------------------------------------

void StreamExecutionEnvironment::execute(const std::string& jobName) {
  if (executed_) throw std::logic_error("execute() called twice");
  if (graph_.nodes.empty()) throw std::logic_error("execute() called on an empty pipeline: add a source and a sink");
  graph_.jobName = jobName;
  executed_ = true;
}

namespace {
std::mutex& registryMutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, JobMainFn>& registry() {
  static std::map<std::string, JobMainFn> r;
  return r;
}

}  // namespace

bool JobRegistry::add(const std::string& entryClass, JobMainFn main) {
  std::lock_guard<std::mutex> lock(registryMutex());
  registry()[entryClass] = main;
  return true;
}

JobMainFn JobRegistry::find(const std::string& entryClass) {
  std::lock_guard<std::mutex> lock(registryMutex());
  auto it = registry().find(entryClass);
  return it == registry().end() ? nullptr : it->second;
}

std::vector<std::string> JobRegistry::names() {
  std::lock_guard<std::mutex> lock(registryMutex());
  std::vector<std::string> out;
  for (const auto& [name, fn] : registry()) out.push_back(name);
  return out;
}

Result<std::shared_ptr<StreamExecutionEnvironment>> buildJob(const JobSpec& spec, const Configuration& config) {
  const std::string& uri = spec.jarURI;
  if (uri.size() > 3 && uri.compare(uri.size() - 3, 3, ".so") == 0) {
    std::string path = checkpoint::pathOf(uri);
    static std::mutex dlMutex;
    std::lock_guard<std::mutex> lock(dlMutex);
    if (!dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
      return Status::Error("job.jarURI '" + uri + "': cannot load shared library: " + dlerror());
    }
  }
  JobMainFn main = JobRegistry::find(spec.entryClass);
  if (!main) {
    std::string known;
    for (const auto& n : JobRegistry::names()) known += (known.empty() ? "" : ", ") + n;
    return Status::Error("job.entryClass '" + spec.entryClass + "' is not registered by job.jarURI '" + uri +
                         "' (known entry classes: " + known + ")");
  }
  auto env = std::make_shared<StreamExecutionEnvironment>(config);
  auto parallelism = config.getInt(options::kParallelismDefault, 1);
  if (!parallelism.ok()) return parallelism.status();
  env->setParallelism(static_cast<int>(*parallelism));
  try {
    main(*env, spec.args);
  } catch (const std::exception& e) {
    return Status::Error("job " + spec.entryClass + " failed to build its pipeline: " + e.what());
  }
  if (!env->executed()) return Status::Error("job " + spec.entryClass + " did not call env.execute()");
  return env;
}

// ---- File connectors ------------------------------------------------------------------------

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
