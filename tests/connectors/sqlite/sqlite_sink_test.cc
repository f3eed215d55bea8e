#include "connectors/sqlite/sqlite_sink.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/record_batch.h"
#include "core/values.h"

namespace sluice {
namespace {

using Rows = std::vector<std::vector<std::string>>;

// A temporary directory per test, removed at the end.
class SqliteSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice_sqlite_sink_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    RegisterSqliteConnector(registry_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string db_path() const { return dir_ + "/wh.db"; }

  // The sink as the runtime creates it: options validated against the schema, then make_sink.
  Result<std::unique_ptr<Sink>> Make(std::vector<std::pair<std::string, std::string>> opts,
                                     std::vector<std::string> key = {}) {
    ConfigNode block;
    block.SetKind(ConfigNode::Kind::kMap);
    block.SetLocation("sink", 1);
    block.AddEntry("type", ConfigNode::Scalar("sqlite", "sink.type"));
    block.AddEntry("path", ConfigNode::Scalar("wh.db", "sink.path"));
    for (auto& [k, v] : opts) block.AddEntry(k, ConfigNode::Scalar(v, "sink." + k));
    if (!key.empty()) {
      ConfigNode list;
      list.SetKind(ConfigNode::Kind::kList);
      list.SetLocation("sink.key", 1);
      for (auto& k : key) list.AddItem(ConfigNode::Scalar(k, "sink.key[]"));
      block.AddEntry("key", std::move(list));
    }
    const ConnectorInfo* info = registry_.Find("sink", "sqlite");
    if (!info) return Status::NotFound("sqlite sink not registered");
    RETURN_IF_ERROR(ValidateOptions(block, info->options));
    ConnectorContext ctx;
    ctx.pipeline = "orders_pipeline";
    ctx.base_dir = dir_;
    return info->make_sink(ctx, block);
  }

  // An opened sink; fails the test on error.
  std::unique_ptr<Sink> Open(std::vector<std::pair<std::string, std::string>> opts = {},
                             std::vector<std::string> key = {}) {
    auto sink = Make(std::move(opts), std::move(key));
    EXPECT_TRUE(sink.ok()) << sink.status().ToString();
    if (!sink.ok()) return nullptr;
    Status st = (*sink)->Open();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return std::move(*sink);
  }

  // What a user sees with the sqlite3 API, on a separate connection: text of every value, NULL
  // as "NULL".
  Rows Query(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    Rows rows;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      rows.push_back({std::string("ERROR: ") + sqlite3_errmsg(db)});
    } else {
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        std::vector<std::string> row;
        for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
          if (sqlite3_column_type(stmt, i) == SQLITE_NULL) {
            row.push_back("NULL");
          } else {
            const char* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
            row.emplace_back(p, static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
          }
        }
        rows.push_back(std::move(row));
      }
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows;
  }

  std::string dir_;
  ConnectorRegistry registry_;
};

SchemaPtr IdName() {
  return std::make_shared<Schema>(
      std::vector<Field>{{"id", DataType::Int64()}, {"name", DataType::String()}});
}

// Rows of (id, name); an empty name is null.
RecordBatchPtr Batch(const std::string& stream,
                     const std::vector<std::pair<int64_t, std::string>>& rows,
                     SchemaPtr schema = IdName()) {
  RecordBatchBuilder b(schema);
  int64_t line = 2;
  for (const auto& [id, name] : rows) {
    b.column(0).AppendInt64(id);
    if (name.empty()) b.column(1).AppendNull();
    else b.column(1).AppendBytes(name);
    b.CommitRow(line++);
  }
  return b.Finish(stream, "data/orders.csv");
}

CommitState State(const std::string& stream, const std::string& offset, int64_t rows) {
  CommitState s;
  s.positions.push_back({stream, "file:/data/orders.csv", "{\"offset\":" + offset + "}"});
  s.counters.rows_in = rows;
  s.counters.rows_out = rows;
  s.counters.bytes_in = static_cast<uint64_t>(rows) * 10;
  return s;
}

void Ok(const Status& st) { ASSERT_TRUE(st.ok()) << st.ToString(); }

const std::pair<std::string, std::string> kPos{"orders", "file:/data/orders.csv"};

TEST_F(SqliteSinkTest, RegistersAsExactlyOnceSinkWithDocumentedOptions) {
  const ConnectorInfo* info = registry_.Find("sink", "sqlite");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->delivery, "exactly-once");
  std::vector<std::string> names;
  for (const auto& o : info->options) {
    names.push_back(o.name);
    EXPECT_FALSE(o.doc.empty()) << o.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"path", "table", "mode", "key", "version", "name"}));
  auto sink = Open({{"table", "orders"}, {"mode", "upsert"}}, {"id"});
  ASSERT_TRUE(sink);
  EXPECT_EQ(sink->Describe(), "sqlite wh.db table orders (upsert)");
  EXPECT_TRUE(sink->transactional());
}

