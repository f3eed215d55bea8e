// The mysql source against a real server (SLUICE_MYSQL_DSN): the rows, types, rejects, skips and
// checkpoints it emits in each mode, and how it resumes from them.

#include <set>

#include "integration/mysql/mysql_test_env.h"

namespace sluice::testing {
namespace {

class MysqlSourceTest : public MysqlTest {
 protected:
  // Opens a source on this test's database and runs it to the end; the emitter keeps the output.
  Status Run(std::vector<std::pair<std::string, std::string>> opts,
             std::vector<std::pair<std::string, std::vector<std::string>>> lists,
             CollectingEmitter& out, const StateMap& committed = {},
             std::vector<std::string>* plan = nullptr) {
    opts.insert(opts.begin(), {"dsn", Dsn()});
    ASSIGN_OR_RETURN(auto source, MakeSource(Block("source", opts, lists)));
    RETURN_IF_ERROR(source->Open(committed));
    if (plan) *plan = source->DescribePlan();
    return source->Run(out);
  }
  Rows RunRows(std::vector<std::pair<std::string, std::string>> opts,
               const StateMap& committed = {},
               std::vector<std::pair<std::string, std::vector<std::string>>> lists = {}) {
    CollectingEmitter out;
    Status st = Run(std::move(opts), std::move(lists), out, committed);
    EXPECT_TRUE(st.ok()) << st.ToString();
    last_ = out.Positions();
    return out.AllRows();
  }
  StateMap last_;
};

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

TEST_F(MysqlSourceTest, FullSnapshotReadsEveryTypeInBothProtocols) {
  Exec(
      "CREATE TABLE all_types (id INT PRIMARY KEY, b BOOL, ti TINYINT, si SMALLINT UNSIGNED, mi "
      "MEDIUMINT, "
      "i INT, bi BIGINT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE, dec1 DECIMAL(10,3), dec2 "
      "DECIMAL(65,2), c CHAR(3), "
      "vc VARCHAR(20), tx TEXT, en ENUM('a','b'), st SET('x','y'), bn BINARY(2), vb VARBINARY(10), "
      "bl BLOB, "
      "dt DATE, tm TIME(3), dtt DATETIME(6), tsp TIMESTAMP(6) NULL, yr YEAR, bt BIT(10), j JSON, u "
      "UUID)");
  Exec(
      "INSERT INTO all_types VALUES (1, TRUE, -5, 65535, -8388608, 2147483647, "
      "-9223372036854775808, "
      "18446744073709551615, 0.1, 2.5e-300, -1234567.891, "
      "123456789012345678901234567890123456789012345678901234567890123.45, 'ab', 'héllo ☃', "
      "'long\ttext', 'b', "
      "'x,y', X'00FF', X'0102', X'DEADBEEF', '2026-02-03', '12:34:56.789', '2026-02-03 "
      "04:05:06.123456', "
      "'2026-02-03 04:05:06.5', 2024, b'1010101010', '{\"k\": [1, \"two\"]}', "
      "'123e4567-e89b-12d3-a456-426614174000')");
  Exec("INSERT INTO all_types (id) VALUES (2)");
  for (const char* protocol : {"text", "binary"}) {
    CollectingEmitter out;
    Status st = Run({{"table", "all_types"}, {"protocol", protocol}}, {}, out);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_FALSE(out.envelopes.empty());
    const auto& batch = out.envelopes[0].batch;
    ASSERT_NE(batch, nullptr);
    EXPECT_EQ(batch->schema()->ToString(),
              "id int64, b bool?, ti int64?, si int64?, mi int64?, i int64?, bi int64?, bu "
              "decimal(20,0)?, "
              "f float64?, d float64?, dec1 decimal(10,3)?, dec2 string?, c string?, vc string?, "
              "tx string?, "
              "en string?, st string?, bn binary?, vb binary?, bl binary?, dt date?, tm time?, dtt "
              "timestamp?, "
              "tsp timestamp_tz?, yr int64?, bt int64?, j json?, u string?")
        << protocol;
    Rows rows = out.AllRows();
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0], (std::vector<std::string>{
                           "1",
                           "true",
                           "-5",
                           "65535",
                           "-8388608",
                           "2147483647",
                           "-9223372036854775808",
                           "18446744073709551615",
                           "0.1",
                           "2.5e-300",
                           "-1234567.891",
                           "123456789012345678901234567890123456789012345678901234567890123.45",
                           "ab",
                           "héllo ☃",
                           "long\ttext",
                           "b",
                           "x,y",
                           std::string("\0\xff", 2),
                           "\x01\x02",
                           "\xde\xad\xbe\xef",
                           "2026-02-03",
                           "12:34:56.789000",
                           "2026-02-03 04:05:06.123456",
                           "2026-02-03 04:05:06.500000Z",
                           "2024",
                           "682",
                           "{\"k\": [1, \"two\"]}",
                           "123e4567-e89b-12d3-a456-426614174000"}))
        << protocol;
    std::vector<std::string> nulls(28, "NULL");
    nulls[0] = "2";
    EXPECT_EQ(rows[1], nulls) << protocol;
    EXPECT_EQ(At(out.Positions(), "all_types", "snapshot"), "{\"done\":true}");
  }
}

