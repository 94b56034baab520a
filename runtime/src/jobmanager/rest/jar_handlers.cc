#include "jobmanager/rest/jar_handlers.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "flink/common/ids.h"
#include "graph/job_graph.h"
#include "jobmanager/rest/rest_common.h"

namespace flink {
namespace {

using namespace rest;

// What /jars/{jarid}/run and /plan were asked for, body fields first, then query parameters.
struct RunRequest {
  std::string entryClass;
  std::vector<std::string> args;
  std::optional<int64_t> parallelism;
  std::string jobId;
  std::string savepointPath;
  bool allowNonRestoredState = false;
  std::string restoreMode;
  std::map<std::string, std::string> flinkConfiguration;
};

void badRequest(Res& res, const std::string& message) { reply(res, 400, {{"errors", {message}}}); }

// Reads the request; answers 400 naming the field or parameter and returns nullopt when invalid.
std::optional<RunRequest> parseRunRequest(const Req& req, const Body& body, Res& res) {
  if (!checkFields(body, {{"entryClass", FieldType::kString},
                          {"programArgs", FieldType::kString},
                          {"programArgsList", FieldType::kStringArray},
                          {"parallelism", FieldType::kInteger},
                          {"jobId", FieldType::kString},
                          {"savepointPath", FieldType::kString},
                          {"allowNonRestoredState", FieldType::kBoolean},
                          {"restoreMode", FieldType::kString, {"CLAIM", "NO_CLAIM", "LEGACY"}},
                          {"flinkConfiguration", FieldType::kStringMap}},
                   res)) {
    return std::nullopt;
  }
  auto str = [&](const char* field, const char* query) {
    auto it = body.find(field);
    if (it != body.end() && it->is_string()) return it->get<std::string>();
    return query ? param(req, query) : std::string();
  };
  RunRequest r;
  r.entryClass = str("entryClass", "entry-class");
  r.jobId = str("jobId", nullptr);
  r.savepointPath = str("savepointPath", "savepointPath");
  r.restoreMode = str("restoreMode", nullptr);
  bool hasList = body.contains("programArgsList") && !body["programArgsList"].is_null();
  bool hasString = body.contains("programArgs") && !body["programArgs"].is_null();
  if (hasList && hasString) {
    badRequest(res, "Confusing request: programArgs and programArgsList are specified, please, use only programArgsList");
    return std::nullopt;
  }
  if (hasList) {
    r.args = body["programArgsList"].get<std::vector<std::string>>();
  } else if (hasString) {
    r.args = tokenizeProgramArgs(body["programArgs"].get<std::string>());
  } else if (req.has_param("programArg")) {
    std::string list = req.get_param_value("programArg");
    for (size_t start = 0; start <= list.size();) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      if (comma > start) r.args.push_back(list.substr(start, comma - start));
      start = comma + 1;
    }
  } else if (req.has_param("program-args")) {
    r.args = tokenizeProgramArgs(req.get_param_value("program-args"));
  }
  if (body.contains("parallelism") && !body["parallelism"].is_null()) {
    r.parallelism = body["parallelism"].get<int64_t>();
  } else if (req.has_param("parallelism")) {
    std::string p = req.get_param_value("parallelism");
    try {
      size_t used = 0;
      r.parallelism = std::stoll(p, &used);
      if (used != p.size()) throw std::invalid_argument(p);
    } catch (const std::exception&) {
      badRequest(res, "query parameter 'parallelism' must be an integer, got '" + p + "'");
      return std::nullopt;
    }
  }
  // Flink's ExecutionConfig.PARALLELISM_DEFAULT (-1) means "the cluster's default".
  if (r.parallelism && *r.parallelism == -1) r.parallelism.reset();
  if (r.parallelism && (*r.parallelism < 1 || *r.parallelism > 32768)) {
    badRequest(res, "field 'parallelism' must be between 1 and 32768 (or -1 for the default), got " +
                        std::to_string(*r.parallelism));
    return std::nullopt;
  }
  if (body.contains("allowNonRestoredState") && body["allowNonRestoredState"].is_boolean()) {
    r.allowNonRestoredState = body["allowNonRestoredState"].get<bool>();
  } else if (req.has_param("allowNonRestoredState")) {
    std::string v = req.get_param_value("allowNonRestoredState");
    if (v != "true" && v != "false") {
      badRequest(res, "query parameter 'allowNonRestoredState' must be true or false, got '" + v + "'");
      return std::nullopt;
    }
    r.allowNonRestoredState = v == "true";
  }
  if (!r.jobId.empty() && (r.jobId.size() != 32 || r.jobId.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    badRequest(res, "field 'jobId': expected 32 lowercase hexadecimal digits, got '" + r.jobId + "'");
    return std::nullopt;
  }
  if (body.contains("flinkConfiguration") && body["flinkConfiguration"].is_object()) {
    for (const auto& [k, v] : body["flinkConfiguration"].items()) r.flinkConfiguration[k] = v.get<std::string>();
  }
  return r;
}

// The job a run or plan request describes, built (its main() run) to check it. Answers 400 and
// returns nullopt when the jar, the entry class or the job is not right.
struct PreparedJob {
  JarFile jar;
  JobSubmission sub;
  std::shared_ptr<StreamExecutionEnvironment> env;
  JobGraph jobGraph;
};

std::optional<PreparedJob> prepare(const std::string& jarId, const RunRequest& r, JobManagerView& view, Mailbox& mailbox,
                                   JarStore& jars, Res& res) {
  auto jar = jars.find(jarId);
  if (!jar.ok()) {
    badRequest(res, jar.status().message());
    return std::nullopt;
  }
  std::string entry = r.entryClass;
  std::string known;
  for (const auto& e : jar->entryClasses) known += (known.empty() ? "" : ", ") + e;
  if (entry.empty()) {
    if (jar->entryClasses.size() != 1) {
      badRequest(res, "field 'entryClass' is required: jar " + jarId + " registers " +
                          std::to_string(jar->entryClasses.size()) + " entry classes (" + known + ")");
      return std::nullopt;
    }
    entry = jar->entryClasses[0];
  }
  if (std::find(jar->entryClasses.begin(), jar->entryClasses.end(), entry) == jar->entryClasses.end()) {
    badRequest(res, "field 'entryClass': '" + entry + "' is not registered by jar " + jarId + " (entry classes: " + known + ")");
    return std::nullopt;
  }
  PreparedJob p;
  p.jar = *jar;
  p.sub.jobId = r.jobId.empty() ? randomId() : r.jobId;
  p.sub.spec = {jar->jarURI, entry, r.args};
  p.sub.config = mailbox.call([&] { return view.config(); });
  for (const auto& [k, v] : r.flinkConfiguration) p.sub.config.set(k, v);
  if (r.parallelism) p.sub.config.set(options::kParallelismDefault, std::to_string(*r.parallelism));
  if (!r.savepointPath.empty()) p.sub.config.set("execution.savepoint.path", r.savepointPath);
  if (r.allowNonRestoredState) p.sub.config.set("execution.savepoint.ignore-unclaimed-state", "true");
  if (!r.restoreMode.empty()) p.sub.config.set("execution.savepoint-restore-mode", r.restoreMode);
  auto env = buildJob(p.sub.spec, p.sub.config);
  if (!env.ok()) {
    badRequest(res, "Could not execute application: " + env.status().message());
    return std::nullopt;
  }
  auto parallelism = p.sub.config.getInt(options::kParallelismDefault, 1);
  auto maxParallelism = p.sub.config.getInt(options::kMaxParallelism, 128);
  for (const Status& s : {parallelism.status(), maxParallelism.status()}) {
    if (!s.ok()) {
      badRequest(res, s.message());
      return std::nullopt;
    }
  }
  auto jg = buildJobGraph((*env)->streamGraph(), static_cast<int>(*parallelism), static_cast<int>(*maxParallelism));
  if (!jg.ok()) {
    badRequest(res, "Could not execute application: " + jg.status().message());
    return std::nullopt;
  }
  p.env = *env;
  p.jobGraph = std::move(*jg);
  if (!jar->builtin) p.sub.library = blob::BlobRef{jar->sha256, jar->name, 0};
  return p;
}

// Flink's JarRunHandler: answers {"jobid"} once the Dispatcher accepted the job.
void run(const std::string& jarId, const RunRequest& r, JobManagerView& view, Mailbox& mailbox, JarStore& jars, Res& res) {
  auto prepared = prepare(jarId, r, view, mailbox, jars, res);
  if (!prepared) return;
  std::string jobId = prepared->sub.jobId;
  auto outcome = mailbox.call([&]() -> std::pair<int, std::string> {
    if (view.job(jobId)) return {409, "Job " + jobId + " has already been submitted."};
    Status s = view.submitJob(std::move(prepared->sub));
    return s.ok() ? std::pair<int, std::string>{200, ""} : std::pair<int, std::string>{500, s.message()};
  });
  if (outcome.first != 200) return reply(res, outcome.first, {{"errors", {outcome.second}}});
  reply(res, 200, {{"jobid", jobId}});
}

void plan(const std::string& jarId, const RunRequest& r, JobManagerView& view, Mailbox& mailbox, JarStore& jars, Res& res) {
  auto prepared = prepare(jarId, r, view, mailbox, jars, res);
  if (!prepared) return;
  reply(res, 200, {{"plan", planJson(prepared->sub.jobId, prepared->jobGraph.jobName, &prepared->jobGraph)}});
}

// POST /jars/upload: streams the one file part of a multipart body into the upload directory.
void upload(const Req& req, Res& res, const httplib::ContentReader& reader, JarStore& jars, size_t maxBytes) {
  auto refuse = [&](int status, const std::string& message) {
    reply(res, status, {{"errors", {message}}});
    res.set_header("Connection", "close");  // the rest of the body (if any) is not read
  };
  if (req.has_header("Content-Length")) {
    uint64_t length = 0;
    try {
      length = std::stoull(req.get_header_value("Content-Length"));
    } catch (const std::exception&) {
      return refuse(400, "Content-Length '" + req.get_header_value("Content-Length") + "' is not a number");
    }
    if (length > maxBytes) {
      return refuse(413, "upload of " + std::to_string(length) + " bytes exceeds " + kUploadMaxSize + " (" +
                             std::to_string(maxBytes) + " bytes)");
    }
  }
  if (!req.is_multipart_form_data()) {
    return refuse(400, "Exactly 1 file must be sent, received 0 (the upload must be multipart/form-data, e.g. "
                       "curl -F jarfile=@job.so)");
  }
  const std::string tmp = jars.tempPath();
  std::ofstream out;
  int files = 0;
  bool writing = false, tooLarge = false;
  size_t total = 0;
  std::string fileName;
  bool ok = reader(
      [&](const httplib::MultipartFormData& part) {
        writing = false;
        if (part.filename.empty()) return true;  // a plain form field: ignored, as Flink does
        if (++files == 1) {
          fileName = part.filename;
          out.open(tmp, std::ios::binary | std::ios::trunc);
          writing = true;
        }
        return true;
      },
      [&](const char* data, size_t n) {
        total += n;
        if (total > maxBytes) {
          tooLarge = true;
          return false;
        }
        if (writing) out.write(data, static_cast<std::streamsize>(n));
        return true;
      });
  bool written = static_cast<bool>(out);
  out.close();
  auto discard = [&] {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
  };
  if (tooLarge) {
    discard();
    return refuse(413, "upload exceeds " + std::string(kUploadMaxSize) + " (" + std::to_string(maxBytes) + " bytes)");
  }
  if (!ok) {
    discard();
    return refuse(400, "malformed multipart/form-data body (a boundary in Content-Type and well-formed parts are required)");
  }
  if (files != 1) {
    discard();
    return reply(res, 400, {{"errors", {"Exactly 1 file must be sent, received " + std::to_string(files) + "."}}});
  }
  if (!written) {
    discard();
    return reply(res, 500, {{"errors", {"cannot write the upload to web.upload.dir " + jars.dir()}}});
  }
  auto jar = jars.upload(fileName, tmp);
  if (!jar.ok()) return badRequest(res, jar.status().message());
  reply(res, 200, {{"filename", jar->path}, {"status", "success"}});
}

json listJars(const JarStore& jars, const std::string& address) {
  json files = json::array();
  for (const JarFile& jar : jars.list()) {
    json entries = json::array();
    for (const auto& e : jar.entryClasses) {
      entries.push_back({{"name", e}, {"description", jar.builtin ? "compiled into the runtime" : "FLINK_JOB of " + jar.name}});
    }
    files.push_back({{"id", jar.id}, {"name", jar.name}, {"uploaded", jar.uploadedMs}, {"entry", entries}});
  }
  return {{"address", address}, {"files", files}};
}

}  // namespace

std::vector<std::string> tokenizeProgramArgs(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool inToken = false;
  char quote = 0;
  for (char c : s) {
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else {
        cur += c;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
      inToken = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (inToken) out.push_back(cur);
      cur.clear();
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (inToken) out.push_back(cur);
  return out;
}

size_t uploadMaxSize(const Configuration& config) {
  constexpr size_t kDefault = 100u << 20;
  auto v = parseMemoryBytes(config.getString(kUploadMaxSize, std::to_string(kDefault)));
  return v.ok() && *v > 0 ? static_cast<size_t>(*v) : kDefault;
}

void registerJarHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox, JarStore& jars,
                         const std::string& address) {
  const size_t maxJson = maxContentLength(view);
  const size_t maxUpload = uploadMaxSize(view.config());
  server.Post("/jars/upload", [&jars, maxUpload](const Req& req, Res& res, const httplib::ContentReader& reader) {
    upload(req, res, reader, jars, maxUpload);
  });
  server.Get("/jars", [&jars, &address](const Req&, Res& res) { reply(res, 200, listJars(jars, address)); });
  // With a ContentReader (left unused) so that a DELETE with a body reaches it too (flink/common/http.h).
  auto remove = [&jars](const Req& req, Res& res) {
    Status s = jars.remove(req.matches[1]);
    s.ok() ? reply(res, 200, json::object()) : badRequest(res, s.message());
  };
  server.Delete(R"(/jars/([^/]+))", remove);
  server.Delete(R"(/jars/([^/]+))", [remove](const Req& req, Res& res, const httplib::ContentReader&) {
    remove(req, res);
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) res.set_header("Connection", "close");
  });
  registerJsonBodyHandler(server, "POST", R"(/jars/([^/]+)/run)", maxJson,
                          [&](const Req& req, Res& res, const Body& body) {
                            auto r = parseRunRequest(req, body, res);
                            if (r) run(req.matches[1], *r, view, mailbox, jars, res);
                          });
  registerJsonBodyHandler(server, "POST", R"(/jars/([^/]+)/plan)", maxJson,
                          [&](const Req& req, Res& res, const Body& body) {
                            auto r = parseRunRequest(req, body, res);
                            if (r) plan(req.matches[1], *r, view, mailbox, jars, res);
                          });
  server.Get(R"(/jars/([^/]+)/plan)", [&](const Req& req, Res& res) {
    auto r = parseRunRequest(req, json::object(), res);
    if (r) plan(req.matches[1], *r, view, mailbox, jars, res);
  });
}

}  // namespace flink
