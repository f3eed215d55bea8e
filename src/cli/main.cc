// sluice: the command-line entry point. Parses arguments and dispatches to cli/commands.

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "cli/cdc.h"
#include "cli/commands.h"
#include "cli/detokenize.h"
#include "cli/scan.h"
#include "core/allocator.h"
#include "runtime/pipeline.h"

int main(int argc, char** argv) {
  using namespace sluice;
  TuneAllocator();
  CLI::App app{"sluice: a data ingestion engine that loses nothing and tells you what happened to every row"};
  app.set_version_flag("--version", std::string("sluice ") + SLUICE_VERSION);
  app.require_subcommand(1);
  // Global flags may come before or after the subcommand.
  app.fallthrough();
  GlobalFlags g;
  app.add_option("--log-format", g.log_format, "Log lines on stderr: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", g.log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();

  std::string pipeline, stream, file, format, out_path, type;
  bool dry_run = false, schemas = false;
  int64_t limit = 50;

  auto* run = app.add_subcommand("run", "Run a pipeline: batch sources finish, streaming ones run until SIGTERM");
  run->add_option("pipeline", pipeline, "Pipeline YAML file")->required();
  run->add_flag("--json", g.json, "Print the run summary as one JSON object");
  run->add_flag("--dry-run", dry_run, "Read, parse and check everything; write nothing");

  auto* check = app.add_subcommand("check", "Validate a pipeline, test its connections and print the plan");
  check->add_option("pipeline", pipeline, "Pipeline YAML file")->required();
  check->add_flag("--json", g.json, "Machine-readable output");

  auto* infer = app.add_subcommand("infer", "Infer a schema from a sample of a file");
  infer->add_option("file", file, "CSV or JSON-lines file (optionally .gz/.zst)")->required();
  infer->add_option("--format", format, "csv or jsonl (default: from the extension)");
  infer->add_option("-o,--output", out_path, "Write the schema YAML to this file instead of stdout");
  bool infer_contract = false;
  infer->add_flag("--contract", infer_contract,
                  "Write a data contract (types, nullability, PII guesses, observed ranges as candidates)");

  auto* state = app.add_subcommand("state", "Show or reset a pipeline's checkpoints");
  state->require_subcommand(1);
  auto* show = state->add_subcommand("show", "Checkpoints per stream, counters, schema versions and recent runs");
  show->add_option("pipeline", pipeline, "Pipeline YAML file")->required();
  show->add_option("--stream", stream, "Only this stream");
  show->add_flag("--json", g.json, "Machine-readable output");
  auto* reset = state->add_subcommand("reset", "Forget checkpoints, so the next run reads everything again");
  reset->add_option("pipeline", pipeline, "Pipeline YAML file")->required();
  reset->add_option("--stream", stream, "Only this stream");
  reset->add_flag("--schema", schemas, "Also forget the inferred schema versions");

  auto* conns = app.add_subcommand("connectors", "List connectors, or describe one with its options");
  auto* describe = conns->add_subcommand("describe", "Every option of one connector, with its default and doc");
  describe->add_option("type", type, "Connector type, e.g. file or sqlite")->required();
  conns->add_flag("--json", g.json, "Machine-readable output");

  auto* quarantine = app.add_subcommand("quarantine", "Inspect rows that were rejected, with their reasons");
  quarantine->require_subcommand(1);
  auto* qlist = quarantine->add_subcommand("list", "Rejected rows summarised by stream, rule and column");
  qlist->add_option("pipeline", pipeline, "Pipeline YAML file")->required();
  qlist->add_flag("--json", g.json, "Machine-readable output");
  auto* qreplay = quarantine->add_subcommand(
      "replay", "Re-drive rejected rows through the current contract into the sink; rows that pass leave the quarantine");
  qreplay->add_option("pipeline", pipeline, "Pipeline YAML file")->required();
  qreplay->add_flag("--json", g.json, "Print the replay summary as one JSON object");
  auto* qshow = quarantine->add_subcommand("show", "Rejected rows with origin, reason and raw text");
  qshow->add_option("pipeline", pipeline, "Pipeline YAML file")->required();
  qshow->add_option("--limit", limit, "At most this many rows")->capture_default_str();
  qshow->add_flag("--json", g.json, "One JSON object per row");

  int64_t scan_rows = 10000;
  auto* scan = app.add_subcommand("scan", "Report which columns of a file, or of a pipeline's files, hold PII and at what rate");
  scan->add_option("target", file, "CSV or JSON-lines file (optionally .gz/.zst), or a PIPELINE.yaml with a file source")->required();
  scan->add_flag("--json", g.json, "One JSON object");
  scan->add_option("--rows", scan_rows, "Scan at most this many rows")->capture_default_str();

  int report_runs = 30;
  auto* report = app.add_subcommand(
      "report", "Write a self-contained HTML page of a pipeline's quality: trends across runs, failing rules with sample rows, schema versions");
  report->add_option("pipeline", pipeline, "Pipeline YAML file")->required();
  report->add_option("-o,--output", out_path, "HTML file to write (default: <pipeline name>-report.html in the current directory)");
  report->add_option("--runs", report_runs, "Show the last N runs")->check(CLI::Range(1, 100000))->capture_default_str();
  report->add_flag("--json", g.json, "Print the path and counts as one JSON object");

  DetokenizeArgs detok;
  auto* detokenize = app.add_subcommand(
      "detokenize", "Turn tokens of the tokenize mask back into values (needs the secret: the pipeline's, or --key-env)");
  detokenize->add_option("pipeline", detok.pipeline, "Pipeline YAML file whose mask transform tokenizes --column");
  detokenize->add_option("--column", detok.column, "The tokenized column (its mask's key is used)");
  detokenize->add_option("--key-env", detok.key_env, "Name of an environment variable that holds the secret");
  detokenize->add_option("--token", detok.tokens, "A token (repeatable); without any, tokens are read from stdin, one per line");
  detokenize->add_flag("--json", g.json, "One JSON object per token");

  bool drop_publication = false;
  auto* cdc = app.add_subcommand("cdc", "Change data capture: server-side objects of a cdc source");
  cdc->require_subcommand(1);
  auto* drop_slot = cdc->add_subcommand("drop-slot", "Drop the replication slot of a postgres cdc source (it retains WAL until dropped)");
  drop_slot->add_option("pipeline", pipeline, "Pipeline YAML file")->required();
  drop_slot->add_flag("--publication", drop_publication, "Also drop the publication");
  auto* uninstall = cdc->add_subcommand(
      "uninstall", "Remove what change capture installed in the source database (trigger cdc: triggers and change logs; MariaDB cdc: its watermark row and table)");
  uninstall->add_option("pipeline", pipeline, "Pipeline YAML file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  Logger log(stderr);
  log.SetJson(g.log_format == "json");
  log.SetLevel(g.log_level == "debug" ? LogLevel::kDebug
               : g.log_level == "warn" ? LogLevel::kWarn
               : g.log_level == "error" ? LogLevel::kError
                                        : LogLevel::kInfo);

  if (*run) return CmdRun(pipeline, dry_run, g, log);
  if (*check) return CmdCheck(pipeline, g, log);
  if (*infer) return CmdInfer(file, format, out_path, infer_contract, log);
  if (*show) return CmdStateShow(pipeline, stream, g, log);
  if (*reset) return CmdStateReset(pipeline, stream, schemas, log);
  if (*conns) return CmdConnectors(*describe ? type : "", g);
  if (*qlist) return CmdQuarantineList(pipeline, g, log);
  if (*qreplay) return CmdQuarantineReplay(pipeline, g, log);
  if (*qshow) return CmdQuarantineShow(pipeline, limit, g, log);
  if (*scan) return CmdScan(file, scan_rows, g, log);
  if (*detokenize) return CmdDetokenize(detok, g, log);
  if (*report) return CmdReport(pipeline, out_path, report_runs, g, log);
  if (*drop_slot) return CmdCdcDropSlot(pipeline, drop_publication, log);
  if (*uninstall) return CmdCdcUninstall(pipeline, g, log);
  return 2;
}
