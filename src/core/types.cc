#include "core/types.h"

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace sluice {

int DataType::FixedWidth() const {
  switch (id) {
    case TypeId::kInt64:
    case TypeId::kFloat64:
    case TypeId::kTime:
    case TypeId::kTimestamp: return 8;
    case TypeId::kDate: return 4;
    case TypeId::kDecimal: return 16;
    default: return 0;
  }
}

std::string DataType::ToString() const {
  switch (id) {
    case TypeId::kBool: return "bool";
    case TypeId::kInt64: return "int64";
    case TypeId::kFloat64: return "float64";
    case TypeId::kDecimal:
      return "decimal(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
    case TypeId::kString: return "string";
    case TypeId::kBinary: return "binary";
    case TypeId::kDate: return "date";
    case TypeId::kTime: return "time";
    case TypeId::kTimestamp: return tz ? "timestamp_tz" : "timestamp";
    case TypeId::kJson: return "json";
  }
  return "string";
}

Result<DataType> DataType::Parse(std::string_view text) {
  std::string t = ToLower(Trim(text));
  if (t == "bool" || t == "boolean") return Bool();
  if (t == "int64" || t == "int" || t == "integer" || t == "bigint" || t == "long") return Int64();
  if (t == "float64" || t == "float" || t == "double" || t == "real") return Float64();
  if (t == "string" || t == "text" || t == "varchar" || t == "utf8") return String();
  if (t == "binary" || t == "bytes" || t == "blob") return Binary();
  if (t == "date") return Date();
  if (t == "time") return Time();
  if (t == "timestamp") return Timestamp(false);
  if (t == "timestamp_tz" || t == "timestamptz") return Timestamp(true);
  if (t == "json") return Json();
  if (t.rfind("decimal", 0) == 0 || t.rfind("numeric", 0) == 0) {
    auto open = t.find('(');
    if (open == std::string::npos) return Decimal(38, 9);
    int p = 0, s = 0;
    if (std::sscanf(t.c_str() + open, "(%d,%d)", &p, &s) == 2 ||
        std::sscanf(t.c_str() + open, "(%d , %d)", &p, &s) == 2) {
      if (p < 1 || p > 38 || s < 0 || s > p) {
        return Status::InvalidArgument("decimal precision must be 1..38 and scale 0..precision, got '" +
                                       std::string(text) + "'");
      }
      return Decimal(p, s);
    }
    if (std::sscanf(t.c_str() + open, "(%d)", &p) == 1 && p >= 1 && p <= 38) return Decimal(p, 0);
  }
  return Status::InvalidArgument(
      "unknown type '" + std::string(text) +
      "' (expected bool, int64, float64, decimal(p,s), string, binary, date, time, timestamp, "
      "timestamp_tz or json)");
}

int Schema::IndexOf(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

bool Schema::operator==(const Schema& o) const {
  if (fields_.size() != o.fields_.size()) return false;
  for (size_t i = 0; i < fields_.size(); ++i) {
    const Field &a = fields_[i], &b = o.fields_[i];
    if (a.name != b.name || a.type != b.type || a.nullable != b.nullable) return false;
  }
  return true;
}

std::string Schema::ToString() const {
  std::string out;
  for (const Field& f : fields_) {
    if (!out.empty()) out += ", ";
    out += f.name + " " + f.type.ToString() + (f.nullable ? "?" : "");
  }
  return out;
}

std::string Schema::ToJson() const {
  nlohmann::json arr = nlohmann::json::array();
  for (const Field& f : fields_) {
    arr.push_back({{"name", f.name}, {"type", f.type.ToString()}, {"nullable", f.nullable}});
  }
  return arr.dump();
}

Result<Schema> Schema::FromJson(std::string_view json) {
  auto doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) return Status::Corruption("stored schema is not a JSON array");
  Schema s;
  for (const auto& f : doc) {
    if (!f.is_object() || !f.contains("name") || !f.contains("type")) {
      return Status::Corruption("stored schema field lacks name or type");
    }
    ASSIGN_OR_RETURN(DataType t, DataType::Parse(f["type"].get<std::string>()));
    s.AddField({f["name"].get<std::string>(), t, f.value("nullable", true)});
  }
  return s;
}

}  // namespace sluice
