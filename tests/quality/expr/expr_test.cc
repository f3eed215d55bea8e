#include "quality/expr/expr.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/values.h"

namespace sluice {
namespace {

// "\\N" in a test row stands for NULL.
constexpr const char* kNull = "\\N";

RecordBatchPtr MakeBatch(std::vector<Field> fields, const std::vector<std::vector<std::string>>& rows) {
  auto schema = std::make_shared<const Schema>(std::move(fields));
  RecordBatchBuilder b(schema);
  for (const auto& row : rows) {
    for (size_t c = 0; c < schema->size(); ++c) {
      ColumnBuilder& col = b.column(c);
      const std::string& v = row[c];
      if (v == kNull) {
        col.AppendNull();
        continue;
      }
      const DataType& t = schema->field(c).type;
      bool ok = true;
      switch (t.id) {
        case TypeId::kBool: {
          bool x = false;
          ok = ParseBool(v, &x);
          col.AppendBool(x);
          break;
        }
        case TypeId::kInt64: {
          int64_t x = 0;
          ok = ParseInt64(v, &x);
          col.AppendInt64(x);
          break;
        }
        case TypeId::kFloat64: {
          double x = 0;
          ok = ParseFloat64(v, &x);
          col.AppendFloat64(x);
          break;
        }
        case TypeId::kDecimal: {
          int128_t x = 0;
          ok = ParseDecimal(v, t.precision, t.scale, &x);
          col.AppendDecimal(x);
          break;
        }
        case TypeId::kDate: {
          int32_t x = 0;
          ok = ParseDate(v, &x);
          col.AppendDate(x);
          break;
        }
        case TypeId::kTimestamp: {
          int64_t x = 0;
          bool zone = false;
          ok = ParseTimestamp(v, &x, &zone);
          col.AppendInt64(x);
          break;
        }
        default: col.AppendBytes(v); break;
      }
      EXPECT_TRUE(ok) << "bad test value " << v;
    }
    b.CommitRow(0);
  }
  return b.Finish("t", "");
}

// Pass/fail per row as a string of '1' and '0'.
std::string Pass(std::string_view text, const RecordBatch& batch) {
  auto e = ParseExpr(text);
  if (!e.ok()) return "parse error: " + e.status().message();
  std::vector<uint8_t> out;
  Status st = EvalPredicate(**e, batch, &out);
  if (!st.ok()) return "error: " + st.message();
  std::string s;
  for (uint8_t v : out) s += v ? '1' : '0';
  return s;
}

// The three-valued result per row: T, F or N, recovered from `e` and `NOT (e)`.
std::string Tri(std::string_view text, const RecordBatch& batch) {
  std::string p = Pass(text, batch);
  std::string q = Pass("NOT (" + std::string(text) + ")", batch);
  if (p.size() != q.size()) return p + " / " + q;
  std::string s;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '1' && q[i] == '1') s += 'N';
    else if (p[i] == '1') s += 'T';
    else if (q[i] == '1') s += 'F';
    else return "both fail: " + p + " / " + q;
  }
  return s;
}

std::string ParseError(std::string_view text) {
  auto e = ParseExpr(text);
  if (e.ok()) return "ok";
  EXPECT_TRUE(e.status().IsInvalidArgument());
  return e.status().message();
}

std::string BindError(std::string_view text, const Schema& schema) {
  auto e = ParseExpr(text);
  if (!e.ok()) return "parse error: " + e.status().message();
  auto b = BindExpr(**e, schema);
  if (b.ok()) return "ok";
  EXPECT_TRUE(b.status().IsInvalidArgument());
  return b.status().message();
}

