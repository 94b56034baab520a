// What every fuzz target shares (include it in exactly one file of a target): logging off (log
// lines would only slow the fuzzer down), and the job the targets that need a JobMaster run:
// the flight-delay job (compiled in) with a fixed job id and paths that do not exist (nothing is
// read or written by building it).
#pragma once

#include "flink/common/log.h"
#include "jobmanager/job_master.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  flink::log::setLevels(flink::log::Level::kOff, {});
  return 0;
}

namespace flink::fuzz {

inline constexpr const char* kJobId = "0123456789abcdef0123456789abcdef";

inline JobSubmission flightDelaysSubmission() {
  JobSubmission sub;
  sub.jobId = kJobId;
  sub.spec.jarURI = "builtin://flink-cpp";
  sub.spec.entryClass = "flinkcpp.examples.FlightDelays";
  sub.spec.args = {"--input", "/nonexistent/flights.csv", "--output", "/nonexistent/out"};
  return sub;
}

}  // namespace flink::fuzz
