// JobGraph: the StreamGraph after operator chaining. Consecutive operators connected by a
// forward edge with equal parallelism (the consumer having one input, the producer one
// consumer) form one JobVertex, run by one task per subtask, as in Flink's
// StreamingJobGraphGenerator. Vertices form a DAG: a vertex may have several input edges (a
// union or a two-input operator) and several output edges (fan-out).
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
  std::vector<int> inputs;   // indices into JobGraph::edges, in the order of the head's inputs; none for sources
  std::vector<int> outputs;  // indices into JobGraph::edges; none for sinks
  bool isSource() const { return inputs.empty(); }
  bool isSink() const { return outputs.empty(); }
};

struct JobGraph {
  std::string jobName;
  std::vector<JobVertex> vertices;  // topological order
  std::vector<JobEdge> edges;
  /// Number of slots the job needs: all vertices share slots (one slot sharing group).
  int requiredSlots() const;
  /// Channels of edge `e` in each consumer subtask's input gate: 1 for forward, else the
  /// producer's parallelism.
  int numChannels(int e) const;
  /// Where edge `e`'s channels start in its target's input gate: a task has one gate whose
  /// channels are those of its input edges in order.
  int channelOffset(int e) const;
  /// Channels of the input gate of `vertex` (0 for sources).
  int numInputChannels(int vertex) const;
};

/// Chains and resolves parallelism (-1 = defaultParallelism). Errors for invalid shapes (an
/// operator without input, a two-input operator missing one of its inputs) name the operator.
Result<JobGraph> buildJobGraph(const StreamGraph& graph, int defaultParallelism, int maxParallelism);

}  // namespace flink
