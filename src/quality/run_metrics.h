#pragma once
// RunMetrics: the quality figures of one run, as the state store keeps them (table run_quality)
// and `sluice report` shows them: row counts, completeness per column, violations per rule and
// per column, uniqueness, freshness, the contract and the schema version of each stream.
//
// Only what is committed counts. The sink stage observes each batch it writes into the
// GroupQuality of the open commit group; RunMetrics::CommitGroup folds it in once the group is
// durable. A group that is rolled back (a gate) or lost to a retried attempt is dropped with its
// GroupQuality and never counts. Used by one thread (the sink stage); cheap per batch: null counts
// come from each column's validity bitmap, and only the freshness column is read value by value.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/position.h"
#include "core/record_batch.h"
#include "core/status.h"

namespace sluice {

struct Contract;
class StateStore;

struct ColumnQuality {
  int64_t rows = 0;   // loaded rows of the batches that had the column
  int64_t nulls = 0;
  // Share of loaded rows with a value; 1 when nothing was loaded.
  double completeness() const { return rows == 0 ? 1.0 : 1.0 - static_cast<double>(nulls) / static_cast<double>(rows); }
};

struct StreamQuality {
  int64_t rows_out = 0;
  int schema_version = 0;  // the stored schema version at the end of the run (0: none stored)
  std::map<std::string, ColumnQuality> columns;
};

// What the sink stage saw of one open commit group.
class GroupQuality {
 public:
  // Counts the batch's rows and nulls per column; reads `freshness_column` (a date or timestamp
  // column; empty for none) for its newest value.
  void Observe(const RecordBatch& batch, const std::string& freshness_column);

 private:
  friend class RunMetrics;
  std::map<std::string, StreamQuality> streams_;
  std::optional<int64_t> newest_micros_;
};

class RunMetrics {
 public:
  RunCounters counters;   // of the committed groups
  int64_t rows_checked = 0;  // rows that reached parsing and the contract: rows_in - rows_skipped
  std::map<std::string, StreamQuality> streams;
  // Rows that broke each rule ("required", "pattern", a contract rule's name, "parse", "sink" ...)
  // and rows with a violation in each column. A row counts once per rule and once per column.
  std::map<std::string, int64_t> rule_violations;
  std::map<std::string, int64_t> column_violations;
  std::string contract;  // name; empty without a contract
  int contract_version = 0;
  std::string freshness_column;            // the contract's, if any
  std::optional<int64_t> newest_micros;    // newest loaded value of the freshness column
  std::optional<double> freshness_age_s;   // its age when the run ended

  int64_t unique_violations() const;
  // Share of checked rows that were quarantined (0 when none was checked).
  double rejection_rate() const;

  // Folds a committed group in: its batches (`group`), its counters and its rejected rows, whose
  // comma-joined `rule` and `column` lists count each name once.
  void CommitGroup(const GroupQuality& group, const RunCounters& group_counters,
                   const std::vector<RejectedRow>& rejects);
  // At the end of the run: the contract, the schema version of each stream and the freshness age
  // as of `now_micros`. The second form reads the versions from the state store and the clock.
  void Finish(const Contract* contract, const std::map<std::string, int>& schema_versions, int64_t now_micros);
  void Finish(const Contract* contract, StateStore* state, const std::string& pipeline);

  std::string ToJson() const;
  static Result<RunMetrics> FromJson(const std::string& json);
};

}  // namespace sluice
