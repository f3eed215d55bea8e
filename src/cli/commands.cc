#include "cli/commands.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "config/pipeline_config.h"
#include "connectors/connector.h"
#include "connectors/file/file_source.h"
#include "core/strings.h"
#include "core/values.h"
#include "quality/contract.h"
#include "quality/pii/detect.h"
#include "quality/quarantine.h"
#include "quality/report.h"
#include "quality/replay.h"
#include "runtime/pipeline.h"
#include "state/state_store.h"

namespace sluice {

namespace {

// The logger that error reports go through: JSON lines under --log-format json.
Logger* g_log = nullptr;

void ReportError(const std::string& msg) {
  if (g_log && g_log->json()) {
    g_log->Error(msg);
  } else {
    std::fprintf(stderr, "sluice: %s\n", msg.c_str());
  }
}

// Loads a pipeline; on error prints it and yields exit code 2.
bool Load(const std::string& path, PipelineConfig* cfg, Logger& log) {
  auto r = LoadPipeline(path, BuiltinConnectors());
  if (!r.ok()) {
    ReportError("config error: " + r.status().message());
    return false;
  }
  *cfg = std::move(r).value();
  return true;
}

ConnectorContext MakeContext(const PipelineConfig& cfg, StateStore* state, Logger& log) {
  return MakeConnectorContext(cfg, state, &log);
}

// Builds the connectors once without running them: their option errors are config errors.
bool Preflight(const PipelineConfig& cfg, Logger& log) {
  ConnectorContext ctx = MakeContext(cfg, nullptr, log);
  const ConnectorRegistry& reg = BuiltinConnectors();
  auto src = reg.Find("source", cfg.source_type)->make_source(ctx, cfg.source());
  Status st = src.ok() ? Status::OK() : src.status();
  if (st.ok()) {
    auto sink = reg.Find("sink", cfg.sink_type)->make_sink(ctx, cfg.sink());
    if (!sink.ok()) st = sink.status();
  }
  if (st.ok()) return true;
  ReportError("config error: " + st.message());
  return false;
}

int Fail(const Status& st, const char* what) {
  ReportError(std::string(what) + ": " + st.message());
  return st.IsInvalidArgument() ? 2 : 1;
}

}  // namespace

int CmdRun(const std::string& path, bool dry_run, const GlobalFlags& g, Logger& log) {
  g_log = &log;
  PipelineConfig cfg;
  if (!Load(path, &cfg, log)) return 2;
  if (!Preflight(cfg, log)) return 2;
  InstallSignalHandlers();
  RunOptions opts;
  opts.dry_run = dry_run;
  opts.progress = !g.json && isatty(STDERR_FILENO) && g.log_format == "text";
  log.Info(std::string(dry_run ? "dry run of" : "running") + " pipeline " + cfg.name,
           {{"source", cfg.source_type}, {"sink", cfg.sink_type}});
  RunSummary s = RunPipeline(cfg, opts, log);
  if (!s.error.empty()) log.Error("run failed: " + s.error);
  // With the stdout sink, stdout carries the rows: the summary goes to stderr.
  FILE* out = cfg.sink_type == "stdout" ? stderr : stdout;
  if (g.json) {
    std::fprintf(out, "%s\n", SummaryJson(s).c_str());
  } else {
    std::fprintf(out, "%s", SummaryText(s).c_str());
  }
  std::fflush(out);
  return s.ExitCode();
}

int CmdCheck(const std::string& path, const GlobalFlags& g, Logger& log) {
  g_log = &log;
  PipelineConfig cfg;
  if (!Load(path, &cfg, log)) return 2;
  const ConnectorRegistry& reg = BuiltinConnectors();
  auto state = StateStore::Open(cfg.state_path);
  if (!state.ok()) return Fail(state.status(), "state store");
  ConnectorContext ctx = MakeContext(cfg, state->get(), log);
  ctx.dry_run = true;  // check connects and plans, and changes nothing
  auto sink = reg.Find("sink", cfg.sink_type)->make_sink(ctx, cfg.sink());
  if (!sink.ok()) return Fail(sink.status(), "sink");
  Status st = (*sink)->Open();
  if (!st.ok()) return Fail(st, "sink");
  auto committed = (*sink)->LoadState();
  if (!committed.ok()) return Fail(committed.status(), "sink state");
  auto source = reg.Find("source", cfg.source_type)->make_source(ctx, cfg.source());
  if (!source.ok()) return Fail(source.status(), "source");
  st = (*source)->Open(*committed);
  if (!st.ok()) return Fail(st, "source");
  auto plan = (*source)->DescribePlan();
  if (g.json) {
    nlohmann::json j = {{"pipeline", cfg.name}, {"ok", true}, {"source", cfg.source_type},
                        {"sink", (*sink)->Describe()}, {"plan", plan}, {"state", cfg.state_path},
                        {"quarantine", cfg.quarantine_dir}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("pipeline %s: ok\n", cfg.name.c_str());
  std::printf("  source      %s\n", cfg.source_type.c_str());
  for (const auto& l : plan) std::printf("    %s\n", l.c_str());
  std::printf("  sink        %s\n", (*sink)->Describe().c_str());
  std::printf("  state       %s\n", cfg.state_path.c_str());
  std::printf("  quarantine  %s\n", cfg.quarantine_dir.c_str());
  std::printf("  commit      every %lld rows, %s or %.0f s\n", static_cast<long long>(cfg.commit.rows),
              HumanBytes(static_cast<double>(cfg.commit.bytes)).c_str(), cfg.commit.seconds);
  return 0;
}

namespace {
std::string YamlKey(const std::string& name) {
  bool plain = !name.empty() && name.find_first_of(":#{}[],&*?|<>=!%@`'\"\\ \t") == std::string::npos;
  return plain ? name : JsonQuote(name);
}

// A contract from a sample: types, nullability, observed ranges and value sets as candidates
// (comments: the user decides what becomes a rule), and PII guesses.
std::string ContractYaml(const InferredFile& r, const std::string& file) {
  std::string stem = std::filesystem::path(file).stem().string();
  while (stem.find('.') != std::string::npos) stem = std::filesystem::path(stem).stem().string();
  std::string y = "contract: " + YamlKey(stem) + "\nversion: 1\ncolumns:\n";
  std::map<std::string, ColumnPiiStats> pii;
  for (const auto& b : r.sample) {
    for (const auto& st : ScanBatch(*b)) {
      auto& acc = pii[st.column];
      if (acc.non_null == 0) acc = st;
      else {
        acc.matches += st.matches;
        acc.non_null += st.non_null;
      }
    }
  }
  for (size_t c = 0; c < r.schema.size(); ++c) {
    const Field& f = r.schema.field(c);
    int64_t nulls = 0, rows = 0;
    double lo = 0, hi = 0;
    bool have = false;
    std::map<std::string, int64_t> values;
    bool too_many = false;
    for (const auto& b : r.sample) {
      const Column& col = b->column(c);
      rows += b->num_rows();
      nulls += col.null_count();
      for (int64_t i = 0; i < b->num_rows(); ++i) {
        if (col.IsNull(i)) continue;
        TypeId t = f.type.id;
        if (t == TypeId::kInt64 || t == TypeId::kFloat64) {
          double v = t == TypeId::kInt64 ? static_cast<double>(col.Int64At(i)) : col.Float64At(i);
          lo = have ? std::min(lo, v) : v;
          hi = have ? std::max(hi, v) : v;
          have = true;
        } else if (t == TypeId::kString && !too_many) {
          ++values[std::string(col.BytesAt(i))];
          too_many = values.size() > 12;
        }
      }
    }
    std::string spec = "{ type: " + JsonQuote(f.type.ToString()) + (nulls == 0 && rows > 0 ? ", required: true" : "");
    auto p = pii.find(f.name);
    if (p != pii.end()) spec += std::string(", pii: ") + PiiKindName(p->second.kind);
    spec += " }";
    std::vector<std::string> notes;
    if (rows > 0 && nulls > 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.1f%% null", 100.0 * static_cast<double>(nulls) / static_cast<double>(rows));
      notes.push_back(buf);
    }
    if (have) notes.push_back("observed min " + FormatFloat64(lo) + ", max " + FormatFloat64(hi));
    if (!too_many && !values.empty() && values.size() <= 12 && rows >= 20 &&
        static_cast<int64_t>(values.size()) * 4 <= rows) {
      std::vector<std::string> names;
      for (const auto& [v, n] : values) names.push_back(v);
      notes.push_back("enum candidate [" + Join(names, ", ") + "]");
    }
    if (p != pii.end()) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "%.0f%% of values look like %s", p->second.rate * 100, PiiKindName(p->second.kind));
      notes.push_back(buf);
    }
    y += "  " + YamlKey(f.name) + ": " + spec + (notes.empty() ? "" : "   # " + Join(notes, "; ")) + "\n";
  }
  y += "on_violation: quarantine\n";
  return y;
}
}  // namespace

int CmdInfer(const std::string& file, const std::string& format, const std::string& out_path, bool contract,
             Logger& log) {
  g_log = &log;
  auto r = InferFileSchema(file, format, 10000);
  if (!r.ok()) return Fail(r.status(), "infer");
  std::string yaml = "# inferred by sluice from " + file + " (" + std::to_string(r->rows_sampled) +
                     " rows sampled; " + r->dialect + (r->compression == "none" ? "" : ", " + r->compression) + ")\n";
  if (contract) {
    yaml += ContractYaml(*r, file);
  } else {
    yaml += "schema:\n";
    for (const Field& f : r->schema.fields()) yaml += "  " + YamlKey(f.name) + ": " + f.type.ToString() + "\n";
  }
  if (out_path.empty()) {
    std::printf("%s", yaml.c_str());
    return 0;
  }
  std::ofstream out(out_path);
  out << yaml;
  if (!out) return Fail(Status::IoError("cannot write " + out_path), "infer");
  log.Info("wrote " + out_path);
  return 0;
}

namespace {
struct Opened {
  PipelineConfig cfg;
  std::unique_ptr<StateStore> state;
  std::unique_ptr<Sink> sink;
};

int OpenForState(const std::string& path, Logger& log, Opened* o) {
  if (!Load(path, &o->cfg, log)) return 2;
  auto state = StateStore::Open(o->cfg.state_path);
  if (!state.ok()) return Fail(state.status(), "state store");
  o->state = std::move(state).value();
  ConnectorContext ctx = MakeContext(o->cfg, o->state.get(), log);
  auto sink = BuiltinConnectors().Find("sink", o->cfg.sink_type)->make_sink(ctx, o->cfg.sink());
  if (!sink.ok()) return Fail(sink.status(), "sink");
  o->sink = std::move(sink).value();
  Status st = o->sink->Open();
  if (!st.ok()) return Fail(st, "sink");
  return 0;
}
}  // namespace

int CmdStateShow(const std::string& path, const std::string& stream, const GlobalFlags& g, Logger& log) {
  g_log = &log;
  Opened o;
  if (int rc = OpenForState(path, log, &o)) return rc;
  auto positions = o.sink->LoadState();
  if (!positions.ok()) return Fail(positions.status(), "state");
  auto schemas = o.state->ListSchemas(o.cfg.name);
  if (!schemas.ok()) return Fail(schemas.status(), "state");
  auto runs = o.state->RecentRuns(o.cfg.name, 5);
  if (!runs.ok()) return Fail(runs.status(), "state");
  nlohmann::json j = {{"pipeline", o.cfg.name}, {"sink", o.sink->Describe()},
                      {"transactional", o.sink->transactional()}};
  nlohmann::json pos = nlohmann::json::array();
  for (const auto& [k, v] : *positions) {
    if (!stream.empty() && k.first != stream) continue;
    auto parsed = nlohmann::json::parse(v, nullptr, false);
    pos.push_back({{"stream", k.first}, {"key", k.second}, {"value", parsed.is_discarded() ? nlohmann::json(v) : parsed}});
  }
  j["positions"] = pos;
  nlohmann::json sch = nlohmann::json::array();
  for (const auto& [s, v] : *schemas) {
    if (!stream.empty() && s != stream) continue;
    sch.push_back({{"stream", s}, {"version", v.version}, {"schema", v.schema.ToString()}, {"recorded_at", v.recorded_at}});
  }
  j["schemas"] = sch;
  nlohmann::json rj = nlohmann::json::array();
  for (const auto& r : *runs) rj.push_back(nlohmann::json::parse(r, nullptr, false));
  j["recent_runs"] = rj;
  // A replica missing changes that sit in the quarantine differs from its source until they are
  // replayed (on_violation: quarantine chosen for a replicate sink).
  nlohmann::json diverged = nlohmann::json::array();
  if (o.cfg.sink_mode == "replicate") {
    auto q = QuarantineStore::Open(o.cfg.quarantine_dir);
    if (!q.ok()) return Fail(q.status(), "quarantine");
    auto held = (*q)->CountByStream(o.cfg.name);
    if (!held.ok()) return Fail(held.status(), "quarantine");
    for (const auto& [s, n] : *held) {
      if (stream.empty() || s == stream) diverged.push_back({{"stream", s}, {"quarantined_changes", n}});
    }
  }
  j["diverged"] = diverged;
  if (g.json) {
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("pipeline %s -> %s\n", o.cfg.name.c_str(), o.sink->Describe().c_str());
  std::printf("state held %s\n", o.sink->transactional() ? "in the sink (_sluice_state), committed with the rows"
                                                          : ("in " + o.cfg.state_path).c_str());
  if (pos.empty()) std::printf("  no checkpoint yet: the next run starts from the beginning\n");
  for (const auto& p : pos) {
    std::string key = p["key"].get<std::string>();
    const auto& v = p["value"];
    if (p["stream"] == "" && key == kCountersKey) {
      std::printf("  totals: rows_in=%lld rows_out=%lld rows_quarantined=%lld rows_skipped=%lld\n",
                  static_cast<long long>(v.value("rows_in", 0LL)), static_cast<long long>(v.value("rows_out", 0LL)),
                  static_cast<long long>(v.value("rows_quarantined", 0LL)),
                  static_cast<long long>(v.value("rows_skipped", 0LL)));
    } else if (StartsWith(key, "file:") && v.is_object()) {
      std::printf("  [%s] %s: byte %llu of %llu, next line %lld%s\n", p["stream"].get<std::string>().c_str(),
                  key.substr(5).c_str(), static_cast<unsigned long long>(v.value("offset", 0ULL)),
                  static_cast<unsigned long long>(v.value("size", 0ULL)), static_cast<long long>(v.value("line", 0LL)),
                  v.value("compression", std::string("none")) == "none" ? "" : (" (" + v.value("compression", std::string()) + ", uncompressed offset)").c_str());
    } else {
      std::printf("  [%s] %s: %s\n", p["stream"].get<std::string>().c_str(), key.c_str(), v.dump().c_str());
    }
  }
  for (const auto& s : sch) {
    std::printf("  schema [%s] v%d: %s\n", s["stream"].get<std::string>().c_str(), s["version"].get<int>(),
                s["schema"].get<std::string>().c_str());
  }
  for (const auto& d : diverged) {
    std::printf("  DIVERGED [%s]: %lld changes are in the quarantine, so the replica differs from the source "
                "until `sluice quarantine replay` loads them\n",
                d["stream"].get<std::string>().c_str(), static_cast<long long>(d["quarantined_changes"].get<int64_t>()));
  }
  for (const auto& r : rj) {
    if (r.is_object()) {
      std::printf("  run: %s rows_in=%lld rows_out=%lld quarantined=%lld %.2fs\n", r.value("status", std::string()).c_str(),
                  static_cast<long long>(r.value("rows_in", 0LL)), static_cast<long long>(r.value("rows_out", 0LL)),
                  static_cast<long long>(r.value("rows_quarantined", 0LL)), r.value("seconds", 0.0));
    }
  }
  return 0;
}

int CmdStateReset(const std::string& path, const std::string& stream, bool schemas, Logger& log) {
  g_log = &log;
  Opened o;
  if (int rc = OpenForState(path, log, &o)) return rc;
  auto lock = o.state->Lock(o.cfg.name);
  if (!lock.ok()) return Fail(lock.status(), "state reset");
  Status st = o.sink->ResetState(stream);
  if (!st.ok()) return Fail(st, "state reset");
  if (schemas) {
    st = o.state->ResetSchemas(o.cfg.name, stream);
    if (!st.ok()) return Fail(st, "state reset");
  }
  std::printf("reset %s of pipeline %s%s; the next run reads from the beginning\n",
              stream.empty() ? "every checkpoint" : ("the checkpoints of stream " + stream).c_str(),
              o.cfg.name.c_str(), schemas ? " (and its schema versions)" : "");
  return 0;
}

int CmdConnectors(const std::string& type, const GlobalFlags& g) {
  const ConnectorRegistry& reg = BuiltinConnectors();
  if (type.empty()) {
    if (g.json) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& c : reg.all()) arr.push_back({{"type", c.type}, {"kind", c.kind}, {"summary", c.summary}, {"delivery", c.delivery}});
      std::printf("%s\n", arr.dump().c_str());
      return 0;
    }
    for (const auto& c : reg.all()) std::printf("%-7s %-10s %s [%s]\n", c.kind.c_str(), c.type.c_str(), c.summary.c_str(), c.delivery.c_str());
    std::printf("\nsluice connectors describe TYPE   shows every option\n");
    return 0;
  }
  bool found = false;
  for (const auto& c : reg.all()) {
    if (c.type != type) continue;
    found = true;
    if (g.json) {
      nlohmann::json opts = nlohmann::json::array();
      for (const auto& o : c.options) {
        opts.push_back({{"name", o.name}, {"type", OptionTypeName(o.type)}, {"default", o.default_value},
                        {"required", o.required}, {"choices", o.choices}, {"doc", o.doc}});
      }
      std::printf("%s\n", nlohmann::json({{"type", c.type}, {"kind", c.kind}, {"summary", c.summary},
                                          {"delivery", c.delivery}, {"options", opts}}).dump().c_str());
      continue;
    }
    std::printf("%s %s: %s\ndelivery: %s\n\noptions:\n", c.kind.c_str(), c.type.c_str(), c.summary.c_str(), c.delivery.c_str());
    for (const auto& o : c.options) {
      std::string t = OptionTypeName(o.type);
      if (!o.choices.empty()) t = Join(o.choices, "|");
      std::printf("  %-16s %-22s %s%s%s\n", o.name.c_str(), t.c_str(), o.required ? "(required) " : "",
                  o.default_value.empty() ? "" : ("[default: " + o.default_value + "] ").c_str(), o.doc.c_str());
    }
    std::printf("\n");
  }
  if (!found) {
    ReportError("unknown connector '" + type + "' (see `sluice connectors`)");
    return 2;
  }
  return 0;
}