TEST(ExprParse, ErrorsNameTheColumnAndDrawACaret) {
  EXPECT_EQ(ParseError("length(name > 3"),
            "expected ')' at column 16\n  length(name > 3\n                 ^");
  EXPECT_EQ(ParseError("a >= "),
            "expected a value, column or function, got end of expression at column 6\n"
            "  a >= \n       ^");
  EXPECT_EQ(ParseError("name = 'abc"), "unterminated string at column 8\n  name = 'abc\n         ^");
  EXPECT_EQ(ParseError("a # b"), "unexpected character '#' at column 3\n  a # b\n    ^");
  EXPECT_EQ(ParseError("a IN 1"), "expected '(' after IN at column 6\n  a IN 1\n       ^");
  EXPECT_EQ(ParseError("a = 1 b"), "unexpected 'b' at column 7\n  a = 1 b\n        ^");
  EXPECT_EQ(ParseError("d > DATE '2024-13-01'"),
            "invalid date '2024-13-01' at column 10\n  d > DATE '2024-13-01'\n           ^");
  EXPECT_EQ(ParseError("x BETWEEN 1 2"), "expected AND at column 13\n  x BETWEEN 1 2\n              ^");
  EXPECT_EQ(ParseError("a = = 1"),
            "expected a value, column or function, got '=' at column 5\n  a = = 1\n      ^");
  EXPECT_EQ(ParseError("a = 1 AND OR b"),
            "expected a value, column or function, got keyword OR at column 11\n"
            "  a = 1 AND OR b\n            ^");
  EXPECT_EQ(ParseError("   "), "empty expression at column 1\n     \n  ^");
  EXPECT_EQ(ParseError("12abc > 1"), "unexpected character in number at column 3\n  12abc > 1\n    ^");
  // A multi-line expression is echoed on one line so the caret still lines up.
  EXPECT_EQ(ParseError("a = 1\nAND )"), "expected a value, column or function, got ')' at column 11\n"
                                        "  a = 1 AND )\n            ^");
}

TEST(ExprParse, AcceptsTheWholeGrammar) {
  for (const char* ok :
       {"a IS NULL OR a >= b", "NOT a IN (1, 2, 3)", "a not like 'x%' escape '!'", "a <> 1 AND b != 2",
        "-a * (b + 1) / 2 % 3 >= 0", "\"weird name\" = 'it''s'", "x BETWEEN 1 AND 2 AND y",
        "d >= DATE '2024-01-01' AND t < TIMESTAMP '2024-01-01 10:00:00'", "coalesce(a, b, 0) > 1",
        "CASE WHEN a > 1 THEN 'x' ELSE 'y' END = 'x'", "now() > t", "1e3 > 2.5", "date = 1"}) {
    EXPECT_TRUE(ParseExpr(ok).ok()) << ok << ": " << ParseExpr(ok).status().message();
  }
}

TEST(ExprParse, ReferencedColumnsInOrderWithoutDuplicates) {
  auto e = ParseExpr("shipped_at IS NULL OR shipped_at >= created_at AND length(\"Name\") > 0");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(ReferencedColumns(**e), (std::vector<std::string>{"shipped_at", "created_at", "Name"}));
}

Schema OrdersSchema() {
  return Schema({{"amount", DataType::Int64()},
                 {"name", DataType::String()},
                 {"price", DataType::Decimal(10, 2)},
                 {"created_at", DataType::Timestamp()},
                 {"shipped_at", DataType::Timestamp()},
                 {"flag", DataType::Bool()}});
}

TEST(ExprBind, UnknownColumnSuggestsTheClosestName) {
  EXPECT_EQ(BindError("amout >= 0", OrdersSchema()),
            "unknown column 'amout' (did you mean 'amount'?) at column 1\n  amout >= 0\n  ^");
  EXPECT_EQ(BindError("flag AND zzzzzz", OrdersSchema()),
            "unknown column 'zzzzzz' at column 10\n  flag AND zzzzzz\n           ^");
  // Quoted names match exactly; bare names also match a column differing only in case.
  EXPECT_EQ(BindError("AMOUNT >= 0", OrdersSchema()), "ok");
  EXPECT_EQ(BindError("\"AMOUNT\" >= 0", OrdersSchema()),
            "unknown column 'AMOUNT' (did you mean 'amount'?) at column 1\n  \"AMOUNT\" >= 0\n  ^");
}

