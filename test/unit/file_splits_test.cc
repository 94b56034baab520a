// Tests of the split-based file source (FLIP-27): which files an input names, how they are cut
// into splits (line boundaries, the header, one split per gzip file, empty files), and that the
// enumerator and its readers read every line exactly once across checkpoints, failover (splits
// given back) and restores at another parallelism. The readers here get their splits from a real
// FileSplitEnumerator through a SplitReaderContext that answers at once, as the JobMaster does.
#include <zlib.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "flink/connectors.h"
#include "temp_dir.h"

using namespace flink;
using flink::detail::FileSplit;
using flink::detail::FileSplitEnumerator;
using flink::detail::SplitLineReader;
namespace fs = std::filesystem;

namespace {

struct TempDir : flink::testing::TempDir {
  TempDir() : flink::testing::TempDir("splits-test") {}
};

void writeFile(const std::string& path, const std::string& content, bool gzip = false) {
  fs::create_directories(fs::path(path).parent_path());
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    if (!content.empty()) {
      REQUIRE(gzwrite(f, content.data(), static_cast<unsigned>(content.size())) == static_cast<int>(content.size()));
    }
    REQUIRE(gzclose(f) == Z_OK);
  } else {
    std::ofstream(path, std::ios::binary) << content;
  }
}

/// "header\n" then lines "<tag>,<n>" of varying length (n = 1..count), some very long.
std::string linesOf(const std::string& tag, int count, const std::string& eol = "\n", bool trailingNewline = true) {
  std::string s = "header" + eol;
  for (int n = 1; n <= count; ++n) {
    s += tag + "," + std::to_string(n) + "," + std::string(static_cast<size_t>((n * 37) % 101), 'x');
    if (n < count || trailingNewline) s += eol;
  }
  return s;
}

/// Answers a reader's requests at once from a shared enumerator (the JobMaster's role).
class DirectContext final : public SplitReaderContext {
 public:
  DirectContext(SplitEnumerator* e, int subtask) : enumerator_(e), subtask_(subtask) {}
  void requestSplit() override {
    std::string split;
    if (enumerator_->nextSplit(subtask_, &split)) ready_.push_back(split);
    else noMore_ = enumerator_->noMoreSplits();
  }
  bool pollSplits(std::vector<std::string>* splits) override {
    for (auto& s : ready_) splits->push_back(s);
    ready_.clear();
    return noMore_;
  }
  bool allSplitsAssigned() const override { return false; }

 private:
  SplitEnumerator* enumerator_;
  int subtask_;
  std::vector<std::string> ready_;
  bool noMore_ = false;
};

/// One reader subtask of a job with a header line per file.
struct Reader {
  Reader(SplitEnumerator* e, int index, int parallelism, const std::string& input = "unused")
      : context(e, index), reader(input, 1, 64) {
    ctx.taskName = "Source (" + std::to_string(index + 1) + "/" + std::to_string(parallelism) + ")";
    ctx.subtaskIndex = index;
    ctx.parallelism = parallelism;
    ctx.metrics = &metrics;
    ctx.config = &config;
    ctx.splits = e ? &context : nullptr;
  }
  /// Reads up to `max` lines (all when negative) into *seen; returns how many.
  int read(int max, std::vector<std::string>* seen) {
    int n = 0;
    std::string_view line;
    uint64_t lineNo = 0, offset = 0;
    int waits = 0;
    while (max < 0 || n < max) {
      auto r = reader.next(&line, &lineNo, &offset);
      if (r == SplitLineReader::Next::kEnd) break;
      if (r == SplitLineReader::Next::kWaiting) {  // asked: DirectContext answers at once
        REQUIRE(++waits < 1000000);                // (a split may hold no line: several in a row)
        continue;
      }
      waits = 0;
      REQUIRE(line.rfind("header", 0) != 0);
      seen->emplace_back(line);
      ++n;
    }
    return n;
  }
  Buffer snapshot() {
    Buffer b;
    DataOutputView out(&b);
    reader.snapshotState(out);
    return b;
  }
  TaskMetrics metrics;
  Configuration config;
  RuntimeContext ctx;
  DirectContext context;
  SplitLineReader reader;
};

