// A fresh directory under the temporary directory for one test, removed at its end.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace flink::testing {

struct TempDir {
  /// `prefix` names the test file in the directory's name (flink-cpp-<prefix>-<pid>-<n>).
  explicit TempDir(const std::string& prefix = "test") {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("flink-cpp-" + prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The directory, or `name` inside it.
  std::string str(const std::string& name = "") const { return name.empty() ? path.string() : (path / name).string(); }
  std::filesystem::path path;
};

}  // namespace flink::testing
