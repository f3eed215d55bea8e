#pragma once
// The decoder side of a file format: bytes in, rows of field references out. A decoder knows
// nothing about files, compression or schemas; RowConsumer (formats/assembler.h) turns fields
// into typed columns and rejected rows.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/options.h"
#include "core/status.h"

namespace sluice {

enum class FieldKind : uint8_t {
  kMissing,     // the row has no value for this column (short CSV row, absent JSON key)
  kNull,        // JSON null
  kText,        // unquoted CSV text (subject to null_values)
  kQuotedText,  // quoted CSV text or JSON string, already unescaped (never null)
  kNumber,      // JSON number, as written
  kBool,        // JSON true/false, as written
  kNested,      // JSON object or array, as raw JSON text
};

struct FieldRef {
  std::string_view text;
  FieldKind kind = FieldKind::kMissing;
};

struct RowOrigin {
  int64_t line = 0;     // 1-based physical line where the row starts
  uint64_t offset = 0;  // byte offset of the row in the (uncompressed) stream
};

// Receives what a decoder finds. Calls come from the decoder's thread.
class RowConsumer {
 public:
  virtual ~RowConsumer() = default;
  // Column names in file order (CSV header, or generated names column_1.. when there is none).
  // Returns, per file column, the slot its value goes to in OnRow's `fields` array.
  virtual std::vector<int> OnHeader(const std::vector<std::string>& names) = 0;
  // The slot of a named field (JSON keys). Stable for the life of the consumer.
  virtual int Slot(std::string_view name) = 0;
  // Number of slots OnRow's `fields` has (grows as Slot adds names).
  virtual size_t NumSlots() const = 0;
  // One row; `fields` has NumSlots() entries. `raw` is the row's bytes as read. Returns false
  // when the current batch is full: the decoder must stop after this row.
  virtual bool OnRow(const FieldRef* fields, const RowOrigin& origin, std::string_view raw) = 0;
  // A row that cannot be decoded at all (ragged row under strict mode, invalid JSON ...).
  // Returns false when the decoder must stop after it, as for OnRow.
  virtual bool OnBadRow(const RowOrigin& origin, std::string_view raw, std::string reason) = 0;
};

// Decodes one stream of bytes (one file). Not thread-safe; one per file.
class Decoder {
 public:
  virtual ~Decoder() = default;
  // Looks at the first bytes of the stream (at most a few hundred KB) to settle what the options
  // left open: CSV delimiter, quote and header. Called once, before ReadHeader.
  virtual Status Sniff(std::string_view head) { (void)head; return Status::OK(); }
  // Reads the header at the start of the stream, if the format has one, and reports it through
  // consumer.OnHeader. Returns the bytes it used; 0 with more data needed is reported as
  // NotFound when !at_eof and the header is not complete in `data`.
  virtual Result<size_t> ReadHeader(std::string_view data, bool at_eof, RowConsumer& consumer) = 0;
  // Decodes complete rows from the start of `data`, which begins at a row boundary at stream
  // position (offset, line) given by Seek or by the previous call. When `at_eof` is true, a last
  // row without a line terminator is complete. Returns the bytes consumed: everything up to the
  // end of the last row handed over. Stops early when the consumer says so.
  virtual Result<size_t> Decode(std::string_view data, bool at_eof, RowConsumer& consumer) = 0;
  // Sets the stream position of the next Decode call (used after ReadHeader and on resume).
  virtual void Seek(uint64_t offset, int64_t line) = 0;
  virtual uint64_t offset() const = 0;
  virtual int64_t line() const = 0;
  // Human description of settled options, for logs and `check`: "csv delimiter=',' header=yes".
  virtual std::string Describe() const = 0;
};

// Formats are registered by name ("csv", "jsonl") with their option schema.
struct FormatInfo {
  std::string name;
  std::vector<std::string> extensions;  // ".csv", ".tsv" ...
  OptionSchema options;                 // keys accepted in the source block for this format
  // Options: the source block (unknown keys already rejected).
  std::function<Result<std::unique_ptr<Decoder>>(const Options&)> make_decoder;
};

const std::vector<FormatInfo>& Formats();
const FormatInfo* FindFormat(const std::string& name);
const FormatInfo* FindFormatByPath(const std::string& path);  // by extension, ignoring .gz/.zst

}  // namespace sluice
