// mode: trigger of the postgres source against a real server (scripts/services/postgres.sh),
// driven through the Source interface: `check` (dry run) shows the DDL and the GRANTs and changes
// nothing; the first pass copies existing rows as op r; inserts, updates, key changes and deletes
// then come out once each, in order, with their txid, time and before image; a transaction that
// commits late is read by a later pass (not stepped over); values keep their types whether they
// come through the copy or the log; an added column re-copies the table; TRUNCATE and a rename
// stop the source with the fix; `cdc uninstall` removes everything; a hostile table name is
// quoted everywhere. Each test has its own schema, dropped at the end. Skipped when SLUICE_PG_DSN
// is not set.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/postgres/pg_conn.h"
#include "connectors/postgres/postgres_source.h"
#include "core/log.h"
#include "core/record_batch.h"
#include "testing/change_collector.h"

namespace sluice {
namespace {

const char* Dsn() { return std::getenv("SLUICE_PG_DSN"); }

using Row = testing::ChangeRow;
using Collector = testing::ChangeCollector;

class PgTriggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Dsn()) GTEST_SKIP() << "SLUICE_PG_DSN not set (scripts/services/up.sh starts the server)";
    AddPostgresSource(registry_);
    admin_ = Connect();
    ASSERT_TRUE(admin_);
    schema_ = "trg_it_" + std::to_string(getpid());
    Exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    Exec("CREATE SCHEMA " + schema_);
    Exec("SET search_path TO " + schema_);
    log_file_ = std::fopen("/dev/null", "w");
    log_ = std::make_unique<Logger>(log_file_);
  }
  void TearDown() override {
    if (admin_) (void)admin_->Exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    if (log_file_) std::fclose(log_file_);
  }
  std::unique_ptr<pg::PgConn> Connect() {
    pg::PgConnOptions o;
    o.dsn = Dsn();
    auto c = pg::PgConn::Connect(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  void Exec(const std::string& sql, pg::PgConn* conn = nullptr) {
    Status st = (conn ? conn : admin_.get())->Exec(sql);
    ASSERT_TRUE(st.ok()) << sql << ": " << st.ToString();
  }
  std::string Scalar(const std::string& sql) {
    auto r = admin_->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    return r.ok() && r->rows() > 0 ? std::string(r->Get(0, 0)) : "";
  }
  // The sluice objects in the test schema: "tables functions triggers".
  std::string Objects() {
    return Scalar(
        "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE "
        "n.nspname = '" +
        schema_ +
        "' AND c.relname LIKE '\\_sluice%' AND c.relkind = 'r') || ' ' || "
        "(SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE "
        "n.nspname = '" +
        schema_ +
        "') || ' ' || (SELECT count(*) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '" +
        schema_ + "')");
  }
  ConfigNode Block(const std::string& table) {
    ConfigNode b;
    b.SetKind(ConfigNode::Kind::kMap);
    b.SetLocation("source", 2);
    auto add = [&](const std::string& k, const std::string& v) {
      b.AddEntry(k, ConfigNode::Scalar(v, "source." + k));
    };
    add("type", "postgres");
    add("dsn", Dsn());
    add("mode", "trigger");
    add("table", table);
    return b;
  }
  Result<std::unique_ptr<Source>> Make(const std::string& table, bool dry_run = false) {
    ConnectorContext ctx;
    ctx.pipeline = "it";
    ctx.log = log_.get();
    ctx.dry_run = dry_run;
    return registry_.Find("source", "postgres")->make_source(ctx, Block(table));
  }
  // One pass (no poll_interval) from `state`.
  Status RunOnce(const std::string& table, const StateMap& state, Collector& out,
                 bool dry_run = false) {
    ASSIGN_OR_RETURN(auto src, Make(table, dry_run));
    out.source = src.get();
    Status st = src->Open(state);
    if (st.ok()) st = src->Run(out);
    out.source = nullptr;
    return st;
  }
  static StateMap Merge(StateMap a, const StateMap& b) {
    for (const auto& [k, v] : b) a[k] = v;
    return a;
  }

  ConnectorRegistry registry_;
  std::unique_ptr<pg::PgConn> admin_;
  std::string schema_;
  FILE* log_file_ = nullptr;
  std::unique_ptr<Logger> log_;
};

TEST_F(PgTriggerTest, CheckShowsTheDdlAndGrantsAndChangesNothing) {
  Exec("CREATE TABLE t (id int PRIMARY KEY, name text)");
  Exec("INSERT INTO t VALUES (1, 'a')");
  auto src = Make(schema_ + ".t", /*dry_run=*/true);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  ASSERT_TRUE((*src)->Open({}).ok());
  std::string plan;
  for (const auto& l : (*src)->DescribePlan()) plan += l + "\n";
  const std::string q = "\"" + schema_ + "\"";
  EXPECT_NE(plan.find("CREATE TABLE IF NOT EXISTS " + q + ".\"_sluice_log_t\""), std::string::npos)
      << plan;
  EXPECT_NE(
      plan.find("CREATE OR REPLACE FUNCTION " + q + ".\"_sluice_capture_t\"() RETURNS trigger"),
      std::string::npos)
      << plan;
  EXPECT_NE(plan.find("CREATE TRIGGER _sluice_capture AFTER INSERT OR UPDATE OR DELETE ON " + q +
                      ".\"t\" FOR EACH ROW"),
            std::string::npos)
      << plan;
  EXPECT_NE(plan.find("GRANT USAGE, CREATE ON SCHEMA " + q), std::string::npos) << plan;
  EXPECT_NE(plan.find("GRANT SELECT, TRIGGER ON " + q + ".\"t\""), std::string::npos) << plan;
  Collector out;
  ASSERT_TRUE((*src)->Run(out).ok());
  EXPECT_EQ(out.Ops(), "");
  EXPECT_TRUE(out.State().empty());
  EXPECT_EQ(Objects(), "0 0 0") << "check installs nothing";
}

TEST_F(PgTriggerTest, SnapshotThenChangesOnceEachThenUninstall) {
  Exec("CREATE TABLE t (id int PRIMARY KEY, name text, amount numeric(10,2))");
  Exec("INSERT INTO t VALUES (1, 'a', 1.50), (2, 'b', 2.50), (3, 'c', NULL)");
  const std::string table = schema_ + ".t";
  Collector first;
  Status st = RunOnce(table, {}, first);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(first.Ops(), "rrr");
  auto rows = first.Rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].json, R"({"id":1,"name":"a","amount":"1.50"})");
  EXPECT_EQ(rows[0].stream, table) << "the stream is named as configured";
  EXPECT_EQ(rows[0].source_table, table);
  EXPECT_EQ(rows[0].source_db, Scalar("SELECT current_database()"));
  const StateMap s1 = first.State();
  ASSERT_EQ(s1.count({table, "trigger"}), 1u);
  EXPECT_EQ(Objects(), "1 1 2") << "log, function, row and TRUNCATE triggers";

  Exec("BEGIN");
  Exec("INSERT INTO t VALUES (4, 'd', 4.00)");
  Exec("UPDATE t SET name = 'B' WHERE id = 2");
  Exec("UPDATE t SET id = 30 WHERE id = 3");
  Exec("DELETE FROM t WHERE id = 1");
  const std::string xid = Scalar("SELECT txid_current()");
  Exec("COMMIT");
  Exec("UPDATE t SET name = 'bb' WHERE id = 2");
  Collector second;
  st = RunOnce(table, s1, second);
  ASSERT_TRUE(st.ok()) << st.ToString();
  // The key change of id 3 is a delete of the old key, then the row under its new key.
  EXPECT_EQ(second.Ops(), "cudcdu");
  rows = second.Rows();
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].json, R"({"id":4,"name":"d","amount":"4.00"})");
  EXPECT_EQ(rows[1].json, R"({"id":2,"name":"B","amount":"2.50"})");
  EXPECT_EQ(nlohmann::json::parse(rows[1].change.before),
            nlohmann::json::parse(R"({"id":2,"name":"b","amount":2.50})"))
      << "an update carries the old row";
  EXPECT_EQ(rows[2].json, R"({"id":3,"name":"c","amount":null})")
      << "a delete carries the old row's values";
  EXPECT_EQ(rows[3].json, R"({"id":30,"name":"c","amount":null})");
  EXPECT_EQ(rows[4].json, R"({"id":1,"name":"a","amount":"1.50"})");
  EXPECT_EQ(rows[5].json, R"({"id":2,"name":"bb","amount":"2.50"})");
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(std::to_string(rows[i].change.txid), xid) << i;
  EXPECT_NE(std::to_string(rows[5].change.txid), xid);
  EXPECT_LT(std::stoll(rows[0].change.position), std::stoll(rows[5].change.position))
      << "seq order";
  EXPECT_GT(rows[0].change.commit_us, 1700000000000000) << "changes carry the time of the change";
  for (const auto& r : rows)
    EXPECT_FALSE(r.in_boundary_envelope) << "a group ends only after the pass";
  ASSERT_FALSE(second.envelopes.empty());
  EXPECT_TRUE(second.envelopes.back().boundary);
  EXPECT_TRUE(second.envelopes.back().flush);
  const StateMap s2 = Merge(s1, second.State());

  // Nothing new: nothing read, no position; the log was trimmed to what the sink holds.
  Collector third;
  st = RunOnce(table, s2, third);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(third.Ops(), "");
  EXPECT_TRUE(third.State().empty());
  EXPECT_EQ(Scalar("SELECT count(*) FROM _sluice_log_t"), "0");

  auto src = Make(table);
  ASSERT_TRUE(src.ok());
  st = (*src)->Uninstall();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Objects(), "0 0 0");
  Exec("INSERT INTO t VALUES (99, 'after', 1)");
  EXPECT_EQ(Scalar("SELECT name FROM t WHERE id = 99"), "after");
  // With capture gone, a run from the old checkpoint refuses (changes were missed).
  Collector fourth;
  st = RunOnce(table, s2, fourth);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("not installed"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("sluice state reset"), std::string::npos) << st.ToString();
}

