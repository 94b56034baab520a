#include "jobmanager/rest/process_handlers.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "core/process_files.h"
#include "jobmanager/rest/rest_common.h"

namespace flink {
namespace {

using namespace rest;

constexpr auto kTaskManagerAnswerTimeout = std::chrono::seconds(10);

// Flink masks the values of keys that look like secrets (GlobalConfiguration.isSensitive).
bool isSensitive(const std::string& key) {
  static const char* kMarkers[] = {"password", "secret", "token", "apikey", "api-key", "auth-params",
                                   "service-key", "basic-auth", "jaas.config", "http-headers", "account.key"};
  std::string lower = key;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  return std::any_of(std::begin(kMarkers), std::end(kMarkers),
                     [&](const char* m) { return lower.find(m) != std::string::npos; });
}

void replyText(Res& res, const std::string& text) { res.set_content(text, "text/plain; charset=utf-8"); }

// The answer of `file` of this (the JobManager's) process.
void replyOwnFile(Res& res, JobManagerView& view, Mailbox& mailbox, const std::string& file) {
  Configuration config = mailbox.call([&] { return view.config(); });
  auto text = process_files::read(config, file);
  text.ok() ? replyText(res, *text) : notFound(res, text.status().message());
}

// Asks TaskManager `tmId` for `file` and waits for its answer (at most kTaskManagerAnswerTimeout).
std::optional<json> askTaskManager(JobManagerView& view, Mailbox& mailbox, const std::string& tmId,
                                   const std::string& file, Res& res) {
  auto answer = std::make_shared<std::promise<json>>();
  std::future<json> future = answer->get_future();
  bool known = mailbox.call([&] {
    return view.requestTaskManagerFile(tmId, file, [answer](json a) { answer->set_value(std::move(a)); });
  });
  if (!known) {
    notFound(res, "TaskManager " + tmId + " not found");
    return std::nullopt;
  }
  if (future.wait_for(kTaskManagerAnswerTimeout) != std::future_status::ready) {
    reply(res, 504, {{"errors", {"TaskManager " + tmId + " did not answer in time"}}});
    return std::nullopt;
  }
  json a = future.get();
  if (a.contains("error")) {
    notFound(res, a.at("error").get<std::string>());
    return std::nullopt;
  }
  return a;
}

void replyTaskManagerFile(Res& res, JobManagerView& view, Mailbox& mailbox, const std::string& tmId,
                          const std::string& file) {
  if (auto a = askTaskManager(view, mailbox, tmId, file, res)) replyText(res, a->value("content", ""));
}

}  // namespace

void registerProcessHandlers(httplib::Server& server, JobManagerView& view, Mailbox& mailbox) {
  server.Get("/jobmanager/config", [&](const Req&, Res& res) {
    Configuration config = mailbox.call([&] { return view.config(); });
    json entries = json::array();
    for (const auto& [key, value] : config.entries()) {
      entries.push_back({{"key", key}, {"value", isSensitive(key) ? "******" : value}});
    }
    reply(res, 200, entries);
  });
  server.Get("/jobmanager/logs", [&](const Req&, Res& res) {
    Configuration config = mailbox.call([&] { return view.config(); });
    reply(res, 200, process_files::list(config));
  });
  server.Get("/jobmanager/log", [&](const Req&, Res& res) { replyOwnFile(res, view, mailbox, "log"); });
  server.Get("/jobmanager/stdout", [&](const Req&, Res& res) { replyOwnFile(res, view, mailbox, "stdout"); });
  server.Get(R"(/jobmanager/logs/([^/]+))", [&](const Req& req, Res& res) {
    replyOwnFile(res, view, mailbox, req.matches[1]);
  });

  server.Get(R"(/taskmanagers/([^/]+)/logs)", [&](const Req& req, Res& res) {
    if (auto a = askTaskManager(view, mailbox, req.matches[1], "list", res)) {
      reply(res, 200, {{"logs", a->value("logs", json::array())}});
    }
  });
  server.Get(R"(/taskmanagers/([^/]+)/log)", [&](const Req& req, Res& res) {
    replyTaskManagerFile(res, view, mailbox, req.matches[1], "log");
  });
  server.Get(R"(/taskmanagers/([^/]+)/stdout)", [&](const Req& req, Res& res) {
    replyTaskManagerFile(res, view, mailbox, req.matches[1], "stdout");
  });
  server.Get(R"(/taskmanagers/([^/]+)/logs/([^/]+))", [&](const Req& req, Res& res) {
    replyTaskManagerFile(res, view, mailbox, req.matches[1], req.matches[2]);
  });
}

}  // namespace flink
