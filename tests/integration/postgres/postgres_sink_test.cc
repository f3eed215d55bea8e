// The postgres sink against a real PostgreSQL server (scripts/services/postgres.sh). Skipped
// when SLUICE_PG_DSN is not set. Each test works in its own schema and pipeline name.
#include "connectors/postgres/postgres_sink.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connectors/connector.h"
#include "connectors/postgres/pg_conn.h"
#include "core/record_batch.h"
#include "core/values.h"

namespace sluice {
namespace {

using Rows = std::vector<std::vector<std::string>>;
using Opts = std::vector<std::pair<std::string, std::string>>;

const char* Dsn() { return std::getenv("SLUICE_PG_DSN"); }

std::string At(const StateMap& m, const std::string& stream, const std::string& key) {
  auto it = m.find({stream, key});
  return it == m.end() ? "" : it->second;
}

// A column of a test batch: its field, and one text value per row ("\\N" for null).
struct Col {
  std::string name;
  DataType type;
  std::vector<std::string> values;
};

RecordBatchPtr MakeBatch(const std::vector<Col>& cols, const std::string& stream = "s") {
  std::vector<Field> fields;
  for (const auto& c : cols) fields.push_back({c.name, c.type, true});
  auto schema = std::make_shared<Schema>(fields);
  RecordBatchBuilder b(schema);
  const size_t rows = cols.empty() ? 0 : cols[0].values.size();
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols.size(); ++c) {
      const std::string& v = cols[c].values[r];
      ColumnBuilder& cb = b.column(c);
      const DataType& t = cols[c].type;
      if (v == "\\N") {
        cb.AppendNull();
        continue;
      }
      switch (t.id) {
        case TypeId::kBool:
          cb.AppendBool(v == "true");
          break;
        case TypeId::kInt64:
          cb.AppendInt64(std::stoll(v));
          break;
        case TypeId::kFloat64:
          cb.AppendFloat64(std::stod(v));
          break;
        case TypeId::kDecimal: {
          int128_t d = 0;
          EXPECT_TRUE(ParseDecimal(v, t.precision, t.scale, &d)) << v;
          cb.AppendDecimal(d);
          break;
        }
        case TypeId::kDate: {
          int32_t d = 0;
          EXPECT_TRUE(ParseDate(v, &d)) << v;
          cb.AppendDate(d);
          break;
        }
        case TypeId::kTime: {
          int64_t us = 0;
          EXPECT_TRUE(ParseTime(v, &us)) << v;
          cb.AppendInt64(us);
          break;
        }
        case TypeId::kTimestamp: {
          int64_t us = 0;
          bool zone = false;
          EXPECT_TRUE(ParseTimestamp(v, &us, &zone)) << v;
          cb.AppendInt64(us);
          break;
        }
        default:
          cb.AppendBytes(v);
          break;
      }
    }
    b.CommitRow(static_cast<int64_t>(r) + 2);
  }
  return b.Finish(stream, "data/in.csv");
}

class PostgresSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Dsn()) GTEST_SKIP() << "SLUICE_PG_DSN not set (scripts/services/up.sh starts the server)";
    RegisterPostgresSink(registry_);
    pg::PgConnOptions o;
    o.dsn = Dsn();
    auto c = pg::PgConn::Connect(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    admin_ = std::move(c).value();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    schema_ = "it_" + std::string(info->name()).substr(0, 40) + "_" + std::to_string(getpid());
    pipeline_ = schema_;
    Exec("DROP SCHEMA IF EXISTS " + pg::QuoteIdent(schema_) + " CASCADE");
    Exec("CREATE SCHEMA " + pg::QuoteIdent(schema_));
  }
  void TearDown() override {
    if (!admin_) return;
    Exec("DROP SCHEMA IF EXISTS " + pg::QuoteIdent(schema_) + " CASCADE");
    (void)admin_->Query("DELETE FROM _sluice_state WHERE pipeline = $1", {pipeline_});
  }

  void Exec(const std::string& sql) {
    Status st = admin_->Exec(sql);
    ASSERT_TRUE(st.ok()) << sql << ": " << st.ToString();
  }
  Rows Query(const std::string& sql) {
    Rows out;
    auto res = admin_->Query(sql);
    EXPECT_TRUE(res.ok()) << sql << ": " << res.status().ToString();
    if (!res.ok()) return out;
    for (int r = 0; r < res->rows(); ++r) {
      std::vector<std::string> row;
      for (int c = 0; c < res->cols(); ++c)
        row.push_back(res->IsNull(r, c) ? "NULL" : std::string(res->Get(r, c)));
      out.push_back(std::move(row));
    }
    return out;
  }
  static std::string AppName() { return "it_pgsink_" + std::to_string(getpid()); }
  std::string Table(const std::string& name) const { return schema_ + "." + name; }
  std::string Q(const std::string& name) const { return pg::QuoteQualifiedName(Table(name)); }

  Result<std::unique_ptr<Sink>> Make(Opts opts, std::vector<std::string> key = {},
                                     ConfigNode tls = {}) {
    ConfigNode block;
    block.SetKind(ConfigNode::Kind::kMap);
    block.SetLocation("sink", 1);
    block.AddEntry("type", ConfigNode::Scalar("postgres", "sink.type"));
    bool has_dsn = false;
    for (auto& [k, v] : opts) has_dsn |= k == "dsn";
    // Our own application_name: other sessions on the shared server are not ours to look at.
    if (!has_dsn) opts.emplace_back("dsn", std::string(Dsn()) + "?application_name=" + AppName());
    for (auto& [k, v] : opts) {
      ConfigNode n = ConfigNode::Scalar(v, "sink." + k);
      if (k == "dsn") n.SetInterpolated(true);
      block.AddEntry(k, n);
    }
    if (!key.empty()) {
      ConfigNode list;
      list.SetKind(ConfigNode::Kind::kList);
      list.SetLocation("sink.key", 1);
      for (auto& k : key) list.AddItem(ConfigNode::Scalar(k, "sink.key[]"));
      block.AddEntry("key", std::move(list));
    }
    if (!tls.IsNull()) block.AddEntry("tls", tls);
    const ConnectorInfo* info = registry_.Find("sink", "postgres");
    if (!info) return Status::NotFound("postgres sink not registered");
    RETURN_IF_ERROR(ValidateOptions(block, info->options));
    ConnectorContext ctx;
    ctx.pipeline = pipeline_;
    ctx.base_dir = "/tmp";
    ctx.schema_evolution = evolution_;
    return info->make_sink(ctx, block);
  }
  std::unique_ptr<Sink> Open(Opts opts, std::vector<std::string> key = {}) {
    auto s = Make(std::move(opts), std::move(key));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return nullptr;
    Status st = (*s)->Open();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return std::move(s).value();
  }
  static CommitState State(const std::string& stream, const std::string& value, int64_t rows) {
    CommitState cs;
    cs.positions.push_back({stream, "file:data/in.csv", value});
    cs.counters.rows_in = rows;
    cs.counters.rows_out = rows;
    return cs;
  }

  ConnectorRegistry registry_;
  std::unique_ptr<pg::PgConn> admin_;
  std::string schema_, pipeline_;
  std::string evolution_ = "evolve";
};

// Every sluice type, written by COPY into the table the sink creates, read back as text.
TEST_F(PostgresSinkTest, EveryTypeRoundTripsThroughTheCreatedTable) {
  auto sink = Open({{"table", Table("types")}});
  ASSERT_TRUE(sink);
  auto batch = MakeBatch({
      {"b", DataType::Bool(), {"true", "false", "\\N"}},
      {"i", DataType::Int64(), {"-9223372036854775808", "9223372036854775807", "\\N"}},
      {"f", DataType::Float64(), {"0.1", "-1e+300", "\\N"}},
      {"d",
       DataType::Decimal(38, 10),
       {"-1234567890123456789012345678.0123456789", "0.0000000001", "\\N"}},
      {"m", DataType::Decimal(12, 2), {"10000.00", "-0.05", "0"}},
      {"s", DataType::String(), {"héllo \"quoted\" 'x'", "", "\\N"}},
      {"y", DataType::Binary(), {std::string("a\0b\xff", 4), "", "\\N"}},
      {"dt", DataType::Date(), {"1969-07-20", "2000-01-01", "\\N"}},
      {"t", DataType::Time(), {"23:59:59.999999", "00:00:00", "\\N"}},
      {"ts", DataType::Timestamp(false), {"1999-12-31 23:59:59.5", "2024-02-29 12:00:00", "\\N"}},
      {"tz",
       DataType::Timestamp(true),
       {"1970-01-01T00:00:00Z", "2038-01-19T03:14:08.000001Z", "\\N"}},
      {"j", DataType::Json(), {"{\"a\": [1, 2, {\"b\": null}]}", "[]", "\\N"}},
  });
  ASSERT_TRUE(sink->Write(*batch).ok());
  EXPECT_TRUE(sink->TakeRefused().empty());
  ASSERT_TRUE(sink->Commit(State("s", "{\"offset\":1}", 3)).ok());
  EXPECT_EQ(
      Query("SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY "
            "attnum) "
            "FROM pg_attribute WHERE attrelid = '" +
            Q("types") + "'::regclass AND attnum > 0"),
      (Rows{{"b boolean, i bigint, f double precision, d numeric(38,10), m numeric(12,2), s text, "
             "y bytea, dt date, t time without time zone, ts timestamp without time zone, "
             "tz timestamp with time zone, j jsonb"}}));
  Exec("SET TIME ZONE 'UTC'");
  EXPECT_EQ(
      Query("SELECT b::text, i::text, f::text, d::text, m::text, s, encode(y, 'hex'), dt::text, "
            "t::text, "
            "ts::text, tz::text, j::text FROM " +
            Q("types") + " ORDER BY i NULLS LAST"),
      (Rows{
          {"true", "-9223372036854775808", "0.1", "-1234567890123456789012345678.0123456789",
           "10000.00", "héllo \"quoted\" 'x'", "610062ff", "1969-07-20", "23:59:59.999999",
           "1999-12-31 23:59:59.5", "1970-01-01 00:00:00+00", "{\"a\": [1, 2, {\"b\": null}]}"},
          {"false", "9223372036854775807", "-1e+300", "0.0000000001", "-0.05", "", "", "2000-01-01",
           "00:00:00", "2024-02-29 12:00:00", "2038-01-19 03:14:08.000001+00", "[]"},
          {"NULL", "NULL", "NULL", "NULL", "0.00", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL",
           "NULL"}}));
  ASSERT_TRUE(sink->Close().ok());
}

