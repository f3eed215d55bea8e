// mode: cdc of the `postgres` source: logical replication with pgoutput (protocol version 1).
//
// Lifecycle. Open only looks (catalog, slot, publication, committed positions), so `sluice check`
// changes nothing. Run creates what is missing (publication, slot), then streams; the tables that
// need a copy are read in chunks interleaved with the stream (pg_cdc_snapshot.cc).
//
// Exactly-once. Each table's position is the commit LSN of the last source transaction whose
// rows the sink holds; it is written with the rows (DESIGN.md "Where state lives"). Rows of one
// source transaction go out with boundary=false and the boundary (with the positions) follows
// its Commit, so a commit group never splits a transaction. On restart every transaction whose
// commit LSN is at or below the table's position is skipped. The server is told (standby status
// update, flush position) only what OnCommitted reported durable, so the slot never moves past
// what the sink holds: kill -9 at any point loses nothing and duplicates nothing.
//
// Quiet databases. Between transactions, a keepalive's WAL position is a point below which every
// transaction has been received; each heartbeat_interval it is stored as the position (an
// envelope without rows) and, once committed, confirmed, so the slot keeps advancing.

#include "connectors/postgres/pg_cdc.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "connectors/postgres/pg_cdc_internal.h"
#include "connectors/postgres/pg_source_internal.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/values.h"
#include "state/state_store.h"

namespace sluice::pgsrc {

using pg::pgoutput::Lsn;
using pg::pgoutput::LsnText;
using pg::pgoutput::ParseLsn;
namespace po = pg::pgoutput;

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowPgUs() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(now).count() - po::kPgEpochUnixUs;
}

// Slot and publication names are SQL identifiers we create: keep them plain.
std::string DefaultName(const std::string& pipeline) {
  std::string out = "sluice_";
  for (char c : pipeline) {
    const auto u = static_cast<unsigned char>(c);
    out += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_';
  }
  return out.substr(0, 63);
}

bool ValidSlotName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// Pads each column's marks (RecordBatch::unchanged) that has any to `rows`; whether any has.
bool PadMarks(std::vector<std::vector<uint8_t>>& marks, int64_t rows) {
  bool any = false;
  for (auto& m : marks) {
    if (m.empty()) continue;
    m.resize(static_cast<size_t>(rows), 0);
    any = true;
  }
  return any;
}

}  // namespace

// ---- replication connection helpers ----

Result<PgResult> ReplCommand(PgConn& conn, const std::string& sql) {
  PGresult* res = PQexec(conn.raw(), sql.c_str());
  if (res == nullptr) return pg::StatusFromConn(conn.raw(), "postgres replication");
  PgResult owned(res);
  const ExecStatusType s = PQresultStatus(res);
  if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
    if (pg::SqlState(res).empty() && PQstatus(conn.raw()) == CONNECTION_BAD) {
      return pg::StatusFromConn(conn.raw(), "postgres replication");
    }
    Status st = pg::StatusFromResult(res, "postgres replication");
    // 55006: the slot is still held by a walsender that is going away (a killed run): retry.
    if (pg::SqlState(res) == "55006") return Status::Transient(st.message());
    return st;
  }
  return owned;
}

std::string CdcState::ToJson() const {
  nlohmann::json j;
  j["lsn"] = LsnText(lsn);
  if (end_lsn) j["end_lsn"] = LsnText(end_lsn);
  j["snapshot"] = snapshot_done ? "done" : "running";
  if (last_key) {
    nlohmann::json k = nlohmann::json::array();
    for (const auto& v : *last_key) k.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
    j["last_key"] = k;
  }
  if (snapshot_rows) j["snapshot_rows"] = snapshot_rows;
  return j.dump();
}

std::optional<CdcState> CdcState::FromJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("lsn") || !j["lsn"].is_string()) return std::nullopt;
  CdcState s;
  if (!ParseLsn(j["lsn"].get<std::string>(), &s.lsn)) return std::nullopt;
  if (j.contains("end_lsn") && j["end_lsn"].is_string() && !ParseLsn(j["end_lsn"].get<std::string>(), &s.end_lsn)) {
    return std::nullopt;
  }
  s.snapshot_done = !j.contains("snapshot") || j["snapshot"] == "done";
  if (j.contains("last_key") && j["last_key"].is_array()) {
    KeyText k;
    for (const auto& v : j["last_key"]) k.push_back(v.is_string() ? std::optional<std::string>(v.get<std::string>()) : std::nullopt);
    s.last_key = std::move(k);
  }
  if (j.contains("snapshot_rows") && j["snapshot_rows"].is_number_integer()) s.snapshot_rows = j["snapshot_rows"].get<int64_t>();
  return s;
}

// ---- table schema ----

Status CdcSource::PlanColumns(CdcTable& t, const std::vector<std::pair<std::string, std::pair<unsigned, int>>>& cols,
                              const std::set<std::string>& keys) {
  std::vector<unsigned> oids;
  for (const auto& c : cols) {
    if (!types_.count(c.second.first)) oids.push_back(c.second.first);
  }
  if (!oids.empty()) {
    ASSIGN_OR_RETURN(auto resolved, ResolveTypes(*meta_, oids));
    for (auto& [oid, ti] : resolved) types_[oid] = ti;
  }
  std::vector<CdcColumn> out;
  Schema schema;
  for (const auto& [name, type] : cols) {
    CdcColumn c;
    c.name = name;
    c.type_oid = type.first;
    c.typmod = type.second;
    c.key = keys.count(name) > 0;
    PgTypeInfo ti;
    ti.oid = type.first;
    if (auto it = types_.find(type.first); it != types_.end()) ti = it->second;
    if (ti.typmod < 0) ti.typmod = type.second;
    auto plan = pg::PlanColumn(name, ti, std::nullopt);
    // Every value arrives as its text form: a type sluice has no mapping for (or an array, whose
    // text is PostgreSQL's array literal) is kept as that text.
    c.type = plan.ok() && plan->select != PgColumn::Select::kJson ? plan->type : DataType::String();
    schema.AddField({c.name, c.type, true});
    out.push_back(std::move(c));
  }
  t.cols = std::move(out);
  t.schema = std::make_shared<Schema>(std::move(schema));
  t.builder = std::make_unique<RecordBatchBuilder>(t.schema);
  t.unchanged.assign(t.cols.size(), {});
  t.before = std::make_unique<RecordBatchBuilder>(t.schema);
  t.before_absent.assign(t.cols.size(), {});
  return Status::OK();
}

