#include "state/state_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "state/sqlite_db.h"

namespace sluice {

namespace {
std::string NowIso() { return UtcNowIso(0); }
}  // namespace

std::string AddCountersJson(const std::string& previous, const RunCounters& d) {
  nlohmann::json j = nlohmann::json::object();
  if (!previous.empty()) {
    auto p = nlohmann::json::parse(previous, nullptr, false);
    if (p.is_object()) j = p;
  }
  auto add = [&](const char* k, int64_t v) { j[k] = j.value(k, int64_t{0}) + v; };
  add("rows_in", d.rows_in);
  add("rows_out", d.rows_out);
  add("rows_quarantined", d.rows_quarantined);
  add("rows_skipped", d.rows_skipped);
  add("bytes_in", static_cast<int64_t>(d.bytes_in));
  return j.dump();
}

RunLock::~RunLock() {
  if (fd_ >= 0) {
    flock(fd_, LOCK_UN);
    close(fd_);
  }
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& path) {
  std::unique_ptr<StateStore> s(new StateStore(path));
  s->owner_ = std::make_unique<SqliteDb>();
  Status st = s->owner_->Open(path);
  if (!st.ok()) return st.WithContext("state store " + path);
  RETURN_IF_ERROR(s->Exec(
      "CREATE TABLE IF NOT EXISTS positions (pipeline TEXT NOT NULL, sink TEXT NOT NULL, "
      "stream TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL, "
      "PRIMARY KEY (pipeline, sink, stream, key));"
      "CREATE TABLE IF NOT EXISTS schemas (pipeline TEXT NOT NULL, stream TEXT NOT NULL, "
      "version INTEGER NOT NULL, schema TEXT NOT NULL, recorded_at TEXT NOT NULL, "
      "PRIMARY KEY (pipeline, stream, version));"
      "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, "
      "finished_at TEXT NOT NULL, summary TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS run_quality (run_id INTEGER PRIMARY KEY, quality TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS stream_keys (pipeline TEXT NOT NULL, stream TEXT NOT NULL, key TEXT NOT NULL, "
      "PRIMARY KEY (pipeline, stream));"));
  return s;
}

StateStore::StateStore(std::string path) : path_(std::move(path)) {}
StateStore::~StateStore() = default;

Status StateStore::Exec(const std::string& sql) { return owner_->Exec(sql); }

Result<std::unique_ptr<RunLock>> StateStore::Lock(const std::string& pipeline) {
  std::string safe;
  for (char c : pipeline) safe.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_');
  std::string lock_path = path_ + "." + safe + ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot open lock file " + lock_path + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[64] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    close(fd);
    return Status::Busy("pipeline '" + pipeline + "' is already running (pid " + holder +
                        "); only one run per pipeline at a time (lock: " + lock_path + ")");
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock is held either way; the pid is only informative.
  }
  return std::make_unique<RunLock>(fd);
}

Result<StateMap> StateStore::LoadPositions(const std::string& pipeline, const std::string& sink) {
  std::lock_guard<std::mutex> g(mu_);
  ASSIGN_OR_RETURN(SqliteStmt q, owner_->Prepare(
      "SELECT stream, key, value FROM positions WHERE pipeline = ?1 AND sink = ?2"));
  q.BindText(1, pipeline);
  q.BindText(2, sink);
  StateMap out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out[{q.ColumnText(0), q.ColumnText(1)}] = q.ColumnText(2);
  }
  return out;
}

