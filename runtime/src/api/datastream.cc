// StreamExecutionEnvironment (flink/datastream.h).
#include <stdexcept>

#include "flink/datastream.h"

namespace flink {

void StreamExecutionEnvironment::execute(const std::string& jobName) {
  if (executed_) throw std::logic_error("execute() called twice");
  if (graph_.nodes.empty()) throw std::logic_error("execute() called on an empty pipeline: add a source and a sink");
  graph_.jobName = jobName;
  executed_ = true;
}

}  // namespace flink
