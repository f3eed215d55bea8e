#include "config/mode_pairs.h"

#include <string>
#include <vector>

namespace sluice {
namespace {

std::string Scalar(const ConfigNode& block, const std::string& key, const std::string& fallback = "") {
  const ConfigNode* n = block.Find(key);
  return n && n->IsScalar() ? n->scalar() : fallback;
}

std::vector<std::string> List(const ConfigNode& block, const std::string& key) {
  const ConfigNode* n = block.Find(key);
  if (!n) return {};
  auto l = n->AsStringList();
  return l.ok() ? *l : std::vector<std::string>{};
}

Status Refuse(const ConfigNode& at, const std::string& why) { return Status::InvalidArgument(at.Where() + ": " + why); }

}  // namespace

std::string EffectiveSinkMode(const ConfigNode& sink) {
  const std::string type = Scalar(sink, "type");
  if (type == "discard" || type == "stdout") return "";  // nothing kept across runs
  // A jsonl file of change events is a changelog: every change once, in order.
  if (type == "jsonl" && Scalar(sink, "envelope") == "debezium") return "changelog";
  return Scalar(sink, "mode", "append");
}

Status CheckModePair(const ConfigNode& source, const ConfigNode& sink, const std::string& default_source_mode) {
  const std::string mode = Scalar(source, "mode", default_source_mode);
  if (mode.empty()) return Status::OK();
  const std::string sink_mode = EffectiveSinkMode(sink);
  const ConfigNode& sink_at = sink.Find("mode") ? *sink.Find("mode") : sink;
  if (sink_mode.empty()) return Status::OK();

  if ((mode == "cdc" || mode == "trigger") && sink_mode != "replicate" && sink_mode != "changelog") {
    return Refuse(sink_at, "source mode " + mode + " emits updates and deletes; sink mode " + sink_mode +
                               " would load them as new rows. Use mode: replicate (an exact replica) or mode: changelog "
                               "(every change as a row)");
  }
  if (!Scalar(source, "deleted_flag").empty() && sink_mode != "replicate") {
    return Refuse(sink_at, "the source maps deleted_flag: " + Scalar(source, "deleted_flag") +
                               " to deletes, which sink mode " + sink_mode +
                               " cannot apply (deleted rows would stay). Use mode: replicate with key:");
  }
  if (sink_mode != "append") return Status::OK();
  if (mode == "full") {
    return Refuse(sink_at, "source mode full reads every row again on each run, so sink mode append would load "
                           "them again each time. Use mode: replace (a full refresh) or mode: upsert with key:");
  }
  if (mode == "incremental") {
    const std::string cursor = Scalar(source, "cursor");
    const std::vector<std::string> key = List(source, "key");
    if (!(key.size() == 1 && key[0] == cursor)) {
      return Refuse(sink_at, "source mode incremental on cursor '" + cursor +
                                 "' reads a row again each time it is updated, so sink mode append would keep every "
                                 "version. Use mode: upsert with key: (or, when '" + cursor +
                                 "' only grows on insert, such as an id, say so with key: [" + cursor + "] on the source)");
    }
  }
  if (mode == "query" && Scalar(source, "query").find(":cursor") == std::string::npos) {
    return Refuse(sink_at, "the source query has no :cursor parameter, so each run reads the same rows again and "
                           "sink mode append would load them again. Use mode: replace or upsert, or add :cursor to "
                           "the query's WHERE clause with cursor:");
  }
  return Status::OK();
}

}  // namespace sluice