// An existing table with other types (int4, varchar, json, numeric without typmod, timestamptz
// for a naive timestamp): rows go through the staging table and are cast.
TEST_F(PostgresSinkTest, ExistingTableOfOtherTypesIsLoadedThroughCasts) {
  Exec(
      "CREATE TABLE " + Q("other") +
      " (id integer, name varchar(10), doc json, amount numeric, at date, extra text DEFAULT 'd')");
  auto sink = Open({{"table", Table("other")}});
  ASSERT_TRUE(sink);
  auto batch = MakeBatch({{"id", DataType::Int64(), {"1", "2"}},
                          {"name", DataType::String(), {"ann", "bob"}},
                          {"doc", DataType::Json(), {"{\"k\":1}", "null"}},
                          {"amount", DataType::Decimal(6, 3), {"1.500", "-2.000"}},
                          {"at", DataType::String(), {"2024-01-02", "2024-03-04"}}});
  ASSERT_TRUE(sink->Write(*batch).ok());
  ASSERT_TRUE(sink->Commit(State("s", "{}", 2)).ok());
  EXPECT_EQ(Query("SELECT id, name, doc::text, amount::text, at::text, extra FROM " + Q("other") +
                  " ORDER BY id"),
            (Rows{{"1", "ann", "{\"k\":1}", "1.500", "2024-01-02", "d"},
                  {"2", "bob", "null", "-2.000", "2024-03-04", "d"}}));
}

TEST_F(PostgresSinkTest, SchemaGrowthAddsColumns) {
  auto sink = Open({{"table", Table("grow")}});
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"1"}}})).ok());
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"2"}},
                                      {"note", DataType::String(), {"n"}}}))
                  .ok());
  ASSERT_TRUE(sink->Commit(State("s", "{}", 2)).ok());
  EXPECT_EQ(Query("SELECT id, note FROM " + Q("grow") + " ORDER BY id"),
            (Rows{{"1", "NULL"}, {"2", "n"}}));
}

// A source column widened from numeric(12,2) to numeric(14,3): under evolve the sink widens its
// column, so 1.125 is stored as it is, not rounded to 1.13; under freeze it stops and says so.
TEST_F(PostgresSinkTest, WiderDecimalsWidenTheColumnUnderEvolveAndStopOtherwise) {
  auto sink = Open({{"table", Table("dec")}});
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"1"}}, {"amount", DataType::Decimal(12, 2), {"1.25"}}})).ok());
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"2"}}, {"amount", DataType::Decimal(14, 3), {"12345678901.125"}}})).ok());
  ASSERT_TRUE(sink->Commit(State("s", "{}", 2)).ok());
  EXPECT_EQ(Query("SELECT id, amount::text, pg_typeof(amount)::text, format_type(atttypid, atttypmod) FROM " + Q("dec") +
                  " JOIN pg_attribute ON attrelid = '" + Q("dec") + "'::regclass AND attname = 'amount' ORDER BY id"),
            (Rows{{"1", "1.250", "numeric", "numeric(14,3)"}, {"2", "12345678901.125", "numeric", "numeric(14,3)"}}));

  evolution_ = "freeze";
  Exec("CREATE TABLE " + Q("frozen") + " (id bigint, amount numeric(12,2))");
  auto frozen = Open({{"table", Table("frozen")}});
  ASSERT_TRUE(frozen);
  Status st = frozen->Write(*MakeBatch({{"id", DataType::Int64(), {"1"}}, {"amount", DataType::Decimal(14, 3), {"1.125"}}}));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("column \"amount\" is numeric(12,2) but its values are now decimal(14,3)"), std::string::npos)
      << st.message();
  (void)frozen->Abort();
  EXPECT_EQ(Query("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '" + Q("frozen") +
                  "'::regclass AND attname = 'amount'"),
            (Rows{{"numeric(12,2)"}}));
}

