#include "server.h"

#include "discovery.h"
#include "node_proxy.h"
#include "proto.h"
#include "tables.h"
#include "util.h"
#include "watch.h"

#include <httplib.h>

#include <poll.h>
#include <sys/socket.h>

#include <cstdio>

namespace kta {
namespace {

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

void sendJson(httplib::Response& res, int code, const json& body) {
  res.status = code;
  res.set_header("Cache-Control", "no-cache, private");
  res.set_content(body.dump(), "application/json");
}

void sendError(httplib::Response& res, const ApiError& e) { sendJson(res, e.code, statusJson(e)); }

ApiError pathNotFound() { return {404, "NotFound", "the server could not find the requested resource", json::object()}; }

std::string param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : "";
}

bool truthy(const std::string& v) { return v == "true" || v == "1"; }

std::string includeObject(const httplib::Request& req) {
  std::string v = param(req, "includeObject");
  return v.empty() ? "Metadata" : v;
}

// The object in a POST/PUT body: JSON, YAML or Kubernetes protobuf.
Result<json> decodeBody(const httplib::Request& req) {
  std::string ct = req.get_header_value("Content-Type");
  if (ct.find("protobuf") != std::string::npos || isK8sProtobuf(req.body)) return decodeK8sProtobuf(req.body);
  if (ct.find("yaml") != std::string::npos) return parseYamlOrJson(req.body);
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) return badRequest("the body of the request could not be decoded as JSON");
  return j;
}

// True when the client of a streaming response has gone away. While a watch streams, an
// HTTP/1.1 client sends nothing, so anything readable (EOF, a TLS close_notify) means it left.
bool peerGone(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, static_cast<short>(POLLIN | POLLRDHUP), 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL | POLLIN)) != 0;
}

}  // namespace

HttpServer::HttpServer(Api& api, const TlsMaterial& tls, std::string token, ServerOptions options)
    : api_(api), token_(std::move(token)), opts_(std::move(options)),
      svr_(std::make_unique<httplib::SSLServer>(tls.serverCert.get(), tls.serverKey.get())) {
  size_t threads = opts_.threads;
  svr_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // SO_REUSEADDR, so that a restarted server can bind its fixed --port again while connections
  // of its predecessor linger in TIME_WAIT. (httplib's default is SO_REUSEPORT alone, which would
  // also let two servers listen on one port at once and share its connections.)
  svr_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Responses go out in more than one write: without TCP_NODELAY each waits for the client's
  // delayed ACK (Nagle), ~40 ms per request on a keep-alive connection.
  svr_->set_tcp_nodelay(true);
  svr_->set_keep_alive_max_count(100000);
  svr_->set_keep_alive_timeout(5);
  svr_->set_read_timeout(30);
  svr_->set_write_timeout(30);
  svr_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") != "Bearer " + token_) {
      sendError(res, unauthorized());
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  auto h = [this](const httplib::Request& req, httplib::Response& res) {
    try {
      handle(req, res);
    } catch (const json::exception& e) {  // a field of an unexpected JSON type somewhere
      sendError(res, badRequest(std::string("the request could not be handled: ") + e.what()));
    } catch (const std::exception& e) {
      sendError(res, internalError(e.what()));
    }
  };
  svr_->Get(".*", h);
  svr_->Post(".*", h);
  svr_->Put(".*", h);
  svr_->Patch(".*", h);
  svr_->Delete(".*", h);
  if (opts_.verbose)
    svr_->set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::string q;
      for (const auto& [k, v] : req.params) q += (q.empty() ? "?" : "&") + k + "=" + v;
      std::fprintf(stderr, "%s %s%s -> %d (%s)\n", req.method.c_str(), req.path.c_str(), q.c_str(), res.status,
                   req.get_header_value("Content-Type").c_str());
    });
}

HttpServer::~HttpServer() = default;

Result<int> HttpServer::bind() {
  if (opts_.port == 0) {
    port_ = svr_->bind_to_any_port(opts_.host);
    if (port_ <= 0) return internalError("cannot bind " + opts_.host);
  } else {
    if (!svr_->bind_to_port(opts_.host, opts_.port)) return internalError("cannot bind " + opts_.host + ":" + std::to_string(opts_.port));
    port_ = opts_.port;
  }
  return port_;
}

void HttpServer::run() { svr_->listen_after_bind(); }

void HttpServer::stop() {
  stopping_ = true;
  svr_->stop();
}