TEST(ExprBind, TypeMismatchesAndArity) {
  Schema s = OrdersSchema();
  EXPECT_EQ(BindError("name > 3", s), "cannot compare string with int64 at column 6\n  name > 3\n       ^");
  EXPECT_EQ(BindError("length(name, 2) > 1", s),
            "length() takes 1 argument, got 2 at column 1\n  length(name, 2) > 1\n  ^");
  EXPECT_EQ(BindError("lenght(name) > 1", s),
            "unknown function 'lenght' (did you mean 'length'?) at column 1\n  lenght(name) > 1\n  ^");
  EXPECT_EQ(BindError("amount + 1", s),
            "a check must be a true/false expression, got int64 at column 8\n  amount + 1\n         ^");
  EXPECT_EQ(BindError("flag AND amount", s),
            "AND needs a true/false operand, got int64 at column 6\n  flag AND amount\n       ^");
  EXPECT_EQ(BindError("shipped_at - created_at > 0", s),
            "cannot apply '-' to timestamp and timestamp; use date_diff() for intervals at column 12\n"
            "  shipped_at - created_at > 0\n             ^");
  EXPECT_EQ(BindError("date_diff('fortnight', created_at, shipped_at) < 2", s),
            "unknown date_diff() unit 'fortnight'; use 'day', 'hour', 'minute' or 'second' at column 11\n"
            "  date_diff('fortnight', created_at, shipped_at) < 2\n            ^");
  EXPECT_EQ(BindError("created_at >= 'yesterday'", s),
            "invalid timestamp 'yesterday' at column 15\n  created_at >= 'yesterday'\n                ^");
  EXPECT_EQ(BindError("name LIKE 3", s),
            "LIKE needs string operands, got int64 at column 11\n  name LIKE 3\n            ^");
  EXPECT_EQ(BindError("coalesce() IS NULL", s),
            "coalesce() takes at least 1 argument, got 0 at column 1\n  coalesce() IS NULL\n  ^");
  EXPECT_EQ(BindError("amount IN (1, 'x')", s),
            "cannot compare int64 with string at column 15\n  amount IN (1, 'x')\n                ^");
  EXPECT_EQ(BindError("shipped_at IS NULL OR shipped_at >= created_at", s), "ok");
}

TEST(ExprEval, ThreeValuedLogicTruthTables) {
  auto b = MakeBatch({{"a", DataType::Bool()}, {"b", DataType::Bool()}},
                     {{"true", "true"}, {"true", "false"}, {"true", kNull},
                      {"false", "true"}, {"false", "false"}, {"false", kNull},
                      {kNull, "true"}, {kNull, "false"}, {kNull, kNull}});
  EXPECT_EQ(Tri("a AND b", *b), "TFNFFFNFN");
  EXPECT_EQ(Tri("a OR b", *b), "TTTTFNTNN");
  EXPECT_EQ(Tri("NOT a", *b), "FFFTTTNNN");
  EXPECT_EQ(Tri("a AND NULL", *b), "NNNFFFNNN");
  EXPECT_EQ(Tri("a OR NULL", *b), "TTTNNNNNN");
  EXPECT_EQ(Tri("a = b", *b), "TFNFTNNNN");
  EXPECT_EQ(Tri("a IS NULL", *b), "FFFFFFTTT");
  EXPECT_EQ(Tri("b IS NOT NULL", *b), "TTFTTFTTF");
  EXPECT_EQ(Tri("TRUE AND NOT FALSE", *b), "TTTTTTTTT");
  // A NULL check passes; a FALSE one fails.
  EXPECT_EQ(Pass("a AND b", *b), "101000101");
}