int CmdQuarantineList(const std::string& path, const GlobalFlags& g, Logger& log) {
  g_log = &log;
  PipelineConfig cfg;
  if (!Load(path, &cfg, log)) return 2;
  auto q = QuarantineStore::Open(cfg.quarantine_dir);
  if (!q.ok()) return Fail(q.status(), "quarantine");
  auto rows = (*q)->Summarize(cfg.name);
  if (!rows.ok()) return Fail(rows.status(), "quarantine");
  if (g.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : *rows) arr.push_back({{"stream", r.stream}, {"rule", r.rule}, {"column", r.column}, {"rows", r.count}, {"example", r.example_reason}});
    std::printf("%s\n", arr.dump().c_str());
    return 0;
  }
  if (rows->empty()) {
    std::printf("quarantine of %s is empty (%s)\n", cfg.name.c_str(), (*q)->path().c_str());
    return 0;
  }
  std::printf("%-16s %-8s %-16s %8s  %s\n", "stream", "rule", "column", "rows", "example reason");
  for (const auto& r : *rows) {
    std::printf("%-16s %-8s %-16s %8lld  %s\n", r.stream.c_str(), r.rule.c_str(), r.column.empty() ? "-" : r.column.c_str(),
                static_cast<long long>(r.count), r.example_reason.c_str());
  }
  return 0;
}