void HttpServer::handle(const httplib::Request& req, httplib::Response& res) {
  std::vector<std::string> segs = splitPath(req.path);
  const Registry& reg = api_.registry();
  if (segs.empty()) {
    json paths = json::array({"/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v3", "/readyz", "/version"});
    for (const auto& [g, vs] : reg.groups())
      if (!g.empty()) {
        paths.push_back("/apis/" + g);
        for (const auto& v : vs) paths.push_back("/apis/" + g + "/" + v);
      }
    return sendJson(res, 200, {{"paths", paths}});
  }
  const std::string& root = segs[0];
  if (root == "version" && segs.size() == 1 && req.method == "GET") return sendJson(res, 200, versionInfo());
  if ((root == "healthz" || root == "livez" || root == "readyz") && req.method == "GET") {
    res.set_content("ok", "text/plain");
    return;
  }
  if (root == "openapi") {
    if (segs.size() >= 2 && segs[1] == "v3") {
      if (segs.size() == 2) return sendJson(res, 200, openapiV3Index(reg));
      std::string gv;
      for (size_t i = 2; i < segs.size(); ++i) gv += (i > 2 ? "/" : "") + segs[i];
      if (auto doc = openapiV3Document(reg, gv)) return sendJson(res, 200, *doc);
    }
    return sendError(res, pathNotFound());
  }
  if (root == "api") {
    if (segs.size() == 1) return sendJson(res, 200, apiVersions("127.0.0.1:" + std::to_string(port_)));
    std::string version = segs[1];
    if (segs.size() == 2) {
      if (req.method != "GET") return sendError(res, methodNotAllowed("the server does not allow this method on the requested resource"));
      if (auto l = apiResourceList(reg, "", version)) return sendJson(res, 200, *l);
      return sendError(res, pathNotFound());
    }
    return handleResource(req, res, "", version, {segs.begin() + 2, segs.end()});
  }
  if (root == "apis") {
    if (segs.size() == 1) return sendJson(res, 200, apiGroupList(reg));
    if (segs.size() == 2) {
      if (auto g = apiGroup(reg, segs[1])) return sendJson(res, 200, *g);
      return sendError(res, pathNotFound());
    }
    if (segs.size() == 3) {
      if (auto l = apiResourceList(reg, segs[1], segs[2])) return sendJson(res, 200, *l);
      return sendError(res, pathNotFound());
    }
    return handleResource(req, res, segs[1], segs[2], {segs.begin() + 3, segs.end()});
  }
  sendError(res, pathNotFound());
}

