// The mysql sink against a real server (SLUICE_MYSQL_DSN): what a user sees in the tables and in
// _sluice_state after commits, aborts, crashes, refused rows, killed connections and TLS setups.

#include <cmath>
#include <thread>

#include "integration/mysql/mysql_test_env.h"
#include "state/state_store.h"

namespace sluice::testing {
namespace {

using Cell = std::optional<std::string>;
using TextRows = std::vector<std::vector<Cell>>;

// A batch from text values parsed as each field's type (nullopt is null).
RecordBatchPtr MakeBatch(const std::string& stream, const std::vector<Field>& fields,
                         const TextRows& rows, const std::string& ops = "") {
  auto schema = std::make_shared<Schema>(fields);
  RecordBatchBuilder b(schema);
  int64_t line = 2;
  for (const auto& row : rows) {
    for (size_t c = 0; c < fields.size(); ++c) {
      ColumnBuilder& col = b.column(c);
      if (!row[c]) {
        col.AppendNull();
        continue;
      }
      const std::string& v = *row[c];
      const DataType& t = fields[c].type;
      switch (t.id) {
        case TypeId::kBool: {
          bool x = false;
          EXPECT_TRUE(ParseBool(v, &x)) << v;
          col.AppendBool(x);
          break;
        }
        case TypeId::kInt64: {
          int64_t x = 0;
          EXPECT_TRUE(ParseInt64(v, &x)) << v;
          col.AppendInt64(x);
          break;
        }
        case TypeId::kFloat64: {
          double x = 0;
          if (v == "NaN")
            x = std::nan("");
          else
            EXPECT_TRUE(ParseFloat64(v, &x)) << v;
          col.AppendFloat64(x);
          break;
        }
        case TypeId::kDecimal: {
          int128_t x = 0;
          EXPECT_TRUE(ParseDecimal(v, t.precision, t.scale, &x)) << v;
          col.AppendDecimal(x);
          break;
        }
        case TypeId::kDate: {
          int32_t x = 0;
          EXPECT_TRUE(ParseDate(v, &x)) << v;
          col.AppendDate(x);
          break;
        }
        case TypeId::kTime: {
          int64_t x = 0;
          EXPECT_TRUE(ParseTime(v, &x)) << v;
          col.AppendInt64(x);
          break;
        }
        case TypeId::kTimestamp: {
          int64_t x = 0;
          bool zone = false;
          EXPECT_TRUE(ParseTimestamp(v, &x, &zone)) << v;
          col.AppendInt64(x);
          break;
        }
        default:
          col.AppendBytes(v);
      }
    }
    b.CommitRow(line++);
  }
  RecordBatchPtr batch = b.Finish(stream, "data/" + stream + ".csv");
  if (ops.empty()) return batch;
  auto with_ops = std::make_shared<RecordBatch>(*batch);
  with_ops->ops.assign(ops.begin(), ops.end());
  return with_ops;
}

std::vector<Field> IdName() { return {{"id", DataType::Int64()}, {"name", DataType::String()}}; }

TextRows IdNames(int from, int to) {
  TextRows rows;
  for (int i = from; i <= to; ++i) rows.push_back({std::to_string(i), "name " + std::to_string(i)});
  return rows;
}

CommitState State(const std::string& stream, const std::string& value, int64_t rows) {
  CommitState cs;
  cs.positions.push_back({stream, "file:/data/" + stream + ".csv", value});
  cs.counters.rows_in = rows;
  cs.counters.rows_out = rows;
  return cs;
}

class MysqlSinkTest : public MysqlTest {
 protected:
  std::unique_ptr<Sink> Open(std::vector<std::pair<std::string, std::string>> opts = {},
                             std::vector<std::string> key = {}, const std::string& pipeline = "p") {
    opts.insert(opts.begin(), {"dsn", Dsn()});
    std::vector<std::pair<std::string, std::vector<std::string>>> lists;
    if (!key.empty()) lists.push_back({"key", key});
    auto sink = MakeSink(Block("sink", opts, lists), pipeline);
    EXPECT_TRUE(sink.ok()) << sink.status().ToString();
    if (!sink.ok()) return nullptr;
    Status st = (*sink)->Open();
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) return nullptr;
    return std::move(*sink);
  }
};

class MysqlSinkMethodTest : public MysqlSinkTest,
                            public ::testing::WithParamInterface<std::string> {};

TEST_P(MysqlSinkMethodTest, CommitsRowsAndStateTogether) {
  auto sink = Open({{"table", "orders"}, {"load_method", GetParam()}});
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(*MakeBatch("orders", IdName(), IdNames(1, 500))).ok());
  EXPECT_EQ(One("SELECT COUNT(*) FROM orders"), "0");  // not visible before the commit
  ASSERT_TRUE(sink->Commit(State("orders", "{\"offset\":500}", 500)).ok());
  EXPECT_EQ(One("SELECT COUNT(*) FROM orders"), "500");
  ASSERT_TRUE(sink->Write(*MakeBatch("orders", IdName(), IdNames(501, 600))).ok());
  ASSERT_TRUE(sink->Commit(State("orders", "{\"offset\":600}", 100)).ok());
  ASSERT_TRUE(sink->Close().ok());