// ---- options and open ----

CdcSource::CdcSource(ConnectorContext ctx, const ConfigNode& block)
    : ctx_(std::move(ctx)), block_(block), opts_(&block_, &PostgresSourceOptions()) {}

Status CdcSource::Init() {
  ASSIGN_OR_RETURN(conn_opts_, pg::ParsePgConnOptions(opts_, block_, ctx_.base_dir));
  static const std::set<std::string> kAllowed = {"type", "dsn", "tls", "mode", "table", "tables", "slot", "publication",
                                                 "heartbeat_interval", "stop_at", "snapshot", "page_size",
                                                 "lag_warning", "lag_warning_bytes"};
  for (const auto& [k, v] : block_.entries()) {
    if (!kAllowed.count(k)) return Status::InvalidArgument(v.Where() + ": '" + k + "' does not apply to mode: cdc");
  }
  const ConfigNode* table = block_.Find("table");
  const ConfigNode* tables = block_.Find("tables");
  if (table && tables) return Status::InvalidArgument(tables->Where() + ": give either table: or tables:, not both");
  if (table) table_names_.push_back(opts_.GetString("table"));
  if (tables) table_names_ = opts_.GetList("tables");
  if (table_names_.empty()) {
    return Status::InvalidArgument(block_.Where() + ": mode: cdc needs tables: (the tables whose changes to capture)");
  }
  slot_ = opts_.GetString("slot");
  if (slot_.empty()) slot_ = DefaultName(ctx_.pipeline);
  if (!ValidSlotName(slot_)) {
    return Status::InvalidArgument((opts_.Node("slot") ? opts_.Node("slot")->Where() : block_.Where()) +
                                   ": slot name " + JsonQuote(slot_) +
                                   " may hold only lower-case letters, digits and _ (at most 63)");
  }
  publication_ = opts_.GetString("publication");
  if (publication_.empty()) publication_ = DefaultName(ctx_.pipeline);
  heartbeat_s_ = opts_.GetSeconds("heartbeat_interval");
  if (heartbeat_s_ <= 0) return Status::InvalidArgument(opts_.Node("heartbeat_interval")->Where() + ": must be positive");
  lag_warning_s_ = opts_.GetSeconds("lag_warning");
  lag_warning_bytes_ = opts_.GetBytes("lag_warning_bytes");
  stop_at_caught_up_ = opts_.GetString("stop_at") == "caught_up";
  snapshot_initial_ = opts_.GetString("snapshot") == "initial";
  page_size_ = opts_.GetInt("page_size");
  if (page_size_ < 1) return Status::InvalidArgument(opts_.Node("page_size")->Where() + ": must be at least 1");
  return Status::OK();
}

Status CdcSource::Open(const StateMap& committed) {
  ASSIGN_OR_RETURN(meta_, PgConn::Connect(conn_opts_));
  {
    ASSIGN_OR_RETURN(PgResult r, meta_->Query("SELECT current_setting('wal_level'), current_database(), "
                                              "(SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user), "
                                              "current_user, current_setting('server_version_num')::int"));
    wal_level_ = std::string(r.Get(0, 0));
    database_ = std::string(r.Get(0, 1));
    can_replicate_ = r.Get(0, 2) == "t";
    user_ = std::string(r.Get(0, 3));
    server_version_ = std::atoi(std::string(r.Get(0, 4)).c_str());
  }
  // What no run can do without: said by `check` as well.
  if (wal_level_ != "logical") {
    return Status::Permanent("postgres cdc: wal_level is " + wal_level_ +
                             "; logical replication needs wal_level = logical in postgresql.conf (and a server restart)");
  }
  if (!can_replicate_) {
    return Status::Permanent("postgres cdc: role " + user_ + " may not open a replication connection; an administrator runs "
                             "ALTER ROLE " + QuoteIdent(user_) + " REPLICATION (it also needs SELECT on the tables)");
  }
  std::set<std::string> streams;
  for (const auto& name : table_names_) {
    CdcTable t;
    t.configured = name;
    ASSIGN_OR_RETURN(Relation rel, ResolveRelation(*meta_, name));
    has_partitioned_ = has_partitioned_ || rel.relkind == 'p';
    if (rel.relkind != 'r' && rel.relkind != 'p') {
      return Status::InvalidArgument(block_.Where() + ": " + name + " is not a table; logical replication captures tables only");
    }
    t.relid = rel.relid;
    t.nspname = rel.nspname;
    t.relname = rel.relname;
    t.stream = rel.relname;
    t.qualified = QuoteIdent(rel.nspname) + "." + QuoteIdent(rel.relname);
    if (!streams.insert(t.stream).second) {
      return Status::InvalidArgument(block_.Where() + ": two tables are named " + t.stream +
                                     " (streams are named after the table without its schema)");
    }
    ASSIGN_OR_RETURN(std::vector<CatalogColumn> catalog, ReadColumns(*meta_, rel.relid));
    ASSIGN_OR_RETURN(t.pk, ReadPrimaryKey(*meta_, rel.relid));
    ctx_.stream_keys->Report(t.stream, t.pk);  // a replicate sink without key: uses it
    ASSIGN_OR_RETURN(PgResult ri, meta_->Query("SELECT relreplident::text FROM pg_class WHERE oid = $1",
                                               {std::to_string(rel.relid)}));
    t.replident = ri.rows() && !ri.Get(0, 0).empty() ? ri.Get(0, 0)[0] : 'd';
    // Generated columns are not in the replication stream (pgoutput leaves them out): the copy
    // leaves them out too, so both have the same columns.
    ASSIGN_OR_RETURN(PgResult gen, meta_->Query("SELECT attname FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 "
                                                "AND NOT attisdropped AND attgenerated <> ''",
                                                {std::to_string(rel.relid)}));
    std::set<std::string> generated;
    for (int i = 0; i < gen.rows(); ++i) generated.insert(std::string(gen.Get(i, 0)));
    std::vector<std::pair<std::string, std::pair<unsigned, int>>> cols;
    for (const auto& c : catalog) {
      if (generated.count(c.name)) continue;
      cols.push_back({c.name, {c.type_oid, c.typmod}});
      t.sql_types[c.name] = c.sql_type;
    }
    RETURN_IF_ERROR(PlanColumns(t, cols, std::set<std::string>(t.pk.begin(), t.pk.end())));
    auto it = committed.find({t.stream, kCdcKey});
    if (it != committed.end()) {
      auto st = CdcState::FromJson(it->second);
      if (!st) return Status::Corruption("postgres cdc: unreadable checkpoint of " + t.stream + ": " + it->second);
      t.state = *st;
    }
    tables_.push_back(std::move(t));
  }
  for (size_t i = 0; i < tables_.size(); ++i) by_name_[{tables_[i].nspname, tables_[i].relname}] = i;
  // The slot and the publication, as they are now.
  ASSIGN_OR_RETURN(PgResult s, meta_->Query("SELECT plugin, database, active, coalesce(wal_status, ''), "
                                            "coalesce(confirmed_flush_lsn::text, '') FROM pg_replication_slots "
                                            "WHERE slot_name = $1", {slot_}));
  slot_exists_ = s.rows() > 0;
  if (slot_exists_) {
    if (s.Get(0, 0) != "pgoutput" || s.Get(0, 1) != database_) {
      return Status::InvalidArgument(block_.Where() + ": replication slot " + slot_ + " exists but uses plugin " +
                                     std::string(s.Get(0, 0)) + " on database " + std::string(s.Get(0, 1)) +
                                     "; name another one with slot:");
    }
    slot_lost_ = s.Get(0, 3) == "lost";
    if (!s.Get(0, 4).empty()) (void)ParseLsn(s.Get(0, 4), &slot_confirmed_);
  }
  ASSIGN_OR_RETURN(PgResult p, meta_->Query("SELECT puballtables, pubviaroot FROM pg_publication WHERE pubname = $1",
                                            {publication_}));
  publication_exists_ = p.rows() > 0;
  if (publication_exists_ && has_partitioned_ && p.Get(0, 1) != "t") {
    return Status::InvalidArgument(block_.Where() + ": publication " + publication_ + " publishes the changes of a "
                                   "partitioned table under its partitions' names; ALTER PUBLICATION " +
                                   QuoteIdent(publication_) + " SET (publish_via_partition_root = true)");
  }
  if (publication_exists_) {
    ASSIGN_OR_RETURN(PgResult pt, meta_->Query("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1",
                                               {publication_}));
    std::set<std::pair<std::string, std::string>> in;
    for (int i = 0; i < pt.rows(); ++i) in.insert({std::string(pt.Get(i, 0)), std::string(pt.Get(i, 1))});
    for (const auto& t : tables_) {
      if (!in.count({t.nspname, t.relname})) missing_from_publication_.push_back(t.qualified);
    }
  }
  // What each table needs.
  bool any_state = false;
  for (const auto& t : tables_) any_state = any_state || t.state.has_value();
  if (slot_exists_ && slot_lost_) return LostSlot();
  if (!slot_exists_ && any_state) return LostSlot();
  return Status::OK();
}

