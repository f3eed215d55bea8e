#include "formats/json/jsonl_encoder.h"

#include <charconv>

#include "core/strings.h"
#include "core/values.h"

namespace sluice {

namespace {
// Appends `s` as a JSON string. Most values are printable ASCII with nothing to escape; they are
// copied in one piece. Anything else goes through AppendJsonString (escapes, UTF-8 checks).
inline void AppendString(std::string& out, std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
      AppendJsonString(out, s);
      return;
    }
  }
  out.push_back('"');
  out += s;
  out.push_back('"');
}
}  // namespace

void JsonlEncoder::Prepare(const SchemaPtr& schema) {
  if (schema_ == schema) return;
  schema_ = schema;
  keys_.clear();
  keys_.reserve(schema->size());
  for (size_t c = 0; c < schema->size(); ++c) {
    std::string key(c == 0 ? "{" : ",");
    AppendJsonString(key, schema->field(c).name);
    key.push_back(':');
    keys_.push_back(std::move(key));
  }
}

void JsonlEncoder::Encode(const RecordBatch& batch, int64_t begin, int64_t end, std::string& out) {
  Prepare(batch.schema());
  const size_t ncols = keys_.size();
  for (int64_t i = begin; i < end; ++i) {
    if (ncols == 0) out.push_back('{');
    for (size_t c = 0; c < ncols; ++c) {
      out += keys_[c];
      const Column& col = batch.column(c);
      if (col.IsNull(i)) {
        out += "null";
        continue;
      }
      // Fast paths produce exactly what AppendValueJson would, without its temporary string.
      switch (col.type().id) {
        case TypeId::kBool:
          out += col.BoolAt(i) ? "true" : "false";
          break;
        case TypeId::kInt64: {
          char buf[24];
          auto r = std::to_chars(buf, buf + sizeof buf, col.Int64At(i));
          out.append(buf, r.ptr);
          break;
        }
        case TypeId::kString:
        case TypeId::kBinary:
          AppendString(out, col.BytesAt(i));
          break;
        case TypeId::kJson: {
          std::string_view raw = col.BytesAt(i);
          // An empty json value would make the whole line invalid; it can only mean "nothing".
          if (raw.empty()) out += "null";
          else out += raw;
          break;
        }
        case TypeId::kDecimal:
        case TypeId::kDate:
        case TypeId::kTime:
        case TypeId::kTimestamp:
          // Their text is plain ASCII digits and punctuation: nothing to escape.
          out.push_back('"');
          AppendValueText(col, i, out);
          out.push_back('"');
          break;
        case TypeId::kFloat64:
          AppendValueJson(col, i, out);
          break;
      }
    }
    out += "}\n";
  }
}

}  // namespace sluice
