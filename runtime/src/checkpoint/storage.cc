#include "checkpoint/storage.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "flink/common/log.h"

namespace flink::checkpoint {
namespace {

namespace fs = std::filesystem;
constexpr char kStateMagic[4] = {'F', 'C', 'S', '1'};
constexpr char kMetaMagic[4] = {'F', 'C', 'M', '1'};

uint32_t crc(const Buffer& b) { return static_cast<uint32_t>(crc32(0L, b.data(), static_cast<uInt>(b.size()))); }

// Writes `path` through a temporary file renamed over it, after fsync; `write` writes the bytes.
template <class WriteFn>
Status replaceFile(const std::string& path, WriteFn write) {
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::Error("cannot write '" + tmp + "': " + std::strerror(errno));
  bool ok = write(f);
  ok = ok && std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok = std::fclose(f) == 0 && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    return Status::Error("cannot write '" + tmp + "': " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::Error("cannot rename '" + tmp + "': " + std::strerror(errno));
  }
  return Status::Ok();
}

Status writeAtomically(const std::string& path, const char magic[4], const Buffer& payload) {
  return replaceFile(path, [&](FILE* f) {
    uint32_t c = crc(payload);
    uint64_t n = payload.size();
    return std::fwrite(magic, 1, 4, f) == 4 && std::fwrite(&c, 4, 1, f) == 1 && std::fwrite(&n, 8, 1, f) == 1 &&
           (payload.empty() || std::fwrite(payload.data(), 1, payload.size(), f) == payload.size());
  });
}

Result<Buffer> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error("'" + path + "' cannot be read");
  return Buffer((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The payload of a checkpoint file's bytes, after its header (magic, CRC-32, length) checks.
Result<Buffer> verified(const Buffer& all, const std::string& name, const char magic[4]) {
  if (all.size() < 16 || std::memcmp(all.data(), magic, 4) != 0) return Status::Error("'" + name + "' is not a checkpoint file");
  uint32_t c;
  uint64_t n;
  std::memcpy(&c, all.data() + 4, 4);
  std::memcpy(&n, all.data() + 8, 8);
  if (all.size() - 16 != n) return Status::Error("'" + name + "' is truncated");
  Buffer payload(all.begin() + 16, all.end());
  if (crc(payload) != c) return Status::Error("'" + name + "' is corrupt (checksum mismatch)");
  return payload;
}

void writeString(DataOutputView& out, const std::string& s) { TypeSerializer<std::string>::serialize(s, out); }
void writeBuffer(DataOutputView& out, const Buffer& b) {
  out.writePod(static_cast<uint32_t>(b.size()));
  out.write(b.data(), b.size());
}
Buffer readBuffer(DataInputView& in) {
  auto n = in.readPod<uint32_t>();
  auto v = in.readBytes(n);
  return Buffer(v.begin(), v.end());
}

}  // namespace

std::string pathOf(const std::string& uri) {
  for (const char* scheme : {"file://", "local://"}) {
    std::string s(scheme);
    if (uri.rfind(s, 0) == 0) return uri.substr(s.size());
  }
  return uri;
}

Result<int64_t> writeTaskState(const std::string& path, const TaskState& state) {
  Buffer payload;
  DataOutputView out(&payload);
  out.writePod(static_cast<uint32_t>(state.size()));
  for (const auto& [opId, snap] : state) {
    writeString(out, opId);
    writeBuffer(out, snap.operatorState);
    out.writePod(static_cast<uint32_t>(snap.keyedState.size()));
    for (const auto& [kg, bytes] : snap.keyedState) {
      out.writePod(static_cast<int32_t>(kg));
      writeBuffer(out, bytes);
    }
  }
  Status s = writeAtomically(path, kStateMagic, payload);
  if (!s.ok()) return s;
  return static_cast<int64_t>(payload.size() + 16);
}

Result<TaskState> readTaskState(const std::string& path) {
  auto bytes = readFile(path);
  if (!bytes.ok()) return bytes.status();
  return decodeTaskState(*bytes, path);
}

Result<TaskState> decodeTaskState(const Buffer& file, const std::string& path) {
  auto payload = verified(file, path, kStateMagic);
  if (!payload.ok()) return payload.status();
  TaskState state;
  try {
    DataInputView in(payload->data(), payload->size());
    auto ops = in.readPod<uint32_t>();
    for (uint32_t i = 0; i < ops; ++i) {
      std::string opId;
      TypeSerializer<std::string>::deserialize(opId, in);
      OperatorSnapshot snap;
      snap.operatorState = readBuffer(in);
      auto kgs = in.readPod<uint32_t>();
      for (uint32_t k = 0; k < kgs; ++k) {
        int kg = in.readPod<int32_t>();
        snap.keyedState[kg] = readBuffer(in);
      }
      state.emplace_back(std::move(opId), std::move(snap));
    }
  } catch (const SerializationError& e) {
    return Status::Error("'" + path + "' is corrupt: " + e.what());
  }
  return state;
}

nlohmann::json Metadata::toJson() const {
  nlohmann::json ops = nlohmann::json::object();
  for (const auto& [id, e] : operators) ops[id] = {{"parallelism", e.parallelism}, {"files", e.files}};
  return {{"version", 1},          {"jobId", jobId},         {"checkpointId", checkpointId},
          {"timestamp", timestampMs}, {"savepoint", savepoint}, {"maxParallelism", maxParallelism},
          {"stateSize", stateSize}, {"operators", ops}, {"coordinators", coordinators}};
}

Result<Metadata> Metadata::fromJson(const nlohmann::json& j) {
  try {
    // Integers must be JSON integers: a number beyond 64 bits parses as a double, and converting
    // it to an integer type is undefined behaviour.
    auto integer = [](const nlohmann::json& parent, const char* key) -> const nlohmann::json& {
      const nlohmann::json& v = parent.at(key);
      if (!v.is_number_integer()) throw std::invalid_argument(std::string("'") + key + "' is not an integer");
      return v;
    };
    Metadata m;
    m.jobId = j.at("jobId");
    m.checkpointId = integer(j, "checkpointId");
    m.timestampMs = integer(j, "timestamp");
    m.savepoint = j.at("savepoint");
    const nlohmann::json& maxParallelism = integer(j, "maxParallelism");
    if (maxParallelism.get<int64_t>() < 1 || maxParallelism.get<int64_t>() > kMaxMaxParallelism) {
      return Status::Error("malformed checkpoint metadata: maxParallelism " + maxParallelism.dump() +
                           " out of range [1, " + std::to_string(kMaxMaxParallelism) + "]");
    }
    m.maxParallelism = maxParallelism.get<int>();
    m.stateSize = j.contains("stateSize") ? integer(j, "stateSize").get<int64_t>() : 0;
    for (const auto& [id, e] : j.at("operators").items()) {
      const nlohmann::json& parallelism = integer(e, "parallelism");
      if (parallelism.get<int64_t>() < 0 || parallelism.get<int64_t>() > kMaxMaxParallelism) {
        return Status::Error("malformed checkpoint metadata: operator " + id + " has parallelism " + parallelism.dump());
      }
      OperatorEntry entry{parallelism.get<int>(), e.at("files").get<std::vector<std::string>>()};
      // The files are read by the subtasks that restore: one per subtask that wrote them, each a
      // name inside the checkpoint's directory (a path out of it would read any file).
      if (entry.parallelism < 1 || entry.parallelism > m.maxParallelism ||
          entry.files.size() != static_cast<size_t>(entry.parallelism)) {
        return Status::Error("malformed checkpoint metadata: operator " + id + " has parallelism " +
                             std::to_string(entry.parallelism) + " and " + std::to_string(entry.files.size()) + " files");
      }
      for (const auto& f : entry.files) {
        if (f.find('/') != std::string::npos || f == "." || f == "..") {
          return Status::Error("malformed checkpoint metadata: operator " + id + ": file '" + f +
                               "' is not a name inside the checkpoint directory");
        }
      }
      m.operators[id] = std::move(entry);
    }
    if (j.contains("coordinators")) {
      for (const auto& [id, state] : j.at("coordinators").items()) m.coordinators[id] = state.get<std::string>();
    }
    return m;
  } catch (const std::exception& e) {
    return Status::Error(std::string("malformed checkpoint metadata: ") + e.what());
  }
}

Status writeMetadata(const std::string& dir, const Metadata& m) {
  std::string text = m.toJson().dump();
  return writeAtomically(dir + "/_metadata", kMetaMagic, Buffer(text.begin(), text.end()));
}

Result<Metadata> readMetadata(const std::string& dir) {
  auto bytes = readFile(dir + "/_metadata");
  if (!bytes.ok()) return bytes.status();
  return decodeMetadata(*bytes, dir + "/_metadata");
}

Result<Metadata> decodeMetadata(const Buffer& file, const std::string& name) {
  auto payload = verified(file, name, kMetaMagic);
  if (!payload.ok()) return payload.status();
  try {
    return Metadata::fromJson(nlohmann::json::parse(payload->begin(), payload->end()));
  } catch (const std::exception& e) {
    return Status::Error("'" + name + "' is corrupt: " + e.what());
  }
}

Status writeTextAtomically(const std::string& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  return replaceFile(path, [&](FILE* f) { return text.empty() || std::fwrite(text.data(), 1, text.size(), f) == text.size(); });
}

std::vector<std::pair<int64_t, std::string>> listCheckpointDirs(const std::string& jobDir) {
  std::error_code ec;
  std::vector<std::pair<int64_t, std::string>> found;
  for (const auto& entry : fs::directory_iterator(jobDir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("chk-", 0) != 0) continue;
    char* end = nullptr;
    long long id = std::strtoll(name.c_str() + 4, &end, 10);
    if (end == name.c_str() + 4 || *end != '\0' || id <= 0) continue;
    found.emplace_back(id, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

Result<std::pair<std::string, Metadata>> findLatest(const std::string& jobDir) {
  std::error_code ec;
  auto found = listCheckpointDirs(jobDir);
  std::reverse(found.begin(), found.end());
  for (const auto& [id, dir] : found) {
    auto m = readMetadata(dir);
    if (m.ok()) return std::make_pair(dir, std::move(*m));
    if (fs::exists(dir + "/_metadata", ec)) log::warn("skipping checkpoint {}: {}", dir, m.status().message());
  }
  return Status::Error("no completed checkpoint under '" + jobDir + "'");
}

}  // namespace flink::checkpoint
