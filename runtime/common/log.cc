#include "flink/common/log.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>

#include "flink/common/strings.h"

namespace flink::log {
namespace {

struct Settings {
  std::mutex mu;
  std::string logger = "org.apache.flink.flink";
  Level level = Level::kInfo;  // the effective level of `logger`
  Level root = Level::kInfo;
  std::map<std::string, Level> loggers;
};

Settings& settings() {
  static Settings s;
  return s;
}

std::string loggerOf(const std::string& component) {
  if (component == "jobmanager") return "org.apache.flink.runtime.jobmanager";
  if (component == "taskmanager") return "org.apache.flink.runtime.taskexecutor";
  if (component == "operator") return "org.apache.flink.kubernetes.operator";
  return "org.apache.flink." + component;
}

/// The level of `logger`: that of the longest configured name it equals or lies below, else root.
Level effective(const Settings& s) {
  size_t best = 0;
  Level level = s.root;
  for (const auto& [name, l] : s.loggers) {
    bool applies = s.logger == name || (s.logger.size() > name.size() && s.logger.compare(0, name.size(), name) == 0 &&
                                        s.logger[name.size()] == '.');
    if (applies && name.size() >= best) {
      best = name.size();
      level = l;
    }
  }
  return level;
}

std::optional<Level> parseLevel(std::string text) {
  text = trim(text);
  // A log4j lookup with a default, e.g. ${env:ROOT_LOG_LEVEL:-INFO}: the default.
  if (text.rfind("${", 0) == 0 && text.back() == '}' && text.find(":-") != std::string::npos) {
    text = text.substr(text.find(":-") + 2, text.size() - text.find(":-") - 3);
  }
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (text == "TRACE" || text == "DEBUG" || text == "ALL") return Level::kDebug;
  if (text == "INFO") return Level::kInfo;
  if (text == "WARN" || text == "WARNING") return Level::kWarn;
  if (text == "ERROR" || text == "FATAL") return Level::kError;
  if (text == "OFF") return Level::kOff;
  return std::nullopt;
}

/// "LEVEL, appender, ..." -> LEVEL (log4j 1 and the log4j 2 shorthand).
std::string firstItem(const std::string& v) { return trim(v.substr(0, v.find(','))); }

}  // namespace

void setComponent(const std::string& name) {
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mu);
  s.logger = loggerOf(name);
  s.level = effective(s);
}

std::string loggerName() {
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.logger;
}

void setLevels(Level root, std::map<std::string, Level> loggers) {
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mu);
  s.root = root;
  s.loggers = std::move(loggers);
  s.level = effective(s);
}

bool enabled(Level level) {
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mu);
  return level != Level::kOff && level >= s.level;
}

void write(Level level, const std::string& message) {
  std::string logger;
  {
    Settings& s = settings();
    std::lock_guard<std::mutex> lock(s.mu);
    if (level == Level::kOff || level < s.level) return;
    logger = s.logger;
  }
  static const char* kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
  std::string line = fmt::format("{},{:03d} {:<5} {:<60} [] - {}\n", ts, static_cast<int>(ms),
                                 kNames[static_cast<int>(level)], logger, message);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

Result<bool> configureFromFile(const std::string& dir, const std::string& file) {
  const std::string path = dir + "/" + file;
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::optional<Level> root;
  std::map<std::string, Level> loggers;
  auto bad = [&](int line, const std::string& what) {
    return Status::Error(fmt::format("{}:{}: {}", path, line, what));
  };
  if (file.size() > 4 && file.compare(file.size() - 4, 4, ".xml") == 0) {
    // logback: <root level="X"> and <logger name="N" level="X"> (attributes in either order).
    static const std::regex kRoot(R"re(<root\b[^>]*\blevel\s*=\s*"([^"]*)")re");
    static const std::regex kLogger(R"re(<logger\b([^>]*)>)re");
    static const std::regex kName(R"re(\bname\s*=\s*"([^"]*)")re"), kLevel(R"re(\blevel\s*=\s*"([^"]*)")re");
    auto lineOf = [&](size_t pos) { return 1 + static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n')); };
    std::smatch m;
    if (std::regex_search(text, m, kRoot)) {
      root = parseLevel(m[1].str());
      if (!root) return bad(lineOf(m.position(0)), "unknown level '" + m[1].str() + "' of <root>");
    }
    for (auto it = std::sregex_iterator(text.begin(), text.end(), kLogger); it != std::sregex_iterator(); ++it) {
      std::string attrs = (*it)[1].str();
      std::smatch n, l;
      if (!std::regex_search(attrs, n, kName) || !std::regex_search(attrs, l, kLevel)) continue;
      auto level = parseLevel(l[1].str());
      if (!level) return bad(lineOf(it->position(0)), "unknown level '" + l[1].str() + "' of logger " + n[1].str());
      loggers[n[1].str()] = *level;
    }
  } else {
    // Java properties: key = value, key: value or key value; # and ! comments.
    std::map<std::string, std::pair<std::string, int>> ids;  // log4j 2 logger.<id>.name
    std::map<std::string, std::pair<std::string, int>> idLevels;
    std::istringstream lines(text);
    std::string raw;
    int n = 0;
    while (std::getline(lines, raw)) {
      ++n;
      std::string line = trim(raw);
      if (line.empty() || line[0] == '#' || line[0] == '!') continue;
      size_t sep = line.find_first_of("=:");
      if (sep == std::string::npos) continue;
      std::string key = trim(line.substr(0, sep)), value = trim(line.substr(sep + 1));
      auto level = [&](const std::string& v, const std::string& what) -> Result<Level> {
        auto l = parseLevel(v);
        if (!l) return bad(n, "unknown level '" + v + "' of " + what);
        return *l;
      };
      if (key == "rootLogger.level" || key == "rootLogger" || key == "log4j.rootLogger" || key == "log4j.rootCategory") {
        auto l = level(firstItem(value), key);
        if (!l.ok()) return l.status();
        root = *l;
      } else if (key.rfind("log4j.logger.", 0) == 0) {
        auto l = level(firstItem(value), key);
        if (!l.ok()) return l.status();
        loggers[key.substr(13)] = *l;
      } else if (key.rfind("logger.", 0) == 0) {
        std::string rest = key.substr(7);
        size_t dot = rest.rfind('.');
        if (dot == std::string::npos) continue;
        std::string id = rest.substr(0, dot), field = rest.substr(dot + 1);
        if (field == "name") ids[id] = {value, n};
        if (field == "level") idLevels[id] = {value, n};
      }
    }
    for (const auto& [id, name] : ids) {
      auto it = idLevels.find(id);
      if (it == idLevels.end()) continue;
      auto l = parseLevel(it->second.first);
      if (!l) return bad(it->second.second, "unknown level '" + it->second.first + "' of logger." + id + ".level");
      loggers[name.first] = *l;
    }
  }
  setLevels(root.value_or(Level::kInfo), std::move(loggers));
  return true;
}

Result<bool> configureFromDirectory(const std::string& dir) {
  auto r = configureFromFile(dir, "log4j-console.properties");
  if (!r.ok() || *r) return r;
  return configureFromFile(dir, "logback-console.xml");
}

}  // namespace flink::log