/// The lines every file of `contents` holds after its header.
std::vector<std::string> expectedLines(const std::vector<std::string>& contents) {
  std::vector<std::string> all;
  for (const auto& c : contents) {
    size_t pos = c.find('\n') + 1;
    while (pos < c.size()) {
      size_t nl = c.find('\n', pos);
      std::string l = c.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      if (!l.empty() && l.back() == '\r') l.pop_back();
      if (!l.empty()) all.push_back(l);
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
  }
  std::sort(all.begin(), all.end());
  return all;
}

void requireExactlyOnce(std::vector<std::string> seen, const std::vector<std::string>& expected) {
  std::sort(seen.begin(), seen.end());
  std::vector<std::string> dups;
  for (size_t i = 1; i < seen.size(); ++i) {
    if (seen[i] == seen[i - 1]) dups.push_back(seen[i]);
  }
  INFO("duplicates: " << dups.size() << (dups.empty() ? "" : " first " + dups.front()));
  REQUIRE(dups.empty());
  REQUIRE(seen == expected);
}

/// An enumerator state holding exactly `splits` (the format FileSplitEnumerator writes).
std::string stateOf(const std::vector<std::string>& splits) {
  return nlohmann::json{{"version", 1}, {"input", "unused"}, {"seen", nlohmann::json::array()}, {"unassigned", splits}}
      .dump();
}

std::vector<std::string> readAll(const std::vector<FileSplit>& splits) {
  // Every split read by its own reader, as if each went to another subtask.
  std::vector<std::string> seen;
  for (const auto& s : splits) {
    FileSplitEnumerator e("unused", 64, 0);
    REQUIRE(e.restoreState(stateOf({s.serialize()})).ok());
    Reader r(&e, 0, 1);
    REQUIRE(r.reader.open(r.ctx).ok());
    r.read(-1, &seen);
  }
  return seen;
}

}  // namespace

TEST_CASE("listInputFiles takes a file, a directory or a glob", "[source][splits]") {
  TempDir dir;
  writeFile(dir.str("in/b.csv"), "x\n");
  writeFile(dir.str("in/a.csv.gz"), "x\n", true);
  writeFile(dir.str("in/sub/c.csv"), "x\n");
  writeFile(dir.str("in/.hidden.csv"), "x\n");
  writeFile(dir.str("in/_SUCCESS"), "");
  writeFile(dir.str("in/.tmp/d.csv"), "x\n");

  auto one = detail::listInputFiles(dir.str("in/b.csv"));
  REQUIRE(one.ok());
  REQUIRE(*one == std::vector<std::string>{dir.str("in/b.csv")});

  auto all = detail::listInputFiles(dir.str("in"));
  REQUIRE(all.ok());
  REQUIRE(*all == std::vector<std::string>{dir.str("in/a.csv.gz"), dir.str("in/b.csv"), dir.str("in/sub/c.csv")});

  auto glob = detail::listInputFiles(dir.str("in/*.csv*"));
  REQUIRE(glob.ok());
  REQUIRE(*glob == std::vector<std::string>{dir.str("in/a.csv.gz"), dir.str("in/b.csv")});

  auto missing = detail::listInputFiles(dir.str("nope.csv"));
  REQUIRE_FALSE(missing.ok());
  REQUIRE(missing.status().message().find(dir.str("nope.csv")) != std::string::npos);
  auto noMatch = detail::listInputFiles(dir.str("in/*.parquet"));
  REQUIRE_FALSE(noMatch.ok());
  REQUIRE(noMatch.status().message().find("matches no file") != std::string::npos);
}