TEST_F(SqliteSinkTest, CommittedRowsAndPositionsSurviveANewInstance) {
  {
    auto sink = Open();
    ASSERT_TRUE(sink);
    auto loaded = sink->LoadState();
    ASSERT_TRUE(loaded.ok());
    EXPECT_TRUE(loaded->empty());
    Ok(sink->Write(*Batch("orders", {{1, "ann"}, {2, "bob"}})));
    Ok(sink->Write(*Batch("orders", {{3, ""}})));
    Ok(sink->Commit(State("orders", "42", 3)));
    Ok(sink->Close());
  }
  EXPECT_EQ(Query("SELECT id, name FROM orders ORDER BY id"),
            (Rows{{"1", "ann"}, {"2", "bob"}, {"3", "NULL"}}));
  auto sink = Open();
  ASSERT_TRUE(sink);
  auto loaded = sink->LoadState();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->at(kPos), "{\"offset\":42}");
  EXPECT_EQ(Query("SELECT pipeline, sink, stream, key, value FROM _sluice_state WHERE stream <> ''"),
            (Rows{{"orders_pipeline", "sqlite", "orders", "file:/data/orders.csv", "{\"offset\":42}"}}));
}

TEST_F(SqliteSinkTest, AbortedGroupLeavesNeitherRowsNorState) {
  auto sink = Open();
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Batch("orders", {{1, "ann"}})));
  Ok(sink->Commit(State("orders", "10", 1)));
  Ok(sink->Write(*Batch("orders", {{2, "bob"}})));
  Ok(sink->Abort());
  EXPECT_EQ(Query("SELECT id FROM orders"), (Rows{{"1"}}));
  auto loaded = sink->LoadState();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->at(kPos), "{\"offset\":10}");
  // The sink goes on after an abort.
  Ok(sink->Write(*Batch("orders", {{2, "bob"}})));
  Ok(sink->Commit(State("orders", "20", 1)));
  EXPECT_EQ(Query("SELECT id FROM orders ORDER BY id"), (Rows{{"1"}, {"2"}}));
}

TEST_F(SqliteSinkTest, CrashBeforeCommitLeavesNeitherRowsNorState) {
  {
    auto sink = Open();
    ASSERT_TRUE(sink);
    Ok(sink->Write(*Batch("orders", {{1, "ann"}})));
    // Destroyed without Commit: what a crash does.
  }
  EXPECT_EQ(Query("SELECT count(*) FROM sqlite_master WHERE name = 'orders'"), (Rows{{"0"}}));
  {
    auto sink = Open();
    ASSERT_TRUE(sink);
    auto loaded = sink->LoadState();
    ASSERT_TRUE(loaded.ok());
    EXPECT_TRUE(loaded->empty());
    Ok(sink->Write(*Batch("orders", {{1, "ann"}})));
    Ok(sink->Commit(State("orders", "10", 1)));
    Ok(sink->Write(*Batch("orders", {{2, "bob"}, {3, "cy"}})));
  }
  EXPECT_EQ(Query("SELECT id FROM orders"), (Rows{{"1"}}));
  auto sink = Open();
  ASSERT_TRUE(sink);
  auto loaded = sink->LoadState();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->at(kPos), "{\"offset\":10}");
}

