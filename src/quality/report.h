#pragma once
// The quality report of `sluice report`: one self-contained HTML page (inline CSS, charts as
// inline SVG, no script, nothing fetched) built from the run history and quality figures of the
// state store, the quarantine's sample rows and the stored schema versions.
//
// LoadReportData gathers; RenderReport is a pure function of the gathered data, so tests can
// render any history. Every value taken from data or config is HTML-escaped. Elements a test or
// a script may query carry stable ids and classes: #summary, #trends (svg#chart-rows,
// #chart-rejection, #chart-freshness, #chart-completeness), #rules (.rule[data-rule][data-count],
// .sample), #columns, #schemas (.schema-version[data-stream][data-version]), table#runs
// (tr.run[data-run-id][data-status]).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "quality/quarantine.h"
#include "quality/run_metrics.h"
#include "state/state_store.h"

namespace sluice {

struct ReportRun {
  int64_t id = 0;
  std::string finished_at;  // ISO 8601, UTC
  std::string status;       // ok | partial | failed | stopped
  std::string error;
  double seconds = 0;
  bool has_quality = false;  // false for runs recorded before quality figures: counts only
  RunMetrics quality;
};

struct ReportRule {
  std::string rule;
  int64_t rows = 0;           // rows that broke it over the runs shown
  int64_t rows_last_run = 0;
  std::vector<QuarantineEntry> samples;  // newest first, from the quarantine as it is now
};

struct ReportData {
  std::string pipeline;
  std::string sink;        // the sink's description, never with secrets
  std::string generated_at;
  std::vector<ReportRun> runs;    // oldest first
  std::vector<ReportRule> rules;  // most rows first
  std::vector<std::pair<std::string, SchemaVersion>> schemas;  // by stream, then version
  int64_t quarantined_now = -1;   // records in the quarantine now; -1 when unknown
};

// The newest `max_runs` runs of `pipeline`, the rules they broke most (at most `max_rules`, with
// up to `samples_per_rule` quarantined rows each; `quarantine` may be null) and the schema versions.
Result<ReportData> LoadReportData(const std::string& pipeline, StateStore& state, QuarantineStore* quarantine,
                                  int max_runs, int max_rules = 10, int samples_per_rule = 5);

std::string RenderReport(const ReportData& data);

// & < > " ' as entities: safe in element text and in quoted attribute values.
std::string HtmlEscape(std::string_view s);

}  // namespace sluice
