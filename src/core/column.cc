#include "core/column.h"

#include <algorithm>

namespace sluice {

ColumnBuilder::ColumnBuilder(DataType type) : type_(type) {
  if (type_.IsVarWidth()) offsets_.push_back(0);
}

void ColumnBuilder::SetValidityBit(int64_t i, bool v) {
  size_t byte = static_cast<size_t>(i >> 3);
  if (validity_.size() <= byte) validity_.resize(byte + 1, 0);
  if (v) validity_[byte] |= static_cast<uint8_t>(1u << (i & 7));
  else validity_[byte] &= static_cast<uint8_t>(~(1u << (i & 7)));
}

void ColumnBuilder::AppendNull() {
  if (validity_.empty()) {
    // First null: every earlier value was valid.
    validity_.assign(static_cast<size_t>((length_ >> 3) + 1), 0);
    for (int64_t i = 0; i < length_; ++i) SetValidityBit(i, true);
  }
  SetValidityBit(length_, false);
  ++null_count_;
  if (type_.IsVarWidth()) {
    offsets_.push_back(offsets_.back());
  } else if (type_.id == TypeId::kBool) {
    if (values_.size() <= static_cast<size_t>(length_ >> 3)) values_.push_back(0);
  } else {
    values_.resize(values_.size() + type_.FixedWidth(), 0);
  }
  ++length_;
}

void ColumnBuilder::AppendBool(bool v) {
  MarkValid();
  size_t byte = static_cast<size_t>(length_ >> 3);
  if (values_.size() <= byte) values_.push_back(0);
  if (v) values_[byte] |= static_cast<uint8_t>(1u << (length_ & 7));
  ++length_;
}

void ColumnBuilder::AppendInt64(int64_t v) {
  MarkValid();
  Store(v);
  ++length_;
}

void ColumnBuilder::AppendFloat64(double v) {
  MarkValid();
  Store(v);
  ++length_;
}

void ColumnBuilder::AppendDate(int32_t v) {
  MarkValid();
  Store(v);
  ++length_;
}

void ColumnBuilder::AppendDecimal(int128_t v) {
  MarkValid();
  Store(v);
  ++length_;
}

void ColumnBuilder::AppendBytes(std::string_view v) {
  MarkValid();
  values_.Append(v.data(), v.size());
  offsets_.push_back(static_cast<int32_t>(values_.size()));
  ++length_;
}

void ColumnBuilder::AppendFrom(const Column& src, int64_t i) {
  if (src.IsNull(i)) {
    AppendNull();
    return;
  }
  switch (type_.id) {
    case TypeId::kBool: AppendBool(src.BoolAt(i)); break;
    case TypeId::kInt64:
    case TypeId::kTime:
    case TypeId::kTimestamp: AppendInt64(src.Int64At(i)); break;
    case TypeId::kFloat64: AppendFloat64(src.Float64At(i)); break;
    case TypeId::kDate: AppendDate(src.DateAt(i)); break;
    case TypeId::kDecimal: AppendDecimal(src.DecimalAt(i)); break;
    default: AppendBytes(src.BytesAt(i)); break;
  }
}

namespace {

// Copies bits [from, from + n) of `src` (LSB-first, `src_size` bytes) to bits [at, at + n) of
// `dst`, which has room for them, a destination byte at a time; returns how many are set.
int64_t CopyBits(const uint8_t* src, size_t src_size, int64_t from, uint8_t* dst, int64_t at, int64_t n) {
  int64_t set = 0;
  while (n > 0) {
    const int shift = static_cast<int>(at & 7);
    const int take = static_cast<int>(std::min<int64_t>(8 - shift, n));
    const auto byte = static_cast<size_t>(from >> 3);
    unsigned v = src[byte];
    if (byte + 1 < src_size) v |= static_cast<unsigned>(src[byte + 1]) << 8;
    const unsigned keep = (1u << take) - 1;
    const unsigned bits = (v >> (from & 7)) & keep;
    uint8_t& out = dst[at >> 3];
    out = static_cast<uint8_t>((out & ~(keep << shift)) | (bits << shift));
    set += __builtin_popcount(bits);
    from += take;
    at += take;
    n -= take;
  }
  return set;
}

// Sets bits [at, at + n) of `dst`, which has room for them.
void SetBits(uint8_t* dst, int64_t at, int64_t n) {
  for (; n > 0 && (at & 7) != 0; ++at, --n) dst[at >> 3] |= static_cast<uint8_t>(1u << (at & 7));
  if (n >= 8) {
    std::memset(dst + (at >> 3), 0xFF, static_cast<size_t>(n >> 3));
    at += n & ~int64_t{7};
    n &= 7;
  }
  for (; n > 0; ++at, --n) dst[at >> 3] |= static_cast<uint8_t>(1u << (at & 7));
}

int64_t CountBits(const uint8_t* src, size_t src_size, int64_t from, int64_t n) {
  int64_t set = 0;
  for (; n > 0 && (from & 7) != 0; ++from, --n) set += (src[from >> 3] >> (from & 7)) & 1;
  for (; n >= 64; from += 64, n -= 64) {
    uint64_t w;
    std::memcpy(&w, src + (from >> 3), 8);
    set += __builtin_popcountll(w);
  }
  for (; n > 0; ++from, --n) set += (src[from >> 3] >> (from & 7)) & 1;
  return set;
}

}  // namespace

void ColumnBuilder::AppendRange(const Column& src, int64_t from, int64_t n) {
  if (n <= 0) return;
  const int64_t end_bytes = (length_ + n + 7) >> 3;
  if (src.null_count() > 0) {
    const auto& sv = src.validity();
    const int64_t nulls = n - CountBits(sv.data(), sv.size(), from, n);
    const bool had_nulls = !validity_.empty();
    if (nulls > 0 && !had_nulls) {
      // First null: every earlier value was valid.
      validity_.assign(static_cast<size_t>((length_ + 7) >> 3), 0);
      SetBits(validity_.data(), 0, length_);
    }
    if (nulls > 0 || had_nulls) {
      validity_.resize(static_cast<size_t>(end_bytes), 0);
      CopyBits(sv.data(), sv.size(), from, validity_.data(), length_, n);
    }
    null_count_ += nulls;
  } else if (!validity_.empty()) {
    validity_.resize(static_cast<size_t>(end_bytes), 0);
    SetBits(validity_.data(), length_, n);
  }
  const auto& sv = src.values();
  if (type_.id == TypeId::kBool) {
    values_.resize(static_cast<size_t>(end_bytes), 0);
    CopyBits(sv.data(), sv.size(), from, values_.data(), length_, n);
  } else if (type_.IsVarWidth()) {
    const auto& so = src.offsets();
    const int32_t base = so[static_cast<size_t>(from)];
    const int32_t shift = static_cast<int32_t>(values_.size()) - base;
    values_.Append(sv.data() + base, static_cast<size_t>(so[static_cast<size_t>(from + n)] - base));
    const size_t at = offsets_.size();
    offsets_.resize(at + static_cast<size_t>(n));
    const int32_t* in = so.data() + from + 1;
    int32_t* out = offsets_.data() + at;
    for (int64_t i = 0; i < n; ++i) out[i] = in[i] + shift;
  } else {
    const size_t w = static_cast<size_t>(type_.FixedWidth());
    values_.Append(sv.data() + static_cast<size_t>(from) * w, static_cast<size_t>(n) * w);
  }
  length_ += n;
}

void ColumnBuilder::Reserve(int64_t rows, size_t bytes) {
  if (rows <= 0) return;
  const auto r = static_cast<size_t>(rows);
  if (type_.IsVarWidth()) {
    offsets_.reserve(offsets_.size() + r);
    values_.reserve(values_.size() + bytes);
  } else if (type_.id == TypeId::kBool) {
    values_.reserve(static_cast<size_t>((length_ + rows + 7) >> 3));
  } else {
    values_.reserve(values_.size() + r * static_cast<size_t>(type_.FixedWidth()));
  }
}

void ColumnBuilder::Truncate(int64_t n) {
  if (n >= length_) return;
  if (!validity_.empty()) {
    for (int64_t i = n; i < length_; ++i) {
      if (!((validity_[i >> 3] >> (i & 7)) & 1)) --null_count_;
    }
    validity_.resize(static_cast<size_t>((n + 7) >> 3));
    if (n & 7) validity_.back() &= static_cast<uint8_t>((1u << (n & 7)) - 1);
    if (null_count_ == 0) validity_.clear();
  }
  if (type_.IsVarWidth()) {
    offsets_.resize(static_cast<size_t>(n) + 1);
    values_.resize(static_cast<size_t>(offsets_.back()));
  } else if (type_.id == TypeId::kBool) {
    values_.resize(static_cast<size_t>((n + 7) >> 3));
    if (n & 7) values_.back() &= static_cast<uint8_t>((1u << (n & 7)) - 1);
  } else {
    values_.resize(static_cast<size_t>(n) * type_.FixedWidth());
  }
  length_ = n;
}

ColumnPtr ColumnBuilder::Finish() {
  auto col = std::make_shared<Column>();
  col->type_ = type_;
  col->length_ = length_;
  col->null_count_ = null_count_;
  if (!validity_.empty()) validity_.resize(static_cast<size_t>((length_ + 7) >> 3), 0);
  // The next batch is likely as large: start with room for it instead of growing by doubling.
  const size_t values_size = values_.size(), offsets_size = offsets_.size();
  col->validity_ = std::move(validity_);
  col->values_ = std::move(values_);
  col->offsets_ = std::move(offsets_);
  validity_.clear();
  values_.clear();
  offsets_.clear();
  values_.reserve(values_size + values_size / 8);
  if (type_.IsVarWidth()) offsets_.reserve(offsets_size + offsets_size / 8);
  if (type_.IsVarWidth()) offsets_.push_back(0);
  length_ = 0;
  null_count_ = 0;
  return col;
}

}  // namespace sluice
