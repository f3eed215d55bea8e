#pragma once
// BatchAssembler: the RowConsumer that turns decoded fields into typed RecordBatches for one
// unit (file) of one stream. A value that does not fit its column's type rejects the whole row
// with a reason; it never stops the decoding. SchemaInferrer is the RowConsumer that looks at a
// sample and proposes a schema.

#include <string>
#include <unordered_map>
#include <vector>

#include "core/position.h"
#include "core/record_batch.h"
#include "formats/format.h"

namespace sluice {

struct AssemblerOptions {
  // Unquoted texts that mean null (CSV). JSON null is always null.
  std::vector<std::string> null_values = {""};
  // What a column found in the data but not in the schema does (the contract's
  // schema_evolution): evolve adds it (nullable, type from the value); discard_columns drops its
  // values; discard_rows rejects the rows that have a value for it; freeze stops the run.
  enum class Evolution { kEvolve, kDiscardColumns, kDiscardRows, kFreeze };
  Evolution evolution = Evolution::kEvolve;
  // Under evolve, a value that does not fit its column widens the column's type
  // (core/schema_evolution.h) instead of rejecting the row; columns named here (declared by a
  // contract or `schema:`) never widen.
  std::vector<std::string> fixed_columns;
  // How naive timestamps without an offset are stored: false keeps them naive.
  bool timestamps_utc = false;
};

class BatchAssembler : public RowConsumer {
 public:
  BatchAssembler(std::string stream, std::string unit, SchemaPtr schema, AssemblerOptions opts);

  std::vector<int> OnHeader(const std::vector<std::string>& names) override;
  int Slot(std::string_view name) override;
  size_t NumSlots() const override { return slot_names_.size(); }
  bool OnRow(const FieldRef* fields, const RowOrigin& origin, std::string_view raw) override;
  bool OnBadRow(const RowOrigin& origin, std::string_view raw, std::string reason) override;

  // The caller checked that the bytes being decoded are valid UTF-8, so per-value checks are
  // skipped until the next call with false.
  void SetInputValidUtf8(bool valid) { input_valid_utf8_ = valid; }
  // The rows built since the last call (nullptr when none).
  RecordBatchPtr TakeBatch();
  std::vector<RejectedRow> TakeRejects();
  // The decoder stopped because the batch is full (or too many rejects are buffered).
  bool Full() const { return builder_.Full() || rejects_.size() >= 65536 || !fatal_.ok(); }
  // Set when schema_evolution: freeze met a new column; the caller stops with it.
  const Status& fatal() const { return fatal_; }
  // Columns whose values were dropped under discard_columns.
  const std::vector<std::string>& discarded_columns() const { return discarded_; }
  // Columns widened so far, "column 'x' widened from int64 to float64 at file:line".
  const std::vector<std::string>& widened_columns() const { return widened_; }
  bool HasPending() const { return builder_.num_rows() > 0 || !rejects_.empty(); }
  const SchemaPtr& schema() const { return builder_.schema(); }
  int64_t rows_seen() const { return rows_seen_; }

 private:
  // Appends `f` to column `col`; on failure fills `why` and returns false.
  bool AppendValue(size_t col, const FieldRef& f, std::string* why);
  // Inline for the common case (only the empty field means null): it runs for every value.
  bool IsNullText(std::string_view s) const {
    if (only_empty_null_) return s.empty();
    return IsNullTextSlow(s);
  }
  bool IsNullTextSlow(std::string_view s) const;
  void Reject(const RowOrigin& origin, std::string_view raw, std::string rule, std::string column,
              std::string reason);
  void AddColumnFor(size_t slot, const FieldRef& f);
  // Widens column `col` so that `f` fits, when the policy allows; false when it cannot.
  bool WidenFor(size_t col, const FieldRef& f, const RowOrigin& origin);

  std::string stream_;
  std::string unit_;
  AssemblerOptions opts_;
  RecordBatchBuilder builder_;
  std::vector<std::string> slot_names_;
  std::vector<int> slot_to_col_;  // -1: not (yet) a column
  std::unordered_map<std::string, int> slot_by_name_;
  std::vector<RejectedRow> rejects_;
  bool input_valid_utf8_ = false;
  Status fatal_;
  std::vector<std::string> discarded_;
  std::vector<std::string> widened_;
  int64_t rows_seen_ = 0;
  bool has_empty_null_ = false;
  bool only_empty_null_ = false;
};

class SchemaInferrer : public RowConsumer {
 public:
  // `strings_are_typed`: a quoted text is a string and never a number (JSON); in CSV quoting says
  // nothing about type.
  SchemaInferrer(std::vector<std::string> null_values, bool strings_are_typed, int64_t max_rows);

  std::vector<int> OnHeader(const std::vector<std::string>& names) override;
  int Slot(std::string_view name) override;
  size_t NumSlots() const override { return cols_.size(); }
  bool OnRow(const FieldRef* fields, const RowOrigin& origin, std::string_view raw) override;
  bool OnBadRow(const RowOrigin&, std::string_view, std::string) override { return rows_ < max_rows_; }

  Schema Finish() const;
  int64_t rows() const { return rows_; }
  // The type a single value suggests (used when a new column appears after inference).
  static DataType TypeOfValue(const FieldRef& f);

 private:
  struct Candidates {
    std::string name;
    bool any = false;  // a non-null value was seen
    bool can_bool = true, can_int = true, can_float = true, can_date = true, can_ts = true;
    bool ts_zone = false, ts_naive = false;
    bool nested = true;
    bool saw_null = false;
  };
  void Observe(Candidates& c, const FieldRef& f) const;

  std::vector<std::string> null_values_;
  bool strings_are_typed_;
  int64_t max_rows_;
  int64_t rows_ = 0;
  std::vector<Candidates> cols_;
  std::unordered_map<std::string, int> by_name_;
};

}  // namespace sluice
