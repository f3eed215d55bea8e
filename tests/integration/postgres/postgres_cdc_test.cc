// mode: cdc of the postgres source against a real server (scripts/services/postgres.sh), driven
// through the Source interface: what the envelopes carry (ops, unchanged marks, change sources,
// transaction boundaries, positions) is checked directly. A collecting emitter acknowledges each
// boundary with OnCommitted, as the runtime does after a sink commit. Each test has its own
// schema, slot and publication, dropped at the end. Skipped when SLUICE_PG_DSN is not set.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "connectors/connector.h"
#include "connectors/postgres/pg_conn.h"
#include "connectors/postgres/postgres_source.h"
#include "core/log.h"
#include "core/record_batch.h"
#include "testing/change_collector.h"
#include "core/strings.h"

namespace sluice {
namespace {

const char* Dsn() { return std::getenv("SLUICE_PG_DSN"); }

using Row = testing::ChangeRow;
using CdcCollector = testing::ChangeCollector;

class PostgresCdcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Dsn()) GTEST_SKIP() << "SLUICE_PG_DSN not set (scripts/services/up.sh starts the server)";
    AddPostgresSource(registry_);
    pg::PgConnOptions o;
    o.dsn = Dsn();
    auto c = pg::PgConn::Connect(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    admin_ = std::move(c).value();
    name_ = "cdc_it_" + std::to_string(getpid());
    schema_ = name_;
    Exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    Exec("CREATE SCHEMA " + schema_);
    Exec("SET search_path TO " + schema_);
    log_file_ = std::fopen("/dev/null", "w");
    log_ = std::make_unique<Logger>(log_file_);
  }
  void TearDown() override {
    if (admin_) {
      // The walsender of the last run may still be going away: wait for the slot to be free.
      for (int i = 0; i < 100 && Scalar("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + name_ + "'") != "0"; ++i) {
        (void)admin_->Query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active",
                            {name_});
        usleep(100000);
      }
      (void)admin_->Exec("DROP PUBLICATION IF EXISTS " + name_);
      (void)admin_->Exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    }
    if (log_file_) std::fclose(log_file_);
  }
  void Exec(const std::string& sql) {
    Status st = admin_->Exec(sql);
    ASSERT_TRUE(st.ok()) << sql << ": " << st.ToString();
  }
  std::string Scalar(const std::string& sql) {
    auto r = admin_->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    return r.ok() && r->rows() > 0 ? std::string(r->Get(0, 0)) : "";
  }
  ConfigNode Block(const std::vector<std::string>& tables) {
    ConfigNode b;
    b.SetKind(ConfigNode::Kind::kMap);
    b.SetLocation("source", 2);
    auto add = [&](const std::string& k, const std::string& v) { b.AddEntry(k, ConfigNode::Scalar(v, "source." + k)); };
    add("type", "postgres");
    add("dsn", Dsn());
    add("mode", "cdc");
    add("slot", name_);
    add("publication", name_);
    add("stop_at", "caught_up");
    for (const auto& [k, v] : extra_) add(k, v);
    ConfigNode list;
    list.SetKind(ConfigNode::Kind::kList);
    list.SetLocation("source.tables", 3);
    for (const auto& t : tables) list.AddItem(ConfigNode::Scalar(schema_ + "." + t));
    b.AddEntry("tables", std::move(list));
    return b;
  }
  // One run to the caught-up point, resuming from `state`.
  Status RunOnce(const std::vector<std::string>& tables, const StateMap& state, CdcCollector& out) {
    ConnectorContext ctx;
    ctx.pipeline = "it";
    ctx.log = log_.get();
    ASSIGN_OR_RETURN(auto src, registry_.Find("source", "postgres")->make_source(ctx, Block(tables)));
    out.source = src.get();
    RETURN_IF_ERROR(src->Open(state));
    Status st = src->Run(out);
    out.source = nullptr;
    return st;
  }