TEST_F(SqliteSinkTest, CountersAccumulateAcrossGroupsAndRuns) {
  for (int run = 0; run < 2; ++run) {
    auto sink = Open();
    ASSERT_TRUE(sink);
    Ok(sink->Write(*Batch("orders", {{1, "ann"}, {2, "bob"}})));
    Ok(sink->Commit(State("orders", "1", 2)));
    // A group whose rows were all quarantined still commits its state and counts.
    CommitState quarantined = State("orders", "2", 0);
    quarantined.counters.rows_in = 3;
    quarantined.counters.rows_quarantined = 3;
    Ok(sink->Commit(quarantined));
  }
  auto sink = Open();
  ASSERT_TRUE(sink);
  auto loaded = sink->LoadState();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->at(kPos), "{\"offset\":2}");
  auto counters = nlohmann::json::parse(loaded->at({"", "counters"}));
  EXPECT_EQ(counters["rows_in"], 10);
  EXPECT_EQ(counters["rows_out"], 4);
  EXPECT_EQ(counters["rows_quarantined"], 6);
  EXPECT_EQ(counters["bytes_in"], 40);
  EXPECT_EQ(Query("SELECT count(*) FROM orders"), (Rows{{"4"}}));
}

TEST_F(SqliteSinkTest, EveryTypeRoundTripsInItsDocumentedForm) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{
      {"b", DataType::Bool()},
      {"i", DataType::Int64()},
      {"f", DataType::Float64()},
      {"d", DataType::Decimal(12, 2)},
      {"s", DataType::String()},
      {"bin", DataType::Binary()},
      {"day", DataType::Date()},
      {"t", DataType::Time()},
      {"ts", DataType::Timestamp(false)},
      {"tstz", DataType::Timestamp(true)},
      {"j", DataType::Json()},
  });
  RecordBatchBuilder b(schema);
  int128_t dec;
  int32_t day;
  int64_t t, ts, tstz;
  bool zone;
  ASSERT_TRUE(ParseDecimal("12.5", 12, 2, &dec));
  ASSERT_TRUE(ParseDate("2024-02-29", &day));
  ASSERT_TRUE(ParseTime("08:30:00.25", &t));
  ASSERT_TRUE(ParseTimestamp("2024-01-01 10:00:00", &ts, &zone));
  ASSERT_TRUE(ParseTimestamp("2024-01-01T10:00:00.5+02:00", &tstz, &zone));
  b.column(0).AppendBool(true);
  b.column(1).AppendInt64(INT64_MIN);
  b.column(2).AppendFloat64(0.1);
  b.column(3).AppendDecimal(dec);
  b.column(4).AppendBytes("héllo, \"world\"");
  b.column(5).AppendBytes(std::string_view("\0\x01\xff", 3));
  b.column(6).AppendDate(day);
  b.column(7).AppendInt64(t);
  b.column(8).AppendInt64(ts);
  b.column(9).AppendInt64(tstz);
  b.column(10).AppendBytes("{\"a\":[1,2]}");
  b.CommitRow(2);
  b.column(0).AppendBool(false);
  b.column(1).AppendInt64(INT64_MAX);
  b.column(2).AppendFloat64(std::numeric_limits<double>::quiet_NaN());
  ASSERT_TRUE(ParseDecimal("-0.05", 12, 2, &dec));
  b.column(3).AppendDecimal(dec);
  b.column(4).AppendBytes("");
  b.column(5).AppendBytes("");
  for (size_t c = 6; c < 11; ++c) b.column(c).AppendNull();
  b.CommitRow(3);
  for (size_t c = 0; c < 11; ++c) b.column(c).AppendNull();
  b.CommitRow(4);

  auto sink = Open({{"table", "typed"}});
  ASSERT_TRUE(sink);
  Ok(sink->Write(*b.Finish("s", "typed.csv")));
  Ok(sink->Commit(CommitState{}));

  EXPECT_EQ(Query("SELECT name, type FROM pragma_table_info('typed')"),
            (Rows{{"b", "INTEGER"},
                  {"i", "INTEGER"},
                  {"f", "REAL"},
                  {"d", "TEXT"},
                  {"s", "TEXT"},
                  {"bin", "BLOB"},
                  {"day", "TEXT"},
                  {"t", "TEXT"},
                  {"ts", "TEXT"},
                  {"tstz", "TEXT"},
                  {"j", "TEXT"}}));
  EXPECT_EQ(Query("SELECT typeof(b), b, typeof(i), i, typeof(f), f, typeof(d), d, s, "
                  "typeof(bin), hex(bin), day, t, ts, tstz, j, json_extract(j, '$.a[1]') "
                  "FROM typed ORDER BY rowid"),
            (Rows{{"integer", "1", "integer", "-9223372036854775808", "real", "0.1", "text",
                   "12.50", "héllo, \"world\"", "blob", "0001FF", "2024-02-29", "08:30:00.250000",
                   "2024-01-01 10:00:00", "2024-01-01 08:00:00.500000Z", "{\"a\":[1,2]}", "2"},
                  {"integer", "0", "integer", "9223372036854775807", "text", "NaN", "text",
                   "-0.05", "", "blob", "", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
                  {"null", "NULL", "null", "NULL", "null", "NULL", "null", "NULL", "NULL", "null",
                   "", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"}}));
  // The exact double comes back, not a rounded print of it.
  EXPECT_EQ(Query("SELECT f = 0.1 FROM typed WHERE rowid = 1"), (Rows{{"1"}}));
}

// The stored text is exactly core/values.h's text form, over the whole range of each type.
TEST_F(SqliteSinkTest, TextFormsMatchTheCoreFormatters) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{
      {"dec0", DataType::Decimal(38, 0)},
      {"dec2", DataType::Decimal(12, 2)},
      {"dec38", DataType::Decimal(38, 38)},
      {"day", DataType::Date()},
      {"t", DataType::Time()},
      {"ts", DataType::Timestamp(false)},
      {"tstz", DataType::Timestamp(true)},
  });
  const int128_t big = static_cast<int128_t>(UINT64_MAX) * 1000 + 7;
  std::vector<int128_t> decimals = {0, 1, -1, 5, -5, 99, 100, -100, 1250, -1250, 123456789,
                                    static_cast<int128_t>(INT64_MAX), static_cast<int128_t>(INT64_MIN),
                                    static_cast<int128_t>(UINT64_MAX), big, -big};
  std::vector<int64_t> days = {0, -1, 1, 59, 60, 365, -719528, -719529, 2932896, 2932897,
                               INT32_MAX, INT32_MIN, 19782, -25567};
  std::vector<int64_t> micros = {0, 1, 999999, 1000000, 86399999999, 86400000000, -1,
                                 -86400000000, 1704067200123456, -62167219200000000,
                                 253402300799999999, 253402300800000000, INT64_MAX, INT64_MIN};
  const size_t n = std::max({decimals.size(), days.size(), micros.size()});
  RecordBatchBuilder b(schema);
  for (size_t i = 0; i < n; ++i) {
    for (int c = 0; c < 3; ++c) b.column(c).AppendDecimal(decimals[i % decimals.size()]);
    b.column(3).AppendDate(static_cast<int32_t>(days[i % days.size()]));
    int64_t m = micros[i % micros.size()];
    b.column(4).AppendInt64(m >= 0 && m < 86400000000 ? m : 45296000001);
    b.column(5).AppendInt64(m);
    b.column(6).AppendInt64(m);
    b.CommitRow(static_cast<int64_t>(i));
  }
  auto batch = b.Finish("s", "");
  auto sink = Open({{"table", "forms"}});
  ASSERT_TRUE(sink);
  Ok(sink->Write(*batch));
  Ok(sink->Commit(CommitState{}));
  Rows expected;
  for (int64_t r = 0; r < batch->num_rows(); ++r) {
    std::vector<std::string> row;
    for (size_t c = 0; c < schema->size(); ++c) {
      std::string text;
      AppendValueText(batch->column(c), r, text);
      row.push_back(text);
    }
    expected.push_back(row);
  }
  EXPECT_EQ(Query("SELECT * FROM forms ORDER BY rowid"), expected);
}

TEST_F(SqliteSinkTest, NewColumnsAreAddedAndMissingOnesAreNull) {
  auto sink = Open({{"table", "people"}});
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Batch("s", {{1, "ann"}})));
  Ok(sink->Commit(CommitState{}));
  auto wider = std::make_shared<Schema>(std::vector<Field>{
      {"ID", DataType::Int64()}, {"email", DataType::String()}, {"score", DataType::Decimal(5, 1)}});
  RecordBatchBuilder b(wider);
  b.column(0).AppendInt64(2);
  b.column(1).AppendBytes("b@x.org");
  b.column(2).AppendDecimal(15);
  b.CommitRow(2);
  Ok(sink->Write(*b.Finish("s", "")));
  Ok(sink->Commit(CommitState{}));
  // "ID" is the existing column "id": SQLite names ignore case.
  EXPECT_EQ(Query("SELECT name, type FROM pragma_table_info('people')"),
            (Rows{{"id", "INTEGER"}, {"name", "TEXT"}, {"email", "TEXT"}, {"score", "TEXT"}}));
  EXPECT_EQ(Query("SELECT id, name, email, score FROM people ORDER BY id"),
            (Rows{{"1", "ann", "NULL", "NULL"}, {"2", "NULL", "b@x.org", "1.5"}}));
}