int CmdCdcUninstall(const std::string& path, const GlobalFlags& g, Logger& log) {
  (void)g;
  g_log = &log;
  PipelineConfig cfg;
  if (!Load(path, &cfg, log)) return 2;
  auto state = StateStore::Open(cfg.state_path);
  if (!state.ok()) return Fail(state.status(), "state store");
  ConnectorContext ctx = MakeContext(cfg, state->get(), log);
  auto source = BuiltinConnectors().Find("source", cfg.source_type)->make_source(ctx, cfg.source());
  if (!source.ok()) return Fail(source.status(), "source");
  Status st = (*source)->Uninstall();
  if (!st.ok()) return Fail(st, "source");
  std::printf("removed the change capture of pipeline %s\n", cfg.name.c_str());
  return 0;
}

int CmdQuarantineReplay(const std::string& path, const GlobalFlags& g, Logger& log) {
  g_log = &log;
  PipelineConfig cfg;
  if (!Load(path, &cfg, log)) return 2;
  if (!Preflight(cfg, log)) return 2;
  auto q = QuarantineStore::Open(cfg.quarantine_dir);
  if (!q.ok()) return Fail(q.status(), "quarantine");
  // The same pipeline, with the quarantine as its source.
  ConnectorRegistry registry = BuiltinConnectors();
  ConnectorInfo replay;
  replay.type = "_quarantine_replay";
  replay.kind = "source";
  replay.make_source = QuarantineReplaySourceFactory(q->get());
  registry.Add(std::move(replay));
  cfg.source_type = "_quarantine_replay";
  InstallSignalHandlers();
  RunOptions opts;
  opts.progress = !g.json && isatty(STDERR_FILENO) && g.log_format == "text";
  opts.run_level_checks = false;
  log.Info("replaying the quarantine of pipeline " + cfg.name + " through its current contract");
  if ((cfg.sink_mode == "upsert" || cfg.sink_mode == "replicate") && cfg.sink().Find("version") == nullptr) {
    log.Warn("the sink " + cfg.sink_mode + "s without version:, so a replayed row replaces the stored row of its key even when "
             "that one is newer; set version: (such as the updated_at column) on the sink to keep the newer row");
  }
  RunSummary s = RunPipeline(cfg, opts, log, registry);
  if (!s.error.empty()) log.Error("replay failed: " + s.error);
  std::printf("%s", g.json ? (SummaryJson(s) + "\n").c_str() : SummaryText(s).c_str());
  return s.ExitCode();
}