TEST_F(PostgresSinkTest, CheckpointAndCountersCommitWithTheRowsAndAbortDropsBoth) {
  auto sink = Open({{"table", Table("st")}});
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"1", "2"}}})).ok());
  ASSERT_TRUE(sink->Commit(State("s", "{\"offset\":10}", 2)).ok());
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"3"}}})).ok());
  ASSERT_TRUE(sink->Abort().ok());
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"4"}}})).ok());
  ASSERT_TRUE(sink->Commit(State("s", "{\"offset\":20}", 1)).ok());
  EXPECT_EQ(Query("SELECT id FROM " + Q("st") + " ORDER BY id"), (Rows{{"1"}, {"2"}, {"4"}}));
  auto state = sink->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(At(*state, "s", "file:data/in.csv"), "{\"offset\":20}");
  EXPECT_NE(At(*state, "", "counters").find("\"rows_out\":3"), std::string::npos)
      << At(*state, "", "counters");
  ASSERT_TRUE(sink->ResetState("").ok());
  state = sink->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->empty());
}

TEST_F(PostgresSinkTest, UpsertUpdatesByKeyAndCompactsDuplicatesInABatch) {
  auto sink = Open({{"table", Table("up")}, {"mode", "upsert"}}, {"id"});
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"1", "2"}},
                                      {"v", DataType::String(), {"a", "b"}}}))
                  .ok());
  ASSERT_TRUE(sink->Commit(State("s", "{}", 2)).ok());
  // Key 2 twice in one batch: the later row wins, and ON CONFLICT never sees the key twice.
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"2", "3", "2"}},
                                      {"v", DataType::String(), {"b1", "c", "b2"}}}))
                  .ok());
  ASSERT_TRUE(
      sink->Write(*MakeBatch({{"id", DataType::Int64(), {"1"}}, {"v", DataType::String(), {"a1"}}}))
          .ok());
  EXPECT_TRUE(sink->TakeRefused().empty());
  ASSERT_TRUE(sink->Commit(State("s", "{}", 4)).ok());
  EXPECT_EQ(Query("SELECT id, v FROM " + Q("up") + " ORDER BY id"),
            (Rows{{"1", "a1"}, {"2", "b2"}, {"3", "c"}}));
  // The table was created with the key as its primary key.
  EXPECT_EQ(Query("SELECT count(*) FROM pg_index WHERE indrelid = '" + Q("up") +
                  "'::regclass AND indisprimary"),
            (Rows{{"1"}}));
}

TEST_F(PostgresSinkTest, UpsertWithVersionNeverOverwritesANewerRow) {
  auto sink = Open({{"table", Table("ver")}, {"mode", "upsert"}, {"version", "at"}}, {"id"});
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"1", "2"}},
                                      {"v", DataType::String(), {"a", "b"}},
                                      {"at", DataType::Int64(), {"10", "10"}}}))
                  .ok());
  ASSERT_TRUE(sink->Commit(State("s", "{}", 2)).ok());
  // Key 1 comes late with an older version, key 2 with a newer one, key 3 is new.
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"1", "2", "3"}},
                                      {"v", DataType::String(), {"a-old", "b-new", "c"}},
                                      {"at", DataType::Int64(), {"9", "11", "1"}}}))
                  .ok());
  ASSERT_TRUE(sink->Commit(State("s", "{}", 5)).ok());
  EXPECT_EQ(Query("SELECT id, v, at FROM " + Q("ver") + " ORDER BY id"),
            (Rows{{"1", "a", "10"}, {"2", "b-new", "11"}, {"3", "c", "1"}}));
}

TEST_F(PostgresSinkTest, UpsertRefusesNullKeysAndCreatesAUniqueIndexOnAnExistingTable) {
  Exec("CREATE TABLE " + Q("upx") + " (id bigint, v text)");
  auto sink = Open({{"table", Table("upx")}, {"mode", "upsert"}}, {"id"});
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"1", "\\N", "1"}},
                                      {"v", DataType::String(), {"a", "x", "b"}}}))
                  .ok());
  auto refused = sink->TakeRefused();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].origin, "data/in.csv:3");
  EXPECT_NE(refused[0].reason.find("null"), std::string::npos) << refused[0].reason;
  ASSERT_TRUE(sink->Commit(State("s", "{}", 3)).ok());
  EXPECT_EQ(Query("SELECT id, v FROM " + Q("upx")), (Rows{{"1", "b"}}));
  EXPECT_EQ(Query("SELECT count(*) FROM pg_indexes WHERE schemaname = '" + schema_ +
                  "' AND indexname = 'upx__sluice_key'"),
            (Rows{{"1"}}));
}

