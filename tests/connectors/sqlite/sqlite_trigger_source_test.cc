// The sqlite source's `mode: trigger` through the real binary: check shows the DDL and installs
// nothing; the first run installs capture and copies the existing rows as snapshot reads; inserts,
// updates, key changes and deletes reach a replica and a changelog; an added column reinstalls
// the triggers; `cdc uninstall` removes everything; identifiers are quoted.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "testing/temp_dir.h"

namespace sluice {
namespace {

class SqliteTriggerSourceTest : public ::testing::Test {
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
  // Writes pipeline `name`.yaml reading `table` of app.db by trigger into `sink`.
  void Pipeline(const std::string& name, const std::string& table, const std::string& sink) {
    dir_.Write(name + ".yaml", "name: " + name + "\nsource: { type: sqlite, path: app.db, mode: trigger, tables: [" +
                                   table + "] }\nsink: " + sink + "\nstate: " + name + "_state.db\nquarantine: { path: q_" +
                                   name + "/ }\n");
  }
  // Runs `sluice ARGS`; returns stdout, keeps stderr in err.txt and the exit code.
  std::string Sluice(const std::string& args) {
    const std::string cmd = std::string(SLUICE_BINARY) + " " + args + " 2>" + dir_.File("err.txt");
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    exit_code_ = pclose(p);
    return out;
  }
  nlohmann::json Run(const std::string& name) {
    auto j = nlohmann::json::parse(Sluice("run " + dir_.File(name + ".yaml") + " --json"), nullptr, false);
    return j.is_discarded() ? nlohmann::json::object() : j;
  }
  std::string Stderr() {
    std::ifstream f(dir_.File("err.txt"));
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  std::string Capture(const std::string& pattern) {
    auto rows = Rows("app.db", "SELECT count(*) FROM sqlite_master WHERE name LIKE '" + pattern + "'");
    return rows.empty() ? "" : rows[0];
  }

  testing::TempDir dir_;
  int exit_code_ = 0;
};

TEST_F(SqliteTriggerSourceTest, CheckShowsTheDdlAndInstallsNothing) {
  Exec("app.db", "CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT)");
  Pipeline("p", "orders", "{ type: sqlite, path: out.db, mode: replicate }");
  const std::string out = Sluice("check " + dir_.File("p.yaml"));
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_NE(out.find("CREATE TRIGGER"), std::string::npos) << out;
  EXPECT_NE(out.find("_sluice_log_orders"), std::string::npos) << out;
  EXPECT_EQ(Capture("_sluice%"), "0");
}

TEST_F(SqliteTriggerSourceTest, SnapshotThenChangesMakeAnExactReplica) {
  Exec("app.db",
       "CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT, amount DECIMAL(10,2));"
       "INSERT INTO orders VALUES (1, 'a', 1.50), (2, 'b', 2), (3, 'c', 3)");
  Pipeline("p", "orders", "{ type: sqlite, path: out.db, mode: replicate }");
  auto s = Run("p");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s["rows_in"], 3);
  EXPECT_EQ(Capture("_sluice_orders_%"), "4");  // ins, upd, rekey, del

  Exec("app.db",
       "INSERT INTO orders VALUES (4, 'd', 4);"
       "UPDATE orders SET name = 'b2' WHERE id = 2;"
       "UPDATE orders SET id = 30 WHERE id = 3;"  // a key change: 3 deleted, 30 inserted
       "DELETE FROM orders WHERE id = 1;"
       "INSERT INTO orders VALUES (1, 'a again', 9)");  // a delete, then the key again
  s = Run("p");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(s["rows_in"], 6);
  const std::string q = "SELECT id, name, printf('%.2f', amount) FROM orders ORDER BY id";
  EXPECT_EQ(Rows("out.db", q), Rows("app.db", q));
  EXPECT_EQ(Rows("out.db", q).size(), 4u);

