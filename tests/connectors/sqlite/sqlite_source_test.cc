// The sqlite source through the real binary: sqlite -> sqlite pipelines in every mode, the type
// mapping, a mistyped value quarantined, incremental runs with a late row caught by lookback.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "testing/temp_dir.h"

namespace sluice {
namespace {

class SqliteSourceTest : public ::testing::Test {
 protected:
  void Exec(const std::string& db, const std::string& sql) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(dir_.File(db).c_str(), &h), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(h);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }
  // The rows of `sql` in `db`, each as "a|b|c".
  std::vector<std::string> Rows(const std::string& db, const std::string& sql) {
    std::vector<std::string> out;
    sqlite3* h = nullptr;
    sqlite3_open(dir_.File(db).c_str(), &h);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(h);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const auto* t = sqlite3_column_text(st, i);
        row += (i ? "|" : "") + std::string(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
      out.push_back(row);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
  }
  // Runs a pipeline whose source block is `source`; returns the --json summary.
  nlohmann::json Run(const std::string& source, const std::string& sink_extra = "") {
    dir_.Write("p.yaml", "name: t\nsource: " + source + "\nsink: { type: sqlite, path: out.db" + sink_extra +
                             " }\nstate: state.db\nquarantine: { path: q/ }\n");
    const std::string cmd = std::string(SLUICE_BINARY) + " run " + dir_.File("p.yaml") + " --json 2>" + dir_.File("err.txt");
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    exit_code_ = pclose(p);
    auto j = nlohmann::json::parse(out, nullptr, false);
    return j.is_discarded() ? nlohmann::json::object() : j;
  }
  std::string Stderr() {
    std::ifstream f(dir_.File("err.txt"));
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

  testing::TempDir dir_;
  int exit_code_ = 0;
};

TEST_F(SqliteSourceTest, FullModeMapsDeclaredTypes) {
  Exec("in.db",
       "CREATE TABLE t (id INTEGER PRIMARY KEY, n BIGINT, r DOUBLE, d DECIMAL(10,2), b BOOLEAN, "
       "day DATE, ts DATETIME, j JSON, s TEXT, bl BLOB);"
       "INSERT INTO t VALUES (1, 5, 1.5, '12.50', 1, '2024-01-02', '2024-01-02 03:04:05', '{\"a\":1}', 'x', x'0102');"
       "INSERT INTO t VALUES (2, NULL, 2, 3, 0, NULL, '2024-01-02T03:04:05.5', '[1]', 'y', NULL);");
  auto s = Run("{ type: sqlite, path: in.db, table: t }", ", table: t, mode: replace");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s["rows_in"], 2);
  EXPECT_EQ(s["rows_out"], 2);
  EXPECT_EQ(Rows("out.db", "SELECT id, n, r, d, b, day, ts, j, s, hex(bl) FROM t ORDER BY id"),
            (std::vector<std::string>{"1|5|1.5|12.50|1|2024-01-02|2024-01-02 03:04:05|{\"a\":1}|x|0102",
                                      "2|NULL|2.0|3.00|0|NULL|2024-01-02 03:04:05.500000|[1]|y|"}));
}

// `mode: full` is a full refresh each run: a completed read is read again by the next run, into an
// upsert sink as into a replace one (the upsert run read nothing before 2026-11-29).
TEST_F(SqliteSourceTest, EachFullRunReadsTheWholeTableAgain) {
  Exec("in.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b');");
  for (const std::string sink : {", table: t, mode: upsert, key: [id]", ", table: t, mode: replace"}) {
    SCOPED_TRACE(sink);
    std::remove(dir_.File("state.db").c_str());
    Exec("in.db", "UPDATE t SET v = 'a' WHERE id = 1");
    auto first = Run("{ type: sqlite, path: in.db, table: t, mode: full }", sink);
    ASSERT_EQ(exit_code_, 0) << Stderr();
    EXPECT_EQ(first["rows_in"], 2);
    Exec("in.db", "UPDATE t SET v = 'z' WHERE id = 1");
    auto second = Run("{ type: sqlite, path: in.db, table: t, mode: full }", sink);
    ASSERT_EQ(exit_code_, 0) << Stderr();
    EXPECT_EQ(second["rows_in"], 2);
    EXPECT_EQ(Rows("out.db", "SELECT id, v FROM t ORDER BY id"), (std::vector<std::string>{"1|z", "2|b"}));
  }
}

TEST_F(SqliteSourceTest, MistypedValueIsQuarantinedWithItsReason) {
  Exec("in.db",
       "CREATE TABLE t (id INTEGER PRIMARY KEY, qty INTEGER, day DATE);"
       "INSERT INTO t VALUES (1, 3, '2024-01-01'), (2, 'three', '2024-01-02'), (3, 4, 'yesterday');");
  auto s = Run("{ type: sqlite, path: in.db, table: t }", ", table: t, mode: replace");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s["rows_in"], 3);
  EXPECT_EQ(s["rows_out"], 1);
  EXPECT_EQ(s["rows_quarantined"], 2);
  EXPECT_EQ(Rows("out.db", "SELECT id FROM t"), std::vector<std::string>{"1"});
}

TEST_F(SqliteSourceTest, HostileTableNameIsQuotedNotExecuted) {
  Exec("in.db",
       "CREATE TABLE x (a INT); CREATE TABLE \"orders\"\"; DROP TABLE x; --\" (id INTEGER PRIMARY KEY, v TEXT);"
       "INSERT INTO \"orders\"\"; DROP TABLE x; --\" VALUES (1, 'a');");
  auto s = Run("{ type: sqlite, path: in.db, table: 'orders\"; DROP TABLE x; --' }", ", table: o, mode: replace");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s["rows_out"], 1);
  EXPECT_EQ(Rows("in.db", "SELECT count(*) FROM x"), std::vector<std::string>{"0"});
}

