#include "k8s/informer.h"

#include <cctype>
#include <chrono>
#include <random>

#include "flink/common/log.h"

namespace flink::k8s {

using nlohmann::json;

namespace {

// Percent-encodes a query parameter value (continue tokens are base64, with '+', '/' and '=').
std::string urlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

Informer::Informer(std::shared_ptr<KubeApi> client, ResourceType type, std::string ns, std::string labelSelector,
                   int pageSize)
    : client_(std::move(client)), type_(std::move(type)), ns_(std::move(ns)), labelSelector_(std::move(labelSelector)),
      pageSize_(pageSize) {}

Informer::~Informer() { stop(); }

void Informer::start() { thread_ = std::thread([this] { run(); }); }

void Informer::stop() {
  stop_ = true;
  {
    std::lock_guard<std::mutex> lock(cancelMu_);
    if (cancelWatch_) cancelWatch_();
  }
  if (thread_.joinable()) thread_.join();
}

std::string Informer::keyOf(const json& o) {
  const json& m = o.at("metadata");
  return m.value("namespace", "") + "/" + m.value("name", "");
}

std::optional<json> Informer::get(const std::string& ns, const std::string& name) const {
  std::vector<uint8_t> bytes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(ns + "/" + name);
    if (it == cache_.end()) return std::nullopt;
    bytes = it->second;
  }
  return json::from_cbor(bytes);
}

std::vector<json> Informer::list() const {
  std::vector<std::vector<uint8_t>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.reserve(cache_.size());
    for (const auto& [k, v] : cache_) all.push_back(v);
  }
  std::vector<json> out;
  out.reserve(all.size());
  for (const auto& bytes : all) out.push_back(json::from_cbor(bytes));
  return out;
}

void Informer::forEach(const std::function<void(const json&)>& f) const {
  for (const auto& key : keys()) {
    std::vector<uint8_t> bytes;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find(key);
      if (it == cache_.end()) continue;
      bytes = it->second;
    }
    f(json::from_cbor(bytes));
  }
}

std::vector<std::string> Informer::keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.reserve(cache_.size());
  for (const auto& [k, v] : cache_) out.push_back(k);
  return out;
}

size_t Informer::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

void Informer::trim(json& object) const {
  auto meta = object.find("metadata");
  if (meta != object.end() && meta->is_object()) meta->erase("managedFields");
  if (transform_) transform_(object);
}

void Informer::apply(EventType type, const json& received) {
  json object = received;
  trim(object);
  applyTrimmed(type, object);
}

void Informer::applyTrimmed(EventType type, const json& object) {
  std::optional<json> previous;
  {
    std::vector<uint8_t> bytes = type == EventType::kDeleted ? std::vector<uint8_t>{} : json::to_cbor(object);
    bytes.shrink_to_fit();  // to_cbor grows its vector by doubling
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(keyOf(object));
    if (it != cache_.end() && !changeHandlers_.empty()) previous = json::from_cbor(it->second);
    if (type == EventType::kDeleted) {
      if (it != cache_.end()) cache_.erase(it);
    } else if (it != cache_.end()) {
      it->second = std::move(bytes);
    } else {
      cache_.emplace(keyOf(object), std::move(bytes));
    }
  }
  for (auto& h : handlers_) h(type, object);
  for (auto& h : changeHandlers_) h(type, object, previous ? &*previous : nullptr);
}

