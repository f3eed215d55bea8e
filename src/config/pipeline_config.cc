#include "config/pipeline_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/mode_pairs.h"
#include "core/strings.h"
#include "quality/contract.h"
#include "quality/pii_policy.h"

namespace sluice {

namespace fs = std::filesystem;

std::string ResolvePath(const std::string& base, const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  return (fs::path(base) / p).lexically_normal().string();
}

namespace {

// ${NAME}, ${NAME:-default}, ${file:/path}. `$${` escapes a literal "${".
Result<std::string> Interpolate(const std::string& s, const std::string& where) {
  if (s.find("${") == std::string::npos) return s;
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (s.compare(i, 2, "${") != 0) {
      out.push_back(s[i++]);
      continue;
    }
    size_t end = s.find('}', i + 2);
    if (end == std::string::npos) return Status::InvalidArgument(where + ": unterminated '${' in value");
    std::string ref = s.substr(i + 2, end - i - 2);
    if (StartsWith(ref, "file:")) {
      std::string path = ref.substr(5);
      std::ifstream in(path, std::ios::binary);
      if (!in) return Status::InvalidArgument(where + ": cannot read secret file '" + path + "'");
      std::stringstream ss;
      ss << in.rdbuf();
      std::string v = ss.str();
      while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
      out += v;
    } else {
      std::string name = ref, def;
      bool has_def = false;
      if (auto p = ref.find(":-"); p != std::string::npos) {
        name = ref.substr(0, p);
        def = ref.substr(p + 2);
        has_def = true;
      }
      const char* v = std::getenv(name.c_str());
      if (v) out += v;
      else if (has_def) out += def;
      else return Status::InvalidArgument(where + ": environment variable '" + name + "' is not set");
    }
    i = end + 1;
  }
  return out;
}

Result<ConfigNode> Convert(const YAML::Node& n, const std::string& path) {
  ConfigNode out;
  int line = n.Mark().line >= 0 ? n.Mark().line + 1 : 0;
  out.SetLocation(path, line);
  std::string where = (path.empty() ? std::string("<root>") : path) +
                      (line > 0 ? " (line " + std::to_string(line) + ")" : "");
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: break;
    case YAML::NodeType::Scalar: {
      ASSIGN_OR_RETURN(std::string v, Interpolate(n.Scalar(), where));
      out.SetInterpolated(v != n.Scalar() || n.Scalar().find("${") != std::string::npos);
      out.SetScalar(std::move(v));
      break;
    }
    case YAML::NodeType::Sequence: {
      out.SetKind(ConfigNode::Kind::kList);
      size_t i = 0;
      for (const auto& item : n) {
        ASSIGN_OR_RETURN(ConfigNode c, Convert(item, path + "[" + std::to_string(i++) + "]"));
        out.AddItem(std::move(c));
      }
      break;
    }
    case YAML::NodeType::Map: {
      out.SetKind(ConfigNode::Kind::kMap);
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) return Status::InvalidArgument(where + ": map keys must be plain names");
        std::string key = kv.first.Scalar();
        if (out.Find(key)) return Status::InvalidArgument(where + ": duplicate key '" + key + "'");
        ASSIGN_OR_RETURN(ConfigNode c, Convert(kv.second, path.empty() ? key : path + "." + key));
        if (c.line() == 0) c.SetLocation(c.path(), kv.first.Mark().line + 1);
        out.AddEntry(key, std::move(c));
      }
      break;
    }
  }
  return out;
}

const OptionSchema& TopLevelSchema() {
  static const OptionSchema schema = {
      {"name", OptionType::kString, "", "Pipeline name; keys its state, lock and quarantine. Defaults to the file name."},
      {"source", OptionType::kMap, "", "Where rows come from: a map with `type:` and the connector's options.", true},
      {"sink", OptionType::kMap, "", "Where rows go: a map with `type:` and the connector's options.", true},
      {"schema", OptionType::kMap, "", "Column types, `name: type`, instead of inference."},
      {"state", OptionType::kString, ".sluice/state.db", "Embedded state store file."},
      {"quarantine", OptionType::kMap, "", "`{path: dir}` where rejected rows are kept (default: <state dir>/quarantine)."},
      {"commit_interval", OptionType::kMap, "", "`{rows, bytes, time}`: when a commit group closes."},
      {"retry", OptionType::kMap, "", "`{max_attempts, initial_backoff, max_backoff}` for transient errors."},
      {"buffer", OptionType::kSize, "64MiB", "Memory budget of the channel between source and sink."},
      {"contract", OptionType::kAny, "", "Data contract: a contract file (relative to the pipeline) or the contract inline."},
      {"transforms", OptionType::kAny, "", "Transforms applied after the contract, before the sink: `- {type: mask, columns: [...], method: hash|redact|partial|tokenize|drop, key: ...}`."},
      {"streams", OptionType::kMap, "",
       "Per-stream settings, by stream name (a source table, a file set): `{public.orders: {table: raw_orders, "
       "schema: {id: int64}}}`. `table:` renames the stream for the sink, whose table name defaults to the stream."},
  };
  return schema;
}

