#pragma once
// Option schemas: every connector declares its options (name, type, default, doc) in one table.
// From that table come validation (unknown keys are errors naming their YAML path, with a "did
// you mean"), defaults, and the help text of `sluice connectors describe`.

#include <string>
#include <vector>

#include "config/config_node.h"
#include "core/status.h"

namespace sluice {

enum class OptionType { kString, kInt, kBool, kDuration, kSize, kEnum, kStringList, kMap, kAny };

struct OptionSpec {
  std::string name;
  OptionType type = OptionType::kString;
  std::string default_value;          // text form; empty means "no default"
  std::string doc;
  bool required = false;
  std::vector<std::string> choices;   // kEnum only
  bool secret = false;                // never printed
};

using OptionSchema = std::vector<OptionSpec>;

const char* OptionTypeName(OptionType t);

// Checks `block` (a map) against `schema`: unknown keys, missing required options, type and enum
// errors. `ignore` lists keys that the caller handles itself (such as "type").
Status ValidateOptions(const ConfigNode& block, const OptionSchema& schema,
                       const std::vector<std::string>& ignore = {"type"});

// Typed access to a validated block, falling back to the schema's defaults.
class Options {
 public:
  Options(const ConfigNode* block, const OptionSchema* schema) : block_(block), schema_(schema) {}
  bool Has(const std::string& name) const;
  const ConfigNode* Node(const std::string& name) const;
  std::string GetString(const std::string& name) const;
  int64_t GetInt(const std::string& name) const;
  bool GetBool(const std::string& name) const;
  double GetSeconds(const std::string& name) const;
  int64_t GetBytes(const std::string& name) const;
  std::vector<std::string> GetList(const std::string& name) const;
  const ConfigNode& block() const { return *block_; }

 private:
  const OptionSpec* Spec(const std::string& name) const;
  const ConfigNode* block_;
  const OptionSchema* schema_;
};

}  // namespace sluice
