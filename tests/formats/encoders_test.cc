#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "core/record_batch.h"
#include "core/values.h"
#include "formats/csv/csv_encoder.h"
#include "formats/json/jsonl_encoder.h"

namespace sluice {
namespace {

SchemaPtr MakeSchema(std::vector<Field> fields) { return std::make_shared<Schema>(std::move(fields)); }

// One column of strings; std::nullopt is a null.
RecordBatchPtr Strings(const std::string& name, const std::vector<std::optional<std::string>>& values) {
  RecordBatchBuilder b(MakeSchema({{name, DataType::String()}}));
  int64_t line = 1;
  for (const auto& v : values) {
    if (v) b.column(0).AppendBytes(*v);
    else b.column(0).AppendNull();
    b.CommitRow(line++);
  }
  return b.Finish("s", "test");
}

// Every type, one row of values and one row of nulls.
RecordBatchPtr EveryType() {
  RecordBatchBuilder b(MakeSchema({{"b", DataType::Bool()},
                                   {"i", DataType::Int64()},
                                   {"f", DataType::Float64()},
                                   {"d", DataType::Decimal(12, 2)},
                                   {"s", DataType::String()},
                                   {"bin", DataType::Binary()},
                                   {"day", DataType::Date()},
                                   {"t", DataType::Time()},
                                   {"ts", DataType::Timestamp(false)},
                                   {"tstz", DataType::Timestamp(true)},
                                   {"j", DataType::Json()}}));
  int32_t day;
  EXPECT_TRUE(ParseDate("2024-02-29", &day));
  int64_t t, ts;
  bool zone;
  EXPECT_TRUE(ParseTime("13:45:00.25", &t));
  EXPECT_TRUE(ParseTimestamp("2024-02-29 13:45:00", &ts, &zone));
  int128_t dec;
  EXPECT_TRUE(ParseDecimal("-1234.5", 12, 2, &dec));
  b.column(0).AppendBool(true);
  b.column(1).AppendInt64(std::numeric_limits<int64_t>::min());
  b.column(2).AppendFloat64(0.1);
  b.column(3).AppendDecimal(dec);
  b.column(4).AppendBytes("text");
  b.column(5).AppendBytes("raw");
  b.column(6).AppendDate(day);
  b.column(7).AppendInt64(t);
  b.column(8).AppendInt64(ts);
  b.column(9).AppendInt64(ts);
  b.column(10).AppendBytes(R"({"a":[1,2]})");
  b.CommitRow(1);
  for (size_t c = 0; c < b.num_columns(); ++c) b.column(c).AppendNull();
  b.CommitRow(2);
  return b.Finish("s", "test");
}

TEST(EncoderJsonl, EveryTypeAndNulls) {
  JsonlEncoder enc;
  std::string out;
  enc.Encode(*EveryType(), out);
  EXPECT_EQ(out,
            R"({"b":true,"i":-9223372036854775808,"f":0.1,"d":"-1234.50","s":"text","bin":"raw",)"
            R"("day":"2024-02-29","t":"13:45:00.250000","ts":"2024-02-29 13:45:00",)"
            R"("tstz":"2024-02-29 13:45:00Z","j":{"a":[1,2]}})"
            "\n"
            R"({"b":null,"i":null,"f":null,"d":null,"s":null,"bin":null,"day":null,"t":null,)"
            R"("ts":null,"tstz":null,"j":null})"
            "\n");
}

TEST(EncoderJsonl, MatchesAppendValueJsonForEveryValue) {
  auto batch = EveryType();
  JsonlEncoder enc;
  std::string out;
  enc.Encode(*batch, 0, 1, out);
  std::string expected = "{";
  for (size_t c = 0; c < batch->columns().size(); ++c) {
    if (c) expected += ",";
    expected += "\"" + batch->schema()->field(c).name + "\":";
    AppendValueJson(batch->column(c), 0, expected);
  }
  expected += "}\n";
  EXPECT_EQ(out, expected);
}

TEST(EncoderJsonl, EscapesQuotesNewlinesControlsAndKeepsUnicode) {
  JsonlEncoder enc;
  std::string out;
  enc.Encode(*Strings("say \"x\"", {std::string("a\"b\\c\nd\re\tf\x01"), std::string("héllo 日本 😀"),
                                   std::string("bad \xff byte"), std::string("")}),
             out);
  EXPECT_EQ(out,
            "{\"say \\\"x\\\"\":\"a\\\"b\\\\c\\nd\\re\\tf\\u0001\"}\n"
            "{\"say \\\"x\\\"\":\"héllo 日本 😀\"}\n"
            "{\"say \\\"x\\\"\":\"bad \xEF\xBF\xBD byte\"}\n"
            "{\"say \\\"x\\\"\":\"\"}\n");
}

TEST(EncoderJsonl, NonFiniteFloatsBecomeStringsSoTheLineStaysJson) {
  RecordBatchBuilder b(MakeSchema({{"f", DataType::Float64()}}));
  for (double v : {std::nan(""), std::numeric_limits<double>::infinity(), 1e300, -0.5}) {
    b.column(0).AppendFloat64(v);
    b.CommitRow(0);
  }
  JsonlEncoder enc;
  std::string out;
  enc.Encode(*b.Finish("s", ""), out);
  EXPECT_EQ(out, "{\"f\":\"NaN\"}\n{\"f\":\"Infinity\"}\n{\"f\":1e+300}\n{\"f\":-0.5}\n");
}

TEST(EncoderJsonl, RowRangeAndSchemaChangeBetweenBatches) {
  JsonlEncoder enc;
  std::string out;
  enc.Encode(*Strings("a", {std::string("1"), std::string("2"), std::string("3")}), 1, 3, out);
  enc.Encode(*Strings("b", {std::string("4")}), out);
  EXPECT_EQ(out, "{\"a\":\"2\"}\n{\"a\":\"3\"}\n{\"b\":\"4\"}\n");
}

TEST(EncoderCsv, QuotesOnlyWhenNeeded) {
  CsvEncoder enc;
  std::string out;
  enc.Encode(*Strings("v", {std::string("plain"), std::string("a,b"), std::string("say \"hi\""),
                            std::string("line1\nline2"), std::string("cr\rhere"), std::string(" lead"),
                            std::string("trail "), std::string("in side"), std::string("héllo 日本"),
                            std::string(""), std::nullopt}),
             out);
  EXPECT_EQ(out,
            "plain\n"
            "\"a,b\"\n"
            "\"say \"\"hi\"\"\"\n"
            "\"line1\nline2\"\n"
            "\"cr\rhere\"\n"
            "\" lead\"\n"
            "\"trail \"\n"
            "in side\n"
            "héllo 日本\n"
            "\"\"\n"
            "\n");
}

TEST(EncoderCsv, NullIsEmptyAndEmptyStringIsQuoted) {
  RecordBatchBuilder b(MakeSchema({{"a", DataType::String()}, {"b", DataType::String()},
                                   {"c", DataType::Int64()}}));
  b.column(0).AppendNull();
  b.column(1).AppendBytes("");
  b.column(2).AppendNull();
  b.CommitRow(1);
  CsvEncoder enc;
  std::string out;
  enc.EncodeHeader({"a", "b", "c"}, out);
  enc.Encode(*b.Finish("s", ""), out);
  EXPECT_EQ(out, "a,b,c\n,\"\",\n");
}

TEST(EncoderCsv, EveryTypeInItsTextForm) {
  CsvEncoder enc;
  std::string out;
  enc.Encode(*EveryType(), out);
  EXPECT_EQ(out,
            "true,-9223372036854775808,0.1,-1234.50,text,raw,2024-02-29,13:45:00.250000,"
            "2024-02-29 13:45:00,2024-02-29 13:45:00Z,\"{\"\"a\"\":[1,2]}\"\n"
            ",,,,,,,,,,\n");
}

TEST(EncoderCsv, OtherDelimitersQuoteWhatContainsThem) {
  CsvEncoder semi(';');
  std::string out;
  semi.Encode(*Strings("v", {std::string("a,b"), std::string("a;b")}), out);
  EXPECT_EQ(out, "a,b\n\"a;b\"\n");

  // A time contains ':'; with ':' as delimiter it must be quoted to read back as one field.
  RecordBatchBuilder b(MakeSchema({{"t", DataType::Time()}, {"i", DataType::Int64()}}));
  int64_t t;
  ASSERT_TRUE(ParseTime("10:30", &t));
  b.column(0).AppendInt64(t);
  b.column(1).AppendInt64(7);
  b.CommitRow(1);
  CsvEncoder colon(':');
  out.clear();
  colon.Encode(*b.Finish("s", ""), out);
  EXPECT_EQ(out, "\"10:30:00\":7\n");

  CsvEncoder tab('\t');
  out.clear();
  tab.EncodeHeader({"a b", "c\td"}, out);
  EXPECT_EQ(out, "a b\t\"c\td\"\n");
}

TEST(EncoderCsv, HeaderNamesAreQuotedByTheSameRules) {
  CsvEncoder enc;
  std::string out;
  enc.EncodeHeader({"id", "full, name", "\"q\"", ""}, out);
  EXPECT_EQ(out, "id,\"full, name\",\"\"\"q\"\"\",\"\"\n");
}

TEST(EncoderCsv, LayoutReordersColumnsAndFillsMissingOnesWithNull) {
  RecordBatchBuilder b(MakeSchema({{"name", DataType::String()}, {"id", DataType::Int64()}}));
  b.column(0).AppendBytes("ann");
  b.column(1).AppendInt64(1);
  b.CommitRow(1);
  std::vector<int> layout = {1, -1, 0};  // id, (missing), name
  CsvEncoder enc;
  std::string out;
  enc.Encode(*b.Finish("s", ""), 0, 1, out, &layout);
  EXPECT_EQ(out, "1,,ann\n");
}

}  // namespace
}  // namespace sluice