Status CdcSource::LostSlot() const {
  return Status::Permanent(
      "postgres cdc: replication slot " + slot_ + (slot_exists_ ? " is lost (the server removed WAL it still needed, "
                                                                  "see max_slot_wal_keep_size)"
                                                                : " does not exist") +
      ", but the sink holds positions of an earlier run: changes since then cannot be read any more, so the replica "
      "would silently miss them. To start over with a new snapshot: sluice cdc drop-slot <pipeline.yaml> (when it "
      "still exists), then sluice state reset <pipeline.yaml>, then run again");
}

std::vector<std::string> CdcSource::DescribePlan() {
  std::vector<std::string> lines;
  lines.push_back("postgres " + pg::DescribeDsn(conn_opts_.dsn) + ", mode cdc (logical replication, pgoutput)");
  lines.push_back("slot " + slot_ + (slot_exists_ ? " (exists)" : " (created by the first run)") + ", publication " +
                  publication_ + (publication_exists_ ? " (exists)" : " (created by the first run)"));
  for (const auto& q : missing_from_publication_) lines.push_back("note: " + q + " will be added to the publication");
  for (const auto& t : tables_) {
    std::string line = t.qualified + " -> stream " + t.stream + ": " + std::to_string(t.cols.size()) + " columns";
    line += t.pk.empty() ? ", no primary key" : ", key (" + Join(t.pk, ", ") + ")";
    line += std::string(", replica identity ") +
            (t.replident == 'd' ? "default" : t.replident == 'f' ? "full" : t.replident == 'i' ? "index" : "nothing");
    const std::string chunks =
        t.pk.empty() ? " (in one chunk)" : " (chunks of " + std::to_string(page_size_) + " rows)";
    if (!t.state) {
      line += snapshot_initial_ ? ", initial snapshot" + chunks : ", stream only (snapshot: never)";
    } else if (!t.state->snapshot_done) {
      line += ", snapshot resumes after " + std::to_string(t.state->snapshot_rows) + " rows" + chunks;
    } else {
      line += ", streaming from " + LsnText(t.state->lsn);
    }
    lines.push_back(line);
    if ((t.replident == 'd' && t.pk.empty()) || t.replident == 'n') {
      lines.push_back("  warning: " + t.qualified + (t.replident == 'n' ? " has REPLICA IDENTITY NOTHING" : " has no primary key") +
                      ", so its updates and deletes do not identify the row (PostgreSQL refuses them while the table is "
                      "in a publication). Add a primary key or ALTER TABLE " + t.qualified + " REPLICA IDENTITY FULL");
    }
  }
  return lines;
}

// ---- setup (Run) ----

Status CdcSource::EnsurePublication() {
  auto explain = [&](const Status& st, const std::string& sql) {
    return Status::Permanent("postgres cdc: could not run `" + sql + "`: " + st.message() +
                             ". Ask an administrator to run it (it needs CREATE on the database and ownership of the "
                             "tables), or name an existing publication with publication:");
  };
  std::vector<std::string> names;
  for (const auto& t : tables_) names.push_back(t.qualified);
  if (!publication_exists_) {
    // Changes of a partitioned table's partitions arrive under the table's name.
    const std::string sql = "CREATE PUBLICATION " + QuoteIdent(publication_) + " FOR TABLE " + Join(names, ", ") +
                            (has_partitioned_ ? " WITH (publish_via_partition_root = true)" : "");
    Status st = meta_->Exec(sql);
    if (!st.ok()) return st.IsTransient() ? st : explain(st, sql);
    ctx_.log->Info("postgres cdc: created publication " + publication_, {{"tables", Join(names, ", ")}});
    publication_exists_ = true;
    return Status::OK();
  }
  if (!missing_from_publication_.empty()) {
    const std::string sql = "ALTER PUBLICATION " + QuoteIdent(publication_) + " ADD TABLE " + Join(missing_from_publication_, ", ");
    Status st = meta_->Exec(sql);
    if (!st.ok()) return st.IsTransient() ? st : explain(st, sql);
    ctx_.log->Info("postgres cdc: added tables to publication " + publication_, {{"tables", Join(missing_from_publication_, ", ")}});
    missing_from_publication_.clear();
  }
  return Status::OK();
}

