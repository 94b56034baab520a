// The StreamGraph: what a job's main() builds through the DataStream API, before chaining.
// Nodes carry type-erased factories instantiated by the API templates, so the runtime can
// create operators, record writers and network inputs without knowing the element types.
// Every process (JobManager and TaskManagers) runs the job's main() and gets the same graph.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flink/operators/stream_operator.h"

namespace flink {

class BufferSink;        // flink/io/record_writer.h
class RecordWriterBase;  // flink/io/record_writer.h
class NetworkInputBase;  // flink/io/network_input.h
class SplitEnumerator;   // flink/source.h

enum class Partitioning {
  kForward,    // subtask i to subtask i; chained when parallelism is equal
  kHash,       // by key group of the record's key (keyBy)
  kRebalance,  // round-robin
};

struct StreamEdge {
  int source = -1;
  int target = -1;
  Partitioning partitioning = Partitioning::kForward;
  /// For kHash: stable hash of the record's key (record is a const T* of the source's type).
  std::function<uint32_t(const void* record)> keyHash;
  /// Which input of the target this edge feeds: 0 for one-input operators and the first input
  /// of a two-input operator, 1 for its second input.
  int typeNumber = 0;
};

/// One output edge of a node and where its buffers go.
struct WriterTarget {
  BufferSink* sink = nullptr;
  const StreamEdge* edge = nullptr;
};

struct StreamNode {
  int id = -1;
  std::string name;  // e.g. "Map", "Source: flights", shown in the REST API
  std::string uid;   // stable operator id (for state mapping); defaults to a generated one
  int parallelism = -1;  // -1: the job's default parallelism
  bool isSource = false;
  bool isSink = false;
  bool twoInput = false;  // a two-input operator (connect): its inEdges have typeNumber 0 and 1
  std::vector<int> inEdges;   // several for a union or a two-input operator
  std::vector<int> outEdges;  // several when the output is consumed several times (fan-out)
  /// Creates the operator; `output` is the Output<OUT>* it emits to (nullptr for sinks).
  std::function<std::unique_ptr<StreamOperatorBase>(void* output)> createOperator;
  /// Creates the writer that ships this node's output (type OUT) over the given edges (every
  /// record to each of them).
  std::function<std::unique_ptr<RecordWriterBase>(const std::vector<WriterTarget>& targets, int maxParallelism,
                                                  size_t segmentSize, TaskMetrics*)>
      createWriter;
  /// Creates the network input feeding this node; `input` is its StreamOperatorBase::input().
  /// inputOfChannel has one entry per input channel: the typeNumber of the edge it belongs to.
  std::function<std::unique_ptr<NetworkInputBase>(void* input, std::vector<uint8_t> inputOfChannel, TaskMetrics*)>
      createNetworkInput;
  /// Sources only: creates the split enumerator the JobMaster runs for it, or nullptr (no splits).
  std::function<std::unique_ptr<SplitEnumerator>()> createEnumerator;
};

/// Built by StreamExecutionEnvironment. Not thread-safe while being built; read-only after.
struct StreamGraph {
  std::string jobName;
  std::vector<StreamNode> nodes;
  std::vector<StreamEdge> edges;
  /// Shown in the REST API under /jobs/{id}/config as execution-config.user-config.
  std::map<std::string, std::string> globalJobParameters;
};

}  // namespace flink
