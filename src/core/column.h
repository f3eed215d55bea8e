#pragma once
// Column and ColumnBuilder: one typed column of a RecordBatch in the Arrow memory layout
// (LSB-first validity bitmap; bit-packed bools; fixed-width values; int32 offsets plus data for
// strings, binary and json). A Column is immutable once built and may be shared across threads.
// A ColumnBuilder is used by one thread at a time.

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "core/byte_buffer.h"
#include "core/types.h"

namespace sluice {

using int128_t = __int128;

class Column {
 public:
  const DataType& type() const { return type_; }
  int64_t length() const { return length_; }
  int64_t null_count() const { return null_count_; }
  bool IsNull(int64_t i) const {
    return !validity_.empty() && !((validity_[i >> 3] >> (i & 7)) & 1);
  }
  bool BoolAt(int64_t i) const { return (values_[i >> 3] >> (i & 7)) & 1; }
  int64_t Int64At(int64_t i) const { return Load<int64_t>(i); }  // int64, time, timestamp
  double Float64At(int64_t i) const { return Load<double>(i); }
  int32_t DateAt(int64_t i) const { return Load<int32_t>(i); }
  int128_t DecimalAt(int64_t i) const { return Load<int128_t>(i); }
  std::string_view BytesAt(int64_t i) const {  // string, binary, json
    return {reinterpret_cast<const char*>(values_.data()) + offsets_[i],
            static_cast<size_t>(offsets_[i + 1] - offsets_[i])};
  }
  size_t ByteSize() const {
    return validity_.size() + values_.size() + offsets_.size() * sizeof(int32_t);
  }
  // Raw buffers, for zero-copy export.
  const ByteBuffer& validity() const { return validity_; }
  const ByteBuffer& values() const { return values_; }
  const std::vector<int32_t>& offsets() const { return offsets_; }

 private:
  friend class ColumnBuilder;
  template <typename T>
  T Load(int64_t i) const {
    T v;
    std::memcpy(&v, values_.data() + i * sizeof(T), sizeof(T));
    return v;
  }
  DataType type_;
  int64_t length_ = 0;
  int64_t null_count_ = 0;
  ByteBuffer validity_;  // empty when no value is null
  ByteBuffer values_;
  std::vector<int32_t> offsets_;   // length_+1 entries for var-width types
};

using ColumnPtr = std::shared_ptr<const Column>;

class ColumnBuilder {
 public:
  explicit ColumnBuilder(DataType type);
  const DataType& type() const { return type_; }
  int64_t length() const { return length_; }
  size_t ByteSize() const { return validity_.size() + values_.size() + offsets_.size() * 4; }

  void AppendNull();
  void AppendBool(bool v);
  void AppendInt64(int64_t v);  // int64, time, timestamp
  void AppendFloat64(double v);
  void AppendDate(int32_t days);
  void AppendDecimal(int128_t v);
  void AppendBytes(std::string_view v);  // string, binary, json
  // Appends the value at row `i` of `src`, which must have the same physical type.
  void AppendFrom(const Column& src, int64_t i);
  // Appends rows [from, from + n) of `src` (same physical type) in bulk: one copy per buffer,
  // nulls included.
  void AppendRange(const Column& src, int64_t from, int64_t n);
  // Makes room for `rows` more values holding `bytes` bytes of variable-width data in all.
  void Reserve(int64_t rows, size_t bytes = 0);
  // Drops every value appended after the first `n`: how a half-appended row is rolled back.
  void Truncate(int64_t n);
  // Moves the built values into a Column and leaves the builder empty for reuse.
  ColumnPtr Finish();

 private:
  void MarkValid() {
    if (!validity_.empty()) SetValidityBit(length_, true);
  }
  void SetValidityBit(int64_t i, bool v);
  template <typename T>
  void Store(T v) {
    const size_t n = values_.size();
    values_.resize(n + sizeof(T));
    std::memcpy(values_.data() + n, &v, sizeof(T));
  }

  DataType type_;
  int64_t length_ = 0;
  int64_t null_count_ = 0;
  ByteBuffer validity_;
  ByteBuffer values_;
  std::vector<int32_t> offsets_;
};

}  // namespace sluice
