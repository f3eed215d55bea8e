#pragma once
// Scanner: splits a buffer into CSV records and fields (RFC 4180), one record per call, without
// allocating once its vectors have grown. It finds the bytes that matter (delimiter, '\n', quote,
// escape) 64 at a time with SIMD compares and walks the resulting bitmask, so the cost is per
// special byte, not per byte. Used by the decoder, by header reading and by the sniffer.
//
// Rules, as the decoder documents them to users:
//  - a field that starts with the quote is quoted: it runs to the next quote that is not doubled
//    (or escaped), and may hold delimiters, quotes and newlines;
//  - a quote anywhere else in an unquoted field is an ordinary byte (`5" pipe`);
//  - text after a closing quote and before the next delimiter/terminator (`"ab"c`) is kept, the
//    field becomes the unescaped content followed by that text, the record counts it in
//    `junk_fields`;
//  - a record ends at '\n' outside quotes; a '\r' right before it is part of the terminator, a
//    lone '\r' anywhere else is data;
//  - the escape character (when set) only escapes inside quoted fields.
//
// Not thread-safe; one per decoder.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "formats/csv/internal/csv_dialect.h"

namespace sluice::csv {

// One field of the current record: bytes of the input, or of the scanner's scratch when
// unescaping changed them.
struct Span {
  size_t begin = 0;
  size_t size = 0;
  bool quoted = false;
  bool in_scratch = false;
};

enum class RecordStatus : uint8_t {
  kComplete,      // a whole record; fields() holds it
  kNeedMore,      // the record does not end inside the buffer and more bytes may come
  kTooLong,       // more than max_row_bytes without the record ending (or a record that long)
  kUnterminated,  // at end of input inside a quoted field
};

struct Record {
  size_t start = 0;
  size_t end = 0;        // end of the record's bytes, terminator excluded
  size_t next = 0;       // where the next record starts (after the terminator)
  int64_t newlines = 0;  // '\n' bytes from start to next, the terminator's included
  int64_t open_quote_newlines = 0;  // kUnterminated: '\n' bytes before the unclosed quote
  int quoted_fields = 0;  // fields quoted and closed properly
  int junk_fields = 0;    // fields with text after their closing quote
};

class Scanner {
 public:
  explicit Scanner(const Dialect& dialect);

  // A new buffer. `at_eof`: nothing follows it, so a last record without terminator is complete.
  void Reset(std::string_view data, bool at_eof);
  // Scans the record starting at byte `start` (< data.size()).
  RecordStatus Next(size_t start, Record* rec);
  // Fields of the last record scanned (kComplete; partial otherwise).
  const std::vector<Span>& fields() const { return fields_; }
  std::string_view Text(const Span& s) const {
    return std::string_view((s.in_scratch ? scratch_.data() : data_) + s.begin, s.size);
  }

 private:
  // Position of the first special byte in [p, lim), or lim.
  size_t NextSpecial(size_t p, size_t lim);
  void LoadBlock(size_t p);
  // True when `lim` is the real end of the input for the record at `start`.
  bool AtEnd(size_t start, size_t lim) const;
  // The status of a record that reached `lim` without ending.
  RecordStatus RanOut(size_t start, size_t lim, Record* r) const;
  // The status of a record that ended: complete unless longer than max_row_bytes.
  RecordStatus Done(Record* r) const;
  void MoveToScratch(Span* s);
  // Appends the field [b, e); with `junk`, appends those bytes to `s` (quoted content already in
  // scratch) instead.
  void AddField(Span s, bool junk, size_t b, size_t e, Record* r);
  // Scans the unquoted text starting at *pos to the end of its field. Returns true when a
  // delimiter ended it (*pos is then the next field); otherwise *st tells how the record ended.
  bool EndField(size_t* pos, size_t lim, Span s, bool junk, Record* r, RecordStatus* st);

  Dialect d_;
  char special_[4] = {};  // delimiter, '\n', quote, escape
  const char* data_ = nullptr;
  size_t n_ = 0;
  bool at_eof_ = false;
  size_t base_ = 0;    // bits_ describes bytes [base_, base_ + 64)
  uint64_t bits_ = 0;  // bit i: data_[base_ + i] is special
  std::vector<Span> fields_;
  std::string scratch_;
};

}  // namespace sluice::csv