Status CdcSource::Setup() {
  RETURN_IF_ERROR(EnsurePublication());
  ASSIGN_OR_RETURN(repl_, PgConn::Connect(conn_opts_, /*replication=*/true));
  // Text forms the decoder reads (pgoutput.h): the same in the walsender and in snapshot reads.
  for (const char* set : {"SET DateStyle = ISO", "SET TimeZone = 'UTC'", "SET extra_float_digits = 3",
                          "SET bytea_output = hex", "SET IntervalStyle = postgres"}) {
    RETURN_IF_ERROR(ReplCommand(*repl_, set).status());
  }
  Lsn min_stream = 0;
  bool have_min = false;
  for (const auto& t : tables_) {
    if (!t.state) continue;
    if (!have_min || t.state->lsn < min_stream) min_stream = t.state->lsn;
    have_min = true;
  }
  if (!slot_exists_) {
    // No exported snapshot: the copy is made of chunks between watermarks (pg_cdc_snapshot.cc).
    auto r = ReplCommand(*repl_, "CREATE_REPLICATION_SLOT " + slot_ + " LOGICAL pgoutput NOEXPORT_SNAPSHOT");
    if (!r.ok()) {
      return Status(r.status()).WithContext("postgres cdc: creating replication slot " + slot_ +
                                            " (needs the REPLICATION attribute and a free max_replication_slots entry)");
    }
    Lsn consistent = 0;
    if (!ParseLsn(r->Get(0, 1), &consistent)) return Status::Corruption("postgres cdc: bad consistent point from CREATE_REPLICATION_SLOT");
    slot_exists_ = true;
    ctx_.log->Info("postgres cdc: created replication slot " + slot_, {{"consistent_point", LsnText(consistent)}});
    for (auto& t : tables_) {
      CdcState st;
      st.lsn = consistent;
      st.snapshot_done = !snapshot_initial_;
      t.state = st;
    }
    return CheckSnapshotSupport();
  }
  // An existing slot: tables without a position (added to the pipeline, or a first run that
  // stopped before its first commit) stream from where the others are, and are copied in chunks
  // meanwhile, on their own.
  const Lsn from = have_min ? min_stream : slot_confirmed_;
  for (auto& t : tables_) {
    if (!t.state) {
      CdcState st;
      st.lsn = from;
      st.snapshot_done = !snapshot_initial_;
      t.state = st;
    }
  }
  return CheckSnapshotSupport();
}

Status CdcSource::CheckSnapshotSupport() const {
  if (!SnapshotPending() || server_version_ >= 140000) return Status::OK();
  return Status::Permanent("postgres cdc: the initial copy needs PostgreSQL 14 or later (its watermarks are logical "
                           "decoding messages, which pgoutput sends from 14 on); this server is " +
                           std::to_string(server_version_) + ". Use snapshot: never and copy the tables yourself");
}

// ---- run ----

void CdcSource::SaveSchema(const CdcTable& t) {
  if (ctx_.state && !ctx_.dry_run) (void)ctx_.state->SaveSchema(ctx_.pipeline, t.stream, *t.schema);
}

Status CdcSource::Run(Emitter& out) {
  for (const auto& t : tables_) SaveSchema(t);
  Status st = Setup();
  if (st.ok()) st = Stream(out);
  if (st.IsCancelled()) return Status::OK();
  return st;
}

void CdcSource::OnCommitted(const std::vector<SourcePosition>& positions) {
  // A dry run keeps nothing: the slot must not move past what the real run will need.
  if (ctx_.dry_run) return;
  for (const auto& p : positions) {
    if (p.key != kCdcKey) continue;
    // Every table streams from the start, copy or not: its commit LSN is confirmed as it goes.
    auto s = CdcState::FromJson(p.value);
    if (!s) continue;
    const Lsn flush = s->end_lsn ? s->end_lsn : s->lsn;
    Lsn cur = confirmed_.load();
    while (flush > cur && !confirmed_.compare_exchange_weak(cur, flush)) {
    }
  }
  committed_groups_.fetch_add(1);
}

// Emits every table's pending rows (boundary=false), then, when `boundary`, an envelope with the
// position of each table: the rows so far are whole transactions.
Status CdcSource::FlushAll(Emitter& out, bool boundary, bool flush) {
  for (auto& t : tables_) RETURN_IF_ERROR(FlushTable(t, out));
  if (!boundary) return Status::OK();
  Envelope env;
  env.bytes_in = pending_bytes_;
  pending_bytes_ = 0;
  for (auto& t : tables_) {
    if (!t.state) continue;
    env.positions.push_back({t.stream, kCdcKey, t.state->ToJson()});
  }
  env.boundary = true;
  env.flush = flush;
  pending_positions_ = false;
  if (!env.positions.empty()) {
    emitted_end_ = std::max(emitted_end_, position_end_);
  }
  last_flush_ = Clock::now();
  return out.Emit(std::move(env));
}

Status CdcSource::FlushTable(CdcTable& t, Emitter& out) {
  if (t.builder->num_rows() == 0 && t.rejects.empty()) return Status::OK();
  Envelope env;
  const int64_t n = t.builder->num_rows();
  if (n > 0) {
    auto batch = std::const_pointer_cast<RecordBatch>(t.builder->Finish(t.stream, t.qualified));
    batch->ops = std::move(t.ops);
    batch->changes = std::move(t.changes);
    if (PadMarks(t.unchanged, n)) batch->unchanged = std::move(t.unchanged);
    if (const int64_t nb = t.before->num_rows(); nb > 0) {
      auto before = std::const_pointer_cast<RecordBatch>(t.before->Finish(t.stream, t.qualified));
      if (PadMarks(t.before_absent, nb)) before->unchanged = std::move(t.before_absent);
      batch->before_rows = std::move(before);
    }
    batch->source_db = database_;
    batch->source_table = t.nspname + "." + t.relname;
    env.batch = std::move(batch);
  }
  t.ops.clear();
  t.changes.clear();
  t.unchanged.assign(t.cols.size(), {});
  t.before_absent.assign(t.cols.size(), {});
  env.rejects = std::move(t.rejects);
  t.rejects.clear();
  env.boundary = false;
  pending_rows_ = std::max<int64_t>(0, pending_rows_ - n);
  return out.Emit(std::move(env));
}

