// The keyed event-time window operator for tumbling and sliding windows (slices of layered state).
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "flink/flat_hash_map.h"
#include "flink/functions.h"
#include "flink/operators/basic.h"
#include "flink/operators/stream_operator.h"
#include "flink/state/layered_state.h"
#include "flink/windowing/windows.h"

namespace flink {
namespace detail {

/// Keyed event-time window with incremental aggregation, for tumbling windows (A =
/// TumblingEventTimeWindows) and sliding windows (A = SlidingEventTimeWindows), with Flink's
/// WindowOperator semantics: a window fires when the watermark reaches its maxTimestamp, with
/// that timestamp; allowed lateness 0: a record goes to those of its windows that have not fired
/// and is dropped and counted as late only when all of them fired (or it falls in a gap between
/// windows when slide > size).
///
/// State is kept per slice, not per window (the slicing of Flink SQL's window aggregates and of
/// Krishnamurthy et al., "On-the-fly sharing for streamed aggregation", SIGMOD 2006): time is
/// cut into slices of gcd(size, slide) ms, every window is a run of whole slices, and a record
/// updates one accumulator (its key in its slice) instead of one per window. When a window
/// fires, its slices' accumulators are combined with AGG::merge. Tumbling windows are the case
/// slice == window. A slice is dropped once the last window containing it fired.
///
/// Snapshots are asynchronous and incremental in CPU: a slice is a stack of layers
/// (open-addressing maps, flat_hash_map.h); snapshotState() freezes every layer (never written
/// again: the next write to that slice opens a new layer on top, merged with AGG::merge when
/// the window fires) and hands references to OperatorSnapshot::asyncPart, which serializes by
/// key group off the task thread. A layer is serialized once and its bytes are reused by every
/// later checkpoint that still contains it, so a checkpoint serializes only what changed since
/// the previous one (as RocksDB's incremental checkpoints upload only new SST files).
/// Checkpointed: per key group, blocks [slice start, n, n x (key, accumulator)] (integers as
/// varints, CompactSerializer; a slice may have several blocks, merged on restore); as operator
/// state, the watermark up to which windows fired, so that a restore does not fire them again.
template <class T, class K, class AGG, class R, class WF, class A = TumblingEventTimeWindows>
class WindowOperator final : public OneInputOperator<T> {
  using ACC = typename AGG::Accumulator;
  using SliceMap = FlatHashMap<K, ACC, StdKeyHash<K>>;

  /// Integer keys: every layer knows its smallest and largest key, so that assembling a window
  /// looks a key up only in the layers whose range contains it (keys that grow with time, such
  /// as ids, then meet almost no other layer).
  static constexpr bool kKeyRanges = std::is_integral_v<K>;

  struct Layer : StateLayer {
    SliceMap map;
    K minKey{};
    K maxKey{};

    /// Call after inserting `key`.
    void inserted(const K& key) {
      if constexpr (kKeyRanges) {
        if (map.size() == 1) {
          minKey = maxKey = key;
        } else {
          minKey = std::min(minKey, key);
          maxKey = std::max(maxKey, key);
        }
      }
    }
    bool mayContain(const K& key) const {
      if constexpr (kKeyRanges) return !(key < minKey || maxKey < key);
      return true;
    }
  };
  using Slice = std::vector<std::shared_ptr<Layer>>;  // oldest first; only the last may be unfrozen

 public:
  WindowOperator(std::function<K(const T&)> key, A assigner, std::shared_ptr<const AGG> agg, WF windowFn,
                 Output<R>* out)
      : key_(std::move(key)), agg_(std::move(agg)), windowFn_(std::move(windowFn)), out_(out), collector_(out) {
    if constexpr (std::is_same_v<A, TumblingEventTimeWindows>) {
      sizeMs_ = slideMs_ = assigner.sizeMs;
    } else {
      sizeMs_ = assigner.sizeMs;
      slideMs_ = assigner.slideMs;
    }
    offsetMs_ = assigner.offsetMs;
    sliceMs_ = std::gcd(sizeMs_, slideMs_);
  }