  ConnectorRegistry registry_;
  std::map<std::string, std::string> extra_;  // more source options
  std::unique_ptr<pg::PgConn> admin_;
  std::string name_, schema_;
  FILE* log_file_ = nullptr;
  std::unique_ptr<Logger> log_;
};

// The old row is typed like the new one, so a changelog writes both the same way (before
// 2026-11-29 the old row was PostgreSQL's text: 1.50 and "2024-01-02 03:04:05+00" beside the new
// row's "1.50" and sluice's timestamp form).
TEST_F(PostgresCdcTest, OldRowsAreWrittenAsTheNewRowsAre) {
  Exec("CREATE TABLE typed (id int PRIMARY KEY, amount numeric(10,2), at timestamptz, note text)");
  Exec("ALTER TABLE typed REPLICA IDENTITY FULL");
  CdcCollector first;
  ASSERT_TRUE(RunOnce({"typed"}, {}, first).ok());
  Exec("INSERT INTO typed VALUES (1, 1.5, '2024-01-02 03:04:05.5+00', 'a')");
  Exec("UPDATE typed SET note = 'b' WHERE id = 1");
  Exec("DELETE FROM typed WHERE id = 1");
  CdcCollector second;
  ASSERT_TRUE(RunOnce({"typed"}, first.State(), second).ok());
  const auto rows = second.Rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].before, "");
  auto with_note = [](std::string json, const std::string& from, const std::string& to) {
    return json.replace(json.find(from), from.size(), to);
  };
  EXPECT_EQ(rows[1].before, rows[0].json);
  EXPECT_EQ(rows[2].before, with_note(rows[0].json, "\"a\"", "\"b\""));
  EXPECT_NE(rows[1].before.find("\"amount\":\"1.50\""), std::string::npos) << rows[1].before;
}