TEST(ExprEval, ComparisonsOnEveryType) {
  auto b = MakeBatch({{"i", DataType::Int64()}, {"f", DataType::Float64()}, {"s", DataType::String()},
                      {"d", DataType::Date()}, {"t", DataType::Timestamp()}},
                     {{"1", "1.5", "abc", "2024-01-01", "2024-01-01 10:00:00"},
                      {"5", "-2", "abd", "2023-12-31", "2024-01-02 00:00:00"},
                      {kNull, kNull, kNull, kNull, kNull}});
  EXPECT_EQ(Tri("i = 1", *b), "TFN");
  EXPECT_EQ(Tri("i != 1", *b), "FTN");
  EXPECT_EQ(Tri("i <> 1", *b), "FTN");
  EXPECT_EQ(Tri("i < 5", *b), "TFN");
  EXPECT_EQ(Tri("i <= 5", *b), "TTN");
  EXPECT_EQ(Tri("5 > i", *b), "TFN");
  EXPECT_EQ(Tri("i >= 5", *b), "FTN");
  EXPECT_EQ(Tri("f > i", *b), "TFN");
  EXPECT_EQ(Tri("f >= 1.5", *b), "TFN");
  EXPECT_EQ(Tri("s < 'abd'", *b), "TFN");
  EXPECT_EQ(Tri("s = 'abd'", *b), "FTN");
  EXPECT_EQ(Tri("d = DATE '2024-01-01'", *b), "TFN");
  EXPECT_EQ(Tri("d >= '2024-01-01'", *b), "TFN");  // a string constant next to a date is a date
  EXPECT_EQ(Tri("t > TIMESTAMP '2024-01-01 12:00'", *b), "FTN");
  EXPECT_EQ(Tri("t >= d", *b), "TTN");             // dates compare as midnight timestamps
  EXPECT_EQ(Tri("t < DATE '2024-01-02'", *b), "TFN");
  EXPECT_EQ(Tri("i = NULL", *b), "NNN");
}

TEST(ExprEval, DecimalsCompareNumericallyWithIntsAndFloats) {
  auto b = MakeBatch({{"p", DataType::Decimal(10, 2)}, {"q", DataType::Decimal(12, 4)},
                      {"f", DataType::Float64()}, {"i", DataType::Int64()}},
                     {{"1.50", "1.5000", "1.5", "1"}, {"2.00", "1.9999", "2.25", "2"},
                      {"-0.01", "0", "0", "0"}, {kNull, "1", "1", "1"}});
  EXPECT_EQ(Tri("p = q", *b), "TFFN");
  EXPECT_EQ(Tri("p = f", *b), "TFFN");
  EXPECT_EQ(Tri("p = i", *b), "FTFN");
  EXPECT_EQ(Tri("p > 1.499", *b), "TTFN");
  EXPECT_EQ(Tri("p >= 1.5e0", *b), "TTFN");
  EXPECT_EQ(Tri("p < 0", *b), "FFTN");
  EXPECT_EQ(Tri("p + q = 3.5", *b), "FFFN");
  EXPECT_EQ(Tri("p + q = 3.0000", *b), "TFFN");
  EXPECT_EQ(Tri("p * 2 = 3", *b), "TFFN");
  EXPECT_EQ(Tri("p * q = 3.9998", *b), "FTFN");
  EXPECT_EQ(Tri("p - i = 0.5", *b), "TFFN");
  EXPECT_EQ(Tri("p / 2 = 0.75", *b), "TFFN");
  EXPECT_EQ(Tri("-p = -1.5", *b), "TFFN");
  EXPECT_EQ(Tri("abs(p) = 0.01", *b), "FFTN");
  EXPECT_EQ(Tri("p BETWEEN 1 AND 2", *b), "TTFN");
  EXPECT_EQ(Tri("p IN (1.5, 2)", *b), "TTFN");
}

TEST(ExprEval, ArithmeticDivisionByZeroAndOverflowAreNull) {
  auto b = MakeBatch({{"a", DataType::Int64()}, {"b", DataType::Int64()}, {"f", DataType::Float64()}},
                     {{"7", "2", "0.5"}, {"7", "0", "0"}, {"-7", "3", "-1"}, {kNull, "1", "1"},
                      {"9223372036854775807", "1", "1"}});
  EXPECT_EQ(Tri("a + b = 9", *b), "TFFNN");
  EXPECT_EQ(Tri("a - b = 5", *b), "TFFNF");
  EXPECT_EQ(Tri("a * b = 14", *b), "TFFNF");
  EXPECT_EQ(Tri("a / b = 3.5", *b), "TNFNF");  // '/' divides as float64
  EXPECT_EQ(Tri("a % b = 1", *b), "TNFNF");   // % truncates like C: -7 % 3 = -1
  EXPECT_EQ(Tri("a % b = -1", *b), "FNTNF");
  EXPECT_EQ(Tri("a / f > 0", *b), "TNTNT");
  EXPECT_EQ(Tri("f % 0 = 0", *b), "NNNNN");
  EXPECT_EQ(Tri("-a = -7", *b), "TTFNF");
  EXPECT_EQ(Tri("a + 1 > a", *b), "TTTNN");  // overflow is NULL, not a wrapped value
  EXPECT_EQ(Tri("1 + 2 * 3 = 7 AND (1 + 2) * 3 = 9 AND 2 - 3 - 4 = -5", *b), "TTTTT");
  EXPECT_EQ(Tri("a = -9223372036854775807 - 1 OR TRUE", *b), "TTTTT");
}

