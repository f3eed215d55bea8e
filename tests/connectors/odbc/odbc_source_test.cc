// The odbc source through the real binary and the real SQLite ODBC driver (libsqliteodbc), on
// temporary SQLite files: every mode, the type mapping, resuming a full read by key, a hostile
// table name, and errors that name the driver without showing the password.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "testing/temp_dir.h"

namespace sluice {
namespace {

constexpr char kDriver[] = "/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so";

class OdbcSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kDriver))
      GTEST_SKIP() << "libsqliteodbc is not installed (scripts/install-deps.sh)";
  }
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
  // The connection string of the SQLite file `db` in the test directory.
  std::string Dsn(const std::string& db, const std::string& extra = "") {
    return std::string("'Driver=") + kDriver + ";Database=" + dir_.File(db) + extra + "'";
  }
  nlohmann::json Command(const std::string& verb, const std::string& source,
                         const std::string& sink) {
    dir_.Write("p.yaml", "name: t\nsource: " + source + "\nsink: " + sink +
                             "\nstate: state.db\nquarantine: { path: q/ }\n");
    const std::string cmd = std::string(SLUICE_BINARY) + " " + verb + " " + dir_.File("p.yaml") +
                            (verb == "run" ? " --json" : "") + " 2>" + dir_.File("err.txt");
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    exit_code_ = pclose(p);
    stdout_ = out;
    auto j = nlohmann::json::parse(out, nullptr, false);
    return j.is_discarded() ? nlohmann::json::object() : j;
  }
  // Runs a pipeline from `source` into the sqlite file out.db; returns the --json summary.
  nlohmann::json Run(const std::string& source, const std::string& sink_extra = "") {
    return Command("run", source, "{ type: sqlite, path: out.db" + sink_extra + " }");
  }
  std::string Stderr() {
    std::ifstream f(dir_.File("err.txt"));
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

  testing::TempDir dir_;
  int exit_code_ = 0;
  std::string stdout_;
};

TEST_F(OdbcSourceTest, FullModeMapsDriverTypes) {
  Exec("in.db",
       "CREATE TABLE t (id INTEGER PRIMARY KEY, n BIGINT, r DOUBLE, b BOOLEAN, day DATE, tm TIME, "
       "ts TIMESTAMP, "
       "s TEXT, bl BLOB);"
       "INSERT INTO t VALUES (1, 9007199254740993, 1.5, 1, '2024-01-02', '03:04:05', '2024-01-02 "
       "03:04:05.5', "
       "'h\xC3\xA9llo \xE2\x98\x83 \xF0\x9F\x98\x80', x'00ff');"
       "INSERT INTO t VALUES (2, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL);");
  auto s = Run("{ type: odbc, dsn: " + Dsn("in.db") + ", table: t }", ", table: t, mode: replace");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s["rows_in"], 2);
  EXPECT_EQ(s["rows_out"], 2);
  EXPECT_EQ(
      Rows("out.db", "SELECT id, n, r, b, day, tm, ts, s, hex(bl) FROM t ORDER BY id"),
      (std::vector<std::string>{"1|9007199254740993|1.5|1|2024-01-02|03:04:05|2024-01-02 "
                                "03:04:05.500000|h\xC3\xA9llo \xE2\x98\x83 \xF0\x9F\x98\x80|00FF",
                                "2|NULL|NULL|0|NULL|NULL|NULL|NULL|"}));
  EXPECT_EQ(Rows("out.db", "SELECT typeof(n), typeof(r), typeof(bl) FROM t WHERE id = 1"),
            std::vector<std::string>{"integer|real|blob"});
}

TEST_F(OdbcSourceTest, ValuesLongerThanTheDriverDeclaresAreReadWhole) {
  // The driver says VARCHAR(4) holds 4 characters and a BLOB 255 bytes; SQLite stores more.
  Exec("in.db",
       "CREATE TABLE t (id INTEGER PRIMARY KEY, vc VARCHAR(4), s TEXT, bl BLOB);"
       "INSERT INTO t VALUES (1, 'ab', 'x', x'01');"
       "INSERT INTO t VALUES (2, printf('%.50c', 'y'), printf('%.20000c', 'z'), zeroblob(3000));"
       "INSERT INTO t VALUES (3, 'cd', 'after', x'02');");
  auto s = Run("{ type: odbc, dsn: " + Dsn("in.db") + ", table: t }", ", table: t, mode: replace");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s["rows_out"], 3);
  EXPECT_EQ(Rows("out.db", "SELECT id, length(vc), length(s), length(bl) FROM t ORDER BY id"),
            (std::vector<std::string>{"1|2|1|1", "2|50|20000|3000", "3|2|5|1"}));
}