// Appends one row to `t`: op, values of `tuple` (with `old` filling unchanged TOAST values when
// the whole old row was sent), the change source. A value that does not fit its type rejects the
// row.
void CdcSource::AppendRow(CdcTable& t, char op, const po::Tuple& tuple, const po::Tuple* old, int64_t before_row,
                          const RecordBatch::ChangeSource& base) {
  RecordBatchBuilder& b = *t.builder;
  const int64_t row = b.num_rows();
  const size_t n = t.cols.size();
  unchanged_cols_.clear();
  for (size_t c = 0; c < n; ++c) {
    const po::TupleValue* v = c < tuple.size() ? &tuple[c] : nullptr;
    if (v && v->kind == 'u' && old && c < old->size() && (*old)[c].kind == 't') v = &(*old)[c];
    if (!v || v->kind == 'n') {
      b.column(c).AppendNull();
      continue;
    }
    if (v->kind == 'u') {
      b.column(c).AppendNull();
      unchanged_cols_.push_back(c);
      continue;
    }
    std::string why;
    if (!po::AppendTextValue(t.cols[c].type, v->data, b.column(c), &why)) {
      b.RollbackRow();
      RejectedRow r;
      r.stream = t.stream;
      r.origin = t.qualified + "@" + base.position;
      r.position_key = base.position + ":" + std::to_string(txn_ordinal_);
      std::string raw = "{";
      for (size_t k = 0; k < n && k < tuple.size(); ++k) {
        if (k) raw += ",";
        raw += JsonQuote(t.cols[k].name) + ":";
        if (tuple[k].kind == 't') raw += JsonQuote(std::string(tuple[k].data));
        else raw += "null";
      }
      r.raw = raw + "}";
      r.rule = "type";
      r.column = t.cols[c].name;
      r.reason = "column " + t.cols[c].name + ": " + why;
      t.rejects.push_back(std::move(r));
      ++txn_ordinal_;
      return;
    }
  }
  b.CommitRow(txn_ordinal_++);
  t.ops.push_back(op);
  for (size_t c : unchanged_cols_) {
    if (t.unchanged[c].empty()) t.unchanged[c].assign(static_cast<size_t>(row), 0);
    t.unchanged[c].resize(static_cast<size_t>(row) + 1, 0);
    t.unchanged[c][static_cast<size_t>(row)] = 1;
  }
  RecordBatch::ChangeSource cs = base;
  cs.before_row = before_row;
  t.changes.push_back(std::move(cs));
  ++pending_rows_;
}

int64_t CdcSource::AppendBefore(CdcTable& t, const po::Tuple& old, char kind) {
  if (!ctx_.before_images || !kind) return -1;
  RecordBatchBuilder& b = *t.before;
  const int64_t row = b.num_rows();
  absent_cols_.clear();
  for (size_t c = 0; c < t.cols.size(); ++c) {
    const po::TupleValue* v = c < old.size() ? &old[c] : nullptr;
    // A key-only old row carries nulls for the other columns: not their values.
    if (!v || v->kind == 'u' || (kind == 'K' && !t.cols[c].key)) {
      b.column(c).AppendNull();
      absent_cols_.push_back(c);
      continue;
    }
    if (v->kind == 'n') {
      b.column(c).AppendNull();
      continue;
    }
    std::string why;
    if (!po::AppendTextValue(t.cols[c].type, v->data, b.column(c), &why)) {
      b.RollbackRow();
      return -1;  // the new row has the same types: it is quarantined with the reason
    }
  }
  b.CommitRow(row);
  for (size_t c : absent_cols_) {
    auto& a = t.before_absent[c];
    a.resize(static_cast<size_t>(row) + 1, 0);
    a[static_cast<size_t>(row)] = 1;
  }
  return row;
}

// A Relation message: the table's columns as they are now. A new column, a dropped one or a new
// type gives the stream a new schema; rows built under the old one are emitted first.
Status CdcSource::OnRelation(const po::Relation& rel, Emitter& out) {
  auto it = by_name_.find({rel.nspname.empty() ? "pg_catalog" : rel.nspname, rel.relname});
  if (it == by_name_.end()) return Status::OK();
  CdcTable& t = tables_[it->second];
  relid_to_table_[rel.oid] = it->second;
  bool same = rel.columns.size() == t.cols.size();
  for (size_t i = 0; same && i < rel.columns.size(); ++i) {
    same = rel.columns[i].name == t.cols[i].name && rel.columns[i].type_oid == t.cols[i].type_oid &&
           rel.columns[i].typmod == t.cols[i].typmod;
  }
  t.replident = rel.replica_identity;
  if (same) return Status::OK();
  RETURN_IF_ERROR(FlushTable(t, out));
  std::vector<std::pair<std::string, std::pair<unsigned, int>>> cols;
  std::set<std::string> keys(t.pk.begin(), t.pk.end());
  for (const auto& c : rel.columns) cols.push_back({c.name, {c.type_oid, c.typmod}});
  const std::string old_schema = t.schema->ToString();
  RETURN_IF_ERROR(PlanColumns(t, cols, keys));
  ctx_.log->Info("postgres cdc: schema of " + t.stream + " changed", {{"from", old_schema}, {"to", t.schema->ToString()}});
  SaveSchema(t);
  return Status::OK();
}

