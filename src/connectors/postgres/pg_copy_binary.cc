#include "connectors/postgres/pg_copy_binary.h"

#include <algorithm>
#include <cstring>

namespace sluice::pg {
namespace {

inline char* Put16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v);
  return p + 2;
}

inline char* Put32(char* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
  return p + 4;
}

inline char* Put64(char* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
  return p + 8;
}

// Bytes a value of `kind` takes besides its variable-width payload, length word included.
size_t FixedBound(WireKind kind) {
  switch (kind) {
    case WireKind::kBool:
      return 4 + 1;
    case WireKind::kInt8:
    case WireKind::kFloat8:
    case WireKind::kTime:
    case WireKind::kTimestamp:
      return 4 + 8;
    case WireKind::kDate:
      return 4 + 4;
    case WireKind::kNumeric:
      return 4 + kMaxNumericBytes;
    case WireKind::kBytes:
      return 4;
    case WireKind::kJsonb:
      return 4 + 1;
  }
  return 4;
}

bool IsVarKind(WireKind kind) { return kind == WireKind::kBytes || kind == WireKind::kJsonb; }

// Base-10000 digits of `u` (least significant first) into `g`; returns how many.
template <typename U>
int Base10000(U u, uint16_t* g) {
  int n = 0;
  while (u != 0) {
    g[n++] = static_cast<uint16_t>(u % 10000);
    u /= 10000;
  }
  return n;
}

}  // namespace

WireKind NaturalWireKind(const DataType& t) {
  switch (t.id) {
    case TypeId::kBool:
      return WireKind::kBool;
    case TypeId::kInt64:
      return WireKind::kInt8;
    case TypeId::kFloat64:
      return WireKind::kFloat8;
    case TypeId::kDecimal:
      return WireKind::kNumeric;
    case TypeId::kString:
    case TypeId::kBinary:
      return WireKind::kBytes;
    case TypeId::kJson:
      return WireKind::kJsonb;
    case TypeId::kDate:
      return WireKind::kDate;
    case TypeId::kTime:
      return WireKind::kTime;
    case TypeId::kTimestamp:
      return WireKind::kTimestamp;
  }
  return WireKind::kBytes;
}

char* CopyBuffer::Reserve(size_t n) {
  if (size_ + n > capacity_) {
    size_t cap = std::max(size_ + n, capacity_ * 2);
    auto grown = std::make_unique<char[]>(cap);  // value-initialised once per growth, not per use
    if (size_) std::memcpy(grown.get(), data_.get(), size_);
    data_ = std::move(grown);
    capacity_ = cap;
  }
  return data_.get() + size_;
}

// The decimal's magnitude is cut into base-10000 digits aligned on the decimal point: the
// fraction is padded on the right to a multiple of 4 digits (dscale keeps the real scale), which
// is done by taking the lowest 4 - pad digits first rather than multiplying (that could overflow
// 128 bits at 38 digits). Leading and trailing zero digits are dropped, as numeric_send does.
char* PutNumeric(char* p, int128_t v, int scale) {
  const bool neg = v < 0;
  using u128 = unsigned __int128;
  u128 u = neg ? -static_cast<u128>(v) : static_cast<u128>(v);
  const int pad = (4 - scale % 4) % 4;
  const int frac_groups = (scale + pad) / 4;
  uint16_t g[16];  // least significant first; 38 digits + pad need at most 11
  int n = 0;
  if (pad != 0) {
    static constexpr uint32_t kLow[] = {1, 10, 100, 1000};    // 10^(4 - pad)
    static constexpr uint32_t kShift[] = {1, 10, 100, 1000};  // 10^pad
    const uint32_t low = kLow[4 - pad];
    g[n++] = static_cast<uint16_t>(static_cast<uint32_t>(u % low) * kShift[pad]);
    u /= low;
  }
  if (u <= UINT64_MAX) {
    n += Base10000(static_cast<uint64_t>(u), g + n);
  } else {
    n += Base10000(u, g + n);
  }
  while (n < frac_groups) g[n++] = 0;  // 0.0005: the fraction's leading zero groups
  int top = n - 1;                     // most significant group
  while (top >= 0 && g[top] == 0) --top;
  int bottom = 0;
  while (bottom <= top && g[bottom] == 0) ++bottom;
  const int ndigits = top >= bottom ? top - bottom + 1 : 0;
  const int weight = ndigits ? top - frac_groups : 0;
  p = Put16(p, static_cast<uint16_t>(ndigits));
  p = Put16(p, static_cast<uint16_t>(static_cast<int16_t>(weight)));
  p = Put16(p, ndigits && neg ? 0x4000 : 0x0000);
  p = Put16(p, static_cast<uint16_t>(scale));
  for (int i = top; i >= bottom; --i) p = Put16(p, g[i]);
  return p;
}

