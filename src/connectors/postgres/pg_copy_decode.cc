#include "connectors/postgres/pg_copy_decode.h"

#include <libpq-fe.h>

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "connectors/postgres/pg_conn.h"
#include "core/strings.h"
#include "core/values.h"

namespace sluice::pg {
namespace {

// PostgreSQL counts dates and timestamps from 2000-01-01; sluice from 1970-01-01.
constexpr int32_t kPgEpochDays = 10957;
constexpr int64_t kPgEpochMicros = 946684800000000LL;
constexpr char kCopySignature[] = "PGCOPY\n\377\r\n";  // + the terminating NUL: 11 bytes
constexpr size_t kSignatureLen = 11;

uint16_t Be16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
uint32_t Be32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
uint64_t Be64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

// 10^0 .. 10^38: every power a decimal needs, computed once.
const int128_t* Pow10Table() {
  static const auto table = [] {
    std::array<int128_t, 39> t{};
    t[0] = 1;
    for (size_t i = 1; i < t.size(); ++i) t[i] = t[i - 1] * 10;
    return t;
  }();
  return table.data();
}
inline int128_t Pow10(int n) { return Pow10Table()[n]; }

// The binary numeric: a header of four int16 (ndigits, weight, sign, dscale) and ndigits
// base-10000 digits, the first one worth 10000^weight.
struct NumericView {
  int ndigits = 0, weight = 0, dscale = 0;
  uint16_t sign = 0;
  const char* digits = nullptr;
  bool Parse(std::string_view v) {
    if (v.size() < 8) return false;
    ndigits = static_cast<int16_t>(Be16(v.data()));
    weight = static_cast<int16_t>(Be16(v.data() + 2));
    sign = Be16(v.data() + 4);
    dscale = static_cast<int16_t>(Be16(v.data() + 6));
    digits = v.data() + 8;
    return ndigits >= 0 && v.size() == 8 + 2 * static_cast<size_t>(ndigits);
  }
  int Digit(int i) const { return Be16(digits + 2 * i); }
  const char* Special() const {
    switch (sign) {
      case 0xC000: return "NaN";
      case 0xD000: return "Infinity";
      case 0xF000: return "-Infinity";
      default: return nullptr;
    }
  }
};

void AppendPadded(std::string& out, int d, int width) {
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + d % 10);
    d /= 10;
  }
  out.append(buf, static_cast<size_t>(width));
}

std::string UuidText(std::string_view v) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    auto b = static_cast<unsigned char>(v[i]);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string HexBytes(std::string_view v) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + v.size() * 2);
  for (char c : v) {
    auto b = static_cast<unsigned char>(c);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// float4 values are widened through their shortest text form, so 0.1::float4 loads as 0.1 (what
// psql shows), not as 0.100000001490116.
double WidenFloat4(float f) {
  if (!std::isfinite(f)) return static_cast<double>(f);
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  double d = 0;
  std::from_chars(buf, r.ptr, d);
  return d;
}

// PostgreSQL's spelling of a date, with BC for years before 1.
std::string DateText(int64_t days_since_1970) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(days_since_1970, &y, &m, &d);
  if (y >= 1) return FormatDate(static_cast<int32_t>(days_since_1970));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u BC", static_cast<long long>(1 - y), m, d);
  return buf;
}

std::string TimestampText(int64_t micros, bool tz) {
  constexpr int64_t kDay = 86400000000LL;
  int64_t days = micros / kDay, rem = micros % kDay;
  if (rem < 0) {
    rem += kDay;
    --days;
  }
  std::string out = DateText(days);
  std::string bc;
  if (EndsWith(out, " BC")) {
    out.resize(out.size() - 3);
    bc = " BC";
  }
  return out + " " + FormatTime(rem) + (tz ? "+00" : "") + bc;
}

bool Reject(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
  return false;
}

}  // namespace

// ---- column plans ----