TEST(ExprEval, InLists) {
  auto b = MakeBatch({{"s", DataType::String()}, {"i", DataType::Int64()}},
                     {{"new", "1"}, {"paid", "2"}, {"other", "3"}, {kNull, kNull}});
  EXPECT_EQ(Tri("s IN ('new', 'paid')", *b), "TTFN");
  EXPECT_EQ(Tri("s NOT IN ('new', 'paid')", *b), "FFTN");
  EXPECT_EQ(Tri("i IN (1, 2.0)", *b), "TTFN");
  // A NULL in the list makes "not found" unknown, as in SQL.
  EXPECT_EQ(Tri("i IN (1, NULL)", *b), "TNNN");
  EXPECT_EQ(Tri("i NOT IN (1, NULL)", *b), "FNNN");
  EXPECT_EQ(Tri("i IN (i)", *b), "TTTN");
  EXPECT_EQ(Tri("'paid' IN (s)", *b), "FTFN");
}

TEST(ExprEval, LikeEdgeCases) {
  auto b = MakeBatch({{"s", DataType::String()}},
                     {{"abc"}, {""}, {"a%c"}, {"aXbXc"}, {"héllo"}, {kNull}, {"ab"}, {"a_c"}});
  EXPECT_EQ(Tri("s LIKE 'abc'", *b), "TFFFFNFF");
  EXPECT_EQ(Tri("s LIKE 'a%'", *b), "TFTTFNTT");
  EXPECT_EQ(Tri("s LIKE '%c'", *b), "TFTTFNFT");
  EXPECT_EQ(Tri("s LIKE '%b%'", *b), "TFFTFNTF");
  EXPECT_EQ(Tri("s LIKE '%'", *b), "TTTTTNTT");
  EXPECT_EQ(Tri("s LIKE ''", *b), "FTFFFNFF");
  EXPECT_EQ(Tri("s LIKE 'a_c'", *b), "TFTFFNFT");
  EXPECT_EQ(Tri("s LIKE '___'", *b), "TFTFFNFT");
  EXPECT_EQ(Tri("s LIKE 'h_llo'", *b), "FFFFTNFF");  // _ is one character, even a multi-byte one
  EXPECT_EQ(Tri("s LIKE 'a%b%c'", *b), "TFFTFNFF");
  EXPECT_EQ(Tri("s LIKE '%X_X%'", *b), "FFFTFNFF");
  EXPECT_EQ(Tri("s LIKE '%X__X%'", *b), "FFFFFNFF");
  EXPECT_EQ(Tri("s LIKE 'a%X%c'", *b), "FFFTFNFF");
  EXPECT_EQ(Tri("s LIKE 'a\\%c'", *b), "FFTFFNFF");    // backslash escapes by default
  EXPECT_EQ(Tri("s LIKE 'a!_c' ESCAPE '!'", *b), "FFFFFNFT");
  EXPECT_EQ(Tri("s NOT LIKE 'a%'", *b), "FTFFTNFF");
  EXPECT_EQ(Tri("s LIKE NULL", *b), "NNNNNNNN");
  EXPECT_EQ(Tri("'abc' LIKE s", *b), "TFTFFNFT");      // a pattern that varies by row
  EXPECT_EQ(Tri("'a%c' LIKE s", *b), "FFTFFNFT");
}