TEST_CASE("computeFileSplits cuts plain files into byte ranges, gzip files whole, empty files not at all",
          "[source][splits]") {
  TempDir dir;
  std::string plain = linesOf("p", 100), small = linesOf("s", 2);
  writeFile(dir.str("plain.csv"), plain);
  writeFile(dir.str("small.csv"), small);
  writeFile(dir.str("big.csv.gz"), linesOf("g", 1000), true);
  writeFile(dir.str("empty.csv"), "");
  writeFile(dir.str("empty.csv.gz"), "", true);  // 20 bytes of gzip framing, no line
  auto splits = detail::computeFileSplits(
      {dir.str("plain.csv"), dir.str("small.csv"), dir.str("big.csv.gz"), dir.str("empty.csv"), dir.str("empty.csv.gz")},
      1000);
  REQUIRE(splits.ok());
  std::map<std::string, std::vector<FileSplit>> byFile;
  for (const auto& s : *splits) byFile[fs::path(s.path).filename().string()].push_back(s);
  // Plain: consecutive ranges covering [0, size) exactly, each 1000 bytes but the last.
  const auto& p = byFile["plain.csv"];
  REQUIRE(p.size() == (plain.size() + 999) / 1000);
  uint64_t expectStart = 0;
  for (const auto& s : p) {
    REQUIRE(s.start == expectStart);
    REQUIRE(s.offset == s.start);
    REQUIRE(s.end == std::min<uint64_t>(s.start + 1000, plain.size()));
    expectStart = s.end;
  }
  REQUIRE(expectStart == plain.size());
  REQUIRE(byFile["small.csv"].size() == 1);
  REQUIRE(byFile["small.csv"][0].end == FileSplit::kToEnd);
  REQUIRE(byFile["big.csv.gz"].size() == 1);  // gzip: one split, whatever its size
  REQUIRE(byFile["big.csv.gz"][0].end == FileSplit::kToEnd);
  REQUIRE(byFile.count("empty.csv") == 0);
  REQUIRE(byFile["empty.csv.gz"].size() == 1);  // not empty on disk; it yields no line (below)
  REQUIRE(readAll(byFile["empty.csv.gz"]).empty());
  REQUIRE_FALSE(detail::computeFileSplits({dir.str("gone.csv")}, 1000).ok());
}

TEST_CASE("byte-range splits give every line once and each file's header never", "[source][splits]") {
  TempDir dir;
  struct Case {
    const char* name;
    std::string content;
  };
  std::vector<Case> cases = {
      {"lf", linesOf("lf", 300)},
      {"crlf", linesOf("crlf", 300, "\r\n")},
      {"no trailing newline", linesOf("nt", 300, "\n", false)},
      {"empty lines", "header\n\n\na,1\n\n\nb,2\n\n"},
      {"header only", "header\n"},
      {"one long line", "header\n" + std::string(5000, 'z') + ",1\n"},
  };
  for (const auto& c : cases) {
    for (uint64_t size : {1u, 2u, 7u, 64u, 100u, 999u, 4096u, 1u << 20}) {
      INFO(c.name << ", split size " << size);
      std::string path = dir.str(std::string(c.name) + ".csv");
      writeFile(path, c.content);
      auto splits = detail::computeFileSplits({path}, size);
      REQUIRE(splits.ok());
      requireExactlyOnce(readAll(*splits), expectedLines({c.content}));
    }
  }
}

TEST_CASE("a malformed line is reported with its file and line or byte offset", "[source][splits]") {
  TempDir dir;
  writeFile(dir.str("a.csv"), linesOf("a", 50));
  FileSplitEnumerator e(dir.str("a.csv"), 200, 0);
  REQUIRE(e.start().ok());
  Reader r(&e, 0, 1);
  REQUIRE(r.reader.open(r.ctx).ok());
  std::string_view line;
  uint64_t lineNo = 0, offset = 0;
  REQUIRE(r.reader.next(&line, &lineNo, &offset) == SplitLineReader::Next::kWaiting);  // asks for a split
  REQUIRE(r.reader.next(&line, &lineNo, &offset) == SplitLineReader::Next::kLine);
  REQUIRE(lineNo == 2);  // after the header
  REQUIRE(offset == 7);
  r.reader.reportMalformed(lineNo, offset, "bad");
  REQUIRE(r.metrics.numRecordsDropped.load() == 1);
}