Status StateStore::SavePositions(const std::string& pipeline, const std::string& sink,
                                 const CommitState& state) {
  std::lock_guard<std::mutex> g(mu_);
  RETURN_IF_ERROR(owner_->Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    ASSIGN_OR_RETURN(SqliteStmt up, owner_->Prepare(
        "INSERT OR REPLACE INTO positions (pipeline, sink, stream, key, value, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    std::string now = NowIso();
    auto put = [&](const std::string& stream, const std::string& key, const std::string& value) {
      up.BindText(1, pipeline);
      up.BindText(2, sink);
      up.BindText(3, stream);
      up.BindText(4, key);
      up.BindText(5, value);
      up.BindText(6, now);
      return up.Run();
    };
    for (const auto& p : state.positions) RETURN_IF_ERROR(put(p.stream, p.key, p.value));
    ASSIGN_OR_RETURN(SqliteStmt q, owner_->Prepare(
        "SELECT value FROM positions WHERE pipeline = ?1 AND sink = ?2 AND stream = '' AND key = ?3"));
    q.BindText(1, pipeline);
    q.BindText(2, sink);
    q.BindText(3, kCountersKey);
    ASSIGN_OR_RETURN(bool row, q.Step());
    std::string prev = row ? q.ColumnText(0) : "";
    q.Reset();
    return put("", kCountersKey, AddCountersJson(prev, state.counters));
  };
  Status st = body();
  if (!st.ok()) {
    (void)owner_->Exec("ROLLBACK");
    return st;
  }
  return owner_->Exec("COMMIT");
}

Status StateStore::ResetPositions(const std::string& pipeline, const std::string& sink,
                                  const std::string& stream) {
  std::lock_guard<std::mutex> g(mu_);
  ASSIGN_OR_RETURN(SqliteStmt d, owner_->Prepare(
      stream.empty() ? "DELETE FROM positions WHERE pipeline = ?1 AND sink = ?2"
                     : "DELETE FROM positions WHERE pipeline = ?1 AND sink = ?2 AND stream = ?3"));
  d.BindText(1, pipeline);
  d.BindText(2, sink);
  if (!stream.empty()) d.BindText(3, stream);
  return d.Run();
}

Result<std::optional<SchemaVersion>> StateStore::LoadSchema(const std::string& pipeline,
                                                           const std::string& stream) {
  std::lock_guard<std::mutex> g(mu_);
  ASSIGN_OR_RETURN(SqliteStmt q, owner_->Prepare(
      "SELECT version, schema, recorded_at FROM schemas WHERE pipeline = ?1 AND stream = ?2 "
      "ORDER BY version DESC LIMIT 1"));
  q.BindText(1, pipeline);
  q.BindText(2, stream);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<SchemaVersion>();
  SchemaVersion v;
  v.version = static_cast<int>(q.ColumnInt64(0));
  ASSIGN_OR_RETURN(v.schema, Schema::FromJson(q.ColumnText(1)));
  v.recorded_at = q.ColumnText(2);
  return std::optional<SchemaVersion>(std::move(v));
}

Status StateStore::SaveStreamKeys(const std::string& pipeline,
                                  const std::map<std::string, std::vector<std::string>>& keys) {
  std::lock_guard<std::mutex> g(mu_);
  ASSIGN_OR_RETURN(SqliteStmt ins, owner_->Prepare(
      "INSERT INTO stream_keys (pipeline, stream, key) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (pipeline, stream) DO UPDATE SET key = excluded.key"));
  for (const auto& [stream, key] : keys) {
    ins.Reset();
    ins.BindText(1, pipeline);
    ins.BindText(2, stream);
    ins.BindText(3, nlohmann::json(key).dump());
    RETURN_IF_ERROR(ins.Run());
  }
  return Status::OK();
}

Result<std::map<std::string, std::vector<std::string>>> StateStore::LoadStreamKeys(const std::string& pipeline) {
  std::lock_guard<std::mutex> g(mu_);
  ASSIGN_OR_RETURN(SqliteStmt q, owner_->Prepare("SELECT stream, key FROM stream_keys WHERE pipeline = ?1"));
  q.BindText(1, pipeline);
  std::map<std::string, std::vector<std::string>> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    auto j = nlohmann::json::parse(q.ColumnText(1), nullptr, false);
    if (!j.is_array()) continue;
    std::vector<std::string> key;
    for (const auto& c : j) {
      if (c.is_string()) key.push_back(c.get<std::string>());
    }
    out[q.ColumnText(0)] = std::move(key);
  }
  return out;
}

Status StateStore::SaveSchema(const std::string& pipeline, const std::string& stream,
                              const Schema& schema) {
  ASSIGN_OR_RETURN(auto current, LoadSchema(pipeline, stream));
  if (current && current->schema == schema) return Status::OK();
  std::lock_guard<std::mutex> g(mu_);
  ASSIGN_OR_RETURN(SqliteStmt ins, owner_->Prepare(
      "INSERT INTO schemas (pipeline, stream, version, schema, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)"));
  ins.BindText(1, pipeline);
  ins.BindText(2, stream);
  ins.BindInt64(3, current ? current->version + 1 : 1);
  ins.BindText(4, schema.ToJson());
  ins.BindText(5, NowIso());
  return ins.Run();
}

Status StateStore::ResetSchemas(const std::string& pipeline, const std::string& stream) {
  std::lock_guard<std::mutex> g(mu_);
  ASSIGN_OR_RETURN(SqliteStmt d, owner_->Prepare(
      stream.empty() ? "DELETE FROM schemas WHERE pipeline = ?1"
                     : "DELETE FROM schemas WHERE pipeline = ?1 AND stream = ?2"));
  d.BindText(1, pipeline);
  if (!stream.empty()) d.BindText(2, stream);
  return d.Run();
}

Result<std::vector<std::pair<std::string, SchemaVersion>>> StateStore::ListSchemas(
    const std::string& pipeline) {
  std::lock_guard<std::mutex> g(mu_);
  ASSIGN_OR_RETURN(SqliteStmt q, owner_->Prepare(
      "SELECT stream, version, schema, recorded_at FROM schemas s WHERE pipeline = ?1 AND version = "
      "(SELECT MAX(version) FROM schemas t WHERE t.pipeline = s.pipeline AND t.stream = s.stream) "
      "ORDER BY stream"));
  q.BindText(1, pipeline);
  std::vector<std::pair<std::string, SchemaVersion>> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    SchemaVersion v;
    v.version = static_cast<int>(q.ColumnInt64(1));
    ASSIGN_OR_RETURN(v.schema, Schema::FromJson(q.ColumnText(2)));
    v.recorded_at = q.ColumnText(3);
    out.emplace_back(q.ColumnText(0), std::move(v));
  }
  return out;
}

