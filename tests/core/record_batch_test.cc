#include "core/record_batch.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/values.h"

namespace sluice {
namespace {

// Every value of a column as text ("NULL" for null), to compare columns built different ways.
std::vector<std::string> Texts(const Column& c) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < c.length(); ++i) {
    std::string s;
    if (c.IsNull(i)) s = "NULL";
    else AppendValueText(c, i, s);
    out.push_back(s);
  }
  return out;
}

// A batch of `n` rows of every physical kind, with nulls where `null_every` says (0: none).
RecordBatchPtr Mixed(int64_t n, int null_every) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{{"i", DataType::Int64()},
                                                            {"b", DataType::Bool()},
                                                            {"s", DataType::String()},
                                                            {"d", DataType::Decimal(12, 2)},
                                                            {"day", DataType::Date()}});
  RecordBatchBuilder b(schema);
  for (int64_t r = 0; r < n; ++r) {
    const bool null = null_every > 0 && r % null_every == 1;
    if (null) b.column(0).AppendNull(); else b.column(0).AppendInt64(r * 3);
    if (null && r % 2) b.column(1).AppendNull(); else b.column(1).AppendBool(r % 3 == 0);
    if (null) b.column(2).AppendNull(); else b.column(2).AppendBytes(std::string(static_cast<size_t>(r % 7), 'a' + r % 26));
    b.column(3).AppendDecimal(static_cast<int128_t>(r) * 100 + 1);
    if (r % 5 == 4) b.column(4).AppendNull(); else b.column(4).AppendDate(static_cast<int32_t>(r));
    b.CommitRow(r + 10);
  }
  return b.Finish("s", "f.csv");
}

TEST(ColumnBuilder, AppendRangeKeepsNullsAndValues) {
  auto batch = Mixed(300, 7);
  for (size_t c = 0; c < batch->columns().size(); ++c) {
    const Column& src = batch->column(c);
    // Ranges at every bit offset, into a builder at every bit offset.
    for (int64_t from : {0, 1, 5, 8, 13, 64, 250}) {
      for (int64_t lead : {0, 3, 9}) {
        ColumnBuilder bulk(src.type()), one(src.type());
        for (int64_t i = 0; i < lead; ++i) {
          bulk.AppendFrom(src, i);
          one.AppendFrom(src, i);
        }
        const int64_t n = std::min<int64_t>(41, src.length() - from);
        bulk.AppendRange(src, from, n);
        for (int64_t i = from; i < from + n; ++i) one.AppendFrom(src, i);
        ColumnPtr a = bulk.Finish(), b = one.Finish();
        EXPECT_EQ(Texts(*a), Texts(*b)) << "column " << c << " from " << from << " lead " << lead;
        EXPECT_EQ(a->null_count(), b->null_count());
        EXPECT_EQ(a->validity().empty(), b->validity().empty());
      }
    }
  }
}

TEST(ColumnBuilder, AppendRangeWithoutNullsLeavesNoValidity) {
  auto batch = Mixed(100, 7);
  ColumnBuilder b(DataType::Int64());
  b.AppendRange(batch->column(0), 2, 5);  // rows 2..6: no null (nulls at 1, 8, 15 ...)
  ColumnPtr c = b.Finish();
  EXPECT_EQ(c->null_count(), 0);
  EXPECT_TRUE(c->validity().empty());
  EXPECT_EQ(Texts(*c), (std::vector<std::string>{"6", "9", "12", "15", "18"}));
}

TEST(SelectRows, KeepsTheChosenRowsWithTheirNullsAndOrigins) {
  std::mt19937 rng(3);
  for (int null_every : {0, 7}) {
    auto batch = Mixed(1000, null_every);
    std::vector<int64_t> rows;
    for (int64_t r = 0; r < 1000; ++r) {
      if (rng() % 50 != 0) rows.push_back(r);  // runs of passing rows with a few gaps
    }
    auto out = SelectRows(batch, rows);
    ASSERT_EQ(out->num_rows(), static_cast<int64_t>(rows.size()));
    EXPECT_EQ(out->stream, "s");
    for (size_t c = 0; c < batch->columns().size(); ++c) {
      std::vector<std::string> all = Texts(batch->column(c)), want;
      for (int64_t r : rows) want.push_back(all[static_cast<size_t>(r)]);
      EXPECT_EQ(Texts(out->column(c)), want) << "column " << c;
    }
    ASSERT_EQ(out->origin_lines.size(), rows.size());
    for (size_t k = 0; k < rows.size(); ++k) EXPECT_EQ(out->origin_lines[k], rows[k] + 10);
    EXPECT_EQ(RowOriginText(*out, 0), "f.csv:" + std::to_string(rows[0] + 10));
  }
}

TEST(SelectRows, AllRowsIsTheBatchItselfAndNoRowsIsEmpty) {
  auto batch = Mixed(10, 3);
  std::vector<int64_t> all = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(SelectRows(batch, all), batch);
  auto none = SelectRows(batch, {});
  EXPECT_EQ(none->num_rows(), 0);
  EXPECT_EQ(none->column(2).length(), 0);
}

}  // namespace
}  // namespace sluice
