#pragma once
// Type mapping between sluice and MySQL / MariaDB, both ways (the tables are in README.md):
// the column types a sink creates, the text forms a sink sends, and how a source reads each
// server type.

#include <string>
#include <string_view>

#include "connectors/mysql/mysql_conn.h"
#include "core/column.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice::mysql {

// ---- sink side

// The column type a sink creates for `t`. Key columns need a bounded length (an index cannot
// hold LONGTEXT) and compare bytes exactly (a _ci collation would merge 'A' and 'a', a PAD SPACE
// one 'a' and 'a '): VARCHAR(255) with utf8mb4_nopad_bin on MariaDB, utf8mb4_0900_bin on MySQL.
std::string DdlType(const DataType& t, bool key, bool mariadb);

// Appends row `row` of `col` as an SQL literal for a VALUES list: NULL, 12, -1.5e+300, '...'
// escaped for `conn`'s session, X'0aff' for binary. Floats must be finite (the caller checks).
void AppendSqlLiteral(std::string& out, const Column& col, int64_t row, const Connection& conn);
// Appends row `row` of `col` in the LOAD DATA text form used by the sink (fields ended by a tab,
// rows by a newline, escaped by a backslash, NULL as \N). Binary values are hex, read back with
// UNHEX(): the bytes never meet a character set conversion.
void AppendLoadValue(std::string& out, const Column& col, int64_t row);

// ---- source side

// How a source reads one server column into a sluice type.
enum class FetchKind : uint8_t {
  kBool,    // TINYINT(1) / BOOL
  kInt,     // TINYINT..BIGINT, YEAR
  kUInt64,  // BIGINT UNSIGNED -> decimal(20,0)
  kFloat,   // FLOAT: read as the float it is, then as the shortest decimal text of it
  kDouble,
  kDecimal,      // DECIMAL(p<=38, s)
  kDecimalText,  // DECIMAL(p>38, s) -> string
  kString,       // CHAR, VARCHAR, TEXT, ENUM, SET, UUID, INET4/6
  kBinary,       // BINARY, VARBINARY, BLOB
  kJson,         // JSON (MySQL), LONGTEXT CHECK (json_valid(c)) (MariaDB)
  kBit,          // BIT(n) -> int64
  kDate,
  kTime,       // TIME within a day; other values are refused
  kDateTime,   // DATETIME -> naive timestamp
  kTimestamp,  // TIMESTAMP -> timestamp_tz (the session runs in UTC)
};

struct SourceColumn {
  std::string name;
  std::string server_type;  // "bigint(20) unsigned", for messages
  DataType type;
  FetchKind fetch = FetchKind::kString;
  bool nullable = true;
};

// Maps a column described by information_schema.COLUMNS. `json_checked`: MariaDB's JSON is
// LONGTEXT with a CHECK (json_valid(col)) constraint, found in information_schema.
// Unsupported types (geometry ...) are an error naming the table, column and type.
Result<SourceColumn> MapColumn(const std::string& table, const std::string& name,
                               const std::string& data_type, const std::string& column_type,
                               int64_t precision, int64_t scale, bool json_checked);

// The sluice value of a key or cursor column as a statement parameter, from its JSON text in a
// checkpoint (see ValueJson).
Result<Value> ValueFromJson(const std::string& json, FetchKind kind);
// A Value as JSON text for a checkpoint: numbers stay numbers; dates and times are their text
// form; binary is hex.
std::string ValueJson(const Value& v);

}  // namespace sluice::mysql
