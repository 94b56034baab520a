// Keyed state of the window operators, the seed of a state backend: state kept as stacks of
// immutable layers (StateLayer) that a checkpoint freezes at the barrier and serializes by key
// group off the task thread, once per layer (bytes reused by later checkpoints), and helpers to
// snapshot per-key maps by key group and to restore the watermark up to which windows fired.
#pragma once

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "flink/operators/stream_operator.h"
#include "flink/serialization.h"

namespace flink {
namespace detail {

/// The watermark up to which a window operator had fired its windows, from the operator
/// states of the subtasks that wrote a checkpoint (each an int64 first): their smallest, or
/// kMinWatermark when none wrote one. With aligned barriers every subtask of a keyed exchange
/// has the same watermark at a barrier.
inline int64_t restoredFiredWatermark(const RestoredState& state) {
  int64_t watermark = kMaxWatermark;
  bool found = false;
  for (const Buffer& b : state.operatorStates) {
    if (b.size() < sizeof(int64_t)) continue;
    DataInputView in(b.data(), b.size());
    watermark = std::min(watermark, in.readPod<int64_t>());
    found = true;
  }
  return found ? watermark : kMinWatermark;
}

/// A layer of windowed keyed state for asynchronous, incremental-in-CPU snapshots: a snapshot
/// freezes every layer (the task thread never writes a frozen layer again; later writes go to
/// a new layer), and a layer's serialized form (key group -> bytes) is made once, by the first
/// snapshot thread that needs it, and reused by every later checkpoint that still holds the
/// layer. Operators derive their layer type from it. `frozen` belongs to the task thread;
/// serialized() may be called from any thread.
class StateLayer {
 public:
  using Bytes = std::map<int, Buffer>;
  bool frozen = false;

  /// The layer's bytes; the first call runs serialize(Bytes&).
  template <class F>
  std::shared_ptr<const Bytes> serialized(F&& serialize) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (!bytes_) {
      auto bytes = std::make_shared<Bytes>();
      serialize(*bytes);
      bytes_ = std::move(bytes);
    }
    return bytes_;
  }

 private:
  mutable std::mutex mu_;
  mutable std::shared_ptr<const Bytes> bytes_;
};

/// Layers by window or slice start, oldest first; only the last of a start may be unfrozen.
template <class L>
using LayersByStart = std::map<int64_t, std::vector<std::shared_ptr<L>>>;
template <class L>
using FrozenLayers = std::vector<std::pair<int64_t, std::shared_ptr<const L>>>;

/// Freezes every layer (task thread, at the barrier) and returns them for the asynchronous part.
template <class L>
std::shared_ptr<const FrozenLayers<L>> freezeLayers(const LayersByStart<L>& layers) {
  auto frozen = std::make_shared<FrozenLayers<L>>();
  for (const auto& [start, stack] : layers) {
    for (const auto& layer : stack) {
      layer->frozen = true;
      frozen->emplace_back(start, layer);
    }
  }
  return frozen;
}

/// The asynchronous part of a layered snapshot: every frozen layer's bytes
/// (serialize(layer, start, Bytes&) for a layer not serialized yet), concatenated by key group
/// into snap.keyedState.
template <class L, class F>
void writeLayers(const FrozenLayers<L>& frozen, F serialize, OperatorSnapshot& snap) {
  std::vector<std::shared_ptr<const StateLayer::Bytes>> all;
  all.reserve(frozen.size());
  std::map<int, size_t> sizes;
  for (const auto& [start, layer] : frozen) {
    // Init-captures: clang before 16 cannot capture structured bindings.
    all.push_back(layer->serialized(
        [&serialize, &l = *layer, start = start](StateLayer::Bytes& bytes) { serialize(l, start, bytes); }));
    for (const auto& [kg, bytes] : *all.back()) sizes[kg] += bytes.size();
  }
  for (const auto& [kg, size] : sizes) snap.keyedState[kg].reserve(snap.keyedState[kg].size() + size);
  for (const auto& bytes : all) {
    for (const auto& [kg, b] : *bytes) {
      Buffer& out = snap.keyedState[kg];
      out.insert(out.end(), b.begin(), b.end());
    }
  }
}

/// snapshotState() of a layered window operator: the watermark up to which windows fired as
/// operator state (read back by restoredFiredWatermark), every layer frozen now, and an
/// asyncPart that writes them with serialize(layer, start, maxParallelism, Bytes&).
template <class L, class F>
void snapshotLayers(OperatorSnapshot& out, int64_t firedWatermark, const LayersByStart<L>& layers, int maxParallelism,
                    F serialize) {
  DataOutputView(&out.operatorState).writePod(firedWatermark);
  out.asyncPart = [frozen = freezeLayers(layers), maxParallelism, serialize](OperatorSnapshot& snap) {
    writeLayers(*frozen, [&](const L& layer, int64_t start, StateLayer::Bytes& bytes) {
      serialize(layer, start, maxParallelism, bytes);
    }, snap);
  };
}

template <class K>
struct StdKeyHash {
  size_t operator()(const K& k) const { return KeyHash<K>()(k); }
};

/// Serializes per-key entries into OperatorSnapshot::keyedState by key group; `write(view)`
/// writes one entry after its key.
template <class K, class Map, class WriteFn>
void snapshotByKeyGroup(const Map& state, int maxParallelism, OperatorSnapshot& out, WriteFn write) {
  for (const auto& [key, value] : state) {
    DataOutputView view(&out.keyedState[assignToKeyGroup(KeyHash<K>()(key), maxParallelism)]);
    TypeSerializer<K>::serialize(key, view);
    write(value, view);
  }
}

/// Restores what snapshotByKeyGroup wrote: for every entry of the restored key groups,
/// `read(key, in)` reads the value that follows the key.
template <class K, class ReadFn>
void restoreByKeyGroup(const RestoredState& state, ReadFn read) {
  for (const Buffer& b : state.keyedState) {
    DataInputView in(b.data(), b.size());
    while (!in.atEnd()) {
      K key{};
      TypeSerializer<K>::deserialize(key, in);
      read(key, in);
    }
  }
}

}  // namespace detail
}  // namespace flink