void HttpServer::handleResource(const httplib::Request& req, httplib::Response& res, const std::string& group,
                                const std::string& version, std::vector<std::string> rest) {
  bool watchPath = false;
  if (!rest.empty() && rest[0] == "watch") {
    watchPath = true;
    rest.erase(rest.begin());
  }
  Target t;
  t.version = version;
  std::string resource;
  if (rest.size() >= 2 && rest[0] == "namespaces" && !(rest.size() == 3 && (rest[2] == "status" || rest[2] == "finalize"))) {
    if (rest.size() == 2) {
      resource = "namespaces";
      t.name = rest[1];
    } else {
      t.ns = rest[1];
      resource = rest[2];
      if (rest.size() >= 4) t.name = rest[3];
      if (rest.size() >= 5) t.subresource = rest[4];
      if (rest.size() > 5) return sendError(res, pathNotFound());
    }
  } else {
    if (rest.empty()) return sendError(res, pathNotFound());
    resource = rest[0];
    if (rest.size() >= 2) t.name = rest[1];
    if (rest.size() >= 3) t.subresource = rest[2];
    if (rest.size() > 3) return sendError(res, pathNotFound());
  }
  t.type = api_.registry().find(group, version, resource);
  if (!t.type) return sendError(res, pathNotFound());
  if (!t.type->namespaced && !t.ns.empty()) return sendError(res, pathNotFound());
  if (t.type->namespaced && !t.name.empty() && t.ns.empty()) return sendError(res, pathNotFound());

  WriteOptions wo;
  wo.dryRun = param(req, "dryRun") == "All";
  wo.fieldManager = param(req, "fieldManager");
  wo.fieldValidation = param(req, "fieldValidation");
  wo.force = truthy(param(req, "force"));
  wo.userAgent = req.get_header_value("User-Agent");
  ListOptions lo{param(req, "labelSelector"), param(req, "fieldSelector"), 0, param(req, "continue")};
  if (auto l = param(req, "limit"); !l.empty()) lo.limit = static_cast<size_t>(std::strtoull(l.c_str(), nullptr, 10));

  const std::string& m = req.method;
  if (t.subresource == "exec" && t.type->group.empty() && t.type->plural == "pods" && !watchPath && (m == "GET" || m == "POST")) {
    return podExec(req, res, t);
  }
  if (t.subresource == "portforward" && t.type->group.empty() && t.type->plural == "pods" && !watchPath && (m == "GET" || m == "POST")) {
    return podPortForward(req, res, t);
  }
  if (m == "GET") {
    if (t.subresource == "log" && t.type->group.empty() && t.type->plural == "pods" && !watchPath) return podLog(req, res, t);
    if (watchPath || truthy(param(req, "watch"))) {
      if (!t.subresource.empty()) return sendError(res, pathNotFound());
      return watch(req, res, t);
    }
    if (t.name.empty()) return respond(req, res, t, api_.list(t, lo));
    return respond(req, res, t, api_.get(t));
  }
  if (watchPath) return sendError(res, methodNotAllowed("the server does not allow this method on the requested resource"));
  if (m == "POST") {
    bool binding = t.subresource == "binding" && t.type->group.empty() && t.type->plural == "pods" && !t.name.empty();
    if ((!t.name.empty() && !binding) || (t.type->namespaced && t.ns.empty())) return sendError(res, methodNotAllowed("the server does not allow this method on the requested resource"));
    Result<json> body = decodeBody(req);
    if (!body) return sendError(res, body.error());
    return respond(req, res, t, api_.create(t, *body, wo));
  }
  if (t.name.empty() && m != "DELETE")
    return sendError(res, methodNotAllowed("the server does not allow this method on the requested resource"));
  if (m == "PUT") {
    Result<json> body = decodeBody(req);
    if (!body) return sendError(res, body.error());
    return respond(req, res, t, api_.update(t, *body, wo));
  }
  if (m == "PATCH") return respond(req, res, t, api_.patch(t, req.get_header_value("Content-Type"), req.body, wo));
  if (m == "DELETE") {
    DeleteOptions d;
    d.propagationPolicy = param(req, "propagationPolicy");
    d.dryRun = wo.dryRun;
    if (!req.body.empty()) {
      json b = json::parse(req.body, nullptr, false);
      if (b.is_object()) {
        if (b.contains("propagationPolicy") && b["propagationPolicy"].is_string()) d.propagationPolicy = b["propagationPolicy"];
        if (b.value("orphanDependents", false)) d.propagationPolicy = "Orphan";
        if (b.contains("preconditions") && b["preconditions"].is_object()) {
          d.preconditionUid = b["preconditions"].value("uid", "");
          d.preconditionRv = b["preconditions"].value("resourceVersion", "");
        }
        if (b.contains("dryRun") && b["dryRun"].is_array() && !b["dryRun"].empty()) d.dryRun = true;
      }
    }
    if (t.name.empty()) return respond(req, res, t, api_.removeCollection(t, lo, d));
    return respond(req, res, t, api_.remove(t, d));
  }
  sendError(res, methodNotAllowed("the server does not allow this method on the requested resource"));
}

void HttpServer::respond(const httplib::Request& req, httplib::Response& res, const Target& t, Result<Reply> r) {
  if (!r) return sendError(res, r.error());
  for (const auto& w : r->warnings) res.set_header("Warning", "299 - " + json(w).dump());
  json& body = r->body;
  std::string accept = req.get_header_value("Accept");
  bool isList = body.contains("items") && body["items"].is_array() && t.name.empty();
  if (t.subresource != "scale" && body.value("kind", "") != "Status") {
    if (wantsTable(accept)) {
      std::vector<json> objs;
      std::string rv;
      if (isList) {
        objs.assign(body["items"].begin(), body["items"].end());
        rv = body["metadata"].value("resourceVersion", "");
      } else {
        objs.push_back(body);
      }
      json table = toTable(*t.type, t.version, objs, rv, includeObject(req));
      if (isList && body["metadata"].contains("continue")) table["metadata"]["continue"] = body["metadata"]["continue"];
      return sendJson(res, r->code, table);
    }
    if (accept.find("as=PartialObjectMetadata") != std::string::npos) {
      auto partial = [](const json& o) {
        return json{{"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", o.value("metadata", json::object())}};
      };
      if (isList) {
        json items = json::array();
        for (const auto& o : body["items"]) items.push_back(partial(o));
        return sendJson(res, r->code, {{"kind", "PartialObjectMetadataList"}, {"apiVersion", "meta.k8s.io/v1"},
                                       {"metadata", body["metadata"]}, {"items", items}});
      }
      return sendJson(res, r->code, partial(body));
    }
  }
  sendJson(res, r->code, body);
}