TEST_F(SqliteSinkTest, ManyRowsUseEveryInsertPath) {
  auto sink = Open();
  ASSERT_TRUE(sink);
  std::vector<std::pair<int64_t, std::string>> rows;
  for (int64_t i = 0; i < 1000; ++i) {
    std::string name;
    if (i % 7) name.append("n").append(std::to_string(i));
    rows.emplace_back(i, name);
  }
  Ok(sink->Write(*Batch("orders", rows)));
  Ok(sink->Commit(State("orders", "1", 1000)));
  EXPECT_EQ(Query("SELECT count(*), sum(id), count(name), max(name) FROM orders"),
            (Rows{{"1000", "499500", "857", "n999"}}));
}

TEST_F(SqliteSinkTest, UpsertKeepsTheLastVersionOfEachKey) {
  auto sink = Open({{"mode", "upsert"}, {"table", "customers"}}, {"id"});
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Batch("c", {{1, "ann"}, {2, "bob"}, {1, "ann v2"}})));
  Ok(sink->Write(*Batch("c", {{3, "cy"}, {1, "ann v3"}})));
  Ok(sink->Commit(State("c", "1", 5)));
  Ok(sink->Write(*Batch("c", {{2, "bob v2"}, {4, "dee"}})));
  Ok(sink->Commit(State("c", "2", 2)));
  // The same group delivered again (a source that replays after a crash) changes nothing.
  Ok(sink->Write(*Batch("c", {{2, "bob v2"}, {4, "dee"}})));
  Ok(sink->Commit(State("c", "2", 2)));
  EXPECT_EQ(Query("SELECT id, name FROM customers ORDER BY id"),
            (Rows{{"1", "ann v3"}, {"2", "bob v2"}, {"3", "cy"}, {"4", "dee"}}));
  EXPECT_EQ(Query("SELECT name, \"unique\" FROM pragma_index_list('customers')"),
            (Rows{{"customers__sluice_key", "1"}}));
}