CopyBinaryEncoder::CopyBinaryEncoder(std::vector<const Column*> columns,
                                     std::vector<WireKind> kinds, bool row_number)
    : columns_(std::move(columns)), kinds_(std::move(kinds)), row_number_(row_number) {
  fixed_bound_ = 2 + (row_number_ ? 12 : 0);
  for (WireKind k : kinds_) fixed_bound_ += FixedBound(k);
}

void CopyBinaryEncoder::AppendHeader(CopyBuffer& out) {
  static constexpr char kSignature[] = "PGCOPY\n\377\r\n";  // + the terminating NUL: 11 bytes
  char* p = out.Reserve(19);
  std::memcpy(p, kSignature, 11);
  p = Put32(p + 11, 0);  // flags: no OIDs
  p = Put32(p, 0);       // header extension length
  out.Advance(p);
}

void CopyBinaryEncoder::AppendTrailer(CopyBuffer& out) {
  char* p = out.Reserve(2);
  out.Advance(Put16(p, 0xffff));
}

size_t CopyBinaryEncoder::BoundRows(int64_t from, int64_t to) const {
  size_t bytes = fixed_bound_ * static_cast<size_t>(to - from);
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (!IsVarKind(kinds_[c])) continue;
    const auto& off = columns_[c]->offsets();
    bytes += static_cast<size_t>(off[to] - off[from]);
  }
  return bytes;
}

void CopyBinaryEncoder::AppendRows(int64_t from, int64_t to, CopyBuffer& out) const {
  char* p = out.Reserve(BoundRows(from, to));
  for (int64_t r = from; r < to; ++r) p = PutRow(p, r);
  out.Advance(p);
}

char* CopyBinaryEncoder::PutRow(char* p, int64_t r) const {
  p = Put16(p, static_cast<uint16_t>(columns_.size() + (row_number_ ? 1 : 0)));
  if (row_number_) {
    p = Put32(p, 8);
    p = Put64(p, static_cast<uint64_t>(row_number_base_ + r));
  }
  for (size_t c = 0; c < columns_.size(); ++c) {
    const Column& col = *columns_[c];
    if (col.IsNull(r)) {
      p = Put32(p, 0xffffffffu);
      continue;
    }
    switch (kinds_[c]) {
      case WireKind::kBool:
        p = Put32(p, 1);
        *p++ = col.BoolAt(r) ? 1 : 0;
        break;
      case WireKind::kInt8:
      case WireKind::kTime:
        p = Put32(p, 8);
        p = Put64(p, static_cast<uint64_t>(col.Int64At(r)));
        break;
      case WireKind::kTimestamp:
        p = Put32(p, 8);
        p = Put64(p, static_cast<uint64_t>(col.Int64At(r) - kPgEpochMicros));
        break;
      case WireKind::kFloat8: {
        uint64_t bits;
        double d = col.Float64At(r);
        std::memcpy(&bits, &d, 8);
        p = Put32(p, 8);
        p = Put64(p, bits);
        break;
      }
      case WireKind::kDate:
        p = Put32(p, 4);
        p = Put32(p, static_cast<uint32_t>(col.DateAt(r) - kPgEpochDays));
        break;
      case WireKind::kNumeric: {
        char* len = p;
        char* end = PutNumeric(p + 4, col.DecimalAt(r), col.type().scale);
        Put32(len, static_cast<uint32_t>(end - len - 4));
        p = end;
        break;
      }
      case WireKind::kBytes: {
        std::string_view v = col.BytesAt(r);
        p = Put32(p, static_cast<uint32_t>(v.size()));
        if (!v.empty()) std::memcpy(p, v.data(), v.size());
        p += v.size();
        break;
      }
      case WireKind::kJsonb: {
        std::string_view v = col.BytesAt(r);
        p = Put32(p, static_cast<uint32_t>(v.size() + 1));
        *p++ = 1;  // jsonb binary format version
        if (!v.empty()) std::memcpy(p, v.data(), v.size());
        p += v.size();
        break;
      }
    }
  }
  return p;
}

}  // namespace sluice::pg
