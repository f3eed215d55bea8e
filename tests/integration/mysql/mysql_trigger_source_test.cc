// mode: trigger of the mysql source against the real MariaDB server (SLUICE_MYSQL_DSN): `check`
// (dry run) shows the DDL and changes nothing, the install snapshots existing rows as op r, then
// inserts, updates, key changes and deletes come out once each and in order; a transaction that
// is still open holds back the ones after it (no late commit is stepped over); schema changes
// stop the source with the fix; `cdc uninstall` removes everything; hostile table names.

#include <thread>

#include "integration/mysql/mysql_test_env.h"

namespace sluice::testing {
namespace {

class MysqlTriggerTest : public MysqlTest {
 protected:
  Result<std::unique_ptr<Source>> Trigger(const std::string& table, bool dry_run = false) {
    ConfigNode block = Block("source", {{"dsn", Dsn()}, {"mode", "trigger"}, {"table", table}});
    const ConnectorInfo* info = registry_.Find("source", "mysql");
    if (!info) return Status::NotFound("mysql source not registered");
    RETURN_IF_ERROR(ValidateOptions(block, info->options));
    ConnectorContext ctx = Context("p");
    ctx.dry_run = dry_run;
    return info->make_source(ctx, block);
  }
  // One pass of a trigger source from `committed`; the collected envelopes. `*st` gets the first
  // error of Open or Run.
  std::unique_ptr<CollectingEmitter> RunOnce(const std::string& table, const StateMap& committed,
                                             Status* st = nullptr, bool dry_run = false) {
    auto out = std::make_unique<CollectingEmitter>();
    auto src = Trigger(table, dry_run);
    EXPECT_TRUE(src.ok()) << src.status().ToString();
    if (!src.ok()) return out;
    Status s = (*src)->Open(committed);
    if (s.ok()) s = (*src)->Run(*out);
    if (st)
      *st = s;
    else
      EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  static std::string Ops(const CollectingEmitter& e) {
    std::string ops;
    for (const auto& env : e.envelopes) {
      if (!env.batch) continue;
      for (int64_t r = 0; r < env.batch->num_rows(); ++r) ops += env.batch->op(r);
    }
    return ops;
  }
  static std::vector<RecordBatch::ChangeSource> Changes(const CollectingEmitter& e) {
    std::vector<RecordBatch::ChangeSource> out;
    for (const auto& env : e.envelopes) {
      if (env.batch) out.insert(out.end(), env.batch->changes.begin(), env.batch->changes.end());
    }
    return out;
  }
  static StateMap Merge(StateMap a, const StateMap& b) {
    for (const auto& [k, v] : b) a[k] = v;
    return a;
  }
  std::string SluiceObjects() {
    return One(
        "SELECT CONCAT((SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '" +
        db_ +
        "' AND TABLE_NAME LIKE '\\_sluice%'), ' tables, ', (SELECT count(*) FROM "
        "information_schema.TRIGGERS "
        "WHERE TRIGGER_SCHEMA = '" +
        db_ + "'), ' triggers')");
  }
};

TEST_F(MysqlTriggerTest, CheckShowsTheDdlAndChangesNothing) {
  Exec("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(40))");
  Exec("INSERT INTO t VALUES (1, 'a')");
  auto src = Trigger("t", /*dry_run=*/true);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  ASSERT_TRUE((*src)->Open({}).ok());
  std::string plan;
  for (const auto& l : (*src)->DescribePlan()) plan += l + "\n";
  EXPECT_NE(
      plan.find("CREATE TRIGGER `" + db_ + "`.`_sluice_t_ins` AFTER INSERT ON `" + db_ + "`.`t`"),
      std::string::npos)
      << plan;
  EXPECT_NE(plan.find("CREATE TABLE IF NOT EXISTS `" + db_ + "`.`_sluice_log_t`"),
            std::string::npos)
      << plan;
  EXPECT_NE(
      plan.find("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, TRIGGER ON `" + db_ + "`.*"),
      std::string::npos)
      << plan;
  EXPECT_NE(plan.find("'r', 0"), std::string::npos) << "the snapshot statement is shown: " << plan;
  CollectingEmitter out;
  ASSERT_TRUE((*src)->Run(out).ok());
  EXPECT_EQ(Ops(out), "");
  EXPECT_EQ(SluiceObjects(), "0 tables, 0 triggers");
}

TEST_F(MysqlTriggerTest, SnapshotThenChangesOnceEachThenUninstall) {
  Exec(
      "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(10,2), at TIMESTAMP "
      "NULL) ENGINE=InnoDB");
  Exec(
      "INSERT INTO t VALUES (1, 'a', 1.50, NULL), (2, 'b', 2.50, '2026-01-02 03:04:05'), (3, 'c', "
      "NULL, NULL)");
  auto first = RunOnce("t", {});
  EXPECT_EQ(Ops(*first), "rrr");
  EXPECT_EQ(first->AllRows(), (Rows{{"1", "a", "1.50", "NULL"},
                                    {"2", "b", "2.50", "2026-01-02 03:04:05Z"},
                                    {"3", "c", "NULL", "NULL"}}));
  StateMap committed = first->Positions();
  EXPECT_EQ(At(committed, "", "trigger"), R"({"seq":3})");
  EXPECT_EQ(SluiceObjects(), "2 tables, 3 triggers");

  Exec("BEGIN");
  Exec("INSERT INTO t VALUES (4, 'd', 4.00, NULL)");
  Exec("UPDATE t SET name = 'B' WHERE id = 2");
  Exec("UPDATE t SET id = 30 WHERE id = 3");
  Exec("DELETE FROM t WHERE id = 1");
  Exec("COMMIT");
  Exec("UPDATE t SET name = 'bb' WHERE id = 2");
  auto second = RunOnce("t", committed);
  // The key change of id 3 is a delete of the old key, then the row under its new key.
  EXPECT_EQ(Ops(*second), "cudcdu");
  EXPECT_EQ(second->AllRows(), (Rows{{"4", "d", "4.00", "NULL"},
                                     {"2", "B", "2.50", "2026-01-02 03:04:05Z"},
                                     {"3", "c", "NULL", "NULL"},
                                     {"30", "c", "NULL", "NULL"},
                                     {"1", "a", "1.50", "NULL"},
                                     {"2", "bb", "2.50", "2026-01-02 03:04:05Z"}}));
  auto changes = Changes(*second);
  ASSERT_EQ(changes.size(), 6u);
  EXPECT_EQ(changes[0].position, "4");
  EXPECT_EQ(changes[5].position, "9");
  EXPECT_GT(changes[0].commit_us, 0) << "changes carry the time of the change";
  for (const auto& env : second->envelopes) {
    if (env.batch) {
      EXPECT_FALSE(env.boundary) << "a group ends only after the pass";
    }
  }
  ASSERT_FALSE(second->envelopes.empty());
  EXPECT_TRUE(second->envelopes.back().boundary);
  StateMap after = Merge(committed, second->Positions());
  EXPECT_EQ(At(after, "", "trigger"), R"({"seq":9})");

  // Resumed from the older position (a sink that did not commit the second pass): the same
  // changes again, once each.
  auto again = RunOnce("t", committed);
  EXPECT_EQ(Ops(*again), "cudcdu");
  // Resumed from what the sink holds: nothing twice, and the log is trimmed below it.
  auto third = RunOnce("t", after);
  EXPECT_EQ(Ops(*third), "");
  EXPECT_EQ(One("SELECT count(*) FROM _sluice_log_t"), "0");

  auto src = Trigger("t");
  ASSERT_TRUE(src.ok());
  ASSERT_TRUE((*src)->Uninstall().ok());
  EXPECT_EQ(SluiceObjects(), "0 tables, 0 triggers");
  Exec("INSERT INTO t VALUES (5, 'e', NULL, NULL)");
  EXPECT_EQ(One("SELECT name FROM t WHERE id = 5"), "e");

  // Installed again while the sink still holds {"seq": 9}: the new numbers start above it, so
  // the new snapshot is not taken for old changes.
  auto reinstalled = RunOnce("t", after);
  EXPECT_EQ(Ops(*reinstalled), "rrrr");
  EXPECT_EQ(At(reinstalled->Positions(), "", "trigger"), R"({"seq":13})");
}

TEST_F(MysqlTriggerTest, AnOpenTransactionHoldsBackLaterCommits) {
  Exec("CREATE TABLE t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
  Exec("INSERT INTO t VALUES (0, 0)");
  auto first = RunOnce("t", {});
  StateMap committed = first->Positions();
  EXPECT_EQ(At(committed, "", "trigger"), R"({"seq":1})");

  MYSQL* early = Connect(db_);
  ASSERT_NE(early, nullptr);
  ASSERT_EQ(mysql_query(early, "BEGIN"), 0);
  ASSERT_EQ(mysql_query(early, "INSERT INTO t VALUES (1, 1)"), 0) << mysql_error(early);
  // A second writer starts and commits later than the first one began; it waits on the counter.
  std::thread late([this] {
    MYSQL* m = Connect(db_);
    if (!m) return;
    EXPECT_EQ(mysql_query(m, "INSERT INTO t VALUES (2, 2)"), 0) << mysql_error(m);
    mysql_close(m);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto during = RunOnce("t", committed);
  EXPECT_EQ(Ops(*during), "") << "nothing is read past a change whose transaction is still open";
  ASSERT_EQ(mysql_query(early, "COMMIT"), 0);
  late.join();
  mysql_close(early);
  auto after = RunOnce("t", Merge(committed, during->Positions()));
  EXPECT_EQ(Ops(*after), "cc");
  EXPECT_EQ(after->AllRows(), (Rows{{"1", "1"}, {"2", "2"}}));

  // A rolled-back transaction leaves no gap: its numbers go back with the counter.
  Exec("BEGIN");
  Exec("INSERT INTO t VALUES (3, 3)");
  Exec("ROLLBACK");
  Exec("INSERT INTO t VALUES (4, 4)");
  auto last = RunOnce("t", Merge(committed, after->Positions()));
  EXPECT_EQ(last->AllRows(), (Rows{{"4", "4"}}));
  EXPECT_EQ(At(last->Positions(), "", "trigger"), R"({"seq":4})");
}

TEST_F(MysqlTriggerTest, NoPositionInTheSinkCopiesTheTableAgain) {
  Exec("CREATE TABLE t (id INT PRIMARY KEY, v INT)");
  Exec("INSERT INTO t VALUES (1, 1), (2, 2)");
  auto first = RunOnce("t", {});
  EXPECT_EQ(Ops(*first), "rr");
  Exec("DELETE FROM t WHERE id = 1");
  auto committed = RunOnce("t", first->Positions());
  EXPECT_EQ(Ops(*committed), "d");
  // `sluice state reset`: the log was trimmed, so the rows come again from a new snapshot.
  auto reset = RunOnce("t", {});
  EXPECT_EQ(Ops(*reset), "r");
  EXPECT_EQ(reset->AllRows(), (Rows{{"2", "2"}}));
}

TEST_F(MysqlTriggerTest, SchemaChangeStopsWithTheFix) {
  Exec("CREATE TABLE t (id INT PRIMARY KEY, v INT)");
  auto first = RunOnce("t", {});
  Exec("ALTER TABLE t ADD COLUMN w INT");
  Status st;
  RunOnce("t", first->Positions(), &st);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("columns changed"), std::string::npos) << st.ToString();
  EXPECT_NE(st.ToString().find("sluice cdc uninstall"), std::string::npos) << st.ToString();
  Exec("ALTER TABLE t DROP COLUMN w");
  Exec("DROP TRIGGER _sluice_t_del");
  RunOnce("t", first->Positions(), &st);
  EXPECT_NE(st.ToString().find("only 2 of its 3 capture triggers"), std::string::npos)
      << st.ToString();
}

TEST_F(MysqlTriggerTest, HostileTableNamesAreQuoted) {
  Exec("CREATE TABLE x (id INT PRIMARY KEY)");
  for (const std::string& name :
       {std::string("orders\"; DROP TABLE x; --"), std::string("we`ird")}) {
    SCOPED_TRACE(name);
    std::string quoted = "`";
    for (char c : name) quoted += c == '`' ? std::string("``") : std::string(1, c);
    quoted += "`";
    Exec("CREATE TABLE " + quoted + " (`k``ey` VARCHAR(20) PRIMARY KEY, `va'l` TEXT)");
    Exec("INSERT INTO " + quoted + " VALUES ('a', 'it''s')");
    auto first = RunOnce(name, {});
    EXPECT_EQ(Ops(*first), "r");
    Exec("UPDATE " + quoted + " SET `k``ey` = 'b' WHERE `k``ey` = 'a'");
    auto second = RunOnce(name, first->Positions());
    EXPECT_EQ(Ops(*second), "dc");
    EXPECT_EQ(second->AllRows(), (Rows{{"a", "it's"}, {"b", "it's"}}));
    auto src = Trigger(name);
    ASSERT_TRUE(src.ok());
    EXPECT_TRUE((*src)->Uninstall().ok());
  }
  EXPECT_EQ(One("SELECT count(*) FROM x"), "0") << "table x is still there";
  // A captured table dropped since: uninstall still removes its log (and the counter).
  Exec("CREATE TABLE gone (id INT PRIMARY KEY)");
  RunOnce("gone", {});
  Exec("DROP TABLE gone");
  auto src = Trigger("gone");
  ASSERT_TRUE(src.ok());
  EXPECT_TRUE((*src)->Uninstall().ok());
  EXPECT_EQ(SluiceObjects(), "0 tables, 0 triggers");
}

}  // namespace
}  // namespace sluice::testing
