#include "core/schema_evolution.h"

#include <algorithm>

#include "core/values.h"

namespace sluice {
namespace {

constexpr int64_t kFloatExact = int64_t{1} << 53;
constexpr int kMaxDecimalPrecision = 38;

bool IsNumber(TypeId t) { return t == TypeId::kInt64 || t == TypeId::kFloat64 || t == TypeId::kDecimal; }

// int64 as a decimal: 19 integer digits.
DataType AsDecimal(const DataType& t) { return t.id == TypeId::kInt64 ? DataType::Decimal(19, 0) : t; }

}  // namespace

DataType WidenType(const DataType& a, const DataType& b) {
  if (a == b) return a;
  if (a.id == TypeId::kString || b.id == TypeId::kString) return DataType::String();
  if (IsNumber(a.id) && IsNumber(b.id)) {
    if (a.id == TypeId::kFloat64 || b.id == TypeId::kFloat64) {
      // A decimal in a float rounds; a float in a decimal may not fit. Text keeps both.
      if (a.id == TypeId::kDecimal || b.id == TypeId::kDecimal) return DataType::String();
      return DataType::Float64();
    }
    const DataType da = AsDecimal(a), db = AsDecimal(b);
    const int scale = std::max(da.scale, db.scale);
    const int whole = std::max(da.precision - da.scale, db.precision - db.scale);
    if (whole + scale > kMaxDecimalPrecision) return DataType::String();
    return DataType::Decimal(whole + scale, scale);
  }
  if (a.id == TypeId::kTimestamp && b.id == TypeId::kTimestamp) return DataType::String();  // naive vs tz
  if ((a.id == TypeId::kDate && b.id == TypeId::kTimestamp) || (b.id == TypeId::kDate && a.id == TypeId::kTimestamp)) {
    return a.id == TypeId::kTimestamp ? a : b;
  }
  return DataType::String();
}

bool Int64sFitFloat64(const Column& col) {
  if (col.type().id != TypeId::kInt64) return true;
  for (int64_t i = 0; i < col.length(); ++i) {
    if (col.IsNull(i)) continue;
    const int64_t v = col.Int64At(i);
    if (v > kFloatExact || v < -kFloatExact) return false;
  }
  return true;
}

ColumnBuilder WidenColumn(const Column& col, const DataType& to) {
  ColumnBuilder out(to);
  const TypeId from = col.type().id;
  std::string text;
  for (int64_t i = 0; i < col.length(); ++i) {
    if (col.IsNull(i)) {
      out.AppendNull();
      continue;
    }
    switch (to.id) {
      case TypeId::kFloat64:
        out.AppendFloat64(static_cast<double>(col.Int64At(i)));
        break;
      case TypeId::kDecimal: {
        int128_t v = from == TypeId::kInt64 ? static_cast<int128_t>(col.Int64At(i)) : col.DecimalAt(i);
        for (int s = from == TypeId::kInt64 ? 0 : col.type().scale; s < to.scale; ++s) v *= 10;
        out.AppendDecimal(v);
        break;
      }
      case TypeId::kTimestamp:
        out.AppendInt64(static_cast<int64_t>(col.DateAt(i)) * 86400000000LL);
        break;
      default:  // string: the value's text form
        text.clear();
        AppendValueText(col, i, text);
        out.AppendBytes(text);
        break;
    }
  }
  return out;
}

std::string SchemaChange::ToString() const {
  switch (kind) {
    case Kind::kAdded: return "column '" + column + "' added";
    case Kind::kDropped: return "column '" + column + "' dropped";
    case Kind::kWidened: return "column '" + column + "' widened from " + from.ToString() + " to " + to.ToString();
  }
  return {};
}

Result<Schema> EvolveSchema(const Schema& stored, const Schema& incoming, const std::string& policy,
                            const std::vector<std::string>& fixed, std::vector<SchemaChange>* changes) {
  const bool evolve = policy == "evolve";
  auto refuse = [&](const std::string& what) {
    return Status::Permanent(what + ", and schema_evolution is " + policy +
                             (evolve ? "" : "; choose evolve to accept it, or change the contract"));
  };
  std::vector<Field> fields = stored.fields();
  for (const Field& in : incoming.fields()) {
    const int i = stored.IndexOf(in.name);
    if (i < 0) {
      if (policy == "freeze") return refuse("column '" + in.name + "' (" + in.type.ToString() + ") appeared");
      if (!evolve) continue;  // discard_columns / discard_rows: left out
      fields.push_back({in.name, in.type, true});
      changes->push_back({SchemaChange::Kind::kAdded, in.name, {}, in.type});
      continue;
    }
    Field& f = fields[static_cast<size_t>(i)];
    if (f.type == in.type || WidenType(in.type, f.type) == f.type) continue;  // same, or narrower: values fit
    const DataType wide = WidenType(f.type, in.type);
    const std::string what = "column '" + in.name + "' changed from " + f.type.ToString() + " to " + in.type.ToString();
    if (std::find(fixed.begin(), fixed.end(), in.name) != fixed.end()) {
      return Status::Permanent(what + ", but the contract declares it " + f.type.ToString() +
                               "; update the contract's type to accept the change");
    }
    if (!evolve) return refuse(what);
    changes->push_back({SchemaChange::Kind::kWidened, in.name, f.type, wide});
    f.type = wide;
  }
  for (const Field& f : stored.fields()) {
    if (incoming.IndexOf(f.name) >= 0) continue;
    if (!evolve) return refuse("column '" + f.name + "' was dropped");
    fields[static_cast<size_t>(stored.IndexOf(f.name))].nullable = true;
    changes->push_back({SchemaChange::Kind::kDropped, f.name, f.type, f.type});
  }
  return Schema(std::move(fields));
}

}  // namespace sluice