int CmdQuarantineShow(const std::string& path, int64_t limit, const GlobalFlags& g, Logger& log) {
  g_log = &log;
  PipelineConfig cfg;
  if (!Load(path, &cfg, log)) return 2;
  auto q = QuarantineStore::Open(cfg.quarantine_dir);
  if (!q.ok()) return Fail(q.status(), "quarantine");
  auto rows = (*q)->List(cfg.name, limit);
  if (!rows.ok()) return Fail(rows.status(), "quarantine");
  for (const auto& e : *rows) {
    if (g.json) {
      std::printf("%s\n", nlohmann::json({{"id", e.id}, {"stream", e.row.stream}, {"origin", e.row.origin},
                                          {"rule", e.row.rule}, {"column", e.row.column}, {"reason", e.row.reason},
                                          {"raw", PrintableExcerpt(e.row.raw, 4096)}, {"recorded_at", e.recorded_at}})
                                  .dump().c_str());
    } else {
      std::printf("%s  [%s%s%s] %s\n    %s\n", e.row.origin.c_str(), e.row.rule.c_str(), e.row.column.empty() ? "" : " ",
                  e.row.column.c_str(), e.row.reason.c_str(), PrintableExcerpt(e.row.raw, 300).c_str());
    }
  }
  return 0;
}