Result<std::vector<std::pair<std::string, SchemaVersion>>> StateStore::SchemaHistory(
    const std::string& pipeline) {
  std::lock_guard<std::mutex> g(mu_);
  ASSIGN_OR_RETURN(SqliteStmt q, owner_->Prepare(
      "SELECT stream, version, schema, recorded_at FROM schemas WHERE pipeline = ?1 ORDER BY stream, version"));
  q.BindText(1, pipeline);
  std::vector<std::pair<std::string, SchemaVersion>> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    SchemaVersion v;
    v.version = static_cast<int>(q.ColumnInt64(1));
    ASSIGN_OR_RETURN(v.schema, Schema::FromJson(q.ColumnText(2)));
    v.recorded_at = q.ColumnText(3);
    out.emplace_back(q.ColumnText(0), std::move(v));
  }
  return out;
}

Status StateStore::RecordRun(const std::string& pipeline, const std::string& summary_json,
                             const std::string& quality_json) {
  std::lock_guard<std::mutex> g(mu_);
  RETURN_IF_ERROR(owner_->Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    ASSIGN_OR_RETURN(SqliteStmt ins, owner_->Prepare(
        "INSERT INTO runs (pipeline, finished_at, summary) VALUES (?1, ?2, ?3)"));
    ins.BindText(1, pipeline);
    ins.BindText(2, NowIso());
    ins.BindText(3, summary_json);
    RETURN_IF_ERROR(ins.Run());
    if (quality_json.empty()) return Status::OK();
    ASSIGN_OR_RETURN(SqliteStmt q, owner_->Prepare(
        "INSERT INTO run_quality (run_id, quality) VALUES (?1, ?2)"));
    q.BindInt64(1, sqlite3_last_insert_rowid(owner_->get()));
    q.BindText(2, quality_json);
    return q.Run();
  };
  Status st = body();
  if (!st.ok()) {
    (void)owner_->Exec("ROLLBACK");
    return st;
  }
  return owner_->Exec("COMMIT");
}

Result<std::vector<RunRecord>> StateStore::RunHistory(const std::string& pipeline, int limit) {
  std::lock_guard<std::mutex> g(mu_);
  ASSIGN_OR_RETURN(SqliteStmt q, owner_->Prepare(
      "SELECT r.id, r.finished_at, r.summary, q.quality FROM runs r LEFT JOIN run_quality q ON q.run_id = r.id "
      "WHERE r.pipeline = ?1 ORDER BY r.id DESC LIMIT ?2"));
  q.BindText(1, pipeline);
  q.BindInt64(2, limit);
  std::vector<RunRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back({q.ColumnInt64(0), q.ColumnText(1), q.ColumnText(2), q.ColumnIsNull(3) ? "" : q.ColumnText(3)});
  }
  return out;
}

Result<std::vector<std::string>> StateStore::RecentRuns(const std::string& pipeline, int limit) {
  std::lock_guard<std::mutex> g(mu_);
  ASSIGN_OR_RETURN(SqliteStmt q, owner_->Prepare(
      "SELECT summary FROM runs WHERE pipeline = ?1 ORDER BY id DESC LIMIT ?2"));
  q.BindText(1, pipeline);
  q.BindInt64(2, limit);
  std::vector<std::string> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(q.ColumnText(0));
  }
  return out;
}

}  // namespace sluice
