// The one operator test harness (as Flink's OneInputStreamOperatorTestHarness): owns an operator
// under test with its RuntimeContext, metrics, configuration and a CollectingOutput, and drives
// it on the calling thread: open, elements, watermarks, end of input, snapshots and restores.
#pragma once

#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "collecting_output.h"
#include "flink/configuration.h"
#include "flink/operators/stream_operator.h"

namespace flink::testing {

/// Op's constructor takes its arguments followed by the Output<OUT>* it emits to.
template <class OUT, class Op>
struct OneInputOperatorTestHarness {
  template <class... Args>
  explicit OneInputOperatorTestHarness(Args&&... args) : op(std::forward<Args>(args)..., &out) {
    ctx.taskName = "Operator (1/1)";
    ctx.metrics = &metrics;
    ctx.config = &config;
  }
  /// Restores (when `state` is a restore) and opens the operator; both must succeed.
  void open(const RestoredState& state = {}) {
    REQUIRE(op.initializeState(state).ok());
    REQUIRE(op.open(ctx).ok());
  }
  /// A snapshot at a barrier, with its asynchronous part run, as the TaskManager would.
  OperatorSnapshot snapshot(int64_t checkpointId) {
    OperatorSnapshot snap;
    op.snapshotState(checkpointId, snap);
    snap.materialize();
    return snap;
  }

  TaskMetrics metrics;
  Configuration config;
  RuntimeContext ctx;
  CollectingOutput<OUT> out;
  Op op;
};

/// What a subtask gets back from snapshots of one or more subtasks of checkpoint `checkpointId`:
/// every operator state (a union list) and all the keyed state.
inline RestoredState restoredFrom(const std::vector<OperatorSnapshot>& snapshots, int64_t checkpointId = 1) {
  RestoredState r;
  r.restored = true;
  r.checkpointId = checkpointId;
  for (const auto& snap : snapshots) {
    r.operatorStates.push_back(snap.operatorState);
    for (const auto& [kg, bytes] : snap.keyedState) r.keyedState.push_back(bytes);
  }
  return r;
}

}  // namespace flink::testing
