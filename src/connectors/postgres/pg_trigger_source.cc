// mode: trigger of the `postgres` source. For a server where sluice may not use logical
// replication, the source installs, per captured table T in schema S:
//   S._sluice_log_T        the change log: seq (bigserial), txid (txid_current() of the writer),
//                          op (c/u/d, or t for a TRUNCATE), at (clock_timestamp()), after and
//                          before (the whole row as jsonb); primary key (txid, seq)
//   S._sluice_capture_T()  a plpgsql trigger function, SECURITY DEFINER, that logs NEW / OLD
//   _sluice_capture        AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW on T
//   _sluice_truncate       AFTER TRUNCATE ... FOR EACH STATEMENT on T (logs a 't' marker)
// A key-changing update is logged as a delete of the old key and an insert of the new one.
// Rows are kept as jsonb so that an added column never makes a writer's statement fail.
//
// Reading: transaction snapshots, not sequence numbers. Sequence values and txids are handed out
// in statement order, not commit order: a reader of "seq above my checkpoint" steps over a change
// whose transaction commits late. Instead a position is a txid_snapshot S (xmin:xmax:xip). A pass
// runs in one REPEATABLE READ transaction whose own snapshot S' (txid_current_snapshot() in it is
// the transaction snapshot) decides everything: it sees the log rows of the transactions visible
// in S', and reads those NOT visible in S. The transactions visible in S were read by the passes
// before, so every committed change is read once, by the first pass whose snapshot sees it, and
// a transaction's rows all at once (a commit group ends on whole source transactions). Within a
// pass, rows are applied in seq order: two writes to one key are serialized by the row lock (or
// the unique index), and the second takes its seq only after the first committed, so seq order
// is correct per key. A pass's rows go out with boundary=false, then the position {"snapshot":
// S'} of every table (key "trigger") with flush: the checkpoint commits with the rows in the sink.
//
// Snapshot (a table without a position: first run, `sluice state reset`): the install commits
// first (CREATE TRIGGER waits for every transaction writing the table, so all writes without the
// trigger are committed before it); the next pass then copies the table as op 'r' in its own
// snapshot S' and takes S' as the position. A write not visible in S' went through the trigger
// and is read later; a write visible in S' is in the copy. Nothing is copied into the log, so a
// big table costs no extra writes or WAL; the copy is one commit group (a kill restarts it in a
// new snapshot, which is just as consistent).
//
// Column changes: the position stores the column list. A table whose columns changed stops the
// pass with a transient error; the retried Open sees the difference, reads the log up to a new
// snapshot and then copies the table again in that snapshot, so the replica ends up exact.
// A renamed or dropped table, missing triggers or a TRUNCATE stop the source with the fix.
//
// Threading: Open, DescribePlan, Run and Uninstall on the source thread; OnCommitted on the sink
// thread (it only stores the acknowledged snapshots under a mutex).

#include "connectors/postgres/pg_trigger_source.h"

#include <libpq-fe.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "connectors/postgres/pg_source_internal.h"
#include "connectors/sql/table_patterns.h"
#include "core/log.h"
#include "core/strings.h"

namespace sluice::pgsrc {
namespace {

constexpr char kPositionKey[] = "trigger";
constexpr char kCaptureTrigger[] = "_sluice_capture";
constexpr char kTruncateTrigger[] = "_sluice_truncate";
constexpr size_t kMaxIdent = 63;  // NAMEDATALEN - 1

// `prefix` + `name`, shortened to an identifier PostgreSQL keeps whole: a long name is cut (on a
// UTF-8 boundary) and ends with a hash of the full one, so two long names do not collide.
std::string DerivedName(const std::string& prefix, const std::string& name) {
  const std::string whole = prefix + name;
  if (whole.size() <= kMaxIdent) return whole;
  uint32_t h = 2166136261u;
  for (unsigned char c : name) h = (h ^ c) * 16777619u;
  char hex[16];
  std::snprintf(hex, sizeof hex, "_%08x", h);
  size_t keep = kMaxIdent - prefix.size() - 9;
  while (keep > 0 && (static_cast<unsigned char>(name[keep]) & 0xC0) == 0x80) --keep;
  return prefix + name.substr(0, keep) + hex;
}

// A txid_snapshot's text: "xmin:xmax:xip,xip".
bool ValidSnapshot(const std::string& s) {
  int colons = 0;
  for (char c : s) {
    if (c == ':')
      ++colons;
    else if (!(c >= '0' && c <= '9') && c != ',')
      return false;
  }
  return colons == 2 && s.size() >= 4;
}

int64_t BeInt64(std::string_view v) {
  if (v.size() != 8) return 0;
  uint64_t x = 0;
  for (unsigned char c : v) x = (x << 8) | c;
  return static_cast<int64_t>(x);
}

enum class Capture { kMissing, kCurrent, kStale, kBroken };

struct TrigTable {
  std::string stream;  // as configured
  std::string nspname, relname, qualified;
  unsigned relid = 0;
  char relkind = 'r';
  std::string log, fn;  // unquoted names, in nspname
  std::vector<PgColumn> cols;
  std::vector<std::string> key;
  std::vector<int> key_idx;
  SchemaPtr schema;
  std::string columns_sig;             // "name type, ..." as format_type() spells them
  std::vector<unsigned> result_types;  // the type OIDs a read of SelectList() returns
  Capture capture = Capture::kMissing;
  std::string capture_why;          // for kBroken
  std::optional<std::string> prev;  // the committed snapshot: changes not visible in it are new
  bool recopy = false;              // read the log, then copy the table again (columns changed)