TEST_F(MysqlSourceTest, ATablePatternReadsEveryMatchingTable) {
  Exec("CREATE TABLE ord_1 (id INT PRIMARY KEY)");
  Exec("INSERT INTO ord_1 VALUES (1)");
  Exec("CREATE TABLE ord_2 (id INT PRIMARY KEY)");
  Exec("INSERT INTO ord_2 VALUES (2), (3)");
  Exec("CREATE TABLE other (id INT PRIMARY KEY)");
  Exec("INSERT INTO other VALUES (9)");
  CollectingEmitter out;
  ASSERT_TRUE(Run({}, {{"tables", {"ord_*"}}}, out).ok());
  std::set<std::string> streams;
  for (const auto& e : out.envelopes) {
    if (e.batch) streams.insert(e.batch->stream);
  }
  EXPECT_EQ(streams, (std::set<std::string>{"ord_1", "ord_2"}));
  EXPECT_EQ(out.AllRows(), (Rows{{"1"}, {"2"}, {"3"}}));
  CollectingEmitter none;
  Status st = Run({}, {{"tables", {"ordr_*"}}}, none);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("the pattern 'ordr_*' matches no table"), std::string::npos) << st.message();
}

TEST_F(MysqlSourceTest, UnsupportedTypesAreNamedAndCanBeLeftOut) {
  Exec("CREATE TABLE geo (id INT PRIMARY KEY, p POINT)");
  Exec("INSERT INTO geo VALUES (1, POINT(1, 2))");
  CollectingEmitter out;
  Status st = Run({{"table", "geo"}}, {}, out);
  EXPECT_EQ(st.code(), StatusCode::kPermanent);
  EXPECT_NE(st.message().find("column `p` has type point"), std::string::npos) << st.message();
  EXPECT_EQ(RunRows({{"table", "geo"}}, {}, {{"columns", {"id"}}}), (Rows{{"1"}}));
}

TEST_F(MysqlSourceTest, ValuesSluiceCannotHoldAreRejectedWithTheReason) {
  Exec("SET SESSION sql_mode = ''");
  Exec("CREATE TABLE z (id INT PRIMARY KEY, d DATE, t TIME)");
  Exec(
      "INSERT INTO z VALUES (1, '0000-00-00', '10:00:00'), (2, '2020-01-01', '30:00:00'), (3, "
      "'2020-01-01', '-01:00:00'), "
      "(4, '2020-01-02', '23:59:59')");
  for (const char* protocol : {"text", "binary"}) {
    CollectingEmitter out;
    ASSERT_TRUE(Run({{"table", "z"}, {"protocol", protocol}}, {}, out).ok());
    EXPECT_EQ(out.AllRows(), (Rows{{"4", "2020-01-02", "23:59:59"}})) << protocol;
    auto rejects = out.Rejects();
    ASSERT_EQ(rejects.size(), 3u) << protocol;
    EXPECT_EQ(rejects[0].origin, db_ + ".z:1");
    EXPECT_EQ(rejects[0].column, "d");
    EXPECT_NE(rejects[0].reason.find("zero date"), std::string::npos) << rejects[0].reason;
    EXPECT_EQ(rejects[1].column, "t");
    EXPECT_NE(rejects[1].reason.find("time of day"), std::string::npos) << rejects[1].reason;
    EXPECT_NE(rejects[1].raw.find("\"id\":"), std::string::npos) << rejects[1].raw;
  }
}