Status CdcSource::OnChange(const po::RowChange& ch) {
  auto it = relid_to_table_.find(ch.relid);
  if (it == relid_to_table_.end()) return Status::OK();  // a table of the publication that is not ours
  CdcTable& t = tables_[it->second];
  if (txn_.final_lsn <= t.state->lsn) {
    ++skipped_rows_;
    return Status::OK();
  }
  const size_t n = t.cols.size();
  if (ch.new_tuple.size() > n || ch.old_tuple.size() > n) {
    return Status::Corruption("postgres cdc: a change of " + t.stream + " has more values than its relation has columns");
  }
  if (chunk_ && chunk_->table == it->second) NoteChunkChange(t, ch);
  RecordBatch::ChangeSource base;
  base.position = txn_lsn_text_;
  base.txid = txn_.xid;
  base.commit_us = txn_.commit_time + po::kPgEpochUnixUs;
  if (ch.op == 'I') {
    AppendRow(t, 'c', ch.new_tuple, nullptr, -1, base);
    return Status::OK();
  }
  if (ch.op == 'D') {
    AppendRow(t, 'd', ch.old_tuple, nullptr, AppendBefore(t, ch.old_tuple, ch.old_kind), base);
    return Status::OK();
  }
  // Update. An old key ('K') means the key changed; with the whole old row ('O') compare the key.
  bool key_changed = ch.old_kind == 'K';
  // While the table is being copied the row may not be in the sink yet (its chunk comes later,
  // or drops it for this very change): a TOAST value the server did not send is read from the
  // table, as for a key change below.
  const bool fill = !t.state->snapshot_done;
  if (ch.old_kind == 'O') {
    for (size_t c = 0; c < n && c < ch.old_tuple.size() && c < ch.new_tuple.size(); ++c) {
      if (!t.cols[c].key || ch.new_tuple[c].kind == 'u') continue;
      if (ch.old_tuple[c].kind != ch.new_tuple[c].kind || ch.old_tuple[c].data != ch.new_tuple[c].data) key_changed = true;
    }
  }
  const int64_t before = AppendBefore(t, ch.old_tuple, ch.old_kind);
  const po::Tuple* new_tuple = &ch.new_tuple;
  po::Tuple filled;
  PgResult fetched;  // owns the bytes `filled` points into
  if (key_changed || fill) {
    // The row moved to another key: delete the old key, then the new row. The new key holds no
    // row yet (nor, during the copy, may the old one), so a TOAST value the server did not send
    // cannot be left "unchanged" there: it is read from the table by the new key (its current
    // value; any later change follows in the stream, so the replica converges to the source).
    if (key_changed) AppendRow(t, 'd', ch.old_tuple, nullptr, before, base);
    RETURN_IF_ERROR(FillUnchanged(t, ch, &filled, &fetched));
    if (!filled.empty()) new_tuple = &filled;
  }
  AppendRow(t, 'u', *new_tuple, ch.old_kind == 'O' ? &ch.old_tuple : nullptr, before, base);
  return Status::OK();
}

Status CdcSource::FillUnchanged(const CdcTable& t, const po::RowChange& ch, po::Tuple* filled, PgResult* fetched) {
  std::vector<size_t> missing;
  for (size_t c = 0; c < ch.new_tuple.size(); ++c) {
    const bool from_old = ch.old_kind == 'O' && c < ch.old_tuple.size() && ch.old_tuple[c].kind == 't';
    if (ch.new_tuple[c].kind == 'u' && !from_old) missing.push_back(c);
  }
  if (missing.empty() || t.pk.empty()) return Status::OK();
  std::string list, where;
  std::vector<std::optional<std::string>> params;
  for (size_t i = 0; i < missing.size(); ++i) list += (i ? ", " : "") + QuoteIdent(t.cols[missing[i]].name) + "::text";
  for (size_t c = 0; c < t.cols.size() && c < ch.new_tuple.size(); ++c) {
    if (!t.cols[c].key) continue;
    auto type = t.sql_types.find(t.cols[c].name);
    where += std::string(params.empty() ? "" : " AND ") + QuoteIdent(t.cols[c].name) + " = $" +
             std::to_string(params.size() + 1) + "::" + (type != t.sql_types.end() ? type->second : "text");
    params.push_back(ch.new_tuple[c].kind == 't' ? std::optional<std::string>(std::string(ch.new_tuple[c].data)) : std::nullopt);
  }
  ASSIGN_OR_RETURN(*fetched, meta_->Query("SELECT " + list + " FROM " + t.qualified + " WHERE " + where, params));
  if (fetched->rows() != 1) return Status::OK();  // deleted since: a later change in the stream says so
  *filled = ch.new_tuple;
  for (size_t i = 0; i < missing.size(); ++i) {
    const int c = static_cast<int>(i);
    (*filled)[missing[i]] = fetched->IsNull(0, c) ? po::TupleValue{'n', {}} : po::TupleValue{'t', fetched->Get(0, c)};
  }
  return Status::OK();
}

Status CdcSource::SendStatus(bool reply_requested) {
  const Lsn flush = confirmed_.load();
  const std::string msg = po::EncodeStandbyStatus(std::max(received_, flush), flush, flush, NowPgUs(), reply_requested);
  if (PQputCopyData(repl_->raw(), msg.data(), static_cast<int>(msg.size())) != 1 || PQflush(repl_->raw()) != 0) {
    return pg::StatusFromConn(repl_->raw(), "postgres cdc: sending the standby status");
  }
  sent_flush_ = flush;
  last_status_ = Clock::now();
  return Status::OK();
}

void CdcSource::LogLag() {
  auto r = meta_->Query("SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint, "
                        "(pg_current_wal_lsn() - restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1",
                        {slot_});
  if (!r.ok() || r->rows() == 0) return;
  const Lsn confirmed = confirmed_.load();
  while (!unconfirmed_.empty() && unconfirmed_.front().first <= confirmed) unconfirmed_.pop_front();
  const double lag_s =
      unconfirmed_.empty() ? 0.0 : std::max<double>(0, static_cast<double>(NowPgUs() + po::kPgEpochUnixUs - unconfirmed_.front().second) / 1e6);
  int64_t retained = 0;
  (void)ParseInt64(r->Get(0, 1), &retained);
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", lag_s);
  Logger::Fields f = {{"lag_seconds", secs},
                      {"confirmed_lag_bytes", std::string(r->Get(0, 0))},
                      {"retained_wal_bytes", std::string(r->Get(0, 1))},
                      {"confirmed", LsnText(confirmed)}};
  if (lag_s > lag_warning_s_ || retained > lag_warning_bytes_) {
    ctx_.log->Warn("postgres cdc: slot " + slot_ + " is lagging (over lag_warning or lag_warning_bytes): the sink is " +
                       "slower than the source's writes, or the pipeline was stopped; the slot keeps WAL on the server "
                       "until the changes are committed",
                   f);
  } else {
    ctx_.log->Info("postgres cdc: slot " + slot_ + " lag", f);
  }
}

