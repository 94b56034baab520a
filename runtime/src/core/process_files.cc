#include "core/process_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <system_error>

namespace flink::process_files {
namespace {

namespace fs = std::filesystem;

// The regular file open as descriptor `fd` of this process, or "".
std::string regularFileOf(int fd) {
  std::error_code ec;
  fs::path target = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  if (ec || !target.is_absolute() || !fs::is_regular_file(target, ec)) return "";
  return target.string();
}

Result<std::string> readTail(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error("cannot read " + path);
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(std::max<std::streamoff>(0, in.tellg()));
  size_t from = size > kMaxServedBytes ? size - kMaxServedBytes : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string text(size - from, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return toValidUtf8(std::move(text));
}

}  // namespace

std::string logFile(const Configuration& config) {
  std::string configured = config.getString("log.file", "");
  return configured.empty() ? regularFileOf(STDERR_FILENO) : configured;
}

std::string stdoutFile() { return regularFileOf(STDOUT_FILENO); }

Result<std::string> read(const Configuration& config, const std::string& which) {
  std::string path;
  if (which == "log") {
    path = logFile(config);
  } else if (which == "stdout") {
    path = stdoutFile();
  } else if (!which.empty() && which[0] != '.' && which.find('/') == std::string::npos) {
    std::string log = logFile(config);
    if (!log.empty()) path = (fs::path(log).parent_path() / which).string();
  }
  std::error_code ec;
  if (path.empty() || !fs::is_regular_file(path, ec)) {
    return Status::Error(which == "log" || which == "stdout" ? "this process writes no " + which + " file"
                                                             : "no log file named '" + which + "'");
  }
  return readTail(path);
}

nlohmann::json list(const Configuration& config) {
  nlohmann::json logs = nlohmann::json::array();
  std::string log = logFile(config);
  std::error_code ec;
  if (!log.empty()) {
    for (const auto& entry : fs::directory_iterator(fs::path(log).parent_path(), ec)) {
      if (!entry.is_regular_file(ec)) continue;
      struct stat st {};
      if (::stat(entry.path().c_str(), &st) != 0) continue;
      int64_t mtimeMs = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
      logs.push_back({{"name", entry.path().filename().string()},
                      {"size", static_cast<int64_t>(st.st_size)},
                      {"mtime", mtimeMs}});
    }
  }
  return {{"logs", logs}};
}

std::string toValidUtf8(std::string text) {
  auto continuation = [&](size_t i) { return i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80; };
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 && c >= 0xC2 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E && c <= 0xF4 ? 4 : 0;
    bool ok = len > 0;
    for (size_t k = 1; ok && k < len; ++k) ok = continuation(i + k);
    if (ok && len == 3) {  // no overlong forms, no surrogates
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
    }
    if (ok && len == 4) {
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (!ok) {
      text[i++] = '?';
      continue;
    }
    i += len;
  }
  return text;
}

}  // namespace flink::process_files