std::string PgColumn::SelectExpr(const std::string& qualifier) const {
  const std::string ref = qualifier + QuoteIdent(name);
  switch (select) {
    case Select::kPlain: return ref;
    case Select::kText:
      // inet's text() cast adds the netmask even to a host address; abbrev() is its output form.
      if (pg.oid == oid::kInet) return "abbrev(" + ref + ") AS " + QuoteIdent(name);
      return ref + "::text AS " + QuoteIdent(name);
    case Select::kJson: return "to_json(" + ref + ") AS " + QuoteIdent(name);
  }
  return ref;
}

namespace {

// The plain mapping of a type, before any declared type is applied. False when unsupported.
bool PlanByType(const PgTypeInfo& t, PgColumn* c) {
  auto set = [&](Wire w, DataType d) {
    c->wire = w;
    c->type = d;
    return true;
  };
  auto as_text = [&](DataType d) {
    c->select = PgColumn::Select::kText;
    return set(Wire::kText, d);
  };
  switch (t.oid) {
    case oid::kBool: return set(Wire::kBool, DataType::Bool());
    case oid::kInt2: return set(Wire::kInt2, DataType::Int64());
    case oid::kInt4: return set(Wire::kInt4, DataType::Int64());
    case oid::kInt8: return set(Wire::kInt8, DataType::Int64());
    case oid::kOid: return set(Wire::kOid, DataType::Int64());
    case oid::kFloat4: return set(Wire::kFloat4, DataType::Float64());
    case oid::kFloat8: return set(Wire::kFloat8, DataType::Float64());
    case oid::kNumeric: {
      auto d = TypeFromPg(t.oid, t.typmod, c->name);
      return set(Wire::kNumeric, d.ok() ? *d : DataType::String());
    }
    case oid::kText:
    case oid::kVarchar:
    case oid::kBpchar:
    case oid::kName:
    case oid::kChar: return set(Wire::kText, DataType::String());
    case oid::kBytea: return set(Wire::kBytea, DataType::Binary());
    case oid::kDate: return set(Wire::kDate, DataType::Date());
    case oid::kTime: return set(Wire::kTime, DataType::Time());
    case oid::kTimestamp: return set(Wire::kTimestamp, DataType::Timestamp(false));
    case oid::kTimestamptz: return set(Wire::kTimestampTz, DataType::Timestamp(true));
    case oid::kJson: return set(Wire::kText, DataType::Json());
    case oid::kJsonb: return set(Wire::kJsonb, DataType::Json());
    case oid::kUuid: return set(Wire::kUuid, DataType::String());
    case 27: return set(Wire::kTid, DataType::String());  // tid (ctid)
    // Types whose text form is the useful one: the server's own spelling, cast in the query.
    case oid::kInterval:
    case oid::kInet:
    case oid::kCidr:
    case oid::kMacaddr:
    case oid::kMacaddr8:
    case oid::kMoney:
    case oid::kTimetz:
    case oid::kBit:
    case oid::kVarbit:
    case oid::kXml: return as_text(DataType::String());
    default: break;
  }
  // An enum's binary form is its label; citext's is its text.
  if (t.typtype == 'e' || t.name == "citext") return set(Wire::kText, DataType::String());
  if (t.category == 'A' && t.elem != 0) {
    c->select = PgColumn::Select::kJson;
    return set(Wire::kText, DataType::Json());
  }
  return false;
}

bool IsStringWire(const PgColumn& c) {
  return c.select == PgColumn::Select::kPlain && c.wire == Wire::kText;
}

}  // namespace