  std::string Log() const { return QuoteIdent(nspname) + "." + QuoteIdent(log); }
  std::string Fn() const { return QuoteIdent(nspname) + "." + QuoteIdent(fn); }

  std::string FunctionBody() const {
    std::string same_key;
    for (const auto& k : key) {
      // Compared as text: 1.0 -> 1.00 or 'a' -> 'A' under a case-blind type is a new key for the
      // replica.
      same_key += std::string(same_key.empty() ? "" : " AND ") + "(OLD." + QuoteIdent(k) +
                  ")::text IS NOT DISTINCT FROM (NEW." + QuoteIdent(k) + ")::text";
    }
    const std::string ins = "    INSERT INTO " + Log();
    return "\nBEGIN\n"
           "  IF TG_OP = 'INSERT' THEN\n" +
           ins +
           " (op, after) VALUES ('c', to_jsonb(NEW));\n"
           "  ELSIF TG_OP = 'UPDATE' THEN\n"
           "    IF " +
           same_key + " THEN\n  " + ins +
           " (op, after, before) VALUES ('u', to_jsonb(NEW), to_jsonb(OLD));\n"
           "    ELSE\n  " +
           ins + " (op, before) VALUES ('d', to_jsonb(OLD));\n  " + ins +
           " (op, after) VALUES ('c', to_jsonb(NEW));\n"
           "    END IF;\n"
           "  ELSIF TG_OP = 'DELETE' THEN\n" +
           ins +
           " (op, before) VALUES ('d', to_jsonb(OLD));\n"
           "  ELSE\n" +
           ins +
           " (op) VALUES ('t');\n"
           "  END IF;\n"
           "  RETURN NULL;\n"
           "END\n";
  }

  // The statements that install capture, in order (one transaction). `reinstall` first drops the
  // triggers (which needs the table's owner).
  std::vector<std::string> InstallDdl(bool reinstall) const {
    const std::string body = FunctionBody();
    std::string tag = "$sluice$";
    for (int i = 0; body.find(tag) != std::string::npos; ++i)
      tag = "$sluice" + std::to_string(i) + "$";
    std::vector<std::string> out = {
        "CREATE TABLE IF NOT EXISTS " + Log() +
            " (seq bigserial NOT NULL, txid bigint NOT NULL DEFAULT txid_current(), op text NOT "
            "NULL, "
            "at timestamptz NOT NULL DEFAULT clock_timestamp(), after jsonb, before jsonb, PRIMARY "
            "KEY (txid, seq))",
        "CREATE OR REPLACE FUNCTION " + Fn() +
            "() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, "
            "pg_temp AS " +
            tag + body + tag,
    };
    if (reinstall) {
      out.push_back(std::string("DROP TRIGGER IF EXISTS ") + kCaptureTrigger + " ON " + qualified);
      out.push_back(std::string("DROP TRIGGER IF EXISTS ") + kTruncateTrigger + " ON " + qualified);
    }
    out.push_back(std::string("CREATE TRIGGER ") + kCaptureTrigger +
                  " AFTER INSERT OR UPDATE OR DELETE ON " + qualified +
                  " FOR EACH ROW EXECUTE FUNCTION " + Fn() + "()");
    out.push_back(std::string("CREATE TRIGGER ") + kTruncateTrigger + " AFTER TRUNCATE ON " +
                  qualified + " FOR EACH STATEMENT EXECUTE FUNCTION " + Fn() + "()");
    return out;
  }
  std::string SelectList(const std::string& qualifier) const {
    std::string s;
    for (size_t i = 0; i < cols.size(); ++i) s += (i ? ", " : "") + cols[i].SelectExpr(qualifier);
    return s;
  }
};

class PgTriggerSource final : public Source {
 public:
  PgTriggerSource(ConnectorContext ctx, const ConfigNode& block)
      : ctx_(std::move(ctx)), block_(block), opts_(&block_, &PostgresSourceOptions()) {}

