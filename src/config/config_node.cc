#include "config/config_node.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "core/strings.h"
#include "core/values.h"

namespace sluice {

ConfigNode ConfigNode::Scalar(std::string value, std::string path) {
  ConfigNode n;
  n.SetScalar(std::move(value));
  n.path_ = std::move(path);
  return n;
}

std::string ConfigNode::Where() const {
  std::string w = path_.empty() ? "<root>" : path_;
  if (line_ > 0) w += " (line " + std::to_string(line_) + ")";
  return w;
}

std::string ConfigNode::Shown() const {
  if (interpolated_) return "(a value from ${...}, not shown)";
  return "'" + scalar_ + "'";
}

const ConfigNode* ConfigNode::Find(const std::string& key) const {
  if (kind_ != Kind::kMap) return nullptr;
  for (const auto& [k, v] : entries_) {
    if (k == key) return &v;
  }
  return nullptr;
}

ConfigNode* ConfigNode::FindMutable(const std::string& key) {
  for (auto& [k, v] : entries_) {
    if (k == key) return &v;
  }
  return nullptr;
}

Result<std::string> ConfigNode::AsString() const {
  if (kind_ != Kind::kScalar) return Status::InvalidArgument(Where() + ": expected a single value");
  return scalar_;
}

Result<int64_t> ConfigNode::AsInt() const {
  ASSIGN_OR_RETURN(std::string s, AsString());
  int64_t v;
  if (!ParseInt64(std::string(Trim(s)), &v)) {
    return Status::InvalidArgument(Where() + ": expected an integer, got " + Shown());
  }
  return v;
}

Result<double> ConfigNode::AsDouble() const {
  ASSIGN_OR_RETURN(std::string s, AsString());
  double v;
  if (!ParseFloat64(std::string(Trim(s)), &v)) {
    return Status::InvalidArgument(Where() + ": expected a number, got " + Shown());
  }
  return v;
}

Result<bool> ConfigNode::AsBool() const {
  ASSIGN_OR_RETURN(std::string s, AsString());
  std::string l = ToLower(Trim(s));
  if (l == "true" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "no" || l == "off") return false;
  return Status::InvalidArgument(Where() + ": expected true or false, got " + Shown());
}

Result<double> ParseDurationSeconds(const std::string& text) {
  std::string t = ToLower(Trim(text));
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  double v;
  if (i == 0 || !ParseFloat64(t.substr(0, i), &v)) {
    return Status::InvalidArgument("expected a duration such as 500ms, 10s, 5m, 2h or 1d, got '" + text + "'");
  }
  std::string unit = std::string(Trim(t.substr(i)));
  if (unit.empty() || unit == "s" || unit == "sec") return v;
  if (unit == "ms") return v / 1000;
  if (unit == "m" || unit == "min") return v * 60;
  if (unit == "h") return v * 3600;
  if (unit == "d") return v * 86400;
  return Status::InvalidArgument("unknown duration unit '" + unit + "' in '" + text + "' (use ms, s, m, h or d)");
}

Result<int64_t> ParseByteSize(const std::string& text) {
  std::string t = ToLower(Trim(text));
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  double v;
  if (i == 0 || !ParseFloat64(t.substr(0, i), &v)) {
    return Status::InvalidArgument("expected a size such as 64MiB, 10MB or 4096, got '" + text + "'");
  }
  std::string unit = std::string(Trim(t.substr(i)));
  double mult = 1;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb") mult = 1e3;
  else if (unit == "kib") mult = 1024;
  else if (unit == "m" || unit == "mb") mult = 1e6;
  else if (unit == "mib") mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb") mult = 1e9;
  else if (unit == "gib") mult = 1024.0 * 1024 * 1024;
  else return Status::InvalidArgument("unknown size unit '" + unit + "' in '" + text + "'");
  return static_cast<int64_t>(std::llround(v * mult));
}

Result<double> ConfigNode::AsSeconds() const {
  ASSIGN_OR_RETURN(std::string s, AsString());
  auto r = ParseDurationSeconds(s);
  if (!r.ok()) {
    return Status::InvalidArgument(Where() + ": expected a duration such as 500ms, 10s, 5m, 2h or 1d, got " + Shown());
  }
  return r;
}

Result<int64_t> ConfigNode::AsBytes() const {
  ASSIGN_OR_RETURN(std::string s, AsString());
  auto r = ParseByteSize(s);
  if (!r.ok()) return Status::InvalidArgument(Where() + ": expected a size such as 64MiB, 10MB or 4096, got " + Shown());
  return r;
}

Result<std::vector<std::string>> ConfigNode::AsStringList() const {
  std::vector<std::string> out;
  if (kind_ == Kind::kScalar) {
    out.push_back(scalar_);
    return out;
  }
  if (kind_ == Kind::kNull) return out;
  if (kind_ != Kind::kList) return Status::InvalidArgument(Where() + ": expected a list");
  for (const auto& item : items_) {
    if (!item.IsScalar() && !item.IsNull()) {
      return Status::InvalidArgument(item.Where() + ": expected a single value");
    }
    out.push_back(item.scalar());
  }
  return out;
}

}  // namespace sluice