// pods/log: the pod and container checked here, the log itself read from the kubelet of the
// pod's node (GET /containerLogs/{ns}/{pod}/{container}) and passed on, streamed with follow.
void HttpServer::podLog(const httplib::Request& req, httplib::Response& res, const Target& t) {
  Target podTarget = t;
  podTarget.subresource.clear();
  Result<Reply> pod = api_.get(podTarget);
  if (!pod) return sendError(res, pod.error());
  Result<std::string> container = logContainer(pod->body, param(req, "container"));
  if (!container) return sendError(res, container.error());
  const std::string nodeName = pod->body.value("spec", json::object()).value("nodeName", "");
  if (nodeName.empty()) {  // not scheduled: an empty log, as the real server answers
    res.status = 200;
    return res.set_content("", "text/plain");
  }
  auto address = kubeletOf(nodeName);
  if (!address) return sendError(res, address.error());
  std::string query;
  for (const char* p : {"follow", "previous", "tailLines", "limitBytes", "sinceSeconds", "sinceTime", "timestamps"}) {
    if (req.has_param(p)) query += (query.empty() ? "?" : "&") + std::string(p) + "=" + httplib::detail::encode_query_param(param(req, p));
  }
  const std::string path = "/containerLogs/" + t.ns + "/" + t.name + "/" + *container + query;
  auto stream = KubeletStream::open(address->first, address->second, path);
  Result<int> code = stream->status(std::chrono::seconds(10));
  if (!code) return sendError(res, code.error());
  if (*code < 200 || *code > 206) return sendError(res, kubeletError(*code, stream->rest(), t.name));
  res.status = 200;
  res.set_header("Cache-Control", "no-cache, private");
  if (!truthy(param(req, "follow"))) return res.set_content(stream->rest(), "text/plain");
  int fd = req.ssl ? SSL_get_fd(req.ssl) : -1;
  // httplib gzips text/* (buffering a stream until the end) by a case-sensitive prefix test;
  // media types are case-insensitive, so "Text/plain" is text/plain that streams.
  res.set_chunked_content_provider("Text/plain; charset=utf-8", [stream, fd](size_t, httplib::DataSink& sink) {
    if (peerGone(fd)) {
      stream->cancel();
      return false;
    }
    std::string out;
    bool more = stream->take(out, std::chrono::milliseconds(500));
    if (!out.empty() && !sink.write(out.data(), out.size())) {
      stream->cancel();
      return false;
    }
    if (!more) sink.done();
    return true;
  });
}

Result<std::pair<std::string, int>> HttpServer::kubeletOf(const std::string& nodeName) {
  Target nodeTarget{api_.registry().find("", "v1", "nodes"), "v1", "", nodeName, ""};
  Result<Reply> node = api_.get(nodeTarget);
  if (!node) return node.error();
  return kubeletAddress(node->body);
}

// pods/exec: the pod and container checked here as the real server checks them, then the
// client's upgrade request forwarded to the kubelet of the pod's node (GET|POST
// /exec/{ns}/{pod}/{container}?command=...) and, once that has switched protocols, the client's
// connection joined to the kubelet's until either ends. The kubelet's refusals (a container not
// running, SPDY, a TTY) reach the client as the kubelet words them, in plain text.
void HttpServer::podExec(const httplib::Request& req, httplib::Response& res, const Target& t) {
  Target podTarget = t;
  podTarget.subresource.clear();
  Result<Reply> pod = api_.get(podTarget);
  if (!pod) return sendError(res, pod.error());
  const std::string phase = pod->body.value("status", json::object()).value("phase", "");
  if (phase == "Succeeded" || phase == "Failed") {
    return sendError(res, badRequest("cannot exec into a container in a completed pod; current phase is " + phase));
  }
  Result<std::string> container = logContainer(pod->body, param(req, "container"));
  if (!container) return sendError(res, container.error());
  std::string query;
  for (const auto& [name, value] : req.params) {  // a multimap: the command's words stay in order
    if (name == "command" || name == "stdin" || name == "stdout" || name == "stderr" || name == "tty") {
      query += (query.empty() ? "?" : "&") + name + "=" + httplib::detail::encode_query_param(value);
    }
  }
  proxyUpgrade(req, res, pod->body, "/exec/" + t.ns + "/" + t.name + "/" + *container + query);
}

// pods/portforward: the client's upgrade request (a WebSocket tunnelling SPDY, or SPDY) forwarded
// to GET|POST /portForward/{ns}/{pod} of the kubelet of the pod's node, then the two connections
// joined, as for exec. (kubectl itself refuses a pod that is not Running.)
void HttpServer::podPortForward(const httplib::Request& req, httplib::Response& res, const Target& t) {
  Target podTarget = t;
  podTarget.subresource.clear();
  Result<Reply> pod = api_.get(podTarget);
  if (!pod) return sendError(res, pod.error());
  std::string query;
  for (size_t i = 0; i < req.get_param_value_count("ports"); ++i) {
    query += (query.empty() ? "?" : "&") + std::string("ports=") + httplib::detail::encode_query_param(req.get_param_value("ports", i));
  }
  proxyUpgrade(req, res, pod->body, "/portForward/" + t.ns + "/" + t.name + query);
}