  auto again = Open({{"table", "orders"}});
  ASSERT_NE(again, nullptr);
  auto state = again->LoadState();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(At(*state, "orders", "file:/data/orders.csv"), "{\"offset\":600}");
  EXPECT_NE(At(*state, "", kCountersKey).find("\"rows_out\":600"), std::string::npos)
      << At(*state, "", kCountersKey);
  EXPECT_EQ(Query("SELECT COUNT(*), SUM(id), MAX(name) FROM orders"),
            (Rows{{"600", "180300", "name 99"}}));
}

INSTANTIATE_TEST_SUITE_P(LoadMethods, MysqlSinkMethodTest,
                         ::testing::Values("load_data", "insert"));

TEST_F(MysqlSinkTest, AbortAndCrashLeaveNeitherRowsNorState) {
  {
    auto sink = Open({{"table", "t"}});
    ASSERT_NE(sink, nullptr);
    ASSERT_TRUE(sink->Write(*MakeBatch("t", IdName(), IdNames(1, 10))).ok());
    ASSERT_TRUE(sink->Commit(State("t", "1", 10)).ok());
    ASSERT_TRUE(sink->Write(*MakeBatch("t", IdName(), IdNames(11, 20))).ok());
    ASSERT_TRUE(sink->Abort().ok());
    ASSERT_TRUE(sink->Write(*MakeBatch("t", IdName(), IdNames(21, 30))).ok());
    // Destroyed without Commit, as a crash would leave it.
  }
  auto sink = Open({{"table", "t"}});
  ASSERT_NE(sink, nullptr);
  auto state = sink->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(At(*state, "t", "file:/data/t.csv"), "1");
  EXPECT_EQ(Query("SELECT COUNT(*), MAX(id) FROM t"), (Rows{{"10", "10"}}));
}