TEST_F(SqliteSourceTest, IncrementalRunsCatchALateRowWithLookbackAndNeverDouble) {
  Exec("in.db",
       "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, updated_at TIMESTAMP);"
       "INSERT INTO t VALUES (1, 'a', '2024-01-01 10:00:00'), (2, 'b', '2024-01-01 10:05:00');");
  const std::string src = "{ type: sqlite, path: in.db, table: t, mode: incremental, cursor: updated_at, lookback: 10m, page_size: 1 }";
  auto s1 = Run(src, ", table: t, mode: upsert, key: [id]");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s1["rows_out"], 2);
  // A row committed late with a cursor below the checkpoint but inside the window, and a new one.
  Exec("in.db", "INSERT INTO t VALUES (3, 'late', '2024-01-01 10:03:00'), (4, 'd', '2024-01-01 10:20:00');");
  auto s2 = Run(src, ", table: t, mode: upsert, key: [id]");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s2["rows_out"], 2);
  EXPECT_EQ(s2["rows_skipped"], 2);  // rows 1 and 2 re-read in the window
  auto s3 = Run(src, ", table: t, mode: upsert, key: [id]");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s3["rows_out"], 0);
  EXPECT_EQ(Rows("out.db", "SELECT id, v FROM t ORDER BY id"),
            (std::vector<std::string>{"1|a", "2|b", "3|late", "4|d"}));
}

TEST_F(SqliteSourceTest, NullCursorIsAnErrorUnlessSkipped) {
  Exec("in.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO t VALUES (1, 1), (2, NULL);");
  Run("{ type: sqlite, path: in.db, table: t, mode: incremental, cursor: n }", ", table: t, mode: upsert, key: [id]");
  EXPECT_EQ(exit_code_ >> 8, 1);
  EXPECT_NE(Stderr().find("NULL n"), std::string::npos) << Stderr();
  auto s = Run("{ type: sqlite, path: in.db, table: t, mode: incremental, cursor: n, null_cursor: skip }", ", table: t, mode: upsert, key: [id]");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s["rows_out"], 1);
  EXPECT_EQ(s["rows_skipped"], 1);
}

TEST_F(SqliteSourceTest, QueryModeBindsTheCursor) {
  Exec("in.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b');");
  const std::string src = "{ type: sqlite, path: in.db, mode: query, query: 'SELECT id, v FROM t WHERE id > coalesce(:cursor, 0)', cursor: id }";
  auto s1 = Run(src, ", table: q");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s1["rows_out"], 2);
  Exec("in.db", "INSERT INTO t VALUES (3, 'c');");
  auto s2 = Run(src, ", table: q");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s2["rows_out"], 1);
  EXPECT_EQ(Rows("out.db", "SELECT id FROM q ORDER BY id"), (std::vector<std::string>{"1", "2", "3"}));
}

TEST_F(SqliteSourceTest, MissingFileIsAClearError) {
  Run("{ type: sqlite, path: nope.db, table: t }", ", table: t, mode: replace");
  EXPECT_NE(exit_code_, 0);
  EXPECT_NE(Stderr().find("no database file nope.db"), std::string::npos) << Stderr();
}