TEST_F(PostgresCdcTest, SnapshotThenChangesWithTheirSourcesUnchangedToastAndBoundaries) {
  Exec("CREATE TABLE items (id int PRIMARY KEY, name text, doc text)");
  // Out of line and uncompressed: an update of another column does not send it.
  Exec("ALTER TABLE items ALTER COLUMN doc SET STORAGE EXTERNAL");
  Exec("INSERT INTO items VALUES (1, 'one', repeat(md5('a'), 3000)), (2, 'two', NULL)");
  Exec("CREATE TABLE full_rows (id int PRIMARY KEY, v text)");
  Exec("ALTER TABLE full_rows REPLICA IDENTITY FULL");
  Exec("INSERT INTO full_rows VALUES (1, 'old')");
  CdcCollector first;
  Status st = RunOnce({"items", "full_rows"}, {}, first);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto rows = first.Rows();
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& r : rows) {
    EXPECT_EQ(r.op, 'r') << r.json;
    EXPECT_EQ(r.change.txid, 0);
    EXPECT_FALSE(r.change.position.empty());
  }
  EXPECT_EQ(rows[0].stream, "items");  // named without the schema
  EXPECT_EQ(rows[0].source_table, schema_ + ".items");
  const StateMap after_snapshot = first.State();
  ASSERT_EQ(after_snapshot.count({"items", "cdc"}), 1u);
  EXPECT_NE(after_snapshot.at({"items", "cdc"}).find("\"snapshot\":\"done\""), std::string::npos);

  // One transaction over both tables.
  Exec("BEGIN");
  Exec("INSERT INTO items VALUES (3, 'three', NULL)");
  Exec("UPDATE items SET name = 'uno' WHERE id = 1");  // doc is TOASTed and left unchanged
  Exec("DELETE FROM items WHERE id = 2");
  Exec("UPDATE full_rows SET v = 'new' WHERE id = 1");
  const std::string xid = Scalar("SELECT txid_current()");
  Exec("COMMIT");
  Exec("UPDATE items SET id = 10 WHERE id = 3");  // a key change, in a transaction of its own

  CdcCollector second;
  st = RunOnce({"items", "full_rows"}, after_snapshot, second);
  ASSERT_TRUE(st.ok()) << st.ToString();
  rows = second.Rows();
  std::vector<Row> items, full;
  for (auto& r : rows) (r.stream == "items" ? items : full).push_back(r);
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[0].op, 'c');
  EXPECT_EQ(items[0].json, R"({"id":3,"name":"three","doc":null})");
  EXPECT_EQ(items[1].op, 'u');
  EXPECT_EQ(items[1].unchanged, std::vector<std::string>{"doc"}) << "the TOAST value is marked, not sent";
  EXPECT_NE(items[1].json.find("\"uno\""), std::string::npos);
  EXPECT_EQ(items[2].op, 'd');
  EXPECT_EQ(items[2].before, R"({"id":2})");
  EXPECT_EQ(items[3].op, 'd');  // key change: the old key goes ...
  EXPECT_EQ(items[3].before, R"({"id":3})");
  EXPECT_EQ(items[4].op, 'u');  // ... and the row comes back under the new one
  EXPECT_NE(items[4].json.find("\"id\":10"), std::string::npos);
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0].op, 'u');
  EXPECT_EQ(full[0].before, R"({"id":1,"v":"old"})") << "REPLICA IDENTITY FULL sends the old row";

  // The first transaction's rows share its xid, commit LSN and time; the key change is later.
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(std::to_string(items[i].change.txid), xid);
    EXPECT_EQ(items[i].change.position, items[0].change.position);
    EXPECT_EQ(items[i].change.commit_us, items[0].change.commit_us);
  }
  EXPECT_EQ(full[0].change.position, items[0].change.position);
  EXPECT_GT(items[0].change.commit_us, 1700000000000000);
  EXPECT_NE(items[3].change.position, items[0].change.position);
  EXPECT_EQ(items[0].source_db, Scalar("SELECT current_database()"));

  // Rows ride in envelopes without a boundary; a boundary follows with the commit LSN.
  for (const auto& r : rows) EXPECT_FALSE(r.in_boundary_envelope);
  bool saw_boundary = false;
  for (const auto& e : second.envelopes) {
    if (!e.boundary) continue;
    saw_boundary = true;
    EXPECT_FALSE(e.batch && e.batch->num_rows() > 0);
  }
  EXPECT_TRUE(saw_boundary);
  const auto state = nlohmann::json::parse(second.State().at({"items", "cdc"}));
  EXPECT_EQ(state["lsn"], items[3].change.position) << "the position is the last commit LSN";

  // The slot was confirmed (OnCommitted): a run from the same state reads nothing again.
  CdcCollector third;
  st = RunOnce({"items", "full_rows"}, second.State(), third);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(third.Rows().empty());
}

TEST_F(PostgresCdcTest, SlotLagIsLoggedInBytesAndSecondsAndWarnsAboveItsThreshold) {
  Exec("CREATE TABLE t (id int PRIMARY KEY, v int)");
  Exec("INSERT INTO t SELECT g, g FROM generate_series(1, 100) g");
  auto logged = [&](const std::map<std::string, std::string>& options) {
    char path[] = "/tmp/sluice-cdc-lag-XXXXXX";
    const int fd = mkstemp(path);
    FILE* f = fdopen(fd, "w+");
    Logger log(f);
    extra_ = options;
    ConnectorContext ctx;
    ctx.pipeline = "it";
    ctx.log = &log;
    CdcCollector out;
    auto src = registry_.Find("source", "postgres")->make_source(ctx, Block({"t"}));
    EXPECT_TRUE(src.ok()) << src.status().ToString();
    if (src.ok()) {
      out.source = src->get();
      EXPECT_TRUE((*src)->Open({}).ok());
      EXPECT_TRUE((*src)->Run(out).ok());
    }
    std::fflush(f);
    std::rewind(f);
    std::string text;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    std::fclose(f);
    unlink(path);
    return text;
  };
  const std::string calm = logged({});
  EXPECT_NE(calm.find("lag_seconds="), std::string::npos) << calm;
  EXPECT_NE(calm.find("retained_wal_bytes="), std::string::npos) << calm;
  EXPECT_EQ(calm.find("is lagging"), std::string::npos) << calm;
  // The slot always keeps some WAL: one byte is over the threshold.
  const std::string over = logged({{"lag_warning_bytes", "1"}});
  EXPECT_NE(over.find("is lagging"), std::string::npos) << over;
}