Result<PgColumn> PlanColumn(const std::string& name, const PgTypeInfo& t,
                            const std::optional<DataType>& declared) {
  PgColumn c;
  c.name = name;
  c.pg = t;
  if (!PlanByType(t, &c)) {
    return Status::Unimplemented(
        "postgres column '" + name + "' has type " + t.name +
        ", which sluice does not read; leave it out with columns:, declare it `string` in "
        "schema: to read its text form, or cast it in mode: query");
  }
  if (!declared || *declared == c.type) return c;
  const DataType& d = *declared;
  if (d.id == TypeId::kString) {
    // Any type can be read as its text; a numeric is spelled here, others by the server.
    c.type = d;
    if (c.wire != Wire::kNumeric && c.wire != Wire::kUuid && !IsStringWire(c)) {
      c.select = PgColumn::Select::kText;
      c.wire = Wire::kText;
    }
  } else if (d.id == TypeId::kDecimal && c.wire == Wire::kNumeric) {
    c.type = d;  // values beyond it reject their row
  } else if (d.id == TypeId::kJson && (IsStringWire(c) || c.select == PgColumn::Select::kJson)) {
    c.type = d;
  } else if (d.id == TypeId::kTimestamp && (c.wire == Wire::kTimestamp || c.wire == Wire::kTimestampTz)) {
    c.type = d;  // the stored microseconds are kept; only their reading (tz or wall clock) changes
  }
  // Any other declared type is left to the contract, which sees the catalog's type.
  return c;
}

// ---- values ----

std::string NumericText(std::string_view v) {
  NumericView n;
  if (!n.Parse(v)) return "";
  if (const char* s = n.Special()) return s;
  std::string out;
  if (n.sign == 0x4000) out += '-';
  // Integer part: the digits with weight >= 0.
  if (n.weight < 0) {
    out += '0';
  } else {
    for (int i = 0; i <= n.weight; ++i) {
      int d = i < n.ndigits ? n.Digit(i) : 0;
      if (i == 0) out += std::to_string(d);
      else AppendPadded(out, d, 4);
    }
  }
  if (n.dscale > 0) {
    out += '.';
    std::string frac;
    // Fraction digits: group weight -1, -2 ... ; group index i = weight - w.
    for (int w = -1; static_cast<int>(frac.size()) < n.dscale; --w) {
      int i = n.weight - w;
      int d = (i >= 0 && i < n.ndigits) ? n.Digit(i) : 0;
      AppendPadded(frac, d, 4);
    }
    frac.resize(static_cast<size_t>(n.dscale));
    out += frac;
  }
  return out;
}

bool NumericToDecimal(std::string_view v, int precision, int scale, int128_t* out, std::string* why) {
  NumericView n;
  if (!n.Parse(v)) return Reject(why, "malformed numeric value");
  if (const char* s = n.Special()) {
    return Reject(why, std::string(s) + " does not fit decimal(" + std::to_string(precision) + "," +
                           std::to_string(scale) + "); declare the column `string` to keep it");
  }
  const int128_t limit = Pow10(precision);
  int128_t acc = 0;
  for (int i = 0; i < n.ndigits; ++i) {
    const int d = n.Digit(i);
    if (d == 0) continue;
    // This digit is worth d * 10^(4 * (weight - i)); scaled by 10^scale.
    const int k = 4 * (n.weight - i) + scale;
    int128_t term;
    if (k >= 0) {
      if (k > 38) return Reject(why, NumericText(v) + " needs more than " + std::to_string(precision) + " digits");
      term = static_cast<int128_t>(d) * Pow10(k);
    } else {
      const int drop = -k;
      const int div = drop >= 4 ? 10000 : static_cast<int>(Pow10(drop));
      if (d % div != 0) {
        return Reject(why, NumericText(v) + " has more than " + std::to_string(scale) +
                               " decimal places (decimal(" + std::to_string(precision) + "," +
                               std::to_string(scale) + "))");
      }
      term = d / div;
    }
    acc += term;
    if (acc >= limit) {
      return Reject(why, NumericText(v) + " needs more than " + std::to_string(precision) +
                             " digits (decimal(" + std::to_string(precision) + "," +
                             std::to_string(scale) + "))");
    }
  }
  *out = n.sign == 0x4000 ? -acc : acc;
  return true;
}