TEST_F(SqliteSinkTest, UpsertWithVersionNeverOverwritesANewerRow) {
  // `name` holds an ISO timestamp here: the version of the row.
  auto sink = Open({{"mode", "upsert"}, {"table", "v"}, {"version", "name"}}, {"id"});
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Batch("c", {{1, "2026-01-02T00:00:00"}, {2, "2026-01-02T00:00:00"}})));
  Ok(sink->Commit(State("c", "1", 2)));
  // A late row (older) and a replayed one (the same version) and a newer one.
  Ok(sink->Write(*Batch("c", {{1, "2026-01-01T23:59:59"}, {2, "2026-01-03T00:00:00"}, {3, "2026-01-01T00:00:00"}})));
  Ok(sink->Commit(State("c", "2", 3)));
  EXPECT_EQ(Query("SELECT id, name FROM v ORDER BY id"),
            (Rows{{"1", "2026-01-02T00:00:00"}, {"2", "2026-01-03T00:00:00"}, {"3", "2026-01-01T00:00:00"}}));

  auto bad = Open({{"mode", "upsert"}, {"table", "v"}, {"version", "nope"}}, {"id"});
  ASSERT_TRUE(bad);
  Status st = bad->Write(*Batch("c", {{1, "x"}}));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("sink.version: column 'nope' is not in the rows"), std::string::npos) << st.message();
}

