#include "connectors/mysql/mysql_binlog.h"

#include <bit>
#include <cstring>

namespace sluice::mysql::binlog {
static_assert(std::endian::native == std::endian::little, "the binlog reader loads little-endian words");
namespace {

// Little-endian reads with bounds checks; `ok` turns false on the first short read.
struct Reader {
  std::string_view s;
  size_t p = 0;
  bool ok = true;

  bool Has(size_t n) {
    if (!ok || s.size() - p < n || p > s.size()) ok = false;
    return ok;
  }
  // n in [0, 8]. With 8 bytes left, one unaligned load (the host is little-endian).
  uint64_t Le(size_t n) {
    if (n == 0 || !Has(n)) return 0;
    uint64_t v = 0;
    if (s.size() - p >= 8) {
      std::memcpy(&v, s.data() + p, 8);
      if (n < 8) v &= (uint64_t{1} << (8 * n)) - 1;
    } else {
      for (size_t i = 0; i < n; ++i)
        v |= static_cast<uint64_t>(static_cast<uint8_t>(s[p + i])) << (8 * i);
    }
    p += n;
    return v;
  }
  uint64_t Be(size_t n) {
    if (n == 0 || !Has(n)) return 0;
    uint64_t v = 0;
    if (s.size() - p >= 8) {
      std::memcpy(&v, s.data() + p, 8);
      v = __builtin_bswap64(v);
      if (n < 8) v >>= 8 * (8 - n);
    } else {
      for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(s[p + i]);
    }
    p += n;
    return v;
  }
  uint8_t U8() { return static_cast<uint8_t>(Le(1)); }
  std::string_view Bytes(size_t n) {
    if (!Has(n)) return {};
    std::string_view v = s.substr(p, n);
    p += n;
    return v;
  }
  uint64_t LenEnc() {
    uint8_t b = U8();
    if (b < 251) return b;
    if (b == 0xfc) return Le(2);
    if (b == 0xfd) return Le(3);
    if (b == 0xfe) return Le(8);
    ok = false;  // 0xfb (NULL) and 0xff are not lengths
    return 0;
  }
  size_t left() const { return p <= s.size() ? s.size() - p : 0; }
};

Status Bad(const char* what, const std::string& detail = "") {
  return Status::Corruption(std::string("binlog: malformed ") + what + " event" +
                            (detail.empty() ? "" : ": " + detail));
}

bool Bit(const std::vector<uint8_t>& bits, size_t i) { return (bits[i / 8] >> (i % 8)) & 1; }

constexpr int kDigitsToBytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

int64_t SignExtend(uint64_t v, unsigned bits) {
  const uint64_t m = 1ULL << (bits - 1);
  return static_cast<int64_t>((v ^ m) - m);
}

bool IsNumeric(uint8_t t) {
  switch (t) {
    case kTypeTiny:
    case kTypeShort:
    case kTypeInt24:
    case kTypeLong:
    case kTypeLongLong:
    case kTypeNewDecimal:
    case kTypeDecimal:
    case kTypeFloat:
    case kTypeDouble:
      return true;
    default:
      return false;
  }
}

// Fractional seconds of TIME2/DATETIME2/TIMESTAMP2 (big-endian, (fsp+1)/2 bytes) in microseconds.
int64_t ReadFrac(Reader& r, unsigned fsp, bool sign) {
  switch ((fsp + 1) / 2) {
    case 1: {
      uint64_t v = r.Be(1);
      return (sign ? SignExtend(v, 8) : static_cast<int64_t>(v)) * 10000;
    }
    case 2: {
      uint64_t v = r.Be(2);
      return (sign ? SignExtend(v, 16) : static_cast<int64_t>(v)) * 100;
    }
    case 3: {
      uint64_t v = r.Be(3);
      return sign ? SignExtend(v, 24) : static_cast<int64_t>(v);
    }
    default:
      return 0;
  }
}

}  // namespace

Result<EventHeader> DecodeHeader(std::string_view event) {
  Reader r{event};
  EventHeader h;
  h.timestamp = static_cast<uint32_t>(r.Le(4));
  h.type = r.U8();
  h.server_id = static_cast<uint32_t>(r.Le(4));
  h.event_size = static_cast<uint32_t>(r.Le(4));
  h.log_pos = static_cast<uint32_t>(r.Le(4));
  h.flags = static_cast<uint16_t>(r.Le(2));
  if (!r.ok) return Bad("header", "shorter than 19 bytes");
  return h;
}

Result<Gtid> DecodeGtid(std::string_view body, uint32_t server_id) {
  Reader r{body};
  Gtid g;
  g.seq = r.Le(8);
  g.domain = static_cast<uint32_t>(r.Le(4));
  g.flags = r.U8();
  g.server_id = server_id;
  if (!r.ok) return Bad("GTID");
  return g;
}

std::string GtidText(const Gtid& g) {
  return std::to_string(g.domain) + "-" + std::to_string(g.server_id) + "-" + std::to_string(g.seq);
}

Result<Query> DecodeQuery(std::string_view body) {
  Reader r{body};
  r.Le(4);  // thread id
  r.Le(4);  // execution time
  const size_t db_len = r.U8();
  r.Le(2);  // error code
  const size_t status_len = r.Le(2);
  r.Bytes(status_len);
  Query q;
  q.db = r.Bytes(db_len);
  r.Bytes(1);  // NUL after the database name
  if (!r.ok) return Bad("QUERY");
  q.query = body.substr(r.p);
  return q;
}

uint64_t PeekTableId(std::string_view body) {
  Reader r{body};
  return r.Le(6);
}

Result<TableMap> DecodeTableMap(std::string_view body) {
  Reader r{body};
  TableMap m;
  m.table_id = r.Le(6);
  r.Le(2);  // flags
  m.db = std::string(r.Bytes(r.U8()));
  r.Bytes(1);
  m.table = std::string(r.Bytes(r.U8()));
  r.Bytes(1);
  const uint64_t n = r.LenEnc();
  if (!r.ok || n > 4096) return Bad("TABLE_MAP", "column count");
  std::string_view types = r.Bytes(n);
  const uint64_t meta_len = r.LenEnc();
  Reader meta{r.Bytes(meta_len)};
  std::string_view nulls = r.Bytes((n + 7) / 8);
  if (!r.ok) return Bad("TABLE_MAP", "truncated");
  m.columns.resize(n);
  for (size_t i = 0; i < n; ++i) {
    ColumnInfo& c = m.columns[i];
    c.type = static_cast<uint8_t>(types[i]);
    c.nullable = (static_cast<uint8_t>(nulls[i / 8]) >> (i % 8)) & 1;
    switch (c.type) {
      case kTypeFloat:
      case kTypeDouble:
      case kTypeBlob:
      case kTypeTinyBlob:
      case kTypeMediumBlob:
      case kTypeLongBlob:
      case kTypeGeometry:
      case kTypeJson:
      case kTypeTimestamp2:
      case kTypeDateTime2:
      case kTypeTime2:
        c.meta = meta.U8();
        break;
      case kTypeVarchar:
      case kTypeVarString:
        c.meta = static_cast<uint16_t>(meta.Le(2));
        c.max_len = c.meta;
        break;
      case kTypeNewDecimal:
      case kTypeBit: {
        const uint8_t a = meta.U8(), b = meta.U8();
        c.meta =
            static_cast<uint16_t>((a << 8) | b);  // decimal: precision, scale; bit: bits%8, bytes
        break;
      }
      case kTypeString:
      case kTypeEnum:
      case kTypeSet: {
        const uint8_t b0 = meta.U8(), b1 = meta.U8();
        uint8_t real = b0;
        uint32_t len = b1;
        if ((b0 & 0x30) != 0x30) {  // lengths above 255 keep two more bits in the type byte
          len |= static_cast<uint32_t>(((b0 & 0x30) ^ 0x30) << 4);
          real = static_cast<uint8_t>(b0 | 0x30);
        }
        if (real == kTypeEnum || real == kTypeSet) {
          c.type = real;
          c.meta = b1;  // pack length in bytes
        } else {
          c.meta = static_cast<uint16_t>(len);
          c.max_len = len;
        }
        break;
      }
      default:
        break;
    }
  }
  if (!meta.ok) return Bad("TABLE_MAP", "column metadata");
  // Optional metadata (binlog_row_metadata): type, length, value.
  while (r.ok && r.left() > 0) {
    const uint8_t type = r.U8();
    const uint64_t len = r.LenEnc();
    Reader v{r.Bytes(len)};
    if (!r.ok) return Bad("TABLE_MAP", "optional metadata");
    switch (type) {
      case 1: {  // signedness: one bit per numeric column, most significant bit first
        size_t k = 0;
        for (auto& c : m.columns) {
          if (!IsNumeric(c.type)) continue;
          const size_t byte = k / 8;
          if (byte < v.s.size())
            c.is_unsigned = (static_cast<uint8_t>(v.s[byte]) >> (7 - k % 8)) & 1;
          ++k;
        }
        break;
      }
      case 4: {  // column names
        for (auto& c : m.columns) c.name = std::string(v.Bytes(v.LenEnc()));
        if (!v.ok) return Bad("TABLE_MAP", "column names");
        m.has_names = true;
        break;
      }
      case 5:    // SET values
      case 6: {  // ENUM values
        const uint8_t want = type == 5 ? kTypeSet : kTypeEnum;
        for (auto& c : m.columns) {
          if (c.type != want) continue;
          const uint64_t count = v.LenEnc();
          for (uint64_t k = 0; k < count && v.ok; ++k) c.values.emplace_back(v.Bytes(v.LenEnc()));
        }
        if (!v.ok) return Bad("TABLE_MAP", "ENUM/SET values");
        break;
      }
      default:
        break;
    }
  }
  return m;
}

bool IsRowsEvent(uint8_t type) {
  return (type >= kWriteRowsV1 && type <= kDeleteRowsV1) ||
         (type >= kWriteRowsV2 && type <= kDeleteRowsV2) ||
         (type >= kWriteRowsCompressedV1 && type <= kDeleteRowsCompressed);
}

Result<RowsEvent> DecodeRowsEvent(uint8_t type, std::string_view body) {
  if (type >= kWriteRowsCompressedV1 && type <= kDeleteRowsCompressed) {
    return Status::Permanent(
        "binlog: compressed row events (log_bin_compress=ON) are not supported; SET GLOBAL "
        "log_bin_compress=OFF");
  }
  Reader r{body};
  RowsEvent ev;
  const bool v2 = type >= kWriteRowsV2;
  const uint8_t base = v2 ? kWriteRowsV2 : kWriteRowsV1;
  ev.op = type == base ? 'c' : type == base + 1 ? 'u' : 'd';
  ev.table_id = r.Le(6);
  ev.flags = static_cast<uint16_t>(r.Le(2));
  if (v2) {
    const size_t extra = r.Le(2);
    if (extra < 2) return Bad("ROWS", "extra data length");
    r.Bytes(extra - 2);
  }
  const uint64_t n = r.LenEnc();
  if (!r.ok || n > 4096) return Bad("ROWS", "column count");
  ev.columns = static_cast<uint32_t>(n);
  std::string_view bits = r.Bytes((n + 7) / 8);
  ev.present.assign(bits.begin(), bits.end());
  if (ev.op == 'u') {
    bits = r.Bytes((n + 7) / 8);
    ev.present_after.assign(bits.begin(), bits.end());
  }
  if (!r.ok) return Bad("ROWS", "truncated");
  ev.rows = body.substr(r.p);
  return ev;
}

bool DecodeDecimal(std::string_view bin, int precision, int scale, std::string* out,
                   size_t* consumed) {
  if (precision < 1 || scale < 0 || scale > precision) return false;
  const int intg = precision - scale;
  const int intg0 = intg / 9, intg0x = intg % 9, frac0 = scale / 9, frac0x = scale % 9;
  const size_t size =
      static_cast<size_t>(intg0 * 4 + kDigitsToBytes[intg0x] + frac0 * 4 + kDigitsToBytes[frac0x]);
  if (bin.size() < size) return false;
  *consumed = size;
  uint8_t buf[64];
  if (size > sizeof buf) return false;
  std::memcpy(buf, bin.data(), size);
  const bool negative = !(buf[0] & 0x80);
  buf[0] ^= 0x80;
  if (negative) {
    for (size_t i = 0; i < size; ++i) buf[i] = static_cast<uint8_t>(~buf[i]);
  }
  Reader r{std::string_view(reinterpret_cast<const char*>(buf), size)};
  std::string digits;
  auto put = [&](uint64_t v, int width) {
    char tmp[16];
    for (int k = width - 1; k >= 0; --k, v /= 10) tmp[k] = static_cast<char>('0' + v % 10);
    digits.append(tmp, static_cast<size_t>(width));
  };
  if (intg0x) put(r.Be(static_cast<size_t>(kDigitsToBytes[intg0x])), intg0x);
  for (int i = 0; i < intg0; ++i) put(r.Be(4), 9);
  size_t first = 0;
  while (first + 1 < digits.size() && digits[first] == '0') ++first;
  std::string text = negative ? "-" : "";
  text += digits.empty() ? "0" : digits.substr(first);
  if (scale > 0) {
    digits.clear();
    for (int i = 0; i < frac0; ++i) put(r.Be(4), 9);
    if (frac0x) put(r.Be(static_cast<size_t>(kDigitsToBytes[frac0x])), frac0x);
    text += "." + digits;
  }
  if (!r.ok) return false;
  *out = std::move(text);
  return true;
}

bool DecodeDecimalUnscaled(std::string_view bin, int precision, int scale, __int128* out,
                           size_t* consumed) {
  if (precision < 1 || precision > 38 || scale < 0 || scale > precision) return false;
  const int intg = precision - scale;
  const int intg0 = intg / 9, intg0x = intg % 9, frac0 = scale / 9, frac0x = scale % 9;
  const size_t size =
      static_cast<size_t>(intg0 * 4 + kDigitsToBytes[intg0x] + frac0 * 4 + kDigitsToBytes[frac0x]);
  if (bin.size() < size) return false;
  *consumed = size;
  static constexpr uint64_t kPow10[10] = {1,      10,      100,      1000,      10000,
                                          100000, 1000000, 10000000, 100000000, 1000000000};
  if (size <= 8 && bin.size() >= 8) {
    // The common case (up to 8 bytes: at most 18 digits) in one register: a big-endian load of
    // the value's bytes, the sign bit cleared, inverted when negative, then the digit groups
    // peeled off from the top.
    uint64_t w;
    std::memcpy(&w, bin.data(), 8);
    w = __builtin_bswap64(w) >> (64 - 8 * size);
    const uint64_t top = uint64_t{1} << (8 * size - 1);
    const bool negative = !(w & top);
    if (negative) w = ~w & (top | (top - 1));
    w ^= top;
    int bits = static_cast<int>(8 * size);
    auto take = [&](int bytes) {
      bits -= 8 * bytes;
      return (w >> bits) & ((uint64_t{1} << (8 * bytes)) - 1);
    };
    uint64_t v = 0;
    if (intg0x) v = take(kDigitsToBytes[intg0x]);
    for (int i = 0; i < intg0; ++i) v = v * kPow10[9] + take(4);
    for (int i = 0; i < frac0; ++i) v = v * kPow10[9] + take(4);
    if (frac0x) v = v * kPow10[frac0x] + take(kDigitsToBytes[frac0x]);
    *out = negative ? -static_cast<__int128>(v) : static_cast<__int128>(v);
    return true;
  }
  // The digits with the sign bit cleared and, when negative, every byte inverted (at most 17
  // bytes for 38 digits).
  uint8_t b[24];
  std::memcpy(b, bin.data(), bin.size() >= sizeof b ? sizeof b : size);  // a fixed size is a few moves
  const bool negative = !(b[0] & 0x80);
  b[0] ^= 0x80;
  if (negative) {
    for (size_t k = 0; k < size; ++k) b[k] = static_cast<uint8_t>(~b[k]);
  }
  size_t p = 0;
  auto be = [&](size_t n) {
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v = (v << 8) | b[p + k];
    p += n;
    return v;
  };
  // Up to 18 digits fit 64 bits, whose arithmetic is several times cheaper than 128-bit.
  auto unscaled = [&](auto v) {
    if (intg0x) v = be(static_cast<size_t>(kDigitsToBytes[intg0x]));
    for (int i = 0; i < intg0; ++i) v = v * kPow10[9] + be(4);
    for (int i = 0; i < frac0; ++i) v = v * kPow10[9] + be(4);
    if (frac0x) v = v * kPow10[frac0x] + be(static_cast<size_t>(kDigitsToBytes[frac0x]));
    return static_cast<__int128>(v);
  };
  const __int128 v = precision <= 18 ? unscaled(uint64_t{0}) : unscaled(__int128{0});
  *out = negative ? -v : v;
  return true;
}

std::string DecimalText(const Cell& c) {
  if (!c.text.empty()) return c.text;
  __int128 v = c.dec;
  const bool neg = v < 0;
  unsigned __int128 u =
      neg ? static_cast<unsigned __int128>(-v) : static_cast<unsigned __int128>(v);
  char buf[64];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + static_cast<int>(u % 10));
    u /= 10;
  } while (u != 0 || n <= c.scale);
  std::string out = neg ? "-" : "";
  for (int k = n - 1; k >= 0; --k) {
    out += buf[k];
    if (k == c.scale && c.scale > 0) out += '.';
  }
  return out;
}