// The pitfall of "seq above the checkpoint": a change that takes its number first but commits
// after a later one. It is read once, by the first pass whose snapshot sees it.
TEST_F(PgTriggerTest, ALateCommitIsReadByALaterPassExactlyOnce) {
  Exec("CREATE TABLE t (id int PRIMARY KEY, v text)");
  const std::string table = schema_ + ".t";
  Collector first;
  ASSERT_TRUE(RunOnce(table, {}, first).ok());
  StateMap state = first.State();

  auto slow = Connect();
  ASSERT_TRUE(slow);
  Exec("BEGIN", slow.get());
  Exec("INSERT INTO " + table + " VALUES (1, 'slow')", slow.get());  // takes the lower seq
  Exec("INSERT INTO t VALUES (2, 'fast')");                          // a higher seq, committed now
  Collector second;
  ASSERT_TRUE(RunOnce(table, state, second).ok());
  auto rows = second.Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].json, R"({"id":2,"v":"fast"})");
  state = Merge(state, second.State());

  Exec("UPDATE t SET v = 'fast2' WHERE id = 2");
  Exec("COMMIT", slow.get());
  Collector third;
  ASSERT_TRUE(RunOnce(table, state, third).ok());
  rows = third.Rows();
  ASSERT_EQ(rows.size(), 2u) << "the late commit is read now, and nothing twice";
  EXPECT_EQ(rows[0].json, R"({"id":1,"v":"slow"})");
  EXPECT_EQ(rows[1].json, R"({"id":2,"v":"fast2"})");
  EXPECT_EQ(third.Ops(), "cu");
  state = Merge(state, third.State());
  Collector fourth;
  ASSERT_TRUE(RunOnce(table, state, fourth).ok());
  EXPECT_EQ(fourth.Ops(), "");

  // A rolled-back transaction leaves nothing to read.
  Exec("BEGIN");
  Exec("INSERT INTO t VALUES (3, 'gone')");
  Exec("ROLLBACK");
  Collector fifth;
  ASSERT_TRUE(RunOnce(table, state, fifth).ok());
  EXPECT_EQ(fifth.Ops(), "");
}