TEST_F(PostgresCdcTest, ATransactionAtOrBelowTheStoredPositionIsSkipped) {
  Exec("CREATE TABLE t (id int PRIMARY KEY, v int)");
  CdcCollector first;
  ASSERT_TRUE(RunOnce({"t"}, {}, first).ok());
  const StateMap base = first.State();
  Exec("INSERT INTO t VALUES (1, 1)");
  Exec("INSERT INTO t VALUES (2, 2)");
  // Read both, but keep the slot where it was: no OnCommitted (as if the sink's commit of the
  // second transaction was lost with its acknowledgement, after the first one's).
  ConnectorContext ctx;
  ctx.pipeline = "it";
  ctx.log = log_.get();
  CdcCollector peek;
  {
    auto src = registry_.Find("source", "postgres")->make_source(ctx, Block({"t"}));
    ASSERT_TRUE(src.ok());
    ASSERT_TRUE((*src)->Open(base).ok());
    ASSERT_TRUE((*src)->Run(peek).ok());
  }
  auto rows = peek.Rows();
  ASSERT_EQ(rows.size(), 2u);
  // The sink holds the first transaction: its commit LSN is the stored position.
  StateMap state = base;
  auto st = nlohmann::json::parse(state.at({"t", "cdc"}));
  st["lsn"] = rows[0].change.position;
  state[{"t", "cdc"}] = st.dump();
  CdcCollector again;
  ASSERT_TRUE(RunOnce({"t"}, state, again).ok());
  rows = again.Rows();
  ASSERT_EQ(rows.size(), 1u) << "the server sends both again; the first is skipped";
  EXPECT_EQ(rows[0].json, R"({"id":2,"v":2})");
}

// Emits like the runtime, and dies (an error out of Emit) once the boundaries it acknowledged
// hold `die_after_reads` snapshot rows: what it keeps is what a sink would have committed, the
// envelopes up to the last boundary.
class DyingCollector : public CdcCollector {
 public:
  int64_t die_after_reads = -1;
  Status Emit(Envelope env) override {
    if (die_after_reads >= 0 && committed_reads >= die_after_reads) return Status::Transient("killed");
    if (env.batch) {
      for (int64_t r = 0; r < env.batch->num_rows(); ++r) reads += env.batch->op(r) == 'r';
    }
    const bool boundary = env.boundary && !env.positions.empty();
    RETURN_IF_ERROR(CdcCollector::Emit(std::move(env)));
    if (boundary) {
      committed = envelopes.size();
      committed_reads = reads;
    }
    return Status::OK();
  }
  void KeepCommitted() { envelopes.resize(committed); }
  size_t committed = 0;
  int64_t reads = 0, committed_reads = 0;
};

// The changelog of `rows` applied in order: key -> row JSON (deleted keys absent). Counts a
// (key, position) seen twice, and a snapshot row that goes back in time: one that differs from
// the key's last event before it (a snapshot row is read after those events, and a change
// between the watermarks drops it).
struct Replay {
  std::map<int64_t, std::string> replica;
  std::map<int64_t, std::string> last;  // the last event's row, "deleted" after a delete
  std::set<std::pair<int64_t, std::string>> seen;
  int duplicates = 0, stale = 0;
  void Apply(const std::vector<Row>& rows) {
    for (const auto& r : rows) {
      const auto j = nlohmann::json::parse(r.op == 'd' ? r.before : r.json);
      const int64_t id = j["id"].get<int64_t>();
      if (!seen.insert({id, r.change.position}).second) ++duplicates;
      if (r.op == 'r' && last.count(id) && last[id] != r.json) {
        if (++stale <= 5) ADD_FAILURE() << "snapshot row " << r.json << " after the event " << last[id];
      }
      if (r.op == 'd') {
        replica.erase(id);
        last[id] = "deleted";
      } else {
        replica[id] = r.json;
        last[id] = r.json;
      }
    }
  }
};