// Change data: insert, update, delete and re-insert of one key in one group, and an update
// whose unchanged column keeps the stored value.
TEST_F(PostgresSinkTest, ReplicateAppliesChangesInSourceOrder) {
  auto sink = Open({{"table", Table("cdc")}, {"mode", "replicate"}}, {"id"});
  ASSERT_TRUE(sink);
  auto b1 = MakeBatch({{"id", DataType::Int64(), {"1", "2", "3"}},
                       {"name", DataType::String(), {"one", "two", "three"}},
                       {"big", DataType::String(), {"toast-1", "toast-2", "toast-3"}}});
  auto first = std::make_shared<RecordBatch>(*b1);
  first->ops = {'r', 'r', 'r'};
  ASSERT_TRUE(sink->Write(*first).ok());
  ASSERT_TRUE(sink->Commit(State("s", "{\"lsn\":1}", 3)).ok());

  auto b2 = MakeBatch(
      {{"id", DataType::Int64(), {"4", "4", "4", "4", "1", "2", "3", "3"}},
       {"name", DataType::String(), {"v1", "v2", "\\N", "v3", "ONE", "TWO", "\\N", "THREE"}},
       {"big", DataType::String(), {"b1", "b2", "\\N", "b3", "\\N", "toast-2b", "\\N", "\\N"}}});
  auto changes = std::make_shared<RecordBatch>(*b2);
  changes->ops = {'c', 'u', 'd', 'c', 'u', 'u', 'd', 'c'};
  // Row 5 (id 1) does not carry `big`: the stored toast-1 must stay.
  changes->unchanged = {{}, {}, {0, 0, 0, 0, 1, 0, 0, 0}};
  ASSERT_TRUE(sink->Write(*changes).ok());
  // A second batch in the same group deletes key 2.
  auto b3 = MakeBatch({{"id", DataType::Int64(), {"2"}},
                       {"name", DataType::String(), {"\\N"}},
                       {"big", DataType::String(), {"\\N"}}});
  auto del = std::make_shared<RecordBatch>(*b3);
  del->ops = {'d'};
  ASSERT_TRUE(sink->Write(*del).ok());
  EXPECT_TRUE(sink->TakeRefused().empty());
  ASSERT_TRUE(sink->Commit(State("s", "{\"lsn\":2}", 9)).ok());
  EXPECT_EQ(Query("SELECT id, name, big FROM " + Q("cdc") + " ORDER BY id"),
            (Rows{{"1", "ONE", "toast-1"}, {"3", "THREE", "NULL"}, {"4", "v3", "b3"}}));
}