bool DecodeValue(Wire wire, const DataType& type, std::string_view v, ColumnBuilder& b,
                 std::string* why) {
  auto sized = [&](size_t n) { return v.size() == n; };
  switch (wire) {
    case Wire::kBool:
      if (!sized(1)) break;
      b.AppendBool(v[0] != 0);
      return true;
    case Wire::kInt2:
      if (!sized(2)) break;
      b.AppendInt64(static_cast<int16_t>(Be16(v.data())));
      return true;
    case Wire::kInt4:
      if (!sized(4)) break;
      b.AppendInt64(static_cast<int32_t>(Be32(v.data())));
      return true;
    case Wire::kInt8:
      if (!sized(8)) break;
      b.AppendInt64(static_cast<int64_t>(Be64(v.data())));
      return true;
    case Wire::kOid:
      if (!sized(4)) break;
      b.AppendInt64(static_cast<int64_t>(Be32(v.data())));
      return true;
    case Wire::kFloat4:
      if (!sized(4)) break;
      b.AppendFloat64(WidenFloat4(std::bit_cast<float>(Be32(v.data()))));
      return true;
    case Wire::kFloat8:
      if (!sized(8)) break;
      b.AppendFloat64(std::bit_cast<double>(Be64(v.data())));
      return true;
    case Wire::kNumeric:
      if (type.id == TypeId::kDecimal) {
        int128_t d;
        if (!NumericToDecimal(v, type.precision, type.scale, &d, why)) return false;
        b.AppendDecimal(d);
        return true;
      } else {
        std::string text = NumericText(v);
        if (text.empty()) break;
        b.AppendBytes(text);
        return true;
      }
    case Wire::kText:
    case Wire::kBytea:
      b.AppendBytes(v);
      return true;
    case Wire::kDate: {
      if (!sized(4)) break;
      const auto d = static_cast<int32_t>(Be32(v.data()));
      if (d == std::numeric_limits<int32_t>::max() || d == std::numeric_limits<int32_t>::min()) {
        return Reject(why, std::string(d > 0 ? "" : "-") + "infinity does not fit a date");
      }
      b.AppendDate(d + kPgEpochDays);
      return true;
    }
    case Wire::kTime:
      if (!sized(8)) break;
      b.AppendInt64(static_cast<int64_t>(Be64(v.data())));
      return true;
    case Wire::kTimestamp:
    case Wire::kTimestampTz: {
      if (!sized(8)) break;
      const auto t = static_cast<int64_t>(Be64(v.data()));
      if (t == std::numeric_limits<int64_t>::max() || t == std::numeric_limits<int64_t>::min()) {
        return Reject(why, std::string(t > 0 ? "" : "-") + "infinity does not fit a timestamp");
      }
      b.AppendInt64(t + kPgEpochMicros);
      return true;
    }
    case Wire::kJsonb:
      if (v.empty() || v[0] != 1) return Reject(why, "jsonb value in an unknown binary version");
      b.AppendBytes(v.substr(1));
      return true;
    case Wire::kUuid:
      if (!sized(16)) break;
      b.AppendBytes(UuidText(v));
      return true;
    case Wire::kTid:
      if (!sized(6)) break;
      b.AppendBytes(ValueText(wire, v));
      return true;
  }
  return Reject(why, "malformed binary value (" + std::to_string(v.size()) + " bytes)");
}

