#pragma once
// Parsing text into typed values and formatting typed values as text. Parsers return false for
// text that does not fit the type; they never throw and never allocate.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/column.h"
#include "core/types.h"

namespace sluice {

bool ParseInt64(std::string_view s, int64_t* out);
bool ParseFloat64(std::string_view s, double* out);
// true/false, t/f, yes/no, y/n, 1/0 (case-insensitive).
bool ParseBool(std::string_view s, bool* out);
// Only the spellings inference treats as boolean: true/false (case-insensitive).
bool LooksLikeBoolLiteral(std::string_view s);
// YYYY-MM-DD.
bool ParseDate(std::string_view s, int32_t* days);
// HH:MM[:SS[.ffffff]].
bool ParseTime(std::string_view s, int64_t* micros);
// YYYY-MM-DD[( |T)HH:MM[:SS[.f...]]][Z|(+|-)HH[:MM]]. `has_zone` tells whether an offset was
// given; the result is then converted to UTC.
bool ParseTimestamp(std::string_view s, int64_t* micros, bool* has_zone);
// A decimal literal into an integer scaled by 10^scale. Fails when digits are lost or the value
// needs more than `precision` digits.
bool ParseDecimal(std::string_view s, int precision, int scale, int128_t* out);

// Days since 1970-01-01 of a proleptic Gregorian date (era-based day arithmetic). Inline: every
// decoder of dates calls it once per value.
inline int32_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int32_t>(era * 146097 + static_cast<int64_t>(doe) - 719468);
}
// 10^n for n in [0, 38] (clamped), from a table.
int128_t Pow10(int n);
void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d);

// In-place writers of the same text forms, for hot paths: each writes at `p` (at most
// kMaxTextForm bytes) and returns the end. PutTextForm handles decimal, date, time and timestamp
// columns and writes nothing for other types.
inline constexpr size_t kMaxTextForm = 64;
char* PutDate(char* p, int64_t days);
char* PutTime(char* p, int64_t micros);
char* PutTimestamp(char* p, int64_t micros, bool tz);
char* PutDecimal(char* p, int128_t v, int scale);
char* PutTextForm(char* p, const Column& col, int64_t row);

std::string FormatDate(int32_t days);
std::string FormatTime(int64_t micros);
// "YYYY-MM-DD HH:MM:SS[.ffffff]" and a trailing "Z" when `tz`.
std::string FormatTimestamp(int64_t micros, bool tz);
std::string FormatDecimal(int128_t v, int scale);
std::string FormatFloat64(double v);

// Appends the text form of row `i` of `col` to `out` (nothing for null).
void AppendValueText(const Column& col, int64_t i, std::string& out);
// Appends row `i` of `col` as a JSON value: null, true, 12, "text", or the raw json of a json column.
void AppendValueJson(const Column& col, int64_t i, std::string& out);

}  // namespace sluice
