// The postgres source against a real PostgreSQL server (scripts/services/postgres.sh), driven
// through the Source interface with a collecting emitter, so every envelope, position and
// skipped count can be checked. Skipped when SLUICE_PG_DSN is not set. Each test works in its own
// schema.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "connectors/connector.h"
#include "connectors/postgres/pg_conn.h"
#include "connectors/postgres/postgres_source.h"
#include "core/log.h"
#include "core/record_batch.h"
#include "core/strings.h"
#include "core/values.h"

namespace sluice {
namespace {

const char* Dsn() { return std::getenv("SLUICE_PG_DSN"); }

// Collects what a source emits. `on_emit` runs before each envelope is kept (a test's hook to
// break things mid-read); `stop_after` envelopes, StopRequested turns true.
class Collector : public Emitter {
 public:
  Status Emit(Envelope env) override {
    if (on_emit) on_emit(envelopes.size());
    envelopes.push_back(std::move(env));
    return Status::OK();
  }
  bool StopRequested() const override { return stop_after >= 0 && static_cast<int>(envelopes.size()) >= stop_after; }

  std::function<void(size_t)> on_emit;
  int stop_after = -1;
  std::vector<Envelope> envelopes;

  // Every row of `stream` as JSON, in emission order.
  std::vector<std::string> Rows(const std::string& stream) const {
    std::vector<std::string> out;
    for (const auto& e : envelopes) {
      if (!e.batch || e.batch->stream != stream) continue;
      for (int64_t r = 0; r < e.batch->num_rows(); ++r) out.push_back(RowJson(*e.batch, r));
    }
    return out;
  }
  // The values of column `col` (as JSON) of `stream`.
  std::vector<std::string> Column(const std::string& stream, const std::string& col) const {
    std::vector<std::string> out;
    for (const auto& e : envelopes) {
      if (!e.batch || e.batch->stream != stream) continue;
      const int c = e.batch->schema()->IndexOf(col);
      for (int64_t r = 0; r < e.batch->num_rows(); ++r) {
        std::string v;
        AppendValueJson(e.batch->column(static_cast<size_t>(c)), r, v);
        out.push_back(v);
      }
    }
    return out;
  }
  int64_t Skipped() const {
    int64_t n = 0;
    for (const auto& e : envelopes) n += e.rows_skipped;
    return n;
  }
  std::vector<RejectedRow> Rejects() const {
    std::vector<RejectedRow> out;
    for (const auto& e : envelopes) out.insert(out.end(), e.rejects.begin(), e.rejects.end());
    return out;
  }
  // The positions a sink would hold after committing the first `n` envelopes (all by default).
  StateMap State(size_t n = SIZE_MAX) const {
    StateMap m;
    for (size_t i = 0; i < envelopes.size() && i < n; ++i) {
      for (const auto& p : envelopes[i].positions) m[{p.stream, p.key}] = p.value;
    }
    return m;
  }
};

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class PostgresSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Dsn()) GTEST_SKIP() << "SLUICE_PG_DSN not set (scripts/services/up.sh starts the server)";
    AddPostgresSource(registry_);
    pg::PgConnOptions o;
    o.dsn = Dsn();
    auto c = pg::PgConn::Connect(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    admin_ = std::move(c).value();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    // Lower case: the tests' own SQL names it unquoted.
    schema_ = ToLower("src_" + std::string(info->name()).substr(0, 40) + "_" + std::to_string(getpid()));
    Exec("DROP SCHEMA IF EXISTS " + pg::QuoteIdent(schema_) + " CASCADE");
    Exec("CREATE SCHEMA " + pg::QuoteIdent(schema_));
    Exec("SET search_path TO " + pg::QuoteIdent(schema_));
    log_file_ = std::fopen("/dev/null", "w");
    log_ = std::make_unique<Logger>(log_file_);
  }
  void TearDown() override {
    if (admin_) Exec("DROP SCHEMA IF EXISTS " + pg::QuoteIdent(schema_) + " CASCADE");
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
  std::string T(const std::string& table) const { return schema_ + "." + table; }

  // A source block: dsn plus `opts` (a value starting with '[' is a list: "[a, b]").
  ConfigNode Block(const std::vector<std::pair<std::string, std::string>>& opts, const std::string& dsn = "") {
    ConfigNode b;
    b.SetKind(ConfigNode::Kind::kMap);
    b.SetLocation("source", 2);
    b.AddEntry("type", ConfigNode::Scalar("postgres", "source.type"));
    b.AddEntry("dsn", ConfigNode::Scalar(dsn.empty() ? Dsn() : dsn, "source.dsn"));
    for (const auto& [k, v] : opts) {
      if (!v.empty() && v[0] == '[') {
        ConfigNode list;
        list.SetKind(ConfigNode::Kind::kList);
        list.SetLocation("source." + k, 3);
        for (auto& item : Split(v.substr(1, v.size() - 2), '|')) list.AddItem(ConfigNode::Scalar(std::string(Trim(item))));
        b.AddEntry(k, std::move(list));
      } else {
        b.AddEntry(k, ConfigNode::Scalar(v, "source." + k));
      }
    }
    return b;
  }
  Result<std::unique_ptr<Source>> Make(const ConfigNode& block, std::map<std::string, Schema> declared = {}) {
    ConnectorContext ctx;
    ctx.sink_mode = sink_mode_;
    ctx.pipeline = "it";
    ctx.log = log_.get();
    ctx.declared_schemas = std::move(declared);
    return registry_.Find("source", "postgres")->make_source(ctx, block);
  }
  // Opens with `state` and runs to the end into `out`.
  Status RunSource(const ConfigNode& block, const StateMap& state, Collector& out,
                   std::vector<std::string>* plan = nullptr) {
    ASSIGN_OR_RETURN(auto src, Make(block));
    RETURN_IF_ERROR(src->Open(state));
    if (plan) *plan = src->DescribePlan();
    return src->Run(out);
  }

  ConnectorRegistry registry_;
  std::string sink_mode_;  // the sink's mode, as the runtime passes it
  std::unique_ptr<pg::PgConn> admin_;
  std::string schema_;
  FILE* log_file_ = nullptr;
  std::unique_ptr<Logger> log_;
};

TEST_F(PostgresSourceTest, EveryTypeMapping) {
  Exec("CREATE TYPE mood AS ENUM ('sad', 'happy')");
  Exec("CREATE DOMAIN positive AS int CHECK (VALUE > 0)");
  Exec("CREATE TABLE types (id int PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, "
       "n numeric(12,2), nu numeric, nw numeric(50,10), t text, vc varchar(10), c char(4), nm name, by bytea, "
       "d date, tm time, ts timestamp, tstz timestamptz, j json, jb jsonb, u uuid, arr int[], tarr text[], "
       "m mood, iv interval, ip inet, net cidr, dom positive)");
  Exec("INSERT INTO types VALUES (1, true, -2, 40000, 9000000000, 0.1, 2.5, -1234.56, 3.14159265358979323846, "
       "12345678901234567890123456789.0123456789, 'héllo', 'vc', 'ab', 'nm', '\\x00ff', '2024-02-29', "
       "'13:14:15.123456', '2024-01-02 03:04:05.678901', '2024-01-02 03:04:05.5+02', '{\"a\": [1, 2]}', "
       "'{\"b\": null}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL}', '{\"x y\"}', 'happy', "
       "'1 day 02:03:04', '192.168.1.1', '10.0.0.0/8', 7)");
  Exec("INSERT INTO types (id) VALUES (2)");
  Exec("INSERT INTO types (id, n, ts) VALUES (3, 'NaN', '2024-01-01'), (4, 1, 'infinity')");
  Collector out;
  ASSERT_TRUE(RunSource(Block({{"table", T("types")}}), {}, out).ok());
  // The schema the sink sees.
  ASSERT_FALSE(out.envelopes.empty());
  const auto& first = *std::find_if(out.envelopes.begin(), out.envelopes.end(), [](const Envelope& e) { return e.batch; });
  EXPECT_EQ(first.batch->schema()->ToString(),
            "id int64, b bool?, i2 int64?, i4 int64?, i8 int64?, f4 float64?, f8 float64?, n decimal(12,2)?, "
            "nu string?, nw string?, t string?, vc string?, c string?, nm string?, by binary?, d date?, tm time?, "
            "ts timestamp?, tstz timestamp_tz?, j json?, jb json?, u string?, arr json?, tarr json?, m string?, "
            "iv string?, ip string?, net string?, dom int64?");
  auto rows = out.Rows(T("types"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0],
            "{\"id\":1,\"b\":true,\"i2\":-2,\"i4\":40000,\"i8\":9000000000,\"f4\":0.1,\"f8\":2.5,\"n\":\"-1234.56\","
            "\"nu\":\"3.14159265358979323846\",\"nw\":\"12345678901234567890123456789.0123456789\",\"t\":\"héllo\","
            "\"vc\":\"vc\",\"c\":\"ab  \",\"nm\":\"nm\",\"by\":\"\\u0000\xef\xbf\xbd\",\"d\":\"2024-02-29\","
            "\"tm\":\"13:14:15.123456\",\"ts\":\"2024-01-02 03:04:05.678901\",\"tstz\":\"2024-01-02 01:04:05.500000Z\","
            "\"j\":{\"a\": [1, 2]},\"jb\":{\"b\": null},\"u\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\","
            "\"arr\":[1,null],\"tarr\":[\"x y\"],\"m\":\"happy\",\"iv\":\"1 day 02:03:04\",\"ip\":\"192.168.1.1\","
            "\"net\":\"10.0.0.0/8\",\"dom\":7}");
  EXPECT_EQ(rows[1].substr(0, 19), "{\"id\":2,\"b\":null,\"i");
  // NaN in a numeric(12,2) and an infinite timestamp cannot be held: quarantined, not lost.
  auto rejects = out.Rejects();
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0].column, "n");
  EXPECT_NE(rejects[0].reason.find("NaN does not fit decimal(12,2)"), std::string::npos) << rejects[0].reason;
  EXPECT_EQ(rejects[1].column, "ts");
  EXPECT_NE(rejects[1].reason.find("infinity"), std::string::npos);
  EXPECT_NE(rejects[1].raw.find("\"ts\":\"infinity\""), std::string::npos) << rejects[1].raw;

  // A declared string keeps NaN; a declared decimal reads the unconstrained numeric.
  Collector out2;
  Schema declared;
  declared.AddField({"n", DataType::String(), true});
  declared.AddField({"nu", DataType::Decimal(30, 20), true});
  auto src = Make(Block({{"table", T("types")}, {"columns", "[id | n | nu]"}}), {{"", declared}});
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  ASSERT_TRUE((*src)->Open({}).ok());
  ASSERT_TRUE((*src)->Run(out2).ok());
  EXPECT_EQ(Sorted(out2.Rows(T("types"))),
            Sorted({"{\"id\":1,\"n\":\"-1234.56\",\"nu\":\"3.14159265358979323846\"}", "{\"id\":2,\"n\":null,\"nu\":null}",
                    "{\"id\":3,\"n\":\"NaN\",\"nu\":null}", "{\"id\":4,\"n\":\"1.00\",\"nu\":null}"}));
}