TEST_P(MysqlSinkMethodTest, EveryTypeRoundTrips) {
  std::vector<Field> fields = {{"b", DataType::Bool()},
                               {"i", DataType::Int64()},
                               {"f", DataType::Float64()},
                               {"d", DataType::Decimal(12, 2)},
                               {"big", DataType::Decimal(38, 10)},
                               {"s", DataType::String()},
                               {"bin", DataType::Binary()},
                               {"day", DataType::Date()},
                               {"tod", DataType::Time()},
                               {"ts", DataType::Timestamp()},
                               {"tz", DataType::Timestamp(true)},
                               {"j", DataType::Json()}};
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes += static_cast<char>(c);
  TextRows rows = {
      {"true", "-9223372036854775808", "0.1", "-12.50", "1234567890123456789012345678.0123456789",
       "tab\there\nnew line \\ back 'quote' \"dq\" é 😀", all_bytes, "1970-01-01", "23:59:59.999999",
       "2026-02-03 04:05:06.789012", "2026-02-03T04:05:06.5+02:00", "{\"a\": [1, 2.5, null]}"},
      {"false", "9223372036854775807", "-1.7976931348623157e+308", "0.00", "0.0000000001", "", "",
       "9999-12-31", "00:00:00", "1000-01-01 00:00:00", "2038-01-19T03:14:08Z", "[]"},
      {std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
       std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt},
  };
  auto sink = Open({{"table", "types"}, {"load_method", GetParam()}});
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(*MakeBatch("types", fields, rows)).ok());
  EXPECT_TRUE(sink->TakeRefused().empty());
  ASSERT_TRUE(sink->Commit(State("types", "x", 3)).ok());
  Rows got = Query(
      "SELECT b, i, f, d, big, s, HEX(bin), day, tod, ts, tz, JSON_EXTRACT(j, '$') FROM types "
      "ORDER BY i");
  ASSERT_EQ(got.size(), 3u) << (got.empty() ? "" : got[0][0]);
  EXPECT_EQ(got[0], (std::vector<std::string>{"NULL", "NULL", "NULL", "NULL", "NULL", "NULL",
                                              "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"}));
  std::string hex;
  for (int c = 0; c < 256; ++c) {
    char h[3];
    std::snprintf(h, sizeof h, "%02X", c);
    hex += h;
  }
  EXPECT_EQ(
      got[1],
      (std::vector<std::string>{
          "1", "-9223372036854775808", "0.1", "-12.50", "1234567890123456789012345678.0123456789",
          "tab\there\nnew line \\ back 'quote' \"dq\" é 😀", hex, "1970-01-01", "23:59:59.999999",
          "2026-02-03 04:05:06.789012", "2026-02-03 02:05:06.500000", "{\"a\": [1, 2.5, null]}"}));
  EXPECT_EQ(got[2], (std::vector<std::string>{"0", "9223372036854775807", "-1.7976931348623157e308",
                                              "0.00", "0.0000000001", "", "", "9999-12-31",
                                              "00:00:00.000000", "1000-01-01 00:00:00.000000",
                                              "2038-01-19 03:14:08.000000", "[]"}));
  EXPECT_EQ(Query("SELECT DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS WHERE "
                  "TABLE_SCHEMA = DATABASE() "
                  "AND TABLE_NAME = 'types' ORDER BY ORDINAL_POSITION"),
            (Rows{{"tinyint", "tinyint(1)"},
                  {"bigint", "bigint(20)"},
                  {"double", "double"},
                  {"decimal", "decimal(12,2)"},
                  {"decimal", "decimal(38,10)"},
                  {"longtext", "longtext"},
                  {"longblob", "longblob"},
                  {"date", "date"},
                  {"time", "time(6)"},
                  {"datetime", "datetime(6)"},
                  {"datetime", "datetime(6)"},
                  {"longtext", "longtext"}}));
}

TEST_F(MysqlSinkTest, AddsColumnsBetweenGroupsAndRetriesAGroupThatGrowsMidway) {
  auto sink = Open({{"table", "grow"}});
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(*MakeBatch("grow", IdName(), IdNames(1, 2))).ok());
  ASSERT_TRUE(sink->Commit(State("grow", "1", 2)).ok());
  std::vector<Field> wider = {
      {"id", DataType::Int64()}, {"name", DataType::String()}, {"extra", DataType::Date()}};
  // A new group whose first batch is wider: the table is widened before the group starts.
  ASSERT_TRUE(sink->Write(*MakeBatch("grow", wider, {{"3", "c", "2026-01-01"}})).ok());
  ASSERT_TRUE(sink->Commit(State("grow", "2", 1)).ok());
  // Wider still, in the middle of a group: the group is rolled back, the table widened, and the
  // error is transient so that the runtime loads the group again.
  std::vector<Field> widest = wider;
  widest.push_back({"more", DataType::Int64()});
  ASSERT_TRUE(sink->Write(*MakeBatch("grow", wider, {{"4", "d", std::nullopt}})).ok());
  Status st = sink->Write(*MakeBatch("grow", widest, {{"5", "e", std::nullopt, "7"}}));
  EXPECT_TRUE(st.IsTransient()) << st.ToString();
  EXPECT_NE(st.message().find("`more`"), std::string::npos) << st.message();
  (void)sink->Abort();
  EXPECT_EQ(Query("SELECT id, name, extra FROM grow ORDER BY id"),
            (Rows{{"1", "name 1", "NULL"}, {"2", "name 2", "NULL"}, {"3", "c", "2026-01-01"}}));
  EXPECT_EQ(
      One("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND "
          "TABLE_NAME = 'grow' AND COLUMN_NAME = 'more'"),
      "1");
  // The retry of the same group now goes through.
  auto retry = Open({{"table", "grow"}});
  ASSERT_NE(retry, nullptr);
  ASSERT_TRUE(retry->Write(*MakeBatch("grow", wider, {{"4", "d", std::nullopt}})).ok());
  ASSERT_TRUE(retry->Write(*MakeBatch("grow", widest, {{"5", "e", std::nullopt, "7"}})).ok());
  ASSERT_TRUE(retry->Commit(State("grow", "3", 2)).ok());
  EXPECT_EQ(Query("SELECT id, more FROM grow WHERE id >= 4 ORDER BY id"),
            (Rows{{"4", "NULL"}, {"5", "7"}}));
}

