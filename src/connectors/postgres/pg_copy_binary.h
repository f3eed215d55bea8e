#pragma once
// PostgreSQL's binary COPY format, written straight from sluice column buffers: no per-value text
// formatting. The layout (PostgreSQL docs, "COPY", "Binary Format"): an 11-byte signature
// "PGCOPY\n\377\r\n\0", an int32 flags field and an int32 header-extension length; then per
// tuple an int16 field count and, per field, an int32 byte length (-1 for NULL) followed by the
// value in the type's send/recv form; then an int16 -1 trailer. All integers are big-endian.
//
// Value forms (the types' recv functions): bool 1 byte; int8 8 bytes; float8 IEEE 754; numeric
// int16 ndigits, int16 weight, int16 sign (0x0000 +, 0x4000 -), int16 dscale, then ndigits int16
// base-10000 digits, most significant first; date int32 days since 2000-01-01; time int64 µs
// since midnight; timestamp and timestamptz int64 µs since 2000-01-01 00:00 (UTC for tz);
// text/varchar/bytea/json the raw bytes; jsonb a version byte 1 followed by the JSON text.
//
// Threading: an encoder is used by one thread at a time; the columns must outlive it.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/column.h"

namespace sluice::pg {

// How one column's values go on the wire.
enum class WireKind : uint8_t {
  kBool,
  kInt8,
  kFloat8,
  kNumeric,  // from a decimal column
  kBytes,    // string, binary, json into text, varchar, bpchar, bytea or json
  kJsonb,    // json (or string) into jsonb: version byte, then the text
  kDate,
  kTime,
  kTimestamp,  // timestamp and timestamptz alike
};

// The wire form of a sluice type in the table sluice would create for it (PgTypeName).
WireKind NaturalWireKind(const DataType& t);

// A growable byte buffer that does not zero what it reserves (std::string::resize would).
class CopyBuffer {
 public:
  void Clear() { size_ = 0; }
  size_t size() const { return size_; }
  std::string_view view() const { return {data_.get(), size_}; }
  // A pointer with room for `n` more bytes; Advance then moves the end past what was written.
  char* Reserve(size_t n);
  void Advance(char* end) { size_ = static_cast<size_t>(end - data_.get()); }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

class CopyBinaryEncoder {
 public:
  // `columns[i]` goes out as `kinds[i]`. With `row_number`, every tuple starts with an extra
  // int8 field: the row's index plus `row_number_base` (how staged rows are addressed).
  CopyBinaryEncoder(std::vector<const Column*> columns, std::vector<WireKind> kinds,
                    bool row_number = false);
  void set_row_number_base(int64_t base) { row_number_base_ = base; }

  static void AppendHeader(CopyBuffer& out);
  static void AppendTrailer(CopyBuffer& out);
  // Appends rows [from, to) as tuples.
  void AppendRows(int64_t from, int64_t to, CopyBuffer& out) const;
  // An upper bound of the bytes rows [from, to) take.
  size_t BoundRows(int64_t from, int64_t to) const;

 private:
  char* PutRow(char* p, int64_t r) const;

  std::vector<const Column*> columns_;
  std::vector<WireKind> kinds_;
  bool row_number_;
  int64_t row_number_base_ = 0;
  size_t fixed_bound_ = 0;  // per row, every field but the bytes of variable-width values
};

// The numeric send form of `v` scaled by 10^scale (without the int32 length), at `p`; returns
// the end. At most kMaxNumericBytes bytes.
inline constexpr size_t kMaxNumericBytes = 8 + 2 * 12;
char* PutNumeric(char* p, int128_t v, int scale);

// Days and microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
inline constexpr int32_t kPgEpochDays = 10957;
inline constexpr int64_t kPgEpochMicros = int64_t{kPgEpochDays} * 86400 * 1000000;

}  // namespace sluice::pg
