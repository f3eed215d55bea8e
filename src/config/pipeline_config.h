#pragma once
// PipelineConfig: a pipeline YAML file, loaded, interpolated (${ENV}, ${file:/path}) and checked
// against the top-level schema and each connector's option schema. Every error names its YAML
// path and line and is an InvalidArgument (exit code 2).

#include <map>
#include <memory>
#include <string>

#include "config/config_node.h"
#include "connectors/connector.h"
#include "core/types.h"

namespace sluice {

struct Contract;
class PiiPolicy;

struct RetryPolicy {
  int max_attempts = 5;
  double initial_backoff_s = 0.5;
  double max_backoff_s = 30;
};

struct CommitInterval {
  int64_t rows = 500000;
  int64_t bytes = 256ll << 20;
  double seconds = 5;
};

struct PipelineConfig {
  std::string file;          // absolute path of the YAML file
  std::string base_dir;      // its directory: relative paths resolve here
  std::string name;
  ConfigNode root;
  std::string source_type;
  std::string sink_type;
  std::string sink_mode;       // the sink block's `mode:`, empty when it has none
  std::string state_path;      // embedded state store
  std::string quarantine_dir;
  std::map<std::string, Schema> declared_schemas;  // from `schema:` (stream "" = the only stream) and `streams:`
  std::map<std::string, std::string> stream_tables;  // `streams: {s: {table: t}}`: the sink sees stream s as t
  std::map<std::string, std::vector<std::string>> stream_keys;  // `streams: {s: {key: [...]}}`
  CommitInterval commit;
  RetryPolicy retry;
  int64_t buffer_bytes = 64ll << 20;  // channel budget between stages
  std::shared_ptr<const Contract> contract;  // from `contract:`, or null
  std::shared_ptr<const PiiPolicy> pii;      // masks from `transforms:` and the contract's pii columns

  const ConfigNode& source() const { return *root.Find("source"); }
  const ConfigNode& sink() const { return *root.Find("sink"); }
};

// Parses YAML text into a ConfigNode tree with paths and lines, interpolating ${...} in scalars.
Result<ConfigNode> ParseYaml(const std::string& text, const std::string& origin);
// Loads and validates a pipeline file.
Result<PipelineConfig> LoadPipeline(const std::string& path, const ConnectorRegistry& registry);
// What every connector of this pipeline is given (ConnectorContext), from the config.
ConnectorContext MakeConnectorContext(const PipelineConfig& cfg, StateStore* state, Logger* log);
// Resolves `p` against `base` unless absolute.
std::string ResolvePath(const std::string& base, const std::string& p);

}  // namespace sluice