TEST_F(SqliteSourceTest, ATablePatternReadsEveryMatchingTableIntoItsOwnTable) {
  Exec("in.db",
       "CREATE TABLE orders_2025 (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO orders_2025 VALUES (1, 'a');"
       "CREATE TABLE orders_2026 (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO orders_2026 VALUES (2, 'b'), (3, 'c');"
       "CREATE TABLE users (id INTEGER PRIMARY KEY);  INSERT INTO users VALUES (9);");
  auto s = Run("{ type: sqlite, path: in.db, tables: ['orders_*'] }", ", mode: replace");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s["rows_out"], 3);
  EXPECT_EQ(Rows("out.db", "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY 1"),
            (std::vector<std::string>{"orders_2025", "orders_2026"}));
  EXPECT_EQ(Rows("out.db", "SELECT id FROM orders_2026 ORDER BY id"), (std::vector<std::string>{"2", "3"}));

  Run("{ type: sqlite, path: in.db, tables: ['ordres_*'] }", ", mode: replace");
  EXPECT_NE(exit_code_, 0);
  EXPECT_NE(Stderr().find("the pattern 'ordres_*' matches no table in schema 'main'"), std::string::npos) << Stderr();
}

TEST_F(SqliteSourceTest, StreamsMapsATableToAnotherSinkTable) {
  Exec("in.db",
       "CREATE TABLE orders (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO orders VALUES (1, 7);"
       "CREATE TABLE users (id INTEGER PRIMARY KEY); INSERT INTO users VALUES (9);");
  dir_.Write("p.yaml",
             "name: t\nsource: { type: sqlite, path: in.db, tables: [orders, users] }\n"
             "sink: { type: sqlite, path: out.db, mode: replace }\nstate: state.db\n"
             "streams:\n  orders: { table: raw_orders, schema: { v: float64 } }\n");
  const std::string cmd = std::string(SLUICE_BINARY) + " run " + dir_.File("p.yaml") + " 2>" + dir_.File("err.txt");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << Stderr();
  EXPECT_EQ(Rows("out.db", "SELECT id, v, typeof(v) FROM raw_orders"), (std::vector<std::string>{"1|7.0|real"}));
  EXPECT_EQ(Rows("out.db", "SELECT id FROM users"), (std::vector<std::string>{"9"}));
  EXPECT_EQ(Rows("out.db", "SELECT count(*) FROM sqlite_master WHERE name = 'orders'"), (std::vector<std::string>{"0"}));

  dir_.Write("p.yaml",
             "name: t\nsource: { type: sqlite, path: in.db, table: orders }\n"
             "sink: { type: sqlite, path: out.db, mode: replace }\nstate: state.db\n"
             "streams:\n  orders: { tabel: raw_orders }\n");
  ASSERT_NE(std::system(cmd.c_str()), 0);
  EXPECT_NE(Stderr().find("tabel"), std::string::npos) << Stderr();
}

TEST_F(SqliteSourceTest, CheckWarnsOfAnUnindexedCursorAndUnseenDeletes) {
  Exec("in.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, updated_at TIMESTAMP, gone BOOLEAN);");
  auto check = [&](const std::string& source) {
    dir_.Write("p.yaml", "name: t\nsource: " + source + "\nsink: { type: discard }\nstate: state.db\n");
    const std::string cmd = std::string(SLUICE_BINARY) + " check " + dir_.File("p.yaml") + " >" + dir_.File("err.txt") + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << Stderr();
    return Stderr();
  };
  std::string out = check("{ type: sqlite, path: in.db, table: t, mode: incremental, cursor: updated_at }");
  EXPECT_NE(out.find("warning: no index starts with updated_at"), std::string::npos) << out;
  EXPECT_NE(out.find("CREATE INDEX \"main\".\"t_updated_at\" ON \"t\" (\"updated_at\")"), std::string::npos) << out;
  EXPECT_NE(out.find("warning: deletes are not seen"), std::string::npos) << out;

  Exec("in.db", "CREATE INDEX t_updated_at ON t (updated_at, id);");
  dir_.Write("p.yaml", "");
  out = check("{ type: sqlite, path: in.db, table: t, mode: incremental, cursor: updated_at, deleted_flag: gone }");
  EXPECT_EQ(out.find("no index"), std::string::npos) << out;
  EXPECT_EQ(out.find("deletes are not seen"), std::string::npos) << out;
}

}  // namespace
}  // namespace sluice