std::string ValueText(Wire wire, std::string_view v) {
  auto sized = [&](size_t n) { return v.size() == n; };
  switch (wire) {
    case Wire::kBool: return sized(1) ? (v[0] ? "true" : "false") : "";
    case Wire::kInt2: return sized(2) ? std::to_string(static_cast<int16_t>(Be16(v.data()))) : "";
    case Wire::kInt4: return sized(4) ? std::to_string(static_cast<int32_t>(Be32(v.data()))) : "";
    case Wire::kInt8: return sized(8) ? std::to_string(static_cast<int64_t>(Be64(v.data()))) : "";
    case Wire::kOid: return sized(4) ? std::to_string(Be32(v.data())) : "";
    case Wire::kFloat4:
      return sized(4) ? FormatFloat64(WidenFloat4(std::bit_cast<float>(Be32(v.data())))) : "";
    case Wire::kFloat8: return sized(8) ? FormatFloat64(std::bit_cast<double>(Be64(v.data()))) : "";
    case Wire::kNumeric: return NumericText(v);
    case Wire::kText:
    case Wire::kJsonb: return std::string(wire == Wire::kJsonb && !v.empty() ? v.substr(1) : v);
    case Wire::kBytea: return HexBytes(v);
    case Wire::kDate: {
      if (!sized(4)) return "";
      const auto d = static_cast<int32_t>(Be32(v.data()));
      if (d == std::numeric_limits<int32_t>::max()) return "infinity";
      if (d == std::numeric_limits<int32_t>::min()) return "-infinity";
      return DateText(static_cast<int64_t>(d) + kPgEpochDays);
    }
    case Wire::kTime: return sized(8) ? FormatTime(static_cast<int64_t>(Be64(v.data()))) : "";
    case Wire::kTimestamp:
    case Wire::kTimestampTz: {
      if (!sized(8)) return "";
      const auto t = static_cast<int64_t>(Be64(v.data()));
      if (t == std::numeric_limits<int64_t>::max()) return "infinity";
      if (t == std::numeric_limits<int64_t>::min()) return "-infinity";
      return TimestampText(t + kPgEpochMicros, wire == Wire::kTimestampTz);
    }
    case Wire::kUuid: return sized(16) ? UuidText(v) : "";
    case Wire::kTid:
      return sized(6) ? "(" + std::to_string(Be32(v.data())) + "," + std::to_string(Be16(v.data() + 4)) + ")" : "";
  }
  return "";
}

std::string RowText(const std::vector<PgColumn>& cols,
                    const std::vector<std::optional<std::string_view>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < cols.size() && i < values.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, cols[i].name);
    out += ':';
    if (!values[i]) out += "null";
    else AppendJsonString(out, ValueText(cols[i].wire, *values[i]));
  }
  out += '}';
  return out;
}

namespace {

// The rejected row for `values`, which did not fit because of column `col`.
RejectedRow MakeReject(const std::vector<PgColumn>& cols, const RowOriginInfo& origin,
                       const std::vector<std::optional<std::string_view>>& values, size_t col,
                       const std::string& why, int64_t ordinal) {
  RejectedRow r;
  r.stream = origin.stream;
  r.raw = RowText(cols, values);
  r.rule = "type";
  r.column = cols[col].name;
  r.reason = "column '" + cols[col].name + "' (" + cols[col].pg.name + " -> " + cols[col].type.ToString() +
             "): " + why;
  if (origin.key_cols.empty()) {
    r.origin = origin.unit + " row " + std::to_string(ordinal + 1);
    r.position_key = origin.unit + "#" + std::to_string(ordinal);
  } else {
    std::string keys = "[";
    for (size_t k = 0; k < origin.key_cols.size(); ++k) {
      const auto i = static_cast<size_t>(origin.key_cols[k]);
      if (k) keys += ',';
      if (!values[i]) keys += "null";
      else AppendJsonString(keys, ValueText(cols[i].wire, *values[i]));
    }
    keys += ']';
    r.origin = origin.unit + " key " + keys;
    r.position_key = origin.unit + "#" + keys;
  }
  return r;
}

}  // namespace

// ---- COPY framing ----

