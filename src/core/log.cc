#include "core/log.h"

#include <sys/time.h>

#include <ctime>

#include "core/strings.h"

namespace sluice {

namespace {
const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string Timestamp() { return UtcNowIso(3); }
}  // namespace

void Logger::Log(LogLevel level, const std::string& msg, const Fields& fields) {
  if (level < level_) return;
  std::string line;
  if (json_) {
    line.append("{\"ts\":");
    AppendJsonString(line, Timestamp());
    line.append(",\"level\":");
    AppendJsonString(line, LevelName(level));
    line.append(",\"msg\":");
    AppendJsonString(line, msg);
    for (const auto& [k, v] : fields) {
      line.push_back(',');
      AppendJsonString(line, k);
      line.push_back(':');
      AppendJsonString(line, v);
    }
    line.append("}\n");
  } else {
    line.append(Timestamp(), 11, 12);
    line.push_back(' ');
    line.append(LevelName(level));
    line.append("  ");
    line.append(msg);
    for (const auto& [k, v] : fields) {
      line.append("  ");
      line.append(k);
      line.push_back('=');
      line.append(v);
    }
    line.push_back('\n');
  }
  std::lock_guard<std::mutex> g(mu_);
  if (status_enabled_ && !status_.empty()) std::fputs("\r\033[K", out_);
  std::fputs(line.c_str(), out_);
  if (status_enabled_ && !status_.empty()) std::fputs(status_.c_str(), out_);
  std::fflush(out_);
}

void Logger::SetStatusLine(const std::string& line) {
  if (!status_enabled_) return;
  std::lock_guard<std::mutex> g(mu_);
  status_ = line;
  std::fputs("\r\033[K", out_);
  std::fputs(status_.c_str(), out_);
  std::fflush(out_);
}

void Logger::ClearStatusLine() {
  if (!status_enabled_) return;
  std::lock_guard<std::mutex> g(mu_);
  if (!status_.empty()) std::fputs("\r\033[K", out_);
  status_.clear();
  std::fflush(out_);
}

}  // namespace sluice
