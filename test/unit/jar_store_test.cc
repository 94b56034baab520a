// The job libraries of a session cluster (JarStore, behind /jars), library isolation
// (loadJobLibrary), the blob store and cache that ship libraries to the TaskManagers, and the
// parsing of Flink's programArgs string.
#include <dlfcn.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "api/job_library.h"
#include "blob/blob.h"
#include "flink/common/ids.h"
#include "flink/job.h"
#include "jobmanager/jar_store.h"
#include "jobmanager/rest/jar_handlers.h"

namespace {

namespace fs = std::filesystem;
using flink::JarFile;
using flink::JarStore;

// A fresh directory under the temporary directory, removed on destruction.
struct ScratchDir {
  fs::path path = fs::temp_directory_path() / ("flink-cpp-jar-test-" + flink::randomId());
  ScratchDir() { fs::create_directories(path); }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string readAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeAll(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

// Copies `source` to a temporary upload file of `store`, as the upload handler does.
std::string staged(const JarStore& store, const std::string& data) {
  std::string tmp = store.tempPath();
  writeAll(tmp, data);
  return tmp;
}

// The file this process loaded zlib from: a valid shared library without any FLINK_JOB.
std::string zlibPath() {
  Dl_info info{};
  REQUIRE(dladdr(reinterpret_cast<void*>(&zlibVersion), &info) != 0);
  return info.dli_fname;
}

std::set<std::string> filesIn(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

}  // namespace

TEST_CASE("JarStore keeps an uploaded job library as <uuid>_<name> and lists, finds and deletes it", "[jars]") {
  ScratchDir dir;
  auto store = JarStore::open((dir.path / "uploads").string());
  REQUIRE(store.ok());
  const std::string bytes = readAll(ROUTE_COUNTS_SO);
  std::string tmp = staged(**store, bytes);

  auto jar = (*store)->upload("route-counts.so", tmp);
  REQUIRE(jar.ok());
  CHECK_FALSE(fs::exists(tmp));
  CHECK(jar->name == "route-counts.so");
  CHECK(jar->entryClasses == std::vector<std::string>{"com.example.RouteCounts"});
  CHECK(jar->sha256 == flink::blob::sha256Hex(bytes));
  CHECK(jar->id.size() == 36 + 1 + std::string("route-counts.so").size());
  CHECK(jar->id.substr(36) == "_route-counts.so");
  CHECK(fs::path(jar->path) == dir.path / "uploads" / jar->id);
  CHECK(readAll(jar->path) == bytes);
  CHECK(filesIn(dir.path / "uploads") == std::set<std::string>{jar->id});

  auto list = (*store)->list();
  REQUIRE(list.size() == 2);
  CHECK(list[0].id == flink::kBuiltinJarId);
  CHECK(list[0].builtin);
  CHECK(list[0].jarURI == "builtin://flink-cpp-examples");
  CHECK(std::find(list[0].entryClasses.begin(), list[0].entryClasses.end(), "flinkcpp.examples.FlightDelays") !=
        list[0].entryClasses.end());
  CHECK(list[1].id == jar->id);

  // A JarStore opened on the same directory (a restarted JobManager) lists it again.
  auto reopened = JarStore::open((dir.path / "uploads").string());
  REQUIRE(reopened.ok());
  REQUIRE((*reopened)->find(jar->id).ok());
  CHECK((*reopened)->find(jar->id)->sha256 == jar->sha256);

  REQUIRE((*store)->find(jar->id).ok());
  CHECK((*store)->find("builtin_anything")->jarURI == "builtin://anything");
  REQUIRE((*store)->remove(jar->id).ok());
  CHECK_FALSE(fs::exists(jar->path));
  CHECK((*store)->list().size() == 1);
  auto again = (*store)->remove(jar->id);
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.message(), Catch::Contains("does not exist"));
  auto missing = (*store)->find(jar->id);
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.status().message(), Catch::Contains(jar->id));
  auto builtin = (*store)->remove(flink::kBuiltinJarId);
  REQUIRE_FALSE(builtin.ok());
  CHECK_THAT(builtin.message(), Catch::Contains("cannot be deleted"));
}

TEST_CASE("JarStore refuses what is not a job library, says why, and keeps nothing of it", "[jars]") {
  ScratchDir dir;
  auto store = JarStore::open(dir.path.string());
  REQUIRE(store.ok());
  const std::string library = readAll(ROUTE_COUNTS_SO);
  struct Case {
    const char* what;
    std::string fileName;
    std::string content;
    const char* mentions;
  };
  const std::vector<Case> cases = {
      {"a text file", "job.so", "not a library\n", "no ELF header"},
      {"an empty file", "job.so", "", "no ELF header"},
      {"a name not ending in .so", "job.jar", library, "ending in .so"},
      {"only a directory in the name", "dir/", library, "ending in .so"},
      {"a truncated library", "job.so", library.substr(0, 4096), "truncated or malformed ELF file"},
      {"a library cut in the middle", "job.so", library.substr(0, library.size() / 2), "truncated or malformed ELF file"},
      {"an executable", "flink-cpp.so", readAll(FLINK_CPP_BINARY), "cannot load shared library"},
      {"a library without FLINK_JOB", "libz.so", readAll(zlibPath()), "registers no entry class"},
  };
  for (const Case& k : cases) {
    INFO(k.what);
    std::string tmp = staged(**store, k.content);
    auto jar = (*store)->upload(k.fileName, tmp);
    REQUIRE_FALSE(jar.ok());
    CHECK_THAT(jar.status().message(), Catch::Contains(k.mentions));
    CHECK_THAT(jar.status().message(), Catch::Contains(k.fileName));
    CHECK(filesIn(dir.path).empty());
    CHECK((*store)->list().size() == 1);
  }
  // A path in the file name keeps only its last part; characters unsafe in a URL are replaced.
  auto jar = (*store)->upload("../../etc/route-counts.so", staged(**store, library));
  REQUIRE(jar.ok());
  CHECK(jar->name == "route-counts.so");
  CHECK(fs::path(jar->path).parent_path() == dir.path);
  auto odd = (*store)->upload("my job?#%\"1.so", staged(**store, library));
  REQUIRE(odd.ok());
  CHECK(odd->name == "my_job____1.so");
  CHECK(odd->id.substr(36) == "_my_job____1.so");
}

TEST_CASE("Each job library keeps its own entry classes, and a re-upload of the same file works", "[jars]") {
  ScratchDir dir;
  auto store = JarStore::open(dir.path.string());
  REQUIRE(store.ok());
  auto first = (*store)->upload("route-counts.so", staged(**store, readAll(ROUTE_COUNTS_SO)));
  auto other = (*store)->upload("other-job-library.so", staged(**store, readAll(OTHER_JOB_LIBRARY_SO)));
  auto second = (*store)->upload("route-counts.so", staged(**store, readAll(ROUTE_COUNTS_SO)));
  REQUIRE(first.ok());
  REQUIRE(other.ok());
  REQUIRE(second.ok());
  CHECK(first->id != second->id);
  CHECK(first->sha256 == second->sha256);
  CHECK(other->entryClasses == std::vector<std::string>{"com.example.OtherJob", "com.example.RouteCounts"});
  CHECK(second->entryClasses == std::vector<std::string>{"com.example.RouteCounts"});

  // The same entry class name in two libraries: each library runs its own main().
  flink::Configuration conf;
  auto build = [&](const JarFile& jar, const std::string& entry) {
    return flink::buildJob({jar.jarURI, entry, {"--input", "/nonexistent", "--output", (dir.path / "out").string()}}, conf);
  };
  for (const JarFile* jar : {&*first, &*second}) {
    auto env = build(*jar, "com.example.RouteCounts");
    INFO(jar->id << ": " << (env.ok() ? std::string("built") : env.status().message()));
    REQUIRE(env.ok());
    CHECK((*env)->streamGraph().jobName == "route-counts");
  }
  auto shadow = build(*other, "com.example.RouteCounts");
  REQUIRE_FALSE(shadow.ok());
  CHECK_THAT(shadow.status().message(), Catch::Contains("RouteCounts of other-job-library.so"));
  auto own = build(*other, "com.example.OtherJob");
  REQUIRE_FALSE(own.ok());
  CHECK_THAT(own.status().message(), Catch::Contains("OtherJob of other-job-library.so"));
  auto unknown = build(*first, "com.example.OtherJob");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.status().message(), Catch::Contains("is not registered"));
  CHECK_THAT(unknown.status().message(), Catch::Contains("com.example.RouteCounts"));
  // Nothing of the libraries leaks into the registry of compiled-in jobs.
  CHECK(flink::JobRegistry::find("com.example.OtherJob") == nullptr);
  CHECK(flink::JobRegistry::find("com.example.RouteCounts") == nullptr);
}

