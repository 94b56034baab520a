// The operator that runs a Sink: its writer and its committer, chained.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flink/operators/stream_operator.h"
#include "flink/sink.h"

namespace flink {
namespace detail {

/// Runs a Sink: its writer, and the committer side (Flink's CommitterOperator, chained to the
/// writer). Operator state: every committable not yet committed, with the checkpoint that
/// prepared it (so a restore commits them, whichever subtask restores them).
template <class T>
class SinkOperator final : public OneInputOperator<T> {
 public:
  explicit SinkOperator(std::shared_ptr<const Sink<T>> sink) : sink_(std::move(sink)), writer_(sink_->createWriter()) {}
  Status initializeState(const RestoredState& state) override {
    if (!state.restored) return Status::Ok();
    restoredCheckpointId_ = state.checkpointId;
    try {
      for (const Buffer& b : state.operatorStates) {
        DataInputView in(b.data(), b.size());
        auto n = in.readVarint();
        for (int64_t i = 0; i < n; ++i) {
          in.readVarint();  // the checkpoint that prepared it: covered by the restored one
          std::string c;
          TypeSerializer<std::string>::deserialize(c, in);
          restoredCommittables_.push_back(std::move(c));
        }
      }
    } catch (const SerializationError& e) {
      return Status::Error(std::string("sink state is corrupt: ") + e.what());
    }
    return Status::Ok();
  }
  Status open(RuntimeContext& ctx) override {
    OneInputOperator<T>::open(ctx);
    // The restored checkpoint completed: what it had prepared is committed first (every
    // subtask commits the whole list, idempotently), then the output is cleaned.
    if (!restoredCommittables_.empty()) {
      Status s = sink_->commit(restoredCommittables_);
      if (!s.ok()) return s.withContext("committing the output of restored checkpoint " + std::to_string(*restoredCheckpointId_));
      restoredCommittables_.clear();
    }
    Status s = sink_->initializeOutput({ctx.jobId, ctx.attemptNumber, ctx.subtaskIndex, restoredCheckpointId_});
    if (!s.ok()) return s;
    return writer_->open(ctx);
  }
  void collect(T&& v, int64_t ts) override {
    writer_->write(v, ts);
    TaskMetrics::inc(this->ctx_->metrics->numRecordsOut);
  }
  void emitWatermark(int64_t) override {}
  void endInput() override {}
  Status close() override {
    Status s = writer_->finish();
    if (!s.ok()) return s;
    prepare(kFinalCheckpointId, nullptr);
    return Status::Ok();
  }
  void snapshotState(int64_t checkpointId, OperatorSnapshot& out) override {
    prepare(checkpointId, &out.committables);
    DataOutputView view(&out.operatorState);
    view.writeVarint(static_cast<int64_t>(pending_.size()));
    for (const auto& [id, c] : pending_) {
      view.writeVarint(id);
      TypeSerializer<std::string>::serialize(c, view);
    }
  }
  Status notifyCheckpointComplete(int64_t checkpointId) override {
    // Everything prepared up to that checkpoint (also for checkpoints that failed before it);
    // the final notification covers all.
    std::vector<std::string> due;
    size_t n = 0;
    while (n < pending_.size() && (checkpointId == kFinalCheckpointId || pending_[n].first <= checkpointId)) {
      due.push_back(pending_[n++].second);
    }
    if (due.empty()) return Status::Ok();
    Status s = sink_->commit(due);
    if (!s.ok()) return s.withContext("committing the output of checkpoint " + (checkpointId == kFinalCheckpointId ? std::string("final") : std::to_string(checkpointId)));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    return Status::Ok();
  }

 private:
  // Prepared in checkpoint order, the final ones last.
  void prepare(int64_t checkpointId, std::vector<std::string>* durable) {
    std::vector<std::string> fresh;
    writer_->prepareCommit(checkpointId, &fresh);
    for (auto& c : fresh) {
      if (durable) durable->push_back(c);
      pending_.emplace_back(checkpointId == kFinalCheckpointId ? INT64_MAX : checkpointId, std::move(c));
    }
  }
  std::shared_ptr<const Sink<T>> sink_;
  std::unique_ptr<SinkWriter<T>> writer_;
  std::vector<std::pair<int64_t, std::string>> pending_;  // (checkpoint id, committable), not yet committed
  std::optional<int64_t> restoredCheckpointId_;
  std::vector<std::string> restoredCommittables_;
};

}  // namespace detail
}  // namespace flink
