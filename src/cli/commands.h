#pragma once
// The `sluice` commands. Each returns the process exit code: 0 ok, 1 the run failed, 2 usage or
// config error.

#include <string>

#include "core/log.h"

namespace sluice {

struct GlobalFlags {
  bool json = false;
  std::string log_format = "text";
  std::string log_level = "info";
};

int CmdRun(const std::string& pipeline, bool dry_run, const GlobalFlags& g, Logger& log);
int CmdCheck(const std::string& pipeline, const GlobalFlags& g, Logger& log);
// With `contract`, writes a data contract (types, nullability, PII guesses, observed ranges and
// value sets as candidates) instead of a schema.
int CmdInfer(const std::string& file, const std::string& format, const std::string& out_path, bool contract,
             Logger& log);
int CmdStateShow(const std::string& pipeline, const std::string& stream, const GlobalFlags& g, Logger& log);
int CmdStateReset(const std::string& pipeline, const std::string& stream, bool schemas, Logger& log);
int CmdConnectors(const std::string& describe_type, const GlobalFlags& g);
int CmdQuarantineList(const std::string& pipeline, const GlobalFlags& g, Logger& log);
// Re-drives quarantined rows through the current contract into the sink; rows that pass leave
// the quarantine exactly once, rows that still fail stay.
int CmdQuarantineReplay(const std::string& pipeline, const GlobalFlags& g, Logger& log);
// `sluice cdc uninstall PIPELINE.yaml`: Source::Uninstall of the pipeline's source. Exit 0 when
// removed (or nothing was installed), 1 on an error, 2 for a bad pipeline.
int CmdCdcUninstall(const std::string& pipeline, const GlobalFlags& g, Logger& log);
int CmdQuarantineShow(const std::string& pipeline, int64_t limit, const GlobalFlags& g, Logger& log);
// Writes the quality report (one self-contained HTML page) of the last `runs` runs to `out_path`,
// by default <pipeline name>-report.html in the current directory, and prints its path.
int CmdReport(const std::string& pipeline, const std::string& out_path, int runs, const GlobalFlags& g, Logger& log);

}  // namespace sluice
