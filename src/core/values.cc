#include "core/values.h"

#include <fast_float/fast_float.h>

#include <algorithm>
#include <array>
#include <charconv>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/strings.h"

namespace sluice {

bool ParseInt64(std::string_view s, int64_t* out) {
  size_t i = 0, n = s.size();
  if (n == 0) return false;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
    if (n == 1) return false;
  }
  uint64_t v = 0;
  for (; i < n; ++i) {
    unsigned d = static_cast<unsigned>(s[i] - '0');
    if (d > 9) return false;
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  if (neg) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

bool ParseFloat64(std::string_view s, double* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (*b == '+') ++b;
  auto r = fast_float::from_chars(b, e, *out);
  if (r.ec == std::errc() && r.ptr == e) return true;
  // fast_float accepts inf/nan; accept common spellings too.
  std::string l = ToLower(s);
  if (l == "nan") { *out = std::nan(""); return true; }
  if (l == "inf" || l == "infinity" || l == "+inf") { *out = HUGE_VAL; return true; }
  if (l == "-inf" || l == "-infinity") { *out = -HUGE_VAL; return true; }
  return false;
}

namespace {
bool IEq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

// Reads exactly `n` digits at s[*i].
bool Digits(std::string_view s, size_t* i, int n, int64_t* out) {
  if (*i + n > s.size()) return false;
  int64_t v = 0;
  for (int k = 0; k < n; ++k) {
    unsigned d = static_cast<unsigned>(s[*i + k] - '0');
    if (d > 9) return false;
    v = v * 10 + d;
  }
  *i += n;
  *out = v;
  return true;
}

bool ParseDatePart(std::string_view s, size_t* i, int32_t* days) {
  int64_t y = 0, m = 0, d = 0;
  if (!Digits(s, i, 4, &y) || *i >= s.size() || s[*i] != '-') return false;
  ++*i;
  if (!Digits(s, i, 2, &m) || *i >= s.size() || s[*i] != '-') return false;
  ++*i;
  if (!Digits(s, i, 2, &d)) return false;
  if (m < 1 || m > 12 || d < 1) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max_d = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
  if (d > max_d) return false;
  *days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return true;
}

bool ParseTimePart(std::string_view s, size_t* i, int64_t* micros) {
  int64_t h = 0, mi = 0, sec = 0, frac = 0;
  if (!Digits(s, i, 2, &h) || *i >= s.size() || s[*i] != ':') return false;
  ++*i;
  if (!Digits(s, i, 2, &mi)) return false;
  if (*i < s.size() && s[*i] == ':') {
    ++*i;
    if (!Digits(s, i, 2, &sec)) return false;
    if (*i < s.size() && (s[*i] == '.' || s[*i] == ',')) {
      ++*i;
      int nd = 0;
      while (*i < s.size() && s[*i] >= '0' && s[*i] <= '9') {
        if (nd < 6) {
          frac = frac * 10 + (s[*i] - '0');
          ++nd;
        }
        ++*i;
      }
      if (nd == 0) return false;
      while (nd < 6) { frac *= 10; ++nd; }
    }
  }
  if (h > 23 || mi > 59 || sec > 60) return false;
  *micros = ((h * 60 + mi) * 60 + sec) * 1000000 + frac;
  return true;
}
}  // namespace

bool LooksLikeBoolLiteral(std::string_view s) { return IEq(s, "true") || IEq(s, "false"); }

bool ParseBool(std::string_view s, bool* out) {
  if (IEq(s, "true") || IEq(s, "t") || IEq(s, "yes") || IEq(s, "y") || s == "1") {
    *out = true;
    return true;
  }
  if (IEq(s, "false") || IEq(s, "f") || IEq(s, "no") || IEq(s, "n") || s == "0") {
    *out = false;
    return true;
  }
  return false;
}

int128_t Pow10(int n) {
  static const auto kTable = [] {
    std::array<int128_t, 39> t{};
    t[0] = 1;
    for (size_t k = 1; k < t.size(); ++k) t[k] = t[k - 1] * 10;
    return t;
  }();
  return kTable[static_cast<size_t>(std::clamp(n, 0, 38))];
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool ParseDate(std::string_view s, int32_t* days) {
  size_t i = 0;
  return ParseDatePart(s, &i, days) && i == s.size();
}

bool ParseTime(std::string_view s, int64_t* micros) {
  size_t i = 0;
  return ParseTimePart(s, &i, micros) && i == s.size();
}

bool ParseTimestamp(std::string_view s, int64_t* micros, bool* has_zone) {
  size_t i = 0;
  int32_t days;
  if (!ParseDatePart(s, &i, &days)) return false;
  int64_t t = 0;
  *has_zone = false;
  if (i < s.size()) {
    if (s[i] != 'T' && s[i] != ' ' && s[i] != 't') return false;
    ++i;
    if (!ParseTimePart(s, &i, &t)) return false;
    if (i < s.size()) {
      if (s[i] == 'Z' || s[i] == 'z') {
        ++i;
        *has_zone = true;
      } else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i] == '-' ? -1 : 1;
        ++i;
        int64_t oh = 0, om = 0;
        if (!Digits(s, &i, 2, &oh)) return false;
        if (i < s.size() && s[i] == ':') ++i;
        if (i < s.size() && !Digits(s, &i, 2, &om)) return false;
        if (oh > 23 || om > 59) return false;
        t -= sign * (oh * 3600 + om * 60) * 1000000;
        *has_zone = true;
      }
    }
  }
  if (i != s.size()) return false;
  *micros = static_cast<int64_t>(days) * 86400000000LL + t;
  return true;
}

bool ParseDecimal(std::string_view s, int precision, int scale, int128_t* out) {
  size_t i = 0, n = s.size();
  if (n == 0) return false;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    ++i;
  }
  int128_t v = 0;
  int int_digits = 0, frac_digits = 0;
  bool seen_dot = false, any = false;
  for (; i < n; ++i) {
    char c = s[i];
    if (c == '.') {
      if (seen_dot) return false;
      seen_dot = true;
      continue;
    }
    unsigned d = static_cast<unsigned>(c - '0');
    if (d > 9) return false;
    any = true;
    if (seen_dot) {
      if (frac_digits == scale) {
        if (d != 0) return false;  // would lose a digit
        continue;
      }
      ++frac_digits;
    } else if (int_digits > 0 || d != 0) {
      ++int_digits;
    }
    v = v * 10 + d;
    if (int_digits + scale > precision) return false;
  }
  if (!any) return false;
  for (; frac_digits < scale; ++frac_digits) v *= 10;
  *out = neg ? -v : v;
  return true;
}

