// The `jsonl` and `csv` file sinks. Exactly-once by truncation: the length of every output file
// is recorded in the state store with each commit, and a new sink cuts the file back to it, so
// rows of a group that never committed (a crash, an abort) are gone before the source replays
// them.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "connectors/file_sinks/internal.h"
#include "connectors/file_sinks/output_file.h"
#include "connectors/sql/changelog.h"
#include "core/log.h"
#include "core/strings.h"
#include "formats/csv/csv_encoder.h"
#include "formats/json/jsonl_encoder.h"
#include "state/state_store.h"

namespace sluice::file_sinks {

namespace {

constexpr int64_t kChunkRows = 4096;             // rows encoded between flush checks
constexpr std::string_view kStreamVar = "{stream}";
constexpr std::string_view kLengthKey = "output_length:";
constexpr std::string_view kColumnsKey = "csv_columns:";
constexpr size_t kMaxHeaderBytes = 1u << 20;

std::string ReplaceStream(const std::string& tmpl, const std::string& stream) {
  std::string name = StreamFileName(stream);
  std::string out;
  size_t from = 0;
  for (size_t at = tmpl.find(kStreamVar); at != std::string::npos; at = tmpl.find(kStreamVar, from)) {
    out.append(tmpl, from, at - from);
    out += name;
    from = at + kStreamVar.size();
  }
  out.append(tmpl, from);
  return out;
}

// True when `path` is what `tmpl` gives for some stream.
bool MatchesTemplate(std::string_view path, const std::string& tmpl) {
  std::vector<std::string_view> parts;
  std::string_view rest = tmpl;
  for (size_t at = rest.find(kStreamVar); at != std::string_view::npos; at = rest.find(kStreamVar)) {
    parts.push_back(rest.substr(0, at));
    rest.remove_prefix(at + kStreamVar.size());
  }
  parts.push_back(rest);
  if (parts.size() == 1) return path == tmpl;
  if (!StartsWith(path, parts.front()) || path.size() < parts.front().size() + parts.back().size() ||
      !EndsWith(path, parts.back())) {
    return false;
  }
  size_t pos = parts.front().size();
  size_t end = path.size() - parts.back().size();
  for (size_t k = 1; k + 1 < parts.size(); ++k) {
    size_t at = path.substr(0, end).find(parts[k], pos + 1);
    if (at == std::string_view::npos) return false;
    pos = at + parts[k].size();
  }
  return end > pos;
}

bool ParseLength(const std::string& text, uint64_t* out) {
  auto r = std::from_chars(text.data(), text.data() + text.size(), *out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

// Reads the header line of a CSV file this sink (or someone else) wrote, within its first
// `length` bytes.
Result<std::vector<std::string>> ReadCsvHeader(const std::string& path, uint64_t length, char delim) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::IoError("cannot read the CSV header of " + path + ": " + std::strerror(errno));
  std::string data(std::min<uint64_t>(length, kMaxHeaderBytes), '\0');
  size_t n = std::fread(data.data(), 1, data.size(), f);
  std::fclose(f);
  data.resize(n);
  std::string_view s = data;
  if (StartsWith(s, "\xEF\xBB\xBF")) s.remove_prefix(3);
  std::vector<std::string> names(1);
  bool quoted = false;
  size_t i = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c != '"') names.back().push_back(c);
      else if (i + 1 < s.size() && s[i + 1] == '"') names.back().push_back(s[++i]);
      else quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == delim) {
      names.emplace_back();
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      names.back().push_back(c);
    }
  }
  if (i == s.size() && n < length) {
    return Status::Permanent("the first line of " + path + " is not a CSV header this sink can read "
                             "(no line end within " + HumanBytes(kMaxHeaderBytes) + ")");
  }
  return names;
}

class FileSink final : public Sink {
 public:
  FileSink(const ConnectorContext& ctx, FileSinkSettings s)
      : ctx_(ctx), s_(std::move(s)), csv_(s_.delimiter),
        templated_(s_.path.find(kStreamVar) != std::string::npos) {}

