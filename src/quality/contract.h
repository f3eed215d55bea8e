#pragma once
// Data contracts: what a stream's rows must satisfy on the way in (DESIGN.md, issue "Data
// contracts"). A Contract is loaded from YAML; a ContractChecker checks whole batches in flight,
// column by column, and splits them into the rows that pass and RejectedRows that name every
// violated rule and column. Run-level checks (freshness, completeness) are judged at the end.
// A ContractChecker is used by one thread (the source thread) at a time.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config/config_node.h"
#include "core/position.h"
#include "core/record_batch.h"
#include "core/status.h"

namespace sluice {

// Checks a column value by value, for what the vectorised checks cannot express (the nested parts
// of a JSON Schema contract). One instance is shared by every checker of a contract, so Validate
// must be safe to call from several threads at once.
class ColumnValidator {
 public:
  virtual ~ColumnValidator() = default;
  // Appends (row, reason) for each non-null value of `col` that fails. An error means the check
  // itself could not run; it is not a verdict on the data.
  virtual Status Validate(const Column& col, std::vector<std::pair<int64_t, std::string>>* failures) const = 0;
};

struct ColumnContract {
  std::string name;
  std::optional<DataType> type;
  bool required = false;
  bool unique = false;
  std::optional<double> min, max;
  bool min_exclusive = false, max_exclusive = false;  // JSON Schema exclusiveMinimum/Maximum
  std::optional<int64_t> min_length, max_length;
  std::string pattern;                  // RE2, searched (anchor it with ^...$ for a full match)
  std::vector<std::string> enum_values;
  bool not_future = false;
  std::string pii;                      // email, phone ... (masking policy is checked elsewhere)
  std::shared_ptr<const ColumnValidator> validator;  // per-value check, rule `schema`
};

class Expr;

// A row-level rule: `check` is an expression (quality/expr) that must not be FALSE.
struct ExprRule {
  std::string name;
  std::string check;
  std::shared_ptr<const Expr> expr;
};

struct Contract {
  std::string name;
  int version = 1;
  std::vector<ColumnContract> columns;
  std::vector<ExprRule> rules;
  std::string on_violation = "quarantine";  // quarantine | fail | warn
  bool on_violation_set = false;            // written in the contract, not the default
  std::string schema_evolution = "evolve";  // evolve | freeze | discard_columns | discard_rows
  bool require_pii_masking = false;  // every `pii:` column must be covered by a mask transform
  // Gate: judged per commit group once it has `gate_min_sample` rows.
  std::optional<double> gate_max_rejected_rate;
  int64_t gate_min_sample = 1000;
  // Run-level checks.
  std::string freshness_column;
  double freshness_max_age_s = 0;
  std::optional<int64_t> min_rows;
  std::map<std::string, double> max_null_rate;
  std::string file;  // where it was loaded from

  // The columns with a declared type, as a schema for the source.
  Schema DeclaredSchema() const;
};

// Loads a contract file: YAML, or a JSON Schema (draft 7) when the file ends in .json or its top
// level has `$schema` or `properties` (quality/json_schema_contract.h). Unknown keys are errors
// naming their path.
Result<Contract> LoadContract(const std::string& path);
Result<Contract> ContractFromNode(const ConfigNode& root, const std::string& origin);

// Counts kept for the run-level checks.
struct ContractRunStats {
  int64_t rows_checked = 0;
  int64_t rows_rejected = 0;
  std::map<std::string, int64_t> nulls;      // per column with a max_null_rate
  std::optional<int64_t> newest_micros;      // of the freshness column
};

class ContractChecker {
 public:
  explicit ContractChecker(std::shared_ptr<const Contract> contract);
  ~ContractChecker();
  // Splits `batch`: returns the rows that pass (the batch itself when all pass) and appends a
  // RejectedRow per failing row to `rejects`. Under on_violation: warn every row passes and the
  // violations are only counted; under fail the first violation is returned as an error.
  Result<RecordBatchPtr> Check(const RecordBatchPtr& batch, std::vector<RejectedRow>* rejects);
  // Freshness and completeness over the whole run; an error message per failed check.
  std::vector<std::string> RunLevelFailures(int64_t rows_out) const;
  const ContractRunStats& stats() const { return stats_; }
  int64_t warnings() const { return warnings_; }

 private:
  struct Compiled;
  std::shared_ptr<const Contract> contract_;
  std::unique_ptr<Compiled> compiled_;
  ContractRunStats stats_;
  int64_t warnings_ = 0;
  std::map<std::string, std::set<std::string>> seen_keys_;  // unique: values seen this run
};

}  // namespace sluice