  void collect(T&& v, int64_t ts) override {
    if (ts == kNoTimestamp) {
      throw TaskFailure("event-time window received a record without timestamp: assign a WatermarkStrategy");
    }
    int64_t lastEnd = floorTo(ts, slideMs_) + sizeMs_;  // end of the latest window containing ts
    if (ts >= lastEnd || lastEnd - 1 <= watermark_) {
      TaskMetrics::inc(this->ctx_->metrics->numLateRecordsDropped);
      return;
    }
    Layer& layer = writableLayer(floorTo(ts, sliceMs_));
    K key = key_(v);
    auto [acc, inserted] = layer.map.tryEmplace(key);
    if (inserted) {
      *acc = agg_->createAccumulator();
      layer.inserted(key);
    }
    agg_->add(v, *acc);
  }

  void emitWatermark(int64_t wm) override {
    if (wm <= watermark_) return;
    int64_t previous = watermark_;
    watermark_ = wm;
    this->ctx_->metrics->currentInputWatermark.store(wm, std::memory_order_relaxed);
    fireWindows(previous, wm);
    out_->emitWatermark(wm);
  }
  void endInput() override { out_->endInput(); }

  void snapshotState(int64_t /*checkpointId*/, OperatorSnapshot& out) override {
    snapshotLayers(out, watermark_, slices_, this->ctx_->maxParallelism, &WindowOperator::serialize);
    cached_ = nullptr;  // the next write opens a new layer
  }

  Status initializeState(const RestoredState& state) override {
    watermark_ = restoredFiredWatermark(state);
    for (const Buffer& b : state.keyedState) {
      DataInputView in(b.data(), b.size());
      while (!in.atEnd()) {
        auto start = in.readPod<int64_t>();
        auto n = in.readPod<uint32_t>();
        Layer& layer = writableLayer(start);
        for (uint32_t i = 0; i < n; ++i) {
          K key{};
          CompactSerializer<K>::deserialize(key, in);
          ACC acc{};
          CompactSerializer<ACC>::deserialize(acc, in);
          auto [slot, inserted] = layer.map.tryEmplace(key);
          if (inserted) {
            *slot = std::move(acc);
            layer.inserted(key);
          } else {
            *slot = agg_->merge(*slot, acc);
          }
        }
      }
    }
    return Status::Ok();
  }

  /// Windows that hold state and have not fired.
  size_t numPendingWindows() const {
    std::set<int64_t> starts;
    for (const auto& [start, layers] : slices_) {
      for (int64_t s = floorTo(start, slideMs_); s + sizeMs_ > start; s -= slideMs_) {
        if (s + sizeMs_ - 1 > watermark_) starts.insert(s);
      }
    }
    return starts.size();
  }
  /// Layers of all slices (a slice gets a new layer when written after a snapshot).
  size_t numLayers() const {
    size_t n = 0;
    for (const auto& [start, layers] : slices_) n += layers.size();
    return n;
  }

 private:
  /// Largest t' <= t with t' = offset (mod unit).
  int64_t floorTo(int64_t t, int64_t unit) const {
    int64_t r = (t - offsetMs_) % unit;
    if (r < 0) r += unit;
    return t - r;
  }
  /// Smallest t' >= t with t' = offset (mod unit).
  int64_t ceilTo(int64_t t, int64_t unit) const {
    int64_t f = floorTo(t, unit);
    return f == t ? t : f + unit;
  }

