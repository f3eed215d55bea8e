#pragma once
// `sluice scan FILE|PIPELINE.yaml [--json] [--rows N]`: which columns of a file (or of the files a
// pipeline's `file` source matches) hold PII, and at what rate. Values are read as raw text and
// classified by quality/pii ScanBatch; the values themselves are never printed.

#include <cstdint>
#include <string>

#include "cli/commands.h"
#include "core/log.h"

namespace sluice {

// Returns the exit code: 0 the scan ran (PII found or not), 1 an input could not be read,
// 2 usage or config error (unknown format, bad pipeline, unsupported source type).
int CmdScan(const std::string& target, int64_t max_rows, const GlobalFlags& g, Logger& log);

}  // namespace sluice