TEST(ExprEval, Between) {
  auto b = MakeBatch({{"i", DataType::Int64()}}, {{"0"}, {"1"}, {"5"}, {"10"}, {"11"}, {kNull}});
  EXPECT_EQ(Tri("i BETWEEN 1 AND 10", *b), "FTTTFN");
  EXPECT_EQ(Tri("i NOT BETWEEN 1 AND 10", *b), "TFFFTN");
  EXPECT_EQ(Tri("i BETWEEN 1 AND NULL", *b), "FNNNNN");
}

TEST(ExprEval, StringFunctions) {
  auto b = MakeBatch({{"s", DataType::String()}, {"t", DataType::String()}},
                     {{"  Hello ", "x"}, {"ÄbC", kNull}, {"", "y"}, {kNull, "z"}});
  EXPECT_EQ(Tri("length(s) = 8", *b), "TFFN");
  EXPECT_EQ(Tri("length(s) = 3", *b), "FTFN");  // characters, not bytes
  EXPECT_EQ(Tri("trim(s) = 'Hello'", *b), "TFFN");
  EXPECT_EQ(Tri("ltrim(s) = 'Hello '", *b), "TFFN");
  EXPECT_EQ(Tri("rtrim(s) = '  Hello'", *b), "TFFN");
  EXPECT_EQ(Tri("lower(trim(s)) = 'hello'", *b), "TFFN");
  EXPECT_EQ(Tri("upper(s) = 'ÄBC'", *b), "FTFN");  // ASCII letters only
  EXPECT_EQ(Tri("lower(s) = 'Äbc'", *b), "FTFN");
  EXPECT_EQ(Tri("coalesce(t, s) = 'ÄbC'", *b), "FTFF");
  EXPECT_EQ(Tri("coalesce(s, t, 'none') = 'z'", *b), "FFFT");
  EXPECT_EQ(Tri("coalesce(lower(t), upper(s)) = 'ÄBC'", *b), "FTFF");
  EXPECT_EQ(Tri("s || t = '  Hello x'", *b), "TNFN");
  EXPECT_EQ(Tri("starts_with(s, '  H')", *b), "TFFN");
  EXPECT_EQ(Tri("ends_with(s, 'C')", *b), "FTFN");
  EXPECT_EQ(Tri("contains(s, 'll')", *b), "TFFN");
  EXPECT_EQ(Tri("nullif(s, '') IS NULL", *b), "FFTT");
  EXPECT_EQ(Tri("CASE WHEN s IS NULL THEN 'none' WHEN length(s) > 5 THEN 'long' END = 'long'", *b),
            "TNNF");
  EXPECT_EQ(Tri("CASE WHEN length(s) > 5 THEN 1 ELSE 0 END = 0", *b), "FTTT");
}

TEST(ExprEval, NumericFunctions) {
  auto b = MakeBatch({{"i", DataType::Int64()}, {"f", DataType::Float64()}},
                     {{"-3", "-2.5"}, {"4", "0"}, {kNull, kNull}, {"-9223372036854775808", "1"}});
  EXPECT_EQ(Tri("abs(i) = 3", *b), "TFNN");
  EXPECT_EQ(Tri("abs(f) = 2.5", *b), "TFNF");
  EXPECT_EQ(Tri("coalesce(i, 0) >= -3", *b), "TTTF");
  EXPECT_EQ(Tri("coalesce(f, i, 7) = 7", *b), "FFTF");
}

TEST(ExprEval, DateDiffNowAndToday) {
  auto b = MakeBatch({{"a", DataType::Timestamp()}, {"b", DataType::Timestamp()}, {"d", DataType::Date()}},
                     {{"2024-01-01 00:00:00", "2024-01-03 12:00:00", "2024-01-10"},
                      {"2024-01-01 10:00:00", "2024-01-01 09:59:30", "1999-12-31"},
                      {"2024-01-01 00:00:00", kNull, kNull}});
  EXPECT_EQ(Tri("date_diff('day', a, b) = 2", *b), "TFN");
  EXPECT_EQ(Tri("date_diff('hour', a, b) = 60", *b), "TFN");
  EXPECT_EQ(Tri("date_diff('minute', a, b) = 0", *b), "FTN");   // whole units, toward zero
  EXPECT_EQ(Tri("date_diff('second', a, b) = -30", *b), "FTN");
  EXPECT_EQ(Tri("date_diff('DAYS', a, d) = 9", *b), "TFN");
  EXPECT_EQ(Tri("date_diff('day', DATE '2024-02-28', DATE '2024-03-01') = 2", *b), "TTT");
  EXPECT_EQ(Tri("date_diff('day', d, '2024-01-11') = 1", *b), "TFN");
  EXPECT_EQ(Tri("a < now() AND d <= today()", *b), "TTN");
  EXPECT_EQ(Tri("d + 1 = DATE '2024-01-11'", *b), "TFN");
  EXPECT_EQ(Tri("d - DATE '2024-01-01' = 9", *b), "TFN");
}

