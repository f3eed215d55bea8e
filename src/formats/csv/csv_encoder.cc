#include "formats/csv/csv_encoder.h"

#include <cctype>
#include <charconv>

#include "core/values.h"

namespace sluice {

CsvEncoder::CsvEncoder(char delimiter) : delimiter_(delimiter) {
  // Numbers, dates, times, timestamps and bools are written with letters, digits and "-+.: "
  // only, never with a leading or trailing space.
  auto d = static_cast<unsigned char>(delimiter);
  typed_text_safe_ = !std::isalnum(d) && std::string_view("-+.: ").find(delimiter) == std::string_view::npos;
  special_[static_cast<unsigned char>(delimiter)] = true;
  special_['"'] = true;
  special_['\r'] = true;
  special_['\n'] = true;
}

bool CsvEncoder::NeedsQuotes(std::string_view text) const {
  if (text.empty()) return false;
  // Readers that trim unquoted fields would lose edge whitespace.
  char first = text.front(), last = text.back();
  if (first == ' ' || first == '\t' || last == ' ' || last == '\t') return true;
  for (char c : text) {
    if (special_[static_cast<unsigned char>(c)]) return true;
  }
  return false;
}

void CsvEncoder::AppendField(std::string_view text, std::string& out) const {
  if (text.empty()) {
    out += "\"\"";
    return;
  }
  if (!NeedsQuotes(text)) {
    out += text;
    return;
  }
  out.push_back('"');
  size_t from = 0;
  for (size_t q = text.find('"'); q != std::string_view::npos; q = text.find('"', from)) {
    out.append(text.data() + from, q + 1 - from);
    out.push_back('"');
    from = q + 1;
  }
  out.append(text.data() + from, text.size() - from);
  out.push_back('"');
}

void CsvEncoder::EncodeHeader(const std::vector<std::string>& names, std::string& out) {
  for (size_t c = 0; c < names.size(); ++c) {
    if (c) out.push_back(delimiter_);
    AppendField(names[c], out);
  }
  out.push_back('\n');
}

void CsvEncoder::AppendValue(const Column& col, int64_t i, std::string& out) {
  if (col.IsNull(i)) return;
  switch (col.type().id) {
    case TypeId::kString:
    case TypeId::kBinary:
    case TypeId::kJson:
      AppendField(col.BytesAt(i), out);
      return;
    default:
      break;
  }
  // Other types have a text form of digits, letters and punctuation; it needs quoting only
  // when the delimiter is one of those characters (a ':' delimiter and a time, say).
  size_t start = out.size();
  if (col.type().id == TypeId::kInt64) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, col.Int64At(i));
    out.append(buf, r.ptr);
  } else {
    AppendValueText(col, i, out);
  }
  if (typed_text_safe_) return;
  std::string_view text(out.data() + start, out.size() - start);
  if (NeedsQuotes(text)) {
    scratch_.assign(text);
    out.resize(start);
    AppendField(scratch_, out);
  }
}

void CsvEncoder::Encode(const RecordBatch& batch, int64_t begin, int64_t end, std::string& out,
                        const std::vector<int>* layout) {
  const size_t ncols = layout ? layout->size() : batch.columns().size();
  for (int64_t i = begin; i < end; ++i) {
    for (size_t c = 0; c < ncols; ++c) {
      if (c) out.push_back(delimiter_);
      int src = layout ? (*layout)[c] : static_cast<int>(c);
      if (src >= 0) AppendValue(batch.column(static_cast<size_t>(src)), i, out);
    }
    out.push_back('\n');
  }
}

}  // namespace sluice
