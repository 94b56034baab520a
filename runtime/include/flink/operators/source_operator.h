// The operator that runs a Source's reader at the head of a task, with the watermark
// generator of its WatermarkStrategy; and the bounded source behind fromCollection().
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "flink/eventtime.h"
#include "flink/operators/stream_operator.h"
#include "flink/source.h"

namespace flink {
namespace detail {

template <class T>
class SourceOperator final : public SourceOperatorBase, private ReaderOutput<T> {
 public:
  SourceOperator(std::unique_ptr<SourceReader<T>> reader, WatermarkStrategy<T> s, Output<T>* out)
      : reader_(std::move(reader)), gen_(std::move(s)), out_(out) {}
  Status open(RuntimeContext& ctx) override {
    SourceOperatorBase::open(ctx);
    auto interval = ctx.config->getDurationMs(options::kAutoWatermarkInterval, 200);
    if (!interval.ok()) return interval.status();
    gen_.setInterval(*interval);
    return reader_->open(ctx);
  }
  InputStatus emitNext(int maxRecords) override {
    InputStatus s = reader_->pollNext(*this, maxRecords);
    if (s == InputStatus::kNothingAvailable) gen_.onIdle(out_);
    if (s == InputStatus::kEndOfInput) {
      out_->emitWatermark(kMaxWatermark);
      out_->endInput();
    }
    return s;
  }
  Status close() override {
    reader_->close();
    return Status::Ok();
  }
  Status initializeState(const RestoredState& state) override {
    return state.restored ? reader_->restoreState(state.operatorStates) : Status::Ok();
  }
  void emitFinalWatermark() override { out_->emitWatermark(kMaxWatermark); }
  void stopInput() override { out_->endInput(); }
  void snapshotState(int64_t, OperatorSnapshot& out) override {
    DataOutputView view(&out.operatorState);
    reader_->snapshotState(view);
  }

 private:
  void emitWatermark(int64_t watermark) override { out_->emitWatermark(watermark); }
  void collect(T&& v, int64_t ts) override {
    ts = gen_.onElement(v, ts);
    TaskMetrics::inc(ctx_->metrics->numRecordsIn);
    out_->collect(std::move(v), ts);
    gen_.afterElement(out_);
  }
  std::unique_ptr<SourceReader<T>> reader_;
  WatermarkGenerator<T> gen_;
  Output<T>* out_;
};

template <class T>
class CollectionReader final : public SourceReader<T> {
 public:
  explicit CollectionReader(std::shared_ptr<const std::vector<T>> elements) : elements_(std::move(elements)) {}
  Status open(RuntimeContext& ctx) override {
    next_ = static_cast<size_t>(ctx.subtaskIndex);
    step_ = static_cast<size_t>(ctx.parallelism);
    for (const Buffer& b : restored_) {
      DataInputView in(b.data(), b.size());
      auto oldStep = in.readPod<uint64_t>();
      auto oldNext = in.readPod<uint64_t>();
      done_.push_back({oldStep, oldNext});
    }
    return Status::Ok();
  }
  InputStatus pollNext(ReaderOutput<T>& out, int maxRecords) override {
    for (int i = 0; i < maxRecords && next_ < elements_->size(); ++i, next_ += step_) {
      if (isDone(next_)) continue;
      T copy = (*elements_)[next_];
      out.collect(std::move(copy));
    }
    return next_ < elements_->size() ? InputStatus::kMoreAvailable : InputStatus::kEndOfInput;
  }
  // Position: (parallelism, subtask, next index) of every subtask; on restore, element i is
  // done when the subtask that owned it had passed it.
  void snapshotState(DataOutputView& out) override {
    out.writePod(static_cast<uint64_t>(step_));
    out.writePod(static_cast<uint64_t>(next_));
  }
  Status restoreState(const std::vector<Buffer>& states) override {
    restored_ = states;
    return Status::Ok();
  }

 private:
  std::vector<Buffer> restored_;
  std::shared_ptr<const std::vector<T>> elements_;
  bool isDone(size_t i) const {
    for (const auto& [oldStep, oldNext] : done_) {
      if (oldNext % oldStep == i % oldStep) return i < oldNext;
    }
    return false;
  }
  std::vector<std::pair<uint64_t, uint64_t>> done_;
  size_t next_ = 0;
  size_t step_ = 1;
};

template <class T>
class CollectionSource final : public Source<T> {
 public:
  explicit CollectionSource(std::vector<T> elements)
      : elements_(std::make_shared<const std::vector<T>>(std::move(elements))) {}
  std::unique_ptr<SourceReader<T>> createReader() const override {
    return std::make_unique<CollectionReader<T>>(elements_);
  }

 private:
  std::shared_ptr<const std::vector<T>> elements_;
};

}  // namespace detail
}  // namespace flink