TEST(ExprEval, ContractRuleShippedAfterCreated) {
  auto b = MakeBatch({{"created_at", DataType::Timestamp()}, {"shipped_at", DataType::Timestamp()}},
                     {{"2024-01-01 00:00:00", kNull},
                      {"2024-01-01 00:00:00", "2024-01-02 00:00:00"},
                      {"2024-01-02 00:00:00", "2024-01-01 00:00:00"},
                      {kNull, "2024-01-01 00:00:00"}});
  EXPECT_EQ(Pass("shipped_at IS NULL OR shipped_at >= created_at", *b), "1101");
}

TEST(ExprEval, KeywordsAreCaseInsensitiveAndQuotedNamesWork) {
  auto b = MakeBatch({{"Order Total", DataType::Int64()}, {"date", DataType::Date()}},
                     {{"5", "2024-01-01"}, {"-1", kNull}});
  EXPECT_EQ(Tri("\"Order Total\" >= 0 and date is not null", *b), "TF");
  EXPECT_EQ(Tri("\"Order Total\" between 0 AnD 10 Or FaLsE", *b), "TF");
  EXPECT_EQ(Tri("date = date '2024-01-01'", *b), "TN");
}

TEST(ExprEval, BoundExpressionRefusesABatchOfAnotherSchema) {
  auto e = ParseExpr("amount >= 0");
  ASSERT_TRUE(e.ok());
  auto bound = BindExpr(**e, Schema({{"amount", DataType::Int64()}}));
  ASSERT_TRUE(bound.ok());
  auto other = MakeBatch({{"amount", DataType::String()}}, {{"1"}});
  std::vector<uint8_t> out;
  Status st = EvalPredicate(**bound, *other, &out);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_EQ(st.message(), "expression 'amount >= 0' was bound to a different schema (column 'amount')");
}

TEST(ExprEval, JsonIsTextAndNullLiteralsPass) {
  auto b = MakeBatch({{"j", DataType::Json()}, {"i", DataType::Int64()}},
                     {{"{\"a\":1}", "-9223372036854775808"}, {kNull, "0"}});
  EXPECT_EQ(Tri("j LIKE '{\"a\":%'", *b), "TN");
  EXPECT_EQ(Tri("i = -9223372036854775808", *b), "TF");
  EXPECT_EQ(Pass("NULL", *b), "11");
  EXPECT_EQ(Pass("NOT NULL", *b), "11");
  EXPECT_EQ(Pass("CASE WHEN i = 0 THEN NULL ELSE FALSE END", *b), "01");
}

TEST(ExprEval, OneBoundExpressionIsSharedAcrossThreads) {
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < 5000; ++i) rows.push_back({std::to_string(i % 10), i % 3 ? "x" : kNull});
  auto b = MakeBatch({{"i", DataType::Int64()}, {"s", DataType::String()}}, rows);
  auto e = ParseExpr("i < 5 AND coalesce(s, 'y') = 'x'");
  ASSERT_TRUE(e.ok());
  auto bound = BindExpr(**e, *b->schema());
  ASSERT_TRUE(bound.ok());
  std::vector<uint8_t> expected;
  ASSERT_TRUE(EvalPredicate(**bound, *b, &expected).ok());
  std::vector<std::vector<uint8_t>> outs(4);
  {
    std::vector<std::jthread> threads;
    for (auto& out : outs) {
      threads.emplace_back([&] {
        for (int k = 0; k < 20; ++k) EXPECT_TRUE(EvalPredicate(**bound, *b, &out).ok());
      });
    }
  }
  for (const auto& out : outs) EXPECT_EQ(out, expected);
}