  /// The writable (top, unfrozen) layer of the slice starting at `start`, created if needed.
  /// A new latest slice is sized like the one before it (no rehashing while it fills).
  Layer& writableLayer(int64_t start) {
    if (cached_ != nullptr && cachedStart_ == start) return *cached_;
    auto it = slices_.find(start);
    if (it == slices_.end()) {
      size_t expected = 0;
      if (!slices_.empty() && slices_.rbegin()->first < start) {
        for (const auto& layer : slices_.rbegin()->second) expected += layer->map.size();
      }
      it = slices_.emplace(start, Slice{}).first;
      it->second.push_back(std::make_shared<Layer>());
      it->second.back()->map.reserve(expected);
    } else if (it->second.back()->frozen) {
      openLayer(it->second);
    }
    cached_ = it->second.back().get();
    cachedStart_ = start;
    return *cached_;
  }

  /// Makes the top layer of `slice` writable after a snapshot froze it, keeping the number of
  /// layers small: a small top layer (late records into an older slice) is copied; a large one
  /// gets a new empty layer on top; a slice with kMaxLayers layers is compacted into one.
  void openLayer(Slice& slice) {
    static constexpr size_t kMaxLayers = 4;
    static constexpr size_t kSmallLayer = 4096;
    size_t below = 0;
    for (size_t i = 0; i + 1 < slice.size(); ++i) below += slice[i]->map.size();
    const Layer& top = *slice.back();
    if (top.map.size() <= kSmallLayer || top.map.size() * 8 <= below) {
      auto copy = std::make_shared<Layer>();
      copy->map = top.map;
      copy->minKey = top.minKey;
      copy->maxKey = top.maxKey;
      slice.back() = std::move(copy);
    } else if (slice.size() < kMaxLayers) {
      slice.push_back(std::make_shared<Layer>());
    } else {
      auto largest = std::max_element(slice.begin(), slice.end(), [](const auto& a, const auto& b) {
        return a->map.size() < b->map.size();
      });
      auto merged = std::make_shared<Layer>();
      merged->map = (*largest)->map;
      merged->minKey = (*largest)->minKey;
      merged->maxKey = (*largest)->maxKey;
      for (const auto& layer : slice) {
        if (layer == *largest) continue;
        layer->map.forEach([&](const K& key, const ACC& acc) {
          auto [slot, inserted] = merged->map.tryEmplace(key);
          if (inserted) {
            *slot = acc;
            merged->inserted(key);
          } else {
            *slot = agg_->merge(*slot, acc);
          }
        });
      }
      slice.assign(1, std::move(merged));
    }
  }

  /// Serializes a layer by key group: per group one block [start, n, n x (key, accumulator)].
  static void serialize(const Layer& layer, int64_t start, int maxParallelism, StateLayer::Bytes& bytes) {
    std::vector<Buffer> groups(static_cast<size_t>(maxParallelism));
    std::vector<uint32_t> count(groups.size());
    if constexpr (std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<ACC>) {
      size_t expected = layer.map.size() / groups.size() + 4;
      for (auto& g : groups) g.reserve(12 + expected * (sizeof(K) + sizeof(ACC)) * 3 / 4);
    }
    layer.map.forEach([&](const K& key, const ACC& acc) {
      auto kg = static_cast<size_t>(assignToKeyGroup(KeyHash<K>()(key), maxParallelism));
      DataOutputView view(&groups[kg]);
      if (count[kg]++ == 0) {
        view.writePod(start);
        view.writePod(uint32_t{0});
      }
      CompactSerializer<K>::serialize(key, view);
      CompactSerializer<ACC>::serialize(acc, view);
    });
    for (size_t kg = 0; kg < groups.size(); ++kg) {
      if (count[kg] == 0) continue;
      std::memcpy(groups[kg].data() + sizeof(int64_t), &count[kg], sizeof(uint32_t));
      groups[kg].shrink_to_fit();
      bytes.emplace(static_cast<int>(kg), std::move(groups[kg]));
    }
  }

