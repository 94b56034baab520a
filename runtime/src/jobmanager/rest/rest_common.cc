#include "jobmanager/rest/rest_common.h"

#include <algorithm>

namespace flink::rest {

void reply(Res& res, int status, const json& body) {
  res.status = status;
  // Replies echo paths, parameters and job messages, which may be any bytes: invalid UTF-8 is
  // replaced (U+FFFD) rather than making the serialization throw.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void notFound(Res& res, const std::string& what) {
  reply(res, 404, {{"errors", {what}}});
}

std::string param(const Req& req, const char* name, const std::string& fallback) {
  return req.has_param(name) ? req.get_param_value(name) : fallback;
}

namespace {

const char* typeName(FieldType t) {
  switch (t) {
    case FieldType::kString: return "a string";
    case FieldType::kBoolean: return "a boolean";
    case FieldType::kInteger: return "an integer";
    case FieldType::kStringArray: return "an array of strings";
    case FieldType::kStringMap: return "an object with string values";
  }
  return "?";
}

bool hasType(const json& v, FieldType t) {
  switch (t) {
    case FieldType::kString: return v.is_string();
    case FieldType::kBoolean: return v.is_boolean();
    case FieldType::kInteger: return v.is_number_integer();
    case FieldType::kStringArray:
    case FieldType::kStringMap:
      if (t == FieldType::kStringArray ? !v.is_array() : !v.is_object()) return false;
      return std::all_of(v.begin(), v.end(), [](const json& item) { return item.is_string(); });
  }
  return false;
}

void refuse(Res& res, int status, const std::string& message) {
  reply(res, status, {{"errors", {message}}});
  res.set_header("Connection", "close");
}

// Reads the body of `req` by the rules of registerJsonBodyHandler; false after answering.
bool readBody(const Req& req, Res& res, const httplib::ContentReader& reader, size_t maxBytes, std::string* body) {
  bool chunked = req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
  if (!chunked && !req.has_header("Content-Length")) return true;  // no body (RFC 9112 6.3)
  if (req.is_multipart_form_data()) {
    // httplib reads a multipart body only part by part (a plain reader would throw).
    refuse(res, 400, "request body must be a JSON object, not multipart/form-data");
    return false;
  }
  if (!chunked) {
    const std::string& text = req.get_header_value("Content-Length");
    uint64_t length = 0;
    try {
      length = std::stoull(text);
    } catch (const std::exception&) {
      refuse(res, 400, "Content-Length '" + text + "' is not a number");
      return false;
    }
    if (length > maxBytes) {
      refuse(res, 413, "request body of " + std::to_string(length) + " bytes exceeds " +
                           options::kRestMaxContentLength + " (" + std::to_string(maxBytes) + " bytes)");
      return false;
    }
  }
  bool tooLarge = false;
  reader([&](const char* data, size_t n) {
    if (body->size() + n > maxBytes) {
      tooLarge = true;
      return false;  // stop reading
    }
    body->append(data, n);
    return true;
  });
  if (tooLarge) {
    refuse(res, 413, std::string("request body exceeds ") + options::kRestMaxContentLength + " (" +
                         std::to_string(maxBytes) + " bytes)");
    return false;
  }
  return true;
}

}  // namespace

void registerJsonBodyHandler(httplib::Server& server, const std::string& method, const std::string& pattern,
                             size_t maxBytes, BodyHandler handler) {
  auto wrapped = [maxBytes, handler = std::move(handler)](const Req& req, Res& res, const httplib::ContentReader& reader) {
    std::string text;
    if (!readBody(req, res, reader, maxBytes, &text)) return;
    Body body = json::object();
    if (!text.empty()) {
      try {
        body = json::parse(text);
      } catch (const std::exception& e) {
        return reply(res, 400, {{"errors", {std::string("request body is not valid JSON: ") + e.what()}}});
      }
      if (!body.is_object()) return reply(res, 400, {{"errors", {"request body must be a JSON object"}}});
    }
    handler(req, res, body);
  };
  if (method == "POST") {
    server.Post(pattern, wrapped);
  } else {
    server.Patch(pattern, wrapped);
  }
}

size_t maxContentLength(const JobManagerView& view) {
  constexpr size_t kDefault = 1 << 20;
  auto v = parseMemoryBytes(view.config().getString(options::kRestMaxContentLength, std::to_string(kDefault)));
  return v.ok() && *v > 0 ? static_cast<size_t>(*v) : kDefault;
}

bool checkFields(const Body& body, const std::vector<FieldSpec>& fields, Res& res) {
  for (const FieldSpec& f : fields) {
    auto it = body.find(f.name);
    if (it == body.end() || it->is_null()) continue;
    if (!hasType(*it, f.type)) {
      reply(res, 400, {{"errors", {std::string("field '") + f.name + "' must be " + typeName(f.type) + ", got " +
                                   it->type_name() + " " + it->dump()}}});
      return false;
    }
    if (!f.allowed.empty() && std::find(f.allowed.begin(), f.allowed.end(), it->get<std::string>()) == f.allowed.end()) {
      std::string list;
      for (const auto& a : f.allowed) list += (list.empty() ? "" : ", ") + a;
      reply(res, 400, {{"errors", {std::string("field '") + f.name + "': unknown value " + it->dump() + " (expected one of " +
                                   list + ")"}}});
      return false;
    }
  }
  return true;
}

json planJson(const std::string& jobId, const std::string& name, const JobGraph* jg) {
  json nodes = json::array();
  if (jg) {
    for (const auto& v : jg->vertices) {
      json node = {{"id", v.id}, {"parallelism", v.parallelism}, {"operator", ""}, {"operator_strategy", ""},
                   {"description", v.name}};
      if (!v.isSource()) {
        json inputs = json::array();
        for (size_t num = 0; num < v.inputs.size(); ++num) {
          const JobEdge& e = jg->edges[v.inputs[num]];
          const char* ship = e.partitioning == Partitioning::kHash ? "HASH"
                             : e.partitioning == Partitioning::kRebalance ? "REBALANCE" : "FORWARD";
          inputs.push_back({{"num", num}, {"id", jg->vertices[e.sourceVertex].id}, {"ship_strategy", ship},
                            {"exchange", "pipelined_bounded"}});
        }
        node["inputs"] = inputs;
      }
      nodes.push_back(node);
    }
  }
  return {{"jid", jobId}, {"name", name}, {"type", "STREAMING"}, {"nodes", nodes}};
}

const ExecutionJobVertex* findVertex(const JobMaster& jm, const std::string& id) {
  for (const auto& ejv : jm.vertices()) {
    if (ejv.vertex->id == id) return &ejv;
  }
  return nullptr;
}

bool checkTriggerId(const json& body, Res& res) {
  std::string id = body.value("triggerId", std::string());
  bool ok = id.empty() || (id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos);
  if (!ok) reply(res, 400, {{"errors", {"triggerId: expected 32 lowercase hexadecimal digits, got '" + id + "'"}}});
  return ok;
}

}  // namespace flink::rest
