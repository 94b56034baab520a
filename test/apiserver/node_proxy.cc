#include "node_proxy.h"

#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <optional>
#include <mutex>
#include <thread>

namespace kta {

namespace {

std::vector<std::string> containerNames(const json& pod) {
  std::vector<std::string> names;
  const json spec = pod.value("spec", json::object());
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    for (const json& c : spec.value(list, json::array())) names.push_back(c.value("name", ""));
  }
  return names;
}

std::string goList(const std::vector<std::string>& items) {  // fmt %s of a Go []string
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? " " : "") + items[i];
  return out + "]";
}

}  // namespace

Result<std::string> logContainer(const json& pod, const std::string& requested) {
  const std::string name = pod["metadata"].value("name", "");
  std::vector<std::string> all = containerNames(pod);
  if (requested.empty()) {
    const json containers = pod.value("spec", json::object()).value("containers", json::array());
    if (containers.size() == 1) return containers[0].value("name", "");
    if (containers.empty()) return badRequest("a container name must be specified for pod " + name);
    return badRequest("a container name must be specified for pod " + name + ", choose one of: " + goList(all));
  }
  if (std::find(all.begin(), all.end(), requested) == all.end()) {
    return badRequest("container " + requested + " is not valid for pod " + name);
  }
  return requested;
}

Result<std::pair<std::string, int>> kubeletAddress(const json& node) {
  const json status = node.value("status", json::object());
  int port = 0;
  if (status.contains("daemonEndpoints") && status["daemonEndpoints"].contains("kubeletEndpoint")) {
    port = status["daemonEndpoints"]["kubeletEndpoint"].value("Port", 0);
  }
  if (port <= 0) port = 10250;
  for (const char* type : {"InternalIP", "ExternalIP", "Hostname"}) {
    for (const json& a : status.value("addresses", json::array())) {
      if (a.value("type", "") == type && !a.value("address", "").empty()) return std::make_pair(a.value("address", ""), port);
    }
  }
  return internalError("node " + node["metadata"].value("name", "") + " has no address");
}

ApiError kubeletError(int code, const std::string& body, const std::string& pod) {
  if (code == 400) return badRequest(body);
  if (code == 404) {
    return {404, "NotFound", "the server could not find the requested resource",
            {{"name", pod}, {"kind", "pods"}, {"causes", {{{"reason", "UnexpectedServerResponse"}, {"message", body}}}}}};
  }
  return internalError("Internal error occurred: " + body);
}

struct KubeletStream::State {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<int> status;
  std::string error;
  std::string buffer;
  bool done = false;
  bool cancelled = false;
  std::unique_ptr<httplib::Client> client;
};

std::shared_ptr<KubeletStream> KubeletStream::open(const std::string& host, int port, const std::string& pathAndQuery) {
  auto s = std::make_shared<State>();
  s->client = std::make_unique<httplib::Client>(host, port);
  s->client->set_connection_timeout(5, 0);
  s->client->set_read_timeout(24 * 3600, 0);  // a followed log may be silent for long
  std::thread([s, host, port, pathAndQuery] {
    auto onHeaders = [s](const httplib::Response& r) {
      std::lock_guard<std::mutex> lock(s->mu);
      s->status = r.status;
      s->cv.notify_all();
      return true;
    };
    auto onData = [s](const char* data, size_t len) {
      std::lock_guard<std::mutex> lock(s->mu);
      s->buffer.append(data, len);
      s->cv.notify_all();
      return !s->cancelled;
    };
    auto result = s->client->Get(pathAndQuery, httplib::Headers{{"Accept-Encoding", "identity"}}, onHeaders, onData);
    std::lock_guard<std::mutex> lock(s->mu);
    if (!result && !s->status) {
      s->error = "Get \"http://" + host + ":" + std::to_string(port) + pathAndQuery + "\": " + httplib::to_string(result.error());
    } else if (result && !s->status) {
      s->status = result->status;
      s->buffer += result->body;
    }
    s->done = true;
    s->cv.notify_all();
  }).detach();
  return std::shared_ptr<KubeletStream>(new KubeletStream(s));
}

Result<int> KubeletStream::status(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(s_->mu);
  s_->cv.wait_for(lock, timeout, [&] { return s_->status.has_value() || s_->done; });
  if (s_->status) return *s_->status;
  return internalError(s_->error.empty() ? "the kubelet did not answer" : s_->error);
}

bool KubeletStream::take(std::string& out, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(s_->mu);
  s_->cv.wait_for(lock, wait, [&] { return !s_->buffer.empty() || s_->done; });
  out += s_->buffer;
  s_->buffer.clear();
  return !s_->done;
}

std::string KubeletStream::rest() {
  std::string out;
  while (take(out, std::chrono::seconds(1))) {
  }
  return out;
}

void KubeletStream::cancel() {
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    if (s_->done || s_->cancelled) return;
    s_->cancelled = true;
  }
  s_->client->stop();
}

KubeletStream::~KubeletStream() { cancel(); }

}  // namespace kta