TEST_F(MysqlSinkTest, UpsertKeepsTheLastVersionOfEachKey) {
  auto sink = Open({{"table", "u"}, {"mode", "upsert"}}, {"id"});
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(
      sink->Write(*MakeBatch("u", IdName(),
                             {{"1", "a"}, {"2", "b"}, {"1", "a2"}, {"3", "c"}, {"1", "a3"}}))
          .ok());
  ASSERT_TRUE(sink->Commit(State("u", "1", 5)).ok());
  ASSERT_TRUE(sink->Write(*MakeBatch("u", IdName(), {{"2", "b2"}, {std::nullopt, "no key"}})).ok());
  auto refused = sink->TakeRefused();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_NE(refused[0].reason.find("key column 'id' is null"), std::string::npos)
      << refused[0].reason;
  ASSERT_TRUE(sink->Commit(State("u", "2", 2)).ok());
  EXPECT_EQ(Query("SELECT id, name FROM u ORDER BY id"),
            (Rows{{"1", "a3"}, {"2", "b2"}, {"3", "c"}}));
  EXPECT_EQ(
      One("SELECT COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND "
          "TABLE_NAME = 'u' AND COLUMN_NAME = 'id'"),
      "PRI");
  // Keys compare exactly: case and trailing spaces make different keys.
  auto s2 = Open({{"table", "sk"}, {"mode", "upsert"}}, {"k"});
  ASSERT_NE(s2, nullptr);
  std::vector<Field> f = {{"k", DataType::String()}, {"v", DataType::Int64()}};
  ASSERT_TRUE(
      s2->Write(*MakeBatch("sk", f, {{"a", "1"}, {"A", "2"}, {"a ", "3"}, {"a", "4"}})).ok());
  ASSERT_TRUE(s2->Commit(State("sk", "1", 4)).ok());
  EXPECT_EQ(Query("SELECT CONCAT('[', k, ']'), v FROM sk ORDER BY v"),
            (Rows{{"[A]", "2"}, {"[a ]", "3"}, {"[a]", "4"}}));
}

TEST_F(MysqlSinkTest, UpsertWithVersionNeverOverwritesANewerRow) {
  auto sink = Open({{"table", "ver"}, {"mode", "upsert"}, {"version", "at"}}, {"id"});
  ASSERT_NE(sink, nullptr);
  std::vector<Field> f = {{"id", DataType::Int64()}, {"v", DataType::String()}, {"at", DataType::Int64()}};
  ASSERT_TRUE(sink->Write(*MakeBatch("ver", f, {{"1", "a", "10"}, {"2", "b", "10"}})).ok());
  ASSERT_TRUE(sink->Commit(State("ver", "1", 2)).ok());
  // Key 1 comes late with an older version, key 2 with a newer one, key 3 is new.
  ASSERT_TRUE(sink->Write(*MakeBatch("ver", f, {{"1", "a-old", "9"}, {"2", "b-new", "11"}, {"3", "c", "1"}})).ok());
  ASSERT_TRUE(sink->Commit(State("ver", "2", 3)).ok());
  EXPECT_EQ(Query("SELECT id, v, at FROM ver ORDER BY id"),
            (Rows{{"1", "a", "10"}, {"2", "b-new", "11"}, {"3", "c", "1"}}));
}

TEST_F(MysqlSinkTest, UpsertOnAnExistingTableCreatesTheUniqueIndex) {
  Exec("CREATE TABLE ex (id BIGINT, name VARCHAR(20), note VARCHAR(20) DEFAULT 'kept')");
  Exec("INSERT INTO ex VALUES (1, 'old', 'mine')");
  auto sink = Open({{"table", "ex"}, {"mode", "upsert"}}, {"id"});
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(*MakeBatch("ex", IdName(), {{"1", "new"}, {"2", "two"}})).ok());
  ASSERT_TRUE(sink->Commit(State("ex", "1", 2)).ok());
  EXPECT_EQ(Query("SELECT id, name, note FROM ex ORDER BY id"),
            (Rows{{"1", "new", "mine"}, {"2", "two", "kept"}}));
  EXPECT_EQ(
      One("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND "
          "TABLE_NAME = 'ex' AND INDEX_NAME = 'ex__sluice_key'"),
      "1");
}

