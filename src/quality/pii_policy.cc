#include "quality/pii_policy.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "config/options.h"
#include "core/strings.h"

namespace sluice {

namespace {

const OptionSchema& MaskOptions() {
  static const OptionSchema s = {
      {"columns", OptionType::kStringList, "", "Columns to mask.", true},
      {"method", OptionType::kEnum, "", "hash (HMAC-SHA256, keyed, stable), redact, partial, tokenize (AES-SIV, reversible with the key) or drop.", true,
       {"hash", "redact", "partial", "tokenize", "drop"}},
      {"key", OptionType::kString, "", "hash and tokenize: the secret, from ${ENV} or ${file:...}; never logged.", false, {}, true},
      {"keep", OptionType::kInt, "4", "partial: characters kept."},
      {"keep_first", OptionType::kBool, "false", "partial: keep the first characters instead of the last."},
      {"replacement", OptionType::kString, "[REDACTED]", "redact: the text that replaces the value."},
      {"to_null", OptionType::kBool, "false", "redact: null instead of the replacement text."},
  };
  return s;
}

// Masks one text value with `spec` (through a one-row column, so the rules are MaskColumn's).
std::optional<std::string> MaskValue(const std::string& value, const MaskSpec& spec) {
  ColumnBuilder b(DataType::String());
  b.AppendBytes(value);
  auto col = b.Finish();
  auto masked = MaskColumn(*col, spec);
  if (!masked.ok() || (*masked)->IsNull(0)) return std::nullopt;
  return std::string((*masked)->BytesAt(0));
}

}  // namespace

Result<std::vector<ColumnMask>> ParseMaskTransforms(const ConfigNode& transforms) {
  std::vector<ColumnMask> out;
  if (!transforms.IsList()) return Status::InvalidArgument(transforms.Where() + ": expected a list of transforms");
  for (const ConfigNode& t : transforms.items()) {
    const ConfigNode* type = t.Find("type");
    if (!type || type->scalar() != "mask") {
      return Status::InvalidArgument((type ? type->Where() : t.Where()) + ": unknown transform type (available: mask)");
    }
    RETURN_IF_ERROR(ValidateOptions(t, MaskOptions()));
    Options o(&t, &MaskOptions());
    MaskSpec spec;
    spec.method = o.GetString("method");
    spec.key = o.GetString("key");
    spec.keep = static_cast<int>(o.GetInt("keep"));
    spec.keep_first = o.GetBool("keep_first");
    spec.replacement = o.GetString("replacement");
    spec.redact_to_null = o.GetBool("to_null");
    Status st = ValidateMaskSpec(spec);
    if (!st.ok()) return Status::InvalidArgument(t.Where() + ": " + st.message());
    for (const auto& c : o.GetList("columns")) out.push_back({c, spec});
  }
  return out;
}

Result<RecordBatchPtr> PiiPolicy::Mask(const RecordBatchPtr& batch) const {
  if (masks_.empty()) return batch;
  std::vector<ColumnMask> present;
  for (const auto& m : masks_) {
    if (batch->schema()->IndexOf(m.column) >= 0) present.push_back(m);
  }
  if (present.empty()) return batch;
  return MaskBatch(*batch, present);
}

void PiiPolicy::Redact(RejectedRow& row, bool masked_already) const {
  if (empty()) return;
  auto doc = nlohmann::json::parse(row.raw, nullptr, false);
  if (!doc.is_object()) {
    // A raw source line: its fields cannot be told apart reliably, so it is not kept.
    std::vector<std::string> cols = pii_columns_;
    for (const auto& m : masks_) {
      if (std::find(cols.begin(), cols.end(), m.column) == cols.end()) cols.push_back(m.column);
    }
    row.raw = "[redacted: the row holds personal data in " + Join(cols, ", ") + "]";
    return;
  }
  // Reasons quote the offending value: take personal values out of them too.
  auto scrub = [&](const std::string& column) {
    auto it = doc.find(column);
    if (it == doc.end() || it->is_null()) return;
    std::string text = it->is_string() ? it->get<std::string>() : it->dump();
    if (text.empty()) return;
    for (size_t at; (at = row.reason.find(text)) != std::string::npos;) row.reason.replace(at, text.size(), "[REDACTED]");
  };
  for (const auto& m : masks_) scrub(m.column);
  for (const auto& c : pii_columns_) scrub(c);
  for (const auto& m : masks_) {
    if (masked_already) break;
    auto it = doc.find(m.column);
    if (it == doc.end() || it->is_null()) continue;
    if (m.spec.method == "drop") {
      doc.erase(it);
      continue;
    }
    std::string text = it->is_string() ? it->get<std::string>() : it->dump();
    auto masked = MaskValue(text, m.spec);
    *it = masked ? nlohmann::json(*masked) : nlohmann::json(nullptr);
  }
  for (const auto& c : pii_columns_) {
    bool masked = std::any_of(masks_.begin(), masks_.end(), [&](const ColumnMask& m) { return m.column == c; });
    auto it = doc.find(c);
    if (!masked && it != doc.end() && !it->is_null()) *it = "[REDACTED]";
  }
  row.raw = doc.dump();
}

}  // namespace sluice
