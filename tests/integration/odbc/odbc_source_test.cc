// The odbc source through the PostgreSQL ODBC driver (psqlodbcw.so) against the real PostgreSQL
// of scripts/services/up.sh, driven through the Source interface with a collecting emitter so
// that positions can be cut short and resumed. Skipped when SLUICE_PG_DSN is not set or the
// driver is missing. Each test works in its own schema.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/postgres/pg_conn.h"
#include "core/log.h"
#include "core/record_batch.h"
#include "core/strings.h"
#include "core/values.h"
#include "testing/change_collector.h"

namespace sluice {
namespace {

constexpr char kDriver[] = "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so";

const char* PgDsn() { return std::getenv("SLUICE_PG_DSN"); }

// postgresql://user:pass@host:port/db -> the same server as an ODBC connection string.
std::string OdbcConnString(const std::string& url, const std::string& extra = "") {
  std::string rest = url.substr(url.find("://") + 3);
  const size_t at = rest.find('@');
  const std::string cred = rest.substr(0, at);
  rest = rest.substr(at + 1);
  const size_t colon = cred.find(':'), slash = rest.find('/');
  const std::string hostport = rest.substr(0, slash), db = rest.substr(slash + 1);
  const size_t pc = hostport.find(':');
  return std::string("Driver=") + kDriver + ";Server=" + hostport.substr(0, pc) +
         ";Port=" + hostport.substr(pc + 1) + ";Database=" + db + ";UID=" + cred.substr(0, colon) +
         ";PWD=" + cred.substr(colon + 1) + extra;
}

class Collector : public Emitter {
 public:
  Status Emit(Envelope env) override {
    envelopes.push_back(std::move(env));
    return Status::OK();
  }
  bool StopRequested() const override {
    return stop_after >= 0 && static_cast<int>(envelopes.size()) >= stop_after;
  }

  int stop_after = -1;
  std::vector<Envelope> envelopes;