TEST_F(SqliteSinkTest, UpsertOnATableWithTheKeyAsPrimaryKeyAddsNoIndex) {
  {
    auto sink = Open({{"table", "t"}});  // just to create the file
  }
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '?', "
                             "extra TEXT); INSERT INTO t VALUES (1, 'old', 'keep')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto sink = Open({{"mode", "upsert"}, {"table", "t"}}, {"id"});
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Batch("s", {{1, "new"}, {2, "two"}})));
  Ok(sink->Commit(CommitState{}));
  // A column the rows lack keeps its value on update and gets its default (NULL) on insert.
  EXPECT_EQ(Query("SELECT id, name, extra FROM t ORDER BY id"),
            (Rows{{"1", "new", "keep"}, {"2", "two", "NULL"}}));
  EXPECT_EQ(Query("SELECT count(*) FROM pragma_index_list('t')"), (Rows{{"0"}}));
}

TEST_F(SqliteSinkTest, UpsertOnATableWithDuplicateKeysSaysWhy) {
  {
    auto sink = Open({{"table", "dups"}});
    ASSERT_TRUE(sink);
    Ok(sink->Write(*Batch("s", {{1, "a"}, {1, "b"}})));
    Ok(sink->Commit(CommitState{}));
  }
  auto sink = Open({{"mode", "upsert"}, {"table", "dups"}}, {"id"});
  ASSERT_TRUE(sink);
  Status st = sink->Write(*Batch("s", {{2, "c"}}));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("\"dups\" has rows with the same key (id)"), std::string::npos)
      << st.message();
  Ok(sink->Abort());
  EXPECT_EQ(Query("SELECT count(*) FROM dups"), (Rows{{"2"}}));
}

TEST_F(SqliteSinkTest, UpsertRefusesANullKey) {
  auto sink = Open({{"mode", "upsert"}, {"table", "t"}}, {"name"});
  ASSERT_TRUE(sink);
  Status st = sink->Write(*Batch("s", {{1, "a"}, {2, ""}}));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("key column 'name' is null in the row from data/orders.csv:3"),
            std::string::npos)
      << st.message();
}

TEST_F(SqliteSinkTest, UpsertWithoutKeyIsAConfigError) {
  auto sink = Make({{"mode", "upsert"}});
  ASSERT_FALSE(sink.ok());
  EXPECT_TRUE(sink.status().IsInvalidArgument());
  EXPECT_NE(sink.status().message().find("sink.key"), std::string::npos) << sink.status().message();
  auto bad_mode = Make({{"mode", "merge"}});
  ASSERT_FALSE(bad_mode.ok());
  EXPECT_NE(bad_mode.status().message().find("append, upsert, replace"), std::string::npos);
}

TEST_F(SqliteSinkTest, UpsertKeyMissingFromTheRowsNamesTheOption) {
  auto sink = Open({{"mode", "upsert"}, {"table", "t"}}, {"order_id"});
  ASSERT_TRUE(sink);
  Status st = sink->Write(*Batch("s", {{1, "a"}}));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("sink.key: column 'order_id'"), std::string::npos) << st.message();
}