  Status Init() {
    ASSIGN_OR_RETURN(conn_opts_, pg::ParsePgConnOptions(opts_, block_, ctx_.base_dir));
    static const std::set<std::string> kAllowed = {"type",  "dsn",    "tls",           "mode",
                                                   "table", "tables", "poll_interval", "page_size"};
    for (const auto& [k, v] : block_.entries()) {
      if (!kAllowed.count(k))
        return Status::InvalidArgument(v.Where() + ": '" + k + "' does not apply to mode: trigger");
    }
    const ConfigNode* table = block_.Find("table");
    const ConfigNode* tables = block_.Find("tables");
    if (table && tables)
      return Status::InvalidArgument(tables->Where() + ": give either table: or tables:, not both");
    if (table) names_.push_back(opts_.GetString("table"));
    if (tables) names_ = opts_.GetList("tables");
    if (names_.empty()) {
      return Status::InvalidArgument(
          block_.Where() + ": mode: trigger needs tables: (the tables whose changes to capture)");
    }
    if (std::set<std::string>(names_.begin(), names_.end()).size() != names_.size()) {
      return Status::InvalidArgument(block_.Where() + ": a table is listed twice");
    }
    if (opts_.Has("poll_interval")) {
      poll_s_ = opts_.GetSeconds("poll_interval");
      if (poll_s_ <= 0)
        return Status::InvalidArgument(opts_.Node("poll_interval")->Where() + ": must be positive");
    }
    page_size_ = opts_.GetInt("page_size");
    if (page_size_ < 1)
      return Status::InvalidArgument(opts_.Node("page_size")->Where() + ": must be at least 1");
    return Status::OK();
  }

  Status Open(const StateMap& committed) override {
    RETURN_IF_ERROR(Connect());
    RETURN_IF_ERROR(LoadTables(/*uninstalling=*/false));
    for (auto& t : tables_) {
      ctx_.stream_keys->Report(t.stream, t.key);  // a replicate sink without key: uses it
      auto it = committed.find({t.stream, kPositionKey});
      if (it == committed.end()) continue;
      auto j = nlohmann::json::parse(it->second, nullptr, false);
      if (!j.is_object() || !j.contains("snapshot") || !j["snapshot"].is_string() ||
          !ValidSnapshot(j["snapshot"].get<std::string>())) {
        return Status::Corruption("postgres trigger: the checkpoint of " + t.stream +
                                  " is not {\"snapshot\": ...}: " + it->second +
                                  "; `sluice state reset` starts over");
      }
      t.prev = j["snapshot"].get<std::string>();
      const std::string sig =
          j.contains("columns") && j["columns"].is_string() ? j["columns"].get<std::string>() : "";
      if (sig != t.columns_sig) {
        t.recopy = true;
        Info("the columns of a captured table changed: its log is read, then it is copied again",
             {{"table", t.qualified}, {"was", sig}, {"now", t.columns_sig}});
      }
      if (t.capture == Capture::kMissing || t.capture == Capture::kBroken) {
        return Status::Permanent(
            "postgres trigger: " + t.qualified + " has a checkpoint, but " +
            (t.capture == Capture::kMissing
                 ? std::string("its change capture is not installed (removed by `sluice cdc "
                               "uninstall`?)")
                 : t.capture_why) +
            ", so changes may have been missed. To start over: `sluice cdc uninstall`, empty the "
            "replica's table, "
            "`sluice state reset`, then `sluice run` (which installs capture and copies the "
            "table)");
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& t : tables_) {
        if (t.prev) acked_[t.stream] = *t.prev;
      }
    }
    if (ctx_.dry_run) return Status::OK();  // check and --dry-run change nothing
    RETURN_IF_ERROR(Install());
    return TrimAcked();
  }

  Status Run(Emitter& out) override {
    for (const auto& t : tables_) {
      if (t.capture != Capture::kCurrent && t.capture != Capture::kStale)
        return Status::OK();  // dry run, nothing yet
    }
    for (;;) {
      Status st = Pass(out);
      if (st.IsCancelled()) return Status::OK();
      RETURN_IF_ERROR(st);
      if (poll_s_ <= 0 || out.StopRequested()) return Status::OK();
      if (!ctx_.dry_run) RETURN_IF_ERROR(TrimAcked());
      if (!SleepUnlessStopped(out, poll_s_)) return Status::OK();
    }
  }

  void OnCommitted(const std::vector<SourcePosition>& positions) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& p : positions) {
      if (p.key != kPositionKey) continue;
      auto j = nlohmann::json::parse(p.value, nullptr, false);
      if (j.is_object() && j.contains("snapshot") && j["snapshot"].is_string())
        acked_[p.stream] = j["snapshot"].get<std::string>();
    }
  }

  std::vector<std::string> DescribePlan() override;

  Status Uninstall() override {
    RETURN_IF_ERROR(Connect());
    RETURN_IF_ERROR(LoadTables(/*uninstalling=*/true));
    RETURN_IF_ERROR(conn_->Exec("BEGIN"));
    Status st;
    for (const auto& t : tables_) {
      if (st.ok() && t.relid != 0) {
        for (const char* trg : {kCaptureTrigger, kTruncateTrigger}) {
          if (st.ok())
            st = conn_->Exec(std::string("DROP TRIGGER IF EXISTS ") + trg + " ON " + t.qualified);
        }
      }
      // CASCADE: the triggers of a table renamed since (no longer found by its name) go too.
      if (st.ok()) st = conn_->Exec("DROP FUNCTION IF EXISTS " + t.Fn() + "() CASCADE");
      if (st.ok()) st = conn_->Exec("DROP TABLE IF EXISTS " + t.Log());
      if (st.ok()) Info("removed change capture", {{"table", t.qualified}});
    }
    if (st.ok()) return conn_->Exec("COMMIT");
    (void)conn_->Exec("ROLLBACK");
    return st.WithContext(
        "postgres trigger: removing change capture (dropping triggers needs the table's owner)");
  }

