#pragma once
// CSV encoding (RFC 4180 quoting, LF line ends): a header line and rows. A field is quoted only
// when it has to be: when it contains the delimiter, a double quote, CR or LF, or starts or ends
// with a space or tab; quotes inside are doubled. A null is an empty unquoted field and an empty
// string is `""`, so the two stay apart when read back. Values are written in their text form
// (AppendValueText in core/values.h). Encoding only, no I/O. Not thread-safe.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/record_batch.h"

namespace sluice {

class CsvEncoder {
 public:
  // `delimiter` must not be '"', CR, LF or NUL (the sink checks the option).
  explicit CsvEncoder(char delimiter = ',');
  char delimiter() const { return delimiter_; }

  // Appends one line with `names`.
  void EncodeHeader(const std::vector<std::string>& names, std::string& out);
  // Appends rows [begin, end) of `batch`. `layout`, when given, lists for each output column the
  // index of the batch column to write, or -1 for a column the batch lacks (written as null).
  // Without it the batch's columns are written in schema order.
  void Encode(const RecordBatch& batch, int64_t begin, int64_t end, std::string& out,
              const std::vector<int>* layout = nullptr);
  void Encode(const RecordBatch& batch, std::string& out) { Encode(batch, 0, batch.num_rows(), out); }

  // Appends `text` as one field, quoted when needed (an empty text is written as `""`).
  void AppendField(std::string_view text, std::string& out) const;
  bool NeedsQuotes(std::string_view text) const;

 private:
  void AppendValue(const Column& col, int64_t i, std::string& out);

  char delimiter_;
  std::array<bool, 256> special_{};  // bytes that force quoting anywhere in a field
  bool typed_text_safe_;  // the delimiter cannot occur in the text of non-string types
  std::string scratch_;
};

}  // namespace sluice
