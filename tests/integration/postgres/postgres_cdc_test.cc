// mode: cdc of the postgres source against a real server (scripts/services/postgres.sh), driven
// through the Source interface: what the envelopes carry (ops, unchanged marks, change sources,
// transaction boundaries, positions) is checked directly. A collecting emitter acknowledges each
// boundary with OnCommitted, as the runtime does after a sink commit. Each test has its own
// schema, slot and publication, dropped at the end. Skipped when SLUICE_PG_DSN is not set.
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
#include "core/strings.h"

namespace sluice {
namespace {

const char* Dsn() { return std::getenv("SLUICE_PG_DSN"); }

struct Row {
  std::string stream;
  char op;
  std::string json;
  RecordBatch::ChangeSource change;
  std::vector<std::string> unchanged;  // columns marked unchanged
  bool in_boundary_envelope;
  std::string source_db, source_table;
};

class CdcCollector : public Emitter {
 public:
  Source* source = nullptr;
  std::vector<Envelope> envelopes;
  Status Emit(Envelope env) override {
    if (env.boundary && !env.positions.empty() && source) source->OnCommitted(env.positions);
    envelopes.push_back(std::move(env));
    return Status::OK();
  }
  bool StopRequested() const override { return false; }
  std::vector<Row> Rows() const {
    std::vector<Row> out;
    for (const auto& e : envelopes) {
      if (!e.batch) continue;
      const RecordBatch& b = *e.batch;
      for (int64_t r = 0; r < b.num_rows(); ++r) {
        Row row{b.stream, b.op(r), RowJson(b, r), b.changes.empty() ? RecordBatch::ChangeSource{} : b.changes[static_cast<size_t>(r)],
                {}, e.boundary, b.source_db, b.source_table};
        for (size_t c = 0; c < b.schema()->size(); ++c) {
          if (b.is_unchanged(c, r)) row.unchanged.push_back(b.schema()->field(c).name);
        }
        out.push_back(std::move(row));
      }
    }
    return out;
  }
  StateMap State() const {
    StateMap m;
    for (const auto& e : envelopes) {
      for (const auto& p : e.positions) m[{p.stream, p.key}] = p.value;
    }
    return m;
  }
};

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
  std::unique_ptr<pg::PgConn> admin_;
  std::string name_, schema_;
  FILE* log_file_ = nullptr;
  std::unique_ptr<Logger> log_;
};

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
  EXPECT_EQ(items[2].change.before, R"({"id":2})");
  EXPECT_EQ(items[3].op, 'd');  // key change: the old key goes ...
  EXPECT_EQ(items[3].change.before, R"({"id":3})");
  EXPECT_EQ(items[4].op, 'u');  // ... and the row comes back under the new one
  EXPECT_NE(items[4].json.find("\"id\":10"), std::string::npos);
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0].op, 'u');
  EXPECT_EQ(full[0].change.before, R"({"id":1,"v":"old"})") << "REPLICA IDENTITY FULL sends the old row";

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

}  // namespace
}  // namespace sluice