CopyDecoder::CopyDecoder(const std::vector<PgColumn>* cols, RecordBatchBuilder* out, RowOriginInfo origin)
    : cols_(cols), out_(out), origin_(std::move(origin)) {
  key_slot_.assign(cols_->size(), -1);
  for (size_t k = 0; k < origin_.key_cols.size(); ++k) key_slot_[static_cast<size_t>(origin_.key_cols[k])] = static_cast<int>(k);
  last_key_raw_.resize(origin_.key_cols.size());
}

std::vector<std::optional<std::string>> CopyDecoder::LastKeyText() const {
  std::vector<std::optional<std::string>> out;
  if (!have_last_key_) return out;
  for (size_t k = 0; k < origin_.key_cols.size(); ++k) {
    const auto& raw = last_key_raw_[k];
    if (!raw) out.emplace_back(std::nullopt);
    else out.emplace_back(ValueText((*cols_)[static_cast<size_t>(origin_.key_cols[k])].wire, *raw));
  }
  return out;
}

Status CopyDecoder::Feed(std::string_view chunk) {
  bytes_ += chunk.size();
  if (carry_.empty()) {
    ASSIGN_OR_RETURN(size_t used, Parse(chunk.data(), chunk.size()));
    if (used < chunk.size()) carry_.assign(chunk.data() + used, chunk.size() - used);
    return Status::OK();
  }
  carry_.append(chunk.data(), chunk.size());
  ASSIGN_OR_RETURN(size_t used, Parse(carry_.data(), carry_.size()));
  carry_.erase(0, used);
  return Status::OK();
}

Status CopyDecoder::Finish() const {
  if (!done_) return Status::Corruption("binary COPY stream ended before its trailer");
  if (!carry_.empty()) return Status::Corruption("bytes after the binary COPY trailer");
  return Status::OK();
}

Result<size_t> CopyDecoder::Parse(const char* p, size_t n) {
  size_t pos = 0;
  if (!header_done_) {
    ASSIGN_OR_RETURN(size_t h, ParseHeader(p, n));
    if (h == 0) return size_t{0};
    pos = h;
  }
  while (pos < n) {
    if (done_) return Status::Corruption("bytes after the binary COPY trailer");
    ASSIGN_OR_RETURN(size_t used, ParseRow(p + pos, n - pos));
    if (used == 0) break;
    pos += used;
  }
  return pos;
}

Result<size_t> CopyDecoder::ParseHeader(const char* p, size_t n) {
  if (n < kSignatureLen + 8) return size_t{0};
  if (std::memcmp(p, kCopySignature, kSignatureLen) != 0) {
    return Status::Corruption("not a binary COPY stream (bad signature)");
  }
  const uint32_t ext = Be32(p + kSignatureLen + 4);
  const size_t len = kSignatureLen + 8 + ext;
  if (n < len) return size_t{0};
  header_done_ = true;
  return len;
}

