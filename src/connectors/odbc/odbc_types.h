#pragma once
// The parts of the odbc source that need no driver: how an ODBC column type maps to a sluice type
// and to the C buffer it is fetched into, how a diagnostic becomes a Status, how a connection
// string is shown without its password, and UTF-8 <-> UTF-16 for the wide ODBC API. Kept free of
// <sql.h> so that tests and the source share them; the SQL_* type codes are passed as ints.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace sluice::odbc {

// The C buffer a column is fetched into. kText columns are parsed from their text form (decimal,
// time, bool: portable across drivers); kWideText is UTF-16, converted to UTF-8. kGuid is text
// in lower case (RFC 9562's form; drivers differ).
enum class Fetch { kInt64, kDouble, kText, kWideText, kBinary, kDate, kTimestamp, kGuid };

struct ColumnPlan {
  DataType type;
  Fetch fetch = Fetch::kWideText;
  // Buffer width in bytes per row when the column is bound to a block cursor.
  size_t width = 0;
  // False when the declared size does not bound the values (a long or unbounded type, or one
  // wider than kMaxBoundBytes): `width` is then a guess, widened when a value does not fit.
  bool bounded = true;
};

// Largest bound width of a variable-width column; longer values are read with SQLGetData.
inline constexpr size_t kMaxBoundBytes = 16384;
// The first guess for an unbounded column: 127 UTF-16 units. Small on purpose: every row of a
// block takes the full width, and wide strides cost more in cache misses than a re-read page.
inline constexpr size_t kUnboundedGuessBytes = 256;

// The plan for a result column described by SQLDescribeCol (`sql_type`, `size`, `digits`) and
// SQLColAttribute(SQL_DESC_TYPE_NAME) (`type_name`). InvalidArgument naming the column and its
// type when sluice has no mapping for it.
Result<ColumnPlan> PlanColumn(const std::string& column, int sql_type, const std::string& type_name,
                              uint64_t size, int digits);

// A connection string as it may be shown: every PWD= and Password= value replaced by "***".
std::string RedactConnectionString(std::string_view conn);
// The PWD= / Password= values of a connection string, to scrub from driver messages.
std::vector<std::string> ConnectionSecrets(std::string_view conn);
// `text` with every occurrence of each secret replaced by "***".
std::string Scrub(std::string text, const std::vector<std::string>& secrets);

// The Status of a failed ODBC call from its first diagnostic record. Connection loss (08xxx),
// serialization failures and deadlocks (40001, 40P01) and timeouts (HYT00, HYT01) are transient;
// authentication (28xxx, and 08xxx whose message says authentication failed), syntax and
// privileges (42xxx) and everything else are permanent. `message` must already be scrubbed.
Status StatusFromDiagnostic(const std::string& sqlstate, const std::string& message);

// The wide ODBC API speaks UTF-16 (unixODBC's SQLWCHAR). Invalid input becomes U+FFFD.
std::u16string Utf8ToUtf16(std::string_view s);
void AppendUtf16AsUtf8(const char16_t* s, size_t n, std::string& out);

}  // namespace sluice::odbc
