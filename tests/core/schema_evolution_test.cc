#include "core/schema_evolution.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(WidenType, NumbersWidenAlongTheChain) {
  EXPECT_EQ(WidenType(DataType::Int64(), DataType::Float64()), DataType::Float64());
  EXPECT_EQ(WidenType(DataType::Float64(), DataType::Int64()), DataType::Float64());
  EXPECT_EQ(WidenType(DataType::Float64(), DataType::String()), DataType::String());
  EXPECT_EQ(WidenType(DataType::Bool(), DataType::Int64()), DataType::String());
  EXPECT_EQ(WidenType(DataType::Int64(), DataType::Int64()), DataType::Int64());
}

TEST(WidenType, DecimalsGrowToHoldBoth) {
  EXPECT_EQ(WidenType(DataType::Decimal(5, 2), DataType::Decimal(10, 0)), DataType::Decimal(12, 2));
  EXPECT_EQ(WidenType(DataType::Int64(), DataType::Decimal(4, 2)), DataType::Decimal(21, 2));
  // Beyond 38 digits, or a decimal meeting a float, only text keeps every value.
  EXPECT_EQ(WidenType(DataType::Decimal(38, 30), DataType::Decimal(38, 0)), DataType::String());
  EXPECT_EQ(WidenType(DataType::Decimal(10, 2), DataType::Float64()), DataType::String());
}

TEST(WidenType, TimesAndOthers) {
  EXPECT_EQ(WidenType(DataType::Date(), DataType::Timestamp()), DataType::Timestamp());
  EXPECT_EQ(WidenType(DataType::Timestamp(true), DataType::Date()), DataType::Timestamp(true));
  EXPECT_EQ(WidenType(DataType::Timestamp(false), DataType::Timestamp(true)), DataType::String());
  EXPECT_EQ(WidenType(DataType::Json(), DataType::Int64()), DataType::String());
}

TEST(WidenColumn, KeepsEveryValue) {
  ColumnBuilder b(DataType::Int64());
  b.AppendInt64(3);
  b.AppendNull();
  b.AppendInt64(-7);
  ColumnPtr ints = b.Finish();
  ColumnPtr f = WidenColumn(*ints, DataType::Float64()).Finish();
  EXPECT_EQ(f->Float64At(0), 3.0);
  EXPECT_TRUE(f->IsNull(1));
  EXPECT_EQ(f->Float64At(2), -7.0);
  ColumnPtr s = WidenColumn(*ints, DataType::String()).Finish();
  EXPECT_EQ(s->BytesAt(2), "-7");
  ColumnPtr d = WidenColumn(*ints, DataType::Decimal(21, 2)).Finish();
  EXPECT_EQ(static_cast<int64_t>(d->DecimalAt(0)), 300);

  ColumnBuilder days(DataType::Date());
  days.AppendDate(1);
  ColumnPtr ts = WidenColumn(*days.Finish(), DataType::Timestamp()).Finish();
  EXPECT_EQ(ts->Int64At(0), 86400000000LL);
}

TEST(WidenColumn, Int64BeyondTwoTo53DoesNotFitFloat) {
  ColumnBuilder b(DataType::Int64());
  b.AppendInt64(int64_t{1} << 53);
  EXPECT_TRUE(Int64sFitFloat64(*b.Finish()));
  b.AppendInt64((int64_t{1} << 53) + 1);
  EXPECT_FALSE(Int64sFitFloat64(*b.Finish()));
}

Schema S(std::vector<Field> f) { return Schema(std::move(f)); }

TEST(EvolveSchema, EvolveAddsWidensAndKeepsDroppedColumns) {
  Schema stored = S({{"id", DataType::Int64(), false}, {"n", DataType::Int64(), true}, {"old", DataType::String(), false}});
  Schema incoming = S({{"id", DataType::Int64(), false}, {"n", DataType::Float64(), true}, {"extra", DataType::Bool(), true}});
  std::vector<SchemaChange> changes;
  auto out = EvolveSchema(stored, incoming, "evolve", {}, &changes);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->ToString(), "id int64, n float64?, old string?, extra bool?");
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].ToString(), "column 'n' widened from int64 to float64");
  EXPECT_EQ(changes[1].ToString(), "column 'extra' added");
  EXPECT_EQ(changes[2].ToString(), "column 'old' dropped");
}

TEST(EvolveSchema, ANarrowerIncomingTypeKeepsTheStoredOne) {
  std::vector<SchemaChange> changes;
  auto out = EvolveSchema(S({{"n", DataType::String(), true}}), S({{"n", DataType::Int64(), true}}), "freeze", {}, &changes);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->field(0).type, DataType::String());
  EXPECT_TRUE(changes.empty());
}

TEST(EvolveSchema, OtherPoliciesRefuseWhatWouldChangeTheData) {
  std::vector<SchemaChange> changes;
  Schema stored = S({{"n", DataType::Int64(), true}});
  auto widened = EvolveSchema(stored, S({{"n", DataType::String(), true}}), "freeze", {}, &changes);
  ASSERT_FALSE(widened.ok());
  EXPECT_EQ(widened.status().message(),
            "column 'n' changed from int64 to string, and schema_evolution is freeze; choose evolve to accept it, or "
            "change the contract");
  auto added = EvolveSchema(stored, S({{"n", DataType::Int64(), true}, {"x", DataType::Int64(), true}}), "freeze", {}, &changes);
  EXPECT_FALSE(added.ok());
  auto discarded =
      EvolveSchema(stored, S({{"n", DataType::Int64(), true}, {"x", DataType::Int64(), true}}), "discard_columns", {}, &changes);
  ASSERT_TRUE(discarded.ok());
  EXPECT_EQ(discarded->size(), 1u);
  auto dropped = EvolveSchema(stored, S({}), "discard_rows", {}, &changes);
  ASSERT_FALSE(dropped.ok());
  EXPECT_NE(dropped.status().message().find("column 'n' was dropped"), std::string::npos);
}

TEST(EvolveSchema, DeclaredColumnsNeverWiden) {
  std::vector<SchemaChange> changes;
  auto out = EvolveSchema(S({{"n", DataType::Int64(), true}}), S({{"n", DataType::Float64(), true}}), "evolve", {"n"}, &changes);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("the contract declares it int64"), std::string::npos);
}

}  // namespace
}  // namespace sluice
