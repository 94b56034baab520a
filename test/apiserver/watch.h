// One watch stream: from a resourceVersion (or from the current state, sending synthetic ADDED
// events first), reads the store's event log, filters by type, namespace and label/field
// selectors (an object leaving the selection is reported as DELETED, entering it as ADDED),
// and renders newline-delimited JSON watch events. Sends BOOKMARK events periodically when the
// client allows them, an ERROR event with a 410 Expired Status when the resourceVersion is older
// than the event window, and ends at timeoutSeconds, server shutdown or EventLog::endWatches().
#pragma once

#include "registry.h"
#include "selectors.h"
#include "storage.h"

#include <chrono>
#include <functional>
#include <string>

namespace kta {

struct WatchOptions {
  TypePtr type;
  std::string version;
  std::string ns;  // "" = all namespaces (or cluster-scoped)
  LabelSelector labels;
  FieldSelector fields;
  uint64_t resourceVersion = 0;  // 0: start from the current state with ADDED events
  bool bookmarks = false;
  bool sendInitialEvents = false;  // then a bookmark marks the end of the initial events
  std::chrono::seconds timeout{1800};
  std::chrono::milliseconds bookmarkInterval{1000};
  /// Turns a stored object into what the client sees (version, Table row, ...).
  std::function<json(const json& stored)> render;
  /// True when render() only sets apiVersion and kind (no Table): an object stored with those
  /// is then sent as its shared text (Event::objectText) without a copy.
  bool plain = false;
};

class WatchSession {
 public:
  WatchSession(Store& store, WatchOptions opts);
  /// Appends output (whole JSON lines) to `out`, waiting at most about a second for events.
  /// Returns false once the stream is finished (after appending its last output).
  bool poll(std::string& out);

 private:
  void start(std::string& out);
  void emit(std::string& out, const char* type, const json& object);
  /// emit() of an event's object, through its shared text when the watch is plain.
  void emitEvent(std::string& out, const char* type, const Event& e);
  void bookmark(std::string& out, bool initialEventsEnd);
  bool selected(const json& obj) const;

  Store& store_;
  WatchOptions o_;
  bool started_ = false, done_ = false;
  uint64_t cursor_ = 0;
  uint64_t epoch_ = 0;  // EventLog::watchEpoch() at the start: endWatches() ends this watch
  std::chrono::steady_clock::time_point deadline_, nextBookmark_;
};

}  // namespace kta