TEST_F(MysqlSinkTest, ReplicateAppliesOperationsAndUnchangedMarks) {
  auto sink = Open({{"table", "r"}, {"mode", "replicate"}}, {"id"});
  ASSERT_NE(sink, nullptr);
  std::vector<Field> f = {
      {"id", DataType::Int64()}, {"name", DataType::String()}, {"doc", DataType::String()}};
  ASSERT_TRUE(
      sink
          ->Write(*MakeBatch(
              "r", f,
              {{"1", "a", "big 1"}, {"2", "b", "big 2"}, {"3", "c", "big 3"}, {"4", "d", "big 4"}},
              "rrrr"))
          .ok());
  ASSERT_TRUE(sink->Commit(State("r", "1", 4)).ok());
  // id 1: update with the doc unchanged (not sent) -> keeps "big 1".
  // id 2: deleted.
  // id 3: deleted, then inserted again with the doc unchanged -> nothing holds it: NULL.
  // id 4: updated twice, the doc only in the first update -> that value.
  // id 5: inserted, updated, deleted -> absent.  id 6: deleted and inserted again -> the new row.
  auto batch = MakeBatch("r", f,
                         {{"1", "a2", std::nullopt},
                          {"2", std::nullopt, std::nullopt},
                          {"3", std::nullopt, std::nullopt},
                          {"3", "c2", std::nullopt},
                          {"4", "d2", "big 4b"},
                          {"4", "d3", std::nullopt},
                          {"5", "e", "x"},
                          {"5", "e2", "y"},
                          {"5", std::nullopt, std::nullopt},
                          {"6", std::nullopt, std::nullopt},
                          {"6", "f", "new"}},
                         "uddcuucudcc");
  auto marked = std::make_shared<RecordBatch>(*batch);
  marked->unchanged.assign(3, {});
  marked->unchanged[2] = {1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0};
  ASSERT_TRUE(sink->Write(*marked).ok());
  EXPECT_TRUE(sink->TakeRefused().empty());
  ASSERT_TRUE(sink->Commit(State("r", "2", 11)).ok());
  EXPECT_EQ(
      Query("SELECT id, name, doc FROM r ORDER BY id"),
      (Rows{{"1", "a2", "big 1"}, {"3", "c2", "NULL"}, {"4", "d3", "big 4b"}, {"6", "f", "new"}}));
}

TEST_F(MysqlSinkTest, UpsertRefusesDeletes) {
  auto sink = Open({{"table", "ud"}, {"mode", "upsert"}}, {"id"});
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(*MakeBatch("ud", IdName(), {{"1", "a"}, {"2", "b"}}, "cd")).ok());
  auto refused = sink->TakeRefused();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_NE(refused[0].reason.find("mode: replicate"), std::string::npos);
  ASSERT_TRUE(sink->Commit(State("ud", "1", 2)).ok());
  EXPECT_EQ(Query("SELECT id FROM ud"), (Rows{{"1"}}));
}