TEST_F(MysqlSourceTest, FullResumesAfterTheLastCommittedKey) {
  Exec("CREATE TABLE k2 (a INT, b VARCHAR(5), v INT, PRIMARY KEY (a, b))");
  Exec("INSERT INTO k2 VALUES (1, 'x', 1), (1, 'y', 2), (2, 'a', 3), (2, 'b', 4)");
  StateMap committed = {{{"k2", "snapshot"}, "{\"done\":false,\"after\":[1,\"y\"]}"}};
  CollectingEmitter out;
  std::vector<std::string> plan;
  ASSERT_TRUE(Run({{"table", "k2"}}, {}, out, committed, &plan).ok());
  EXPECT_EQ(out.AllRows(), (Rows{{"2", "a", "3"}, {"2", "b", "4"}}));
  EXPECT_NE(Joined(plan).find("resume after key [1,\"y\"]"), std::string::npos) << Joined(plan);
  // A finished read is a full refresh the next run: read again. Into a replace sink, whose
  // positions show a load not swapped in yet, it is not (the swap is all that is missing).
  EXPECT_EQ(RunRows({{"table", "k2"}}, {{{"k2", "snapshot"}, "{\"done\":true}"}}).size(), 4u);
  sink_mode_ = "replace";
  EXPECT_TRUE(RunRows({{"table", "k2"}}, {{{"k2", "snapshot"}, "{\"done\":true}"}}).empty());
  sink_mode_.clear();
}

TEST_F(MysqlSourceTest, BatchesCarryResumePointsAndKeylessTablesAreOneGroup) {
  Exec("CREATE TABLE big (id INT PRIMARY KEY, v INT)");
  Exec("INSERT INTO big SELECT seq, seq * 2 FROM seq_1_to_70000");
  Exec("CREATE TABLE nokey (v INT)");
  Exec("INSERT INTO nokey SELECT seq FROM seq_1_to_70000");
  CollectingEmitter out;
  ASSERT_TRUE(Run({}, {{"tables", {"big", "nokey"}}}, out).ok());
  std::vector<Envelope*> big, nokey;
  for (auto& e : out.envelopes) {
    if (e.batch && e.batch->stream == "big") big.push_back(&e);
    if (e.batch && e.batch->stream == "nokey") nokey.push_back(&e);
  }
  ASSERT_GE(big.size(), 2u);
  EXPECT_TRUE(big[0]->boundary);
  ASSERT_EQ(big[0]->positions.size(), 1u);
  EXPECT_EQ(big[0]->positions[0].value,
            "{\"done\":false,\"after\":[" + std::to_string(big[0]->batch->num_rows()) + "]}");
  ASSERT_GE(nokey.size(), 2u);
  EXPECT_FALSE(nokey[0]->boundary);
  EXPECT_TRUE(nokey[0]->positions.empty());
  EXPECT_TRUE(out.envelopes.back().boundary);
  EXPECT_EQ(out.envelopes.back().positions[0].value, "{\"done\":true}");
  EXPECT_EQ(out.AllRows().size(), 140000u);
}

TEST_F(MysqlSourceTest, IncrementalPagesByCursorAndKeyAndResumes) {
  Exec(
      "CREATE TABLE inc (id INT PRIMARY KEY, v VARCHAR(10), updated_at DATETIME(6), INDEX "
      "(updated_at, id))");
  Exec(
      "INSERT INTO inc VALUES (1, 'a', '2026-01-01 10:00:00'), (2, 'b', '2026-01-01 10:00:00'), "
      "(3, 'c', '2026-01-01 09:00:00'), (4, 'd', '2026-01-01 10:00:00'), (5, 'e', '2026-01-01 "
      "11:00:00')");
  auto opts = std::vector<std::pair<std::string, std::string>>{
      {"table", "inc"}, {"mode", "incremental"}, {"cursor", "updated_at"}, {"page_rows", "2"}};
  Rows first = RunRows(opts);
  Rows ids;
  for (auto& r : first) ids.push_back({r[0]});
  EXPECT_EQ(ids, (Rows{{"3"}, {"1"}, {"2"}, {"4"}, {"5"}}));
  EXPECT_EQ(At(last_, "inc", "cursor"), "{\"cursor\":\"2026-01-01 11:00:00\",\"key\":[5]}");
  // New rows on and after the checkpoint's cursor, and an old row updated.
  Exec("INSERT INTO inc VALUES (6, 'f', '2026-01-01 11:00:00'), (7, 'g', '2026-01-02 00:00:00')");
  Exec("UPDATE inc SET v = 'c2', updated_at = '2026-01-03 00:00:00' WHERE id = 3");
  Rows second = RunRows(opts, last_);
  EXPECT_EQ(second, (Rows{{"6", "f", "2026-01-01 11:00:00"},
                          {"7", "g", "2026-01-02 00:00:00"},
                          {"3", "c2", "2026-01-03 00:00:00"}}));
  EXPECT_TRUE(RunRows(opts, last_).empty());
}