TEST_F(SqliteSinkTest, ReplaceShowsTheOldTableUntilFinish) {
  {
    auto sink = Open({{"mode", "replace"}});
    ASSERT_TRUE(sink);
    Ok(sink->Write(*Batch("orders", {{1, "old"}, {2, "old"}})));
    Ok(sink->Commit(State("orders", "1", 2)));
    Ok(sink->Finish());
  }
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE VIEW named AS SELECT name FROM orders", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto sink = Open({{"mode", "replace"}});
  ASSERT_TRUE(sink);
  auto loaded = sink->LoadState();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->count(kPos), 0u) << "a replace run starts from scratch";
  Ok(sink->Write(*Batch("orders", {{7, "new"}})));
  Ok(sink->Commit(State("orders", "9", 1)));
  Ok(sink->Write(*Batch("orders", {{8, "new"}})));
  Ok(sink->Commit(State("orders", "10", 1)));
  EXPECT_EQ(Query("SELECT id, name FROM orders ORDER BY id"), (Rows{{"1", "old"}, {"2", "old"}}));
  Ok(sink->Finish());
  EXPECT_EQ(Query("SELECT id, name FROM orders ORDER BY id"), (Rows{{"7", "new"}, {"8", "new"}}));
  EXPECT_EQ(Query("SELECT name FROM named"), (Rows{{"new"}, {"new"}}));
  EXPECT_EQ(Query("SELECT count(*) FROM sqlite_master WHERE name LIKE '%staging%'"), (Rows{{"0"}}));
  EXPECT_EQ(Query("SELECT sink, value FROM _sluice_state WHERE stream = 'orders'"),
            (Rows{{"sqlite", "{\"offset\":10}"}}));
}

TEST_F(SqliteSinkTest, CrashedReplaceResumesIntoItsStagingTable) {
  {
    auto sink = Open({{"mode", "replace"}});
    ASSERT_TRUE(sink);
    Ok(sink->Write(*Batch("orders", {{1, "old"}})));
    Ok(sink->Commit(State("orders", "1", 1)));
    Ok(sink->Finish());
  }
  {
    auto sink = Open({{"mode", "replace"}});
    ASSERT_TRUE(sink);
    Ok(sink->Write(*Batch("orders", {{10, "a"}})));
    Ok(sink->Commit(State("orders", "100", 1)));
    Ok(sink->Write(*Batch("orders", {{11, "lost"}})));
    // Crash: no Commit, no Finish.
  }
  EXPECT_EQ(Query("SELECT id FROM orders"), (Rows{{"1"}}));
  auto sink = Open({{"mode", "replace"}});
  ASSERT_TRUE(sink);
  auto loaded = sink->LoadState();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), 2u);  // the staged position and the counters
  EXPECT_EQ(loaded->at(kPos), "{\"offset\":100}");
  Ok(sink->Write(*Batch("orders", {{11, "b"}})));
  Ok(sink->Commit(State("orders", "200", 1)));
  Ok(sink->Finish());
  EXPECT_EQ(Query("SELECT id, name FROM orders ORDER BY id"), (Rows{{"10", "a"}, {"11", "b"}}));
  // The next replace run is a full refresh again.
  auto next = Open({{"mode", "replace"}});
  ASSERT_TRUE(next);
  auto again = next->LoadState();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 1u) << "no position, only the cumulative counters";
  EXPECT_EQ(again->count({"", "counters"}), 1u);
}

TEST_F(SqliteSinkTest, ReplaceDropsWhatAnAbandonedRunStaged) {
  {
    auto sink = Open({{"mode", "replace"}});
    ASSERT_TRUE(sink);
    Ok(sink->Write(*Batch("orders", {{1, "stale"}})));
    Ok(sink->Commit(State("orders", "1", 1)));
  }
  {
    auto sink = Open({{"mode", "replace"}});
    ASSERT_TRUE(sink);
    Ok(sink->ResetState(""));  // `sluice state reset`: start over
  }
  auto sink = Open({{"mode", "replace"}});
  ASSERT_TRUE(sink);
  auto loaded = sink->LoadState();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->empty());
  Ok(sink->Write(*Batch("orders", {{2, "fresh"}})));
  Ok(sink->Commit(State("orders", "1", 1)));
  Ok(sink->Finish());
  EXPECT_EQ(Query("SELECT id, name FROM orders"), (Rows{{"2", "fresh"}}));
}