// Changelog: one row per change in a table the sink creates, with an identity ordinal, jsonb
// images and the change's source; the rows commit with the checkpoint and an abort drops both.
TEST_F(PostgresSinkTest, ChangelogAppendsEveryChangeInOrderWithItsSource) {
  auto sink = Open({{"table", Table("log")}, {"mode", "changelog"}});
  ASSERT_TRUE(sink);
  EXPECT_NE(sink->Describe().find("(changelog)"), std::string::npos) << sink->Describe();
  auto b1 = MakeBatch({{"id", DataType::Int64(), {"1", "2"}},
                       {"name", DataType::String(), {"one", "two"}},
                       {"big", DataType::String(), {"toast-1", "\\N"}}},
                      "public.items");
  auto first = std::make_shared<RecordBatch>(*b1);
  first->ops = {'r', 'c'};
  first->source_db = "shop";
  first->source_table = "public.items";
  first->changes = {{"0/16B3748", 0, 0, ""}, {"0/16B3800", 740, 1700000000123456, ""}};
  ASSERT_TRUE(sink->Write(*first).ok());
  ASSERT_TRUE(sink->Commit(State("public.items", "{\"lsn\":\"0/16B3800\"}", 2)).ok());

  auto b2 = MakeBatch({{"id", DataType::Int64(), {"1", "2"}},
                       {"name", DataType::String(), {"ONE", "\\N"}},
                       {"big", DataType::String(), {"\\N", "\\N"}}},
                      "public.items");
  auto second = std::make_shared<RecordBatch>(*b2);
  second->ops = {'u', 'd'};
  second->unchanged = {{}, {}, {1, 0}};
  second->source_db = "shop";
  second->source_table = "public.items";
  second->changes = {{"0/16B3900", 741, 1700000000200000, R"({"id":1,"name":"one"})"},
                     {"0/16B3900", 741, 1700000000200000, R"({"id":2})"}};
  ASSERT_TRUE(sink->Write(*second).ok());
  // Aborted: neither its rows nor its position stay.
  ASSERT_TRUE(sink->Abort().ok());
  ASSERT_TRUE(sink->Write(*second).ok());
  EXPECT_TRUE(sink->TakeRefused().empty());
  ASSERT_TRUE(sink->Commit(State("public.items", "{\"lsn\":\"0/16B3900\"}", 2)).ok());

  EXPECT_EQ(Query("SELECT column_name, data_type FROM information_schema.columns WHERE "
                  "table_schema = '" + schema_ + "' AND table_name = 'log' ORDER BY ordinal_position"),
            (Rows{{"_sluice_seq", "bigint"},
                  {"op", "text"},
                  {"before", "jsonb"},
                  {"after", "jsonb"},
                  {"source", "jsonb"}}));
  // Ordinals grow in the order of the changes; an aborted group may leave a gap.
  Rows seq = Query("SELECT _sluice_seq FROM " + Q("log") + " ORDER BY _sluice_seq");
  ASSERT_EQ(seq.size(), 4u);
  EXPECT_EQ(Query("SELECT op, before::text, after::text FROM " + Q("log") + " ORDER BY _sluice_seq"),
            (Rows{{"r", "NULL", R"({"id": 1, "big": "toast-1", "name": "one"})"},
                  {"c", "NULL", R"({"id": 2, "big": null, "name": "two"})"},
                  // The unchanged column is left out of `after`.
                  {"u", R"({"id": 1, "name": "one"})", R"({"id": 1, "name": "ONE"})"},
                  {"d", R"({"id": 2})", "NULL"}}));
  EXPECT_EQ(Query("SELECT source->>'db', source->>'table', source->>'position', source->>'txid', "
                  "coalesce(source->>'ts_us', 'null') FROM " + Q("log") + " ORDER BY _sluice_seq"),
            (Rows{{"shop", "public.items", "0/16B3748", "NULL", "null"},
                  {"shop", "public.items", "0/16B3800", "740", "1700000000123456"},
                  {"shop", "public.items", "0/16B3900", "741", "1700000000200000"},
                  {"shop", "public.items", "0/16B3900", "741", "1700000000200000"}}));
  auto state = sink->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(At(*state, "public.items", "file:data/in.csv"), "{\"lsn\":\"0/16B3900\"}");
}

// A CHECK and a NOT NULL violation in the middle of a batch: exactly those rows are refused,
// with the server's reason, and the rest commits in the same transaction.
TEST_F(PostgresSinkTest, RefusedRowsAreFoundByBisectingAndTheRestLoads) {
  Exec("CREATE TABLE " + Q("chk") +
       " (id bigint, name text NOT NULL, amount bigint CHECK (amount >= 0))");
  auto sink = Open({{"table", Table("chk")}});
  ASSERT_TRUE(sink);
  Col id{"id", DataType::Int64(), {}}, name{"name", DataType::String(), {}},
      amount{"amount", DataType::Int64(), {}};
  for (int i = 0; i < 1000; ++i) {
    id.values.push_back(std::to_string(i));
    name.values.push_back(i == 700 ? "\\N" : "n" + std::to_string(i));
    amount.values.push_back(i == 300 ? "-5" : std::to_string(i));
  }
  ASSERT_TRUE(sink->Write(*MakeBatch({id, name, amount})).ok());
  auto refused = sink->TakeRefused();
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0].origin, "data/in.csv:302");
  EXPECT_NE(refused[0].reason.find("23514"), std::string::npos) << refused[0].reason;
  EXPECT_NE(refused[0].reason.find("check constraint"), std::string::npos) << refused[0].reason;
  EXPECT_EQ(refused[0].rule, "sink");
  EXPECT_NE(refused[0].raw.find("\"amount\":-5"), std::string::npos) << refused[0].raw;
  EXPECT_EQ(refused[1].origin, "data/in.csv:702");
  EXPECT_NE(refused[1].reason.find("23502"), std::string::npos) << refused[1].reason;
  EXPECT_EQ(refused[1].column, "name");
  EXPECT_EQ(refused[0].reason.find("sluice:sluice@"), std::string::npos);
  ASSERT_TRUE(sink->Commit(State("s", "{}", 1000)).ok());
  EXPECT_EQ(Query("SELECT count(*), sum(id) FROM " + Q("chk")),
            (Rows{{"998", std::to_string(499500 - 300 - 700)}}));
}