TEST_F(PostgresSourceTest, UnsupportedTypesAreNamed) {
  Exec("CREATE TABLE geo (id int PRIMARY KEY, p point)");
  auto src = Make(Block({{"table", T("geo")}}));
  ASSERT_TRUE(src.ok());
  Status st = (*src)->Open({});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("'p' has type point"), std::string::npos) << st.message();
  // Leaving it out reads the rest.
  Collector out;
  EXPECT_TRUE(RunSource(Block({{"table", T("geo")}, {"columns", "[id]"}}), {}, out).ok());
}

TEST_F(PostgresSourceTest, FullSnapshotOfSeveralTablesEqualsTheTables) {
  Exec("CREATE TABLE a (id bigint PRIMARY KEY, amount numeric(12,2))");
  Exec("INSERT INTO a SELECT i, i / 100.0 FROM generate_series(1, 150000) i");
  Exec("CREATE TABLE b (k text, v int)");  // no primary key
  Exec("INSERT INTO b SELECT 'k' || i, i FROM generate_series(1, 3000) i");
  Collector out;
  ASSERT_TRUE(RunSource(Block({{"tables", "[" + T("a") + " | " + T("b") + "]"}}), {}, out).ok());
  auto ids = out.Column(T("a"), "id");
  ASSERT_EQ(ids.size(), 150000u);
  std::set<std::string> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), 150000u);
  int128_t sum = 0;
  for (const auto& a : out.Column(T("a"), "amount")) {
    int128_t v = 0;
    ASSERT_TRUE(ParseDecimal(a.substr(1, a.size() - 2), 12, 2, &v)) << a;
    sum += v;
  }
  EXPECT_EQ(std::to_string(static_cast<int64_t>(sum)), Scalar("SELECT (sum(amount) * 100)::bigint FROM a"));
  EXPECT_EQ(out.Rows(T("b")).size(), 3000u);
  // Batches of at most 64K rows; every table ends with a flush and a finished checkpoint.
  for (const auto& e : out.envelopes) {
    if (e.batch) {
      EXPECT_LE(e.batch->num_rows(), kBatchRows);
    }
  }
  StateMap st = out.State();
  EXPECT_NE((st[{T("a"), "full"}]).find("\"done\":true"), std::string::npos);
  EXPECT_NE((st[{T("b"), "full"}]).find("\"done\":true"), std::string::npos);
  // The table without a key is one commit group: no boundary inside it.
  for (const auto& e : out.envelopes) {
    if (e.batch && e.batch->stream == T("b") && e.positions.empty()) {
      EXPECT_FALSE(e.boundary);
    }
  }
}

