// The keyed event-time session window operator.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "flink/functions.h"
#include "flink/operators/basic.h"
#include "flink/operators/stream_operator.h"
#include "flink/state/layered_state.h"
#include "flink/windowing/windows.h"

namespace flink {
namespace detail {

/// Keyed event-time session windows with incremental aggregation (EventTimeSessionWindows).
/// State: key -> its open sessions (start, end, accumulator); an element's window [t, t + gap)
/// merges with every session it intersects (accumulators combined with AGG::merge). A session
/// fires when the watermark reaches end - 1, with that timestamp. An element is late (dropped
/// and counted) only when its window is late and merges with no open session, as in Flink.
/// Timers: every session has one pending timer at or before its end - 1; when it comes due and
/// the session has grown since, it is registered again at the new end - 1 (so extending a
/// session costs no timer update).
template <class T, class K, class AGG, class R, class WF>
class SessionWindowOperator final : public OneInputOperator<T> {
  using ACC = typename AGG::Accumulator;

 public:
  SessionWindowOperator(std::function<K(const T&)> key, EventTimeSessionWindows assigner,
                        std::shared_ptr<const AGG> agg, WF windowFn, Output<R>* out)
      : key_(std::move(key)), gap_(assigner.gapMs), agg_(std::move(agg)), windowFn_(std::move(windowFn)),
        out_(out), collector_(out) {}

  void collect(T&& v, int64_t ts) override {
    if (ts == kNoTimestamp) {
      throw TaskFailure("event-time window received a record without timestamp: assign a WatermarkStrategy");
    }
    K key = key_(v);
    auto found = state_.find(key);
    Session merged{ts, ts + gap_, ACC{}, kMinWatermark};
    bool mergedAny = false;
    if (found != state_.end()) {
      auto& sessions = found->second;
      for (size_t i = 0; i < sessions.size();) {
        Session& s = sessions[i];
        if (s.start <= merged.end && s.end >= merged.start) {
          merged.start = std::min(merged.start, s.start);
          merged.end = std::max(merged.end, s.end);
          merged.acc = mergedAny ? agg_->merge(merged.acc, s.acc) : std::move(s.acc);
          merged.timer = std::max(merged.timer, s.timer);
          mergedAny = true;
          s = std::move(sessions.back());
          sessions.pop_back();
        } else {
          ++i;
        }
      }
    }
    if (!mergedAny) {
      if (merged.end - 1 <= watermark_) {
        TaskMetrics::inc(this->ctx_->metrics->numLateRecordsDropped);
        return;
      }
      merged.acc = agg_->createAccumulator();
      merged.timer = merged.end - 1;
      timers_.emplace(merged.timer, key);
    }
    agg_->add(v, merged.acc);
    if (found == state_.end()) found = state_.try_emplace(std::move(key)).first;
    found->second.push_back(std::move(merged));
  }

  void emitWatermark(int64_t wm) override {
    if (wm <= watermark_) return;
    watermark_ = wm;
    this->ctx_->metrics->currentInputWatermark.store(wm, std::memory_order_relaxed);
    while (!timers_.empty() && timers_.begin()->first <= wm) {
      auto node = timers_.extract(timers_.begin());
      auto it = state_.find(node.mapped());
      if (it == state_.end()) continue;  // a stale timer of a session that fired
      auto& sessions = it->second;
      for (size_t i = 0; i < sessions.size();) {
        Session& s = sessions[i];
        if (s.end - 1 <= wm) {
          TimeWindow window{s.start, s.end};
          collector_.timestamp = window.maxTimestamp();
          windowFn_(it->first, window, agg_->getResult(s.acc), collector_);
          TaskMetrics::inc(this->ctx_->metrics->numFiredWindows);
          s = std::move(sessions.back());
          sessions.pop_back();
          continue;
        }
        if (s.timer <= wm) {  // its timer came due, but the session grew since
          s.timer = s.end - 1;
          timers_.emplace(s.timer, it->first);
        }
        ++i;
      }
      if (sessions.empty()) state_.erase(it);
    }
    out_->emitWatermark(wm);
  }
  void endInput() override { out_->endInput(); }

  /// Keyed state by key group: entries (key, number of sessions, (start, end, accumulator)...).
  void snapshotState(int64_t /*checkpointId*/, OperatorSnapshot& out) override {
    snapshotByKeyGroup<K>(state_, this->ctx_->maxParallelism, out, [](const std::vector<Session>& sessions, DataOutputView& view) {
      view.writePod(static_cast<uint32_t>(sessions.size()));
      for (const Session& s : sessions) {
        view.writePod(s.start);
        view.writePod(s.end);
        TypeSerializer<ACC>::serialize(s.acc, view);
      }
    });
  }
  Status initializeState(const RestoredState& state) override {
    restoreByKeyGroup<K>(state, [this](const K& key, DataInputView& in) {
      auto n = in.readPod<uint32_t>();
      auto& sessions = state_[key];
      for (uint32_t i = 0; i < n; ++i) {
        Session s;
        s.start = in.readPod<int64_t>();
        s.end = in.readPod<int64_t>();
        TypeSerializer<ACC>::deserialize(s.acc, in);
        s.timer = s.end - 1;
        timers_.emplace(s.timer, key);
        sessions.push_back(std::move(s));
      }
    });
    return Status::Ok();
  }

  /// Open sessions over all keys.
  size_t numPendingWindows() const {
    size_t n = 0;
    for (const auto& [key, sessions] : state_) n += sessions.size();
    return n;
  }

 private:
  struct Session {
    int64_t start = 0;
    int64_t end = 0;
    ACC acc{};
    int64_t timer = kMinWatermark;  // the pending timer's time (<= end - 1)
  };
  std::function<K(const T&)> key_;
  int64_t gap_;
  std::shared_ptr<const AGG> agg_;
  WF windowFn_;
  Output<R>* out_;
  TimestampedCollector<R> collector_;
  int64_t watermark_ = kMinWatermark;
  std::unordered_map<K, std::vector<Session>, StdKeyHash<K>> state_;
  std::multimap<int64_t, K> timers_;  // maxTimestamp -> key, possibly stale
};

}  // namespace detail
}  // namespace flink
