// `sluice scan`: reads the first rows of a file (or of the files a pipeline's `file` source
// matches) with every column as raw text, and reports the columns quality/pii finds PII in.
// Never prints a value: only column names, kinds and counts.

#include "cli/scan.h"

#include "connectors/file/file_source.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "config/config_node.h"
#include "config/options.h"
#include "config/pipeline_config.h"
#include "connectors/connector.h"
#include "connectors/file/byte_reader.h"
#include "core/record_batch.h"
#include "core/strings.h"
#include "formats/format.h"
#include "quality/pii/detect.h"

namespace sluice {

namespace {

namespace fs = std::filesystem;

constexpr size_t kChunk = 1u << 20;

// Collects rows of any number of files into one batch of nullable string columns, one column
// per distinct name (CSV header or JSON key), so ScanBatch sees the raw text of every value and
// its rates cover the whole sample.
class StringCollector : public RowConsumer {
 public:
  StringCollector(int64_t max_rows, std::vector<std::string> null_values)
      : max_rows_(max_rows), null_values_(std::move(null_values)), builder_(std::make_shared<Schema>()) {}

  std::vector<int> OnHeader(const std::vector<std::string>& names) override {
    std::vector<int> slots;
    slots.reserve(names.size());
    for (const auto& n : names) slots.push_back(Slot(n));
    return slots;
  }
  int Slot(std::string_view name) override {
    auto it = slot_by_name_.find(std::string(name));
    if (it != slot_by_name_.end()) return it->second;
    int slot = static_cast<int>(builder_.num_columns());
    builder_.AddField(Field{std::string(name), DataType::String(), true});
    slot_by_name_.emplace(std::string(name), slot);
    return slot;
  }
  size_t NumSlots() const override { return builder_.num_columns(); }
  bool OnRow(const FieldRef* fields, const RowOrigin& origin, std::string_view) override {
    if (done()) return false;
    for (size_t i = 0; i < builder_.num_columns(); ++i) {
      const FieldRef& f = fields[i];
      bool null = f.kind == FieldKind::kMissing || f.kind == FieldKind::kNull ||
                  (f.kind == FieldKind::kText &&
                   std::find(null_values_.begin(), null_values_.end(), f.text) != null_values_.end());
      if (null) {
        builder_.column(i).AppendNull();
      } else {
        builder_.column(i).AppendBytes(f.text);
      }
    }
    builder_.CommitRow(origin.line);
    ++rows_;
    return !done();
  }
  bool OnBadRow(const RowOrigin&, std::string_view, std::string) override {
    ++bad_rows_;  // the reason may quote the row: never shown
    return !done();
  }

  bool done() const { return rows_ >= max_rows_; }
  int64_t rows() const { return rows_; }
  int64_t bad_rows() const { return bad_rows_; }
  RecordBatchPtr Finish() { return builder_.Finish("scan", ""); }