TEST_F(PostgresSourceTest, ATablePatternReadsEveryMatchingTable) {
  Exec("CREATE TABLE ord_1 (id int PRIMARY KEY); INSERT INTO ord_1 VALUES (1)");
  Exec("CREATE TABLE ord_2 (id int PRIMARY KEY); INSERT INTO ord_2 VALUES (2), (3)");
  Exec("CREATE TABLE other (id int PRIMARY KEY); INSERT INTO other VALUES (9)");
  Collector out;
  ASSERT_TRUE(RunSource(Block({{"tables", "[" + T("ord_*") + "]"}}), {}, out).ok());
  EXPECT_EQ(out.Column(T("ord_1"), "id"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(out.Column(T("ord_2"), "id"), (std::vector<std::string>{"2", "3"}));
  EXPECT_TRUE(out.Rows(T("other")).empty());
  Collector none;
  Status st = RunSource(Block({{"tables", "[" + T("ordr_*") + "]"}}), {}, none);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("the pattern '" + T("ordr_*") + "' matches no table"), std::string::npos) << st.message();
}

TEST_F(PostgresSourceTest, ParallelRangesReadEveryRowOnceFromOneSnapshot) {
  Exec("CREATE TABLE big (id bigint PRIMARY KEY, v int)");
  Exec("INSERT INTO big SELECT i, i % 7 FROM generate_series(1, 400000) i");
  Exec("CREATE TABLE keyed (k uuid PRIMARY KEY, n int)");
  Exec("INSERT INTO keyed SELECT md5(i::text)::uuid, i FROM generate_series(1, 200000) i");
  Exec("ANALYZE big; ANALYZE keyed");
  pg::PgConnOptions o;
  o.dsn = Dsn();
  auto writer = pg::PgConn::Connect(o);
  ASSERT_TRUE(writer.ok());
  Collector out;
  // Rows inserted while the read is under way belong to no snapshot of it.
  out.on_emit = [&](size_t n) {
    if (n == 0) {
      ASSERT_TRUE((*writer)->Exec("INSERT INTO " + T("big") + " VALUES (400001, 0), (0, 0)").ok());
    }
  };
  std::vector<std::string> plan;
  ASSERT_TRUE(RunSource(Block({{"tables", "[" + T("big") + " | " + T("keyed") + "]"}, {"parallel", "3"}}), {}, out, &plan).ok());
  EXPECT_NE(plan[1].find("3 range(s)"), std::string::npos) << plan[1];
  EXPECT_NE(plan[2].find("range(s)"), std::string::npos) << plan[2];
  auto ids = out.Column(T("big"), "id");
  EXPECT_EQ(ids.size(), 400000u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 400000u);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "400001"), 0);
  auto keys = out.Column(T("keyed"), "k");
  EXPECT_EQ(keys.size(), 200000u);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 200000u);
}