TEST_F(OdbcSourceTest, FullModeResumesAfterTheCommittedKey) {
  Exec("in.db",
       "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
       "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e');");
  const std::string src = "{ type: odbc, dsn: " + Dsn("in.db") + ", table: t, page_size: 2 }";
  auto s1 = Run(src, ", table: t, mode: upsert, key: [id]");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s1["rows_in"], 5);
  auto pos = nlohmann::json::parse(
      Rows("out.db", "SELECT value FROM _sluice_state WHERE stream = 't' AND key = 'full'").at(0));
  EXPECT_EQ(pos["ranges"][0]["last"], nlohmann::json::array({"5"}));
  EXPECT_EQ(pos["ranges"][0]["done"], true);
  // What a run killed after its second row would have committed.
  pos["ranges"][0]["last"] = nlohmann::json::array({"2"});
  pos["ranges"][0]["rows"] = 2;
  pos["ranges"][0]["done"] = false;
  Exec("out.db",
       "UPDATE _sluice_state SET value = '" + pos.dump() + "' WHERE stream = 't' AND key = 'full'");
  Exec("in.db", "UPDATE t SET v = 'changed' WHERE id IN (1, 4)");
  auto s2 = Run(src, ", table: t, mode: upsert, key: [id]");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s2["rows_in"], 3);  // 3, 4 and 5: nothing before the key is read again
  EXPECT_EQ(Rows("out.db", "SELECT id, v FROM t ORDER BY id"),
            (std::vector<std::string>{"1|a", "2|b", "3|c", "4|changed", "5|e"}));
  // The read finished: the next run is a new full read.
  auto s3 = Run(src, ", table: t, mode: upsert, key: [id]");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s3["rows_in"], 5);
  EXPECT_EQ(Rows("out.db", "SELECT v FROM t WHERE id = 1"), std::vector<std::string>{"changed"});
}

TEST_F(OdbcSourceTest, HostileTableNameIsQuotedNotExecuted) {
  Exec("in.db",
       "CREATE TABLE x (a INT); CREATE TABLE \"orders\"\"; DROP TABLE x; --\" (id INTEGER PRIMARY "
       "KEY, v TEXT);"
       "INSERT INTO \"orders\"\"; DROP TABLE x; --\" VALUES (1, 'a'), (2, 'b');");
  auto s = Run("{ type: odbc, dsn: " + Dsn("in.db") +
                   ", table: 'orders\"; DROP TABLE x; --', page_size: 1 }",
               ", table: o, mode: replace");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s["rows_out"], 2);
  EXPECT_EQ(Rows("out.db", "SELECT id, v FROM o ORDER BY id"),
            (std::vector<std::string>{"1|a", "2|b"}));
  EXPECT_EQ(Rows("in.db", "SELECT count(*) FROM x"), std::vector<std::string>{"0"});
}

TEST_F(OdbcSourceTest, IncrementalRerunLoadsOnlyNewRowsAndALateOneWithinLookback) {
  Exec("in.db",
       "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, updated_at TIMESTAMP);"
       "INSERT INTO t VALUES (1, 'a', '2024-01-01 10:00:00'), (2, 'b', '2024-01-01 10:05:00');");
  const std::string src =
      "{ type: odbc, dsn: " + Dsn("in.db") +
      ", table: t, mode: incremental, cursor: updated_at, lookback: 10m, page_size: 1 }";
  auto s1 = Run(src, ", table: t, mode: upsert, key: [id]");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s1["rows_out"], 2);
  Exec("in.db",
       "INSERT INTO t VALUES (3, 'late', '2024-01-01 10:03:00'), (4, 'd', '2024-01-01 10:20:00');");
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

TEST_F(OdbcSourceTest, IncrementalWithoutLookbackLoadsOnlyNewRows) {
  Exec("in.db",
       "CREATE TABLE t (id INTEGER PRIMARY KEY, seq INTEGER, v TEXT);"
       "INSERT INTO t VALUES (1, 10, 'a'), (2, 10, 'b'), (3, 11, 'c');");
  const std::string src = "{ type: odbc, dsn: " + Dsn("in.db") +
                          ", table: t, mode: incremental, cursor: seq, page_size: 2 }";
  auto s1 = Run(src, ", table: t, mode: upsert, key: [id]");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s1["rows_out"], 3);
  Exec("in.db", "INSERT INTO t VALUES (4, 11, 'd'), (5, 12, 'e');");
  auto s2 = Run(src, ", table: t, mode: upsert, key: [id]");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s2["rows_in"], 2);
  EXPECT_EQ(Rows("out.db", "SELECT id, v FROM t ORDER BY id"),
            (std::vector<std::string>{"1|a", "2|b", "3|c", "4|d", "5|e"}));
}

TEST_F(OdbcSourceTest, IncrementalPagesThroughRowsThatShareATimestamp) {
  // Pages of one row end between rows with the same cursor: the key breaks the tie, and the
  // timestamp read back must compare equal to the stored one.
  Exec("in.db",
       "CREATE TABLE t (id INTEGER PRIMARY KEY, ts TIMESTAMP);"
       "INSERT INTO t VALUES (1, '2024-01-01 10:00:00'), (2, '2024-01-01 10:00:00'), "
       "(3, '2024-01-01 10:00:00'), (4, '2024-01-01 10:00:00.5'), (5, '2024-01-01 10:00:00.5');");
  const std::string src = "{ type: odbc, dsn: " + Dsn("in.db") +
                          ", table: t, mode: incremental, cursor: ts, page_size: 1 }";
  auto s1 = Run(src, ", table: t, mode: upsert, key: [id]");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s1["rows_in"], 5);
  Exec("in.db", "INSERT INTO t VALUES (6, '2024-01-01 10:00:00.5');");
  auto s2 = Run(src, ", table: t, mode: upsert, key: [id]");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s2["rows_in"], 1);
  EXPECT_EQ(Rows("out.db", "SELECT count(*) FROM t"), std::vector<std::string>{"6"});
}

