// core/process_files.h: which files a process serves as its log and stdout, their tails as
// valid UTF-8, and the log directory's listing (Flink's LogListInfo).
#include "core/process_files.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

namespace {

namespace fs = std::filesystem;
using flink::Configuration;
namespace pf = flink::process_files;

struct LogDir {
  LogDir() {
    std::string pattern = (fs::temp_directory_path() / "process-files-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~LogDir() { fs::remove_all(path); }
  fs::path path;
};

}  // namespace

TEST_CASE("toValidUtf8 keeps well-formed UTF-8 and replaces every other byte with '?'", "[process_files]") {
  CHECK(pf::toValidUtf8("plain ascii\n") == "plain ascii\n");
  CHECK(pf::toValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(pf::toValidUtf8("a\xff" "b") == "a?b");
  CHECK(pf::toValidUtf8("cut \xe2\x82") == "cut ??");            // a sequence cut at the end
  CHECK(pf::toValidUtf8("\xc0\xaf") == "??");                     // overlong
  CHECK(pf::toValidUtf8("\xed\xa0\x80") == "???");                // a surrogate
  CHECK(pf::toValidUtf8("\xf4\x90\x80\x80") == "????");           // above U+10FFFF
}

TEST_CASE("log.file names the log, its directory is listed, and only plain names in it are served",
          "[process_files]") {
  LogDir dir;
  std::ofstream(dir.path / "jobmanager.log") << "line one\nline \xff two\n";
  std::ofstream(dir.path / "taskmanager-0.log") << "tm\n";
  fs::create_directories(dir.path / "sub");
  Configuration config;
  config.set("log.file", (dir.path / "jobmanager.log").string());

  CHECK(pf::logFile(config) == (dir.path / "jobmanager.log").string());
  auto log = pf::read(config, "log");
  REQUIRE(log.ok());
  CHECK(*log == "line one\nline ? two\n");
  auto other = pf::read(config, "taskmanager-0.log");
  REQUIRE(other.ok());
  CHECK(*other == "tm\n");
  CHECK_FALSE(pf::read(config, "../jobmanager.log").ok());
  CHECK_FALSE(pf::read(config, ".hidden").ok());
  CHECK_FALSE(pf::read(config, "sub").ok());
  CHECK_FALSE(pf::read(config, "missing.log").ok());

  auto list = pf::list(config).at("logs");
  REQUIRE(list.size() == 2);  // the regular files only
  for (const auto& entry : list) {
    CHECK(entry.at("size").get<int64_t>() > 0);
    CHECK(entry.at("mtime").get<int64_t>() > 0);
  }
}

TEST_CASE("Without log.file and with stderr on no regular file, a process has no log to serve", "[process_files]") {
  Configuration config;
  if (!pf::logFile(config).empty()) return;  // this test process's stderr is a file: nothing to check
  CHECK_FALSE(pf::read(config, "log").ok());
  CHECK(pf::list(config).at("logs").empty());
}
