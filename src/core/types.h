#pragma once
// Logical types, fields and schemas of the sluice data model (DESIGN.md, "Data model").

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

enum class TypeId : uint8_t {
  kBool,
  kInt64,
  kFloat64,
  kDecimal,    // 128-bit integer scaled by 10^scale; precision <= 38
  kString,     // UTF-8
  kBinary,
  kDate,       // int32 days since 1970-01-01
  kTime,       // int64 microseconds since midnight
  kTimestamp,  // int64 microseconds since 1970-01-01 (UTC when tz, wall clock when naive)
  kJson,       // nested value kept as JSON text
};

struct DataType {
  TypeId id = TypeId::kString;
  uint8_t precision = 0;  // decimal only
  uint8_t scale = 0;      // decimal only
  bool tz = false;        // timestamp only: true when values are UTC instants

  static DataType Bool() { return {TypeId::kBool}; }
  static DataType Int64() { return {TypeId::kInt64}; }
  static DataType Float64() { return {TypeId::kFloat64}; }
  static DataType Decimal(int p, int s) {
    return {TypeId::kDecimal, static_cast<uint8_t>(p), static_cast<uint8_t>(s)};
  }
  static DataType String() { return {TypeId::kString}; }
  static DataType Binary() { return {TypeId::kBinary}; }
  static DataType Date() { return {TypeId::kDate}; }
  static DataType Time() { return {TypeId::kTime}; }
  static DataType Timestamp(bool tz = false) { return {TypeId::kTimestamp, 0, 0, tz}; }
  static DataType Json() { return {TypeId::kJson}; }

  // Spelling used in configs, contracts and `infer`: int64, decimal(12,2), timestamp_tz ...
  std::string ToString() const;
  static Result<DataType> Parse(std::string_view text);

  bool IsVarWidth() const {
    return id == TypeId::kString || id == TypeId::kBinary || id == TypeId::kJson;
  }
  // Bytes per value for fixed-width types (bool is bit-packed and reports 0).
  int FixedWidth() const;
  bool operator==(const DataType& o) const {
    return id == o.id && precision == o.precision && scale == o.scale && tz == o.tz;
  }
  bool operator!=(const DataType& o) const { return !(*this == o); }
};

struct Field {
  std::string name;
  DataType type;
  bool nullable = true;
};

class Schema {
 public:
  Schema() = default;
  explicit Schema(std::vector<Field> fields) : fields_(std::move(fields)) {}
  const std::vector<Field>& fields() const { return fields_; }
  const Field& field(size_t i) const { return fields_[i]; }
  size_t size() const { return fields_.size(); }
  // Index of the field called `name`, or -1.
  int IndexOf(std::string_view name) const;
  void AddField(Field f) { fields_.push_back(std::move(f)); }
  bool operator==(const Schema& o) const;
  std::string ToString() const;  // "id int64, name string?" (? marks nullable)
  // JSON form stored in the state store: [{"name":..,"type":..,"nullable":..}]
  std::string ToJson() const;
  static Result<Schema> FromJson(std::string_view json);

 private:
  std::vector<Field> fields_;
};

using SchemaPtr = std::shared_ptr<const Schema>;

}  // namespace sluice