 private:
  int64_t max_rows_;
  std::vector<std::string> null_values_;
  RecordBatchBuilder builder_;
  std::unordered_map<std::string, int> slot_by_name_;
  int64_t rows_ = 0;
  int64_t bad_rows_ = 0;
};

std::string BlockString(const ConfigNode* block, const std::string& key, const std::string& dflt) {
  if (!block) return dflt;
  const ConfigNode* n = block->Find(key);
  if (!n || !n->IsScalar()) return dflt;
  return n->scalar();
}

// Reads `path` into `c` until its end or until `c` has enough rows. `block` is the pipeline's
// source block (format, compression and CSV options), or null for defaults.
Status ScanFile(const std::string& path, const ConfigNode* block, StringCollector& c) {
  std::string format = BlockString(block, "format", "auto");
  const FormatInfo* fmt = format == "auto" ? FindFormatByPath(path) : FindFormat(format);
  if (!fmt) {
    return Status::InvalidArgument("cannot tell the format of " + path +
                                   " (expected .csv, .tsv, .jsonl, .ndjson or .json, optionally .gz or .zst)");
  }
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Status::IoError("cannot read " + path + ": not a regular file");
  ASSIGN_OR_RETURN(Compression comp, ChooseCompression(path, BlockString(block, "compression", "auto")));
  ASSIGN_OR_RETURN(auto reader, OpenByteReader(path, comp, 0, static_cast<uint64_t>(st.st_size)));

  ConfigNode empty;
  empty.SetKind(ConfigNode::Kind::kMap);
  Options opts(block ? block : &empty, &fmt->options);
  ASSIGN_OR_RETURN(auto dec, fmt->make_decoder(opts));

  std::string buf;
  bool eof = false;
  auto fill = [&](size_t want) -> Status {
    size_t target = buf.size() + want;
    while (!eof && buf.size() < target) {
      size_t old = buf.size();
      buf.resize(target);
      auto r = reader->Read(buf.data() + old, target - old);
      if (!r.ok()) {
        buf.resize(old);
        return Status::IoError(path + ": " + r.status().message());
      }
      buf.resize(old + *r);
      if (*r == 0) eof = true;
    }
    return Status::OK();
  };
  RETURN_IF_ERROR(fill(kChunk));
  size_t pos = buf.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  RETURN_IF_ERROR(dec->Sniff(std::string_view(buf).substr(pos)));
  for (;;) {
    auto h = dec->ReadHeader(std::string_view(buf).substr(pos), eof, c);
    if (h.ok()) {
      std::string_view used = std::string_view(buf).substr(pos, *h);
      dec->Seek(*h, 1 + static_cast<int64_t>(std::count(used.begin(), used.end(), '\n')));
      pos += *h;
      break;
    }
    if (!h.status().IsNotFound() || eof) return Status::IoError(path + ": " + h.status().message());
    RETURN_IF_ERROR(fill(kChunk));
  }
  while (!c.done()) {
    std::string_view data = std::string_view(buf).substr(pos);
    if (data.empty() && eof) break;
    size_t n = 0;
    if (!data.empty()) {
      auto r = dec->Decode(data, eof, c);
      if (!r.ok()) return Status::IoError(path + ": " + r.status().message());
      n = *r;
      pos += n;
    }
    if (c.done()) break;
    if (n == 0) {
      if (eof) break;  // nothing more can be decoded
      buf.erase(0, pos);
      pos = 0;
      RETURN_IF_ERROR(fill(kChunk));
    }
  }
  return Status::OK();
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The column name hints at the reported kind (an "ip" hint covers IPv6 too).
bool NameHints(const ColumnPiiStats& c) {
  auto hint = PiiKindHintFromName(c.column);
  if (!hint) return false;
  return *hint == c.kind || (*hint == PiiKind::kIpv4 && c.kind == PiiKind::kIpv6);
}

std::string Dump(const nlohmann::ordered_json& j) { return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace); }

}  // namespace

int CmdScan(const std::string& target, int64_t max_rows, const GlobalFlags& g, Logger& log) {
  auto report = [&](const std::string& msg) {
    if (log.json()) {
      log.Error(msg);
    } else {
      std::fprintf(stderr, "sluice: %s\n", msg.c_str());
    }
  };
  auto fail = [&](const Status& st) {
    report("scan: " + st.message());
    return st.IsInvalidArgument() ? 2 : 1;
  };
  if (max_rows <= 0) {
    report("scan: --rows must be at least 1");
    return 2;
  }

  const bool is_pipeline = EndsWith(target, ".yaml") || EndsWith(target, ".yml");
  std::vector<std::string> files;
  std::string pipeline_name;
  PipelineConfig cfg;
  const ConfigNode* block = nullptr;
  std::vector<std::string> null_values = {""};
  if (is_pipeline) {
    auto r = LoadPipeline(target, BuiltinConnectors());
    if (!r.ok()) {
      report("config error: " + r.status().message());
      return 2;
    }
    cfg = std::move(r).value();
    pipeline_name = cfg.name;
    if (cfg.source_type != "file") {
      report("scan: source type '" + cfg.source_type + "' of pipeline " + cfg.name +
             " is not supported yet; scan supports the file source (or scan a file directly)");
      return 2;
    }
    block = &cfg.source();
    const ConfigNode* p = block->Find("path");
    auto patterns = p ? p->AsStringList() : Result<std::vector<std::string>>(std::vector<std::string>{});
    if (!patterns.ok() || patterns->empty()) {
      report("config error: " + block->Where() + ".path: no file given");
      return 2;
    }
    if (const ConfigNode* nv = block->Find("null_values")) {
      auto l = nv->AsStringList();
      if (l.ok()) null_values = *l;
    }
    for (const auto& pat : *patterns) {
      for (auto& f : ExpandFilePattern(cfg.base_dir, pat)) {
        if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(std::move(f));
      }
    }
    if (files.empty()) {
      report("scan: no file matches " + Join(*patterns, ", ") + " (relative to " + cfg.base_dir + ")");
      return 1;
    }
  } else {
    files.push_back(target);
  }

  StringCollector c(max_rows, null_values);
  std::vector<std::string> scanned;
  for (const auto& f : files) {
    if (c.done()) break;
    Status st = ScanFile(f, block, c);
    if (!st.ok()) return fail(st);
    scanned.push_back(f);
  }

  RecordBatchPtr batch = c.Finish();
  std::vector<ColumnPiiStats> cols = ScanBatch(*batch);
  std::stable_sort(cols.begin(), cols.end(),
                   [](const ColumnPiiStats& a, const ColumnPiiStats& b) { return a.rate > b.rate; });

  if (g.json) {
    nlohmann::ordered_json j;
    if (is_pipeline) {
      j["pipeline"] = pipeline_name;
      j["files"] = scanned;
    } else {
      j["file"] = target;
    }
    j["rows_scanned"] = c.rows();
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const auto& s : cols) {
      arr.push_back({{"column", s.column}, {"kind", PiiKindName(s.kind)}, {"rate", s.rate},
                     {"matches", s.matches}, {"non_null", s.non_null}});
    }
    j["columns"] = arr;
    std::printf("%s\n", Dump(j).c_str());
    return 0;
  }

  std::string what = is_pipeline ? "pipeline " + pipeline_name + " (" + std::to_string(scanned.size()) +
                                       (scanned.size() == 1 ? " file)" : " files)")
                                 : target;
  std::printf("scanned %lld rows of %s\n", static_cast<long long>(c.rows()), what.c_str());
  if (c.bad_rows() > 0) {
    std::printf("%lld rows could not be parsed and were not scanned\n", static_cast<long long>(c.bad_rows()));
  }
  if (cols.empty()) {
    std::printf("no PII found\n");
    return 0;
  }
  size_t w = 6;
  for (const auto& s : cols) w = std::max(w, s.column.size());
  std::printf("%-*s  %-11s  %6s  %s\n", static_cast<int>(w), "column", "kind", "rate", "matches/non_null");
  for (const auto& s : cols) {
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.1f%%", s.rate * 100);
    std::string counts = std::to_string(s.matches) + "/" + std::to_string(s.non_null);
    std::printf("%-*s  %-11s  %6s  %s%s\n", static_cast<int>(w), s.column.c_str(), PiiKindName(s.kind), rate,
                counts.c_str(), NameHints(s) ? "  (hint: name)" : "");
  }
  return 0;
}

}  // namespace sluice