Status ValidateConnectorBlock(const ConfigNode& block, const char* kind,
                              const ConnectorRegistry& registry, std::string* type) {
  const ConfigNode* t = block.Find("type");
  if (!t) return Status::InvalidArgument(block.Where() + ": missing 'type' (see `sluice connectors`)");
  ASSIGN_OR_RETURN(*type, t->AsString());
  const ConnectorInfo* info = registry.Find(kind, *type);
  if (!info) {
    std::vector<std::string> names;
    for (const auto& c : registry.all()) {
      if (c.kind == kind) names.push_back(c.type);
    }
    return Status::InvalidArgument(t->Where() + ": unknown " + kind + " type '" + *type + "' (available: " +
                                   Join(names, ", ") + ")");
  }
  return ValidateOptions(block, info->options);
}

// `unique:` is enforced across runs (runtime/unique_index.h). Refused where repeated keys are
// legitimate (upsert, replicate) and where the mask would make distinct values equal.
Status CheckUniqueColumns(const Contract& contract, const ConfigNode& sink, const std::vector<ColumnMask>& masks) {
  const ConfigNode* mode = sink.Find("mode");
  for (const auto& c : contract.columns) {
    if (!c.unique) continue;
    if (mode && (mode->scalar() == "upsert" || mode->scalar() == "replicate")) {
      return Status::InvalidArgument(
          mode->Where() + ": contract column '" + c.name + "' is unique:, but the sink's mode " + mode->scalar() +
          " loads repeated keys on purpose (a newer version of a row replaces the older one). Remove unique: "
          "from the contract, or use mode: append to keep every key once");
    }
    for (const auto& m : masks) {
      if (m.column == c.name && m.spec.method != "hash" && m.spec.method != "tokenize") {
        return Status::InvalidArgument("contract column '" + c.name + "' is unique:, but its mask method " +
                                       m.spec.method + " makes distinct values equal; use hash or tokenize");
      }
    }
  }
  return Status::OK();
}

// `{name: type, ...}` of a `schema:` block.
Result<Schema> SchemaFromNode(const ConfigNode& node) {
  Schema schema;
  for (const auto& [col, t] : node.entries()) {
    auto type_text = t.AsString();
    if (!type_text.ok()) return type_text.status();
    auto type = DataType::Parse(*type_text);
    if (!type.ok()) {
      return Status::InvalidArgument(t.Where() + ": " +
                                     (t.interpolated() ? "unknown type " + t.Shown() : type.status().message()));
    }
    schema.AddField({col, *type, true});
  }
  return schema;
}

// The default of a connector's option, or "" when the connector or the option has none.
std::string DefaultOf(const ConnectorInfo* info, const std::string& option) {
  if (info == nullptr) return "";
  for (const auto& spec : info->options) {
    if (spec.name == option) return spec.default_value;
  }
  return "";
}

}  // namespace

ConnectorContext MakeConnectorContext(const PipelineConfig& cfg, StateStore* state, Logger* log) {
  ConnectorContext ctx;
  ctx.pipeline = cfg.name;
  ctx.stream_tables = cfg.stream_tables;
  for (const auto& [stream, key] : cfg.stream_keys) ctx.stream_keys->Declare(stream, key);
  const ConfigNode* source_mode = cfg.root.Find("source") ? cfg.source().Find("mode") : nullptr;
  ctx.keys_from_pipeline = !cfg.stream_keys.empty() ||
                           (source_mode && (source_mode->scalar() == "cdc" || source_mode->scalar() == "trigger"));
  ctx.sink_mode = cfg.sink_mode;
  ctx.before_images = cfg.root.Find("sink") == nullptr || EffectiveSinkMode(cfg.sink()) == "changelog";
  ctx.base_dir = cfg.base_dir;
  ctx.state_dir = cfg.state_path.substr(0, cfg.state_path.rfind('/'));
  ctx.state = state;
  ctx.log = log;
  ctx.declared_schemas = cfg.declared_schemas;
  if (cfg.contract) ctx.schema_evolution = cfg.contract->schema_evolution;
  return ctx;
}

