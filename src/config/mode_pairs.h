#pragma once
// Source and sink modes that cannot work together (DESIGN.md: `check` refuses source/sink mode
// pairs that would duplicate or lose data, and suggests the mode that works). Judged on the
// config alone, before anything connects, so `check` and `run` refuse the same pipelines.

#include "config/config_node.h"
#include <string>

#include "core/status.h"

namespace sluice {

// The sink block's write mode as the data sees it: `mode:` (append when absent), "changelog" for
// a jsonl sink with the Debezium envelope, "" for sinks that keep nothing (discard, stdout).
std::string EffectiveSinkMode(const ConfigNode& sink);

// InvalidArgument naming the two options and the pair that works; OK otherwise.
// `default_source_mode` is the source connector's default for `mode:` (empty when it has none,
// as files, which resume by offset and never read a row twice).
Status CheckModePair(const ConfigNode& source, const ConfigNode& sink, const std::string& default_source_mode);

}  // namespace sluice
