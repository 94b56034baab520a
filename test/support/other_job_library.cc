// A second job library for the tests of job-library isolation: it registers the entry class
// that route-counts.so registers too (com.example.RouteCounts, with another main) and one of its
// own. Both mains refuse to build a pipeline with a message saying which library they come from.
#include <stdexcept>

#include "flink/job.h"

namespace {

void otherRouteCounts(flink::StreamExecutionEnvironment&, const std::vector<std::string>&) {
  throw std::invalid_argument("RouteCounts of other-job-library.so");
}

void otherJob(flink::StreamExecutionEnvironment&, const std::vector<std::string>&) {
  throw std::invalid_argument("OtherJob of other-job-library.so");
}

}  // namespace

FLINK_JOB("com.example.RouteCounts", otherRouteCounts);
FLINK_JOB("com.example.OtherJob", otherJob);
