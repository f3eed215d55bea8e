#pragma once
// RunPipeline: one run of a pipeline, as DESIGN.md's runtime describes it. The source runs on its
// own thread and pushes envelopes into a byte-bounded channel; the calling thread is the sink
// stage, which closes commit groups and checkpoints them (quarantine first, then the sink's
// transaction with rows and positions), then acknowledges them to the source. Transient errors
// restart the attempt from the last committed checkpoint with backoff.

#include <atomic>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "connectors/connector.h"
#include "core/log.h"
#include "core/position.h"
#include "quality/run_metrics.h"

namespace sluice {

struct RunOptions {
  bool dry_run = false;
  bool progress = false;  // live status line on the terminal
  bool run_level_checks = true;  // freshness and completeness (not for quarantine replays)
};

struct RunSummary {
  std::string pipeline;
  std::string status = "ok";  // ok | partial | failed | stopped
  RunCounters counters;
  double seconds = 0;
  std::string error;
  std::vector<std::string> failures;  // units that could not be read
  std::vector<std::string> quality_failures;  // run-level contract checks (freshness, completeness)
  std::vector<RejectedRow> dry_run_rejects;  // examples, dry runs only
  int commits = 0;
  int attempts = 0;
  size_t peak_buffer_bytes = 0;
  std::string sink;
  std::string quarantine_path;
  RunMetrics quality;  // of the committed groups; recorded with the run (not for dry runs)
  int ExitCode() const { return status == "ok" || status == "stopped" ? 0 : 1; }
};

// Set by the signal handlers: 1 = drain and stop, 2 = abort.
extern std::atomic<int> g_stop_signals;
void InstallSignalHandlers();

// Connectors come from `registry` (the built-in one by default; tests pass fakes).
RunSummary RunPipeline(const PipelineConfig& cfg, const RunOptions& opts, Logger& log,
                       const ConnectorRegistry& registry = BuiltinConnectors());
std::string SummaryJson(const RunSummary& s);
std::string SummaryText(const RunSummary& s);

}  // namespace sluice