// A value reaches the sink the same whether the copy read it from the table or a change read it
// back from the log's jsonb.
TEST_F(PgTriggerTest, TypesAreTheSameThroughTheCopyAndThroughTheLog) {
  Exec(
      "CREATE TABLE t (id int PRIMARY KEY, n numeric(12,3), big numeric, s text, b bytea, ts "
      "timestamptz, "
      "tsn timestamp, d date, j json, jb jsonb, u uuid, arr int[], tarr text[], f bool, x float8, "
      "i8 bigint, "
      "c varchar(5))");
  const std::string values =
      "12.345, 123456789012345678901234567890.5, 'it''s \"q\" \\ ü', '\\x00ff10', '2024-02-29 "
      "23:59:59.123456+05', "
      "'2024-01-02 03:04:05.5', '1999-12-31', '{\"a\": [1, 2]}', '{\"k\": {\"z\": null}}', "
      "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{\"a b\",c}', true, 0.1, "
      "-9223372036854775808, 'abc'";
  Exec("INSERT INTO t VALUES (1, " + values + ")");
  Exec("INSERT INTO t (id) VALUES (3)");
  const std::string table = schema_ + ".t";
  Collector first;
  Status st = RunOnce(table, {}, first);
  ASSERT_TRUE(st.ok()) << st.ToString();
  Exec("INSERT INTO t VALUES (2, " + values + ")");
  Exec("INSERT INTO t (id) VALUES (4)");
  Collector second;
  st = RunOnce(table, first.State(), second);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto copied = first.Rows(), logged = second.Rows();
  ASSERT_EQ(copied.size(), 2u);
  ASSERT_EQ(logged.size(), 2u);
  auto without_id = [](const std::string& json) {
    auto j = nlohmann::json::parse(json);
    j.erase("id");
    return j.dump();
  };
  EXPECT_EQ(without_id(copied[0].json), without_id(logged[0].json));
  EXPECT_EQ(without_id(copied[1].json), without_id(logged[1].json)) << "NULLs stay NULL";
  // Typed as the other postgres modes type them.
  const auto& schema = *second.envelopes.front().batch->schema();
  EXPECT_EQ(schema.field(static_cast<size_t>(schema.IndexOf("n"))).type.ToString(),
            "decimal(12,3)");
  EXPECT_EQ(schema.field(static_cast<size_t>(schema.IndexOf("b"))).type.ToString(), "binary");
  EXPECT_EQ(schema.field(static_cast<size_t>(schema.IndexOf("f"))).type.ToString(), "bool");
  EXPECT_EQ(schema.field(static_cast<size_t>(schema.IndexOf("i8"))).type.ToString(), "int64");
  EXPECT_NE(logged[0].json.find("\"n\":\"12.345\""), std::string::npos) << logged[0].json;
  EXPECT_NE(logged[0].json.find("-9223372036854775808"), std::string::npos) << logged[0].json;
}