TEST_P(MysqlSinkMethodTest, RefusedRowsAreQuarantinedAndTheRestLoads) {
  Exec(
      "CREATE TABLE strict_t (id BIGINT PRIMARY KEY, name VARCHAR(5) NOT NULL, qty INT CHECK (qty "
      ">= 0), "
      "f DOUBLE)");
  std::vector<Field> f = {{"id", DataType::Int64()},
                          {"name", DataType::String()},
                          {"qty", DataType::Int64()},
                          {"f", DataType::Float64()}};
  TextRows rows;
  for (int i = 1; i <= 1000; ++i) {
    Cell name = "n" + std::to_string(i % 100);
    Cell qty = std::to_string(i);
    Cell fl = "1.5";
    if (i == 17) name = "far too long";  // 1406 data too long
    if (i == 500) name = std::nullopt;   // 1048 cannot be null
    if (i == 733) qty = "-1";            // 4025 CHECK constraint
    if (i == 734) qty = "99999999999";   // 1264 out of range
    if (i == 900) fl = "NaN";            // refused before the server
    rows.push_back({std::to_string(i), name, qty, fl});
  }
  rows.push_back({"5", "dup", "1", "1"});  // 1062 duplicate key
  auto sink = Open({{"table", "strict_t"}, {"load_method", GetParam()}});
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(*MakeBatch("strict_t", f, rows)).ok());
  auto refused = sink->TakeRefused();
  ASSERT_TRUE(sink->Commit(State("strict_t", "1", 1001)).ok());
  std::map<std::string, std::string> by_origin;
  for (const auto& r : refused) by_origin[r.origin] = r.reason;
  ASSERT_EQ(refused.size(), 6u);
  EXPECT_NE(by_origin["data/strict_t.csv:18"].find("error 1406"), std::string::npos)
      << by_origin["data/strict_t.csv:18"];
  EXPECT_NE(by_origin["data/strict_t.csv:18"].find("column 'name' (value 'far too long')"),
            std::string::npos);
  EXPECT_NE(by_origin["data/strict_t.csv:501"].find("error 1048"), std::string::npos)
      << by_origin["data/strict_t.csv:501"];
  EXPECT_NE(by_origin["data/strict_t.csv:734"].find("error 4025"), std::string::npos)
      << by_origin["data/strict_t.csv:734"];
  EXPECT_NE(by_origin["data/strict_t.csv:735"].find("error 1264"), std::string::npos)
      << by_origin["data/strict_t.csv:735"];
  EXPECT_NE(by_origin["data/strict_t.csv:901"].find("NaN"), std::string::npos);
  EXPECT_NE(by_origin["data/strict_t.csv:1002"].find("error 1062"), std::string::npos)
      << by_origin["data/strict_t.csv:1002"];
  EXPECT_EQ(refused[0].rule, "sink");
  EXPECT_NE(refused[0].raw.find("\"id\":"), std::string::npos);
  EXPECT_EQ(Query("SELECT COUNT(*), SUM(id) FROM strict_t"),
            (Rows{{"995", std::to_string(500500 - 17 - 500 - 733 - 734 - 900)}}));
}

TEST_F(MysqlSinkTest, QuotesEveryIdentifier) {
  Exec("CREATE TABLE x (a INT)");
  const std::string evil = "orders`; DROP TABLE x; --";
  std::vector<Field> f = {{"id", DataType::Int64()}, {"we`ird col", DataType::String()}};
  for (const char* method : {"load_data", "insert"}) {
    auto sink = Open({{"table", evil}, {"load_method", method}});
    ASSERT_NE(sink, nullptr);
    ASSERT_TRUE(sink->Write(*MakeBatch("s", f, {{"1", "v'1"}})).ok());
    ASSERT_TRUE(sink->Commit(State("s", "1", 1)).ok());
  }
  EXPECT_EQ(One("SELECT COUNT(*) FROM x"), "0");  // still there
  EXPECT_EQ(Query("SELECT id, `we``ird col` FROM `orders``; DROP TABLE x; --`"),
            (Rows{{"1", "v'1"}, {"1", "v'1"}}));
  auto up = Open({{"table", evil}, {"mode", "upsert"}, {"name", "up"}}, {"id"});
  ASSERT_NE(up, nullptr);
  Status st = up->Write(*MakeBatch("s", f, {{"1", "v"}}));
  // Two rows share id 1, so the unique index cannot be created: a clear error.
  EXPECT_EQ(st.code(), StatusCode::kPermanent) << st.ToString();
  EXPECT_NE(st.message().find("rows share a key"), std::string::npos) << st.message();
}