namespace {

/// A run of `parallelism` readers against enumerator state `enumState` (empty: fresh from
/// `input`) and reader states `readerStates`: reader i reads counts[i] lines (-1: to the end),
/// then the enumerator and the readers snapshot (a checkpoint). Lines go to *seen.
struct Checkpoint {
  std::string enumerator;
  std::vector<Buffer> readers;
};
Checkpoint runReaders(const std::string& input, int parallelism, const Checkpoint* restore,
                      const std::vector<int>& counts, std::vector<std::string>* seen, uint64_t splitSize) {
  FileSplitEnumerator e(input, splitSize, 0);
  if (restore) {
    REQUIRE(e.restoreState(restore->enumerator).ok());
  } else {
    REQUIRE(e.start().ok());
  }
  std::vector<std::unique_ptr<Reader>> readers;
  for (int i = 0; i < parallelism; ++i) {
    readers.push_back(std::make_unique<Reader>(&e, i, parallelism, input));
    if (restore) REQUIRE(readers.back()->reader.restoreState(restore->readers).ok());
    REQUIRE(readers.back()->reader.open(readers.back()->ctx).ok());
  }
  for (int i = 0; i < parallelism; ++i) readers[i]->read(counts.at(i), seen);
  Checkpoint c{e.snapshotState(), {}};
  for (const auto& r : readers) c.readers.push_back(r->snapshot());
  return c;
}

}  // namespace

TEST_CASE("split readers restore exactly once at another parallelism", "[source][splits][checkpoint]") {
  TempDir dir;
  std::vector<std::string> contents = {linesOf("a", 400), linesOf("b", 300), linesOf("c", 200), linesOf("d", 10)};
  writeFile(dir.str("in/part-0.csv.gz"), contents[0], true);
  writeFile(dir.str("in/part-1.csv"), contents[1]);
  writeFile(dir.str("in/part-2.csv.gz"), contents[2], true);
  writeFile(dir.str("in/part-3.csv"), contents[3]);
  writeFile(dir.str("in/part-4.csv"), "");
  const std::string input = dir.str("in");
  const auto expected = expectedLines(contents);
  const uint64_t splitSize = 2000;  // part-1 in several ranges

  SECTION("2 to 3") {
    std::vector<std::string> seen;
    auto c = runReaders(input, 2, nullptr, {137, 290}, &seen, splitSize);
    runReaders(input, 3, &c, {-1, -1, -1}, &seen, splitSize);
    requireExactlyOnce(seen, expected);
  }
  SECTION("3 to 1") {
    std::vector<std::string> seen;
    auto c = runReaders(input, 3, nullptr, {0, 100, 333}, &seen, splitSize);
    runReaders(input, 1, &c, {-1}, &seen, splitSize);
    requireExactlyOnce(seen, expected);
  }
  SECTION("2 to 3 to 1") {
    std::vector<std::string> seen;
    auto first = runReaders(input, 2, nullptr, {50, 10}, &seen, splitSize);
    auto second = runReaders(input, 3, &first, {40, 0, 120}, &seen, splitSize);
    runReaders(input, 1, &second, {-1}, &seen, splitSize);
    requireExactlyOnce(seen, expected);
  }
  SECTION("failover: what was read after the checkpoint is read again, once") {
    // The readers go on after the checkpoint and fail; a restore from the checkpoint gives the
    // splits they took since then back to the enumerator (its state at the checkpoint).
    std::vector<std::string> beforeCheckpoint, lost;
    FileSplitEnumerator e(input, splitSize, 0);
    REQUIRE(e.start().ok());
    std::vector<std::unique_ptr<Reader>> readers;
    for (int i = 0; i < 2; ++i) {
      readers.push_back(std::make_unique<Reader>(&e, i, 2, input));
      REQUIRE(readers.back()->reader.open(readers.back()->ctx).ok());
    }
    readers[0]->read(100, &beforeCheckpoint);
    readers[1]->read(450, &beforeCheckpoint);
    Checkpoint c{e.snapshotState(), {readers[0]->snapshot(), readers[1]->snapshot()}};
    readers[0]->read(500, &lost);  // takes more splits, then the failure
    readers[1]->read(200, &lost);
    REQUIRE(e.numUnassigned() < FileSplitEnumerator(input, splitSize, 0).numUnassigned() + 100);
    std::vector<std::string> seen = beforeCheckpoint;
    runReaders(input, 2, &c, {-1, -1}, &seen, splitSize);
    requireExactlyOnce(seen, expected);
  }
  SECTION("random cut points and parallelism changes") {
    std::mt19937 rng(20261207);
    for (int round = 0; round < 20; ++round) {
      std::vector<std::string> seen;
      int p = 1 + static_cast<int>(rng() % 4);
      std::vector<int> counts;
      for (int i = 0; i < p; ++i) counts.push_back(static_cast<int>(rng() % 400));
      Checkpoint c = runReaders(input, p, nullptr, counts, &seen, splitSize);
      for (int step = 0; step < 2; ++step) {
        p = 1 + static_cast<int>(rng() % 4);
        counts.clear();
        for (int i = 0; i < p; ++i) counts.push_back(static_cast<int>(rng() % 300));
        c = runReaders(input, p, &c, counts, &seen, splitSize);
      }
      runReaders(input, 1 + static_cast<int>(rng() % 3), &c, {-1, -1, -1}, &seen, splitSize);
      requireExactlyOnce(seen, expected);
    }
  }
}

