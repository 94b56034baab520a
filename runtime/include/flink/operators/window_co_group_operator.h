// The two-input operator behind window join and co-group: tumbling event-time windows over
// two keyed inputs, with layered, asynchronously snapshotted state.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
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

/// Keyed tumbling event-time windows over two inputs (Flink's window co-group, on which its
/// window join is built): per (key, window) the elements of both inputs are buffered; when the
/// watermark reaches the window's maxTimestamp, fn(key, window, firsts, seconds, out) runs for
/// every key with elements, results carrying the timestamp maxTimestamp. A record whose window
/// already fired is late: dropped and counted. Checkpointed: keyed state by key group, entries
/// (key, window start, firsts, seconds), a (key, window) possibly in several entries whose
/// elements add up; operator state, the watermark up to which windows fired.
///
/// Snapshots are asynchronous, as the WindowOperator's: a window's state is a stack of layers;
/// the barrier freezes them (later elements go to a new layer), the snapshot thread serializes
/// each layer once and later checkpoints reuse its bytes.
template <class IN1, class IN2, class K, class R, class CG>
class WindowCoGroupOperator final : public TwoInputOperator<IN1, IN2> {
  struct Pane {
    std::vector<IN1> first;
    std::vector<IN2> second;
  };
  using Panes = std::unordered_map<K, Pane, StdKeyHash<K>>;
  struct Layer : StateLayer {
    Panes panes;
  };

 public:
  WindowCoGroupOperator(std::function<K(const IN1&)> key1, std::function<K(const IN2&)> key2,
                        TumblingEventTimeWindows assigner, CG fn, Output<R>* out)
      : key1_(std::move(key1)), key2_(std::move(key2)), assigner_(assigner), fn_(std::move(fn)), out_(out),
        collector_(out) {}

  void processElement1(IN1&& v, int64_t ts) override {
    if (Pane* p = pane(ts, key1_(v))) p->first.push_back(std::move(v));
  }
  void processElement2(IN2&& v, int64_t ts) override {
    if (Pane* p = pane(ts, key2_(v))) p->second.push_back(std::move(v));
  }
  void processWatermark(int64_t wm) override {
    if (wm <= watermark_) return;
    watermark_ = wm;
    while (!windows_.empty() && windows_.begin()->first + assigner_.sizeMs - 1 <= wm) {
      auto node = windows_.extract(windows_.begin());
      TimeWindow w{node.key(), node.key() + assigner_.sizeMs};
      collector_.timestamp = w.maxTimestamp();
      const auto& layers = node.mapped();
      Panes merged;  // several layers: each key's elements in arrival order
      if (layers.size() > 1) {
        for (const auto& layer : layers) {
          for (const auto& [key, p] : layer->panes) {
            Pane& m = merged[key];
            m.first.insert(m.first.end(), p.first.begin(), p.first.end());
            m.second.insert(m.second.end(), p.second.begin(), p.second.end());
          }
        }
      }
      for (const auto& [key, p] : layers.size() > 1 ? merged : layers.front()->panes) {
        fn_(key, w, p.first, p.second, collector_);
        TaskMetrics::inc(this->ctx_->metrics->numFiredWindows);
      }
    }
    out_->emitWatermark(wm);
  }
  void endInput() override { out_->endInput(); }

  void snapshotState(int64_t /*checkpointId*/, OperatorSnapshot& out) override {
    snapshotLayers(out, watermark_, windows_, this->ctx_->maxParallelism,
                   [](const Layer& layer, int64_t start, int maxParallelism, StateLayer::Bytes& bytes) {
                     OperatorSnapshot tmp;
                     snapshotByKeyGroup<K>(layer.panes, maxParallelism, tmp, [start](const Pane& p, DataOutputView& view) {
                       view.writePod(start);
                       TypeSerializer<std::vector<IN1>>::serialize(p.first, view);
                       TypeSerializer<std::vector<IN2>>::serialize(p.second, view);
                     });
                     bytes = std::move(tmp.keyedState);
                   });
  }
  Status initializeState(const RestoredState& state) override {
    // Windows up to the smallest watermark of the subtasks that wrote the state fired.
    watermark_ = restoredFiredWatermark(state);
    for (const Buffer& b : state.keyedState) {
      DataInputView in(b.data(), b.size());
      while (!in.atEnd()) {
        K key{};
        TypeSerializer<K>::deserialize(key, in);
        auto start = in.readPod<int64_t>();
        Pane restored;
        TypeSerializer<std::vector<IN1>>::deserialize(restored.first, in);
        TypeSerializer<std::vector<IN2>>::deserialize(restored.second, in);
        Pane& p = writableLayer(start).panes[key];
        for (auto& v : restored.first) p.first.push_back(std::move(v));
        for (auto& v : restored.second) p.second.push_back(std::move(v));
      }
    }
    return Status::Ok();
  }

 private:
  /// The pane of (key, window of ts), or nullptr for a late record.
  Pane* pane(int64_t ts, K&& key) {
    if (ts == kNoTimestamp) {
      throw TaskFailure("event-time window received a record without timestamp: assign a WatermarkStrategy");
    }
    int64_t start = assigner_.windowStart(ts);
    if (start + assigner_.sizeMs - 1 <= watermark_) {
      TaskMetrics::inc(this->ctx_->metrics->numLateRecordsDropped);
      return nullptr;
    }
    return &writableLayer(start).panes[std::move(key)];
  }

  Layer& writableLayer(int64_t start) {
    auto& layers = windows_[start];
    if (layers.empty() || layers.back()->frozen) layers.push_back(std::make_shared<Layer>());
    return *layers.back();
  }

  std::function<K(const IN1&)> key1_;
  std::function<K(const IN2&)> key2_;
  TumblingEventTimeWindows assigner_;
  CG fn_;
  Output<R>* out_;
  TimestampedCollector<R> collector_;
  int64_t watermark_ = kMinWatermark;
  LayersByStart<Layer> windows_;  // window start -> layers of key -> pane
};

}  // namespace detail
}  // namespace flink
