// The `file` source: local files (a path, a glob or a list of them) in CSV or JSON lines,
// optionally gzip/zstd compressed. Each file is a unit of work; its checkpoint holds the file's
// identity and the uncompressed offset reached, so reruns read only new files and appended rows.

#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "config/pipeline_config.h"
#include "connectors/connector.h"
#include "connectors/file/byte_reader.h"
#include "connectors/file/file_source.h"
#include "core/log.h"
#include "core/strings.h"
#include "formats/assembler.h"
#include "formats/format.h"
#include "state/state_store.h"

namespace sluice {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunkBytes = 4u << 20;
constexpr size_t kHeadBytes = 2u << 20;
constexpr uint64_t kFingerprintSpan = 64u << 10;

const OptionSchema& FileSourceOptions() {
  static const OptionSchema schema = [] {
    OptionSchema s = {
        {"path", OptionType::kStringList, "", "A file, a glob (`data/*.csv`, `logs/**/*.jsonl`) or a list of them. Relative to the pipeline file.", true},
        {"format", OptionType::kEnum, "auto", "csv, jsonl, or auto (from the extension).", false, {"auto", "csv", "jsonl", "json", "ndjson", "tsv"}},
        {"compression", OptionType::kEnum, "auto", "none, gzip, zstd, or auto (from the file's first bytes).", false, {"auto", "none", "gzip", "zstd"}},
        {"stream", OptionType::kString, "", "Stream name (the sink's default table). Defaults to the pipeline name."},
        {"on_file_change", OptionType::kEnum, "error", "When an already-read prefix of a file changed: error (stop), reload (read it again from the start) or ignore (skip the file).", false, {"error", "reload", "ignore"}},
        {"settle_time", OptionType::kDuration, "1s", "A last line without a newline is read only once the file has not been modified for this long (it may still be growing)."},
        {"infer_rows", OptionType::kInt, "10000", "Rows sampled to infer the schema when none is declared."},
        {"null_values", OptionType::kStringList, "", "Unquoted texts read as null (CSV). Default: the empty field."},
    };
    for (const FormatInfo& f : Formats()) {
      for (const OptionSpec& o : f.options) {
        if (std::none_of(s.begin(), s.end(), [&](const OptionSpec& x) { return x.name == o.name; })) {
          OptionSpec copy = o;
          copy.doc = "[" + f.name + "] " + copy.doc;
          s.push_back(copy);
        }
      }
    }
    return s;
  }();
  return schema;
}

struct FileCheckpoint {
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0;
  uint64_t offset = 0;   // uncompressed bytes consumed
  int64_t line = 1;      // line of the next row
  uint64_t raw_end = 0;  // raw bytes the fingerprint covers
  std::string fp;
  std::string compression;
  bool done = false;  // every byte up to `size` was read (what tells a finished compressed file)

  std::string ToJson() const {
    nlohmann::json j = {{"dev", dev},   {"ino", ino},         {"size", size},          {"mtime_ns", mtime_ns},
                        {"offset", offset}, {"line", line},   {"raw_end", raw_end},    {"fp", fp},
                        {"compression", compression}, {"done", done}};
    return j.dump();
  }
  static bool FromJson(const std::string& text, FileCheckpoint* out) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) return false;
    out->dev = j.value("dev", uint64_t{0});
    out->ino = j.value("ino", uint64_t{0});
    out->size = j.value("size", uint64_t{0});
    out->mtime_ns = j.value("mtime_ns", int64_t{0});
    out->offset = j.value("offset", uint64_t{0});
    out->line = j.value("line", int64_t{1});
    out->raw_end = j.value("raw_end", uint64_t{0});
    out->fp = j.value("fp", std::string());
    out->compression = j.value("compression", std::string("none"));
    out->done = j.value("done", false);
    return true;
  }
};