TEST_CASE("the enumerator gives splits back and discovers new files when monitoring", "[source][splits]") {
  TempDir dir;
  writeFile(dir.str("in/a.csv"), linesOf("a", 5));
  FileSplitEnumerator bounded(dir.str("in"), 1 << 20, 0);
  REQUIRE(bounded.start().ok());
  std::string split;
  REQUIRE(bounded.nextSplit(0, &split));
  REQUIRE(bounded.noMoreSplits());
  bounded.addSplitsBack({split});
  REQUIRE_FALSE(bounded.noMoreSplits());
  std::string again;
  REQUIRE(bounded.nextSplit(1, &again));
  REQUIRE(again == split);

  FileSplitEnumerator watching(dir.str("in"), 1 << 20, 500);
  REQUIRE(watching.discoveryIntervalMs() == 500);
  REQUIRE(watching.start().ok());
  REQUIRE(watching.nextSplit(0, &split));
  REQUIRE_FALSE(watching.nextSplit(0, &split));
  REQUIRE_FALSE(watching.noMoreSplits());  // unbounded
  writeFile(dir.str("in/b.csv"), linesOf("b", 5));
  std::string state = watching.snapshotState();
  REQUIRE(watching.discover().ok());
  REQUIRE(watching.nextSplit(0, &split));
  REQUIRE(FileSplit::parse(split)->path == dir.str("in/b.csv"));
  REQUIRE(watching.discover().ok());  // a.csv and b.csv are known: nothing new
  REQUIRE_FALSE(watching.nextSplit(0, &split));
  // Restored from before b.csv was seen: discovers it again (exactly once after the restore).
  FileSplitEnumerator restored(dir.str("in"), 1 << 20, 500);
  REQUIRE(restored.restoreState(state).ok());
  REQUIRE(restored.discover().ok());
  REQUIRE(restored.nextSplit(0, &split));
  REQUIRE(FileSplit::parse(split)->path == dir.str("in/b.csv"));
}

TEST_CASE("corrupt split states are errors", "[source][splits]") {
  FileSplitEnumerator e("x", 100, 0);
  REQUIRE_FALSE(e.restoreState("not json").ok());
  REQUIRE_FALSE(e.restoreState(R"({"version":1,"unassigned":["{}"],"seen":[]})").ok());
  REQUIRE_FALSE(FileSplit::parse(R"({"path":"a","start":10,"end":5,"offset":10})").ok());
  Reader r(nullptr, 0, 1);
  Buffer old;  // the position format before split-based sources
  {
    DataOutputView out(&old);
    out.writePod(uint32_t{1});
    out.writePod(uint64_t{2});
    out.writePod(uint64_t{0});
    out.writePod(uint64_t{10});
  }
  auto s = r.reader.restoreState({old});
  REQUIRE_FALSE(s.ok());
  REQUIRE(s.message().find("split") != std::string::npos);
  Buffer truncated;
  {
    DataOutputView out(&truncated);
    out.writePod(uint32_t{0x53504c31});
    out.writePod(uint32_t{2});
    out.writePod(uint32_t{5});
  }
  REQUIRE_FALSE(r.reader.restoreState({truncated}).ok());
}
