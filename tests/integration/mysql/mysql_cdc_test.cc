// mode: cdc of the mysql source against the real MariaDB server (SLUICE_MYSQL_DSN): the initial
// snapshot, the binlog stream (inserts, updates, key changes, deletes, whole transactions), resume
// from the committed GTID without duplicates, schema changes, every column type decoded from the
// binlog exactly as the snapshot reads it, and `check` naming the fix for missing privileges.
// The chunked snapshot by watermarks: a copy under a concurrent writer ends with every key's
// latest row, a stopped copy resumes after its last committed chunk, a table added later is
// copied alone, and without privileges on the watermark table the whole-table copy is used.

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "connectors/sql/changelog.h"
#include "integration/mysql/mysql_test_env.h"

namespace sluice::testing {
namespace {

class MysqlCdcTest : public MysqlTest {
 protected:
  ConfigNode CdcBlock(const std::vector<std::string>& tables, const std::string& dsn = "",
                      const std::string& page_size = "") {
    std::vector<std::pair<std::string, std::string>> scalars = {
        {"dsn", dsn.empty() ? Dsn() : dsn}, {"mode", "cdc"}, {"stop_at", "caught_up"}};
    if (!page_size.empty()) scalars.push_back({"page_size", page_size});
    return Block("source", scalars, {{"tables", tables}});
  }
  // One run of a cdc source from `committed` until it has caught up; the collected envelopes.
  std::unique_ptr<CollectingEmitter> RunOnce(const std::vector<std::string>& tables,
                                             const StateMap& committed,
                                             const std::string& page_size = "") {
    auto out = std::make_unique<CollectingEmitter>();
    auto src = MakeSource(CdcBlock(tables, "", page_size));
    EXPECT_TRUE(src.ok()) << src.status().ToString();
    if (!src.ok()) return out;
    Status st = (*src)->Open(committed);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) return out;
    st = (*src)->Run(*out);
    EXPECT_TRUE(st.ok()) << st.ToString();
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
  // The ops of one stream's rows.
  static std::string StreamOps(const CollectingEmitter& e, const std::string& stream) {
    std::string ops;
    for (const auto& env : e.envelopes) {
      if (!env.batch || env.batch->stream != stream) continue;
      for (int64_t r = 0; r < env.batch->num_rows(); ++r) ops += env.batch->op(r);
    }
    return ops;
  }
  // Applies the rows as a replicate sink does (by the first column, the key): r, c and u write
  // the row, d deletes the key.
  static void Replay(const CollectingEmitter& e, std::map<int64_t, Rows::value_type>* table) {
    const Rows rows = e.AllRows();
    const std::string ops = Ops(e);
    EXPECT_EQ(rows.size(), ops.size());
    for (size_t i = 0; i < rows.size() && i < ops.size(); ++i) {
      const int64_t key = std::stoll(rows[i][0]);
      if (ops[i] == 'd') {
        table->erase(key);
      } else {
        (*table)[key] = rows[i];
      }
    }
  }
  std::map<int64_t, Rows::value_type> TableNow(const std::string& select) {
    std::map<int64_t, Rows::value_type> out;
    for (auto& r : Query(select)) out[std::stoll(r[0])] = r;
    return out;
  }
  static std::vector<const RecordBatch::ChangeSource*> Changes(const CollectingEmitter& e) {
    std::vector<const RecordBatch::ChangeSource*> out;
    for (const auto& env : e.envelopes) {
      if (!env.batch) continue;
      for (const auto& c : env.batch->changes) out.push_back(&c);
    }
    return out;
  }
  // The before image of every change as a changelog sink writes it ("" when there is none).
  static std::vector<std::string> Befores(const CollectingEmitter& e) {
    std::vector<std::string> out;
    for (const auto& env : e.envelopes) {
      if (!env.batch) continue;
      for (int64_t r = 0; r < env.batch->num_rows(); ++r) out.push_back(sql::ChangeBeforeJson(*env.batch, r));
    }
    return out;
  }
};

TEST_F(MysqlCdcTest, OldRowsOfUpdatesAreBuiltOnlyForSinksThatWriteThem) {
  Exec("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(40), at DATETIME(6)) ENGINE=InnoDB");
  auto first = RunOnce({"t"}, {});
  StateMap committed = first->Positions();
  Exec("INSERT INTO t VALUES (1, 'a', '2024-02-29 10:11:12.5')");
  Exec("UPDATE t SET name = 'b' WHERE id = 1");
  Exec("DELETE FROM t WHERE id = 1");
  auto with = RunOnce({"t"}, committed);
  EXPECT_EQ(Ops(*with), "cud");
  EXPECT_EQ(Befores(*with), (std::vector<std::string>{
                                "", R"({"id":1,"name":"a","at":"2024-02-29 10:11:12.500000"})",
                                R"({"id":1,"name":"b","at":"2024-02-29 10:11:12.500000"})"}));
  before_images_ = false;  // a replicate sink, say: nothing reads the old row of an update
  auto without = RunOnce({"t"}, committed);
  EXPECT_EQ(without->AllRows(), with->AllRows());
  for (const auto& env : without->envelopes) {
    if (env.batch) {
      EXPECT_EQ(env.batch->before_rows, nullptr);
    }
  }
  EXPECT_EQ(Befores(*without), (std::vector<std::string>{
                                   "", "", R"({"id":1,"name":"b","at":"2024-02-29 10:11:12.500000"})"}));
}

TEST_F(MysqlCdcTest, SnapshotThenStreamThenResumeWithoutDuplicates) {
  Exec("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(10,2)) ENGINE=InnoDB");
  Exec("INSERT INTO t VALUES (1, 'a', 1.50), (2, 'b', 2.50), (3, 'c', NULL)");
  auto first = RunOnce({"t"}, {});
  EXPECT_EQ(Ops(*first), "rrr");
  EXPECT_EQ(first->AllRows(), (Rows{{"1", "a", "1.50"}, {"2", "b", "2.50"}, {"3", "c", "NULL"}}));
  StateMap committed = first->Positions();
  ASSERT_NE(At(committed, "t", "cdc"), "<none>");
  EXPECT_NE(At(committed, "t", "cdc").find("\"snapshot\":\"done\""), std::string::npos);

  Exec("BEGIN");
  Exec("INSERT INTO t VALUES (4, 'd', 4.00)");
  Exec("UPDATE t SET name = 'B' WHERE id = 2");
  Exec("UPDATE t SET id = 30 WHERE id = 3");
  Exec("DELETE FROM t WHERE id = 1");
  Exec("COMMIT");
  Exec("INSERT INTO t VALUES (5, 'e', 5.00)");
  const std::string gtid = One("SELECT @@gtid_binlog_pos");
  auto second = RunOnce({"t"}, committed);
  // The key change of id 3 is a delete of the old key, then the row under its new key.
  EXPECT_EQ(Ops(*second), "cududc");
  EXPECT_EQ(second->AllRows(), (Rows{{"4", "d", "4.00"},
                                     {"2", "B", "2.50"},
                                     {"3", "c", "NULL"},
                                     {"30", "c", "NULL"},
                                     {"1", "a", "1.50"},
                                     {"5", "e", "5.00"}}));
  auto changes = Changes(*second);
  ASSERT_EQ(changes.size(), 6u);
  // One source transaction: one GTID, and no commit group may end inside it.
  EXPECT_EQ(changes[0]->position, changes[4]->position);
  EXPECT_NE(changes[0]->position, changes[5]->position);
  EXPECT_NE(gtid.find(changes[5]->position), std::string::npos) << gtid;
  EXPECT_GT(changes[0]->commit_us, 0);
  // Before images: the old row of an update (kept typed, rendered as the sink writes it), and a
  // delete's own row. An insert has none.
  const auto befores = Befores(*second);
  ASSERT_EQ(befores.size(), 6u);
  EXPECT_EQ(befores[0], "");
  EXPECT_EQ(befores[1], R"({"id":2,"name":"b","amount":"2.50"})");  // as the after image has it
  EXPECT_EQ(befores[2], R"({"id":3,"name":"c","amount":null})");
  EXPECT_EQ(befores[3], R"({"id":3,"name":"c","amount":null})");
  EXPECT_EQ(befores[4], R"({"id":1,"name":"a","amount":"1.50"})");
  bool boundary_between = false, rows_seen = false;
  for (const auto& env : second->envelopes) {
    if (env.batch) {
      rows_seen = true;
      EXPECT_FALSE(env.boundary) << "rows go out without a boundary; the positions follow";
    }
    if (rows_seen && env.boundary && !env.positions.empty()) boundary_between = true;
  }
  EXPECT_TRUE(boundary_between);
  StateMap after = committed;
  for (const auto& [k, v] : second->Positions()) after[k] = v;
  EXPECT_NE(At(after, "t", "cdc").find(gtid), std::string::npos) << At(after, "t", "cdc");

  // Resumed from what the sink holds: nothing is sent twice.
  auto third = RunOnce({"t"}, after);
  EXPECT_EQ(Ops(*third), "");
  // Resumed from the older position: the same changes again, exactly once each.
  auto again = RunOnce({"t"}, committed);
  EXPECT_EQ(Ops(*again), "cududc");
}

TEST_F(MysqlCdcTest, InterruptedSnapshotResumesAfterTheLastCommittedKey) {
  Exec("CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(20))");
  Exec("INSERT INTO big SELECT seq, CONCAT('v', seq) FROM seq_1_to_150000");
  // Stop right after the first position: the rows of one batch, and a boundary with its key.
  CollectingEmitter first;
  first.stop_after = 2;
  {
    auto src = MakeSource(CdcBlock({"big"}));
    ASSERT_TRUE(src.ok());
    ASSERT_TRUE((*src)->Open({}).ok());
    ASSERT_TRUE((*src)->Run(first).ok());
  }
  const Rows got1 = first.AllRows();
  ASSERT_GT(got1.size(), 0u);
  ASSERT_LT(got1.size(), 150000u);
  const std::string pos = At(first.Positions(), "big", "cdc");
  EXPECT_NE(pos.find("\"snapshot\":\"running\""), std::string::npos) << pos;
  EXPECT_NE(pos.find("\"after\":[" + got1.back()[0] + "]"), std::string::npos) << pos;
  auto second = RunOnce({"big"}, first.Positions());
  const Rows got2 = second->AllRows();
  ASSERT_EQ(got1.size() + got2.size(), 150000u);
  EXPECT_EQ(std::stoll(got2.front()[0]), std::stoll(got1.back()[0]) + 1);
  EXPECT_EQ(got2.back(), (std::vector<std::string>{"150000", "v150000"}));
  EXPECT_NE(At(second->Positions(), "big", "cdc").find("\"snapshot\":\"done\""), std::string::npos);
}

TEST_F(MysqlCdcTest, ChunkedSnapshotUnderConcurrentWritesEndsWithEveryKeyLatest) {
  Exec("CREATE TABLE w (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(20))");
  Exec("INSERT INTO w SELECT seq, 0, 'seed' FROM seq_1_to_3000");
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    MYSQL* m = Connect(db_);
    if (!m) return;
    std::mt19937 rng(7);
    int next = 100000;
    while (!stop) {
      // Keys anywhere: in chunks copied, in the chunk in flight, not copied yet, and new ones.
      const std::string id = std::to_string(1 + rng() % 3300);
      std::string sql;
      switch (rng() % 6) {
        case 0:
          sql = "DELETE FROM w WHERE id = " + id;
          break;
        case 1:
          sql = "INSERT INTO w VALUES (" + id +
                ", 1, 'ins') ON DUPLICATE KEY UPDATE v = v + 1, note = 'dup'";
          break;
        case 2:
          sql = "UPDATE IGNORE w SET id = " + std::to_string(next++) + " WHERE id = " + id;
          break;
        case 3:
          sql = "INSERT INTO w VALUES (" + std::to_string(next++) + ", 2, 'new')";
          break;
        default:
          sql =
              "UPDATE w SET v = v + 1, note = 'upd' WHERE id BETWEEN " + id + " AND " + id + " + 3";
      }
      if (mysql_query(m, sql.c_str()) == 0) ++writes;
      if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    mysql_close(m);
  });
  // The copy in chunks of 100 while the writer runs; then what it did after.
  auto first = RunOnce({"w"}, {}, "100");
  stop = true;
  writer.join();
  ASSERT_GT(writes.load(), 0);
  const StateMap committed = first->Positions();
  EXPECT_NE(At(committed, "w", "cdc").find("\"snapshot\":\"done\""), std::string::npos)
      << At(committed, "w", "cdc");
  auto second = RunOnce({"w"}, committed, "100");
  EXPECT_EQ(Ops(*second).find('r'), std::string::npos) << "the copy is done: only changes";