TEST_F(OdbcSourceTest, NullCursorIsAnErrorUnlessSkipped) {
  Exec("in.db",
       "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO t VALUES (1, 1), (2, "
       "NULL);");
  Run("{ type: odbc, dsn: " + Dsn("in.db") + ", table: t, mode: incremental, cursor: n }",
      ", table: t, mode: upsert, key: [id]");
  EXPECT_EQ(exit_code_ >> 8, 1);
  EXPECT_NE(Stderr().find("have a NULL n"), std::string::npos) << Stderr();
  auto s = Run("{ type: odbc, dsn: " + Dsn("in.db") +
                   ", table: t, mode: incremental, cursor: n, null_cursor: skip }",
               ", table: t, mode: upsert, key: [id]");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s["rows_out"], 1);
  EXPECT_EQ(s["rows_skipped"], 1);
}

TEST_F(OdbcSourceTest, QueryModeBindsTheCursorNeverInterpolatesIt) {
  Exec("in.db",
       "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b');");
  // The ':cursor' inside the string literal stays text; only the bare one is a parameter.
  const std::string src = "{ type: odbc, dsn: " + Dsn("in.db") +
                          ", mode: query, query: \"SELECT id, v, ':cursor' AS lit FROM t WHERE id "
                          "> coalesce(:cursor, 0) "
                          "ORDER BY id\", cursor: id }";
  auto s1 = Run(src, ", table: q");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s1["rows_out"], 2);
  Exec("in.db", "INSERT INTO t VALUES (3, 'c');");
  auto s2 = Run(src, ", table: q");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s2["rows_out"], 1);
  EXPECT_EQ(Rows("out.db", "SELECT id, v, lit FROM q ORDER BY id"),
            (std::vector<std::string>{"1|a|:cursor", "2|b|:cursor", "3|c|:cursor"}));
}

TEST_F(OdbcSourceTest, SeveralTablesAreStreamsAndColumnsSelects) {
  Exec("in.db",
       "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, secret TEXT); INSERT INTO a VALUES (1, "
       "'x', 's');"
       "CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT, secret TEXT); INSERT INTO b VALUES (2, "
       "'y', 't'), (3, 'z', 'u');");
  auto s = Run("{ type: odbc, dsn: " + Dsn("in.db") + ", tables: [a, b], columns: [v] }",
               ", mode: replace");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s["rows_out"], 3);
  EXPECT_EQ(Rows("out.db", "SELECT * FROM a"), std::vector<std::string>{"x"});
  EXPECT_EQ(Rows("out.db", "SELECT * FROM b ORDER BY v"), (std::vector<std::string>{"y", "z"}));
}

TEST_F(OdbcSourceTest, MissingDriverIsAClearErrorWithoutThePassword) {
  Run("{ type: odbc, dsn: 'Driver=/nonexistent/libnodriver.so;Database=x;UID=u;PWD=hunter2', "
      "table: t }",
      ", table: t, mode: replace");
  EXPECT_NE(exit_code_, 0);
  const std::string err = Stderr();
  EXPECT_NE(err.find("/nonexistent/libnodriver.so"), std::string::npos) << err;
  EXPECT_NE(err.find("PWD=***"), std::string::npos) << err;
  EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
}

TEST_F(OdbcSourceTest, CheckShowsTheConnectionWithoutThePassword) {
  Exec("in.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);");
  Command("check", "{ type: odbc, dsn: " + Dsn("in.db", ";PWD={hunter;2}") + ", table: t }",
          "{ type: sqlite, path: out.db, table: t, mode: replace }");
  ASSERT_EQ(exit_code_, 0) << Stderr() << stdout_;
  EXPECT_NE(stdout_.find("PWD=***"), std::string::npos) << stdout_;
  EXPECT_NE(stdout_.find("table t: 2 columns, key [id]"), std::string::npos) << stdout_;
  EXPECT_EQ((stdout_ + Stderr()).find("hunter"), std::string::npos) << stdout_ << Stderr();
}

TEST_F(OdbcSourceTest, UnknownTableAndColumnAreNamed) {
  Exec("in.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);");
  Run("{ type: odbc, dsn: " + Dsn("in.db") + ", table: nope }", ", table: t, mode: replace");
  EXPECT_NE(exit_code_, 0);
  EXPECT_NE(Stderr().find("table \"nope\" not found"), std::string::npos) << Stderr();
  Run("{ type: odbc, dsn: " + Dsn("in.db") + ", table: t, columns: [w] }",
      ", table: t, mode: replace");
  EXPECT_NE(exit_code_, 0);
  EXPECT_NE(Stderr().find("\"w\" is not a column of t (columns: id, v)"), std::string::npos)
      << Stderr();
}

}  // namespace
}  // namespace sluice