  Status Open() override {
    if (!ctx_.state) return Status::Internal(TypeName() + " sink '" + s_.name + "' needs the state store");
    ASSIGN_OR_RETURN(stored_, ctx_.state->LoadPositions(ctx_.pipeline, s_.name));
    opened_ = true;
    if (ctx_.dry_run) return Status::OK();
    // Cut every file of this sink back to its committed length before anything is replayed.
    for (const auto& [k, v] : stored_) {
      if (!k.first.empty() || !StartsWith(k.second, kLengthKey)) continue;
      std::string path = k.second.substr(kLengthKey.size());
      if (!MatchesTemplate(path, s_.path)) continue;  // from an earlier `path:`; left alone
      ASSIGN_OR_RETURN(Target * t, Attach(path));
      (void)t;
    }
    // A single file is recorded now, so that a crash before the first commit is undone too.
    if (!templated_) {
      ASSIGN_OR_RETURN(Target * t, Attach(s_.path));
      (void)t;
    }
    return Status::OK();
  }

  Result<StateMap> LoadState() override {
    if (!ctx_.state) return Status::Internal(TypeName() + " sink '" + s_.name + "' needs the state store");
    return ctx_.state->LoadPositions(ctx_.pipeline, s_.name);
  }

  Status Write(const RecordBatch& batch) override {
    if (!opened_) return Status::Internal(TypeName() + " sink: Write before Open");
    if (ctx_.dry_run) return Status::OK();
    ASSIGN_OR_RETURN(Target * t, TargetFor(batch.stream));
    t->touched = true;
    if (s_.format == TextFormat::kCsv) RETURN_IF_ERROR(PrepareCsvLayout(*t, batch));
    const int64_t n = batch.num_rows();
    for (int64_t b = 0; b < n; b += kChunkRows) {
      int64_t e = std::min(n, b + kChunkRows);
      if (s_.format == TextFormat::kCsv) {
        csv_.Encode(batch, b, e, t->file.buffer(), &t->mapping);
      } else if (s_.debezium) {
        const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
        std::string& out = t->file.buffer();
        for (int64_t r = b; r < e; ++r) {
          sql::AppendDebeziumEventJson(batch, r, now_ms, out);
          out += '\n';
        }
      } else {
        jsonl_.Encode(batch, b, e, t->file.buffer());
      }
      RETURN_IF_ERROR(t->file.MaybeFlush());
    }
    return Status::OK();
  }

  Status Commit(const CommitState& state) override {
    if (!opened_) return Status::Internal(TypeName() + " sink: Commit before Open");
    if (ctx_.dry_run) return Status::OK();
    CommitState full = state;
    for (auto& [path, t] : targets_) {
      if (!t->touched) continue;
      Status st = t->file.Sync();
      if (!st.ok()) {
        (void)RollbackAll();
        return st;
      }
      full.positions.push_back({"", std::string(kLengthKey) + path, std::to_string(t->file.size())});
      if (s_.format == TextFormat::kCsv && !s_.header && t->has_layout) {
        full.positions.push_back({"", std::string(kColumnsKey) + path, nlohmann::json(t->columns).dump()});
      }
    }
    Status st = ctx_.state->SavePositions(ctx_.pipeline, s_.name, full);
    if (!st.ok()) {
      (void)RollbackAll();
      return st.WithContext(TypeName() + " sink '" + s_.name + "': recording the commit");
    }
    for (auto& [path, t] : targets_) {
      if (!t->touched) continue;
      t->file.MarkCommitted();
      t->layout_committed = t->has_layout;
      t->touched = false;
    }
    for (const auto& p : full.positions) stored_[{p.stream, p.key}] = p.value;
    return Status::OK();
  }

  Status Abort() override { return RollbackAll(); }

