// Registration of the jsonl, csv, stdout and discard sinks: option schemas and factories.

#include "connectors/file_sinks/file_sinks.h"

#include <unistd.h>

#include <filesystem>

#include "connectors/file_sinks/internal.h"

namespace sluice {

namespace {

using file_sinks::FileSinkSettings;
using file_sinks::TextFormat;

const char* kPathDoc =
    "Output file. A relative path resolves against the pipeline file's directory. `{stream}` is "
    "replaced by the stream name, for one file per stream in multi-stream pipelines. Missing "
    "directories are created.";
const char* kNameDoc =
    "Name of this sink; its checkpoints are kept under (pipeline, name) in the state store. "
    "Renaming it starts the pipeline over.";

const OptionSchema& JsonlSchema() {
  static const OptionSchema schema = {
      {"path", OptionType::kString, "", kPathDoc, true},
      {"name", OptionType::kString, "jsonl", kNameDoc},
      {"envelope", OptionType::kEnum, "none",
       "none: one JSON object per row; debezium: one Debezium-style change event per row, "
       "{\"before\",\"after\",\"source\":{\"connector\":\"sluice\",\"db\",\"table\",\"lsn\" or "
       "\"gtid\",\"txId\",\"ts_ms\"},\"op\",\"ts_ms\"}, for change data (a cdc source)",
       false, {"none", "debezium"}},
  };
  return schema;
}

const OptionSchema& CsvSchema() {
  static const OptionSchema schema = {
      {"path", OptionType::kString, "", kPathDoc, true},
      {"name", OptionType::kString, "csv", kNameDoc},
      {"delimiter", OptionType::kString, ",",
       "Field delimiter: one character; \"\\t\" or `tab` for tab-separated output."},
      {"header", OptionType::kBool, "true",
       "Write a header line with the column names when the file is empty."},
  };
  return schema;
}

const OptionSchema& StdoutSchema() {
  static const OptionSchema schema = {
      {"format", OptionType::kEnum, "jsonl",
       "jsonl: one JSON object per row; csv: comma-separated with a header line (repeated when "
       "the columns change).",
       false, {"jsonl", "csv"}},
      {"name", OptionType::kString, "stdout", kNameDoc},
  };
  return schema;
}

const OptionSchema& DiscardSchema() {
  static const OptionSchema schema = {
      {"name", OptionType::kString, "discard", kNameDoc},
  };
  return schema;
}

std::string Where(const Options& o, const std::string& key) {
  const ConfigNode* n = o.Node(key);
  if (n && !n->path().empty()) return n->Where();
  return o.block().path().empty() ? "sink." + key : o.block().path() + "." + key;
}

Result<std::string> SinkName(const Options& o) {
  std::string name = o.GetString("name");
  if (name.empty()) return Status::InvalidArgument(Where(o, "name") + ": must not be empty");
  return name;
}

Result<std::string> AbsolutePath(const ConnectorContext& ctx, const Options& o) {
  std::string path = o.GetString("path");
  if (path.empty()) return Status::InvalidArgument(Where(o, "path") + ": must not be empty");
  std::filesystem::path p(path);
  if (p.is_relative()) {
    std::filesystem::path base(ctx.base_dir);
    if (base.empty() || base.is_relative()) {
      std::error_code ec;
      std::filesystem::path cwd = std::filesystem::current_path(ec);
      if (ec) return Status::IoError("cannot resolve " + path + ": " + ec.message());
      base = cwd / base;
    }
    p = base / p;
  }
  return p.lexically_normal().string();
}

Result<char> Delimiter(const Options& o) {
  std::string d = o.GetString("delimiter");
  if (d == "\\t" || d == "tab") return '\t';
  if (d.size() != 1 || d[0] == '"' || d[0] == '\r' || d[0] == '\n' || d[0] == '\0') {
    return Status::InvalidArgument(Where(o, "delimiter") + ": expected one character other than a "
                                   "double quote or a line break, got '" + d + "' (use \"\\t\" or tab "
                                   "for tab-separated output)");
  }
  return d[0];
}

Result<std::unique_ptr<Sink>> MakeJsonl(const ConnectorContext& ctx, const ConfigNode& block) {
  Options o(&block, &JsonlSchema());
  FileSinkSettings s;
  s.format = TextFormat::kJsonl;
  ASSIGN_OR_RETURN(s.name, SinkName(o));
  ASSIGN_OR_RETURN(s.path, AbsolutePath(ctx, o));
  s.debezium = o.GetString("envelope") == "debezium";
  return file_sinks::MakeFileSink(ctx, std::move(s));
}

Result<std::unique_ptr<Sink>> MakeCsv(const ConnectorContext& ctx, const ConfigNode& block) {
  Options o(&block, &CsvSchema());
  FileSinkSettings s;
  s.format = TextFormat::kCsv;
  ASSIGN_OR_RETURN(s.name, SinkName(o));
  ASSIGN_OR_RETURN(s.path, AbsolutePath(ctx, o));
  ASSIGN_OR_RETURN(s.delimiter, Delimiter(o));
  s.header = o.GetBool("header");
  return file_sinks::MakeFileSink(ctx, std::move(s));
}

Result<std::unique_ptr<Sink>> MakeDiscard(const ConnectorContext& ctx, const ConfigNode& block) {
  Options o(&block, &DiscardSchema());
  ASSIGN_OR_RETURN(std::string name, SinkName(o));
  return file_sinks::MakeDiscardSink(ctx, std::move(name));
}

}  // namespace

Result<std::unique_ptr<Sink>> MakeStdoutSinkForFd(const ConnectorContext& ctx,
                                                 const ConfigNode& block, int fd) {
  Options o(&block, &StdoutSchema());
  ASSIGN_OR_RETURN(std::string name, SinkName(o));
  TextFormat format = o.GetString("format") == "csv" ? TextFormat::kCsv : TextFormat::kJsonl;
  return file_sinks::MakeStdoutSink(ctx, std::move(name), format, fd);
}

void RegisterFileSinkConnectors(ConnectorRegistry& registry) {
  registry.Add({"jsonl", "sink",
                "JSON Lines file: one JSON object per row; exactly-once by truncating back to the "
                "committed length on resume.",
                "exactly-once", JsonlSchema(), nullptr, MakeJsonl});
  registry.Add({"csv", "sink",
                "CSV file (RFC 4180 quoting) with a header; exactly-once by truncating back to the "
                "committed length on resume.",
                "exactly-once", CsvSchema(), nullptr, MakeCsv});
  registry.Add({"stdout", "sink",
                "Standard output as JSON lines or CSV; at-least-once: a group that crashes after "
                "it was printed is printed again. Logs go to stderr.",
                "at-least-once", StdoutSchema(), nullptr,
                [](const ConnectorContext& ctx, const ConfigNode& block) {
                  return MakeStdoutSinkForFd(ctx, block, STDOUT_FILENO);
                }});
  registry.Add({"discard", "sink",
                "Counts rows and drops them, keeping checkpoints so reruns resume; for benchmarks "
                "and dry runs.",
                "exactly-once (of nothing)", DiscardSchema(), nullptr, MakeDiscard});
}

}  // namespace sluice