TEST_F(SqliteSinkTest, IdentifiersWithQuotesAndSpacesWork) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{
      {"order \"id\"", DataType::Int64()}, {"unit price", DataType::Decimal(10, 2)}});
  auto make = [&](int64_t id, int128_t price) {
    RecordBatchBuilder b(schema);
    b.column(0).AppendInt64(id);
    b.column(1).AppendDecimal(price);
    b.CommitRow(1);
    return b.Finish("public.my \"orders\"", "");
  };
  auto sink = Open({{"mode", "upsert"}}, {"order \"id\""});
  ASSERT_TRUE(sink);
  Ok(sink->Write(*make(1, 100)));
  Ok(sink->Write(*make(1, 250)));
  Ok(sink->Commit(CommitState{}));
  EXPECT_EQ(Query("SELECT \"order \"\"id\"\"\", \"unit price\" FROM \"public.my \"\"orders\"\"\""),
            (Rows{{"1", "2.50"}}));
}

TEST_F(SqliteSinkTest, ARefusedRowIsLeftOutAndReportedWithTableColumnAndOrigin) {
  {
    auto sink = Open({{"table", "t"}});
  }
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (id INTEGER, name TEXT NOT NULL)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto sink = Open({{"table", "t"}});
  ASSERT_TRUE(sink);
  std::vector<std::pair<int64_t, std::string>> rows;
  for (int64_t i = 0; i < 200; ++i) rows.emplace_back(i, i == 130 || i == 198 ? "" : "x");
  Ok(sink->Write(*Batch("s", rows)));
  std::vector<RejectedRow> refused = sink->TakeRefused();
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0].origin, "data/orders.csv:132");
  EXPECT_EQ(refused[0].rule, "sink");
  EXPECT_EQ(refused[0].column, "name");
  EXPECT_EQ(refused[0].reason,
            "sqlite table \"t\" refused the row, column 'name' (null): NOT NULL constraint failed: t.name");
  EXPECT_EQ(refused[0].raw, "{\"id\":130,\"name\":null}");
  EXPECT_EQ(refused[1].origin, "data/orders.csv:200");
  EXPECT_TRUE(sink->TakeRefused().empty());
  Ok(sink->Commit(CommitState{}));
  EXPECT_EQ(Query("SELECT count(*), sum(id) FROM t"), (Rows{{"198", std::to_string(199 * 200 / 2 - 130 - 198)}}));
}

TEST_F(SqliteSinkTest, ResetStateForgetsOneStreamOrAll) {
  auto sink = Open({{"table", "all_rows"}});
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Batch("a", {{1, "x"}})));
  Ok(sink->Write(*Batch("b", {{2, "y"}})));
  CommitState st = State("a", "1", 2);
  st.positions.push_back({"b", "file:/b", "{}"});
  Ok(sink->Commit(st));
  Ok(sink->ResetState("a"));
  auto loaded = sink->LoadState();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), 2u);  // b's position and the counters
  EXPECT_EQ(loaded->count({"b", "file:/b"}), 1u);
  Ok(sink->ResetState(""));
  loaded = sink->LoadState();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->empty());
  EXPECT_EQ(Query("SELECT count(*) FROM all_rows"), (Rows{{"2"}})) << "rows stay";
}

TEST_F(SqliteSinkTest, StreamsGoToTheirOwnTables) {
  auto sink = Open({{"table", "raw_{stream}"}});
  ASSERT_TRUE(sink);
  Ok(sink->Write(*Batch("orders", {{1, "o"}})));
  Ok(sink->Write(*Batch("customers", {{2, "c"}})));
  Ok(sink->Commit(CommitState{}));
  EXPECT_EQ(Query("SELECT id FROM raw_orders"), (Rows{{"1"}}));
  EXPECT_EQ(Query("SELECT id FROM raw_customers"), (Rows{{"2"}}));
}

}  // namespace
}  // namespace sluice