// A kill after the last commit of a full read but before a replace sink swapped its staging
// table in: the sink still shows the staged positions, all done. The next run must read nothing
// (the sink then swaps); a new snapshot would land on top of the staged rows and double them.
// Other sinks keep their positions after a finished run, and there the next run reads anew.
TEST_F(PostgresSourceTest, ACompletedReadNotYetSwappedInIsNotReadAgainIntoAReplaceSink) {
  Exec("CREATE TABLE big (id bigint PRIMARY KEY, v int)");
  Exec("INSERT INTO big SELECT i, i FROM generate_series(1, 300000) i");
  Exec("ANALYZE big");
  const ConfigNode block = Block({{"table", T("big")}, {"parallel", "2"}});
  sink_mode_ = "replace";
  Collector first;
  ASSERT_TRUE(RunSource(block, {}, first).ok());
  ASSERT_EQ(first.Column(T("big"), "id").size(), 300000u);
  Collector again;
  ASSERT_TRUE(RunSource(block, first.State(), again).ok());
  EXPECT_EQ(again.Column(T("big"), "id").size(), 0u);
  sink_mode_ = "upsert";
  Collector anew;
  ASSERT_TRUE(RunSource(block, first.State(), anew).ok());
  EXPECT_EQ(anew.Column(T("big"), "id").size(), 300000u);
}

