#include "formats/assembler.h"

#include <algorithm>

#include "core/schema_evolution.h"
#include "core/strings.h"
#include "core/values.h"

namespace sluice {

namespace {
bool HasLeadingZero(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  return s.size() > i + 1 && s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9';
}
}  // namespace

BatchAssembler::BatchAssembler(std::string stream, std::string unit, SchemaPtr schema,
                               AssemblerOptions opts)
    : stream_(std::move(stream)),
      unit_(std::move(unit)),
      opts_(std::move(opts)),
      builder_(std::move(schema)) {
  for (size_t i = 0; i < builder_.schema()->size(); ++i) {
    const std::string& n = builder_.schema()->field(i).name;
    slot_by_name_.emplace(n, static_cast<int>(i));
    slot_names_.push_back(n);
    slot_to_col_.push_back(static_cast<int>(i));
  }
  for (const auto& nv : opts_.null_values) has_empty_null_ |= nv.empty();
  only_empty_null_ = opts_.null_values.size() == 1 && has_empty_null_;
}

std::vector<int> BatchAssembler::OnHeader(const std::vector<std::string>& names) {
  std::vector<int> slots;
  slots.reserve(names.size());
  for (const auto& n : names) slots.push_back(Slot(n));
  return slots;
}

int BatchAssembler::Slot(std::string_view name) {
  auto it = slot_by_name_.find(std::string(name));
  if (it != slot_by_name_.end()) return it->second;
  int slot = static_cast<int>(slot_names_.size());
  slot_names_.emplace_back(name);
  slot_to_col_.push_back(-1);
  slot_by_name_.emplace(std::string(name), slot);
  return slot;
}

bool BatchAssembler::IsNullTextSlow(std::string_view s) const {
  if (s.empty()) return has_empty_null_;
  for (const auto& nv : opts_.null_values) {
    if (nv == s) return true;
  }
  return false;
}

void BatchAssembler::AddColumnFor(size_t slot, const FieldRef& f) {
  Field field{slot_names_[slot], SchemaInferrer::TypeOfValue(f), true};
  slot_to_col_[slot] = static_cast<int>(builder_.num_columns());
  builder_.AddField(field);
}

bool BatchAssembler::AppendValue(size_t col, const FieldRef& f, std::string* why) {
  ColumnBuilder& b = builder_.column(col);
  if (f.kind == FieldKind::kMissing || f.kind == FieldKind::kNull ||
      (f.kind == FieldKind::kText && IsNullText(f.text))) {
    b.AppendNull();
    return true;
  }
  const DataType& t = b.type();
  std::string_view s = f.text;
  bool ok = true;
  switch (t.id) {
    case TypeId::kBool: {
      bool v;
      ok = ParseBool(s, &v);
      if (ok) b.AppendBool(v);
      break;
    }
    case TypeId::kInt64: {
      int64_t v;
      ok = ParseInt64(s, &v);
      if (ok) b.AppendInt64(v);
      break;
    }
    case TypeId::kFloat64: {
      double v;
      ok = ParseFloat64(s, &v);
      if (ok) b.AppendFloat64(v);
      break;
    }
    case TypeId::kDecimal: {
      int128_t v;
      ok = ParseDecimal(s, t.precision, t.scale, &v);
      if (ok) b.AppendDecimal(v);
      break;
    }
    case TypeId::kDate: {
      int32_t v;
      ok = ParseDate(s, &v);
      if (ok) b.AppendDate(v);
      break;
    }
    case TypeId::kTime: {
      int64_t v;
      ok = ParseTime(s, &v);
      if (ok) b.AppendInt64(v);
      break;
    }
    case TypeId::kTimestamp: {
      int64_t v;
      bool zone;
      ok = ParseTimestamp(s, &v, &zone);
      if (ok) b.AppendInt64(v);
      break;
    }
    case TypeId::kJson: {
      if (f.kind == FieldKind::kNested || f.kind == FieldKind::kNumber || f.kind == FieldKind::kBool) {
        b.AppendBytes(s);
      } else {
        if (!input_valid_utf8_ && !IsValidUtf8(s)) {
          *why = "invalid UTF-8";
          return false;
        }
        b.AppendBytes(JsonQuote(s));
      }
      return true;
    }
    case TypeId::kString: {
      if (!input_valid_utf8_ && !IsValidUtf8(s)) {
        *why = "invalid UTF-8 in '" + PrintableExcerpt(s, 60) + "'";
        return false;
      }
      b.AppendBytes(s);
      return true;
    }
    case TypeId::kBinary: b.AppendBytes(s); return true;
  }
  if (!ok) *why = "'" + PrintableExcerpt(s, 60) + "' is not a valid " + t.ToString();
  return ok;
}

bool BatchAssembler::OnRow(const FieldRef* fields, const RowOrigin& origin, std::string_view raw) {
  ++rows_seen_;
  const size_t nslots = slot_names_.size();
  // New columns first, so the row's values line up with the grown schema.
  using Evolution = AssemblerOptions::Evolution;
  for (size_t s = 0; s < nslots; ++s) {
    if (slot_to_col_[s] >= 0 || fields[s].kind == FieldKind::kMissing || fields[s].kind == FieldKind::kNull ||
        (fields[s].kind == FieldKind::kText && IsNullText(fields[s].text))) {
      continue;
    }
    switch (opts_.evolution) {
      case Evolution::kEvolve: AddColumnFor(s, fields[s]); break;
      case Evolution::kDiscardColumns:
        if (std::find(discarded_.begin(), discarded_.end(), slot_names_[s]) == discarded_.end()) {
          discarded_.push_back(slot_names_[s]);
        }
        break;
      case Evolution::kDiscardRows:
        Reject(origin, raw, "schema", slot_names_[s],
               "column '" + slot_names_[s] + "' is not in the schema (schema_evolution: discard_rows)");
        return !Full();
      case Evolution::kFreeze:
        fatal_ = Status::Permanent("column '" + slot_names_[s] + "' appeared in " + unit_ + ":" +
                                   std::to_string(origin.line) + " but the schema is frozen (schema_evolution: freeze); "
                                   "add it to the contract or choose evolve, discard_columns or discard_rows");
        return false;
    }
  }
  const size_t ncols = builder_.num_columns();
  // Columns are filled in schema order; slot_to_col_ is usually the identity.
  static thread_local std::vector<int> col_to_slot;
  col_to_slot.assign(ncols, -1);
  for (size_t s = 0; s < nslots; ++s) {
    if (slot_to_col_[s] >= 0) col_to_slot[static_cast<size_t>(slot_to_col_[s])] = static_cast<int>(s);
  }
  static const FieldRef kMissing{};
  std::string why;
  std::string columns, reasons;
  for (size_t c = 0; c < ncols; ++c) {
    int s = col_to_slot[c];
    const FieldRef& f = s >= 0 ? fields[s] : kMissing;
    if (!AppendValue(c, f, &why) && !(WidenFor(c, f, origin) && AppendValue(c, f, &why))) {
      // Keep checking: the record names every column that does not fit, not only the first.
      const std::string& name = builder_.schema()->field(c).name;
      columns += (columns.empty() ? "" : ",") + name;
      reasons += (reasons.empty() ? "" : "; ") + ("column '" + name + "': " + why);
    }
  }
  if (!columns.empty()) {
    builder_.RollbackRow();
    Reject(origin, raw, "type", std::move(columns), std::move(reasons));
    return !Full();
  }
  builder_.CommitRow(origin.line);
  return !Full();
}

bool BatchAssembler::WidenFor(size_t col, const FieldRef& f, const RowOrigin& origin) {
  const std::string name = builder_.schema()->field(col).name;
  if (opts_.evolution != AssemblerOptions::Evolution::kEvolve ||
      std::find(opts_.fixed_columns.begin(), opts_.fixed_columns.end(), name) != opts_.fixed_columns.end()) {
    return false;
  }
  const DataType from = builder_.column(col).type();
  DataType to = WidenType(from, SchemaInferrer::TypeOfValue(f));
  if (to == from) return false;  // e.g. invalid UTF-8 in a string column: the row is bad
  ColumnPtr built = builder_.column(col).Finish();
  if (to.id == TypeId::kFloat64 && !Int64sFitFloat64(*built)) to = DataType::String();
  builder_.ReplaceColumn(col, to, WidenColumn(*built, to));
  widened_.push_back("column '" + name + "' widened from " + from.ToString() + " to " + to.ToString() + " at " +
                     unit_ + ":" + std::to_string(origin.line));
  return true;
}

bool BatchAssembler::OnBadRow(const RowOrigin& origin, std::string_view raw, std::string reason) {
  ++rows_seen_;
  Reject(origin, raw, "parse", "", std::move(reason));
  return !Full();
}

void BatchAssembler::Reject(const RowOrigin& origin, std::string_view raw, std::string rule,
                            std::string column, std::string reason) {
  RejectedRow r;
  r.stream = stream_;
  r.origin = unit_ + ":" + std::to_string(origin.line);
  r.position_key = unit_ + "@" + std::to_string(origin.offset);
  r.raw = std::string(raw);
  r.rule = std::move(rule);
  r.column = std::move(column);
  r.reason = std::move(reason);
  rejects_.push_back(std::move(r));
}

RecordBatchPtr BatchAssembler::TakeBatch() {
  if (builder_.num_rows() == 0) return nullptr;
  return builder_.Finish(stream_, unit_);
}

std::vector<RejectedRow> BatchAssembler::TakeRejects() { return std::move(rejects_); }

// ---------------------------------------------------------------------------------------------

SchemaInferrer::SchemaInferrer(std::vector<std::string> null_values, bool strings_are_typed,
                               int64_t max_rows)
    : null_values_(std::move(null_values)), strings_are_typed_(strings_are_typed), max_rows_(max_rows) {}

std::vector<int> SchemaInferrer::OnHeader(const std::vector<std::string>& names) {
  std::vector<int> slots;
  for (const auto& n : names) slots.push_back(Slot(n));
  return slots;
}

int SchemaInferrer::Slot(std::string_view name) {
  auto it = by_name_.find(std::string(name));
  if (it != by_name_.end()) return it->second;
  int slot = static_cast<int>(cols_.size());
  cols_.push_back(Candidates{std::string(name)});
  by_name_.emplace(std::string(name), slot);
  return slot;
}

DataType SchemaInferrer::TypeOfValue(const FieldRef& f) {
  int64_t i;
  double d;
  int32_t day;
  bool zone;
  switch (f.kind) {
    case FieldKind::kBool: return DataType::Bool();
    case FieldKind::kNested: return DataType::Json();
    case FieldKind::kNumber:
      return ParseInt64(f.text, &i) ? DataType::Int64() : DataType::Float64();
    case FieldKind::kText:
      if (LooksLikeBoolLiteral(f.text)) return DataType::Bool();
      if (!HasLeadingZero(f.text) && ParseInt64(f.text, &i)) return DataType::Int64();
      if (!HasLeadingZero(f.text) && ParseFloat64(f.text, &d)) return DataType::Float64();
      [[fallthrough]];
    default:
      if (ParseDate(f.text, &day)) return DataType::Date();
      if (ParseTimestamp(f.text, &i, &zone)) return DataType::Timestamp(zone);
      return DataType::String();
  }
}

void SchemaInferrer::Observe(Candidates& c, const FieldRef& f) const {
  if (f.kind == FieldKind::kMissing || f.kind == FieldKind::kNull) {
    c.saw_null = true;
    return;
  }
  if (f.kind == FieldKind::kText) {
    for (const auto& nv : null_values_) {
      if (nv == f.text) {
        c.saw_null = true;
        return;
      }
    }
  }
  c.any = true;
  std::string_view s = f.text;
  bool typed_string = strings_are_typed_ && f.kind == FieldKind::kQuotedText;
  if (f.kind != FieldKind::kNested) c.nested = false;
  if (f.kind == FieldKind::kNested) {
    c.can_bool = c.can_int = c.can_float = c.can_date = c.can_ts = false;
    return;
  }
  if (c.can_bool) c.can_bool = !typed_string && LooksLikeBoolLiteral(s);
  if (c.can_int || c.can_float) {
    if (typed_string || f.kind == FieldKind::kBool || HasLeadingZero(s)) {
      c.can_int = c.can_float = false;
    } else {
      int64_t i;
      double d;
      if (c.can_int && !ParseInt64(s, &i)) c.can_int = false;
      // "inf"/"nan" words alone do not make a column numeric.
      if (c.can_float && (!ParseFloat64(s, &d) || (s[0] != '-' && s[0] != '+' && s[0] != '.' &&
                                                   (s[0] < '0' || s[0] > '9')))) {
        c.can_float = false;
      }
    }
  }
  if (c.can_date || c.can_ts) {
    int32_t day;
    int64_t t;
    bool zone;
    bool is_date = f.kind != FieldKind::kBool && f.kind != FieldKind::kNumber && ParseDate(s, &day);
    bool is_ts = f.kind != FieldKind::kBool && f.kind != FieldKind::kNumber && ParseTimestamp(s, &t, &zone);
    if (!is_date) c.can_date = false;
    if (!is_ts) {
      c.can_ts = false;
    } else {
      (zone ? c.ts_zone : c.ts_naive) = true;
    }
  }
}

bool SchemaInferrer::OnRow(const FieldRef* fields, const RowOrigin&, std::string_view) {
  for (size_t i = 0; i < cols_.size(); ++i) Observe(cols_[i], fields[i]);
  ++rows_;
  return rows_ < max_rows_;
}

Schema SchemaInferrer::Finish() const {
  Schema s;
  for (const Candidates& c : cols_) {
    DataType t = DataType::String();
    if (!c.any) t = DataType::String();
    else if (c.can_bool) t = DataType::Bool();
    else if (c.can_int) t = DataType::Int64();
    else if (c.can_float) t = DataType::Float64();
    else if (c.can_date) t = DataType::Date();
    else if (c.can_ts && !(c.ts_zone && c.ts_naive)) t = DataType::Timestamp(c.ts_zone);
    else if (c.nested) t = DataType::Json();
    s.AddField({c.name, t, true});
  }
  return s;
}

}  // namespace sluice
