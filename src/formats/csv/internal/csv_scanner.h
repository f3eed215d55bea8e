#pragma once
// Scanner: splits a buffer into CSV records and fields (RFC 4180), one record per call, without
// allocating once its vectors have grown. It classifies the input 64 bytes at a time with SIMD
// compares into bitmasks (delimiters, newlines, quote/escape bytes), a window of 4 KiB at a time,
// and walks those masks: a run of unquoted fields costs a few instructions per field, whatever
// their length. Used by the decoder, by header reading and by the sniffer.
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
#include "formats/format.h"

namespace sluice::csv {

// The largest max_row_bytes accepted: a sanity cap, far above any real row.
inline constexpr size_t kMaxRowBytesLimit = size_t{1} << 30;

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
  // Fields of the last record scanned (all of them when kComplete; partial otherwise): kText
  // or kQuotedText, pointing into the buffer or, when unescaping changed them, into the
  // scanner's scratch. Valid until the next Next or Reset.
  size_t num_fields() const { return num_fields_; }
  const FieldRef* fields() const { return fields_.data(); }
  // fields() with kMissing entries appended up to `count` (for short rows).
  const FieldRef* PadFields(size_t count);

 private:
  static constexpr size_t kWindowBlocks = 64;  // 64 blocks of 64 bytes
  // Classifies blocks [block, block + kWindowBlocks) into the mask arrays.
  void Fill(size_t block);
  // The first quote/escape byte in [k, lim), or lim; adds the '\n' bytes before it to *newlines.
  size_t FindQuote(size_t k, size_t lim, int64_t* newlines);
  // The first delimiter or '\n' in [k, lim), or lim.
  size_t FindDelimiterOrNewline(size_t k, size_t lim);
  // The status of a record that reached `lim` without ending.
  RecordStatus RanOut(size_t start, size_t lim, Record* r) const;
  void GrowFields();
  // Points the fields listed in scratch_fields_ at scratch_.
  void ResolveScratch();

  Dialect d_;
  const char* data_ = nullptr;
  size_t n_ = 0;
  size_t num_blocks_ = 0;
  bool at_eof_ = false;
  size_t window_ = 0;  // first block held in the masks
  // Per block of the window, bit i stands for byte 64 * block + i.
  uint64_t delim_[kWindowBlocks] = {};
  uint64_t newline_[kWindowBlocks] = {};
  uint64_t quote_[kWindowBlocks] = {};  // the quote, and the escape when set
  std::vector<FieldRef> fields_;  // grown, never shrunk; the first num_fields_ are in use
  size_t num_fields_ = 0;
  std::string scratch_;
  // Fields whose text lives in scratch_: set once the record is complete (scratch_ may move).
  struct ScratchText {
    size_t field;
    size_t begin;
    size_t size;
  };
  std::vector<ScratchText> scratch_fields_;
};

}  // namespace sluice::csv
