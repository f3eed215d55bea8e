#pragma once
// Source and sink modes that cannot work together (DESIGN.md: `check` refuses source/sink mode
// pairs that would duplicate or lose data, and suggests the mode that works). Judged on the
// config alone, before anything connects, so `check` and `run` refuse the same pipelines.

#include "config/config_node.h"
#include "core/status.h"

namespace sluice {

// InvalidArgument naming the two options and the pair that works; OK otherwise.
Status CheckModePair(const ConfigNode& source, const ConfigNode& sink);

}  // namespace sluice