 private:
  void Info(const std::string& msg, const Logger::Fields& f) {
    if (ctx_.log) ctx_.log->Info("postgres trigger: " + msg, f);
  }

  Status Connect() {
    if (conn_) return Status::OK();
    ASSIGN_OR_RETURN(conn_, PgConn::Connect(conn_opts_));
    ASSIGN_OR_RETURN(PgResult db, conn_->Query("SELECT current_database()"));
    database_ = db.rows() ? std::string(db.Get(0, 0)) : "";
    return conn_->Exec(
        "SET DateStyle = ISO; SET TimeZone = 'UTC'; SET extra_float_digits = 3; "
        "SET bytea_output = hex; SET IntervalStyle = postgres");
  }

  std::optional<DataType> Declared(const std::string& stream, const std::string& column) const {
    return DeclaredType(ctx_, stream, column, names_.size() <= 1);
  }

  Status ExpandPatterns(std::vector<std::string>* names) {
    if (!sql::AnyTablePattern(*names)) return Status::OK();
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Query("SELECT n.nspname, c.relname, current_schema() FROM pg_catalog.pg_class c "
                     "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                     "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', "
                     "'information_schema') "
                     "AND n.nspname NOT LIKE 'pg\\_%' AND NOT c.relispartition AND c.relname NOT "
                     "LIKE '\\_sluice\\_%' ORDER BY 1, 2"));
    std::vector<sql::CatalogTable> catalog;
    std::string default_schema = "public";
    for (int i = 0; i < r.rows(); ++i) {
      catalog.push_back({std::string(r.Get(i, 0)), std::string(r.Get(i, 1))});
      if (!r.IsNull(i, 2)) default_schema = std::string(r.Get(i, 2));
    }
    ASSIGN_OR_RETURN(*names, sql::ExpandTablePatterns(*names, catalog, default_schema,
                                                      "postgres source tables:"));
    return Status::OK();
  }

  // Reads every table's columns, key and capture state. Uninstalling, a table that no longer
  // exists still names its log and function (in its configured schema, else the current one).
  Status LoadTables(bool uninstalling) {
    tables_.clear();
    std::vector<std::string> names = names_;
    RETURN_IF_ERROR(ExpandPatterns(&names));
    for (const auto& name : names) {
      TrigTable t;
      t.stream = name;
      auto rel = ResolveRelation(*conn_, name);
      if (!rel.ok()) {
        if (!uninstalling) return RelationMissing(name, rel.status());
        auto [schema, table] = pg::SplitQualifiedName(name);
        if (schema.empty()) {
          ASSIGN_OR_RETURN(PgResult r, conn_->Query("SELECT current_schema()"));
          schema = r.rows() ? std::string(r.Get(0, 0)) : "public";
        }
        t.nspname = schema;
        t.relname = table;
        t.qualified = QuoteIdent(schema) + "." + QuoteIdent(table);
        t.log = DerivedName("_sluice_log_", table);
        t.fn = DerivedName("_sluice_capture_", table);
        tables_.push_back(std::move(t));
        continue;
      }
      if (rel->relkind != 'r' && rel->relkind != 'p') {
        return Status::InvalidArgument(block_.Where() + ": " + name + " is not a table (relkind " +
                                       std::string(1, rel->relkind) +
                                       "); mode: trigger captures tables");
      }
      t.relid = rel->relid;
      t.relkind = rel->relkind;
      t.nspname = rel->nspname;
      t.relname = rel->relname;
      t.qualified = QuoteIdent(t.nspname) + "." + QuoteIdent(t.relname);
      t.log = DerivedName("_sluice_log_", t.relname);
      t.fn = DerivedName("_sluice_capture_", t.relname);
      if (uninstalling) {
        tables_.push_back(std::move(t));
        continue;
      }
      RETURN_IF_ERROR(PlanTable(t));
      RETURN_IF_ERROR(ReadCapture(t));
      tables_.push_back(std::move(t));
    }
    return Status::OK();
  }

  // A configured table that is not there: renamed or dropped while captured, or never created.
  Status RelationMissing(const std::string& name, const Status& why) {
    auto [schema, table] = pg::SplitQualifiedName(name);
    auto log = conn_->Query(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
        "c.relname = $1 "
        "AND ($2 = '' OR n.nspname = $2)",
        {DerivedName("_sluice_log_", table), schema});
    if (log.ok() && log->rows() > 0) {
      return Status::Permanent(
          "postgres trigger: table " + JsonQuote(name) +
          " no longer exists, but its change log does: it was renamed or dropped while "
          "captured (a renamed table keeps its triggers, which keep logging). Remove the "
          "capture with `sluice cdc uninstall` on this pipeline, then name the table as it is "
          "now, `sluice state reset` and run again (the table is copied anew)");
    }
    return why;
  }

  Status PlanTable(TrigTable& t) {
    ASSIGN_OR_RETURN(std::vector<CatalogColumn> catalog, ReadColumns(*conn_, t.relid));
    ASSIGN_OR_RETURN(t.key, ReadPrimaryKey(*conn_, t.relid));
    if (t.key.empty()) {
      return Status::InvalidArgument(block_.Where() + ": " + t.stream +
                                     " has no primary key, so its changes cannot be "
                                     "applied by key; mode: trigger needs a PRIMARY KEY");
    }
    std::vector<unsigned> oids;
    for (const auto& c : catalog) oids.push_back(c.type_oid);
    ASSIGN_OR_RETURN(auto types, ResolveTypes(*conn_, oids));
    Schema schema;
    std::vector<std::string> sig;
    for (const auto& c : catalog) {
      PgTypeInfo ti = types[c.type_oid];
      if (ti.typmod < 0) ti.typmod = c.typmod;
      ASSIGN_OR_RETURN(PgColumn col, pg::PlanColumn(c.name, ti, Declared(t.stream, c.name)));
      col.nullable = !c.notnull;
      schema.AddField({col.name, col.type, col.nullable});
      t.cols.push_back(std::move(col));
      sig.push_back(c.name + " " + c.sql_type);
    }
    for (const auto& k : t.key) {
      for (size_t i = 0; i < t.cols.size(); ++i) {
        if (t.cols[i].name == k) t.key_idx.push_back(static_cast<int>(i));
      }
    }
    t.columns_sig = Join(sig, ", ");
    t.schema = std::make_shared<Schema>(std::move(schema));
    // What a read returns for these columns: a type changed under a read (ALTER COLUMN TYPE
    // between the check and the query) is then caught before a value is decoded as the old type.
    ASSIGN_OR_RETURN(PgResult probe, QueryBinary(*conn_, "SELECT " + t.SelectList("r.") +
                                                             " FROM jsonb_populate_record(NULL::" +
                                                             t.qualified + ", '{}') r"));
    for (int c = 0; c < probe.cols(); ++c) t.result_types.push_back(probe.ColumnType(c));
    return Status::OK();
  }

  // The columns of `t` now, as in columns_sig.
  Result<std::string> ColumnsNow(const TrigTable& t) {
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Query("SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), "
                     "', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = $1 AND "
                     "attnum > 0 AND NOT attisdropped",
                     {std::to_string(t.relid)}));
    return r.rows() && !r.IsNull(0, 0) ? std::string(r.Get(0, 0)) : std::string();
  }

  // Whether the log, the function (with the body this key needs) and both triggers exist.
  Status ReadCapture(TrigTable& t) {
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Query(
            "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'r'), "
            "       (SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "        WHERE n.nspname = $1 AND p.proname = $3 AND p.pronargs = 0), "
            "       (SELECT count(*) FROM pg_trigger WHERE tgrelid = $4 AND tgname IN ($5, $6) AND "
            "tgenabled IN ('O', 'A'))",
            {t.nspname, t.log, t.fn, std::to_string(t.relid), std::string(kCaptureTrigger),
             std::string(kTruncateTrigger)}));
    const bool log = r.Get(0, 0) != "0";
    const bool fn = !r.IsNull(0, 1);
    const std::string triggers(r.Get(0, 2));
    if (!log && !fn && triggers == "0") {
      t.capture = Capture::kMissing;
    } else if (!log || !fn || triggers != "2") {
      t.capture = Capture::kBroken;
      t.capture_why =
          !log  ? "its change log " + t.Log() + " is missing"
          : !fn ? "its trigger function " + t.Fn() + "() is missing"
                : "only " + triggers + " of its 2 capture triggers exist (or one is disabled)";
    } else {
      t.capture = r.Get(0, 1) == t.FunctionBody() ? Capture::kCurrent : Capture::kStale;
    }
    return Status::OK();
  }

  // Installs what is missing (and rewrites a function whose key compare is out of date), every
  // table in one transaction. A broken capture of a table without a checkpoint is reinstalled:
  // its first pass copies the table anyway.
  Status Install() {
    bool any = false;
    for (const auto& t : tables_) any = any || t.capture != Capture::kCurrent;
    if (!any) return Status::OK();
    RETURN_IF_ERROR(conn_->Exec("BEGIN"));
    // CREATE TRIGGER waits for the transactions writing the table, and new writers queue behind
    // it: give up (and retry, a transient error) rather than stall the application for long.
    Status st = conn_->Exec("SET LOCAL lock_timeout = '10s'");
    for (auto& t : tables_) {
      if (!st.ok()) break;
      if (t.capture == Capture::kCurrent) continue;
      const bool reinstall = t.capture != Capture::kMissing;
      for (const auto& ddl : t.InstallDdl(reinstall)) {
        if (st.ok()) st = conn_->Exec(ddl);
      }
      if (st.ok()) {
        Info(reinstall ? "reinstalled change capture" : "installed change capture",
             {{"table", t.qualified}, {"log", t.Log()}});
      }
    }
    if (st.ok()) st = conn_->Exec("COMMIT");
    if (!st.ok()) {
      (void)conn_->Exec("ROLLBACK");
      return st.WithContext(
          "postgres trigger: installing change capture (see `sluice check` for the privileges)");
    }
    for (auto& t : tables_) t.capture = Capture::kCurrent;
    return Status::OK();
  }

  // Deletes the log rows of transactions the sink holds (visible in the acknowledged snapshot).
  Status TrimAcked() {
    std::map<std::string, std::string> acked;
    {
      std::lock_guard<std::mutex> lock(mu_);
      acked = acked_;
    }
    for (const auto& t : tables_) {
      auto it = acked.find(t.stream);
      if (it == acked.end() || trimmed_[t.stream] == it->second) continue;
      const std::string snap = pg::QuoteLiteral(it->second) + "::txid_snapshot";
      RETURN_IF_ERROR(conn_->Exec("DELETE FROM " + t.Log() + " WHERE txid < txid_snapshot_xmax(" +
                                  snap + ") AND txid_visible_in_snapshot(txid, " + snap + ")"));
      trimmed_[t.stream] = it->second;
    }
    return Status::OK();
  }

  // Stops when a table was renamed, lost a trigger or changed its columns since Open.
  Status CheckTables() {
    for (const auto& t : tables_) {
      ASSIGN_OR_RETURN(PgResult r,
                       conn_->Query("SELECT n.nspname, c.relname, (SELECT count(*) FROM pg_trigger "
                                    "WHERE tgrelid = c.oid AND tgname IN ($2, $3) "
                                    "AND tgenabled IN ('O', 'A')) FROM pg_class c JOIN "
                                    "pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
                                    {std::to_string(t.relid), std::string(kCaptureTrigger),
                                     std::string(kTruncateTrigger)}));
      if (r.rows() == 0) {
        return Status::Permanent("postgres trigger: table " + t.qualified +
                                 " was dropped while captured");
      }
      if (r.Get(0, 0) != t.nspname || r.Get(0, 1) != t.relname) {
        return Status::Permanent(
            "postgres trigger: table " + t.qualified + " was renamed to " +
            QuoteIdent(r.Get(0, 0)) + "." + QuoteIdent(r.Get(0, 1)) +
            " while captured; its triggers follow it. Run `sluice cdc uninstall`, name the table "
            "as it is now, `sluice state reset` and run again (the table is copied anew)");
      }
      if (r.Get(0, 2) != "2") {
        return Status::Permanent(
            "postgres trigger: a capture trigger of " + t.qualified +
            " was dropped or disabled while captured; changes may have been missed. Run `sluice "
            "cdc uninstall`, empty the replica's table, `sluice state reset` and run again");
      }
      ASSIGN_OR_RETURN(std::string now, ColumnsNow(t));
      if (now != t.columns_sig) {
        // Transient: the retried run opens anew, reads the log and copies the table again.
        return Status::Transient("postgres trigger: the columns of " + t.qualified +
                                 " changed (now: " + now + "); reopening to read them");
      }
    }
    return Status::OK();
  }

  // One pass: one REPEATABLE READ transaction; see the comment at the top.
  Status Pass(Emitter& out) {
    RETURN_IF_ERROR(CheckTables());
    RETURN_IF_ERROR(conn_->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
    Status st = PassInTransaction(out);
    Status end = conn_->Exec(st.ok() ? "COMMIT" : "ROLLBACK");
    return st.ok() ? end : st;
  }

  Status PassInTransaction(Emitter& out) {
    ASSIGN_OR_RETURN(PgResult snap_res, conn_->Query("SELECT txid_current_snapshot()::text"));
    const std::string snap(snap_res.Get(0, 0));
    int64_t rows = 0;
    bool copied = false;
    for (auto& t : tables_) {
      if (t.prev) RETURN_IF_ERROR(ReadLog(t, snap, out, &rows));
      if (!t.prev || t.recopy) {
        RETURN_IF_ERROR(CopyTable(t, snap, out, &rows));
        copied = true;
      }
    }
    if (rows == 0 && !copied) return Status::OK();  // nothing new: the position stays where it is
    // A column added during the pass would have changed what was read: check once more.
    RETURN_IF_ERROR(CheckTables());
    Envelope env;
    for (const auto& t : tables_) {
      env.positions.push_back(
          {t.stream, kPositionKey,
           nlohmann::json{{"snapshot", snap}, {"columns", t.columns_sig}}.dump()});
    }
    env.bytes_in = pending_bytes_;
    pending_bytes_ = 0;
    env.flush = true;
    RETURN_IF_ERROR(out.Emit(std::move(env)));
    for (auto& t : tables_) {
      t.prev = snap;
      t.recopy = false;
    }
    return Status::OK();
  }

  Status CopyTable(TrigTable& t, const std::string& snap, Emitter& out, int64_t* rows) {
    Info("copying a table (op r)", {{"table", t.qualified}, {"snapshot", snap}});
    return ReadCursor(t, "SELECT " + t.SelectList("t.") + " FROM " + t.qualified + " t",
                      /*meta=*/false, snap, out, rows);
  }

  Status ReadLog(TrigTable& t, const std::string& snap, Emitter& out, int64_t* rows) {
    const std::string prev = pg::QuoteLiteral(*t.prev) + "::txid_snapshot";
    // The row type of the table now: columns the logged row lacks come back NULL.
    const std::string sql =
        "SELECT " + t.SelectList("r.") +
        ", l.seq, l.txid, l.op, (extract(epoch FROM l.at) * 1000000)::int8, l.before::text FROM " +
        t.Log() + " l LEFT JOIN LATERAL jsonb_populate_record(NULL::" + t.qualified +
        ", coalesce(l.after, l.before)) r ON true WHERE l.txid >= txid_snapshot_xmin(" + prev +
        ") AND NOT txid_visible_in_snapshot(l.txid, " + prev + ") ORDER BY l.seq";
    return ReadCursor(t, sql, /*meta=*/true, snap, out, rows);
  }

  // Runs `sql` through a cursor, page by page, and emits its rows as changes of `t` (op r when
  // `meta` is false; else the log's op, seq, txid, time and before image follow the columns).
  Status ReadCursor(TrigTable& t, const std::string& sql, bool meta, const std::string& snap,
                    Emitter& out, int64_t* rows) {
    RETURN_IF_ERROR(conn_->Exec("DECLARE sluice_trigger_read NO SCROLL CURSOR FOR " + sql));
    const size_t n = t.cols.size();
    const int want = static_cast<int>(n) + (meta ? 5 : 0);
    RecordBatchBuilder builder(t.schema);
    std::vector<char> ops;
    std::vector<RecordBatch::ChangeSource> changes;
    std::vector<RejectedRow> rejects;
    int64_t ordinal = 0;
    auto flush = [&]() -> Status {
      if (builder.num_rows() == 0 && rejects.empty()) return Status::OK();
      Envelope env;
      if (builder.num_rows() > 0) {
        auto batch = std::const_pointer_cast<RecordBatch>(
            builder.Finish(t.stream, t.nspname + "." + t.relname));
        batch->ops = std::move(ops);
        batch->changes = std::move(changes);
        batch->source_db = database_;  // as mode: cdc fills them
        batch->source_table = t.nspname + "." + t.relname;
        env.batch = std::move(batch);
      }
      ops.clear();
      changes.clear();
      env.rejects = std::move(rejects);
      rejects.clear();
      env.boundary = false;  // the group ends with the pass, on whole source transactions
      return out.Emit(std::move(env));
    };
    std::string why;
    for (;;) {
      if (out.StopRequested()) return Status::Cancelled("stopped during a pass");
      ASSIGN_OR_RETURN(PgResult res,
                       QueryBinary(*conn_, "FETCH FORWARD " + std::to_string(page_size_) +
                                               " FROM sluice_trigger_read"));
      bool same = res.cols() == want;
      for (size_t c = 0; same && c < n; ++c)
        same = res.ColumnType(static_cast<int>(c)) == t.result_types[c];
      if (!same)
        return Status::Transient("postgres trigger: the columns of " + t.qualified +
                                 " changed during a read");
      const PGresult* raw = res.raw();
      for (int r = 0; r < res.rows(); ++r) {
        auto val = [&](int c) {
          return std::string_view(PQgetvalue(raw, r, c),
                                  static_cast<size_t>(PQgetlength(raw, r, c)));
        };
        RecordBatch::ChangeSource change;
        char op = 'r';
        if (meta) {
          const int m = static_cast<int>(n);
          const int64_t seq = BeInt64(val(m));
          const std::string_view op_text = val(m + 2);
          op = op_text.empty() ? 'c' : op_text[0];
          if (op == 't') {
            return Status::Permanent("postgres trigger: " + t.qualified +
                                     " was truncated (TRUNCATE deletes rows without row triggers, "
                                     "so the replica cannot follow). Empty "
                                     "the replica's table, `sluice state reset`, then run again "
                                     "(the table is copied anew)");
          }
          change.position = std::to_string(seq);
          change.txid = BeInt64(val(m + 1));
          change.commit_us = BeInt64(val(m + 3));
          if (!PQgetisnull(raw, r, m + 4)) change.before = std::string(val(m + 4));
          ordinal = seq;
        } else {
          change.position = snap;
          ++ordinal;
        }
        size_t bad = n;
        for (size_t c = 0; c < n && bad == n; ++c) {
          const int ci = static_cast<int>(c);
          if (PQgetisnull(raw, r, ci)) {
            builder.column(c).AppendNull();
            continue;
          }
          pending_bytes_ += static_cast<uint64_t>(PQgetlength(raw, r, ci));
          if (!pg::DecodeValue(t.cols[c].wire, t.cols[c].type, val(ci), builder.column(c), &why))
            bad = c;
        }
        if (bad == n) {
          builder.CommitRow(ordinal);
          ops.push_back(op);
          changes.push_back(std::move(change));
        } else {
          builder.RollbackRow();
          rejects.push_back(Reject(t, raw, r, bad, why, meta ? "change " + change.position : ""));
        }
        ++*rows;
        if (builder.Full() || rejects.size() >= 10000) RETURN_IF_ERROR(flush());
      }
      if (res.rows() < page_size_) break;
    }
    RETURN_IF_ERROR(flush());
    return conn_->Exec("CLOSE sluice_trigger_read");
  }

  // A row whose value does not fit its column's type: quarantined, with every value as text.
  RejectedRow Reject(const TrigTable& t, const PGresult* raw, int r, size_t bad,
                     const std::string& why, const std::string& change) {
    std::vector<std::optional<std::string_view>> values;
    for (size_t c = 0; c < t.cols.size(); ++c) {
      const int ci = static_cast<int>(c);
      if (PQgetisnull(raw, r, ci))
        values.emplace_back(std::nullopt);
      else
        values.emplace_back(
            std::string_view(PQgetvalue(raw, r, ci), static_cast<size_t>(PQgetlength(raw, r, ci))));
    }
    RejectedRow rej;
    rej.stream = t.stream;
    rej.raw = pg::RowText(t.cols, values);
    rej.rule = "type";
    rej.column = t.cols[bad].name;
    rej.reason = "column '" + t.cols[bad].name + "' (" + t.cols[bad].pg.name + " -> " +
                 t.cols[bad].type.ToString() + "): " + why;
    std::string keys = "[";
    for (size_t k = 0; k < t.key_idx.size(); ++k) {
      const auto i = static_cast<size_t>(t.key_idx[k]);
      if (k) keys += ',';
      if (!values[i])
        keys += "null";
      else
        AppendJsonString(keys, pg::ValueText(t.cols[i].wire, *values[i]));
    }
    keys += ']';
    const std::string unit = t.nspname + "." + t.relname;
    rej.origin = unit + (change.empty() ? " key " + keys : " " + change);
    rej.position_key = unit + "#" + (change.empty() ? keys : change);
    return rej;
  }

  ConnectorContext ctx_;
  ConfigNode block_;
  Options opts_;
  pg::PgConnOptions conn_opts_;
  std::vector<std::string> names_;
  double poll_s_ = 0;
  int64_t page_size_ = 10000;
  std::unique_ptr<PgConn> conn_;
  std::string database_;
  std::vector<TrigTable> tables_;
  uint64_t pending_bytes_ = 0;
  std::map<std::string, std::string> trimmed_;  // stream -> snapshot the log was trimmed to
  std::mutex mu_;
  std::map<std::string, std::string> acked_;  // stream -> committed snapshot (OnCommitted)
};