Status CdcSource::Stream(Emitter& out) {
  Lsn start = 0;
  bool first = true;
  for (const auto& t : tables_) {
    const Lsn l = t.state->end_lsn ? t.state->end_lsn : t.state->lsn;
    if (first || l < start) start = l;
    first = false;
  }
  Lsn target = 0;
  if (stop_at_caught_up_) {
    ASSIGN_OR_RETURN(PgResult r, meta_->Query("SELECT pg_current_wal_insert_lsn()::text"));
    if (!ParseLsn(r.Get(0, 0), &target)) return Status::Corruption("postgres cdc: bad pg_current_wal_lsn()");
  }
  std::string pubs = QuoteIdent(publication_);
  // messages: the snapshot's watermarks (PostgreSQL 14+).
  const std::string sql = "START_REPLICATION SLOT " + slot_ + " LOGICAL " + LsnText(start) +
                          " (proto_version '1', publication_names " + pg::QuoteLiteral(pubs) +
                          (server_version_ >= 140000 ? ", messages 'true'" : "") + ")";
  for (int attempt = 0;; ++attempt) {
    PGresult* res = PQexec(repl_->raw(), sql.c_str());
    PgResult owned(res);
    if (!res) return pg::StatusFromConn(repl_->raw(), "postgres cdc");
    if (PQresultStatus(res) != PGRES_COPY_BOTH) {
      const std::string state = pg::SqlState(res);
      Status st = pg::StatusFromResult(res, "postgres cdc: " + sql);
      if (state == "55006") {
        // The slot is still held by the walsender of a run that died (kill -9): it lets go once
        // it notices, which may take a while when it is busy decoding.
        if (attempt < 60 && !out.StopRequested()) {
          if (attempt == 0) ctx_.log->Info("postgres cdc: slot " + slot_ + " is still in use; waiting for it");
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
          continue;
        }
        return Status::Transient(st.message());
      }
      const std::string msg = st.message();
      if (msg.find("has already been removed") != std::string::npos || msg.find("can no longer get changes") != std::string::npos ||
          msg.find("invalidated") != std::string::npos) {
        slot_lost_ = true;
        return LostSlot();
      }
      return st;
    }
    break;
  }
  ctx_.log->Info("postgres cdc: streaming", {{"slot", slot_}, {"from", LsnText(start)},
                                             {"until", stop_at_caught_up_ ? LsnText(target) : "stopped"}});
  if (slot_confirmed_ > confirmed_.load()) confirmed_.store(slot_confirmed_);
  const int sock = PQsocket(repl_->raw());
  auto last_heartbeat = Clock::now();
  auto last_lag = Clock::now();
  auto last_keepalive_request = Clock::now();
  last_flush_ = Clock::now();
  last_status_ = Clock::now();
  po::Message msg;
  Lsn idle_lsn = 0;  // a keepalive position received outside any transaction
  bool done = false;
  const auto heartbeat = std::chrono::duration<double>(heartbeat_s_);
  const auto status_every = std::chrono::duration<double>(std::min(heartbeat_s_, 10.0));
  while (!done) {
    // The next snapshot chunk: its watermarks are then on their way down the stream.
    if (!chunk_ && SnapshotPending()) RETURN_IF_ERROR(StartChunk());
    char* buf = nullptr;
    const int n = PQgetCopyData(repl_->raw(), &buf, /*async=*/1);
    if (n > 0) {
      std::string_view bytes(buf, static_cast<size_t>(n));
      auto sm = po::DecodeStreamMessage(bytes);
      if (!sm.ok()) {
        PQfreemem(buf);
        return sm.status();
      }
      if (sm->kind == 'k') {
        received_ = std::max(received_, sm->keepalive.wal_end);
        if (!in_txn_) idle_lsn = std::max(idle_lsn, sm->keepalive.wal_end);
        PQfreemem(buf);
        if (sm->keepalive.reply_requested) RETURN_IF_ERROR(SendStatus(false));
      } else {
        received_ = std::max(received_, sm->xlog.data_start);
        pending_bytes_ += sm->xlog.payload.size();
        Status st = po::DecodeInto(sm->xlog.payload, &msg);
        if (st.ok()) st = OnMessage(msg, out);
        PQfreemem(buf);
        RETURN_IF_ERROR(st);
        if (msg.type == 'C' && stop_at_caught_up_ && msg.commit.end_lsn >= target && !SnapshotPending()) {
          done = true;
        }
      }
    } else if (n == 0) {
      // Nothing buffered: the stream is idle for now. Whole transactions go out without waiting.
      if (!in_txn_ && pending_rows_ > 0 && Clock::now() - last_flush_ >= std::chrono::milliseconds(200)) {
        RETURN_IF_ERROR(FlushAll(out, true, false));
      }
      pollfd pfd{sock, POLLIN, 0};
      const int pr = poll(&pfd, 1, 100);
      if (pr < 0 && errno != EINTR) return Status::Transient("postgres cdc: poll failed");
      if (pr == 0 && !in_txn_ && (pending_rows_ > 0 || pending_positions_)) RETURN_IF_ERROR(FlushAll(out, true, false));
      if (PQconsumeInput(repl_->raw()) != 1) return pg::StatusFromConn(repl_->raw(), "postgres cdc: replication stream");
      if (stop_at_caught_up_ && !in_txn_ && Clock::now() - last_keepalive_request >= std::chrono::milliseconds(200)) {
        // Ask the server how far it has sent: a keepalive past the target means caught up.
        RETURN_IF_ERROR(SendStatus(true));
        last_keepalive_request = Clock::now();
      }
    } else if (n == -1) {
      PgResult res(PQgetResult(repl_->raw()));
      if (res.raw() && PQresultStatus(res.raw()) == PGRES_FATAL_ERROR) return pg::StatusFromResult(res.raw(), "postgres cdc");
      return Status::Transient("postgres cdc: the server ended the replication stream");
    } else {
      return pg::StatusFromConn(repl_->raw(), "postgres cdc: replication stream");
    }
    if (!in_txn_) {
      if (pending_rows_ >= kBatchRows / 2 || pending_bytes_ >= kBatchBytes * 4) RETURN_IF_ERROR(FlushAll(out, true, false));
      if (stop_at_caught_up_ && idle_lsn >= target && !SnapshotPending()) done = true;
      if (out.StopRequested()) done = true;
    }
    const auto now = Clock::now();
    if (!in_txn_ && now - last_heartbeat >= heartbeat) {
      last_heartbeat = now;
      RETURN_IF_ERROR(FlushAll(out, true, false));
      // The server sends keepalives on its own only after long silences: ask for one, so the
      // next heartbeat has a recent position to store on a quiet database.
      RETURN_IF_ERROR(SendStatus(true));
      if (idle_lsn > position_end_ && emitted_end_ <= confirmed_.load()) {
        // Nothing in flight: every transaction below the keepalive's position is in the sink.
        // Store it, so the slot advances once the sink commits it.
        // A commit record may start exactly at the keepalive's position and not be sent yet:
        // the stored commit LSN is one below it (every commit LSN up to it has been seen).
        // A chunk in flight is not in the position: after a restart it is selected again.
        for (auto& t : tables_) {
          if (idle_lsn - 1 > t.state->lsn) {
            t.state->lsn = idle_lsn - 1;
            t.state->end_lsn = idle_lsn;
          }
        }
        position_end_ = idle_lsn;
        RETURN_IF_ERROR(FlushAll(out, true, true));
      }
    }
    if (now - last_status_ >= status_every || (confirmed_.load() > sent_flush_ && now - last_status_ >= std::chrono::seconds(1))) {
      RETURN_IF_ERROR(SendStatus(false));
    }
    if (now - last_lag >= std::chrono::duration<double>(std::max(heartbeat_s_, 30.0))) {
      last_lag = now;
      LogLag();
    }
  }
  // Caught up or stopped, between transactions: the rest goes out and is committed now.
  RETURN_IF_ERROR(FlushAll(out, true, true));
  // Wait (briefly) for the sink to commit it, so the slot is confirmed before the connection goes.
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (!ctx_.dry_run && confirmed_.load() < emitted_end_ && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  (void)SendStatus(false);
  PQputCopyEnd(repl_->raw(), nullptr);
  LogLag();
  if (skipped_rows_ > 0) {
    ctx_.log->Info("postgres cdc: skipped changes already in the sink", {{"rows", std::to_string(skipped_rows_)}});
  }
  return Status::OK();
}

Status CdcSource::OnMessage(const po::Message& m, Emitter& out) {
  switch (m.type) {
    case 'B':
      in_txn_ = true;
      txn_ = m.begin;
      txn_lsn_text_ = LsnText(m.begin.final_lsn);
      txn_ordinal_ = 0;
      return Status::OK();
    case 'C': {
      in_txn_ = false;
      for (auto& t : tables_) {
        if (m.commit.commit_lsn > t.state->lsn) {
          t.state->lsn = m.commit.commit_lsn;
          t.state->end_lsn = m.commit.end_lsn;
        }
      }
      position_end_ = std::max(position_end_, m.commit.end_lsn);
      pending_positions_ = true;
      {
        const int64_t at = m.commit.commit_time + po::kPgEpochUnixUs;
        if (!unconfirmed_.empty() && at - unconfirmed_.back().second < 100000) {
          unconfirmed_.back().first = m.commit.end_lsn;
        } else {
          unconfirmed_.emplace_back(m.commit.end_lsn, at);
        }
      }
      return Status::OK();
    }
    case 'R':
      return OnRelation(m.relation, out);
    case 'M':
      return OnWatermark(m.message, out);
    case 'I':
    case 'U':
    case 'D':
      RETURN_IF_ERROR(OnChange(m.change));
      // A transaction larger than a batch goes out in pieces, without a boundary.
      if (pending_rows_ >= kBatchRows) RETURN_IF_ERROR(FlushAll(out, false, false));
      return Status::OK();
    case 'T':
      for (uint32_t relid : m.truncate.relids) {
        auto it = relid_to_table_.find(relid);
        if (it == relid_to_table_.end()) continue;
        ctx_.log->Warn("postgres cdc: TRUNCATE of " + tables_[it->second].qualified +
                       " is not applied to the sink (truncate the target yourself, or reset the pipeline to copy the table again)",
                       {{"lsn", txn_lsn_text_}});
      }
      return Status::OK();
    default:
      return Status::OK();
  }
}

// ---- factory and drop-slot ----

Result<std::unique_ptr<Source>> MakeCdcSource(const ConnectorContext& ctx, const ConfigNode& block) {
  auto s = std::make_unique<CdcSource>(ctx, block);
  RETURN_IF_ERROR(s->Init());
  return std::unique_ptr<Source>(std::move(s));
}

}  // namespace sluice::pgsrc