TEST(ExprEval, EmptyBatch) {
  auto b = MakeBatch({{"i", DataType::Int64()}}, {});
  EXPECT_EQ(Pass("i > 0", *b), "");
  EXPECT_EQ(Pass("NULL", *b), "");
}

// Per-row reference for a mixed predicate, compared on a larger batch with random NULLs.
TEST(ExprEval, LargeBatchMatchesPerRowReference) {
  auto schema = std::make_shared<const Schema>(std::vector<Field>{
      {"a", DataType::Int64()}, {"f", DataType::Float64()}, {"s", DataType::String()},
      {"p", DataType::Decimal(12, 2)}});
  RecordBatchBuilder bb(schema);
  std::mt19937_64 rng(42);
  const int64_t n = 100000;
  struct Row {
    bool a_null, f_null, s_null, p_null;
    int64_t a;
    double f;
    std::string s;
    int128_t p;
  };
  std::vector<Row> rows;
  const char* words[] = {"alpha", "beta", "gamma", "alphabet", ""};
  for (int64_t i = 0; i < n; ++i) {
    Row r{};
    r.a_null = rng() % 10 == 0;
    r.f_null = rng() % 7 == 0;
    r.s_null = rng() % 9 == 0;
    r.p_null = rng() % 11 == 0;
    r.a = static_cast<int64_t>(rng() % 2001) - 1000;
    r.f = static_cast<double>(static_cast<int64_t>(rng() % 20001) - 10000) / 100.0;
    r.s = words[rng() % 5];
    r.p = static_cast<int128_t>(static_cast<int64_t>(rng() % 200001) - 100000);
    r.a_null ? bb.column(0).AppendNull() : bb.column(0).AppendInt64(r.a);
    r.f_null ? bb.column(1).AppendNull() : bb.column(1).AppendFloat64(r.f);
    r.s_null ? bb.column(2).AppendNull() : bb.column(2).AppendBytes(r.s);
    r.p_null ? bb.column(3).AppendNull() : bb.column(3).AppendDecimal(r.p);
    bb.CommitRow(i);
    rows.push_back(std::move(r));
  }
  auto batch = bb.Finish("t", "");
  // 0 false, 1 true, 2 null
  auto and3 = [](int x, int y) { return (x == 0 || y == 0) ? 0 : (x == 2 || y == 2) ? 2 : 1; };
  auto or3 = [](int x, int y) { return (x == 1 || y == 1) ? 1 : (x == 2 || y == 2) ? 2 : 0; };
  const std::string text =
      "(a >= 0 AND f < 50.5) OR (s LIKE 'alpha%' AND p > a) OR (a % 7 = 3 AND s IN ('beta', ''))";
  auto e = ParseExpr(text);
  ASSERT_TRUE(e.ok()) << e.status().message();
  std::vector<uint8_t> out;
  ASSERT_TRUE(EvalPredicate(**e, *batch, &out).ok());
  ASSERT_EQ(out.size(), static_cast<size_t>(n));
  int64_t mismatches = 0, passes = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Row& r = rows[static_cast<size_t>(i)];
    int c1 = r.a_null ? 2 : r.a >= 0;
    int c2 = r.f_null ? 2 : r.f < 50.5;
    int c3 = r.s_null ? 2 : r.s.rfind("alpha", 0) == 0;
    // p is decimal(12,2): p > a compares p/100 with a.
    int c4 = (r.p_null || r.a_null) ? 2 : r.p > static_cast<int128_t>(r.a) * 100;
    int c5 = r.a_null ? 2 : r.a % 7 == 3;
    int c6 = r.s_null ? 2 : (r.s == "beta" || r.s.empty());
    int v = or3(or3(and3(c1, c2), and3(c3, c4)), and3(c5, c6));
    uint8_t want = v != 0;
    passes += want;
    mismatches += out[static_cast<size_t>(i)] != want;
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(passes, n / 4);
  EXPECT_LT(passes, n);
}

}  // namespace
}  // namespace sluice
