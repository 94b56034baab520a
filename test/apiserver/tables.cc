#include "tables.h"

#include "util.h"

#include <cctype>
#include <functional>

namespace kta {

bool wantsTable(const std::string& accept) { return accept.find("as=Table") != std::string::npos; }

namespace {

// ---- JSONPath subset ----------------------------------------------------------------------------

struct PathParser {
  const std::string& s;
  size_t i = 0;

  bool done() const { return i >= s.size(); }

  std::string ident() {
    std::string out;
    while (i < s.size()) {
      char c = s[i];
      if (c == '\\' && i + 1 < s.size()) {
        out += s[i + 1];
        i += 2;
        continue;
      }
      if (c == '.' || c == '[' || c == ' ' || c == '}' || c == '=' || c == '!' || c == ')') break;
      out += c;
      ++i;
    }
    return out;
  }

  std::string quoted() {
    char q = s[i++];
    std::string out;
    while (i < s.size() && s[i] != q) out += s[i++];
    ++i;
    return out;
  }
};

json literal(const std::string& t) {
  std::string v = t;
  while (!v.empty() && v.back() == ' ') v.pop_back();
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  if (v.size() >= 2 && (v[0] == '"' || v[0] == '\'')) return v.substr(1, v.size() - 2);
  json j = json::parse(v, nullptr, false);
  return j.is_discarded() ? json(v) : j;
}

std::vector<const json*> evalSteps(std::vector<const json*> cur, PathParser& p);

bool filterMatches(const json& e, const std::string& expr) {
  // @.a.b OP literal | @.a.b
  size_t opPos = std::string::npos;
  std::string op;
  for (const char* o : {"==", "!=", "<=", ">=", "<", ">"}) {
    size_t pos = expr.find(o);
    if (pos != std::string::npos && (opPos == std::string::npos || pos < opPos)) {
      opPos = pos;
      op = o;
    }
  }
  std::string lhs = expr.substr(0, opPos);
  while (!lhs.empty() && lhs.back() == ' ') lhs.pop_back();
  if (lhs.rfind("@", 0) != 0) return false;
  std::string path = lhs.substr(1);
  PathParser pp{path};
  auto vals = evalSteps({&e}, pp);
  if (opPos == std::string::npos) return !vals.empty();
  json rhs = literal(expr.substr(opPos + op.size()));
  for (const json* v : vals) {
    if (op == "==" && *v == rhs) return true;
    if (op == "!=" && *v != rhs) return true;
    if (v->is_number() && rhs.is_number()) {
      double a = v->get<double>(), b = rhs.get<double>();
      if ((op == "<" && a < b) || (op == ">" && a > b) || (op == "<=" && a <= b) || (op == ">=" && a >= b)) return true;
    }
  }
  return false;
}

std::vector<const json*> evalSteps(std::vector<const json*> cur, PathParser& p) {
  while (!p.done()) {
    char c = p.s[p.i];
    std::vector<const json*> next;
    if (c == '.') {
      ++p.i;
      if (!p.done() && p.s[p.i] == '.') return {};  // recursive descent: unsupported
      std::string key = p.ident();
      if (key.empty()) continue;
      if (key == "*") {
        for (const json* n : cur)
          if (n->is_object() || n->is_array())
            for (const auto& v : *n) next.push_back(&v);
      } else {
        for (const json* n : cur)
          if (n->is_object() && n->contains(key)) next.push_back(&(*n)[key]);
      }
    } else if (c == '[') {
      ++p.i;
      size_t close = p.s.find(']', p.i);
      if (p.s[p.i] == '?') {
        size_t open = p.s.find('(', p.i);
        size_t end = p.s.find(")]", p.i);
        if (open == std::string::npos || end == std::string::npos) return {};
        std::string expr = p.s.substr(open + 1, end - open - 1);
        for (const json* n : cur)
          if (n->is_array())
            for (const auto& e : *n)
              if (filterMatches(e, expr)) next.push_back(&e);
        p.i = end + 2;
      } else if (p.s[p.i] == '\'' || p.s[p.i] == '"') {
        std::string key = p.quoted();
        for (const json* n : cur)
          if (n->is_object() && n->contains(key)) next.push_back(&(*n)[key]);
        p.i = p.s.find(']', p.i) + 1;
      } else {
        if (close == std::string::npos) return {};
        std::string idx = p.s.substr(p.i, close - p.i);
        p.i = close + 1;
        if (idx == "*") {
          for (const json* n : cur)
            if (n->is_array() || n->is_object())
              for (const auto& v : *n) next.push_back(&v);
        } else if (idx.find(':') == std::string::npos) {
          long k = std::strtol(idx.c_str(), nullptr, 10);
          for (const json* n : cur) {
            if (!n->is_array()) continue;
            long size = static_cast<long>(n->size());
            long at = k < 0 ? size + k : k;
            if (at >= 0 && at < size) next.push_back(&(*n)[static_cast<size_t>(at)]);
          }
        } else {
          for (const json* n : cur)
            if (n->is_array())
              for (const auto& v : *n) next.push_back(&v);
        }
      }
    } else if (c == ' ' || c == '$' || c == '@') {
      ++p.i;
      continue;
    } else {
      std::string key = p.ident();  // path without a leading dot
      if (key.empty()) return {};
      for (const json* n : cur)
        if (n->is_object() && n->contains(key)) next.push_back(&(*n)[key]);
    }
    cur = std::move(next);
  }
  return cur;
}

// ---- columns -----------------------------------------------------------------------------------

struct Col {
  std::string name, type, format, description;
  int priority;
  std::function<json(const json&)> cell;
};

std::string str(const json& o, const std::string& path, const std::string& def = "") {
  const json* v = lookupPath(o, path);
  if (!v || v->is_null()) return def;
  return v->is_string() ? v->get<std::string>() : v->dump();
}

long long num(const json& o, const std::string& path) {
  const json* v = lookupPath(o, path);
  return v && v->is_number() ? v->get<long long>() : 0;
}

json age(const json& o) {
  const json* ts = lookupPath(o, "metadata.creationTimestamp");
  return ts && ts->is_string() ? ageSince(*ts) : "<unknown>";
}

size_t count(const json& o, const std::string& path) {
  const json* v = lookupPath(o, path);
  return v && (v->is_object() || v->is_array()) ? v->size() : 0;
}

std::string joinMap(const json* m) {
  if (!m || !m->is_object() || m->empty()) return "<none>";
  std::string s;
  for (const auto& [k, v] : m->items()) s += (s.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  return s;
}

std::string joinField(const json* list, const char* field) {
  std::string s;
  if (list && list->is_array())
    for (const auto& e : *list) s += (s.empty() ? "" : ",") + str(e, field);
  return s;
}

const Col kName{"Name", "string", "name", "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
                0, [](const json& o) -> json { return str(o, "metadata.name"); }};
const Col kAge{"Age", "string", "", "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
               0, age};

std::string servicePorts(const json& o) {
  const json* ports = lookupPath(o, "spec.ports");
  if (!ports || !ports->is_array() || ports->empty()) return "<none>";
  std::string s;
  for (const auto& p : *ports) {
    std::string one = str(p, "port");
    if (p.contains("nodePort")) one += ":" + str(p, "nodePort");
    one += "/" + str(p, "protocol", "TCP");
    s += (s.empty() ? "" : ",") + one;
  }
  return s;
}

std::string externalIp(const json& o) {
  std::string type = str(o, "spec.type", "ClusterIP");
  if (type == "ExternalName") return str(o, "spec.externalName");
  std::string ips = joinField(lookupPath(o, "status.loadBalancer.ingress"), "ip");
  const json* ext = lookupPath(o, "spec.externalIPs");
  if (ext && ext->is_array())
    for (const auto& e : *ext) ips += (ips.empty() ? "" : ",") + e.get<std::string>();
  if (!ips.empty()) return ips;
  return type == "LoadBalancer" ? "<pending>" : "<none>";
}

std::string podStatus(const json& o) {
  if (lookupPath(o, "metadata.deletionTimestamp")) return "Terminating";
  const json* cs = lookupPath(o, "status.containerStatuses");
  if (cs && cs->is_array())
    for (const auto& c : *cs) {
      std::string w = str(c, "state.waiting.reason");
      if (!w.empty()) return w;
      std::string t = str(c, "state.terminated.reason");
      if (!t.empty()) return t;
    }
  std::string reason = str(o, "status.reason");
  return reason.empty() ? str(o, "status.phase", "Pending") : reason;
}

std::string podReady(const json& o) {
  size_t total = count(o, "spec.containers"), ready = 0;
  const json* cs = lookupPath(o, "status.containerStatuses");
  if (cs && cs->is_array())
    for (const auto& c : *cs)
      if (c.value("ready", false)) ++ready;
  return std::to_string(ready) + "/" + std::to_string(total);
}

std::vector<Col> builtinColumns(const std::string& kind) {
  using J = const json&;
  auto s = [](std::string path, std::string def = "") { return [path, def](J o) -> json { return str(o, path, def); }; };
  auto n = [](std::string path) { return [path](J o) -> json { return num(o, path); }; };
  if (kind == "ConfigMap")
    return {kName, {"Data", "string", "", "Data contains the configuration data.", 0,
                    [](J o) -> json { return static_cast<long long>(count(o, "data") + count(o, "binaryData")); }},
            kAge};
  if (kind == "Secret")
    return {kName, {"Type", "string", "", "The type of the secret", 0, s("type")},
            {"Data", "string", "", "The number of entries in the secret", 0,
             [](J o) -> json { return static_cast<long long>(count(o, "data")); }},
            kAge};
  if (kind == "Service")
    return {kName,
            {"Type", "string", "", "The type of the service", 0, s("spec.type", "ClusterIP")},
            {"Cluster-IP", "string", "", "The cluster IP of the service", 0, s("spec.clusterIP", "<none>")},
            {"External-IP", "string", "", "The external IP of the service", 0, [](J o) -> json { return externalIp(o); }},
            {"Port(s)", "string", "", "The ports of the service", 0, [](J o) -> json { return servicePorts(o); }},
            kAge,
            {"Selector", "string", "", "The label selector of the service", 1,
             [](J o) -> json { return joinMap(lookupPath(o, "spec.selector")); }}};
  if (kind == "Pod")
    return {kName,
            {"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0, [](J o) -> json { return podReady(o); }},
            {"Status", "string", "", "The aggregate status of the containers in this pod.", 0, [](J o) -> json { return podStatus(o); }},
            {"Restarts", "string", "", "The number of times the containers in this pod have been restarted.", 0,
             [](J o) -> json {
               long long r = 0;
               const json* cs = lookupPath(o, "status.containerStatuses");
               if (cs && cs->is_array())
                 for (const auto& c : *cs) r += c.value("restartCount", 0LL);
               return std::to_string(r);
             }},
            kAge,
            {"IP", "string", "", "The IP address assigned to the pod", 1, s("status.podIP", "<none>")},
            {"Node", "string", "", "The name of the node this pod is assigned to", 1, s("spec.nodeName", "<none>")}};
  if (kind == "Deployment")
    return {kName,
            {"Ready", "string", "", "Number of the pod with ready state", 0,
             [](J o) -> json {
               const json* r = lookupPath(o, "spec.replicas");
               return std::to_string(num(o, "status.readyReplicas")) + "/" + std::to_string(r ? r->get<long long>() : 1);
             }},
            {"Up-to-date", "integer", "", "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", 0, n("status.updatedReplicas")},
            {"Available", "integer", "", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", 0, n("status.availableReplicas")},
            kAge,
            {"Containers", "string", "", "Names of each container in the template.", 1,
             [](J o) -> json { return joinField(lookupPath(o, "spec.template.spec.containers"), "name"); }},
            {"Images", "string", "", "Images referenced by each container in the template.", 1,
             [](J o) -> json { return joinField(lookupPath(o, "spec.template.spec.containers"), "image"); }},
            {"Selector", "string", "", "Label selector for pods.", 1,
             [](J o) -> json { return joinMap(lookupPath(o, "spec.selector.matchLabels")); }}};
  if (kind == "ReplicaSet")
    return {kName,
            {"Desired", "integer", "", "Number of desired pods.", 0, n("spec.replicas")},
            {"Current", "integer", "", "Number of actual replicas.", 0, n("status.replicas")},
            {"Ready", "integer", "", "Number of ready replicas.", 0, n("status.readyReplicas")},
            kAge};
  if (kind == "Namespace")
    return {kName, {"Status", "string", "", "The status of the namespace", 0, s("status.phase", "Active")}, kAge};
  if (kind == "ServiceAccount")
    return {kName, {"Secrets", "string", "", "Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount.", 0,
                    [](J o) -> json { return static_cast<long long>(count(o, "secrets")); }},
            kAge};
  if (kind == "Lease")
    return {kName, {"Holder", "string", "", "The holder of the lease", 0, s("spec.holderIdentity")}, kAge};
  if (kind == "Ingress")
    // As kubectl's printer: the rules' hosts ("*" for none), the load balancer's addresses, and
    // port 443 beside 80 when the Ingress has TLS.
    return {kName, {"Class", "string", "", "The name of the IngressClass resource.", 0, s("spec.ingressClassName", "<none>")},
            {"Hosts", "string", "", "Hosts of the Ingress's rules.", 0,
             [](J o) -> json {
               std::string hosts = joinField(lookupPath(o, "spec.rules"), "host");
               return hosts.empty() ? "*" : hosts;
             }},
            {"Address", "string", "", "Addresses of the load balancer.", 0,
             [](J o) -> json {
               const json* lb = lookupPath(o, "status.loadBalancer.ingress");
               std::string ips = joinField(lb, "ip"), names = joinField(lb, "hostname");
               return ips + (ips.empty() || names.empty() ? "" : ",") + names;
             }},
            {"Ports", "string", "", "Ports of the Ingress.", 0,
             [](J o) -> json { return count(o, "spec.tls") > 0 ? "80, 443" : "80"; }},
            kAge};
  if (kind == "Endpoints")
    return {kName, {"Endpoints", "string", "", "Endpoints of the service", 0,
                    [](J o) -> json {
                      std::string out;
                      const json* subsets = lookupPath(o, "subsets");
                      if (subsets && subsets->is_array())
                        for (const auto& ss : *subsets)
                          for (const auto& a : ss.value("addresses", json::array()))
                            for (const auto& p : ss.value("ports", json::array()))
                              out += (out.empty() ? "" : ",") + str(a, "ip") + ":" + str(p, "port");
                      return out.empty() ? "<none>" : out;
                    }},
            kAge};
  if (kind == "EndpointSlice") {
    // What each item of a list contributes, at most three in all, then " + N more...", and
    // "<unset>" for none (as kubectl's printer).
    using Add = std::function<void(const json&, std::vector<std::string>&)>;
    auto joined = [](std::string list, Add add) {
      return [list, add](J o) -> json {
        std::vector<std::string> items;
        const json* l = lookupPath(o, list);
        if (l && l->is_array())
          for (const auto& e : *l) add(e, items);
        std::string out;
        for (size_t i = 0; i < items.size() && i < 3; ++i) out += (i ? "," : "") + items[i];
        if (items.size() > 3) return out + " + " + std::to_string(items.size() - 3) + " more...";
        return out.empty() ? "<unset>" : out;
      };
    };
    Add port = [](const json& p, std::vector<std::string>& out) {
      out.push_back(p.contains("port") ? std::to_string(num(p, "port")) : p.contains("name") ? str(p, "name") : "*");
    };
    Add addresses = [](const json& e, std::vector<std::string>& out) {
      for (const auto& a : e.value("addresses", json::array())) out.push_back(a.get<std::string>());
    };
    return {kName, {"AddressType", "string", "", "Type of address the endpoints hold", 0, s("addressType")},
            {"Ports", "string", "", "Ports of the endpoints", 0, joined("ports", port)},
            {"Endpoints", "string", "", "Addresses of the endpoints", 0, joined("endpoints", addresses)},
            kAge};
  }
  if (kind == "Event")
    return {{"Last Seen", "string", "", "Time when last this event was observed", 0,
             [](J o) -> json {
               for (const char* f : {"lastTimestamp", "series.lastObservedTime", "eventTime", "firstTimestamp", "metadata.creationTimestamp"}) {
                 std::string t = str(o, f);
                 if (!t.empty()) return ageSince(t);
               }
               return "<unknown>";
             }},
            {"Type", "string", "", "Type of this event (Normal, Warning)", 0, s("type")},
            {"Reason", "string", "", "Why the action was taken", 0, s("reason")},
            {"Object", "string", "", "The object that this event is about", 0,
             [](J o) -> json {
               std::string k = str(o, "involvedObject.kind");
               for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
               return k + "/" + str(o, "involvedObject.name");
             }},
            {"Message", "string", "", "A human-readable description of the status of this operation", 0, s("message")},
            {"Count", "string", "", "The number of times this event has occurred", 1, [](J o) -> json { return std::to_string(std::max(1LL, num(o, "count"))); }},
            {"Name", "string", "name", "Name of the event", 1, s("metadata.name")}};
  if (kind == "ValidatingWebhookConfiguration" || kind == "MutatingWebhookConfiguration")
    return {kName, {"Webhooks", "integer", "", "How many webhooks the configuration holds.", 0,
                    [](J o) -> json { return static_cast<long long>(count(o, "webhooks")); }},
            kAge};
  if (kind == "CustomResourceDefinition")
    return {kName, {"Created At", "date", "", "", 0, s("metadata.creationTimestamp")}};
  return {kName, kAge};
}

json cellFor(const PrinterColumn& c, const json& obj) {
  auto vals = evalJsonPath(obj, c.jsonPath);
  if (vals.empty() || vals[0].is_null()) return nullptr;
  const json& v = vals[0];
  if (c.type == "date") return v.is_string() ? json(ageSince(v)) : json(nullptr);
  if (c.type == "integer") return v.is_number() ? json(v.get<long long>()) : v;
  if (c.type == "number" || c.type == "boolean") return v;
  if (c.type == "string") {
    if (v.is_string()) return v;
    std::string s;
    for (const auto& x : vals) s += (s.empty() ? "" : " ") + (x.is_string() ? x.get<std::string>() : x.dump());
    return s;
  }
  return v.is_string() ? v : json(v.dump());
}

}  // namespace

std::vector<json> evalJsonPath(const json& obj, const std::string& expr) {
  std::string e = expr;
  while (!e.empty() && e.front() == ' ') e.erase(0, 1);
  if (!e.empty() && e.front() == '{' && e.back() == '}') e = e.substr(1, e.size() - 2);
  PathParser p{e};
  std::vector<json> out;
  for (const json* v : evalSteps({&obj}, p)) out.push_back(*v);
  return out;
}

json toTable(const ResourceType& type, const std::string& version, const std::vector<json>& objects,
             const std::string& resourceVersion, const std::string& includeObject) {
  json table = {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", {{"resourceVersion", resourceVersion}}}};
  json defs = json::array(), rows = json::array();
  auto rowObject = [&](const json& o) -> json {
    if (includeObject == "Object") return o;
    return {{"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", o.value("metadata", json::object())}};
  };
  if (type.custom) {
    const VersionInfo* vi = type.version(version);
    defs.push_back({{"name", kName.name}, {"type", kName.type}, {"format", kName.format}, {"description", kName.description}, {"priority", 0}});
    if (vi)
      for (const auto& c : vi->columns)
        defs.push_back({{"name", c.name}, {"type", c.type == "date" ? "date" : c.type}, {"format", c.format},
                        {"description", c.description}, {"priority", c.priority}});
    for (const auto& o : objects) {
      json cells = json::array({str(o, "metadata.name")});
      if (vi)
        for (const auto& c : vi->columns) cells.push_back(cellFor(c, o));
      json row = {{"cells", cells}};
      if (includeObject != "None") row["object"] = rowObject(o);
      rows.push_back(row);
    }
  } else {
    auto cols = builtinColumns(type.kind);
    for (const auto& c : cols)
      defs.push_back({{"name", c.name}, {"type", c.type}, {"format", c.format}, {"description", c.description}, {"priority", c.priority}});
    for (const auto& o : objects) {
      json cells = json::array();
      for (const auto& c : cols) cells.push_back(c.cell(o));
      json row = {{"cells", cells}};
      if (includeObject != "None") row["object"] = rowObject(o);
      rows.push_back(row);
    }
  }
  table["columnDefinitions"] = defs;
  table["rows"] = rows;
  return table;
}

}  // namespace kta