// A fingerprint of raw bytes [0, end): the first and the last 64 KiB of that range, and its length.
Result<std::string> Fingerprint(int fd, uint64_t end) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  std::vector<char> buf(kFingerprintSpan);
  auto hash_range = [&](uint64_t from, uint64_t len) -> Status {
    while (len > 0) {
      ssize_t r = pread(fd, buf.data(), static_cast<size_t>(std::min<uint64_t>(len, buf.size())), static_cast<off_t>(from));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return Status::IoError(std::string("fingerprint read: ") + (r < 0 ? std::strerror(errno) : "file shrank"));
      XXH3_64bits_update(st, buf.data(), static_cast<size_t>(r));
      from += static_cast<uint64_t>(r);
      len -= static_cast<uint64_t>(r);
    }
    return Status::OK();
  };
  Status s = hash_range(0, std::min(end, kFingerprintSpan));
  if (s.ok() && end > kFingerprintSpan) {
    uint64_t tail_from = std::max(kFingerprintSpan, end - kFingerprintSpan);
    s = hash_range(tail_from, end - tail_from);
  }
  XXH3_64bits_update(st, &end, sizeof end);
  uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  if (!s.ok()) return s;
  char hex[20];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return std::string(hex);
}

Result<std::string> FingerprintPath(const std::string& path, uint64_t end) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  auto r = Fingerprint(fd, end);
  close(fd);
  return r;
}

}  // namespace

