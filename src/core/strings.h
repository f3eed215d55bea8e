#pragma once
// Small string helpers shared across modules.

#include <string>
#include <string_view>
#include <vector>

namespace sluice {

std::string_view Trim(std::string_view s);
std::string ToLower(std::string_view s);
std::vector<std::string> Split(std::string_view s, char sep);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);
// Appends `s` to `out` as a JSON string literal (with quotes), escaping as RFC 8259 requires.
// Invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
void AppendJsonString(std::string& out, std::string_view s);
std::string JsonQuote(std::string_view s);
// True when `s` is well-formed UTF-8.
bool IsValidUtf8(std::string_view s);
// A printable excerpt of possibly binary bytes: invalid UTF-8 and control bytes become \xNN,
// and the result is cut at `max_bytes` with "..." appended.
std::string PrintableExcerpt(std::string_view s, size_t max_bytes = 200);
// Human figures: "1.2 MB", "3.4M rows".
std::string HumanBytes(double bytes);
std::string HumanCount(double n);
// The current time in UTC as ISO 8601, "2026-11-28T01:02:03Z", with 3 or 6 fraction digits
// when asked ("...03.123Z"). Sorts as text.
std::string UtcNowIso(int fraction_digits = 0);
// Levenshtein distance, for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace sluice
