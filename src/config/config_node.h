#pragma once
// ConfigNode: a parsed YAML value (scalar, list or map) that remembers where it came from, so that
// every config error can name its YAML path and line. Built by config/loader from yaml-cpp; the
// rest of sluice sees only this type, never yaml-cpp.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace sluice {

class ConfigNode {
 public:
  enum class Kind { kNull, kScalar, kList, kMap };

  ConfigNode() = default;
  static ConfigNode Scalar(std::string value, std::string path = "");

  Kind kind() const { return kind_; }
  bool IsNull() const { return kind_ == Kind::kNull; }
  bool IsScalar() const { return kind_ == Kind::kScalar; }
  bool IsList() const { return kind_ == Kind::kList; }
  bool IsMap() const { return kind_ == Kind::kMap; }
  // Dotted YAML path, e.g. "source.tls.mode" or "streams.orders.key[0]".
  const std::string& path() const { return path_; }
  int line() const { return line_; }  // 1-based, 0 when unknown
  // "source.delimiter (line 4)".
  std::string Where() const;
  // The value as an error message may quote it: '…' in quotes, or a placeholder when it came
  // from ${ENV} or ${file:…}, which may hold a secret.
  std::string Shown() const;
  bool interpolated() const { return interpolated_; }
  void SetInterpolated(bool v) { interpolated_ = v; }

  const std::string& scalar() const { return scalar_; }
  const std::vector<ConfigNode>& items() const { return items_; }
  const std::vector<std::pair<std::string, ConfigNode>>& entries() const { return entries_; }
  // Map lookup; nullptr when absent or when this is not a map.
  const ConfigNode* Find(const std::string& key) const;

  // Typed reads of scalars, with errors that name the path.
  Result<std::string> AsString() const;
  Result<int64_t> AsInt() const;
  Result<bool> AsBool() const;
  Result<double> AsDouble() const;
  // "500ms", "10s", "5m", "2h", "1d", or a bare number of seconds.
  Result<double> AsSeconds() const;
  // "64MiB", "10MB", "4k", or a bare number of bytes.
  Result<int64_t> AsBytes() const;
  // A scalar or a list of scalars, as a list.
  Result<std::vector<std::string>> AsStringList() const;

  // Building, for the loader and tests.
  void SetKind(Kind k) { kind_ = k; }
  void SetScalar(std::string s) { kind_ = Kind::kScalar; scalar_ = std::move(s); }
  void SetLocation(std::string path, int line) { path_ = std::move(path); line_ = line; }
  void AddItem(ConfigNode n) { kind_ = Kind::kList; items_.push_back(std::move(n)); }
  void AddEntry(std::string k, ConfigNode n) { kind_ = Kind::kMap; entries_.emplace_back(std::move(k), std::move(n)); }
  ConfigNode* FindMutable(const std::string& key);

 private:
  Kind kind_ = Kind::kNull;
  std::string scalar_;
  std::vector<ConfigNode> items_;
  std::vector<std::pair<std::string, ConfigNode>> entries_;
  std::string path_;
  int line_ = 0;
  bool interpolated_ = false;
};

// Parses a size or duration from text (shared by ConfigNode and the CLI).
Result<double> ParseDurationSeconds(const std::string& text);
Result<int64_t> ParseByteSize(const std::string& text);

}  // namespace sluice