std::vector<std::string> ExpandFilePattern(const std::string& base, const std::string& pattern) {
  std::string abs = ResolvePath(base, pattern);
  std::vector<std::string> out;
  if (abs.find("**") != std::string::npos) {
    // Recursive: walk from the directory before the first wildcard and match the whole path.
    size_t wild = abs.find_first_of("*?[");
    std::string root = abs.substr(0, abs.rfind('/', wild));
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && fnmatch(abs.c_str(), it->path().c_str(), 0) == 0) out.push_back(it->path().string());
    }
  } else if (abs.find_first_of("*?[{") != std::string::npos) {
    glob_t g{};
    if (glob(abs.c_str(), GLOB_BRACE | GLOB_NOSORT, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        std::error_code ec;
        if (fs::is_regular_file(g.gl_pathv[i], ec)) out.emplace_back(g.gl_pathv[i]);
      }
    }
    globfree(&g);
  } else {
    out.push_back(abs);
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

struct PlannedFile {
  std::string path;
  struct stat st{};
  bool exists = false;
  std::string open_error;
  bool resume = false;
  FileCheckpoint ckpt;   // valid when resume
  bool skip = false;     // nothing new
  std::string note;      // why skipped / reloaded, for logs and check
};

// Runs `dec` over the head of a stream with a SchemaInferrer.
Result<Schema> InferFromHead(Decoder& dec, std::string_view head, bool head_is_all,
                             const std::vector<std::string>& null_values, int64_t max_rows, int64_t* rows) {
  bool json = dec.Describe().rfind("jsonl", 0) == 0;
  SchemaInferrer inf(null_values, json, max_rows);
  auto hdr = dec.ReadHeader(head, head_is_all, inf);
  if (!hdr.ok() && !hdr.status().IsNotFound()) return hdr.status();
  size_t used = hdr.ok() ? *hdr : 0;
  dec.Seek(used, 1 + static_cast<int64_t>(std::count(head.begin(), head.begin() + static_cast<long>(used), '\n')));
  auto r = dec.Decode(head.substr(used), head_is_all, inf);
  if (!r.ok()) return r.status();
  *rows = inf.rows();
  // A header alone says nothing about types: wait for a file with rows.
  if (*rows == 0) return Schema();
  return inf.Finish();
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

class FileSource : public Source {
 public:
  FileSource(ConnectorContext ctx, const ConfigNode& block)
      : ctx_(std::move(ctx)), block_(block), opts_(&block_, &FileSourceOptions()) {}

  Status Init() {
    patterns_ = opts_.GetList("path");
    if (patterns_.empty()) return Status::InvalidArgument(block_.Where() + ".path: no file given");
    stream_ = opts_.GetString("stream");
    if (stream_.empty()) stream_ = ctx_.pipeline;
    format_ = opts_.GetString("format");
    on_change_ = opts_.GetString("on_file_change");
    settle_s_ = opts_.GetSeconds("settle_time");
    infer_rows_ = std::max<int64_t>(1, opts_.GetInt("infer_rows"));
    asm_opts_.null_values = opts_.Has("null_values") ? opts_.GetList("null_values") : std::vector<std::string>{""};
    using Evolution = AssemblerOptions::Evolution;
    asm_opts_.evolution = ctx_.schema_evolution == "freeze"            ? Evolution::kFreeze
                          : ctx_.schema_evolution == "discard_columns" ? Evolution::kDiscardColumns
                          : ctx_.schema_evolution == "discard_rows"    ? Evolution::kDiscardRows
                                                                       : Evolution::kEvolve;
    if (format_ != "auto") {
      const FormatInfo* f = FindFormat(format_);
      if (!f) return Status::InvalidArgument(block_.Where() + ".format: unknown format '" + format_ + "'");
    }
    // Format options are checked now, so a bad `delimiter:` is a config error, not a bad file.
    for (const FormatInfo& f : Formats()) {
      if (format_ != "auto" && FindFormat(format_) != &f) continue;
      Options fopts(&block_, &f.options);
      auto dec = f.make_decoder(fopts);
      if (!dec.ok()) return dec.status();
    }
    auto it = ctx_.declared_schemas.find("");
    if (it == ctx_.declared_schemas.end()) it = ctx_.declared_schemas.find(stream_);
    if (it != ctx_.declared_schemas.end()) declared_ = it->second;
    if (declared_) {
      for (const Field& f : declared_->fields()) asm_opts_.fixed_columns.push_back(f.name);
    }
    return Status::OK();
  }

  Status Open(const StateMap& committed) override {
    committed_ = committed;
    Plan();
    return Status::OK();
  }

  std::optional<uint64_t> TotalBytes() const override {
    uint64_t total = 0;
    for (const auto& f : plan_) {
      if (f.exists && !f.skip) {
        uint64_t from = (f.resume && f.ckpt.compression == "none") ? f.ckpt.offset : 0;
        total += static_cast<uint64_t>(f.st.st_size) - std::min<uint64_t>(from, static_cast<uint64_t>(f.st.st_size));
      }
    }
    return total;
  }

  std::vector<std::string> DescribePlan() override {
    std::vector<std::string> lines;
    size_t todo = 0;
    for (const auto& f : plan_) {
      std::string state = !f.exists ? "missing: " + f.open_error
                          : f.skip  ? "up to date" + (f.note.empty() ? "" : " (" + f.note + ")")
                          : f.resume ? "resume at byte " + std::to_string(f.ckpt.offset)
                                     : "new";
      if (f.exists && !f.skip) ++todo;
      lines.push_back(f.path + ": " + state + (f.exists ? ", " + HumanBytes(static_cast<double>(f.st.st_size)) : ""));
    }
    lines.insert(lines.begin(), std::to_string(plan_.size()) + " file(s) matched, " + std::to_string(todo) + " to read");
    return lines;
  }

  std::vector<std::string> Failures() const override { return failures_; }

  Status Run(Emitter& out) override {
    for (PlannedFile& f : plan_) {
      if (out.StopRequested()) break;
      if (!f.exists) {
        failures_.push_back(f.path + ": " + f.open_error);
        ctx_.log->Error("cannot read file", {{"file", f.path}, {"error", f.open_error}});
        continue;
      }
      if (f.skip) continue;
      Status st = ReadFile(f, out);
      if (st.IsCancelled()) return Status::OK();
      // Permanent errors stop the run (on_file_change: error, schema_evolution: freeze); the others
      // are about this file only, which is reported while the rest load.
      if (st.code() == StatusCode::kPermanent) return st;
      if (!st.ok()) {
        if (st.IsTransient()) return st;
        failures_.push_back(f.path + ": " + st.message());
        ctx_.log->Error("file skipped", {{"file", f.path}, {"error", st.message()}});
      }
    }
    return Status::OK();
  }

 private:
  void Plan() {
    plan_.clear();
    std::vector<std::string> seen;
    for (const auto& pat : patterns_) {
      auto files = ExpandFilePattern(ctx_.base_dir, pat);
      if (files.empty()) ctx_.log->Warn("no file matches '" + pat + "'");
      for (auto& p : files) {
        if (std::find(seen.begin(), seen.end(), p) != seen.end()) continue;
        seen.push_back(p);
        PlannedFile f;
        f.path = p;
        if (stat(p.c_str(), &f.st) != 0) {
          f.open_error = std::strerror(errno);
          plan_.push_back(std::move(f));
          continue;
        }
        f.exists = true;
        auto it = committed_.find({stream_, "file:" + p});
        if (it != committed_.end() && FileCheckpoint::FromJson(it->second, &f.ckpt)) Classify(f);
        plan_.push_back(std::move(f));
      }
    }
  }

  // Decides, for a file read before, whether to resume it, skip it, or (it changed) apply
  // on_file_change.
  void Classify(PlannedFile& f) {
    const FileCheckpoint& c = f.ckpt;
    uint64_t size = static_cast<uint64_t>(f.st.st_size);
    bool same = size >= c.raw_end;
    if (same) {
      auto fp = FingerprintPath(f.path, c.raw_end);
      same = fp.ok() && *fp == c.fp;
    }
    if (same) {
      if (c.compression == "none") {
        f.resume = true;
        f.skip = size <= c.offset;
      } else {
        // A compressed file is done once wholly read; one that grew since is read on from the
        // uncompressed offset (concatenated gzip members or zstd frames).
        f.resume = true;
        f.skip = c.done && size == c.size;
      }
      if (f.skip) f.note = "no new rows";
      return;
    }
    changed_.push_back(f.path);
    f.note = "its already-read prefix changed";
    f.resume = false;
    if (on_change_ == "ignore") {
      f.skip = true;
      f.note += "; ignored (on_file_change: ignore)";
    } else if (on_change_ == "reload") {
      f.note += "; reloading from the start (on_file_change: reload)";
    }
  }

  struct Buffer {
    std::string data;
    size_t pos = 0;            // first unconsumed byte
    size_t validated = 0;      // bytes [0, validated) checked for UTF-8
    size_t invalid_until = 0;  // data before this index may hold invalid UTF-8
    bool eof = false;

    std::string_view view() const { return std::string_view(data).substr(pos); }
    void Compact() {
      if (pos == 0) return;
      data.erase(0, pos);
      validated -= std::min(validated, pos);
      invalid_until -= std::min(invalid_until, pos);
      pos = 0;
    }
    // Validates newly read bytes, holding back a trailing incomplete UTF-8 sequence.
    void Validate() {
      size_t end = data.size();
      if (!eof) {
        size_t k = 0;
        while (k < 3 && k < end - validated && (static_cast<unsigned char>(data[end - 1 - k]) & 0xC0) == 0x80) ++k;
        if (k < end - validated && (static_cast<unsigned char>(data[end - 1 - k]) & 0xC0) == 0xC0) end -= k + 1;
      }
      if (end <= validated) return;
      if (!simdjson::validate_utf8(data.data() + validated, end - validated)) invalid_until = end;
      validated = end;
    }
    bool ValidFromPos() const { return pos >= invalid_until && validated == data.size(); }
  };

  Status Fill(ByteReader& r, Buffer& b, size_t want) {
    if (b.pos > b.data.size() / 2) b.Compact();
    size_t target = b.data.size() + want;
    while (!b.eof && b.data.size() < target) {
      size_t at = b.data.size();
      b.data.resize(target);
      auto n = r.Read(b.data.data() + at, target - at);
      if (!n.ok()) {
        b.data.resize(at);
        return n.status();
      }
      b.data.resize(at + *n);
      if (*n == 0) b.eof = true;
    }
    b.Validate();
    return Status::OK();
  }

  // Which schema wins: the pipeline's `schema:` for the columns it names, then the stream's
  // stored schema version, then inference from this file's first rows.
  Status ResolveSchema(Decoder& dec, std::string_view head, bool head_is_all) {
    if (schema_) return Status::OK();
    std::optional<Schema> base;
    if (ctx_.state) {
      auto stored = ctx_.state->LoadSchema(ctx_.pipeline, stream_);
      if (!stored.ok()) return stored.status();
      if (*stored) base = (*stored)->schema;
    }
    if (!base) {
      int64_t rows = 0;
      ASSIGN_OR_RETURN(Schema s, InferFromHead(dec, head, head_is_all, asm_opts_.null_values, infer_rows_, &rows));
      if (s.size() == 0 && !declared_) return Status::OK();  // an empty file: try the next one
      ctx_.log->Info("inferred schema from " + std::to_string(rows) + " rows", {{"stream", stream_}});
      base = std::move(s);
    }
    if (declared_) {
      for (const Field& d : declared_->fields()) {
        int i = base->IndexOf(d.name);
        if (i < 0) base->AddField(d);
        else if (base->field(static_cast<size_t>(i)).type != d.type) {
          std::vector<Field> fields = base->fields();
          fields[static_cast<size_t>(i)].type = d.type;
          base = Schema(std::move(fields));
        }
      }
    }
    schema_ = std::make_shared<Schema>(std::move(*base));
    ctx_.log->Info("schema", {{"stream", stream_}, {"columns", schema_->ToString()}});
    if (ctx_.state && !ctx_.dry_run) RETURN_IF_ERROR(ctx_.state->SaveSchema(ctx_.pipeline, stream_, *schema_));
    return Status::OK();
  }

  Status ReadFile(PlannedFile& f, Emitter& out) {
    if (!f.note.empty() && !f.skip) {
      if (on_change_ == "error" && !f.resume && std::find(changed_.begin(), changed_.end(), f.path) != changed_.end()) {
        return Status(Status::Permanent(
            "file " + f.path + " changed since it was read (its size, inode or first/last bytes differ). "
            "Set on_file_change: reload to read it again from the start, or ignore to skip it; "
            "or `sluice state reset` to forget every file"));
      }
      ctx_.log->Warn("file changed", {{"file", f.path}, {"action", f.note}});
    }
    const uint64_t limit = static_cast<uint64_t>(f.st.st_size);
    const FormatInfo* fmt = format_ == "auto" ? FindFormatByPath(f.path) : FindFormat(format_);
    if (!fmt) {
      return Status::InvalidArgument("cannot tell the format from the file name; set format: csv or jsonl");
    }
    ASSIGN_OR_RETURN(Compression comp, ChooseCompression(f.path, opts_.GetString("compression")));
    ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> reader, OpenByteReader(f.path, comp, 0, limit));
    // One descriptor for the checkpoints' fingerprints, rather than an open per batch.
    const int fp_fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fp_fd < 0) return Status::IoError(std::string("cannot open: ") + std::strerror(errno));
    struct FdCloser {
      int fd;
      ~FdCloser() { close(fd); }
    } fp_fd_closer{fp_fd};
    Buffer b;
    Status fill = Fill(*reader, b, kHeadBytes);
    Status pending_error;  // a corrupt/truncated stream: load what came before, then report
    if (!fill.ok()) {
      if (fill.code() != StatusCode::kCorruption) return fill;
      pending_error = fill;
      b.eof = true;
    }
    if (b.data.empty() && !pending_error.ok()) return pending_error;
    size_t bom = (b.data.size() >= 3 && b.data.compare(0, 3, "\xEF\xBB\xBF") == 0) ? 3 : 0;
    // A binary file is not a text format: report it by name instead of quarantining garbage.
    std::string_view probe = std::string_view(b.data).substr(bom, 4096);
    if (size_t nul = probe.find('\0'); nul != std::string_view::npos) {
      return Status::Corruption("looks like a binary file (a NUL byte at offset " + std::to_string(bom + nul) +
                                "), not " + fmt->name + (comp == Compression::kNone ? "" : std::string(" inside ") + CompressionName(comp)));
    }
    Options fopts(&block_, &fmt->options);
    ASSIGN_OR_RETURN(std::unique_ptr<Decoder> dec, fmt->make_decoder(fopts));
    std::string_view head = std::string_view(b.data).substr(bom);
    RETURN_IF_ERROR(dec->Sniff(head));
    RETURN_IF_ERROR(ResolveSchema(*dec, head, b.eof));
    SchemaPtr schema = schema_ ? schema_ : std::make_shared<Schema>();
    BatchAssembler as(stream_, f.path, schema, asm_opts_);
    // The header, read again for this file's own column order.
    size_t hdr_len = 0;
    for (;;) {
      auto h = dec->ReadHeader(std::string_view(b.data).substr(bom), b.eof, as);
      if (h.ok()) {
        hdr_len = *h;
        break;
      }
      if (!h.status().IsNotFound() || b.eof) return h.status();
      RETURN_IF_ERROR(Fill(*reader, b, kChunkBytes));
    }
    uint64_t start = bom + hdr_len;
    int64_t start_line = 1 + static_cast<int64_t>(std::count(b.data.begin(), b.data.begin() + static_cast<long>(start), '\n'));
    if (f.resume && f.ckpt.offset > start) {
      start = f.ckpt.offset;
      start_line = f.ckpt.line;
    }
    // Position the buffer at `start`.
    if (comp == Compression::kNone && start > b.data.size()) {
      ASSIGN_OR_RETURN(reader, OpenByteReader(f.path, comp, start, limit));
      b = Buffer();
    } else {
      uint64_t skipped = 0;
      while (skipped + b.data.size() < start && !b.eof) {
        skipped += b.data.size();
        b.data.clear();
        b.pos = b.validated = b.invalid_until = 0;
        Status s = Fill(*reader, b, kChunkBytes);
        if (!s.ok()) return s;
      }
      b.pos = static_cast<size_t>(std::min<uint64_t>(start - skipped, b.data.size()));
      if (b.pos > 0) b.Compact();
    }
    dec->Seek(start, start_line);
    uint64_t raw_reported = comp == Compression::kNone ? start : 0;

    // The fingerprint of a compressed file covers all of its raw bytes, computed once.
    std::string whole_fp;
    if (comp != Compression::kNone) {
      ASSIGN_OR_RETURN(whole_fp, Fingerprint(fp_fd, limit));
    }
    const bool settled = comp != Compression::kNone ||
                         std::chrono::system_clock::now().time_since_epoch() -
                                 std::chrono::nanoseconds(MtimeNs(f.st)) >=
                             std::chrono::duration<double>(settle_s_);

    auto make_position = [&]() -> Result<SourcePosition> {
      FileCheckpoint c;
      c.dev = f.st.st_dev;
      c.ino = f.st.st_ino;
      c.size = limit;
      c.mtime_ns = MtimeNs(f.st);
      c.offset = dec->offset();
      c.line = dec->line();
      c.compression = CompressionName(comp);
      c.done = b.eof && b.pos == b.data.size();
      if (comp == Compression::kNone) {
        c.raw_end = c.offset;
        ASSIGN_OR_RETURN(c.fp, Fingerprint(fp_fd, c.raw_end));
      } else {
        c.raw_end = limit;
        c.fp = whole_fp;
      }
      return SourcePosition{stream_, "file:" + f.path, c.ToJson()};
    };
    auto emit = [&](std::vector<RejectedRow> extra) -> Status {
      Envelope env;
      env.batch = as.TakeBatch();
      env.rejects = as.TakeRejects();
      for (auto& r : extra) env.rejects.push_back(std::move(r));
      uint64_t raw_now = reader->raw_consumed() - (comp == Compression::kNone ? b.data.size() - b.pos : 0);
      if (comp != Compression::kNone && b.eof && b.pos == b.data.size()) raw_now = limit;
      env.bytes_in = raw_now > raw_reported ? raw_now - raw_reported : 0;
      raw_reported = std::max(raw_reported, raw_now);
      ASSIGN_OR_RETURN(SourcePosition pos, make_position());
      env.positions.push_back(std::move(pos));
      if (env.batch && env.batch->schema() != schema_ && !(*env.batch->schema() == *schema)) {
        // Columns appeared or widened in this file: a new version of the stream's schema.
        schema_ = env.batch->schema();
        schema = schema_;
        if (ctx_.state && !ctx_.dry_run) RETURN_IF_ERROR(ctx_.state->SaveSchema(ctx_.pipeline, stream_, *schema_));
      }
      return out.Emit(std::move(env));
    };

    // More bytes; a damaged compressed stream ends the input here, and what came before loads.
    auto read_more = [&]() -> Status {
      Status s = Fill(*reader, b, kChunkBytes);
      if (!s.ok()) {
        if (s.code() != StatusCode::kCorruption) return s;
        pending_error = s;
        b.eof = true;
        b.Validate();
      }
      return Status::OK();
    };
    for (;;) {
      if (out.StopRequested()) return Status::Cancelled("stop requested");
      bool at_eof = b.eof && settled && pending_error.ok();
      as.SetInputValidUtf8(b.ValidFromPos());
      ASSIGN_OR_RETURN(size_t used, dec->Decode(b.view(), at_eof, as));
      b.pos += used;
      if (!as.fatal().ok()) return as.fatal();
      if (as.Full()) {
        RETURN_IF_ERROR(emit({}));
        continue;
      }
      if (b.eof) break;
      // The decoder took every complete row in the buffer: the next one needs more bytes.
      RETURN_IF_ERROR(read_more());
    }
    std::vector<RejectedRow> tail;
    if (b.pos < b.data.size()) {
      if (!pending_error.ok()) {
        // The bytes after the last complete row of a damaged stream: kept, with the reason.
        RejectedRow r;
        r.stream = stream_;
        r.origin = f.path + ":" + std::to_string(dec->line());
        r.position_key = f.path + "@" + std::to_string(dec->offset());
        r.raw = std::string(b.view());
        r.rule = "parse";
        r.reason = "incomplete row at the end of a damaged file: " + pending_error.message();
        tail.push_back(std::move(r));
        // Counted as read: the checkpoint moves past it so a rerun does not report it twice.
        dec->Seek(dec->offset() + (b.data.size() - b.pos), dec->line() + 1);
        b.pos = b.data.size();
      } else {
        ctx_.log->Info("holding back an incomplete last line (the file may still be growing)",
                       {{"file", f.path}, {"bytes", std::to_string(b.data.size() - b.pos)}});
      }
    }
    RETURN_IF_ERROR(emit(std::move(tail)));
    for (const auto& w : as.widened_columns()) {
      ctx_.log->Warn("schema evolved (schema_evolution: evolve)", {{"stream", stream_}, {"change", w}});
    }
    if (!as.discarded_columns().empty()) {
      ctx_.log->Warn("dropped the values of columns not in the schema (schema_evolution: discard_columns)",
                     {{"file", f.path}, {"columns", Join(as.discarded_columns(), ", ")}});
    }
    if (!pending_error.ok()) {
      ctx_.log->Error("damaged file: loaded the rows before the damage", {{"file", f.path}, {"error", pending_error.message()}});
      failures_.push_back(f.path + ": " + pending_error.message());
    }
    return Status::OK();
  }

  ConnectorContext ctx_;
  ConfigNode block_;
  Options opts_;
  std::vector<std::string> patterns_;
  std::string stream_;
  std::string format_;
  std::string on_change_;
  double settle_s_ = 1;
  int64_t infer_rows_ = 10000;
  AssemblerOptions asm_opts_;
  std::optional<Schema> declared_;
  SchemaPtr schema_;
  StateMap committed_;
  std::vector<PlannedFile> plan_;
  std::vector<std::string> changed_;
  std::vector<std::string> failures_;
};

}  // namespace