TEST_CASE("SHA-256 of bytes and files (blob keys)", "[blob]") {
  CHECK(flink::blob::sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(flink::blob::sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ScratchDir dir;
  std::string big(200000, 'x');  // several read chunks
  writeAll(dir.path / "big", big);
  auto sha = flink::blob::sha256OfFile((dir.path / "big").string());
  REQUIRE(sha.ok());
  CHECK(*sha == flink::blob::sha256Hex(big));
  CHECK_FALSE(flink::blob::sha256OfFile((dir.path / "missing").string()).ok());
  CHECK(flink::blob::isBlobKey(*sha));
  CHECK_FALSE(flink::blob::isBlobKey("ABC"));
  CHECK_FALSE(flink::blob::isBlobKey(std::string(64, 'g')));
}

TEST_CASE("BlobServer ships a blob to a BlobCache, verified and dropped when no job uses it", "[blob]") {
  ScratchDir dir;
  const std::string data = readAll(ROUTE_COUNTS_SO);
  const std::string key = flink::blob::sha256Hex(data);
  writeAll(dir.path / "upload.so", data);
  flink::blob::BlobServer server((dir.path / "server").string());
  REQUIRE(server.start("127.0.0.1", 0).ok());
  REQUIRE(server.port() > 0);
  REQUIRE(server.put((dir.path / "upload.so").string(), key, "job-a").ok());
  REQUIRE(server.put((dir.path / "upload.so").string(), key, "job-b").ok());
  fs::remove(dir.path / "upload.so");  // the server keeps its own copy
  auto wrongKey = server.put(ROUTE_COUNTS_SO, std::string(64, 'a'), "job-c");
  REQUIRE_FALSE(wrongKey.ok());
  CHECK_THAT(wrongKey.message(), Catch::Contains("does not have SHA-256"));

  flink::blob::BlobCache cache((dir.path / "cache").string());
  flink::blob::BlobRef ref{key, "route-counts.so", server.port()};
  auto path = cache.get("127.0.0.1", ref, "job-a");
  REQUIRE(path.ok());
  CHECK(fs::path(*path).filename() == "route-counts.so");
  CHECK(readAll(*path) == data);
  CHECK(flink::buildJob({*path, "com.example.RouteCounts", {"--input", "x", "--output", "y"}}, {}).ok());
  auto again = cache.get("127.0.0.1", ref, "job-b");  // cached: one file for both jobs
  REQUIRE(again.ok());
  CHECK(*again == *path);

  // Unknown key, unreachable server, and bytes that do not match the key.
  auto unknown = cache.get("127.0.0.1", {std::string(64, 'b'), "x.so", server.port()}, "job-a");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.status().message(), Catch::Contains("answered 404"));
  auto badKey = cache.get("127.0.0.1", {"../../etc/passwd", "x.so", server.port()}, "job-a");
  REQUIRE_FALSE(badKey.ok());
  CHECK_THAT(badKey.status().message(), Catch::Contains("not 64 lowercase hex digits"));
  flink::blob::BlobCache other((dir.path / "other-cache").string());
  writeAll(server.pathOf(key), data + "tampered");
  auto corrupt = other.get("127.0.0.1", ref, "job-a");
  REQUIRE_FALSE(corrupt.ok());
  CHECK_THAT(corrupt.status().message(), Catch::Contains("checksum mismatch"));
  CHECK(other.cachedKeys().empty());
  CHECK((!fs::exists(dir.path / "other-cache") || filesIn(dir.path / "other-cache" / key).empty()));

  // The cache drops the file when its last job is released; the server likewise.
  cache.release("job-a");
  CHECK(fs::exists(*path));
  cache.release("job-b");
  CHECK_FALSE(fs::exists(*path));
  CHECK(cache.cachedKeys().empty());
  std::string stored = server.pathOf(key);
  REQUIRE_FALSE(stored.empty());
  server.release("job-a");
  CHECK(fs::exists(stored));
  server.release("job-b");
  CHECK_FALSE(fs::exists(stored));
  CHECK(server.pathOf(key).empty());
  server.stop();
  CHECK_FALSE(fs::exists(dir.path / "server"));
  auto down = cache.get("127.0.0.1", ref, "job-a", 500);
  REQUIRE_FALSE(down.ok());
  CHECK_THAT(down.status().message(), Catch::Contains("did not answer"));
}

TEST_CASE("programArgs is split as Flink's tokenizer does", "[jars]") {
  using V = std::vector<std::string>;
  CHECK(flink::tokenizeProgramArgs("") == V{});
  CHECK(flink::tokenizeProgramArgs("   ") == V{});
  CHECK(flink::tokenizeProgramArgs("--input a.csv  --output\tb") == V{"--input", "a.csv", "--output", "b"});
  CHECK(flink::tokenizeProgramArgs(R"(--window "1 h" --name 'x y' "")") == V{"--window", "1 h", "--name", "x y", ""});
  CHECK(flink::tokenizeProgramArgs(R"(a"b c"d)") == V{"ab cd"});
}