  std::vector<std::string> Rows(const std::string& stream) const {
    std::vector<std::string> out;
    for (const auto& e : envelopes) {
      if (!e.batch || e.batch->stream != stream) continue;
      for (int64_t r = 0; r < e.batch->num_rows(); ++r) out.push_back(RowJson(*e.batch, r));
    }
    return out;
  }
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
  StateMap State() const { return testing::LatestPositions(envelopes); }
};

class OdbcPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PgDsn())
      GTEST_SKIP() << "SLUICE_PG_DSN not set (scripts/services/up.sh starts the server)";
    if (!std::filesystem::exists(kDriver)) GTEST_SKIP() << "odbc-postgresql is not installed";
    pg::PgConnOptions o;
    o.dsn = PgDsn();
    auto c = pg::PgConn::Connect(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    admin_ = std::move(c).value();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    schema_ =
        ToLower("odbc_" + std::string(info->name()).substr(0, 40) + "_" + std::to_string(getpid()));
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
  std::string T(const std::string& table) const { return schema_ + "." + table; }
  // A source block: dsn plus `opts` (a value starting with '[' is a list: "[a | b]").
  ConfigNode Block(const std::vector<std::pair<std::string, std::string>>& opts,
                   const std::string& dsn = "") {
    ConfigNode b;
    b.SetKind(ConfigNode::Kind::kMap);
    b.SetLocation("source", 2);
    b.AddEntry("type", ConfigNode::Scalar("odbc", "source.type"));
    b.AddEntry("dsn",
               ConfigNode::Scalar(dsn.empty() ? OdbcConnString(PgDsn()) : dsn, "source.dsn"));
    for (const auto& [k, v] : opts) {
      if (!v.empty() && v[0] == '[') {
        ConfigNode list;
        list.SetKind(ConfigNode::Kind::kList);
        list.SetLocation("source." + k, 3);
        for (auto& item : Split(v.substr(1, v.size() - 2), '|'))
          list.AddItem(ConfigNode::Scalar(std::string(Trim(item))));
        b.AddEntry(k, std::move(list));
      } else {
        b.AddEntry(k, ConfigNode::Scalar(v, "source." + k));
      }
    }
    return b;
  }
  Result<std::unique_ptr<Source>> Make(const ConfigNode& block) {
    ConnectorContext ctx;
    ctx.pipeline = "it";
    ctx.log = log_.get();
    ctx.sink_mode = sink_mode_;
    return BuiltinConnectors().Find("source", "odbc")->make_source(ctx, block);
  }
  Status RunSource(const ConfigNode& block, const StateMap& state, Collector& out) {
    ASSIGN_OR_RETURN(auto src, Make(block));
    RETURN_IF_ERROR(src->Open(state));
    return src->Run(out);
  }

  std::string sink_mode_;  // the sink's mode, as the runtime passes it
  std::unique_ptr<pg::PgConn> admin_;
  std::string schema_;
  FILE* log_file_ = nullptr;
  std::unique_ptr<Logger> log_;
};

TEST_F(OdbcPostgresTest, TypesThroughPsqlodbc) {
  Exec(
      "CREATE TABLE types (id int PRIMARY KEY, i2 int2, i8 int8, f4 float4, f8 float8, n "
      "numeric(12,2), b bool, "
      "d date, tm time, ts timestamp, t text, vc varchar(5), c char(3), by bytea, u uuid)");
  Exec(
      "INSERT INTO types VALUES (1, 7, 9007199254740993, 1.5, 2.25, 12345.67, true, '2024-02-29', "
      "'13:14:15', "
      "'2024-02-29 13:14:15.123456', repeat('x', 3000) || 'é', 'héllo', 'ab', '\\x00ff', "
      "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')");
  Exec("INSERT INTO types (id) VALUES (2)");
  Collector out;
  Status st = RunSource(Block({{"table", T("types")}}), {}, out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const std::string s = T("types");
  EXPECT_EQ(out.Column(s, "i8"), (std::vector<std::string>{"9007199254740993", "null"}));
  EXPECT_EQ(out.Column(s, "i2")[0], "7");
  EXPECT_EQ(out.Column(s, "f4")[0], "1.5");
  EXPECT_EQ(out.Column(s, "f8")[0], "2.25");
  EXPECT_EQ(out.Column(s, "n")[0], "\"12345.67\"");
  EXPECT_EQ(out.Column(s, "b"), (std::vector<std::string>{"true", "null"}));
  EXPECT_EQ(out.Column(s, "d")[0], "\"2024-02-29\"");
  EXPECT_EQ(out.Column(s, "tm")[0], "\"13:14:15\"");
  EXPECT_EQ(out.Column(s, "ts")[0], "\"2024-02-29 13:14:15.123456\"");
  EXPECT_EQ(out.Column(s, "t")[0], "\"" + std::string(3000, 'x') + "é\"");
  EXPECT_EQ(out.Column(s, "vc")[0], "\"héllo\"");
  EXPECT_EQ(out.Column(s, "c")[0], "\"ab \"");
  EXPECT_EQ(out.Column(s, "u")[0], "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"");
  ASSERT_FALSE(out.envelopes.empty());
  const auto& batch = *out.envelopes.back().batch;
  const auto& schema = *batch.schema();
  EXPECT_EQ(schema.field(static_cast<size_t>(schema.IndexOf("n"))).type, DataType::Decimal(12, 2));
  EXPECT_EQ(schema.field(static_cast<size_t>(schema.IndexOf("by"))).type, DataType::Binary());
  EXPECT_EQ(schema.field(static_cast<size_t>(schema.IndexOf("ts"))).type,
            DataType::Timestamp(false));
  const Column& by = batch.column(static_cast<size_t>(schema.IndexOf("by")));
  EXPECT_EQ(by.BytesAt(0), std::string("\x00\xff", 2));
}

TEST_F(OdbcPostgresTest, FullReadStoppedMidwayResumesByKeyWithoutDuplicates) {
  Exec("CREATE TABLE t (a int, b text, v int, PRIMARY KEY (a, b))");
  Exec("INSERT INTO t SELECT g / 10, 'k' || (g % 10), g FROM generate_series(1, 500) g");
  auto block = Block({{"table", T("t")}, {"page_size", "37"}});
  Collector first;
  first.stop_after = 4;  // a run killed after four envelopes: only their positions are committed
  ASSERT_TRUE(RunSource(block, {}, first).ok());
  const auto head = first.Column(T("t"), "v");
  ASSERT_GT(head.size(), 0u);
  ASSERT_LT(head.size(), 500u);
  Collector second;
  Status st = RunSource(block, first.State(), second);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<std::string> all = head;
  const auto tail = second.Column(T("t"), "v");
  all.insert(all.end(), tail.begin(), tail.end());
  EXPECT_EQ(all.size(), 500u);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::unique(all.begin(), all.end()), all.end());
}

// A completed full read whose replace sink was killed before its swap: the sink still shows the
// read's positions, all done. The next run reads nothing (the sink then swaps); other sinks keep
// their positions after a finished run, and there the next run is a new full read.
TEST_F(OdbcPostgresTest, ACompletedReadNotYetSwappedInIsNotReadAgainIntoAReplaceSink) {
  Exec("CREATE TABLE t (id int PRIMARY KEY, v int)");
  Exec("INSERT INTO t SELECT g, g FROM generate_series(1, 300) g");
  auto block = Block({{"table", T("t")}, {"page_size", "100"}});
  sink_mode_ = "replace";
  Collector first;
  ASSERT_TRUE(RunSource(block, {}, first).ok());
  ASSERT_EQ(first.Column(T("t"), "v").size(), 300u);
  Collector again;
  ASSERT_TRUE(RunSource(block, first.State(), again).ok());
  EXPECT_EQ(again.Column(T("t"), "v").size(), 0u);
  sink_mode_ = "upsert";
  Collector anew;
  ASSERT_TRUE(RunSource(block, first.State(), anew).ok());
  EXPECT_EQ(anew.Column(T("t"), "v").size(), 300u);
}

TEST_F(OdbcPostgresTest, IncrementalRerunReadsOnlyNewRows) {
  Exec("CREATE TABLE t (id int PRIMARY KEY, v text, updated_at timestamp NOT NULL)");
  Exec(
      "INSERT INTO t VALUES (1, 'a', '2024-01-01 10:00'), (2, 'b', '2024-01-01 10:00'), (3, 'c', "
      "'2024-01-01 11:00')");
  auto block = Block(
      {{"table", T("t")}, {"mode", "incremental"}, {"cursor", "updated_at"}, {"page_size", "2"}});
  Collector first;
  ASSERT_TRUE(RunSource(block, {}, first).ok());
  EXPECT_EQ(first.Column(T("t"), "id"), (std::vector<std::string>{"1", "2", "3"}));
  Exec("INSERT INTO t VALUES (4, 'd', '2024-01-01 11:00'), (5, 'e', '2024-01-01 12:00')");
  Exec("UPDATE t SET v = 'a2', updated_at = '2024-01-01 13:00' WHERE id = 1");
  Collector second;
  ASSERT_TRUE(RunSource(block, first.State(), second).ok());
  EXPECT_EQ(second.Column(T("t"), "id"), (std::vector<std::string>{"4", "5", "1"}));
  Collector third;
  ASSERT_TRUE(RunSource(block, second.State(), third).ok());
  EXPECT_TRUE(third.Column(T("t"), "id").empty());
}

TEST_F(OdbcPostgresTest, QueryBindsTheCursorAsAParameter) {
  Exec("CREATE TABLE t (id bigint PRIMARY KEY, v text)");
  Exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  auto block = Block({{"mode", "query"},
                      {"cursor", "id"},
                      {"stream", "q"},
                      {"query", "SELECT id, v, ':cursor'::text AS lit FROM " + T("t") +
                                    " WHERE id > coalesce(:cursor::bigint, 0) ORDER BY id"}});
  Collector first;
  Status st = RunSource(block, {}, first);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(first.Column("q", "id"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(first.Column("q", "lit")[0], "\":cursor\"");
  Exec("INSERT INTO t VALUES (3, 'c')");
  Collector second;
  ASSERT_TRUE(RunSource(block, first.State(), second).ok());
  EXPECT_EQ(second.Column("q", "id"), std::vector<std::string>{"3"});
}

TEST_F(OdbcPostgresTest, HostileTableNameIsQuotedNotExecuted) {
  Exec("CREATE TABLE x (a int)");
  Exec("CREATE TABLE \"orders\"\"; DROP TABLE x; --\" (id int PRIMARY KEY, v text)");
  Exec("INSERT INTO \"orders\"\"; DROP TABLE x; --\" VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  const std::string name = schema_ + ".orders\"; DROP TABLE x; --";
  Collector out;
  Status st = RunSource(Block({{"table", name}, {"page_size", "2"}}), {}, out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.Column(name, "id"), (std::vector<std::string>{"1", "2", "3"}));
  Exec("SELECT count(*) FROM x");  // still there
}

TEST_F(OdbcPostgresTest, TlsVerifyCaThroughTheDriver) {
  const char* ca = std::getenv("SLUICE_PG_CA");
  if (!ca || !std::filesystem::exists(ca)) GTEST_SKIP() << "SLUICE_PG_CA not set";
  const std::string dsn =
      OdbcConnString(PgDsn(), std::string(";SSLmode=verify-ca;pqopt={sslrootcert=") + ca + "}");
  auto block = Block({{"mode", "query"},
                      {"stream", "q"},
                      {"query", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"}},
                     dsn);
  Collector out;
  Status st = RunSource(block, {}, out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.Column("q", "ssl"), std::vector<std::string>{"true"});
}

TEST_F(OdbcPostgresTest, ErrorsAreClassifiedAndNeverShowThePassword) {
  // A wrong password: permanent, and the password is nowhere in the message.
  std::string bad = OdbcConnString(PgDsn());
  bad.replace(bad.find(";PWD=") + 5, std::string::npos, "Wr0ngSecret");
  auto src = Make(Block({{"table", "t"}}, bad));
  ASSERT_TRUE(src.ok());
  Status st = (*src)->Open({});
  EXPECT_EQ(st.code(), StatusCode::kPermanent) << st.ToString();
  EXPECT_NE(st.message().find("authentication failed"), std::string::npos) << st.ToString();
  EXPECT_EQ(st.message().find("Wr0ngSecret"), std::string::npos) << st.ToString();
  // Nothing listens on the port: transient, the runtime retries.
  std::string closed = OdbcConnString(PgDsn());
  const size_t port = closed.find(";Port=") + 6;
  closed.replace(port, closed.find(';', port) - port, "1");
  auto src2 = Make(Block({{"table", "t"}}, closed));
  ASSERT_TRUE(src2.ok());
  st = (*src2)->Open({});
  EXPECT_TRUE(st.IsTransient()) << st.ToString();
  // A syntax error in a query: permanent, with the server's message.
  Collector out;
  st = RunSource(Block({{"mode", "query"}, {"query", "SELEC 1"}}), {}, out);
  EXPECT_EQ(st.code(), StatusCode::kPermanent) << st.ToString();
  EXPECT_NE(st.message().find("[42601]"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace sluice