Result<InferredFile> InferFileSchema(const std::string& path, const std::string& format, int64_t max_rows) {
  const FormatInfo* fmt = format.empty() ? FindFormatByPath(path) : FindFormat(format);
  if (!fmt) return Status::InvalidArgument("cannot tell the format of " + path + "; pass --format csv or --format jsonl");
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
  ASSIGN_OR_RETURN(Compression comp, ChooseCompression(path, "auto"));
  ASSIGN_OR_RETURN(auto reader, OpenByteReader(path, comp, 0, static_cast<uint64_t>(st.st_size)));
  std::string head(16u << 20, '\0');
  size_t have = 0;
  bool eof = false;
  while (have < head.size()) {
    auto r = reader->Read(head.data() + have, head.size() - have);
    if (!r.ok()) {
      if (r.status().code() != StatusCode::kCorruption || have == 0) return r.status();
      break;
    }
    if (*r == 0) {
      eof = true;
      break;
    }
    have += *r;
  }
  head.resize(have);
  size_t bom = head.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  ConfigNode empty;
  empty.SetKind(ConfigNode::Kind::kMap);
  Options opts(&empty, &fmt->options);
  ASSIGN_OR_RETURN(auto dec, fmt->make_decoder(opts));
  std::string_view view = std::string_view(head).substr(bom);
  RETURN_IF_ERROR(dec->Sniff(view));
  InferredFile out;
  ASSIGN_OR_RETURN(out.schema, InferFromHead(*dec, view, eof, {""}, max_rows, &out.rows_sampled));
  out.format = fmt->name;
  out.compression = CompressionName(comp);
  out.dialect = dec->Describe();
  // The same rows again, typed, for the statistics of `infer --contract`.
  BatchAssembler as("sample", path, std::make_shared<Schema>(out.schema), AssemblerOptions{});
  auto hdr = dec->ReadHeader(view, eof, as);
  size_t used = hdr.ok() ? *hdr : 0;
  dec->Seek(used, 2);
  std::string_view rest = view.substr(used);
  while (as.rows_seen() < max_rows && !rest.empty()) {
    auto n = dec->Decode(rest, eof, as);
    if (!n.ok() || *n == 0) break;
    rest.remove_prefix(*n);
    if (auto b = as.TakeBatch()) out.sample.push_back(b);
    (void)as.TakeRejects();
  }
  if (auto b = as.TakeBatch()) out.sample.push_back(b);
  return out;
}

void RegisterFileSourceConnector(ConnectorRegistry& registry) {
  ConnectorInfo info;
  info.type = "file";
  info.kind = "source";
  info.summary = "Local files (path, glob or list) in CSV or JSON lines, optionally gzip/zstd compressed";
  info.delivery = "exactly-once with a transactional sink; resumes mid-file";
  info.options = FileSourceOptions();
  info.make_source = [](const ConnectorContext& ctx, const ConfigNode& block) -> Result<std::unique_ptr<Source>> {
    auto s = std::make_unique<FileSource>(ctx, block);
    RETURN_IF_ERROR(s->Init());
    return std::unique_ptr<Source>(std::move(s));
  };
  registry.Add(std::move(info));
}

}  // namespace sluice