TEST_F(PostgresSourceTest, AnInterruptedFullReadResumesItsRangesAfterTheLastKey) {
  Exec("CREATE TABLE big (id bigint PRIMARY KEY, v text)");
  Exec("INSERT INTO big SELECT i, 'v' || i FROM generate_series(1, 300000) i");
  Exec("CREATE TABLE small (id int PRIMARY KEY)");
  Exec("INSERT INTO small SELECT generate_series(1, 10)");
  Exec("ANALYZE big");
  const ConfigNode block = Block({{"tables", "[" + T("big") + " | " + T("small") + "]"}, {"parallel", "2"}});
  Collector first;
  first.stop_after = 3;  // a crash: only the first envelopes were committed
  ASSERT_TRUE(RunSource(block, {}, first).ok());
  const size_t committed = 2;
  StateMap state = first.State(committed);
  std::vector<std::string> loaded;
  for (size_t i = 0; i < committed; ++i) {
    const auto& e = first.envelopes[i];
    if (e.batch && e.batch->stream == T("big")) {
      for (int64_t r = 0; r < e.batch->num_rows(); ++r) loaded.push_back(std::to_string(e.batch->column(0).Int64At(r)));
    }
  }
  ASSERT_FALSE(loaded.empty());
  Collector second;
  std::vector<std::string> plan;
  ASSERT_TRUE(RunSource(block, state, second, &plan).ok());
  EXPECT_NE(plan[1].find("resuming"), std::string::npos) << plan[1];
  auto rest = second.Column(T("big"), "id");
  EXPECT_EQ(loaded.size() + rest.size(), 300000u);
  std::set<std::string> all(loaded.begin(), loaded.end());
  all.insert(rest.begin(), rest.end());
  EXPECT_EQ(all.size(), 300000u);  // every row once: none missing, none doubled
  // A finished run: the next one takes a new snapshot of everything.
  Collector third;
  ASSERT_TRUE(RunSource(block, second.State(), third).ok());
  EXPECT_EQ(third.Column(T("big"), "id").size(), 300000u);
}

