#include "graph/job_graph.h"

#include <fmt/format.h>

#include <algorithm>

namespace flink {

int JobGraph::requiredSlots() const {
  int n = 0;
  for (const auto& v : vertices) n = std::max(n, v.parallelism);
  return n;
}

int JobGraph::numChannels(int e) const {
  const JobEdge& edge = edges[e];
  return edge.partitioning == Partitioning::kForward ? 1 : vertices[edge.sourceVertex].parallelism;
}

int JobGraph::channelOffset(int e) const {
  int offset = 0;
  for (int in : vertices[edges[e].targetVertex].inputs) {
    if (in == e) return offset;
    offset += numChannels(in);
  }
  return offset;
}

int JobGraph::numInputChannels(int vertex) const {
  int n = 0;
  for (int in : vertices[vertex].inputs) n += numChannels(in);
  return n;
}

namespace {

/// The shape rules of a StreamGraph node: sources without inputs, others with, inputs defined
/// before their consumers, two-input operators fed on both inputs.
Status validateNode(const StreamGraph& graph, const StreamNode& node) {
  if (node.isSource && !node.inEdges.empty()) {
    return Status::Error(fmt::format("source '{}' cannot have an input", node.name));
  }
  if (!node.isSource && node.inEdges.empty()) {
    return Status::Error(fmt::format("operator '{}' has no input", node.name));
  }
  for (int e : node.inEdges) {
    if (graph.edges[e].source >= node.id) {
      return Status::Error(fmt::format("operator '{}' consumes an operator defined after it (a cycle)", node.name));
    }
  }
  if (node.twoInput) {
    bool has[2] = {false, false};
    for (int e : node.inEdges) has[graph.edges[e].typeNumber == 1] = true;
    if (!has[0] || !has[1]) {
      return Status::Error(fmt::format("two-input operator '{}' is missing its {} input", node.name,
                                       has[0] ? "second" : "first"));
    }
  } else {
    for (int e : node.inEdges) {
      if (graph.edges[e].typeNumber != 0) {
        return Status::Error(fmt::format("operator '{}' has one input but is fed as a second input", node.name));
      }
    }
  }
  return Status::Ok();
}

/// Vertices and edges: a node is chained into its producer's vertex when it is the producer's
/// only consumer, its only input is that producer, over a forward edge with equal parallelism.
JobGraph chainVertices(const StreamGraph& graph, const std::vector<int>& parallelism, int maxParallelism) {
  JobGraph jg;
  jg.jobName = graph.jobName;
  std::vector<int> vertexOf(graph.nodes.size(), -1);
  // Nodes are created in topological order by the API (inputs before consumers).
  for (const auto& node : graph.nodes) {
    // Chain into the producer's vertex when this node is the producer's only consumer, its
    // only input is that producer, over a forward edge with equal parallelism.
    if (node.inEdges.size() == 1 && !node.twoInput) {
      const StreamEdge& e = graph.edges[node.inEdges[0]];
      bool chainable = e.partitioning == Partitioning::kForward && parallelism[e.source] == parallelism[node.id] &&
                       graph.nodes[e.source].outEdges.size() == 1;
      if (chainable) {
        JobVertex& v = jg.vertices[vertexOf[e.source]];
        v.chain.push_back(node.id);
        v.name += " -> " + node.name;
        vertexOf[node.id] = v.index;
        continue;
      }
    }
    JobVertex& v = jg.vertices.emplace_back();
    v.index = static_cast<int>(jg.vertices.size()) - 1;
    v.name = node.name;
    v.parallelism = parallelism[node.id];
    v.maxParallelism = maxParallelism;
    v.chain.push_back(node.id);
    vertexOf[node.id] = v.index;
    for (int streamEdge : node.inEdges) {
      const StreamEdge& e = graph.edges[streamEdge];
      JobEdge je;
      je.sourceVertex = vertexOf[e.source];
      je.targetVertex = v.index;
      je.streamEdge = streamEdge;
      je.partitioning = e.partitioning;
      // A forward edge between different parallelisms becomes a rebalance, as in Flink.
      if (je.partitioning == Partitioning::kForward && parallelism[e.source] != v.parallelism) {
        je.partitioning = Partitioning::kRebalance;
      }
      int index = static_cast<int>(jg.edges.size());
      v.inputs.push_back(index);
      jg.vertices[je.sourceVertex].outputs.push_back(index);
      jg.edges.push_back(je);
    }
  }
  return jg;
}

/// Stable ids: operators by uid (or name and position), vertices by their chain.
void assignIds(const StreamGraph& graph, JobGraph* jg) {
  auto hex128 = [](const std::string& seed) {
    uint32_t h[4];
    for (uint32_t i = 0; i < 4; ++i) h[i] = murmur3_32(seed.data(), seed.size(), 0x9747b28cU + i);
    return fmt::format("{:08x}{:08x}{:08x}{:08x}", h[0], h[1], h[2], h[3]);
  };
  for (auto& v : jg->vertices) {
    std::string seed;
    for (int n : v.chain) {
      const auto& node = graph.nodes[n];
      // Without a uid, an operator is identified by its name, position and neighbours (as
      // Flink hashes the topology), so different pipelines do not share operator ids.
      std::string opSeed = "uid:" + node.uid;
      if (node.uid.empty()) {
        opSeed = node.name + "#" + std::to_string(n);
        for (int e : node.inEdges) opSeed += "<" + graph.nodes[graph.edges[e].source].name;
        for (int e : node.outEdges) opSeed += ">" + graph.nodes[graph.edges[e].target].name;
      }
      v.operatorIds.push_back(hex128(opSeed));
      seed += opSeed + "|";
    }
    v.id = hex128(seed);
  }
}

}  // namespace

Result<JobGraph> buildJobGraph(const StreamGraph& graph, int defaultParallelism, int maxParallelism) {
  if (defaultParallelism < 1) return Status::Error("parallelism must be at least 1");
  if (maxParallelism < 1) return Status::Error(std::string(options::kMaxParallelism) + " must be at least 1");
  std::vector<int> parallelism(graph.nodes.size());
  for (const auto& node : graph.nodes) {
    Status s = validateNode(graph, node);
    if (!s.ok()) return s;
    int p = node.parallelism > 0 ? node.parallelism : defaultParallelism;
    if (p > maxParallelism) {
      return Status::Error(fmt::format("operator '{}': parallelism {} exceeds {} {}", node.name, p,
                                       options::kMaxParallelism, maxParallelism));
    }
    parallelism[node.id] = p;
  }
  JobGraph jg = chainVertices(graph, parallelism, maxParallelism);
  assignIds(graph, &jg);
  return jg;
}

}  // namespace flink