// The same through the staging path (upsert): a value the target's type cannot hold.
TEST_F(PostgresSinkTest, UpsertRefusesRowsTheTableCannotHold) {
  Exec("CREATE TABLE " + Q("small") + " (id bigint PRIMARY KEY, n smallint, s varchar(3))");
  auto sink = Open({{"table", Table("small")}, {"mode", "upsert"}}, {"id"});
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"1", "2", "3", "4"}},
                                      {"n", DataType::Int64(), {"1", "70000", "3", "4"}},
                                      {"s", DataType::String(), {"a", "b", "c", "long"}}}))
                  .ok());
  auto refused = sink->TakeRefused();
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_NE(refused[0].reason.find("22003"), std::string::npos)
      << refused[0].reason;  // smallint out of range
  EXPECT_NE(refused[1].reason.find("22001"), std::string::npos)
      << refused[1].reason;  // value too long
  ASSERT_TRUE(sink->Commit(State("s", "{}", 4)).ok());
  EXPECT_EQ(Query("SELECT id, n, s FROM " + Q("small") + " ORDER BY id"),
            (Rows{{"1", "1", "a"}, {"3", "3", "c"}}));
}

// Text PostgreSQL cannot store (a NUL byte) or invalid JSON is refused by COPY itself.
TEST_F(PostgresSinkTest, CopyRefusesBadEncodingRowByRow) {
  auto sink = Open({{"table", Table("enc")}});
  ASSERT_TRUE(sink);
  ASSERT_TRUE(
      sink->Write(*MakeBatch({{"id", DataType::Int64(), {"1", "2", "3"}},
                              {"s", DataType::String(), {"ok", std::string("a\0b", 3), "fine"}},
                              {"j", DataType::Json(), {"{}", "{}", "{not json"}}}))
          .ok());
  auto refused = sink->TakeRefused();
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0].origin, "data/in.csv:3");
  EXPECT_EQ(refused[1].origin, "data/in.csv:4");
  ASSERT_TRUE(sink->Commit(State("s", "{}", 3)).ok());
  EXPECT_EQ(Query("SELECT id FROM " + Q("enc")), (Rows{{"1"}}));
}

TEST_F(PostgresSinkTest, IdentifiersAreQuoted) {
  Exec("CREATE TABLE " + Q("x") + " (a int)");
  const std::string evil = "orders\"; DROP TABLE " + Q("x") + "; --";
  auto sink = Open({{"table", schema_ + "." + evil}, {"mode", "upsert"}}, {"Id \"1\""});
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->Write(*MakeBatch({{"Id \"1\"", DataType::Int64(), {"1", "1"}},
                                      {"select", DataType::String(), {"a", "b"}},
                                      {"x'); DROP TABLE y; --", DataType::Int64(), {"5", "6"}}}))
                  .ok());
  ASSERT_TRUE(sink->Commit(State("s", "{}", 2)).ok());
  EXPECT_EQ(Query("SELECT \"Id \"\"1\"\"\", \"select\", \"x'); DROP TABLE y; --\" FROM " +
                  pg::QuoteIdent(schema_) + "." + pg::QuoteIdent(evil)),
            (Rows{{"1", "b", "6"}}));
  EXPECT_EQ(Query("SELECT count(*) FROM " + Q("x")), (Rows{{"0"}}));  // still there
}

TEST_F(PostgresSinkTest, ReplaceSwapsInTheNewRowsAtFinishAndKeepsViews) {
  Exec("CREATE TABLE " + Q("rep") + " (id bigint, v text CHECK (v <> 'bad'))");
  Exec("INSERT INTO " + Q("rep") + " VALUES (100, 'old')");
  Exec("CREATE VIEW " + Q("rep_view") + " AS SELECT id FROM " + Q("rep"));
  auto sink = Open({{"table", Table("rep")}, {"mode", "replace"}});
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"1", "2", "3"}},
                                      {"v", DataType::String(), {"a", "bad", "c"}}}))
                  .ok());
  // The staging table copies the table's checks: the bad row is refused while loading.
  EXPECT_EQ(sink->TakeRefused().size(), 1u);
  ASSERT_TRUE(sink->Commit(State("s", "{\"offset\":5}", 3)).ok());
  EXPECT_EQ(Query("SELECT id FROM " + Q("rep_view")), (Rows{{"100"}}));  // not swapped yet
  auto state = sink->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(At(*state, "s", "file:data/in.csv"), "{\"offset\":5}");
  ASSERT_TRUE(sink->Finish().ok());
  EXPECT_EQ(Query("SELECT id FROM " + Q("rep_view") + " ORDER BY id"), (Rows{{"1"}, {"3"}}));
  EXPECT_EQ(Query("SELECT to_regclass('" + Q("rep__sluice_staging") + "') IS NULL"), (Rows{{"t"}}));
  EXPECT_EQ(Query("SELECT sink, stream FROM _sluice_state WHERE pipeline = '" + pipeline_ +
                  "' ORDER BY stream"),
            (Rows{{"postgres", ""}, {"postgres", "s"}}));
}

