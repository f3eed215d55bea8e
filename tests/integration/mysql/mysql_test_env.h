#pragma once
// What the mysql integration tests share: a throwaway database per test on the server of
// SLUICE_MYSQL_DSN (the test is skipped when it is unset), an independent libmariadb connection
// to look at it, connector blocks built as the runtime builds them, and an Emitter that collects.

#include <gtest/gtest.h>
#include <mysql.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config_node.h"
#include "config/options.h"
#include "connectors/connector.h"
#include "connectors/mysql/mysql.h"
#include "connectors/mysql/mysql_conn.h"
#include "core/record_batch.h"
#include "core/values.h"
#include "testing/change_collector.h"

namespace sluice::testing {

using Rows = std::vector<std::vector<std::string>>;

// The value of (stream, key) in a state map, or "<none>".
inline std::string At(const StateMap& m, const std::string& stream, const std::string& key) {
  auto it = m.find({stream, key});
  return it == m.end() ? "<none>" : it->second;
}

// A connector block: scalars, and lists for the keys named in `lists`.
inline ConfigNode Block(
    const std::string& kind, const std::vector<std::pair<std::string, std::string>>& scalars,
    const std::vector<std::pair<std::string, std::vector<std::string>>>& lists = {}) {
  ConfigNode block;
  block.SetKind(ConfigNode::Kind::kMap);
  block.SetLocation(kind, 1);
  block.AddEntry("type", ConfigNode::Scalar("mysql", kind + ".type"));
  for (const auto& [k, v] : scalars) block.AddEntry(k, ConfigNode::Scalar(v, kind + "." + k));
  for (const auto& [k, items] : lists) {
    ConfigNode list;
    list.SetKind(ConfigNode::Kind::kList);
    list.SetLocation(kind + "." + k, 1);
    for (const auto& i : items) list.AddItem(ConfigNode::Scalar(i, kind + "." + k + "[]"));
    block.AddEntry(k, std::move(list));
  }
  return block;
}

// Adds `tls: {mode, ca}` to a block.
inline void AddTls(ConfigNode& block, const std::string& mode, const std::string& ca) {
  ConfigNode tls;
  tls.SetKind(ConfigNode::Kind::kMap);
  tls.SetLocation(block.path() + ".tls", 1);
  tls.AddEntry("mode", ConfigNode::Scalar(mode, block.path() + ".tls.mode"));
  if (!ca.empty()) tls.AddEntry("ca", ConfigNode::Scalar(ca, block.path() + ".tls.ca"));
  block.AddEntry("tls", std::move(tls));
}

// Collects what a source emits.
class CollectingEmitter : public Emitter {
 public:
  Status Emit(Envelope env) override {
    envelopes.push_back(std::move(env));
    if (stop_after > 0 && static_cast<int>(envelopes.size()) >= stop_after) stop = true;
    return Status::OK();
  }
  bool StopRequested() const override { return stop.load(); }
  // Every row of every batch, as text ("NULL" for null), in order.
  Rows AllRows() const {
    Rows out;
    for (const auto& e : envelopes) {
      if (!e.batch) continue;
      for (int64_t r = 0; r < e.batch->num_rows(); ++r) {
        std::vector<std::string> row;
        for (size_t c = 0; c < e.batch->schema()->size(); ++c) {
          const Column& col = e.batch->column(c);
          std::string v;
          if (col.IsNull(r))
            v = "NULL";
          else
            AppendValueText(col, r, v);
          row.push_back(v);
        }
        out.push_back(std::move(row));
      }
    }
    return out;
  }
  std::vector<RejectedRow> Rejects() const {
    std::vector<RejectedRow> out;
    for (const auto& e : envelopes) out.insert(out.end(), e.rejects.begin(), e.rejects.end());
    return out;
  }
  int64_t Skipped() const {
    int64_t n = 0;
    for (const auto& e : envelopes) n += e.rows_skipped;
    return n;
  }
  // The latest value of every position, as a commit would store them.
  StateMap Positions() const { return LatestPositions(envelopes); }
  std::vector<Envelope> envelopes;
  std::atomic<bool> stop{false};
  int stop_after = 0;
};

// A fresh database per test, dropped at the end.
class MysqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dsn = std::getenv("SLUICE_MYSQL_DSN");
    if (dsn == nullptr || *dsn == '\0')
      GTEST_SKIP() << "SLUICE_MYSQL_DSN is not set (scripts/services/up.sh)";
    auto parsed = mysql::ParseDsn(dsn);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    base_ = *parsed;
    const char* ca = std::getenv("SLUICE_MYSQL_CA");
    ca_ = ca ? ca : "";
    static int counter = 0;
    db_ = "sluice_it_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    admin_ = Connect(base_.database);
    ASSERT_NE(admin_, nullptr);
    Exec("CREATE DATABASE `" + db_ + "` CHARACTER SET utf8mb4");
    Exec("USE `" + db_ + "`");
    RegisterMysqlConnector(registry_);
  }
  void TearDown() override {
    if (admin_) {
      Exec("DROP DATABASE IF EXISTS `" + db_ + "`");
      mysql_close(admin_);
    }
  }

  MYSQL* Connect(const std::string& db) {
    MYSQL* m = mysql_init(nullptr);
    unsigned proto = MYSQL_PROTOCOL_TCP;
    mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(m, base_.host.c_str(), base_.user.c_str(), base_.password.c_str(),
                            db.c_str(), base_.port, nullptr, 0)) {
      ADD_FAILURE() << "cannot connect: " << mysql_error(m);
      mysql_close(m);
      return nullptr;
    }
    mysql_query(m, "SET time_zone = '+00:00'");
    return m;
  }

  // The DSN of this test's database.
  std::string Dsn(const std::string& user = "", const std::string& password = "") const {
    return "mysql://" + (user.empty() ? base_.user : user) + ":" +
           (user.empty() ? base_.password : password) + "@" + base_.host + ":" +
           std::to_string(base_.port) + "/" + db_;
  }

  void Exec(const std::string& sql) {
    if (mysql_query(admin_, sql.c_str()) != 0) {
      ADD_FAILURE() << sql << ": " << mysql_error(admin_);
      return;
    }
    if (MYSQL_RES* r = mysql_store_result(admin_)) mysql_free_result(r);
  }

  // Every row as text ("NULL" for null); an error comes back as one row "ERROR: ...".
  Rows Query(const std::string& sql) {
    Rows out;
    if (mysql_query(admin_, sql.c_str()) != 0) {
      out.push_back({std::string("ERROR: ") + mysql_error(admin_)});
      return out;
    }
    MYSQL_RES* res = mysql_store_result(admin_);
    if (!res) return out;
    unsigned n = mysql_num_fields(res);
    while (MYSQL_ROW row = mysql_fetch_row(res)) {
      unsigned long* len = mysql_fetch_lengths(res);
      std::vector<std::string> r;
      for (unsigned i = 0; i < n; ++i) r.push_back(row[i] ? std::string(row[i], len[i]) : "NULL");
      out.push_back(std::move(r));
    }
    mysql_free_result(res);
    return out;
  }
  std::string One(const std::string& sql) {
    Rows r = Query(sql);
    return r.empty() || r[0].empty() ? "<no row>" : r[0][0];
  }

  ConnectorContext Context(const std::string& pipeline) const {
    ConnectorContext ctx;
    ctx.pipeline = pipeline;
    ctx.base_dir = "/tmp";
    ctx.before_images = before_images_;
    ctx.sink_mode = sink_mode_;
    return ctx;
  }

  Result<std::unique_ptr<Sink>> MakeSink(const ConfigNode& block,
                                         const std::string& pipeline = "p") {
    const ConnectorInfo* info = registry_.Find("sink", "mysql");
    if (!info) return Status::NotFound("mysql sink not registered");
    RETURN_IF_ERROR(ValidateOptions(block, info->options));
    return info->make_sink(Context(pipeline), block);
  }
  Result<std::unique_ptr<Source>> MakeSource(const ConfigNode& block,
                                             const std::string& pipeline = "p") {
    const ConnectorInfo* info = registry_.Find("source", "mysql");
    if (!info) return Status::NotFound("mysql source not registered");
    RETURN_IF_ERROR(ValidateOptions(block, info->options));
    return info->make_source(Context(pipeline), block);
  }

  bool before_images_ = true;  // the sink writes before images (ConnectorContext::before_images)
  std::string sink_mode_;      // ConnectorContext::sink_mode
  mysql::Dsn base_;
  std::string ca_;
  std::string db_;
  MYSQL* admin_ = nullptr;
  ConnectorRegistry registry_;
};

}  // namespace sluice::testing
