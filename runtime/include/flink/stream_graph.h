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

#include "flink/operators.h"

namespace flink {

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
};

struct StreamNode {
  int id = -1;
  std::string name;  // e.g. "Map", "Source: flights", shown in the REST API
  std::string uid;   // stable operator id (for state mapping); defaults to a generated one
  int parallelism = -1;  // -1: the job's default parallelism
  bool isSource = false;
  bool isSink = false;
  std::vector<int> inEdges;
  std::vector<int> outEdges;
  /// Creates the operator; `output` is the Output<OUT>* it emits to (nullptr for sinks).
  std::function<std::unique_ptr<StreamOperatorBase>(void* output)> createOperator;
  /// Creates the writer that ships this node's output (type OUT) over `edge`.
  std::function<std::unique_ptr<RecordWriterBase>(BufferSink*, const StreamEdge& edge, int maxParallelism,
                                                  size_t segmentSize, TaskMetrics*)>
      createWriter;
  /// Creates the network input feeding this node (type IN); `input` is its Output<IN>*.
  std::function<std::unique_ptr<NetworkInputBase>(void* input, int numChannels, TaskMetrics*)> createNetworkInput;
  /// Runs once on the JobManager before a fresh start (Flink's InitializeOnMaster).
  std::function<Status()> initializeOnMaster;
  /// Sinks: commits committables on the JobManager (idempotent), and removes uncommitted
  /// output before a restore.
  std::function<Status(const std::vector<std::string>&)> commitOnMaster;
  std::function<Status(const std::string& jobId, int64_t restoredCheckpointId)> cleanupOnMaster;
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