namespace {
// The pipeline name as a file name: letters, digits, '-', '_' and '.' kept, the rest '_'.
std::string ReportFileName(const std::string& pipeline) {
  std::string safe;
  for (char c : pipeline) {
    safe.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '_');
  }
  return (safe.empty() || safe[0] == '.' ? "pipeline" + safe : safe) + "-report.html";
}

// The sink's description without opening it (no connection is made).
std::string DescribeSink(const PipelineConfig& cfg, StateStore* state, Logger& log) {
  auto sink = BuiltinConnectors().Find("sink", cfg.sink_type)->make_sink(MakeContext(cfg, state, log), cfg.sink());
  return sink.ok() ? (*sink)->Describe() : cfg.sink_type;
}

// Writes beside the target, then renames: a reader never sees half a page.
Status WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) return Status::IoError("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IoError("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return Status::OK();
}
}  // namespace

int CmdReport(const std::string& path, const std::string& out_path, int runs, const GlobalFlags& g, Logger& log) {
  g_log = &log;
  PipelineConfig cfg;
  if (!Load(path, &cfg, log)) return 2;
  auto state = StateStore::Open(cfg.state_path);
  if (!state.ok()) return Fail(state.status(), "state store");
  // A pipeline that never quarantined anything has no quarantine file: do not create one.
  std::unique_ptr<QuarantineStore> quarantine;
  if (std::filesystem::exists(cfg.quarantine_dir + "/quarantine.db")) {
    auto q = QuarantineStore::Open(cfg.quarantine_dir);
    if (!q.ok()) return Fail(q.status(), "quarantine");
    quarantine = std::move(q).value();
  }
  auto data = LoadReportData(cfg.name, **state, quarantine.get(), runs);
  if (!data.ok()) return Fail(data.status(), "report");
  data->sink = DescribeSink(cfg, state->get(), log);
  const std::string out = out_path.empty() ? ReportFileName(cfg.name) : out_path;
  Status st = WriteFileAtomically(out, RenderReport(*data));
  if (!st.ok()) return Fail(st, "report");
  if (g.json) {
    std::printf("%s\n", nlohmann::json({{"pipeline", cfg.name}, {"path", out}, {"runs", data->runs.size()},
                                         {"failing_rules", data->rules.size()}}).dump().c_str());
  } else {
    std::printf("%s\n", out.c_str());
  }
  return 0;
}

}  // namespace sluice