  std::map<int64_t, Rows::value_type> replica;
  Replay(*first, &replica);
  Replay(*second, &replica);
  const auto want = TableNow("SELECT id, v, note FROM w ORDER BY id");
  EXPECT_EQ(replica.size(), want.size());
  size_t differ = 0;
  for (const auto& [k, row] : want) {
    auto it = replica.find(k);
    if (it == replica.end() || it->second != row) {
      if (++differ <= 5) ADD_FAILURE() << "key " << k << " differs from the source";
    }
  }
  for (const auto& [k, row] : replica) {
    if (!want.count(k) && ++differ <= 5) ADD_FAILURE() << "key " << k << " is not in the source";
  }
  EXPECT_EQ(differ, 0u);
  // The copied rows are op r, each at the GTID of its chunk's high watermark; the writer's
  // changes streamed in between.
  const std::string ops = Ops(*first);
  const size_t reads = static_cast<size_t>(std::count(ops.begin(), ops.end(), 'r'));
  EXPECT_GT(reads, 2500u);
  EXPECT_NE((ops + Ops(*second)).find_first_not_of('r'), std::string::npos);
  std::set<std::string> chunk_positions;
  const auto changes = Changes(*first);
  for (size_t i = 0; i < changes.size() && i < ops.size(); ++i) {
    if (ops[i] == 'r') chunk_positions.insert(changes[i]->position);
  }
  EXPECT_GE(chunk_positions.size(), 25u) << "one position per chunk of 100 rows";
}

TEST_F(MysqlCdcTest, ChunkedSnapshotStoppedMidwayResumesAfterTheLastCommittedChunk) {
  Exec("CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(20))");
  Exec("INSERT INTO big SELECT seq, CONCAT('v', seq) FROM seq_1_to_2000");
  CollectingEmitter first;
  first.stop_after = 5;  // a few chunks, then a stop
  {
    auto src = MakeSource(CdcBlock({"big"}, "", "100"));
    ASSERT_TRUE(src.ok()) << src.status().ToString();
    ASSERT_TRUE((*src)->Open({}).ok());
    Status st = (*src)->Run(first);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  const Rows got1 = first.AllRows();
  ASSERT_GT(got1.size(), 0u);
  ASSERT_LT(got1.size(), 2000u);
  EXPECT_EQ(Ops(first), std::string(got1.size(), 'r'));
  EXPECT_EQ(got1.size() % 100, 0u) << "whole chunks only";
  const std::string pos = At(first.Positions(), "big", "cdc");
  EXPECT_NE(pos.find("\"snapshot\":\"running\""), std::string::npos) << pos;
  EXPECT_NE(pos.find("\"after\":[" + got1.back()[0] + "]"), std::string::npos) << pos;
  EXPECT_NE(pos.find("\"snapshot_rows\":" + std::to_string(got1.size())), std::string::npos) << pos;
  // Changes while stopped: of a copied row, of one not copied yet, and a delete of a copied one.
  const int64_t last = std::stoll(got1.back()[0]);
  Exec("UPDATE big SET v = 'x' WHERE id = 1");
  Exec("UPDATE big SET v = 'y' WHERE id = 1999");
  Exec("DELETE FROM big WHERE id = 2");
  auto second = RunOnce({"big"}, first.Positions(), "100");
  std::string reads;
  int64_t first_read = -1;
  const Rows got2 = second->AllRows();
  const std::string ops2 = Ops(*second);
  for (size_t i = 0; i < got2.size(); ++i) {
    if (ops2[i] != 'r') continue;
    if (first_read < 0) first_read = std::stoll(got2[i][0]);
  }
  EXPECT_EQ(first_read, last + 1) << "resumes after the last committed chunk";
  EXPECT_EQ(static_cast<int64_t>(std::count(ops2.begin(), ops2.end(), 'r')), 2000 - last);
  std::map<int64_t, Rows::value_type> replica;
  Replay(first, &replica);
  Replay(*second, &replica);
  EXPECT_EQ(replica, TableNow("SELECT id, v FROM big ORDER BY id"));
  EXPECT_NE(At(second->Positions(), "big", "cdc").find("\"snapshot\":\"done\""), std::string::npos);
}

TEST_F(MysqlCdcTest, TableAddedLaterIsCopiedAloneWhileTheOthersStream) {
  Exec("CREATE TABLE a (id INT PRIMARY KEY, v INT)");
  Exec("INSERT INTO a SELECT seq, seq FROM seq_1_to_50");
  auto first = RunOnce({"a"}, {}, "20");
  EXPECT_EQ(Ops(*first), std::string(50, 'r'));
  Exec("CREATE TABLE b (id INT PRIMARY KEY, v INT)");
  Exec("INSERT INTO b SELECT seq, seq FROM seq_1_to_70");
  Exec("INSERT INTO a VALUES (51, 51)");
  auto second = RunOnce({"a", "b"}, first->Positions(), "20");
  EXPECT_EQ(StreamOps(*second, "a"), "c") << "a is not copied again";
  EXPECT_EQ(StreamOps(*second, "b"), std::string(70, 'r'));
  for (const char* s : {"a", "b"}) {
    EXPECT_NE(At(second->Positions(), s, "cdc").find("\"snapshot\":\"done\""), std::string::npos)
        << s;
  }
  // Changes of b after its copy stream like a's.
  Exec("UPDATE b SET v = 0 WHERE id = 70");
  StateMap after = first->Positions();
  for (const auto& [k, v] : second->Positions()) after[k] = v;
  auto third = RunOnce({"a", "b"}, after, "20");
  EXPECT_EQ(StreamOps(*third, "b"), "u");
  EXPECT_EQ(third->AllRows(), (Rows{{"70", "0"}}));
}

TEST_F(MysqlCdcTest, UninstallDropsTheWatermarkTableOnceNoPipelineUsesIt) {
  Exec("CREATE TABLE u (id INT PRIMARY KEY)");
  Exec("INSERT INTO u VALUES (1)");
  auto first = RunOnce({"u"}, {});
  EXPECT_EQ(Ops(*first), "r");
  const std::string rows = "SELECT COUNT(*) FROM _sluice_watermark";
  EXPECT_EQ(One(rows), "1") << "one row per pipeline";
  Exec("INSERT INTO _sluice_watermark VALUES ('other', 'low:other:1:1')");
  auto uninstall = [&] {
    auto src = MakeSource(CdcBlock({"u"}));
    ASSERT_TRUE(src.ok());
    Status st = (*src)->Uninstall();
    EXPECT_TRUE(st.ok()) << st.ToString();
  };
  uninstall();
  EXPECT_EQ(One(rows), "1") << "another pipeline's row keeps the table";
  Exec("DELETE FROM _sluice_watermark WHERE id = 'other'");
  Exec("INSERT INTO _sluice_watermark VALUES ('p', 'ready')");
  uninstall();
  EXPECT_EQ(One("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '" + db_ +
                "' AND TABLE_NAME = '_sluice_watermark'"),
            "0");
}

TEST_F(MysqlCdcTest, WithoutWatermarkPrivilegesTheWholeTableIsCopiedAndCheckSaysHow) {
  const std::string user = "sluice_nowm_" + std::to_string(getpid());
  Exec("DROP USER IF EXISTS '" + user + "'@'%'");
  Exec("CREATE USER '" + user + "'@'%' IDENTIFIED BY 'pw'");
  Exec("GRANT SELECT ON `" + db_ + "`.* TO '" + user + "'@'%'");
  Exec("GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '" + user + "'@'%'");
  Exec("CREATE TABLE f (id INT PRIMARY KEY, v INT)");
  Exec("INSERT INTO f VALUES (1, 1), (2, 2)");
  CollectingEmitter out;
  std::vector<std::string> plan;
  Status st;
  {
    auto src = MakeSource(CdcBlock({"f"}, Dsn(user, "pw")));
    ASSERT_TRUE(src.ok()) << src.status().ToString();
    st = (*src)->Open({});
    if (st.ok()) {
      plan = (*src)->DescribePlan();
      st = (*src)->Run(out);
    }
  }
  Exec("DROP USER '" + user + "'@'%'");
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::string text;
  for (const auto& l : plan) text += l + "\n";
  EXPECT_NE(text.find("copied whole in one consistent transaction"), std::string::npos) << text;
  EXPECT_NE(text.find("GRANT CREATE, INSERT, UPDATE, DELETE ON `" + db_ +
                      "`.`_sluice_watermark` TO '" + user + "'@'%'"),
            std::string::npos)
      << text;
  EXPECT_EQ(Ops(out), "rr");
  EXPECT_EQ(out.AllRows(), (Rows{{"1", "1"}, {"2", "2"}}));
  EXPECT_EQ(One("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '" + db_ +
                "' AND TABLE_NAME = '_sluice_watermark'"),
            "0");
}

TEST_F(MysqlCdcTest, TransactionLargerThanABatchHasNoBoundaryInside) {
  Exec("CREATE TABLE tx (id INT PRIMARY KEY, v INT)");
  auto first = RunOnce({"tx"}, {});
  Exec("BEGIN");
  Exec("INSERT INTO tx SELECT seq, seq FROM seq_1_to_100000");
  Exec("UPDATE tx SET v = v + 1 WHERE id <= 50000");
  Exec("COMMIT");
  auto second = RunOnce({"tx"}, first->Positions());
  int64_t rows = 0, batches = 0;
  bool boundary_seen = false;
  for (const auto& env : second->envelopes) {
    if (env.batch) {
      ++batches;
      rows += env.batch->num_rows();
      EXPECT_FALSE(boundary_seen) << "rows after the transaction's boundary";
    }
    if (env.boundary && !env.positions.empty() && rows > 0) {
      EXPECT_EQ(rows, 150000) << "a boundary inside the transaction";
      boundary_seen = true;
    }
  }
  EXPECT_EQ(rows, 150000);
  EXPECT_GT(batches, 1);  // more than one batch, all inside one transaction
  EXPECT_TRUE(boundary_seen);
}

TEST_F(MysqlCdcTest, EveryTypeStreamsAsTheSnapshotReadsIt) {
  Exec(
      "CREATE TABLE ty (id INT PRIMARY KEY, ti TINYINT, si SMALLINT UNSIGNED, mi MEDIUMINT, "
      "bi BIGINT, bu BIGINT UNSIGNED, b1 BOOL, f FLOAT, d DOUBLE, dc DECIMAL(20,6), dn "
      "DECIMAL(5,0), "
      "c CHAR(5), vc VARCHAR(300), tx TEXT, bn BINARY(4), vb VARBINARY(10), bl BLOB, "
      "e ENUM('x','y','z'), s SET('p','q','r'), dt DATE, tm TIME(3), dtm DATETIME(6), "
      "ts TIMESTAMP(2) NULL, yr YEAR, bt BIT(10), js JSON)");
  const std::string values =
      "(%d, -128, 65535, -8388608, -9223372036854775808, 18446744073709551615, 1, 0.1, "
      "-2.5e-300, -12345678901234.123456, 99999, 'ab', REPEAT('é', 300), 'long text', 'ab', "
      "x'00ff10', x'deadbeef', 'y', 'p,r', '2024-02-29', '23:59:59.125', "
      "'1999-12-31 23:59:59.999999', '2030-01-02 03:04:05.67', 2024, b'1010101010', "
      "'{\"a\": [1, 2]}'),"
      "(%d, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
      "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
      "(%d, 127, 0, 0, 0, 0, 0, -3.25, 0, 0.000001, -1, '', '', '', x'00000000', '', '', 'x', '', "
      "'1000-01-01', '00:00:00', '1970-01-01 00:00:00', '1970-01-01 00:00:01', 1901, b'0', 'null')";
  char buf[2048];
  std::snprintf(buf, sizeof buf, values.c_str(), 1, 2, 3);
  Exec(std::string("INSERT INTO ty VALUES ") + buf);
  auto first = RunOnce({"ty"}, {});
  ASSERT_EQ(Ops(*first), "rrr");
  EXPECT_TRUE(first->Rejects().empty());
  std::snprintf(buf, sizeof buf, values.c_str(), 1, 2, 3);
  Exec("DELETE FROM ty");
  Exec(std::string("INSERT INTO ty VALUES ") + buf);
  auto second = RunOnce({"ty"}, first->Positions());
  EXPECT_EQ(Ops(*second), "dddccc");
  for (const auto& r : second->Rejects()) ADD_FAILURE() << r.column << ": " << r.reason;
  Rows streamed = second->AllRows();
  ASSERT_EQ(streamed.size(), 6u);
  Rows inserted(streamed.begin() + 3, streamed.end());
  Rows deleted(streamed.begin(), streamed.begin() + 3);
  EXPECT_EQ(inserted, first->AllRows());
  EXPECT_EQ(deleted, first->AllRows());
}

TEST_F(MysqlCdcTest, SchemaChangeIsReadAgainMidStream) {
  Exec("CREATE TABLE sc (id INT PRIMARY KEY, a VARCHAR(10))");
  Exec("INSERT INTO sc VALUES (1, 'x')");
  auto first = RunOnce({"sc"}, {});
  Exec("INSERT INTO sc VALUES (2, 'y')");
  Exec("ALTER TABLE sc ADD COLUMN b INT NULL");
  Exec("INSERT INTO sc VALUES (3, 'z', 7)");
  Exec("ALTER TABLE sc DROP COLUMN a");
  Exec("UPDATE sc SET b = 8 WHERE id = 1");
  auto second = RunOnce({"sc"}, first->Positions());
  EXPECT_EQ(Ops(*second), "ccu");
  std::vector<std::string> schemas;
  for (const auto& env : second->envelopes) {
    if (env.batch) schemas.push_back(env.batch->schema()->ToString());
  }
  ASSERT_EQ(schemas.size(), 3u);
  EXPECT_EQ(second->AllRows()[1], (std::vector<std::string>{"3", "z", "7"}));
  EXPECT_EQ(second->AllRows()[2], (std::vector<std::string>{"1", "8"}));
  EXPECT_NE(schemas[0], schemas[1]);
  EXPECT_NE(schemas[1], schemas[2]);
}

TEST_F(MysqlCdcTest, RowsOfOtherTablesAndRolledBackTransactionsAreNotSent) {
  Exec("CREATE TABLE mine (id INT PRIMARY KEY)");
  Exec("CREATE TABLE other (id INT PRIMARY KEY)");
  auto first = RunOnce({"mine"}, {});
  Exec("INSERT INTO other VALUES (1)");
  Exec("BEGIN");
  Exec("INSERT INTO mine VALUES (1)");
  Exec("ROLLBACK");
  Exec("INSERT INTO mine VALUES (2)");
  auto second = RunOnce({"mine"}, first->Positions());
  EXPECT_EQ(second->AllRows(), (Rows{{"2"}}));
}

TEST_F(MysqlCdcTest, TablePatternsCaptureEveryMatchingTable) {
  Exec("CREATE TABLE order_a (id INT PRIMARY KEY)");
  Exec("CREATE TABLE order_b (id INT PRIMARY KEY)");
  Exec("CREATE TABLE other (id INT PRIMARY KEY)");
  Exec("INSERT INTO order_a VALUES (1)");
  Exec("INSERT INTO other VALUES (1)");
  auto first = RunOnce({"order_*"}, {});
  Exec("INSERT INTO order_b VALUES (2)");
  Exec("INSERT INTO other VALUES (2)");
  auto second = RunOnce({"order_*"}, first->Positions());
  std::set<std::string> streams;
  for (const auto& env : first->envelopes) {
    for (const auto& p : env.positions) streams.insert(p.stream);
  }
  EXPECT_EQ(streams.size(), 2u);
  EXPECT_EQ(first->AllRows(), (Rows{{"1"}}));
  EXPECT_EQ(second->AllRows(), (Rows{{"2"}}));
}

TEST_F(MysqlCdcTest, CheckNamesTheGrantThatIsMissing) {
  const std::string user = "sluice_norepl_" + std::to_string(getpid());
  Exec("DROP USER IF EXISTS '" + user + "'@'%'");
  Exec("CREATE USER '" + user + "'@'%' IDENTIFIED BY 'pw'");
  Exec("GRANT SELECT ON `" + db_ + "`.* TO '" + user + "'@'%'");
  Exec("CREATE TABLE g (id INT PRIMARY KEY)");
  auto src = MakeSource(CdcBlock({"g"}, Dsn(user, "pw")));
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  Status st = (*src)->Open({});
  Exec("DROP USER '" + user + "'@'%'");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("GRANT REPLICATION SLAVE ON *.* TO"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("GRANT BINLOG MONITOR ON *.* TO"), std::string::npos) << st.message();
}

TEST_F(MysqlCdcTest, OptionsOfOtherModesAreRefused) {
  Exec("CREATE TABLE o (id INT PRIMARY KEY)");
  ConfigNode block =
      Block("source", {{"dsn", Dsn()}, {"mode", "cdc"}, {"cursor", "id"}}, {{"tables", {"o"}}});
  auto src = MakeSource(block);
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.status().message().find("cursor: does not apply to mode: cdc"), std::string::npos)
      << src.status().message();
}

}  // namespace
}  // namespace sluice::testing