TEST_F(MysqlSourceTest, LookbackCatchesLateRowsAndSkipsWhatItLoaded) {
  Exec("CREATE TABLE late (id INT PRIMARY KEY, updated_at DATETIME(6), INDEX (updated_at))");
  Exec(
      "INSERT INTO late VALUES (1, '2026-01-01 10:00:00'), (2, '2026-01-01 10:30:00'), (3, "
      "'2026-01-01 11:00:00')");
  auto with_lookback = std::vector<std::pair<std::string, std::string>>{
      {"table", "late"}, {"mode", "incremental"}, {"cursor", "updated_at"}, {"lookback", "45m"}};
  EXPECT_EQ(RunRows(with_lookback).size(), 3u);
  StateMap after_first = last_;
  // A transaction that started earlier commits a row below the checkpoint.
  Exec("INSERT INTO late VALUES (4, '2026-01-01 10:40:00'), (5, '2026-01-01 09:00:00')");
  CollectingEmitter out;
  ASSERT_TRUE(Run(with_lookback, {}, out, after_first).ok());
  EXPECT_EQ(out.AllRows(), (Rows{{"4", "2026-01-01 10:40:00"}}));  // 5 is older than the window
  EXPECT_EQ(out.Skipped(), 2);                                     // 2 and 3 were loaded already
  bool reason = false;
  for (auto& e : out.envelopes) reason |= e.skip_reason.find("lookback") != std::string::npos;
  EXPECT_TRUE(reason);
  // Without lookback the late row is missed: that is what lookback is for.
  auto plain = with_lookback;
  plain.pop_back();
  RunRows(plain);
  Exec("INSERT INTO late VALUES (6, '2026-01-01 10:50:00')");
  EXPECT_TRUE(RunRows(plain, last_).empty());
}

TEST_F(MysqlSourceTest, NullCursorsErrorSkipOrInclude) {
  Exec("CREATE TABLE nc (id INT PRIMARY KEY, updated_at DATETIME NULL)");
  Exec("INSERT INTO nc VALUES (1, NULL), (2, '2026-01-01 00:00:00'), (3, NULL)");
  auto opts = std::vector<std::pair<std::string, std::string>>{
      {"table", "nc"}, {"mode", "incremental"}, {"cursor", "updated_at"}};
  CollectingEmitter out;
  Status st = Run(opts, {}, out);
  EXPECT_EQ(st.code(), StatusCode::kPermanent);
  EXPECT_NE(st.message().find("has 2 row(s) whose cursor column `updated_at` is NULL"),
            std::string::npos)
      << st.message();
  auto skip = opts;
  skip.push_back({"null_cursor", "skip"});
  EXPECT_EQ(RunRows(skip), (Rows{{"2", "2026-01-01 00:00:00"}}));
  auto include = opts;
  include.push_back({"null_cursor", "include"});
  EXPECT_EQ(RunRows(include), (Rows{{"1", "NULL"}, {"3", "NULL"}, {"2", "2026-01-01 00:00:00"}}));
  Exec("INSERT INTO nc VALUES (4, NULL)");
  EXPECT_EQ(RunRows(include, last_), (Rows{{"4", "NULL"}}));
}

TEST_F(MysqlSourceTest, DeletedFlagBecomesDeleteOperations) {
  Exec("CREATE TABLE soft (id INT PRIMARY KEY, is_deleted BOOL, updated_at INT)");
  Exec("INSERT INTO soft VALUES (1, 0, 1), (2, 1, 2), (3, NULL, 3)");
  CollectingEmitter out;
  ASSERT_TRUE(Run({{"table", "soft"},
                   {"mode", "incremental"},
                   {"cursor", "updated_at"},
                   {"deleted_flag", "is_deleted"}},
                  {}, out)
                  .ok());
  ASSERT_NE(out.envelopes[0].batch, nullptr);
  EXPECT_EQ(std::string(out.envelopes[0].batch->ops.begin(), out.envelopes[0].batch->ops.end()),
            "udu");
}