namespace sluice {

Status DropPostgresCdcSlot(const ConfigNode& source_block, const std::string& pipeline, const std::string& base_dir,
                           bool publication, std::string* message) {
  Options opts(&source_block, &pgsrc::PostgresSourceOptions());
  ASSIGN_OR_RETURN(pg::PgConnOptions conn_opts, pg::ParsePgConnOptions(opts, source_block, base_dir));
  std::string slot = opts.GetString("slot");
  if (slot.empty()) slot = pgsrc::DefaultName(pipeline);
  std::string pub = opts.GetString("publication");
  if (pub.empty()) pub = pgsrc::DefaultName(pipeline);
  ASSIGN_OR_RETURN(auto conn, pg::PgConn::Connect(conn_opts));
  ASSIGN_OR_RETURN(pg::PgResult r, conn->Query("SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", {slot}));
  std::vector<std::string> done;
  if (r.rows() == 0) {
    if (!publication) return Status::NotFound("replication slot " + slot + " does not exist");
  } else {
    if (!r.IsNull(0, 0)) {
      return Status::Permanent("replication slot " + slot + " is in use by process " + std::string(r.Get(0, 0)) +
                               "; stop the pipeline first");
    }
    RETURN_IF_ERROR(conn->Query("SELECT pg_drop_replication_slot($1)", {slot}).status());
    done.push_back("dropped replication slot " + slot);
  }
  if (publication) {
    ASSIGN_OR_RETURN(pg::PgResult p, conn->Query("SELECT 1 FROM pg_publication WHERE pubname = $1", {pub}));
    if (p.rows() > 0) {
      RETURN_IF_ERROR(conn->Exec("DROP PUBLICATION " + pg::QuoteIdent(pub)));
      done.push_back("dropped publication " + pub);
    }
  }
  *message = done.empty() ? "nothing to drop" : Join(done, "; ");
  return Status::OK();
}

}  // namespace sluice