TEST_F(PgTriggerTest, AHostileTableNameIsQuotedEverywhere) {
  const std::string name = "orders\"; DROP TABLE x; --";
  Exec("CREATE TABLE x (id int)");
  Exec(
      "CREATE TABLE \"orders\"\"; DROP TABLE x; --\" (\"id\"\"$sluice$\" int PRIMARY KEY, "
      "\"we'ird\" text)");
  Exec("INSERT INTO \"orders\"\"; DROP TABLE x; --\" VALUES (1, 'a')");
  const std::string table = schema_ + ".\"orders\"\"; DROP TABLE x; --\"";
  Collector first;
  Status st = RunOnce(table, {}, first);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(first.Ops(), "r");
  Exec("UPDATE \"orders\"\"; DROP TABLE x; --\" SET \"id\"\"$sluice$\" = 2, \"we'ird\" = 'b'");
  Collector second;
  st = RunOnce(table, first.State(), second);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(second.Ops(), "dc");
  auto rows = second.Rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].json, R"({"id\"$sluice$":2,"we'ird":"b"})");
  EXPECT_EQ(
      Scalar("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
             "n.nspname = '" +
             schema_ + "' AND relname = '_sluice_log_" + name + "'"),
      "1");
  auto src = Make(table);
  ASSERT_TRUE(src.ok());
  st = (*src)->Uninstall();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Objects(), "0 0 0");
  EXPECT_EQ(Scalar("SELECT count(*) FROM x"), "0") << "table x is still there";
}