TEST_F(MysqlSourceTest, QueryModeBindsTheCursor) {
  Exec("CREATE TABLE q (id INT PRIMARY KEY, v VARCHAR(10), n INT)");
  Exec("INSERT INTO q VALUES (1, ':cursor', 10), (2, 'b', 20), (3, 'c', 30)");
  auto opts = std::vector<std::pair<std::string, std::string>>{
      {"mode", "query"},
      {"stream", "qs"},
      {"cursor", "n"},
      {"query",
       "SELECT id, v, n FROM q WHERE (:cursor IS NULL OR n > :cursor) AND v <> ':cursor' -- "
       ":cursor\n ORDER BY n"}};
  EXPECT_EQ(RunRows(opts), (Rows{{"2", "b", "20"}, {"3", "c", "30"}}));
  EXPECT_EQ(At(last_, "qs", "cursor"), "{\"cursor\":30}");
  Exec("INSERT INTO q VALUES (4, 'd', 40)");
  EXPECT_EQ(RunRows(opts, last_), (Rows{{"4", "d", "40"}}));
  auto initial = opts;
  initial.push_back({"initial_cursor", "25"});
  EXPECT_EQ(RunRows(initial), (Rows{{"3", "c", "30"}, {"4", "d", "40"}}));
}

TEST_F(MysqlSourceTest, PlanWarnsAboutAnUnindexedCursorAndShowsTheExplain) {
  Exec("CREATE TABLE slow (id INT PRIMARY KEY, updated_at DATETIME)");
  CollectingEmitter out;
  std::vector<std::string> plan;
  ASSERT_TRUE(Run({{"table", "slow"}, {"mode", "incremental"}, {"cursor", "updated_at"}}, {}, out,
                  {}, &plan)
                  .ok());
  const std::string text = Joined(plan);
  EXPECT_NE(text.find("warning: no index starts with the cursor column `updated_at`"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("EXPLAIN page query: type="), std::string::npos) << text;
  EXPECT_NE(text.find("warning: deletes are not seen"), std::string::npos) << text;
  Exec("CREATE INDEX slow_u ON slow (updated_at)");
  ASSERT_TRUE(Run({{"table", "slow"}, {"mode", "incremental"}, {"cursor", "updated_at"}}, {}, out,
                  {}, &plan)
                  .ok());
  EXPECT_EQ(Joined(plan).find("no index"), std::string::npos) << Joined(plan);
}

// The README's GRANT for the source is enough for full and incremental reads.
TEST_F(MysqlSourceTest, SourceNeedsOnlySelect) {
  Exec("CREATE TABLE ro (id INT PRIMARY KEY, updated_at INT, j JSON)");
  Exec("INSERT INTO ro VALUES (1, 1, '[1]'), (2, 2, NULL)");
  const std::string user = "sluice_r_" + std::to_string(getpid());
  Exec("DROP USER IF EXISTS '" + user + "'@'%'");
  Exec("CREATE USER '" + user + "'@'%' IDENTIFIED BY 'pw'");
  Exec("GRANT SELECT ON `" + db_ + "`.* TO '" + user + "'@'%'");
  for (const char* mode : {"full", "incremental"}) {
    CollectingEmitter out;
    std::vector<std::pair<std::string, std::string>> opts = {
        {"dsn", Dsn(user, "pw")}, {"table", "ro"}, {"mode", mode}};
    if (std::string(mode) == "incremental") opts.push_back({"cursor", "updated_at"});
    auto source = MakeSource(Block("source", opts));
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    ASSERT_TRUE((*source)->Open({}).ok()) << mode;
    Status st = (*source)->Run(out);
    EXPECT_TRUE(st.ok()) << mode << ": " << st.ToString();
    EXPECT_EQ(out.AllRows(), (Rows{{"1", "1", "[1]"}, {"2", "2", "NULL"}})) << mode;
    ASSERT_NE(out.envelopes[0].batch, nullptr);
    EXPECT_EQ(out.envelopes[0].batch->schema()->field(2).type.ToString(), "json") << mode;
  }
  Exec("DROP USER '" + user + "'@'%'");
}

TEST_F(MysqlSourceTest, ConfigErrorsNameTheOption) {
  auto no_cursor =
      MakeSource(Block("source", {{"dsn", Dsn()}, {"table", "t"}, {"mode", "incremental"}}));
  ASSERT_FALSE(no_cursor.ok());
  EXPECT_NE(no_cursor.status().message().find("source.cursor"), std::string::npos);
  auto no_table = MakeSource(Block("source", {{"dsn", Dsn()}}));
  ASSERT_FALSE(no_table.ok());
  EXPECT_NE(no_table.status().message().find("source.table"), std::string::npos);
  Exec("CREATE TABLE s (id INT PRIMARY KEY, name VARCHAR(3))");
  CollectingEmitter out;
  Status st = Run({{"table", "s"}, {"mode", "incremental"}, {"cursor", "name"}, {"lookback", "5m"}},
                  {}, out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("source.lookback"), std::string::npos) << st.message();
  st = Run({{"table", "missing"}}, {}, out);
  EXPECT_NE(st.message().find("does not exist"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace sluice::testing