TEST_F(PostgresCdcTest, WatermarkChunksUnderConcurrentChangesResumeFromTheLastCommittedChunk) {
  Exec("CREATE TABLE w (id int PRIMARY KEY, v int)");
  Exec("INSERT INTO w SELECT g, 0 FROM generate_series(1, 3000) g");
  extra_["page_size"] = "100";
  // A writer on its own connection: one key per transaction, while the copy runs.
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    pg::PgConnOptions o;
    o.dsn = Dsn();
    auto c = pg::PgConn::Connect(o);
    if (!c.ok()) return;
    for (int i = 1; !stop.load(); ++i) {
      const int k = (i * 7919) % 3400 + 1;
      std::string sql;
      switch (i % 4) {
        case 0: sql = "UPDATE " + schema_ + ".w SET v = v + 1 WHERE id = " + std::to_string(k); break;
        case 1: sql = "DELETE FROM " + schema_ + ".w WHERE id = " + std::to_string(k); break;
        case 2: sql = "INSERT INTO " + schema_ + ".w VALUES (" + std::to_string(k) + ", -1) ON CONFLICT (id) DO UPDATE SET v = w.v + 100"; break;
        default: sql = "UPDATE " + schema_ + ".w SET v = v * 2 WHERE id = " + std::to_string(3001 - k % 3000); break;
      }
      if (i % 10 == 5) {
        // Keys in every chunk, in a transaction that holds the table while the copy's SELECT
        // (its snapshot taken) waits: the selected rows are older than these changes, which
        // land between the watermarks.
        sql = "BEGIN; LOCK TABLE " + schema_ + ".w IN ACCESS EXCLUSIVE MODE; UPDATE " + schema_ +
              ".w SET v = v + 1000 WHERE id % 40 = " + std::to_string((i / 10) % 40) + "; SELECT pg_sleep(0.02); COMMIT";
      }
      if ((*c)->Exec(sql).ok()) writes.fetch_add(1);
      if (i % 20 == 0) usleep(1000);
    }
  });
  // First run: killed after a few committed chunks.
  DyingCollector first;
  first.die_after_reads = 500;
  Status st = RunOnce({"w"}, {}, first);
  EXPECT_FALSE(st.ok()) << "the collector kills the run";
  first.KeepCommitted();
  const StateMap mid = first.State();
  ASSERT_EQ(mid.count({"w", "cdc"}), 1u);
  const auto mid_state = nlohmann::json::parse(mid.at({"w", "cdc"}));
  ASSERT_EQ(mid_state["snapshot"], "running") << mid_state.dump();
  ASSERT_TRUE(mid_state.contains("last_key")) << mid_state.dump();
  const int64_t copied = mid_state.value("snapshot_rows", int64_t{0});
  EXPECT_GT(copied, 0);
  // Second run resumes after the last committed chunk, the writer still going.
  DyingCollector second;
  st = RunOnce({"w"}, mid, second);
  ASSERT_TRUE(st.ok()) << st.ToString();
  stop.store(true);
  writer.join();
  EXPECT_GT(writes.load(), 0);
  // Third run: the changes made after the second caught up.
  DyingCollector third;
  st = RunOnce({"w"}, second.State(), third);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(nlohmann::json::parse(third.State().at({"w", "cdc"}))["snapshot"], "done");

  int64_t reads = 0, resumed_first_key = -1, first_run_last_key = -1;
  for (const auto& r : first.Rows()) {
    if (r.op == 'r') ++reads, first_run_last_key = nlohmann::json::parse(r.json)["id"].get<int64_t>();
  }
  for (const auto& r : second.Rows()) {
    if (r.op == 'r') {
      ++reads;
      if (resumed_first_key < 0) resumed_first_key = nlohmann::json::parse(r.json)["id"].get<int64_t>();
    }
  }
  Replay replay;
  replay.Apply(first.Rows());
  replay.Apply(second.Rows());
  replay.Apply(third.Rows());
  const auto& replica = replay.replica;
  EXPECT_EQ(replay.duplicates, 0) << "a (key, commit LSN) went out twice";
  EXPECT_EQ(replay.stale, 0) << "snapshot rows older than changes already emitted";
  // The last selected key (the checkpoint) may have been dropped from its chunk by a change.
  const int64_t checkpoint_key = std::stoll(mid_state["last_key"][0].get<std::string>());
  EXPECT_GE(checkpoint_key, first_run_last_key);
  EXPECT_GT(resumed_first_key, checkpoint_key) << "the resumed copy starts after the last committed chunk";
  EXPECT_LE(reads, 3400);
  // The changelog, applied in order, is the table.
  auto r = admin_->Query("SELECT id, v FROM " + schema_ + ".w ORDER BY id");
  ASSERT_TRUE(r.ok());
  std::map<int64_t, std::string> source;
  for (int i = 0; i < r->rows(); ++i) {
    source[std::stoll(std::string(r->Get(i, 0)))] = "{\"id\":" + std::string(r->Get(i, 0)) + ",\"v\":" + std::string(r->Get(i, 1)) + "}";
  }
  EXPECT_EQ(replica.size(), source.size());
  int differ = 0;
  for (const auto& [k, v] : source) {
    auto it = replica.find(k);
    if (it == replica.end() || it->second != v) {
      if (++differ <= 5) ADD_FAILURE() << "key " << k << ": source " << v << ", replica " << (it == replica.end() ? "none" : it->second);
    }
  }
  EXPECT_EQ(differ, 0);
}