  // Nothing new: nothing read, and the log is trimmed to what is not yet committed.
  s = Run("p");
  EXPECT_EQ(s["rows_in"], 0);
  Run("p");
  EXPECT_EQ(Rows("app.db", "SELECT count(*) FROM _sluice_log_orders"), (std::vector<std::string>{"0"}));
}

TEST_F(SqliteTriggerSourceTest, ChangelogCarriesEveryOperation) {
  Exec("app.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'x')");
  Pipeline("c", "t", "{ type: sqlite, path: log.db, mode: changelog }");
  Run("c");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  Exec("app.db", "INSERT INTO t VALUES (2, 'y'); UPDATE t SET v = 'z' WHERE id = 1; DELETE FROM t WHERE id = 2");
  Run("c");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(Rows("log.db", "SELECT op, json_extract(after, '$.id'), json_extract(after, '$.v') FROM t ORDER BY _sluice_seq"),
            (std::vector<std::string>{"r|1|x", "c|2|y", "u|1|z", "d|NULL|NULL"}));
  EXPECT_EQ(Rows("log.db", "SELECT json_extract(before, '$.id') FROM t WHERE op = 'd'"), (std::vector<std::string>{"2"}));
}

TEST_F(SqliteTriggerSourceTest, AnAddedColumnReinstallsTheTriggers) {
  Exec("app.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'x')");
  Pipeline("p", "t", "{ type: sqlite, path: out.db, mode: replicate }");
  Run("p");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  Exec("app.db", "ALTER TABLE t ADD COLUMN extra INTEGER; INSERT INTO t VALUES (2, 'y', 7)");
  const std::string plan = Sluice("check " + dir_.File("p.yaml"));
  EXPECT_NE(plan.find("reinstalls"), std::string::npos) << plan;
  // The row written before the reinstall was logged without the new column; rows after carry it.
  Run("p");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  Exec("app.db", "INSERT INTO t VALUES (3, 'z', 8)");
  Run("p");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(Rows("out.db", "SELECT id, v, extra FROM t ORDER BY id"),
            (std::vector<std::string>{"1|x|NULL", "2|y|NULL", "3|z|8"}));
}

TEST_F(SqliteTriggerSourceTest, UninstallRemovesTriggersAndLogs) {
  Exec("app.db", "CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY)");
  Pipeline("p", "a, b", "{ type: sqlite, path: out.db, mode: replicate }");
  Run("p");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(Capture("_sluice_log_%"), "2");
  Sluice("cdc uninstall " + dir_.File("p.yaml"));
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(Capture("_sluice_log_%"), "0");
  EXPECT_EQ(Rows("app.db", "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), (std::vector<std::string>{"0"}));
  Exec("app.db", "INSERT INTO a VALUES (1)");  // the table takes writes without capture
}

TEST_F(SqliteTriggerSourceTest, IdentifiersAreQuoted) {
  Exec("app.db", "CREATE TABLE x (id INTEGER PRIMARY KEY);"
                 "CREATE TABLE \"orders\"\"; DROP TABLE x; --\" (id INTEGER PRIMARY KEY, \"we\"\"ird\" TEXT);"
                 "INSERT INTO \"orders\"\"; DROP TABLE x; --\" VALUES (1, 'v')");
  Pipeline("p", "'orders\"; DROP TABLE x; --'", "{ type: sqlite, path: out.db, mode: replicate }");
  Run("p");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  Exec("app.db", "UPDATE \"orders\"\"; DROP TABLE x; --\" SET \"we\"\"ird\" = 'w' WHERE id = 1");
  Run("p");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(Rows("app.db", "SELECT count(*) FROM x"), (std::vector<std::string>{"0"}));  // x still exists
  EXPECT_EQ(Rows("out.db", "SELECT id, \"we\"\"ird\" FROM \"orders\"\"; DROP TABLE x; --\""),
            (std::vector<std::string>{"1|w"}));
}

TEST_F(SqliteTriggerSourceTest, EachTableReplicatesByItsOwnPrimaryKey) {
  // No key: on the sink: each stream takes the primary key its source table has.
  Exec("app.db",
       "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO a VALUES (1, 'x');"
       "CREATE TABLE b (code TEXT, region TEXT, n INTEGER, PRIMARY KEY (code, region)); INSERT INTO b VALUES ('k', 'eu', 1)");
  Pipeline("p", "a, b", "{ type: sqlite, path: out.db, mode: replicate }");
  Run("p");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  Exec("app.db", "UPDATE b SET n = 2 WHERE code = 'k'; INSERT INTO b VALUES ('k', 'us', 3); DELETE FROM a");
  Run("p");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(Rows("out.db", "SELECT count(*) FROM a"), (std::vector<std::string>{"0"}));
  EXPECT_EQ(Rows("out.db", "SELECT code, region, n FROM b ORDER BY region"),
            (std::vector<std::string>{"k|eu|2", "k|us|3"}));
  // A key declared under streams: wins over the source's.
  dir_.Write("d.yaml",
             "name: d\nsource: { type: sqlite, path: app.db, mode: trigger, tables: [b] }\n"
             "sink: { type: sqlite, path: d.db, mode: replicate }\nstreams: { b: { key: [code, region, n] } }\n"
             "state: d_state.db\nquarantine: { path: q_d/ }\n");
  Run("d");
  ASSERT_EQ(exit_code_, 0) << Stderr();
  EXPECT_EQ(Rows("d.db", "SELECT group_concat(name) FROM (SELECT name FROM pragma_index_info('b__sluice_key') ORDER BY seqno)"),
            (std::vector<std::string>{"code,region,n"}));
}

}  // namespace
}  // namespace sluice