// An upgrade request forwarded to the kubelet of the pod's node at path; after its 101 the
// client's connection is joined to the kubelet's until either ends. The kubelet's refusals reach
// the client as the kubelet words them, in plain text.
void HttpServer::proxyUpgrade(const httplib::Request& req, httplib::Response& res, const json& pod, const std::string& path) {
  const std::string nodeName = pod.value("spec", json::object()).value("nodeName", "");
  if (nodeName.empty()) {
    return sendError(res, badRequest("pod " + pod["metadata"].value("name", "") + " does not have a host assigned"));
  }
  auto address = kubeletOf(nodeName);
  if (!address) return sendError(res, address.error());
  std::vector<std::pair<std::string, std::string>> headers;
  for (const char* h : {"Connection", "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol",
                        "X-Stream-Protocol-Version"}) {
    for (size_t i = 0; i < req.get_header_value_count(h); ++i) headers.emplace_back(h, req.get_header_value(h, i));
  }
  auto upgrade = KubeletUpgrade::open(address->first, address->second, req.method, path, headers);
  if (!upgrade) return sendError(res, upgrade.error());
  if (upgrade->status() != 101) {
    res.status = upgrade->status();
    return res.set_content(upgrade->body(), "text/plain; charset=utf-8");
  }
  if (!req.ssl) return sendError(res, internalError("no TLS connection to upgrade"));
  upgrade->splice(const_cast<SSL*>(req.ssl), stopping_);  // httplib hands the session out const; it is the stream's now
  // The connection was the stream's and is shut now: httplib's own response to it goes nowhere.
  res.status = 101;
  res.set_header("Connection", "close");
}

void HttpServer::watch(const httplib::Request& req, httplib::Response& res, const Target& t) {
  WatchOptions w;
  w.type = t.type;
  w.version = t.version;
  w.ns = t.ns;
  auto labels = LabelSelector::parse(param(req, "labelSelector"));
  if (!labels) return sendError(res, labels.error());
  std::string fs = param(req, "fieldSelector");
  if (!t.name.empty()) fs = fs.empty() ? "metadata.name=" + t.name : fs + ",metadata.name=" + t.name;
  auto fields = FieldSelector::parse(fs);
  if (!fields) return sendError(res, fields.error());
  w.labels = *labels;
  w.fields = *fields;
  std::string rv = param(req, "resourceVersion");
  if (!rv.empty()) {
    char* end = nullptr;
    w.resourceVersion = std::strtoull(rv.c_str(), &end, 10);
    if (!end || *end || rv.find_first_not_of("0123456789") != std::string::npos) return sendError(res, badRequest("resourceVersion: Invalid value: \"" + rv + "\": must be an integer"));
  }
  w.bookmarks = truthy(param(req, "allowWatchBookmarks"));
  w.sendInitialEvents = truthy(param(req, "sendInitialEvents"));
  if (auto ts = param(req, "timeoutSeconds"); !ts.empty() && std::strtoll(ts.c_str(), nullptr, 10) > 0)
    w.timeout = std::chrono::seconds(std::strtoll(ts.c_str(), nullptr, 10));
  w.bookmarkInterval = opts_.bookmarkInterval;
  bool table = wantsTable(req.get_header_value("Accept"));
  std::string include = includeObject(req);
  TypePtr type = t.type;
  std::string version = t.version;
  w.render = [type, version, table, include](const json& stored) {
    json obj = Api::present(*type, version, stored);
    if (!table) return obj;
    return toTable(*type, version, {obj}, obj["metadata"].value("resourceVersion", ""), include);
  };
  w.plain = !table;
  auto session = std::make_shared<WatchSession>(api_.store(), std::move(w));
  int fd = req.ssl ? SSL_get_fd(req.ssl) : -1;
  res.status = 200;
  res.set_header("Cache-Control", "no-cache, private");
  // A media-type parameter keeps httplib from gzip-buffering the stream.
  res.set_chunked_content_provider("application/json;stream=watch", [session, fd](size_t, httplib::DataSink& sink) {
    if (peerGone(fd)) return false;
    std::string out;
    bool more = session->poll(out);
    if (!out.empty() && !sink.write(out.data(), out.size())) return false;
    if (!more) sink.done();
    return true;
  });
}

}  // namespace kta
