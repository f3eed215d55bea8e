#pragma once
// Decoding PostgreSQL's binary wire format straight into column builders: the per-type binary
// values (the same bytes in a binary COPY and in a binary query result), the framing of
// `COPY ... TO STDOUT (FORMAT binary)`, and the plan of how each column is selected so that every
// supported type arrives in a form decoded here.
//
// A value that cannot be held by its sluice type (NaN in a decimal column, an infinite date, a
// numeric wider than the declared precision) rejects its row: the row is rolled back from the
// builder and returned as a RejectedRow with every value as text, so nothing is lost.
//
// Threading: a CopyDecoder is used by one thread at a time. The free functions are pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/column.h"
#include "core/position.h"
#include "core/record_batch.h"
#include "core/status.h"
#include "core/types.h"

typedef struct pg_result PGresult;  // NOLINT: same declaration as libpq-fe.h

namespace sluice::pg {

// The binary form in which a column's values travel.
enum class Wire : uint8_t {
  kBool, kInt2, kInt4, kInt8, kOid, kFloat4, kFloat8, kNumeric, kText, kBytea, kDate, kTime,
  kTimestamp, kTimestampTz, kJsonb, kUuid, kTid,
};

// What the catalog says about a type (pg_type), after following a domain to its base type.
struct PgTypeInfo {
  unsigned oid = 0;
  int typmod = -1;
  std::string name;       // typname: "int4", "_text", "mood" ...
  char typtype = 'b';     // b base, e enum, d domain, c composite, r range, m multirange, p pseudo
  char category = 'U';    // typcategory: A array, S string ...
  unsigned elem = 0;      // element type of an array
};

// One selected column: how to select it, how its values arrive and what sluice type they get.
struct PgColumn {
  std::string name;
  PgTypeInfo pg;
  DataType type;
  Wire wire = Wire::kText;
  enum class Select : uint8_t { kPlain, kText, kJson } select = Select::kPlain;
  bool nullable = true;
  // The select-list item: "c", "c"::text AS "c", to_json("c") AS "c". `qualifier` (such as
  // "q.") prefixes the column reference.
  std::string SelectExpr(const std::string& qualifier = "") const;
};

// Plans a column of PostgreSQL type `t`. `declared` is the pipeline's or contract's type for it,
// when any: `string` selects any type as text, `decimal(p,s)` reads a numeric into that
// precision, `json` takes json text. An unsupported type is an error naming column and type.
Result<PgColumn> PlanColumn(const std::string& name, const PgTypeInfo& t,
                            const std::optional<DataType>& declared);

// Decodes one non-null binary value of `wire` into `b` (of type `type`). Returns false, with a
// reason in `why`, when the value does not fit the type; nothing is appended then.
bool DecodeValue(Wire wire, const DataType& type, std::string_view v, ColumnBuilder& b,
                 std::string* why);

// The text form of a binary value (PostgreSQL's own spelling for the common types), for
// rejected rows, checkpoints and keyset literals. Empty when `v` is malformed.
std::string ValueText(Wire wire, std::string_view v);

// Numeric helpers, exposed for tests: the binary numeric as PostgreSQL prints it ("NaN",
// "-12.50"), and as an integer scaled by 10^scale (false when it does not fit `precision`).
std::string NumericText(std::string_view v);
bool NumericToDecimal(std::string_view v, int precision, int scale, int128_t* out, std::string* why);

// Where the rows of a read come from, for rejected rows: `unit` names the table or query;
// `key_cols` (indices into the selected columns) identify a row, so a rejected row's id does
// not depend on what was read before it.
struct RowOriginInfo {
  std::string stream;
  std::string unit;
  std::vector<int> key_cols;
};

// Decodes the byte stream of `COPY (...) TO STDOUT (FORMAT binary)` into `out`, whose columns
// are `cols` in select order. Bytes may arrive in chunks split anywhere.
class CopyDecoder {
 public:
  CopyDecoder(const std::vector<PgColumn>* cols, RecordBatchBuilder* out, RowOriginInfo origin);
  // Decodes every complete row in `chunk` (and what was held back before it).
  Status Feed(std::string_view chunk);
  // The stream ended: OK only after the trailer and with no partial row left.
  Status Finish() const;
  bool done() const { return done_; }
  int64_t rows() const { return rows_; }      // rows decoded, rejected ones included
  uint64_t bytes() const { return bytes_; }   // bytes fed
  std::vector<RejectedRow> TakeRejects() { return std::move(rejects_); }
  // Row ordinals start here (a resumed read continues the count of its unit).
  void SetFirstRow(int64_t ordinal) { rows_ = ordinal; }
  // The text of the key columns (origin.key_cols) of the last complete row, rejected or not;
  // empty before the first row.
  std::vector<std::optional<std::string>> LastKeyText() const;

 private:
  // Decodes from `p` (size n); returns bytes consumed (0: needs more).
  Result<size_t> Parse(const char* p, size_t n);
  Result<size_t> ParseHeader(const char* p, size_t n);
  Result<size_t> ParseRow(const char* p, size_t n);

  const std::vector<PgColumn>* cols_;
  RecordBatchBuilder* out_;
  RowOriginInfo origin_;
  std::vector<int> key_slot_;  // per column: its place in origin_.key_cols, or -1
  std::vector<std::optional<std::string>> last_key_raw_;
  bool have_last_key_ = false;
  std::string carry_;
  bool header_done_ = false;
  bool done_ = false;
  int64_t rows_ = 0;
  uint64_t bytes_ = 0;
  std::vector<RejectedRow> rejects_;
};

// Appends the rows of a binary-format query result (columns in `cols` order) to `out`; rows
// whose values do not fit go to `rejects`. Ordinals continue from `*next_ordinal`. Rows with
// `skip[r]` set (when `skip` is given) are left out and take no ordinal.
Status DecodeResultRows(const PGresult* res, const std::vector<PgColumn>& cols,
                        RecordBatchBuilder& out, const RowOriginInfo& origin,
                        int64_t* next_ordinal, std::vector<RejectedRow>* rejects,
                        const std::vector<bool>* skip = nullptr);

// The text of the values of columns `which` in row `r` of a binary-format result.
std::vector<std::optional<std::string>> ResultRowText(const PGresult* res, int r,
                                                      const std::vector<PgColumn>& cols,
                                                      const std::vector<int>& which);

// A rejected row's text form: a JSON object of the columns' text values. `values[i]` is null
// for SQL NULL.
std::string RowText(const std::vector<PgColumn>& cols,
                    const std::vector<std::optional<std::string_view>>& values);

}  // namespace sluice::pg