  Status Close() override {
    Status st = RollbackAll();  // nothing is open after Finish; this only matters on error paths
    for (auto& [path, t] : targets_) t->file.Close();
    return st;
  }

  Status ResetState(const std::string& stream) override {
    if (!ctx_.state) return Status::Internal(TypeName() + " sink '" + s_.name + "' needs the state store");
    RETURN_IF_ERROR(ctx_.state->ResetPositions(ctx_.pipeline, s_.name, stream));
    if (stream.empty()) stored_.clear();
    return Status::OK();
  }

  bool transactional() const override { return false; }

  std::string Describe() const override {
    std::string d = TypeName() + " " + s_.path;
    if (s_.format == TextFormat::kCsv) {
      if (s_.delimiter != ',') d += s_.delimiter == '\t' ? " delimiter=tab" : std::string(" delimiter='") + s_.delimiter + "'";
      if (!s_.header) d += " header=false";
    }
    if (s_.debezium) d += " envelope=debezium";
    return d;
  }

 private:
  // One output file.
  struct Target {
    OutputFile file;
    bool touched = false;  // written to in the open group
    // CSV: the file's columns, fixed by its header (or, without one, by the first batch).
    bool has_layout = false;
    bool layout_committed = false;
    std::vector<std::string> columns;
    SchemaPtr mapped_schema;  // the schema `mapping` was computed for
    std::vector<int> mapping;
  };

  std::string TypeName() const { return s_.format == TextFormat::kCsv ? "csv" : "jsonl"; }

  Result<Target*> TargetFor(const std::string& stream) {
    auto it = by_stream_.find(stream);
    if (it != by_stream_.end()) return it->second;
    std::string path = templated_ ? ReplaceStream(s_.path, stream) : s_.path;
    ASSIGN_OR_RETURN(Target * t, Attach(path));
    by_stream_[stream] = t;
    return t;
  }

  // Opens `path` and settles its committed length: the stored one (cutting off anything after
  // it), or, for a file this sink has never committed to, its current length, recorded at once.
  Result<Target*> Attach(const std::string& path) {
    auto found = targets_.find(path);
    if (found != targets_.end()) return found->second.get();
    auto t = std::make_unique<Target>();
    std::string length_key = std::string(kLengthKey) + path;
    auto stored = stored_.find({"", length_key});
    if (stored != stored_.end()) {
      uint64_t length = 0;
      if (!ParseLength(stored->second, &length)) {
        return Status::Corruption("state store: bad output length '" + stored->second + "' for " + path);
      }
      struct stat st {};
      bool exists = ::stat(path.c_str(), &st) == 0;
      if (length > 0 && (!exists || static_cast<uint64_t>(st.st_size) < length)) {
        return Status::Permanent(
            path + (exists ? " is shorter (" + std::to_string(st.st_size) + " bytes) than" : " is missing but has") +
            " the " + std::to_string(length) + " bytes that pipeline '" + ctx_.pipeline + "' committed to it; it " +
            "was changed outside sluice. Restore the file, or run `sluice state reset` on this pipeline to load "
            "everything again from the start.");
      }
      RETURN_IF_ERROR(t->file.Open(path));
      if (t->file.size() > length && ctx_.log) {
        ctx_.log->Info("removing the uncommitted end of an output file",
                       {{"file", path}, {"bytes", std::to_string(t->file.size() - length)}});
      }
      RETURN_IF_ERROR(t->file.TruncateTo(length));
    } else {
      RETURN_IF_ERROR(t->file.Open(path));
      uint64_t length = t->file.size();
      CommitState first;
      first.positions.push_back({"", length_key, std::to_string(length)});
      Status st = ctx_.state->SavePositions(ctx_.pipeline, s_.name, first);
      if (!st.ok()) return st.WithContext(TypeName() + " sink '" + s_.name + "': recording " + path);
      stored_[{"", length_key}] = std::to_string(length);
      RETURN_IF_ERROR(t->file.TruncateTo(length));  // marks it committed
    }
    if (s_.format == TextFormat::kCsv) RETURN_IF_ERROR(LoadCsvLayout(*t));
    Target* raw = t.get();
    targets_[path] = std::move(t);
    return raw;
  }

