// JobGraph: the StreamGraph after operator chaining. Consecutive operators connected by a
// forward edge with equal parallelism (and a single input/output) form one JobVertex, run by
// one task per subtask, as in Flink's StreamingJobGraphGenerator.
#pragma once

#include <string>
#include <vector>

#include "flink/status.h"
#include "flink/stream_graph.h"

namespace flink {

struct JobEdge {
  int sourceVertex = -1;
  int targetVertex = -1;
  int streamEdge = -1;  // index into StreamGraph::edges
  Partitioning partitioning = Partitioning::kForward;
};

struct JobVertex {
  int index = -1;
  std::string id;    // 32 hex chars, stable for the same pipeline (JobVertexID)
  std::string name;  // "Source: flights -> Map", as Flink names chains
  int parallelism = 1;
  int maxParallelism = 128;
  std::vector<int> chain;  // StreamNode ids, head first
  std::vector<std::string> operatorIds;  // per chained node: 32 hex, from uid (or name and position)
  int input = -1;          // index into JobGraph::edges, or -1 for sources
  int output = -1;         // index into JobGraph::edges, or -1 for sinks
  bool isSource() const { return input < 0; }
};

struct JobGraph {
  std::string jobName;
  std::vector<JobVertex> vertices;  // topological order
  std::vector<JobEdge> edges;
  /// Number of slots the job needs: all vertices share slots (one slot sharing group).
  int requiredSlots() const;
};

/// Chains and resolves parallelism (-1 = defaultParallelism). Errors for shapes the runtime
/// does not run yet (an operator with several inputs or outputs) name the operator.
Result<JobGraph> buildJobGraph(const StreamGraph& graph, int defaultParallelism, int maxParallelism);

}  // namespace flink