  /// Fires, in order, the windows whose maxTimestamp is in (previous, wm] and that contain
  /// state; then drops the slices no window needs any more.
  void fireWindows(int64_t previous, int64_t wm) {
    if (slices_.empty()) return;
    int64_t lo = slices_.begin()->first - sizeMs_ + 1;  // the first window containing the first slice
    if (previous != kMinWatermark) lo = std::max(lo, previous - sizeMs_ + 2);
    for (int64_t s = ceilTo(lo, slideMs_); s + sizeMs_ - 1 <= wm;) {
      auto first = slices_.lower_bound(s);
      if (first == slices_.end()) break;
      if (first->first >= s + sizeMs_) {  // an empty window: skip to the next one with state
        s = ceilTo(first->first - sizeMs_ + 1, slideMs_);
        continue;
      }
      fireWindow(TimeWindow{s, s + sizeMs_}, first);
      s += slideMs_;
    }
    bool dropped = false;
    while (!slices_.empty() && floorTo(slices_.begin()->first, slideMs_) + sizeMs_ - 1 <= wm) {
      slices_.erase(slices_.begin());
      dropped = true;
    }
    if (dropped) cached_ = nullptr;
  }

  void fireWindow(const TimeWindow& window, typename std::map<int64_t, Slice>::iterator first) {
    collector_.timestamp = window.maxTimestamp();
    auto emit = [&](const K& key, const ACC& acc) {
      windowFn_(key, window, agg_->getResult(acc), collector_);
      TaskMetrics::inc(this->ctx_->metrics->numFiredWindows);
    };
    layers_.clear();
    for (auto it = first; it != slices_.end() && it->first < window.end; ++it) {
      for (const auto& layer : it->second) layers_.push_back(layer.get());
    }
    if (layers_.size() == 1) {
      layers_[0]->map.forEach(emit);  // one slice, one layer: no merge
      return;
    }
    if constexpr (kKeyRanges) {
      // Each key is emitted with the first layer that has it, merged with the later ones.
      for (size_t i = 0; i < layers_.size(); ++i) {
        layers_[i]->map.forEach([&](const K& key, const ACC& acc) {
          for (size_t j = 0; j < i; ++j) {
            if (layers_[j]->mayContain(key) && layers_[j]->map.find(key) != nullptr) return;
          }
          ACC total = acc;
          for (size_t j = i + 1; j < layers_.size(); ++j) {
            if (!layers_[j]->mayContain(key)) continue;
            if (const ACC* other = layers_[j]->map.find(key)) total = agg_->merge(total, *other);
          }
          emit(key, total);
        });
      }
    } else {
      // Copy the largest layer (fewest inserts) and merge the others into it.
      auto largest = std::max_element(layers_.begin(), layers_.end(), [](const Layer* a, const Layer* b) {
        return a->map.size() < b->map.size();
      });
      std::iter_swap(layers_.begin(), largest);
      merged_ = layers_[0]->map;
      for (size_t i = 1; i < layers_.size(); ++i) {
        layers_[i]->map.forEach([&](const K& key, const ACC& acc) {
          auto [slot, inserted] = merged_.tryEmplace(key);
          *slot = inserted ? acc : agg_->merge(*slot, acc);
        });
      }
      merged_.forEach(emit);
    }
  }

  std::function<K(const T&)> key_;
  int64_t sizeMs_ = 0;
  int64_t slideMs_ = 0;
  int64_t offsetMs_ = 0;
  int64_t sliceMs_ = 0;
  std::shared_ptr<const AGG> agg_;
  WF windowFn_;
  Output<R>* out_;
  TimestampedCollector<R> collector_;
  int64_t watermark_ = kMinWatermark;
  LayersByStart<Layer> slices_;  // slice start -> layers of key -> accumulator
  Layer* cached_ = nullptr;          // the unfrozen layer written last
  int64_t cachedStart_ = 0;
  std::vector<const Layer*> layers_;  // scratch: the layers of the window firing
  SliceMap merged_;                   // scratch for windows of several layers (non-integer keys)
};

}  // namespace detail
}  // namespace flink