TEST_F(MysqlSinkTest, ReplaceStagesUntilFinishAndResumesAfterACrash) {
  Exec("CREATE TABLE rep (id BIGINT PRIMARY KEY, name VARCHAR(40))");
  Exec("INSERT INTO rep VALUES (100, 'old')");
  Exec("CREATE VIEW rep_v AS SELECT id FROM rep");
  {
    auto sink = Open({{"table", "rep"}, {"mode", "replace"}});
    ASSERT_NE(sink, nullptr);
    ASSERT_TRUE(sink->Write(*MakeBatch("rep", IdName(), IdNames(1, 3))).ok());
    ASSERT_TRUE(sink->Commit(State("rep", "3", 3)).ok());
    // Crash before the input ends.
  }
  EXPECT_EQ(Query("SELECT id FROM rep"), (Rows{{"100"}}));
  auto sink = Open({{"table", "rep"}, {"mode", "replace"}});
  ASSERT_NE(sink, nullptr);
  auto state = sink->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(At(*state, "rep", "file:/data/rep.csv"), "3");  // the staged run resumes
  ASSERT_TRUE(sink->Write(*MakeBatch("rep", IdName(), IdNames(4, 5))).ok());
  ASSERT_TRUE(sink->Commit(State("rep", "5", 2)).ok());
  EXPECT_EQ(Query("SELECT id FROM rep"), (Rows{{"100"}}));
  ASSERT_TRUE(sink->Finish().ok());
  EXPECT_EQ(Query("SELECT id FROM rep ORDER BY id"), (Rows{{"1"}, {"2"}, {"3"}, {"4"}, {"5"}}));
  EXPECT_EQ(Query("SELECT COUNT(*) FROM rep_v"), (Rows{{"5"}}));
  // The user's definition (its primary key) survives the refresh.
  EXPECT_EQ(
      One("SELECT COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND "
          "TABLE_NAME = 'rep' AND COLUMN_NAME = 'id'"),
      "PRI");
  EXPECT_EQ(One("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_NAME LIKE 'rep\\_\\_%'"),
            "0");
  EXPECT_EQ(One("SELECT `value` FROM _sluice_state WHERE sink = 'mysql' AND stream = 'rep'"), "5");
  EXPECT_EQ(One("SELECT COUNT(*) FROM _sluice_state WHERE sink = 'mysql#staging'"), "0");
  ASSERT_TRUE(sink->Close().ok());
  // A crash between the recorded swap and its end is finished by the next Open.
  Exec("CREATE TABLE rep__sluice_staging LIKE rep");
  Exec("INSERT INTO rep__sluice_staging VALUES (9, 'nine')");
  Exec(
      "INSERT INTO _sluice_state VALUES ('p', 'mysql#staging', '', 'swap', '[\"rep\"]', NOW()), "
      "('p', 'mysql#staging', 'rep', 'file:/data/rep.csv', '9', NOW())");
  auto recovered = Open({{"table", "rep"}, {"mode", "replace"}});
  ASSERT_NE(recovered, nullptr);
  EXPECT_EQ(Query("SELECT id FROM rep"), (Rows{{"9"}}));
  EXPECT_EQ(One("SELECT `value` FROM _sluice_state WHERE sink = 'mysql' AND stream = 'rep'"), "9");
}

TEST_F(MysqlSinkTest, ResetStateForgetsPositions) {
  auto sink = Open({{"table", "rs"}});
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(*MakeBatch("rs", IdName(), IdNames(1, 2))).ok());
  ASSERT_TRUE(sink->Commit(State("rs", "1", 2)).ok());
  ASSERT_TRUE(sink->ResetState("rs").ok());
  auto state = sink->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->count({"rs", "file:/data/rs.csv"}), 0u);
  EXPECT_EQ(state->count({"", kCountersKey}), 1u);
}

TEST_F(MysqlSinkTest, KilledConnectionIsTransientAndLeavesNothingPartial) {
  auto sink = Open({{"table", "k"}});
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->Write(*MakeBatch("k", IdName(), IdNames(1, 10))).ok());
  ASSERT_TRUE(sink->Commit(State("k", "1", 10)).ok());
  ASSERT_TRUE(sink->Write(*MakeBatch("k", IdName(), IdNames(11, 20))).ok());
  // Kill the sink's connections (every other connection to this test's database).
  for (const auto& row : Query("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '" + db_ +
                               "' AND ID <> CONNECTION_ID()")) {
    Exec("KILL " + row[0]);
  }
  Status st = sink->Write(*MakeBatch("k", IdName(), IdNames(21, 30)));
  if (st.ok()) st = sink->Commit(State("k", "2", 20));
  EXPECT_TRUE(st.IsTransient()) << st.ToString();
  (void)sink->Abort();
  EXPECT_EQ(Query("SELECT COUNT(*), MAX(id) FROM k"), (Rows{{"10", "10"}}));
  EXPECT_EQ(One("SELECT `value` FROM _sluice_state WHERE stream = 'k'"), "1");
}