Result<size_t> CopyDecoder::ParseRow(const char* p, size_t n) {
  if (n < 2) return size_t{0};
  const auto nfields = static_cast<int16_t>(Be16(p));
  if (nfields == -1) {
    done_ = true;
    return size_t{2};
  }
  const std::vector<PgColumn>& cols = *cols_;
  if (static_cast<size_t>(nfields) != cols.size()) {
    return Status::Corruption("binary COPY row with " + std::to_string(nfields) + " fields, expected " +
                              std::to_string(cols.size()));
  }
  size_t pos = 2;
  size_t bad_col = cols.size();
  std::string why;
  for (size_t c = 0; c < cols.size(); ++c) {
    if (n - pos < 4) {
      out_->RollbackRow();
      return size_t{0};
    }
    const auto len = static_cast<int32_t>(Be32(p + pos));
    pos += 4;
    if (len < 0) {
      if (bad_col == cols.size()) out_->column(c).AppendNull();
      if (key_slot_[c] >= 0) last_key_raw_[static_cast<size_t>(key_slot_[c])].reset();
      continue;
    }
    if (n - pos < static_cast<size_t>(len)) {
      out_->RollbackRow();
      return size_t{0};
    }
    if (key_slot_[c] >= 0) {
      // assign() reuses the string's buffer: no allocation per row once warm.
      auto& slot = last_key_raw_[static_cast<size_t>(key_slot_[c])];
      if (!slot) slot.emplace();
      slot->assign(p + pos, static_cast<size_t>(len));
    }
    if (bad_col == cols.size() &&
        !DecodeValue(cols[c].wire, cols[c].type, std::string_view(p + pos, static_cast<size_t>(len)),
                     out_->column(c), &why)) {
      bad_col = c;
    }
    pos += static_cast<size_t>(len);
  }
  const int64_t ordinal = rows_++;
  have_last_key_ = true;
  if (bad_col == cols.size()) {
    out_->CommitRow(ordinal);
    return pos;
  }
  out_->RollbackRow();
  // Walk the row again for the text of every value.
  std::vector<std::optional<std::string_view>> values;
  for (size_t at = 2, c = 0; c < cols.size(); ++c) {
    const auto len = static_cast<int32_t>(Be32(p + at));
    at += 4;
    if (len < 0) {
      values.emplace_back(std::nullopt);
    } else {
      values.emplace_back(std::string_view(p + at, static_cast<size_t>(len)));
      at += static_cast<size_t>(len);
    }
  }
  rejects_.push_back(MakeReject(cols, origin_, values, bad_col, why, ordinal));
  return pos;
}

// ---- query results ----

Status DecodeResultRows(const PGresult* res, const std::vector<PgColumn>& cols,
                        RecordBatchBuilder& out, const RowOriginInfo& origin,
                        int64_t* next_ordinal, std::vector<RejectedRow>* rejects,
                        const std::vector<bool>* skip) {
  const int nrows = PQntuples(res);
  if (PQnfields(res) != static_cast<int>(cols.size())) {
    return Status::Internal("query result has " + std::to_string(PQnfields(res)) + " columns, expected " +
                            std::to_string(cols.size()));
  }
  std::string why;
  for (int r = 0; r < nrows; ++r) {
    if (skip && (*skip)[static_cast<size_t>(r)]) continue;
    size_t bad_col = cols.size();
    for (size_t c = 0; c < cols.size() && bad_col == cols.size(); ++c) {
      const int ci = static_cast<int>(c);
      if (PQgetisnull(res, r, ci)) {
        out.column(c).AppendNull();
        continue;
      }
      std::string_view v(PQgetvalue(res, r, ci), static_cast<size_t>(PQgetlength(res, r, ci)));
      if (!DecodeValue(cols[c].wire, cols[c].type, v, out.column(c), &why)) bad_col = c;
    }
    const int64_t ordinal = (*next_ordinal)++;
    if (bad_col == cols.size()) {
      out.CommitRow(ordinal);
      continue;
    }
    out.RollbackRow();
    std::vector<std::optional<std::string_view>> values;
    for (size_t c = 0; c < cols.size(); ++c) {
      const int ci = static_cast<int>(c);
      if (PQgetisnull(res, r, ci)) values.emplace_back(std::nullopt);
      else values.emplace_back(std::string_view(PQgetvalue(res, r, ci), static_cast<size_t>(PQgetlength(res, r, ci))));
    }
    rejects->push_back(MakeReject(cols, origin, values, bad_col, why, ordinal));
  }
  return Status::OK();
}

std::vector<std::optional<std::string>> ResultRowText(const PGresult* res, int r,
                                                      const std::vector<PgColumn>& cols,
                                                      const std::vector<int>& which) {
  std::vector<std::optional<std::string>> out;
  out.reserve(which.size());
  for (int c : which) {
    if (PQgetisnull(res, r, c)) {
      out.emplace_back(std::nullopt);
      continue;
    }
    std::string_view v(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c)));
    out.emplace_back(ValueText(cols[static_cast<size_t>(c)].wire, v));
  }
  return out;
}

}  // namespace sluice::pg