bool Informer::relist(std::string* resourceVersion) {
  // Paginated (limit/continue, as client-go's reflector does), so that no single response holds
  // every object. Kubernetes serves all pages of one list from the snapshot of its first page;
  // the watch starts from that page's resourceVersion.
  std::string base = type_.collectionPath(ns_) + "?limit=" + std::to_string(pageSize_);
  if (!labelSelector_.empty()) base += "&labelSelector=" + labelSelector_;
  std::map<std::string, std::vector<uint8_t>> fresh;  // trimmed, as CBOR: a whole list of JSON trees is large
  std::string continueToken;
  for (int page = 0;; ++page) {
    ApiResponse r = client_->get(continueToken.empty() ? base : base + "&continue=" + urlEncode(continueToken));
    if (r.status == 410 && !continueToken.empty()) {
      // The snapshot the pages came from was compacted: start the list over.
      log::info("list {}: continue token expired after {} pages; listing again", type_.plural, page);
      fresh.clear();
      continueToken.clear();
      resourceVersion->clear();
      continue;
    }
    if (!r.ok()) {
      log::warn("list {} failed: {}", type_.plural, r.error);
      return false;
    }
    const json& meta = r.body.contains("metadata") && r.body["metadata"].is_object() ? r.body["metadata"] : json::object();
    if (continueToken.empty()) *resourceVersion = meta.value("resourceVersion", "");
    auto items = r.body.find("items");
    if (items != r.body.end() && items->is_array()) {
      for (auto& item : *items) {
        // List items carry no kind: add it, so handlers see complete objects.
        item["apiVersion"] = type_.apiVersion();
        item["kind"] = type_.kind;
        trim(item);
        std::vector<uint8_t> bytes = json::to_cbor(item);
        bytes.shrink_to_fit();
        fresh[keyOf(item)] = std::move(bytes);
        item = nullptr;  // free the page as it is consumed
      }
    }
    continueToken = meta.contains("continue") && meta["continue"].is_string() ? meta["continue"].get<std::string>() : "";
    if (continueToken.empty()) break;
  }
  std::vector<json> deleted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, v] : cache_) {
      if (!fresh.count(k)) deleted.push_back(json::from_cbor(v));
    }
  }
  for (const auto& d : deleted) applyTrimmed(EventType::kDeleted, d);
  for (auto& [k, v] : fresh) {
    json object = json::from_cbor(v);
    std::vector<uint8_t>().swap(v);
    applyTrimmed(EventType::kAdded, object);
  }
  if (synced_) log::info("re-listed {}: {} objects at resourceVersion {}", type_.plural, fresh.size(), *resourceVersion);
  synced_ = true;
  return true;
}

void Informer::run() {
  std::mt19937 rng{std::random_device{}()};
  int64_t backoffMs = 100;
  std::string rv;
  bool needList = true;
  auto sleepBackoff = [&] {
    std::uniform_int_distribution<int64_t> jitter(0, backoffMs / 2);
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoffMs + jitter(rng));
    while (!stop_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    backoffMs = std::min<int64_t>(backoffMs * 2, 30000);
  };
  while (!stop_) {
    if (needList) {
      if (!relist(&rv)) {
        sleepBackoff();
        continue;
      }
      needList = false;
    }
    std::string path = type_.collectionPath(ns_) + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=60&resourceVersion=" + rv;
    if (!labelSelector_.empty()) path += "&labelSelector=" + labelSelector_;
    bool gone = false;
    bool sawEvent = false;
    ApiResponse r = client_->watch(
        path,
        [&](const json& event) {
          std::string t = event.value("type", "");
          const json& obj = event.value("object", json::object());
          sawEvent = true;
          if (t == "ERROR") {
            if (obj.value("code", 0) == 410) gone = true;
            return false;
          }
          if (obj.contains("metadata")) {
            std::string v = obj["metadata"].value("resourceVersion", "");
            if (!v.empty()) rv = v;
          }
          if (t == "ADDED") apply(EventType::kAdded, obj);
          if (t == "MODIFIED") apply(EventType::kModified, obj);
          if (t == "DELETED") apply(EventType::kDeleted, obj);
          return true;
        },
        &stop_, &cancelWatch_, &cancelMu_);
    if (stop_) break;
    if (gone || r.status == 410) {
      // The version we watch from is too old: start over with a fresh list.
      log::info("watch {} expired (410 at resourceVersion {}); re-listing", type_.plural, rv);
      if (onRestart_) onRestart_("expired");
      needList = true;
      continue;
    }
    if (r.status == 200 && r.error.empty()) {
      backoffMs = 100;  // the server closed a healthy watch (timeoutSeconds): resume from rv
      continue;
    }
    if (onRestart_) onRestart_("error");
    log::warn("watch {} ended: {}; reconnecting", type_.plural, r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error);
    if (sawEvent) backoffMs = 100;
    sleepBackoff();
  }
}

}  // namespace flink::k8s
