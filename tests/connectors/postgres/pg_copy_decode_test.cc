#include "connectors/postgres/pg_copy_decode.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "connectors/postgres/pg_conn.h"
#include "core/values.h"

namespace sluice::pg {
namespace {

// Big-endian writers, to build what the server sends.
std::string Be(uint64_t v, int bytes) {
  std::string out(static_cast<size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::string Numeric(std::vector<int> digits, int weight, uint16_t sign, int dscale) {
  std::string out =
      Be(digits.size(), 2) + Be(static_cast<uint16_t>(weight), 2) + Be(sign, 2) + Be(dscale, 2);
  for (int d : digits) out += Be(static_cast<uint64_t>(d), 2);
  return out;
}

std::string Float8(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  return Be(bits, 8);
}
std::string Float4(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return Be(bits, 4);
}

TEST(PgNumeric, TextFormsLikePostgres) {
  EXPECT_EQ(NumericText(Numeric({1234, 5600}, 0, 0, 2)), "1234.56");
  EXPECT_EQ(NumericText(Numeric({100}, -2, 0, 6)), "0.000001");
  EXPECT_EQ(NumericText(Numeric({100}, -1, 0x4000, 2)), "-0.01");
  EXPECT_EQ(NumericText(Numeric({1234, 5678}, 1, 0, 0)), "12345678");
  EXPECT_EQ(NumericText(Numeric({1}, 1, 0, 0)), "10000");
  EXPECT_EQ(NumericText(Numeric({1}, 1, 0, 3)), "10000.000");
  EXPECT_EQ(NumericText(Numeric({}, 0, 0, 2)), "0.00");
  EXPECT_EQ(NumericText(Numeric({3, 1415, 9265, 3589, 7932, 3846}, 0, 0, 20)),
            "3.14159265358979323846");
  EXPECT_EQ(NumericText(Numeric({}, 0, 0xC000, 0)), "NaN");
  EXPECT_EQ(NumericText(Numeric({}, 0, 0xD000, 0)), "Infinity");
  EXPECT_EQ(NumericText(Numeric({}, 0, 0xF000, 0)), "-Infinity");
  EXPECT_EQ(NumericText("\x00\x01"), "");  // malformed: too short
}

TEST(PgNumeric, ToDecimalScalesAndRefusesWhatDoesNotFit) {
  int128_t v = 0;
  std::string why;
  ASSERT_TRUE(NumericToDecimal(Numeric({1234, 5600}, 0, 0, 2), 12, 2, &v, &why));
  EXPECT_EQ(FormatDecimal(v, 2), "1234.56");
  ASSERT_TRUE(NumericToDecimal(Numeric({100}, -1, 0x4000, 2), 12, 2, &v, &why));
  EXPECT_EQ(FormatDecimal(v, 2), "-0.01");
  ASSERT_TRUE(NumericToDecimal(Numeric({1}, 1, 0, 0), 10, 4, &v, &why));  // 10000 at scale 4
  EXPECT_EQ(FormatDecimal(v, 4), "10000.0000");
  // 38 nines: the widest decimal.
  std::vector<int> nines = {99};
  for (int i = 0; i < 9; ++i) nines.push_back(9999);
  ASSERT_TRUE(NumericToDecimal(Numeric(nines, 9, 0, 0), 38, 0, &v, &why)) << why;
  EXPECT_EQ(FormatDecimal(v, 0), std::string(38, '9'));

  EXPECT_FALSE(NumericToDecimal(Numeric({1234, 5670}, 0, 0, 3), 12, 2, &v, &why));  // 1234.567
  EXPECT_NE(why.find("decimal places"), std::string::npos) << why;
  EXPECT_FALSE(
      NumericToDecimal(Numeric({1, 0}, 1, 0, 0), 4, 0, &v, &why));  // 10000 in decimal(4,0)
  EXPECT_NE(why.find("more than 4 digits"), std::string::npos) << why;
  EXPECT_FALSE(NumericToDecimal(Numeric({}, 0, 0xC000, 0), 12, 2, &v, &why));
  EXPECT_NE(why.find("NaN"), std::string::npos) << why;
}

// Decodes one value into a fresh builder of `type`; returns the text form or "REJECT: why".
std::string Decode(Wire w, DataType type, const std::string& bytes) {
  ColumnBuilder b(type);
  std::string why;
  if (!DecodeValue(w, type, bytes, b, &why)) return "REJECT: " + why;
  ColumnPtr c = b.Finish();
  std::string out;
  AppendValueText(*c, 0, out);
  return out;
}

TEST(PgDecodeValue, EveryWireForm) {
  EXPECT_EQ(Decode(Wire::kBool, DataType::Bool(), std::string(1, '\1')), "true");
  EXPECT_EQ(Decode(Wire::kInt2, DataType::Int64(), Be(0xffff, 2)), "-1");
  EXPECT_EQ(Decode(Wire::kInt4, DataType::Int64(), Be(0x80000000u, 4)), "-2147483648");
  EXPECT_EQ(Decode(Wire::kInt8, DataType::Int64(), Be(0x7fffffffffffffffULL, 8)),
            "9223372036854775807");
  EXPECT_EQ(Decode(Wire::kOid, DataType::Int64(), Be(0xffffffffu, 4)), "4294967295");
  EXPECT_EQ(Decode(Wire::kFloat4, DataType::Float64(), Float4(0.1f)),
            "0.1");  // not 0.100000001490116
  EXPECT_EQ(Decode(Wire::kFloat8, DataType::Float64(), Float8(-2.5)), "-2.5");
  EXPECT_EQ(Decode(Wire::kNumeric, DataType::Decimal(12, 2), Numeric({1234, 5600}, 0, 0, 2)),
            "1234.56");
  EXPECT_EQ(Decode(Wire::kNumeric, DataType::String(), Numeric({}, 0, 0xC000, 0)), "NaN");
  EXPECT_EQ(Decode(Wire::kText, DataType::String(), "h\xc3\xa9llo"), "h\xc3\xa9llo");
  EXPECT_EQ(Decode(Wire::kDate, DataType::Date(), Be(0, 4)), "2000-01-01");
  EXPECT_EQ(Decode(Wire::kDate, DataType::Date(), Be(static_cast<uint32_t>(-10957), 4)),
            "1970-01-01");
  EXPECT_EQ(Decode(Wire::kTime, DataType::Time(), Be(13 * 3600000000ULL + 123456, 8)),
            "13:00:00.123456");
  EXPECT_EQ(Decode(Wire::kTimestamp, DataType::Timestamp(false), Be(1500000, 8)),
            "2000-01-01 00:00:01.500000");
  EXPECT_EQ(Decode(Wire::kTimestampTz, DataType::Timestamp(true), Be(0, 8)),
            "2000-01-01 00:00:00Z");
  EXPECT_EQ(Decode(Wire::kJsonb, DataType::Json(), std::string("\x01{\"a\": 1}")), "{\"a\": 1}");
  EXPECT_EQ(Decode(Wire::kUuid, DataType::String(),
                   "\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11"),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
}

TEST(PgDecodeValue, ValuesThatDoNotFitAreRefusedWithAReason) {
  EXPECT_EQ(Decode(Wire::kTimestamp, DataType::Timestamp(false), Be(0x7fffffffffffffffULL, 8)),
            "REJECT: infinity does not fit a timestamp");
  EXPECT_EQ(Decode(Wire::kDate, DataType::Date(), Be(0x80000000u, 4)),
            "REJECT: -infinity does not fit a date");
  EXPECT_EQ(Decode(Wire::kJsonb, DataType::Json(), std::string("\x02{}")),
            "REJECT: jsonb value in an unknown binary version");
  EXPECT_EQ(Decode(Wire::kInt4, DataType::Int64(), Be(1, 2)),
            "REJECT: malformed binary value (2 bytes)");
}

TEST(PgValueText, PostgresSpellings) {
  EXPECT_EQ(ValueText(Wire::kTimestampTz, Be(0, 8)), "2000-01-01 00:00:00+00");
  EXPECT_EQ(ValueText(Wire::kTimestamp, Be(0x7fffffffffffffffULL, 8)), "infinity");
  EXPECT_EQ(ValueText(Wire::kBytea, std::string("\x00\xff", 2)), "\\x00ff");
  EXPECT_EQ(ValueText(Wire::kBool, std::string(1, '\0')), "false");
  EXPECT_EQ(ValueText(Wire::kTid, Be(12, 4) + Be(3, 2)), "(12,3)");
  // Day 1 of year 1 BC (proleptic year 0).
  EXPECT_EQ(ValueText(Wire::kDate, Be(static_cast<uint32_t>(DaysFromCivil(0, 1, 1) - 10957), 4)),
            "0001-01-01 BC");
}

PgTypeInfo Type(unsigned oid, const std::string& name, int typmod = -1, char typtype = 'b',
                char category = 'U', unsigned elem = 0) {
  return PgTypeInfo{oid, typmod, name, typtype, category, elem};
}

TEST(PgPlanColumn, TypesMapAsDocumented) {
  auto c = PlanColumn("n", Type(oid::kNumeric, "numeric", ((12 << 16) | 2) + 4), std::nullopt);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->type, DataType::Decimal(12, 2));
  c = PlanColumn("n", Type(oid::kNumeric, "numeric"), std::nullopt);  // unconstrained: text
  EXPECT_EQ(c->type, DataType::String());
  EXPECT_EQ(c->wire, Wire::kNumeric);
  c = PlanColumn("n", Type(oid::kNumeric, "numeric", ((50 << 16) | 10) + 4),
                 std::nullopt);  // > 38 digits
  EXPECT_EQ(c->type, DataType::String());
  c = PlanColumn("a", Type(1007, "_int4", -1, 'b', 'A', oid::kInt4), std::nullopt);
  EXPECT_EQ(c->type, DataType::Json());
  EXPECT_EQ(c->SelectExpr("t."), "to_json(t.\"a\") AS \"a\"");
  c = PlanColumn("i", Type(oid::kInterval, "interval"), std::nullopt);
  EXPECT_EQ(c->SelectExpr(), "\"i\"::text AS \"i\"");
  c = PlanColumn("ip", Type(oid::kInet, "inet"), std::nullopt);
  EXPECT_EQ(c->SelectExpr(), "abbrev(\"ip\") AS \"ip\"");
  c = PlanColumn("m", Type(90000, "mood", -1, 'e', 'E'), std::nullopt);
  EXPECT_EQ(c->type, DataType::String());
  EXPECT_EQ(c->SelectExpr(), "\"m\"");
  c = PlanColumn("w\"x", Type(oid::kText, "text"), std::nullopt);
  EXPECT_EQ(c->SelectExpr("t."), "t.\"w\"\"x\"");

  auto bad = PlanColumn("p", Type(600, "point", -1, 'b', 'G'), std::nullopt);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'p' has type point"), std::string::npos)
      << bad.status().message();
}

TEST(PgPlanColumn, DeclaredTypesTheSourceCanHonour) {
  // Any type as its text.
  auto c = PlanColumn("i", Type(oid::kInt4, "int4"), DataType::String());
  EXPECT_EQ(c->type, DataType::String());
  EXPECT_EQ(c->SelectExpr(), "\"i\"::text AS \"i\"");
  // An unconstrained numeric into the declared decimal.
  c = PlanColumn("n", Type(oid::kNumeric, "numeric"), DataType::Decimal(18, 4));
  EXPECT_EQ(c->type, DataType::Decimal(18, 4));
  EXPECT_EQ(c->wire, Wire::kNumeric);
  // A type the source cannot convert stays as the catalog says (the contract judges it).
  c = PlanColumn("t", Type(oid::kText, "text"), DataType::Int64());
  EXPECT_EQ(c->type, DataType::String());
}

// A binary COPY stream of `rows`, each a list of fields (nullopt = NULL).
std::string CopyStream(const std::vector<std::vector<std::optional<std::string>>>& rows,
                       bool trailer = true) {
  std::string out("PGCOPY\n\377\r\n\0", 11);
  out += Be(0, 4) + Be(0, 4);
  for (const auto& row : rows) {
    out += Be(row.size(), 2);
    for (const auto& f : row) {
      if (!f) {
        out += Be(0xffffffffu, 4);
      } else {
        out += Be(f->size(), 4) + *f;
      }
    }
  }
  if (trailer) out += Be(0xffff, 2);
  return out;
}

struct CopyFixture {
  std::vector<PgColumn> cols;
  std::shared_ptr<Schema> schema = std::make_shared<Schema>();
  CopyFixture() {
    for (auto [name, t] : std::vector<std::pair<std::string, PgTypeInfo>>{
             {"id", Type(oid::kInt8, "int8")},
             {"amount", Type(oid::kNumeric, "numeric", ((6 << 16) | 2) + 4)},
             {"ts", Type(oid::kTimestamptz, "timestamptz")}}) {
      cols.push_back(*PlanColumn(name, t, std::nullopt));
      schema->AddField({name, cols.back().type, true});
    }
  }
};

TEST(PgCopyDecoder, RowsSplitAnywhereAcrossChunks) {
  CopyFixture f;
  RecordBatchBuilder b(f.schema);
  CopyDecoder dec(&f.cols, &b, RowOriginInfo{"s", "public.t", {0}});
  const std::string data =
      CopyStream({{Be(1, 8), Numeric({12, 3400}, 0, 0, 2), Be(0, 8)},
                  {Be(2, 8), std::nullopt, std::nullopt},
                  {Be(3, 8), Numeric({100}, -1, 0x4000, 2), Be(86400000000ULL, 8)}});
  for (char c : data) ASSERT_TRUE(dec.Feed(std::string_view(&c, 1)).ok());
  ASSERT_TRUE(dec.Finish().ok());
  EXPECT_EQ(dec.rows(), 3);
  EXPECT_EQ(dec.bytes(), data.size());
  auto batch = b.Finish("s", "public.t");
  ASSERT_EQ(batch->num_rows(), 3);
  EXPECT_EQ(RowJson(*batch, 0), R"({"id":1,"amount":"12.34","ts":"2000-01-01 00:00:00Z"})");
  EXPECT_EQ(RowJson(*batch, 1), R"({"id":2,"amount":null,"ts":null})");
  EXPECT_EQ(RowJson(*batch, 2), R"({"id":3,"amount":"-0.01","ts":"2000-01-02 00:00:00Z"})");
  EXPECT_EQ(dec.LastKeyText(), (std::vector<std::optional<std::string>>{"3"}));
}

TEST(PgCopyDecoder, AValueThatDoesNotFitRejectsItsRowOnly) {
  CopyFixture f;
  RecordBatchBuilder b(f.schema);
  CopyDecoder dec(&f.cols, &b, RowOriginInfo{"s", "public.t", {0}});
  const std::string data =
      CopyStream({{Be(1, 8), Numeric({1, 0}, 1, 0, 0), Be(0, 8)},  // 10000 > numeric(6,2)
                  {Be(2, 8), Numeric({5}, 0, 0, 0), Be(0x7fffffffffffffffULL, 8)},  // infinity
                  {Be(3, 8), Numeric({5}, 0, 0, 0), Be(0, 8)}});
  ASSERT_TRUE(dec.Feed(data).ok());
  ASSERT_TRUE(dec.Finish().ok());
  auto batch = b.Finish("s", "public.t");
  ASSERT_EQ(batch->num_rows(), 1);
  EXPECT_EQ(batch->column(0).Int64At(0), 3);
  auto rejects = dec.TakeRejects();
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0].column, "amount");
  EXPECT_EQ(rejects[0].origin, "public.t key [\"1\"]");
  EXPECT_EQ(rejects[0].raw, R"({"id":"1","amount":"10000","ts":"2000-01-01 00:00:00+00"})");
  EXPECT_NE(rejects[0].reason.find("more than 6 digits"), std::string::npos) << rejects[0].reason;
  EXPECT_EQ(rejects[1].column, "ts");
  EXPECT_NE(rejects[1].reason.find("infinity"), std::string::npos);
  EXPECT_EQ(rejects[1].position_key, "public.t#[\"2\"]");
  EXPECT_EQ(dec.LastKeyText(), (std::vector<std::optional<std::string>>{"3"}));
}

TEST(PgCopyDecoder, DamagedStreamsAreCorruption) {
  CopyFixture f;
  {
    RecordBatchBuilder b(f.schema);
    CopyDecoder dec(&f.cols, &b, RowOriginInfo{"s", "t", {}});
    ASSERT_TRUE(
        dec.Feed(CopyStream({{Be(1, 8), std::nullopt, std::nullopt}}, /*trailer=*/false)).ok());
    EXPECT_EQ(dec.Finish().code(), StatusCode::kCorruption);  // cut before the trailer
  }
  {
    RecordBatchBuilder b(f.schema);
    CopyDecoder dec(&f.cols, &b, RowOriginInfo{"s", "t", {}});
    Status st = dec.Feed(CopyStream({{Be(1, 8), std::nullopt}}));  // 2 fields, 3 expected
    EXPECT_EQ(st.code(), StatusCode::kCorruption);
  }
  {
    RecordBatchBuilder b(f.schema);
    CopyDecoder dec(&f.cols, &b, RowOriginInfo{"s", "t", {}});
    EXPECT_EQ(dec.Feed(std::string(40, 'x')).code(), StatusCode::kCorruption);  // no signature
  }
}

}  // namespace
}  // namespace sluice::pg