// An added column: the pass stops (transient); the next open reads the log, then copies the table
// again, so rows that existed before the column get its default.
TEST_F(PgTriggerTest, AnAddedColumnCopiesTheTableAgain) {
  Exec("CREATE TABLE t (id int PRIMARY KEY, v text)");
  Exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  const std::string table = schema_ + ".t";
  Collector first;
  ASSERT_TRUE(RunOnce(table, {}, first).ok());
  StateMap state = first.State();
  auto src = Make(table);
  ASSERT_TRUE(src.ok());
  ASSERT_TRUE((*src)->Open(state).ok());
  Exec("DELETE FROM t WHERE id = 1");
  Exec("ALTER TABLE t ADD COLUMN w int NOT NULL DEFAULT 7");
  Exec("INSERT INTO t VALUES (3, 'c', 8)");
  Collector mid;
  Status st = (*src)->Run(mid);
  EXPECT_TRUE(st.IsTransient()) << st.ToString();
  EXPECT_NE(st.message().find("columns of"), std::string::npos) << st.ToString();
  EXPECT_EQ(mid.Ops(), "");

  Collector second;
  st = RunOnce(table, state, second);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(second.Ops(), "dcrr") << "the log (the delete, the insert), then the table again";
  auto rows = second.Rows();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[2].json, R"({"id":2,"v":"b","w":7})");
  EXPECT_EQ(rows[3].json, R"({"id":3,"v":"c","w":8})");
  state = Merge(state, second.State());
  Collector third;
  ASSERT_TRUE(RunOnce(table, state, third).ok());
  EXPECT_EQ(third.Ops(), "") << "the new column list is in the checkpoint";
}

TEST_F(PgTriggerTest, TruncateAndRenameStopWithTheFix) {
  Exec("CREATE TABLE t (id int PRIMARY KEY)");
  Exec("INSERT INTO t VALUES (1)");
  const std::string table = schema_ + ".t";
  Collector first;
  ASSERT_TRUE(RunOnce(table, {}, first).ok());
  Exec("TRUNCATE t");
  Collector second;
  Status st = RunOnce(table, first.State(), second);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("was truncated"), std::string::npos) << st.ToString();
  EXPECT_TRUE(second.State().empty()) << "no position moves past the truncate";

  Exec("ALTER TABLE t RENAME TO t2");
  Collector third;
  st = RunOnce(table, first.State(), third);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("renamed or dropped"), std::string::npos) << st.ToString();
  // Uninstall by the old name still removes the log, the function and (through it) the triggers.
  auto src = Make(table);
  ASSERT_TRUE(src.ok());
  st = (*src)->Uninstall();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Objects(), "0 0 0");
}

TEST_F(PgTriggerTest, ATableWithoutPrimaryKeyIsRefused) {
  Exec("CREATE TABLE t (id int, v text)");
  Collector out;
  Status st = RunOnce(schema_ + ".t", {}, out);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("no primary key"), std::string::npos) << st.ToString();
  EXPECT_EQ(Objects(), "0 0 0");
}

}  // namespace
}  // namespace sluice
