#include "connectors/postgres/pg_copy_binary.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/values.h"

namespace sluice::pg {
namespace {

// A reader of what the encoder wrote: big-endian integers, in order.
struct Reader {
  std::string_view s;
  size_t at = 0;
  uint64_t Get(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(s[at++]);
    return v;
  }
  int16_t I16() { return static_cast<int16_t>(Get(2)); }
  int32_t I32() { return static_cast<int32_t>(Get(4)); }
  int64_t I64() { return static_cast<int64_t>(Get(8)); }
  std::string Bytes(size_t n) {
    std::string out(s.substr(at, n));
    at += n;
    return out;
  }
};

// The numeric form as {ndigits, weight, sign, dscale, digits...}.
std::vector<int> Numeric(int128_t v, int scale) {
  char buf[kMaxNumericBytes];
  char* end = PutNumeric(buf, v, scale);
  Reader r{std::string_view(buf, static_cast<size_t>(end - buf))};
  std::vector<int> out;
  while (r.at < r.s.size()) out.push_back(static_cast<uint16_t>(r.I16()));
  return out;
}

int128_t Parse(const char* text, int precision, int scale) {
  int128_t v = 0;
  EXPECT_TRUE(ParseDecimal(text, precision, scale, &v)) << text;
  return v;
}

TEST(PgNumeric, ZeroHasNoDigitsAndKeepsItsScale) {
  EXPECT_EQ(Numeric(0, 2), (std::vector<int>{0, 0, 0, 2}));
}

TEST(PgNumeric, FractionIsAlignedOnTheDecimalPoint) {
  // 123.45 = 123 * 10000^0 + 4500 * 10000^-1
  EXPECT_EQ(Numeric(Parse("123.45", 10, 2), 2), (std::vector<int>{2, 0, 0, 2, 123, 4500}));
  // 12345678.9 = 1234 * 10000 + 5678 + 9000 / 10000
  EXPECT_EQ(Numeric(Parse("12345678.9", 10, 1), 1),
            (std::vector<int>{3, 1, 0, 1, 1234, 5678, 9000}));
}

TEST(PgNumeric, NegativeSmallFraction) {
  // -0.0005: one digit 5 of weight -1, sign 0x4000.
  EXPECT_EQ(Numeric(Parse("-0.0005", 10, 4), 4), (std::vector<int>{1, 0xffff, 0x4000, 4, 5}));
  // -0.00001 at scale 5: the first fraction group is zero, so the weight is -2.
  EXPECT_EQ(Numeric(Parse("-0.00001", 10, 5), 5), (std::vector<int>{1, 0xfffe, 0x4000, 5, 1000}));
}

TEST(PgNumeric, TrailingZeroGroupsAreDropped) {
  EXPECT_EQ(Numeric(Parse("1000000", 18, 0), 0), (std::vector<int>{1, 1, 0, 0, 100}));
  EXPECT_EQ(Numeric(Parse("10000.00", 18, 2), 2), (std::vector<int>{1, 1, 0, 2, 1}));
}

TEST(PgNumeric, ThirtyEightDigitsDoNotOverflow) {
  const char* max = "99999999999999999999999999999999999999";
  std::vector<int> want = {10, 9, 0, 0, 99};
  for (int i = 0; i < 9; ++i) want.push_back(9999);
  EXPECT_EQ(Numeric(Parse(max, 38, 0), 0), want);
  // The same digits at scale 37: 9.999...; the fraction pads to 40 digits (10 groups).
  std::vector<int> got = Numeric(-Parse("9.9999999999999999999999999999999999999", 38, 37), 37);
  ASSERT_GE(got.size(), 5u);
  EXPECT_EQ(got[0], 11);
  EXPECT_EQ(got[1], 0);
  EXPECT_EQ(got[2], 0x4000);
  EXPECT_EQ(got[3], 37);
  EXPECT_EQ(got[4], 9);
  EXPECT_EQ(got.back(), 9000);  // 37 fraction digits pad to 40
}

TEST(PgCopyBinary, HeaderRowsAndTrailer) {
  ColumnBuilder id(DataType::Int64()), name(DataType::String()), flag(DataType::Bool());
  ColumnBuilder day(DataType::Date()), ts(DataType::Timestamp(true)), doc(DataType::Json());
  ColumnBuilder amount(DataType::Decimal(10, 2)), ratio(DataType::Float64()), at(DataType::Time());
  id.AppendInt64(-7);
  name.AppendBytes("héllo");
  flag.AppendBool(true);
  day.AppendDate(DaysFromCivil(2000, 1, 2));
  ts.AppendInt64(kPgEpochMicros + 1500000);
  doc.AppendBytes("{\"a\":1}");
  amount.AppendDecimal(-5);
  ratio.AppendFloat64(0.5);
  at.AppendInt64(3600000000LL);
  id.AppendNull();
  name.AppendNull();
  flag.AppendNull();
  day.AppendNull();
  ts.AppendNull();
  doc.AppendNull();
  amount.AppendNull();
  ratio.AppendNull();
  at.AppendNull();
  std::vector<ColumnPtr> cols = {id.Finish(),     name.Finish(),  flag.Finish(),
                                 day.Finish(),    ts.Finish(),    doc.Finish(),
                                 amount.Finish(), ratio.Finish(), at.Finish()};
  std::vector<const Column*> raw;
  std::vector<WireKind> kinds;
  for (const auto& c : cols) {
    raw.push_back(c.get());
    kinds.push_back(NaturalWireKind(c->type()));
  }
  CopyBinaryEncoder enc(raw, kinds, /*row_number=*/true);
  enc.set_row_number_base(100);
  CopyBuffer out;
  CopyBinaryEncoder::AppendHeader(out);
  enc.AppendRows(0, 2, out);
  CopyBinaryEncoder::AppendTrailer(out);
  EXPECT_LE(out.size(), 19 + enc.BoundRows(0, 2) + 2);

  Reader r{out.view()};
  EXPECT_EQ(r.Bytes(11), std::string("PGCOPY\n\377\r\n\0", 11));
  EXPECT_EQ(r.I32(), 0);  // flags
  EXPECT_EQ(r.I32(), 0);  // header extension
  // Row 1: the row number, then every column.
  EXPECT_EQ(r.I16(), 10);
  EXPECT_EQ(r.I32(), 8);
  EXPECT_EQ(r.I64(), 100);
  EXPECT_EQ(r.I32(), 8);
  EXPECT_EQ(r.I64(), -7);
  EXPECT_EQ(r.I32(), 6);
  EXPECT_EQ(r.Bytes(6), "héllo");
  EXPECT_EQ(r.I32(), 1);
  EXPECT_EQ(r.Bytes(1), std::string(1, '\1'));
  EXPECT_EQ(r.I32(), 4);
  EXPECT_EQ(r.I32(), 1);  // 2000-01-02 is day 1 of PostgreSQL's epoch
  EXPECT_EQ(r.I32(), 8);
  EXPECT_EQ(r.I64(), 1500000);
  EXPECT_EQ(r.I32(), 8);  // jsonb: version byte, then the text
  EXPECT_EQ(r.Bytes(8), "\1{\"a\":1}");
  EXPECT_EQ(r.I32(), 10);  // numeric -0.05: 1 digit
  EXPECT_EQ(r.I16(), 1);
  EXPECT_EQ(r.I16(), -1);
  EXPECT_EQ(static_cast<uint16_t>(r.I16()), 0x4000);
  EXPECT_EQ(r.I16(), 2);
  EXPECT_EQ(r.I16(), 500);
  EXPECT_EQ(r.I32(), 8);
  EXPECT_EQ(r.I64(), 0x3FE0000000000000LL);  // 0.5
  EXPECT_EQ(r.I32(), 8);
  EXPECT_EQ(r.I64(), 3600000000LL);
  // Row 2: the row number, then nulls (-1 lengths).
  EXPECT_EQ(r.I16(), 10);
  EXPECT_EQ(r.I32(), 8);
  EXPECT_EQ(r.I64(), 101);
  for (int c = 0; c < 9; ++c) EXPECT_EQ(r.I32(), -1);
  EXPECT_EQ(r.I16(), -1);  // trailer
  EXPECT_EQ(r.at, out.size());
}

TEST(PgCopyBinary, EmptyStringsAndJsonAsText) {
  ColumnBuilder s(DataType::String()), j(DataType::Json());
  s.AppendBytes("");
  j.AppendBytes("[]");
  ColumnPtr sc = s.Finish(), jc = j.Finish();
  CopyBinaryEncoder enc({sc.get(), jc.get()}, {WireKind::kBytes, WireKind::kBytes});
  CopyBuffer out;
  enc.AppendRows(0, 1, out);
  Reader r{out.view()};
  EXPECT_EQ(r.I16(), 2);
  EXPECT_EQ(r.I32(), 0);  // an empty string is not null
  EXPECT_EQ(r.I32(), 2);  // json (not jsonb) goes as plain text
  EXPECT_EQ(r.Bytes(2), "[]");
}

}  // namespace
}  // namespace sluice::pg