TEST_F(PostgresSinkTest, TlsVerifyFullWithTheServerCa) {
  const char* ca = std::getenv("SLUICE_PG_CA");
  if (!ca) GTEST_SKIP() << "SLUICE_PG_CA not set";
  ConfigNode tls;
  tls.SetKind(ConfigNode::Kind::kMap);
  tls.SetLocation("sink.tls", 1);
  tls.AddEntry("mode", ConfigNode::Scalar("verify-full", "sink.tls.mode"));
  tls.AddEntry("ca", ConfigNode::Scalar(ca, "sink.tls.ca"));
  auto sink = Make({{"table", Table("tls")}}, {}, tls);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  ASSERT_TRUE((*sink)->Open().ok());
  ASSERT_TRUE((*sink)->Write(*MakeBatch({{"id", DataType::Int64(), {"1"}}})).ok());
  ASSERT_TRUE((*sink)->Commit(State("s", "{}", 1)).ok());
  EXPECT_EQ(
      Query(
          "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE s.ssl AND "
          "a.application_name = '" +
          AppName() + "'"),
      (Rows{{"1"}}));
}

TEST_F(PostgresSinkTest, TlsVerificationFailsClearly) {
  // verify-ca without a CA is a config error naming the option.
  ConfigNode no_ca;
  no_ca.SetKind(ConfigNode::Kind::kMap);
  no_ca.SetLocation("sink.tls", 1);
  no_ca.AddEntry("mode", ConfigNode::Scalar("verify-ca", "sink.tls.mode"));
  auto sink = Make({{"table", Table("tls")}}, {}, no_ca);
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.status().message().find("needs ca"), std::string::npos)
      << sink.status().ToString();
  // A CA that did not sign the server's certificate: a permanent error about the certificate.
  std::string dir =
      std::filesystem::temp_directory_path() / ("sluice-ca-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string cmd = "openssl req -new -x509 -days 1 -nodes -subj /CN=other -keyout " + dir +
                    "/k.pem -out " + dir + "/ca.pem >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ConfigNode tls;
  tls.SetKind(ConfigNode::Kind::kMap);
  tls.SetLocation("sink.tls", 1);
  tls.AddEntry("mode", ConfigNode::Scalar("verify-ca", "sink.tls.mode"));
  tls.AddEntry("ca", ConfigNode::Scalar(dir + "/ca.pem", "sink.tls.ca"));
  sink = Make({{"table", Table("tls")}}, {}, tls);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  Status st = (*sink)->Open();
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kPermanent) << st.ToString();
  EXPECT_NE(st.message().find("certificate"), std::string::npos) << st.ToString();
}

TEST_F(PostgresSinkTest, WrongPasswordIsPermanentAndNeverShowsThePassword) {
  std::string dsn = Dsn();
  const std::string secret = "Wr0ngPassw0rd-xyz";
  size_t at = dsn.find(":sluice@");
  ASSERT_NE(at, std::string::npos) << "expected the test server's DSN";
  dsn.replace(at, 8, ":" + secret + "@");
  auto sink = Make({{"table", Table("pw")}, {"dsn", dsn}});
  ASSERT_TRUE(sink.ok());
  EXPECT_EQ((*sink)->Describe().find(secret), std::string::npos);
  Status st = (*sink)->Open();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kPermanent) << st.ToString();
  EXPECT_NE(st.message().find("authentication failed for user sluice at 127.0.0.1:"),
            std::string::npos)
      << st.ToString();
  EXPECT_EQ(st.message().find(secret), std::string::npos) << st.ToString();
}

// The server ends the sink's backend in the middle of a group: a transient error, and nothing
// of the group is left, rows or checkpoint.
TEST_F(PostgresSinkTest, TerminatedBackendIsTransientAndLeavesNoPartialGroup) {
  auto sink = Open({{"table", Table("kill")}, {"name", "killtest"}});
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"1"}}})).ok());
  ASSERT_TRUE(sink->Commit(State("s", "{\"offset\":1}", 1)).ok());
  ASSERT_TRUE(sink->Write(*MakeBatch({{"id", DataType::Int64(), {"2", "3"}}})).ok());
  EXPECT_EQ(Query("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                  "application_name = '" +
                  AppName() +
                  "' "
                  "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"),
            (Rows{{"1"}}));
  Status st = sink->Write(*MakeBatch({{"id", DataType::Int64(), {"4"}}}));
  if (st.ok()) st = sink->Commit(State("s", "{\"offset\":4}", 3));
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.IsTransient()) << st.ToString();
  EXPECT_EQ(st.message().find("sluice:sluice@"), std::string::npos);
  (void)sink->Abort();
  (void)sink->Close();
  EXPECT_EQ(Query("SELECT id FROM " + Q("kill")), (Rows{{"1"}}));
  auto again = Open({{"table", Table("kill")}, {"name", "killtest"}});
  ASSERT_TRUE(again);
  auto state = again->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(At(*state, "s", "file:data/in.csv"), "{\"offset\":1}");
}

}  // namespace
}  // namespace sluice
