#pragma once
// Logger: human-readable lines or JSON lines on stderr. Owns the terminal's status line (live
// progress), clearing it before a log line and redrawing it after. Thread-safe. Secrets never
// reach it: config values are not logged, only their YAML paths.

#include <cstdio>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

class Logger {
 public:
  using Fields = std::vector<std::pair<std::string, std::string>>;
  explicit Logger(FILE* out = stderr) : out_(out) {}
  void SetJson(bool json) { json_ = json; }
  void SetLevel(LogLevel l) { level_ = l; }
  bool json() const { return json_; }

  void Log(LogLevel level, const std::string& msg, const Fields& fields = {});
  void Debug(const std::string& m, const Fields& f = {}) { Log(LogLevel::kDebug, m, f); }
  void Info(const std::string& m, const Fields& f = {}) { Log(LogLevel::kInfo, m, f); }
  void Warn(const std::string& m, const Fields& f = {}) { Log(LogLevel::kWarn, m, f); }
  void Error(const std::string& m, const Fields& f = {}) { Log(LogLevel::kError, m, f); }

  // Live status line (only drawn when enabled, i.e. on a terminal without --json).
  void EnableStatusLine(bool on) { status_enabled_ = on; }
  void SetStatusLine(const std::string& line);
  void ClearStatusLine();

 private:
  FILE* out_;
  bool json_ = false;
  LogLevel level_ = LogLevel::kInfo;
  bool status_enabled_ = false;
  std::string status_;
  std::mutex mu_;
};

}  // namespace sluice