TEST_F(MysqlSinkTest, TlsVerifiesTheServerAgainstTheCa) {
  if (ca_.empty()) GTEST_SKIP() << "SLUICE_MYSQL_CA is not set";
  for (const char* mode : {"verify-ca", "verify-full"}) {
    ConfigNode block = Block("sink", {{"dsn", Dsn()}, {"table", "tls_t"}});
    AddTls(block, mode, ca_);
    auto sink = MakeSink(block);
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    Status st = (*sink)->Open();
    EXPECT_TRUE(st.ok()) << mode << ": " << st.ToString();
  }
  // A CA that did not sign the server's certificate.
  const std::string wrong = "/tmp/sluice_it_wrong_ca.pem";
  ASSERT_EQ(std::system(("openssl req -new -x509 -days 1 -nodes -subj /CN=wrong -keyout "
                         "/tmp/sluice_it_wrong_ca.key "
                         "-out " +
                         wrong + " >/dev/null 2>&1")
                            .c_str()),
            0);
  ConfigNode block = Block("sink", {{"dsn", Dsn()}, {"table", "tls_t"}});
  AddTls(block, "verify-ca", wrong);
  auto sink = MakeSink(block);
  ASSERT_TRUE(sink.ok());
  Status st = (*sink)->Open();
  EXPECT_EQ(st.code(), StatusCode::kPermanent) << st.ToString();
  EXPECT_NE(st.message().find("TLS"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("certificate"), std::string::npos) << st.message();
}

TEST_F(MysqlSinkTest, WrongPasswordIsPermanentAndNeverShown) {
  auto sink =
      MakeSink(Block("sink", {{"dsn", Dsn(base_.user, "Secr3t-Wr0ng-pw")}, {"table", "t"}}));
  ASSERT_TRUE(sink.ok());
  EXPECT_EQ((*sink)->Describe().find("Secr3t"), std::string::npos);
  Status st = (*sink)->Open();
  EXPECT_EQ(st.code(), StatusCode::kPermanent) << st.ToString();
  EXPECT_NE(st.message().find("error 1045"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("check the user and password"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("Secr3t"), std::string::npos) << st.message();
}

TEST_F(MysqlSinkTest, UnreachableServerIsTransient) {
  auto sink = MakeSink(
      Block("sink", {{"dsn", "mysql://u:p@127.0.0.1:1/db?connect_timeout=2"}, {"table", "t"}}));
  ASSERT_TRUE(sink.ok());
  Status st = (*sink)->Open();
  EXPECT_TRUE(st.IsTransient()) << st.ToString();
}

TEST_F(MysqlSinkTest, ConfigErrorsNameTheOption) {
  auto no_key = MakeSink(Block("sink", {{"dsn", Dsn()}, {"mode", "upsert"}}));
  ASSERT_FALSE(no_key.ok());
  EXPECT_NE(no_key.status().message().find("sink.key"), std::string::npos);
  auto bad_dsn = MakeSink(Block("sink", {{"dsn", "postgres://u:hunter2@h/db"}}));
  ASSERT_FALSE(bad_dsn.ok());
  EXPECT_NE(bad_dsn.status().message().find("sink.dsn"), std::string::npos);
  EXPECT_EQ(bad_dsn.status().message().find("hunter2"), std::string::npos);
}

// The GRANTs the README lists are enough for every sink mode.
TEST_F(MysqlSinkTest, LeastPrivilegesOfTheReadmeAreEnough) {
  const std::string user = "sluice_w_" + std::to_string(getpid());
  Exec("DROP USER IF EXISTS '" + user + "'@'%'");
  Exec("CREATE USER '" + user + "'@'%' IDENTIFIED BY 'pw'");
  Exec("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP ON `" + db_ + "`.* TO '" +
       user + "'@'%'");
  for (const char* mode : {"append", "upsert", "replace"}) {
    std::vector<std::pair<std::string, std::vector<std::string>>> lists;
    if (std::string(mode) == "upsert") lists.push_back({"key", {"id"}});
    auto sink = MakeSink(Block(
        "sink", {{"dsn", Dsn(user, "pw")}, {"table", std::string("lp_") + mode}, {"mode", mode}},
        lists));
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE((*sink)->Open().ok()) << mode;
    ASSERT_TRUE((*sink)->Write(*MakeBatch("s", IdName(), IdNames(1, 3))).ok()) << mode;
    ASSERT_TRUE((*sink)->Commit(State("s", "1", 3)).ok()) << mode;
    Status st = (*sink)->Finish();
    EXPECT_TRUE(st.ok()) << mode << ": " << st.ToString();
    EXPECT_EQ(One(std::string("SELECT COUNT(*) FROM lp_") + mode), "3") << mode;
  }
  Exec("DROP USER '" + user + "'@'%'");
}

}  // namespace
}  // namespace sluice::testing