TEST_F(PostgresCdcTest, ATableAddedLaterIsCopiedAloneWhileTheOtherStreams) {
  Exec("CREATE TABLE a (id int PRIMARY KEY, v int)");
  Exec("INSERT INTO a SELECT g, g FROM generate_series(1, 50) g");
  Exec("CREATE TABLE b (id int PRIMARY KEY, v int)");
  Exec("INSERT INTO b SELECT g, g FROM generate_series(1, 250) g");
  Exec("CREATE TABLE nk (v int)");
  Exec("INSERT INTO nk SELECT generate_series(1, 30)");
  extra_["page_size"] = "100";
  CdcCollector first;
  ASSERT_TRUE(RunOnce({"a"}, {}, first).ok());
  EXPECT_EQ(first.Rows().size(), 50u);
  Exec("UPDATE a SET v = -v WHERE id <= 3");
  CdcCollector second;
  Status st = RunOnce({"a", "b", "nk"}, first.State(), second);
  ASSERT_TRUE(st.ok()) << st.ToString();
  int a_changes = 0, a_reads = 0, b_reads = 0, nk_reads = 0;
  for (const auto& r : second.Rows()) {
    if (r.stream == "a") (r.op == 'r' ? a_reads : a_changes)++;
    if (r.stream == "b" && r.op == 'r') ++b_reads;
    if (r.stream == "nk" && r.op == 'r') ++nk_reads;
  }
  EXPECT_EQ(a_reads, 0) << "the table already copied is not copied again";
  EXPECT_EQ(a_changes, 3);
  EXPECT_EQ(b_reads, 250) << "the added table is copied, in chunks";
  EXPECT_EQ(nk_reads, 30) << "a table without primary key is copied in one chunk";
  const StateMap st2 = second.State();
  for (const char* t : {"a", "b", "nk"}) {
    EXPECT_EQ(nlohmann::json::parse(st2.at({t, "cdc"}))["snapshot"], "done") << t;
  }
}

}  // namespace
}  // namespace sluice