  Status LoadCsvLayout(Target& t) {
    const std::string& path = t.file.path();
    if (s_.header) {
      if (t.file.committed() == 0) return Status::OK();
      ASSIGN_OR_RETURN(t.columns, ReadCsvHeader(path, t.file.committed(), s_.delimiter));
    } else {
      auto it = stored_.find({"", std::string(kColumnsKey) + path});
      if (it == stored_.end()) return Status::OK();
      auto j = nlohmann::json::parse(it->second, nullptr, false);
      if (!j.is_array()) return Status::Corruption("state store: bad column list for " + path);
      for (const auto& name : j) {
        if (!name.is_string()) return Status::Corruption("state store: bad column list for " + path);
        t.columns.push_back(name.get<std::string>());
      }
    }
    t.has_layout = t.layout_committed = true;
    return Status::OK();
  }

  // Maps the batch's columns onto the file's columns, writing the header when the file is new.
  Status PrepareCsvLayout(Target& t, const RecordBatch& batch) {
    if (t.mapped_schema == batch.schema()) return Status::OK();
    const Schema& schema = *batch.schema();
    if (!t.has_layout) {
      t.columns.clear();
      for (const Field& f : schema.fields()) t.columns.push_back(f.name);
      t.has_layout = true;
      if (s_.header) csv_.EncodeHeader(t.columns, t.file.buffer());
    }
    for (const Field& f : schema.fields()) {
      if (std::find(t.columns.begin(), t.columns.end(), f.name) != t.columns.end()) continue;
      std::string stream = batch.stream.empty() ? "" : " of stream '" + batch.stream + "'";
      return Status::Permanent(
          "csv sink '" + s_.name + "': column '" + f.name + "'" + stream + " is not in " +
          (s_.header ? "the header of " : "the columns already written to ") + t.file.path() + " (" +
          Join(t.columns, ", ") + "). A CSV file cannot gain a column once rows are in it: write each "
          "stream to its own file with {stream} in `path:`, use the jsonl sink, or start a new file.");
    }
    t.mapping.clear();
    for (const std::string& name : t.columns) t.mapping.push_back(schema.IndexOf(name));
    t.mapped_schema = batch.schema();
    return Status::OK();
  }

  // Drops the open group everywhere; returns the first error.
  Status RollbackAll() {
    Status first;
    for (auto& [path, t] : targets_) {
      if (!t->touched || !t->file.is_open()) continue;
      Status st = t->file.Rollback();
      if (!st.ok() && first.ok()) first = st;
      if (!t->layout_committed) {
        t->has_layout = false;
        t->columns.clear();
      }
      t->mapped_schema.reset();
      t->touched = false;
    }
    return first;
  }

  ConnectorContext ctx_;
  FileSinkSettings s_;
  JsonlEncoder jsonl_;
  CsvEncoder csv_;
  bool templated_;
  bool opened_ = false;
  StateMap stored_;
  std::map<std::string, std::unique_ptr<Target>> targets_;  // by absolute path
  std::map<std::string, Target*> by_stream_;
};

}  // namespace

std::string StreamFileName(const std::string& stream) {
  std::string out;
  out.reserve(stream.size());
  for (char c : stream) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(c == '/' || c == '\\' || u < 0x20 ? '_' : c);
  }
  if (out.empty()) return "default";
  if (out == "." || out == "..") return std::string(out.size(), '_');
  return out;
}

std::unique_ptr<Sink> MakeFileSink(const ConnectorContext& ctx, FileSinkSettings settings) {
  return std::make_unique<FileSink>(ctx, std::move(settings));
}

}  // namespace sluice::file_sinks
