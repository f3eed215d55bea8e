#include "quality/replay.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/strings.h"
#include "formats/assembler.h"
#include "formats/format.h"
#include "quality/quarantine.h"
#include "state/state_store.h"

namespace sluice {

namespace {

constexpr const char* kReplayStream = "_replay";

// "path:line" -> (path, line); "path@offset" -> (path, offset).
bool SplitLast(const std::string& s, char sep, std::string* head, int64_t* n) {
  size_t at = s.rfind(sep);
  if (at == std::string::npos) return false;
  std::string tail = s.substr(at + 1);
  size_t hash = tail.find('#');
  if (hash != std::string::npos) tail.resize(hash);
  *head = s.substr(0, at);
  return !tail.empty() && std::all_of(tail.begin(), tail.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
         (*n = std::stoll(tail), true);
}

class ReplaySource : public Source {
 public:
  ReplaySource(ConnectorContext ctx, QuarantineStore* q) : ctx_(std::move(ctx)), q_(q) {}

  Status Open(const StateMap& committed) override {
    started_ = QuarantineNow();
    // Records checkpointed by an earlier replay whose deletion did not happen (a crash between
    // the sink's commit and the delete): delete them now, unless rewritten since.
    std::map<std::string, std::vector<std::string>> by_marker;
    for (const auto& [k, v] : committed) {
      if (k.first == kReplayStream && StartsWith(k.second, "q:")) by_marker[v].push_back(k.second.substr(2));
    }
    for (const auto& [marker, ids] : by_marker) RETURN_IF_ERROR(q_->DeleteOlderThan(ctx_.pipeline, ids, marker));
    ASSIGN_OR_RETURN(entries_, q_->List(ctx_.pipeline, INT64_MAX));
    if (ctx_.state) {
      // The keys the pipeline's own source reported (CDC, triggers): a replicate sink needs them.
      ASSIGN_OR_RETURN(auto keys, ctx_.state->LoadStreamKeys(ctx_.pipeline));
      for (auto& [stream, key] : keys) ctx_.stream_keys->Report(stream, std::move(key));
    }
    return Status::OK();
  }

  std::vector<std::string> DescribePlan() override {
    return {std::to_string(entries_.size()) + " quarantined record(s) to replay"};
  }

  Status Run(Emitter& out) override {
    // One unit per (stream, origin file, kind of raw), in the order they were recorded.
    for (const QuarantineEntry& e : entries_) {
      if (out.StopRequested()) return Status::OK();
      if (StartsWith(e.row.raw, "[redacted")) {
        ++skipped_redacted_;
        continue;
      }
      RETURN_IF_ERROR(ReplayOne(e, out));
    }
    if (skipped_redacted_ > 0) {
      ctx_.log->Warn("records whose raw text was redacted for privacy cannot be replayed; they stay",
                     {{"records", std::to_string(skipped_redacted_)}});
    }
    return Status::OK();
  }

  void OnCommitted(const std::vector<SourcePosition>& positions) override {
    std::vector<std::string> ids;
    std::string marker;
    for (const auto& p : positions) {
      if (p.stream != kReplayStream || !StartsWith(p.key, "q:")) continue;
      ids.push_back(p.key.substr(2));
      marker = p.value;
    }
    std::lock_guard<std::mutex> g(mu_);
    Status st = q_->DeleteOlderThan(ctx_.pipeline, ids, marker);
    if (!st.ok()) ctx_.log->Error("could not remove replayed records from the quarantine; the next replay will",
                                  {{"error", st.message()}});
  }

 private:
  Result<SchemaPtr> SchemaOf(const std::string& stream) {
    auto it = schemas_.find(stream);
    if (it != schemas_.end()) return it->second;
    SchemaPtr s = std::make_shared<Schema>();
    if (ctx_.state) {
      ASSIGN_OR_RETURN(auto v, ctx_.state->LoadSchema(ctx_.pipeline, stream));
      if (v) s = std::make_shared<Schema>(v->schema);
    }
    schemas_[stream] = s;
    return s;
  }

  Status ReplayOne(const QuarantineEntry& e, Emitter& out) {
    const RejectedRow& r = e.row;
    std::string unit;
    int64_t line = 0, offset = 0;
    if (!SplitLast(r.origin, ':', &unit, &line)) {
      unit = r.origin;
      line = 1;
    }
    std::string pos_unit;
    if (SplitLast(r.position_key, '@', &pos_unit, &offset) && pos_unit != unit) offset = 0;
    ASSIGN_OR_RETURN(SchemaPtr schema, SchemaOf(r.stream));
    BatchAssembler as(r.stream, unit, schema, AssemblerOptions{});
    auto parsed = nlohmann::json::parse(r.raw, nullptr, false);
    std::unique_ptr<Decoder> dec;
    ConfigNode empty;
    empty.SetKind(ConfigNode::Kind::kMap);
    if (parsed.is_object()) {
      const FormatInfo* f = FindFormat("jsonl");
      Options o(&empty, &f->options);
      ASSIGN_OR_RETURN(dec, f->make_decoder(o));
    } else {
      // A raw source line: its file's header says which value is which column.
      const FormatInfo* f = FindFormatByPath(unit);
      if (!f) return Keep(e, "cannot tell the format of " + unit);
      Options o(&empty, &f->options);
      ASSIGN_OR_RETURN(dec, f->make_decoder(o));
      std::string head(1 << 20, '\0');
      int fd = ::open(unit.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return Keep(e, "its file " + unit + " is gone, so its columns are unknown");
      ssize_t n = pread(fd, head.data(), head.size(), 0);
      close(fd);
      head.resize(n > 0 ? static_cast<size_t>(n) : 0);
      std::string_view view = head;
      if (StartsWith(view, "\xEF\xBB\xBF")) view.remove_prefix(3);
      RETURN_IF_ERROR(dec->Sniff(view));
      auto h = dec->ReadHeader(view, true, as);
      if (!h.ok()) return Keep(e, "cannot read the header of " + unit);
    }
    dec->Seek(static_cast<uint64_t>(offset), line);
    std::string text = r.raw + "\n";
    auto used = dec->Decode(text, true, as);
    if (!used.ok()) return used.status();
    Envelope env;
    env.batch = as.TakeBatch();
    env.rejects = as.TakeRejects();
    if (!env.batch && env.rejects.empty()) return Keep(e, "nothing to replay in its raw text");
    env.positions.push_back({kReplayStream, "q:" + e.id, started_});
    return out.Emit(std::move(env));
  }

  // A record that cannot be replayed stays where it is; the replay says why.
  Status Keep(const QuarantineEntry& e, const std::string& why) {
    ctx_.log->Warn("record stays in the quarantine: " + why, {{"origin", e.row.origin}});
    return Status::OK();
  }

  ConnectorContext ctx_;
  QuarantineStore* q_;
  std::string started_;
  std::vector<QuarantineEntry> entries_;
  std::map<std::string, SchemaPtr> schemas_;
  int64_t skipped_redacted_ = 0;
  std::mutex mu_;
};

}  // namespace

SourceFactory QuarantineReplaySourceFactory(QuarantineStore* quarantine) {
  return [quarantine](const ConnectorContext& ctx, const ConfigNode&) -> Result<std::unique_ptr<Source>> {
    return std::unique_ptr<Source>(new ReplaySource(ctx, quarantine));
  };
}

}  // namespace sluice