Status DecodeRow(const TableMap& map, const RowsEvent& ev, bool after, size_t* pos,
                 std::vector<Cell>* out) {
  const std::vector<uint8_t>& present = after ? ev.present_after : ev.present;
  const size_t n = std::min<size_t>(ev.columns, map.columns.size());
  if (ev.columns != map.columns.size()) {
    return Bad("ROWS",
               "its column count differs from the table map of " + map.db + "." + map.table);
  }
  out->resize(n);
  Reader r{ev.rows, *pos};
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) count += Bit(present, i);
  std::string_view nulls = r.Bytes((count + 7) / 8);
  if (!r.ok) return Bad("ROWS", "truncated null bitmap");
  size_t j = 0;
  for (size_t i = 0; i < n; ++i) {
    Cell& c = (*out)[i];
    if (!Bit(present, i)) {
      c.kind = Cell::Kind::kAbsent;
      continue;
    }
    const bool is_null = (static_cast<uint8_t>(nulls[j / 8]) >> (j % 8)) & 1;
    ++j;
    if (is_null) {
      c.kind = Cell::Kind::kNull;
      continue;
    }
    const ColumnInfo& col = map.columns[i];
    auto integer = [&](size_t bytes) {
      const uint64_t v = r.Le(bytes);
      if (col.is_unsigned) {
        c.kind = Cell::Kind::kUInt;
        c.u = v;
      } else {
        c.kind = Cell::Kind::kInt;
        c.i = SignExtend(v, static_cast<unsigned>(bytes * 8));
      }
    };
    switch (col.type) {
      case kTypeTiny:
        integer(1);
        break;
      case kTypeShort:
        integer(2);
        break;
      case kTypeInt24:
        integer(3);
        break;
      case kTypeLong:
        integer(4);
        break;
      case kTypeLongLong:
        integer(8);
        break;
      case kTypeYear: {
        const uint64_t v = r.Le(1);
        c.kind = Cell::Kind::kInt;
        c.i = v == 0 ? 0 : 1900 + static_cast<int64_t>(v);
        break;
      }
      case kTypeFloat: {
        const uint32_t bits = static_cast<uint32_t>(r.Le(4));
        float f;
        std::memcpy(&f, &bits, 4);
        c.kind = Cell::Kind::kFloat;
        c.d = f;
        break;
      }
      case kTypeDouble: {
        const uint64_t bits = r.Le(8);
        std::memcpy(&c.d, &bits, 8);
        c.kind = Cell::Kind::kDouble;
        break;
      }
      case kTypeNewDecimal: {
        size_t used = 0;
        const int precision = col.meta >> 8, scale = col.meta & 0xff;
        c.scale = scale;
        c.text.clear();  // text only above 38 digits
        const bool ok =
            !r.Has(0) ? false
            : precision <= 38
                ? DecodeDecimalUnscaled(ev.rows.substr(r.p), precision, scale, &c.dec, &used)
                : DecodeDecimal(ev.rows.substr(r.p), precision, scale, &c.text, &used);
        if (!ok) return Bad("ROWS", "decimal value of column " + std::to_string(i + 1));
        r.p += used;
        c.kind = Cell::Kind::kDecimal;
        break;
      }
      case kTypeDate:
      case kTypeNewDate: {
        const uint64_t v = r.Le(3);
        c.kind = Cell::Kind::kDate;
        c.day = v & 31;
        c.month = (v >> 5) & 15;
        c.year = static_cast<uint16_t>(v >> 9);
        break;
      }
      case kTypeTime: {
        const int64_t v = SignExtend(r.Le(3), 24);
        const int64_t a = v < 0 ? -v : v;
        const int64_t us = ((a / 10000) * 3600 + (a / 100 % 100) * 60 + a % 100) * 1000000;
        c.kind = Cell::Kind::kTime;
        c.i = v < 0 ? -us : us;
        break;
      }
      case kTypeTime2: {
        const unsigned fsp = col.meta;
        int64_t packed;
        if (fsp >= 5) {
          packed = static_cast<int64_t>(r.Be(6)) - 0x800000000000LL;
        } else {
          int64_t intpart = static_cast<int64_t>(r.Be(3)) - 0x800000;
          int64_t frac = 0;
          if (fsp >= 1) {
            const size_t fb = fsp <= 2 ? 1 : 2;
            frac = static_cast<int64_t>(r.Be(fb));
            if (intpart < 0 && frac) {
              ++intpart;
              frac -= fb == 1 ? 0x100 : 0x10000;
            }
            frac *= fb == 1 ? 10000 : 100;
          }
          packed = intpart * (1LL << 24) + frac;
        }
        const bool neg = packed < 0;
        const int64_t a = neg ? -packed : packed;
        const int64_t hms = a >> 24;
        const int64_t us =
            (((hms >> 12) % 1024) * 3600 + ((hms >> 6) % 64) * 60 + hms % 64) * 1000000 +
            a % (1 << 24);
        c.kind = Cell::Kind::kTime;
        c.i = neg ? -us : us;
        break;
      }
      case kTypeDateTime: {
        uint64_t v = r.Le(8);
        c.kind = Cell::Kind::kDateTime;
        c.second = v % 100;
        v /= 100;
        c.minute = v % 100;
        v /= 100;
        c.hour = v % 100;
        v /= 100;
        c.day = v % 100;
        v /= 100;
        c.month = v % 100;
        c.year = static_cast<uint16_t>(v / 100);
        c.micro = 0;
        break;
      }
      case kTypeDateTime2: {
        const int64_t intpart = static_cast<int64_t>(r.Be(5)) - 0x8000000000LL;
        const int64_t frac = ReadFrac(r, col.meta, true);
        int64_t packed = intpart * (1LL << 24) + frac;
        if (packed < 0) packed = -packed;  // DATETIME is never negative; be safe
        const int64_t ymdhms = packed >> 24;
        const int64_t ymd = ymdhms >> 17, ym = ymd >> 5, hms = ymdhms % (1 << 17);
        c.kind = Cell::Kind::kDateTime;
        c.micro = static_cast<uint32_t>(packed % (1 << 24));
        c.day = static_cast<uint8_t>(ymd % 32);
        c.month = static_cast<uint8_t>(ym % 13);
        c.year = static_cast<uint16_t>(ym / 13);
        c.second = static_cast<uint8_t>(hms % 64);
        c.minute = static_cast<uint8_t>((hms >> 6) % 64);
        c.hour = static_cast<uint8_t>(hms >> 12);
        break;
      }
      case kTypeTimestamp: {
        c.kind = Cell::Kind::kTimestamp;
        c.i = static_cast<int64_t>(r.Le(4)) * 1000000;
        break;
      }
      case kTypeTimestamp2: {
        const int64_t secs = static_cast<int64_t>(r.Be(4));
        c.kind = Cell::Kind::kTimestamp;
        c.i = secs * 1000000 + ReadFrac(r, col.meta, true);
        break;
      }
      case kTypeVarchar:
      case kTypeVarString:
      case kTypeString: {
        const size_t len = r.Le(col.max_len > 255 ? 2 : 1);
        c.kind = Cell::Kind::kBytes;
        c.bytes = r.Bytes(len);
        break;
      }
      case kTypeEnum: {
        const uint64_t idx = r.Le(col.meta == 2 ? 2 : 1);
        c.kind = Cell::Kind::kBytes;
        if (idx == 0) {
          c.bytes = {};
        } else if (idx <= col.values.size()) {
          c.bytes = col.values[idx - 1];
        } else {
          c.text = std::to_string(idx);
          c.bytes = c.text;
        }
        break;
      }
      case kTypeSet: {
        const size_t bytes = col.meta >= 1 && col.meta <= 8 ? col.meta : 1;
        const uint64_t bits = r.Le(bytes);
        c.text.clear();
        for (size_t k = 0; k < 64 && k < bytes * 8; ++k) {
          if (!((bits >> k) & 1)) continue;
          if (!c.text.empty()) c.text += ',';
          c.text += k < col.values.size() ? col.values[k] : std::to_string(k + 1);
        }
        c.kind = Cell::Kind::kBytes;
        c.bytes = c.text;
        break;
      }
      case kTypeBit: {
        const size_t len = (col.meta & 0xff) + ((col.meta >> 8) ? 1 : 0);
        c.kind = Cell::Kind::kUInt;
        c.u = len <= 8 ? r.Be(len) : (r.Bytes(len), ~0ULL);
        break;
      }
      case kTypeBlob:
      case kTypeTinyBlob:
      case kTypeMediumBlob:
      case kTypeLongBlob:
      case kTypeGeometry:
      case kTypeJson: {
        const size_t len = r.Le(col.meta >= 1 && col.meta <= 4 ? col.meta : 4);
        c.kind = Cell::Kind::kBytes;
        c.bytes = r.Bytes(len);
        break;
      }
      case kTypeNull:
        c.kind = Cell::Kind::kNull;
        break;
      default:
        return Bad("ROWS", "column " + std::to_string(i + 1) + " of " + map.db + "." + map.table +
                               " has binlog type " + std::to_string(col.type) +
                               ", which sluice does not decode");
    }
    if (!r.ok) {
      return Bad("ROWS", "truncated value of column " + std::to_string(i + 1) + " of " + map.db +
                             "." + map.table);
    }
  }
  *pos = r.p;
  return Status::OK();
}

}  // namespace sluice::mysql::binlog