TEST_F(PostgresSourceTest, ADroppedConnectionIsTransient) {
  Exec("CREATE TABLE big (id bigint PRIMARY KEY, v text)");
  Exec("INSERT INTO big SELECT i, repeat('x', 100) FROM generate_series(1, 300000) i");
  const std::string app = "sluice_it_" + std::to_string(getpid());
  const std::string dsn = std::string(Dsn()) + (std::string(Dsn()).find('?') == std::string::npos ? "?" : "&") +
                          "application_name=" + app;
  Collector out;
  out.on_emit = [&](size_t n) {
    if (n == 0) (void)admin_->Query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", {app});
  };
  Status st = RunSource(Block({{"table", T("big")}}, dsn), {}, out);
  EXPECT_TRUE(st.IsTransient()) << st.ToString();
}

TEST_F(PostgresSourceTest, AHostileTableNameIsOnlyAName) {
  Exec("CREATE TABLE x (id int)");
  Exec("CREATE TABLE \"orders\"\"; DROP TABLE x; --\" (id int PRIMARY KEY, \"we\"\"ird col\" text)");
  Exec("INSERT INTO \"orders\"\"; DROP TABLE x; --\" VALUES (1, 'a'), (2, 'b')");
  const std::string name = schema_ + ".orders\"; DROP TABLE x; --";
  Collector out;
  ASSERT_TRUE(RunSource(Block({{"table", name}}), {}, out).ok());
  EXPECT_EQ(out.Rows(name), (std::vector<std::string>{"{\"id\":1,\"we\\\"ird col\":\"a\"}", "{\"id\":2,\"we\\\"ird col\":\"b\"}"}));
  EXPECT_EQ(Scalar("SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema_ + "' AND tablename = 'x'"), "1");
  // And in incremental mode, where the values are bound.
  Collector inc;
  ASSERT_TRUE(RunSource(Block({{"table", name}, {"mode", "incremental"}, {"cursor", "id"}, {"key", "[we\"ird col]"}}), {}, inc).ok());
  EXPECT_EQ(inc.Rows(name).size(), 2u);
  Collector inc2;
  ASSERT_TRUE(RunSource(Block({{"table", name}, {"mode", "incremental"}, {"cursor", "id"}, {"key", "[we\"ird col]"}}), inc.State(), inc2).ok());
  EXPECT_EQ(inc2.Rows(name).size(), 0u);
}

TEST_F(PostgresSourceTest, IncrementalReadsOnlyNewRowsAndCatchesALateCommitOnce) {
  Exec("CREATE TABLE ev (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL)");
  Exec("CREATE INDEX ON ev (updated_at)");
  Exec("INSERT INTO ev SELECT i, 'v' || i, '2026-01-01'::timestamptz + i * interval '1 second' FROM generate_series(1, 1000) i");
  // Two rows per cursor value at the end: the key breaks the tie across a page boundary.
  Exec("INSERT INTO ev VALUES (1001, 'tie', '2026-01-01'::timestamptz + 1000 * interval '1 second')");
  const ConfigNode block = Block({{"table", T("ev")}, {"mode", "incremental"}, {"cursor", "updated_at"},
                                  {"lookback", "1m"}, {"page_size", "100"}});
  Collector run1;
  std::vector<std::string> plan;
  ASSERT_TRUE(RunSource(block, {}, run1, &plan).ok());
  EXPECT_EQ(run1.Rows(T("ev")).size(), 1001u);
  std::string plan_text = Join(plan, "\n");
  EXPECT_NE(plan_text.find("Index"), std::string::npos) << plan_text;
  EXPECT_EQ(plan_text.find("no index"), std::string::npos) << plan_text;
  EXPECT_NE(plan_text.find("deletes are not seen"), std::string::npos) << plan_text;

  // A writer holds an insert with an early cursor value open while a later row commits.
  pg::PgConnOptions o;
  o.dsn = Dsn();
  auto late = pg::PgConn::Connect(o);
  ASSERT_TRUE(late.ok());
  ASSERT_TRUE((*late)->Exec("BEGIN; INSERT INTO " + T("ev") + " VALUES (2000, 'late', '2026-01-01'::timestamptz + 1010 * interval '1 second')").ok());
  Exec("INSERT INTO ev VALUES (2001, 'new', '2026-01-01'::timestamptz + 1020 * interval '1 second')");
  Exec("UPDATE ev SET v = 'changed', updated_at = '2026-01-01'::timestamptz + 1030 * interval '1 second' WHERE id = 5");
  Collector run2;
  ASSERT_TRUE(RunSource(block, run1.State(), run2).ok());
  EXPECT_EQ(Sorted(run2.Column(T("ev"), "id")), (std::vector<std::string>{"2001", "5"}));
  const int64_t window_run2 = run2.Skipped();
  EXPECT_GT(window_run2, 0);  // the lookback re-read rows already loaded, and skipped them
  for (const auto& e : run2.envelopes) {
    if (e.rows_skipped > 0) {
      EXPECT_NE(e.skip_reason.find("already loaded"), std::string::npos);
    }
  }
  ASSERT_TRUE((*late)->Exec("COMMIT").ok());
  Collector run3;
  ASSERT_TRUE(RunSource(block, run2.State(), run3).ok());
  EXPECT_EQ(run3.Column(T("ev"), "id"), (std::vector<std::string>{"2000"}));  // caught, and only it
  Collector run4;
  ASSERT_TRUE(RunSource(block, run3.State(), run4).ok());
  EXPECT_TRUE(run4.Rows(T("ev")).empty());  // not doubled
  EXPECT_GT(run4.Skipped(), 0);
}

TEST_F(PostgresSourceTest, NullCursorsAreNeverSilentlyMissed) {
  Exec("CREATE TABLE ev (id int PRIMARY KEY, updated_at timestamp)");
  Exec("INSERT INTO ev VALUES (1, '2026-01-01'), (2, NULL), (3, NULL)");
  auto block = [&](const std::string& mode) {
    return Block({{"table", T("ev")}, {"mode", "incremental"}, {"cursor", "updated_at"}, {"null_cursor", mode}});
  };
  Collector e;
  Status st = RunSource(Block({{"table", T("ev")}, {"mode", "incremental"}, {"cursor", "updated_at"}}), {}, e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("2 row(s)"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("null_cursor"), std::string::npos);

  Collector skip;
  ASSERT_TRUE(RunSource(block("skip"), {}, skip).ok());
  EXPECT_EQ(skip.Column(T("ev"), "id"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(skip.Skipped(), 2);

  Collector inc1, inc2;
  ASSERT_TRUE(RunSource(block("include"), {}, inc1).ok());
  EXPECT_EQ(inc1.Column(T("ev"), "id"), (std::vector<std::string>{"1", "2", "3"}));
  ASSERT_TRUE(RunSource(block("include"), inc1.State(), inc2).ok());
  EXPECT_EQ(inc2.Column(T("ev"), "id"), (std::vector<std::string>{"2", "3"}));  // once per run
}

TEST_F(PostgresSourceTest, DeletedFlagBecomesDeleteOperations) {
  Exec("CREATE TABLE ev (id int PRIMARY KEY, n int, version bigint NOT NULL, deleted_at timestamptz)");
  Exec("INSERT INTO ev VALUES (1, 10, 1, NULL), (2, 20, 2, now())");
  Collector out;
  std::vector<std::string> plan;
  ASSERT_TRUE(RunSource(Block({{"table", T("ev")}, {"mode", "incremental"}, {"cursor", "version"},
                               {"deleted_flag", "deleted_at"}, {"columns", "[id | n]"}}),
                        {}, out, &plan).ok());
  const Envelope* e = nullptr;
  for (const auto& x : out.envelopes) {
    if (x.batch) e = &x;
  }
  ASSERT_TRUE(e);
  EXPECT_EQ(e->batch->schema()->ToString(), "id int64, n int64?");  // the helper columns stay hidden
  EXPECT_EQ(e->batch->ops, (std::vector<char>{'c', 'd'}));
  const std::string plan_text = Join(plan, "\n");
  EXPECT_NE(plan_text.find("no index starts with version"), std::string::npos) << plan_text;
  EXPECT_EQ(plan_text.find("deletes are not seen"), std::string::npos) << plan_text;
}

TEST_F(PostgresSourceTest, QueryModeBindsTheCursor) {
  Exec("CREATE TABLE ev (id int PRIMARY KEY, v text, at timestamptz)");
  Exec("INSERT INTO ev SELECT i, 'v' || i, '2026-01-01'::timestamptz + i * interval '1 hour' FROM generate_series(1, 50) i");
  const ConfigNode block = Block({{"mode", "query"},
                                  {"query", "SELECT id, v, at, ARRAY[id] AS ids, ':cursor' AS lit FROM " + T("ev") +
                                                " WHERE at > :cursor ORDER BY id DESC"},
                                  {"cursor", "at"},
                                  {"initial_cursor", "2026-01-02 00:00:00+00"},
                                  {"page_size", "7"}});
  Collector run1;
  ASSERT_TRUE(RunSource(block, {}, run1).ok());
  EXPECT_EQ(run1.Rows("it").size(), 26u);  // hours 25..50
  EXPECT_EQ(run1.Rows("it")[0], "{\"id\":50,\"v\":\"v50\",\"at\":\"2026-01-03 02:00:00Z\",\"ids\":[50],\"lit\":\":cursor\"}");
  // One commit group for the whole result: only the last envelope may end it, with the checkpoint.
  for (size_t i = 0; i + 1 < run1.envelopes.size(); ++i) EXPECT_FALSE(run1.envelopes[i].boundary);
  EXPECT_TRUE(run1.envelopes.back().boundary);
  EXPECT_EQ((run1.State()[{"it", "query"}]), "{\"cursor\":\"2026-01-03 02:00:00+00\"}");
  Exec("INSERT INTO ev VALUES (51, 'new', '2026-01-03 03:00:00+00')");
  Collector run2;
  ASSERT_TRUE(RunSource(block, run1.State(), run2).ok());
  EXPECT_EQ(run2.Column("it", "id"), (std::vector<std::string>{"51"}));

  auto bad = Make(Block({{"mode", "query"}, {"query", "SELECT 1 AS a WHERE :other"}}));
  ASSERT_TRUE(bad.ok());
  Status st = (*bad)->Open({});
  EXPECT_NE(st.message().find("unknown parameter :other"), std::string::npos) << st.message();
}

TEST_F(PostgresSourceTest, ConfigErrorsNameTheOption) {
  auto s = Make(Block({{"table", "t"}, {"cursor", "x"}}));  // cursor in full mode
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("source.cursor"), std::string::npos) << s.status().message();
  s = Make(Block({{"table", "t"}, {"mode", "incremental"}}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("needs cursor:"), std::string::npos) << s.status().message();
  auto missing = Make(Block({{"table", T("nope")}}));
  ASSERT_TRUE(missing.ok());
  Status st = (*missing)->Open({});
  EXPECT_NE(st.message().find("not found"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace sluice