namespace {
// Writes `v` as exactly `width` digits at `p`.
char* PutDigits(char* p, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}
}  // namespace

char* PutDate(char* p, int64_t days) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  if (y < 0 || y > 9999) {
    return p + std::snprintf(p, 32, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  }
  p = PutDigits(p, y, 4);
  *p++ = '-';
  p = PutDigits(p, m, 2);
  *p++ = '-';
  return PutDigits(p, d, 2);
}

char* PutTime(char* p, int64_t micros) {
  int64_t s = micros / 1000000, f = micros % 1000000;
  if (micros < 0 || s >= 100 * 3600) {  // not a time of day: still readable
    int n = std::snprintf(p, 40, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                          static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    if (f) n += std::snprintf(p + n, 16, ".%06lld", static_cast<long long>(f < 0 ? -f : f));
    return p + n;
  }
  p = PutDigits(p, s / 3600, 2);
  *p++ = ':';
  p = PutDigits(p, s / 60 % 60, 2);
  *p++ = ':';
  p = PutDigits(p, s % 60, 2);
  if (f) {
    *p++ = '.';
    p = PutDigits(p, f, 6);
  }
  return p;
}

char* PutTimestamp(char* p, int64_t micros, bool tz) {
  constexpr int64_t kDay = 86400000000LL;
  int64_t days = micros / kDay, rem = micros % kDay;
  if (rem < 0) {
    rem += kDay;
    --days;
  }
  p = PutDate(p, days);
  *p++ = ' ';
  p = PutTime(p, rem);
  if (tz) *p++ = 'Z';
  return p;
}

char* PutDecimal(char* p, int128_t v, int scale) {
  char digits[48];
  int n = 0;
  unsigned __int128 u = v < 0 ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  if (u <= UINT64_MAX) {  // 64-bit division is much cheaper
    for (uint64_t w = static_cast<uint64_t>(u); n == 0 || w; w /= 10) digits[n++] = static_cast<char>('0' + w % 10);
  } else {
    for (; n == 0 || u; u /= 10) digits[n++] = static_cast<char>('0' + static_cast<int>(u % 10));
  }
  while (n <= scale) digits[n++] = '0';
  if (v < 0) *p++ = '-';
  for (int k = n; k-- > 0;) {
    *p++ = digits[k];
    if (scale > 0 && k == scale) *p++ = '.';
  }
  return p;
}

char* PutTextForm(char* p, const Column& col, int64_t row) {
  const DataType& t = col.type();
  switch (t.id) {
    case TypeId::kDecimal: return PutDecimal(p, col.DecimalAt(row), t.scale);
    case TypeId::kDate: return PutDate(p, col.DateAt(row));
    case TypeId::kTime: return PutTime(p, col.Int64At(row));
    case TypeId::kTimestamp: return PutTimestamp(p, col.Int64At(row), t.tz);
    default: return p;
  }
}

std::string FormatDate(int32_t days) {
  char buf[kMaxTextForm];
  return std::string(buf, PutDate(buf, days));
}

std::string FormatTime(int64_t micros) {
  char buf[kMaxTextForm];
  return std::string(buf, PutTime(buf, micros));
}

std::string FormatTimestamp(int64_t micros, bool tz) {
  char buf[kMaxTextForm];
  return std::string(buf, PutTimestamp(buf, micros, tz));
}

std::string FormatDecimal(int128_t v, int scale) {
  char buf[kMaxTextForm];
  return std::string(buf, PutDecimal(buf, v, scale));
}

std::string FormatFloat64(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  // Shortest form that reads back to the same double.
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void AppendValueText(const Column& col, int64_t i, std::string& out) {
  if (col.IsNull(i)) return;
  const DataType& t = col.type();
  switch (t.id) {
    case TypeId::kBool: out += col.BoolAt(i) ? "true" : "false"; break;
    case TypeId::kInt64: {
      char buf[24];
      out.append(buf, std::to_chars(buf, buf + sizeof buf, col.Int64At(i)).ptr);
      break;
    }
    case TypeId::kFloat64: out += FormatFloat64(col.Float64At(i)); break;
    case TypeId::kDecimal:
    case TypeId::kDate:
    case TypeId::kTime:
    case TypeId::kTimestamp: {
      char buf[kMaxTextForm];
      out.append(buf, PutTextForm(buf, col, i));
      break;
    }
    case TypeId::kString:
    case TypeId::kBinary:
    case TypeId::kJson: out += col.BytesAt(i); break;
  }
}

void AppendValueJson(const Column& col, int64_t i, std::string& out) {
  if (col.IsNull(i)) {
    out += "null";
    return;
  }
  switch (col.type().id) {
    case TypeId::kBool:
    case TypeId::kInt64: AppendValueText(col, i, out); break;
    case TypeId::kFloat64: {
      double v = col.Float64At(i);
      if (std::isfinite(v)) out += FormatFloat64(v);
      else AppendJsonString(out, FormatFloat64(v));
      break;
    }
    case TypeId::kJson: out += col.BytesAt(i); break;
    default: {
      std::string text;
      AppendValueText(col, i, text);
      AppendJsonString(out, text);
    }
  }
}

}  // namespace sluice
