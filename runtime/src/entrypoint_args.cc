// The command line of a cluster process (entrypoint_args.h).
#include "entrypoint_args.h"

namespace flink {

Result<ClusterArgs> parseClusterArgs(const std::string& role, const std::vector<std::string>& args) {
  ClusterArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto hasValue = [&] { return i + 1 < args.size(); };
    if (a == "-D" || (a.rfind("-D", 0) == 0 && a.size() > 2)) {
      if (a == "-D" && !hasValue()) return Status::Error("-D needs a value");
      std::string kv = a == "-D" ? args[++i] : a.substr(2);
      auto eq = kv.find('=');
      if (eq == std::string::npos) return Status::Error("-D expects key=value, got '" + kv + "'");
      out.dynamicProperties.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (role == "standalone-job" && out.rest.empty() &&
               (a == "--job-classname" || a == "-c" || a == "--jars" || a == "--job-id" || a == "-jid")) {
      const char* flag = a == "-c" ? "--job-classname" : a == "-jid" ? "--job-id" : a.c_str();
      if (!hasValue()) return Status::Error(std::string(flag) + " needs a value");
      std::string& target = a == "--jars" ? out.jars : (a == "--job-id" || a == "-jid") ? out.jobId : out.jobClass;
      target = args[++i];
    } else {
      out.rest.push_back(a);
    }
  }
  return out;
}

}  // namespace flink