std::vector<std::string> PgTriggerSource::DescribePlan() {
  std::vector<std::string> lines;
  lines.push_back("postgres " + pg::DescribeDsn(conn_opts_.dsn) +
                  ", mode trigger: change capture by triggers, read by transaction snapshot");
  if (!conn_) return lines;
  std::set<std::string> schemas;
  for (const auto& t : tables_) {
    schemas.insert(t.nspname);
    lines.push_back("table " + t.stream + ": key (" + Join(t.key, ", ") + "), " +
                    std::to_string(t.cols.size()) + " columns, log " + t.Log() +
                    (t.prev ? ", after snapshot " + *t.prev
                            : ", no checkpoint: the first pass copies the table (op r)"));
    if (t.recopy)
      lines.push_back(
          "  its columns changed since the checkpoint: the log is read, then the table is copied "
          "again");
    if (t.capture == Capture::kCurrent) {
      lines.push_back("  capture installed");
      continue;
    }
    if (t.capture == Capture::kBroken) lines.push_back("  capture is broken: " + t.capture_why);
    lines.push_back(t.capture == Capture::kMissing
                        ? "  not installed yet; `sluice run` runs this in one transaction (`sluice "
                          "cdc uninstall` removes it):"
                        : "  out of date; `sluice run` reinstalls it in one transaction:");
    for (const auto& ddl : t.InstallDdl(t.capture != Capture::kMissing))
      lines.push_back("    " + ddl + ";");
  }
  std::string user = "USER";
  if (auto r = conn_->Query("SELECT current_user"); r.ok() && r->rows())
    user = QuoteIdent(r->Get(0, 0));
  lines.push_back(
      "privileges needed (as the user that runs sluice; the trigger function runs with its "
      "rights):");
  for (const auto& s : schemas)
    lines.push_back("  GRANT USAGE, CREATE ON SCHEMA " + QuoteIdent(s) + " TO " + user + ";");
  for (const auto& t : tables_) {
    lines.push_back("  GRANT SELECT, TRIGGER ON " + t.qualified + " TO " + user + ";" +
                    (t.relkind == 'p'
                         ? "  -- and on each of its partitions (the row trigger is cloned to them)"
                         : ""));
  }
  lines.push_back(
      "  dropping the triggers (`sluice cdc uninstall`, a reinstall) needs the table's owner: run "
      "it as "
      "the owner, or GRANT <owner role> TO " +
      user + ";");
  return lines;
}

}  // namespace

Result<std::unique_ptr<Source>> MakeTriggerSource(const ConnectorContext& ctx,
                                                  const ConfigNode& block) {
  auto s = std::make_unique<PgTriggerSource>(ctx, block);
  RETURN_IF_ERROR(s->Init());
  return std::unique_ptr<Source>(std::move(s));
}

}  // namespace sluice::pgsrc