Result<ConfigNode> ParseYaml(const std::string& text, const std::string& origin) {
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(origin + ": YAML syntax error at line " + std::to_string(e.mark.line + 1) +
                                   ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  try {
    return Convert(doc, "");
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(origin + ": " + e.what());
  }
}

Result<PipelineConfig> LoadPipeline(const std::string& path, const ConnectorRegistry& registry) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read pipeline file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  PipelineConfig cfg;
  std::error_code ec;
  cfg.file = fs::absolute(path, ec).lexically_normal().string();
  cfg.base_dir = fs::path(cfg.file).parent_path().string();
  auto root = ParseYaml(ss.str(), path);
  if (!root.ok()) return root.status();
  cfg.root = std::move(root).value();
  if (!cfg.root.IsMap()) return Status::InvalidArgument(path + ": a pipeline is a YAML map with source: and sink:");
  RETURN_IF_ERROR(ValidateOptions(cfg.root, TopLevelSchema(), {}));
  Options top(&cfg.root, &TopLevelSchema());
  cfg.name = top.GetString("name");
  if (cfg.name.empty()) cfg.name = fs::path(cfg.file).stem().string();
  RETURN_IF_ERROR(ValidateConnectorBlock(cfg.source(), "source", registry, &cfg.source_type));
  RETURN_IF_ERROR(ValidateConnectorBlock(cfg.sink(), "sink", registry, &cfg.sink_type));
  if (const ConfigNode* m = cfg.sink().Find("mode"); m && m->IsScalar()) cfg.sink_mode = m->scalar();

  cfg.state_path = ResolvePath(cfg.base_dir, top.GetString("state"));
  cfg.quarantine_dir = (fs::path(cfg.state_path).parent_path() / "quarantine").string();
  if (const ConfigNode* q = cfg.root.Find("quarantine")) {
    static const OptionSchema qs = {{"path", OptionType::kString, "", "Directory of quarantine.db."}};
    RETURN_IF_ERROR(ValidateOptions(*q, qs, {}));
    Options qo(q, &qs);
    if (qo.Has("path")) cfg.quarantine_dir = ResolvePath(cfg.base_dir, qo.GetString("path"));
  }
  if (const ConfigNode* s = cfg.root.Find("schema")) {
    ASSIGN_OR_RETURN(cfg.declared_schemas[""], SchemaFromNode(*s));
  }
  if (const ConfigNode* streams = cfg.root.Find("streams")) {
    static const OptionSchema kStreamSchema = {
        {"table", OptionType::kString, "", "The name the sink sees for this stream (its table)."},
        {"schema", OptionType::kMap, "", "Column types of this stream, `name: type`."},
        {"key", OptionType::kStringList, "", "The columns that identify a row of this stream, for the sink's upsert and replicate modes."},
    };
    for (const auto& [stream, block] : streams->entries()) {
      if (!block.IsMap()) return Status::InvalidArgument(block.Where() + ": a map such as {table: raw_orders}");
      RETURN_IF_ERROR(ValidateOptions(block, kStreamSchema, {}));
      if (const ConfigNode* t = block.Find("table")) {
        ASSIGN_OR_RETURN(std::string table, t->AsString());
        if (table.empty()) return Status::InvalidArgument(t->Where() + ": empty table name");
        cfg.stream_tables[stream] = table;
      }
      if (const ConfigNode* sc = block.Find("schema")) {
        ASSIGN_OR_RETURN(cfg.declared_schemas[stream], SchemaFromNode(*sc));
      }
      if (const ConfigNode* k = block.Find("key")) {
        std::vector<std::string> key;
        if (k->IsScalar()) key.push_back(k->scalar());
        for (const auto& item : k->items()) {
          ASSIGN_OR_RETURN(std::string col, item.AsString());
          key.push_back(col);
        }
        if (key.empty()) return Status::InvalidArgument(k->Where() + ": name at least one column, such as key: [id]");
        cfg.stream_keys[stream] = std::move(key);
      }
    }
  }
  if (const ConfigNode* c = cfg.root.Find("contract")) {
    Result<Contract> contract =
        c->IsScalar() ? LoadContract(ResolvePath(cfg.base_dir, c->scalar())) : ContractFromNode(*c, path);
    if (!contract.ok()) return contract.status();
    // The contract's types win over `schema:` (DESIGN.md, "Which schema wins").
    Schema merged = cfg.declared_schemas[""];
    const Schema declared = contract->DeclaredSchema();
    for (const Field& f : declared.fields()) {
      int i = merged.IndexOf(f.name);
      if (i < 0) {
        merged.AddField(f);
      } else {
        std::vector<Field> fields = merged.fields();
        fields[static_cast<size_t>(i)].type = f.type;
        merged = Schema(std::move(fields));
      }
    }
    if (merged.size() > 0) cfg.declared_schemas[""] = std::move(merged);
    // A change left out of a replica breaks it (a later update of that key has nothing to update),
    // so a replicate sink stops on a violation unless the contract chooses quarantine itself; the
    // quarantined changes then mark their streams as diverged (`state show`) until replayed.
    if (!contract->on_violation_set && cfg.sink_mode == "replicate") {
      contract->on_violation = "fail";
    }
    cfg.contract = std::make_shared<const Contract>(std::move(contract).value());
  }
  std::vector<ColumnMask> masks;
  if (const ConfigNode* t = cfg.root.Find("transforms")) {
    ASSIGN_OR_RETURN(masks, ParseMaskTransforms(*t));
  }
  std::vector<std::string> pii_columns;
  if (cfg.contract) {
    for (const auto& c : cfg.contract->columns) {
      if (c.pii.empty()) continue;
      pii_columns.push_back(c.name);
      bool masked = std::any_of(masks.begin(), masks.end(), [&](const ColumnMask& m) { return m.column == c.name; });
      if (cfg.contract->require_pii_masking && !masked) {
        // Refused before any data moves.
        return Status::InvalidArgument(cfg.contract->file + ": column '" + c.name + "' holds pii (" + c.pii +
                                       ") and the contract requires it to be masked, but no `mask` transform covers it");
      }
    }
  }
  if (cfg.contract) RETURN_IF_ERROR(CheckUniqueColumns(*cfg.contract, cfg.sink(), masks));
  RETURN_IF_ERROR(CheckModePair(cfg.source(), cfg.sink(), DefaultOf(registry.Find("source", cfg.source_type), "mode")));
  if (!masks.empty() || !pii_columns.empty()) {
    cfg.pii = std::make_shared<const PiiPolicy>(std::move(masks), std::move(pii_columns));
  }
  if (const ConfigNode* c = cfg.root.Find("commit_interval")) {
    static const OptionSchema cs = {
        {"rows", OptionType::kInt, "500000", "Close a commit group after this many rows."},
        {"bytes", OptionType::kSize, "256MiB", "... or this many input bytes."},
        {"time", OptionType::kDuration, "5s", "... or this long."}};
    RETURN_IF_ERROR(ValidateOptions(*c, cs, {}));
    Options co(c, &cs);
    cfg.commit.rows = co.GetInt("rows");
    cfg.commit.bytes = co.GetBytes("bytes");
    cfg.commit.seconds = co.GetSeconds("time");
    if (cfg.commit.rows <= 0) return Status::InvalidArgument(c->Where() + ": rows must be positive");
  }
  if (const ConfigNode* r = cfg.root.Find("retry")) {
    static const OptionSchema rs = {
        {"max_attempts", OptionType::kInt, "5", "Failed attempts in a row (none committing) before a transient error fails the run."},
        {"initial_backoff", OptionType::kDuration, "500ms", "First wait; doubles each attempt, with jitter."},
        {"max_backoff", OptionType::kDuration, "30s", "Longest wait between attempts."}};
    RETURN_IF_ERROR(ValidateOptions(*r, rs, {}));
    Options ro(r, &rs);
    cfg.retry.max_attempts = static_cast<int>(ro.GetInt("max_attempts"));
    cfg.retry.initial_backoff_s = ro.GetSeconds("initial_backoff");
    cfg.retry.max_backoff_s = ro.GetSeconds("max_backoff");
  }
  cfg.buffer_bytes = top.GetBytes("buffer");
  if (cfg.buffer_bytes < (1 << 20)) cfg.buffer_bytes = 1 << 20;
  return cfg;
}

}  // namespace sluice
