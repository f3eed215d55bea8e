#include "formats/csv/csv_decoder.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "core/strings.h"
#include "formats/csv/internal/csv_dialect.h"
#include "formats/csv/internal/csv_scanner.h"
#include "formats/csv/internal/csv_sniffer.h"

namespace sluice {

namespace {

using csv::Dialect;
using csv::HeaderMode;
using csv::RecordStatus;

// Decodes one CSV stream. Lifecycle: Sniff (optional; ReadHeader sniffs if it was skipped), then
// ReadHeader, then Seek and Decode calls. ReadHeader may be called again (for another consumer);
// it starts over from the first byte. Not thread-safe.
class CsvDecoder final : public Decoder {
 public:
  explicit CsvDecoder(const Dialect& d) : dialect_(d), scanner_(d) {}

  Status Sniff(std::string_view head) override {
    if (sniffed_) return Status::OK();
    dialect_ = csv::SniffDialect(head, dialect_);
    scanner_ = csv::Scanner(dialect_);
    sniffed_ = true;
    return Status::OK();
  }

  Result<size_t> ReadHeader(std::string_view data, bool at_eof, RowConsumer& consumer) override;
  Result<size_t> Decode(std::string_view data, bool at_eof, RowConsumer& consumer) override;

  void Seek(uint64_t offset, int64_t line) override {
    offset_ = offset;
    line_ = line;
    skipping_line_ = false;
  }
  uint64_t offset() const override { return offset_; }
  int64_t line() const override { return line_; }
  std::string Describe() const override;

 private:
  // Hands the record just scanned to the consumer (or rejects it); returns the consumer's answer.
  bool Deliver(std::string_view raw, const RowOrigin& origin, RowConsumer& consumer);
  // A record that does not end within max_row_bytes: rejects its first physical line and moves
  // *pos past it. Returns the consumer's answer.
  bool Resync(std::string_view data, bool at_eof, RowConsumer& consumer, size_t* pos);

  Dialect dialect_;
  bool sniffed_ = false;
  csv::Scanner scanner_;
  bool header_read_ = false;
  size_t ncols_ = 0;
  std::vector<int> slots_;  // per file column: the consumer's slot, or -1 to drop the value
  int max_slot_ = -1;
  bool identity_ = false;  // slots_[j] == j and the consumer has exactly ncols_ slots
  std::vector<FieldRef> row_;
  uint64_t offset_ = 0;
  int64_t line_ = 1;
  bool skipping_line_ = false;  // inside an over-long line that was already rejected
};

std::vector<std::string> UniqueNames(const csv::Scanner& scanner) {
  std::vector<std::string> names;
  std::unordered_set<std::string> seen;
  const FieldRef* fields = scanner.fields();
  for (size_t j = 0; j < scanner.num_fields(); ++j) {
    std::string name(Trim(fields[j].text));
    if (name.empty()) name = "column_" + std::to_string(j + 1);
    if (seen.count(name)) {
      int k = 2;
      std::string candidate;
      do {
        candidate = name;
        candidate.append("_").append(std::to_string(k++));
      } while (seen.count(candidate));
      name = std::move(candidate);
    }
    seen.insert(name);
    names.push_back(std::move(name));
  }
  return names;
}

Result<size_t> CsvDecoder::ReadHeader(std::string_view data, bool at_eof, RowConsumer& consumer) {
  if (!sniffed_) {
    if (!at_eof && data.find('\n') == std::string_view::npos) {
      return Status::NotFound("csv: the first line is not complete yet");
    }
    RETURN_IF_ERROR(Sniff(data));
  }
  header_read_ = false;
  skipping_line_ = false;
  scanner_.Reset(data, at_eof);
  size_t pos = 0;
  int64_t lines = 0;
  csv::Record rec;
  RecordStatus st = RecordStatus::kComplete;
  bool found = false;
  while (pos < data.size()) {
    st = scanner_.Next(pos, &rec);
    if (st != RecordStatus::kComplete || rec.end != pos) {
      found = true;
      break;
    }
    pos = rec.next;  // an empty line before the first record
    lines += rec.newlines;
  }
  if (!found && !at_eof) return Status::NotFound("csv: no complete first record yet");
  if (found && st == RecordStatus::kNeedMore) {
    return Status::NotFound("csv: the first record is not complete yet");
  }
  const bool has_header = dialect_.header == HeaderMode::kYes;
  std::vector<std::string> names;
  size_t used = 0;
  if (found && has_header) {
    if (st == RecordStatus::kTooLong) {
      return Status::Corruption("csv header at line " + std::to_string(1 + lines) +
                                " does not end within max_row_bytes (" +
                                std::to_string(dialect_.max_row_bytes) + " bytes)");
    }
    if (st == RecordStatus::kUnterminated) {
      return Status::Corruption("csv header: unterminated quoted field starting at line " +
                                std::to_string(1 + lines + rec.open_quote_newlines));
    }
    names = UniqueNames(scanner_);
    used = rec.next;
    lines += rec.newlines;
  } else if (found) {
    // No header: the first record tells how many columns there are; Decode reads it as data.
    size_t count = scanner_.num_fields() + (st == RecordStatus::kComplete ? 0 : 1);
    for (size_t j = 0; j < count; ++j) names.push_back("column_" + std::to_string(j + 1));
  }
  std::vector<int> slots = consumer.OnHeader(names);
  const size_t nslots = consumer.NumSlots();
  ncols_ = names.size();
  slots_.assign(ncols_, -1);
  max_slot_ = -1;
  for (size_t j = 0; j < ncols_ && j < slots.size(); ++j) {
    if (slots[j] >= 0 && static_cast<size_t>(slots[j]) < nslots) {
      slots_[j] = slots[j];
      max_slot_ = std::max(max_slot_, slots[j]);
    }
  }
  identity_ = nslots == ncols_;
  for (size_t j = 0; j < ncols_; ++j) identity_ = identity_ && slots_[j] == static_cast<int>(j);
  row_.assign(nslots, FieldRef{});
  header_read_ = true;
  offset_ = used;
  line_ = has_header ? 1 + lines : 1;
  return used;
}

bool CsvDecoder::Deliver(std::string_view raw, const RowOrigin& origin, RowConsumer& consumer) {
  const size_t k = scanner_.num_fields();
  if (k != ncols_ && (k > ncols_ || !dialect_.allow_ragged)) {
    return consumer.OnBadRow(origin, raw,
                             "row has " + std::to_string(k) + " fields, expected " +
                                 std::to_string(ncols_));
  }
  if (identity_) {  // file columns are the consumer's slots: hand over the scanner's fields
    const FieldRef* fields = k == ncols_ ? scanner_.fields() : scanner_.PadFields(ncols_);
    return consumer.OnRow(fields, origin, raw);
  }
  const FieldRef* fields = scanner_.fields();
  FieldRef* row = row_.data();
  const int* slots = slots_.data();
  for (size_t j = 0; j < k; ++j) {
    if (slots[j] >= 0) row[slots[j]] = fields[j];
  }
  for (size_t j = k; j < ncols_; ++j) {
    if (slots[j] >= 0) row[slots[j]] = FieldRef{};
  }
  return consumer.OnRow(row, origin, raw);
}

bool CsvDecoder::Resync(std::string_view data, bool at_eof, RowConsumer& consumer, size_t* pos_io) {
  const size_t pos = *pos_io;
  const size_t max = dialect_.max_row_bytes;
  const void* nl = std::memchr(data.data() + pos, '\n', data.size() - pos);
  size_t line_end = data.size();
  size_t next = data.size();
  if (nl != nullptr) {
    line_end = static_cast<size_t>(static_cast<const char*>(nl) - data.data());
    next = line_end + 1;
    if (line_end > pos && data[line_end - 1] == '\r') --line_end;
  }
  const size_t len = line_end - pos;
  std::string reason = "record does not end within max_row_bytes (" + std::to_string(max) +
                       " bytes; an unclosed quote or binary data?): line " +
                       std::to_string(line_) + " rejected alone, reading resumes at the next line";
  if (len > max || (nl == nullptr && !at_eof)) {
    reason += "; raw bytes cut to the first " + std::to_string(std::min(len, max));
  }
  const RowOrigin origin{line_, offset_};
  const bool go = consumer.OnBadRow(origin, data.substr(pos, std::min(len, max)), std::move(reason));
  offset_ += next - pos;
  if (nl != nullptr) {
    ++line_;
  } else if (!at_eof) {
    skipping_line_ = true;  // the rest of this line is in the next buffers
  }
  *pos_io = next;
  return go;
}

Result<size_t> CsvDecoder::Decode(std::string_view data, bool at_eof, RowConsumer& consumer) {
  if (!header_read_) return Status::Internal("csv decoder: Decode called before ReadHeader");
  const size_t nslots = consumer.NumSlots();
  if (max_slot_ >= 0 && static_cast<size_t>(max_slot_) >= nslots) {
    return Status::Internal("csv decoder: the consumer has fewer slots than its header asked for");
  }
  if (row_.size() != nslots) {
    row_.assign(nslots, FieldRef{});
    identity_ = identity_ && nslots == ncols_;
  }
  const size_t n = data.size();
  size_t pos = 0;
  if (skipping_line_) {
    const void* nl = std::memchr(data.data(), '\n', n);
    if (nl == nullptr) {
      offset_ += n;
      if (at_eof) skipping_line_ = false;
      return n;
    }
    pos = static_cast<size_t>(static_cast<const char*>(nl) - data.data()) + 1;
    offset_ += pos;
    ++line_;
    skipping_line_ = false;
  }
  scanner_.Reset(data, at_eof);
  csv::Record rec;
  while (pos < n) {
    const RecordStatus st = scanner_.Next(pos, &rec);
    if (st == RecordStatus::kNeedMore) break;
    const RowOrigin origin{line_, offset_};
    bool go = true;
    if (st == RecordStatus::kComplete) {
      // An empty line is not a row.
      if (rec.end != pos) go = Deliver(data.substr(pos, rec.end - pos), origin, consumer);
      line_ += rec.newlines;
      offset_ += rec.next - pos;
      pos = rec.next;
    } else if (st == RecordStatus::kUnterminated) {
      std::string_view raw = data.substr(pos);
      if (!raw.empty() && raw.back() == '\n') raw.remove_suffix(1);
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      go = consumer.OnBadRow(origin, raw,
                             "unterminated quoted field starting at line " +
                                 std::to_string(line_ + rec.open_quote_newlines));
      line_ += rec.newlines;
      offset_ += n - pos;
      pos = n;
    } else {
      go = Resync(data, at_eof, consumer, &pos);
    }
    if (!go) break;
  }
  return pos;
}

std::string CsvDecoder::Describe() const {
  std::string s = "csv delimiter=";
  s += dialect_.delimiter_auto ? "auto" : csv::DescribeChar(dialect_.delimiter);
  s += " quote=";
  s += dialect_.quote_auto ? "auto" : csv::DescribeChar(dialect_.quote);
  s += " escape=";
  s += dialect_.escape == '\0' || dialect_.escape == dialect_.quote
           ? "doubled-quote"
           : csv::DescribeChar(dialect_.escape);
  s += " header=";
  s += dialect_.header == HeaderMode::kAuto  ? "auto"
       : dialect_.header == HeaderMode::kYes ? "yes"
                                             : "no";
  s += dialect_.allow_ragged ? " allow_ragged=yes" : " allow_ragged=no";
  s += " max_row_bytes=" + std::to_string(dialect_.max_row_bytes);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Options

Status OptionError(const Options& o, const std::string& name, const std::string& msg) {
  const ConfigNode* n = o.Node(name);
  std::string where = n != nullptr && !n->path().empty() ? n->Where() : "csv option '" + name + "'";
  // A value from ${ENV} or ${file:...} may be a secret: say what is wrong without quoting it.
  if (n != nullptr && n->interpolated()) {
    return Status::InvalidArgument(where + ": invalid " + name + " " + n->Shown());
  }
  return Status::InvalidArgument(where + ": " + msg);
}

bool IsPlainChar(char c) {
  return c != '\0' && c != '\n' && c != '\r' && static_cast<unsigned char>(c) < 0x80;
}

Result<Dialect> DialectFromOptions(const Options& o) {
  Dialect d;
  // delimiter
  std::string v = o.GetString("delimiter");
  std::string lv = ToLower(v);
  if (lv == "auto") {
    d.delimiter_auto = true;
  } else if (lv == "tab" || v == "\\t" || v == "\t") {
    d.delimiter = '\t';
  } else if (lv == "comma") {
    d.delimiter = ',';
  } else if (lv == "semicolon") {
    d.delimiter = ';';
  } else if (lv == "pipe") {
    d.delimiter = '|';
  } else if (v.size() == 1 && IsPlainChar(v[0])) {
    d.delimiter = v[0];
  } else {
    return OptionError(o, "delimiter",
                       "delimiter must be one ASCII character, \"\\t\" (or \"tab\"), or \"auto\"; got '" +
                           PrintableExcerpt(v, 40) + "'");
  }
  // quote
  v = o.GetString("quote");
  lv = ToLower(v);
  if (lv == "auto") {
    d.quote_auto = true;
  } else if (lv == "none" || v.empty()) {
    d.quote = '\0';
  } else if (v.size() == 1 && IsPlainChar(v[0])) {
    d.quote = v[0];
  } else {
    return OptionError(o, "quote",
                       "quote must be one ASCII character, \"none\", or \"auto\"; got '" +
                           PrintableExcerpt(v, 40) + "'");
  }
  // escape
  v = o.GetString("escape");
  if (v.empty() || ToLower(v) == "none") {
    d.escape = '\0';
  } else if (v == "\\\\") {
    d.escape = '\\';
  } else if (v.size() == 1 && IsPlainChar(v[0])) {
    d.escape = v[0];
  } else {
    return OptionError(o, "escape",
                       "escape must be one ASCII character such as \"\\\\\", or empty for a "
                       "doubled quote; got '" + PrintableExcerpt(v, 40) + "'");
  }
  if (!d.quote_auto && d.escape == d.quote) d.escape = '\0';  // "" is the doubled-quote rule
  if (!d.delimiter_auto && !d.quote_auto && d.quote != '\0' && d.delimiter == d.quote) {
    return OptionError(o, "quote", "quote and delimiter are both " + csv::DescribeChar(d.quote));
  }
  if (d.escape != '\0' && !d.delimiter_auto && d.delimiter == d.escape) {
    return OptionError(o, "escape", "escape and delimiter are both " + csv::DescribeChar(d.escape));
  }
  // header
  lv = ToLower(Trim(o.GetString("header")));
  if (lv == "auto") {
    d.header = HeaderMode::kAuto;
  } else if (lv == "true" || lv == "yes") {
    d.header = HeaderMode::kYes;
  } else if (lv == "false" || lv == "no") {
    d.header = HeaderMode::kNo;
  } else {
    return OptionError(o, "header", "header must be auto, true or false; got '" + lv + "'");
  }
  // allow_ragged
  if (o.Has("allow_ragged")) {
    auto b = o.Node("allow_ragged")->AsBool();
    if (!b.ok()) return OptionError(o, "allow_ragged", "allow_ragged: " + b.status().message());
    d.allow_ragged = *b;
  }
  // max_row_bytes
  int64_t max = o.GetBytes("max_row_bytes");
  if (o.Has("max_row_bytes")) {
    auto b = o.Node("max_row_bytes")->AsBytes();
    if (!b.ok()) return OptionError(o, "max_row_bytes", "max_row_bytes: " + b.status().message());
    max = *b;
  }
  if (max < 1 || static_cast<uint64_t>(max) > csv::kMaxRowBytesLimit) {
    return OptionError(o, "max_row_bytes", "max_row_bytes must be between 1 byte and 1GiB");
  }
  d.max_row_bytes = static_cast<size_t>(max);
  return d;
}

}  // namespace

FormatInfo CsvFormat() {
  FormatInfo f;
  f.name = "csv";
  f.extensions = {".csv", ".tsv", ".txt"};
  f.options = {
      {"delimiter", OptionType::kString, "auto",
       "Field separator: one character, \"\\t\" or \"tab\". \"auto\" sniffs among , ; tab and | "
       "by which gives the same number of fields on every line"},
      {"quote", OptionType::kString, "auto",
       "Quote character. \"auto\" picks \" or ' by sniffing (\" on a tie); \"none\" turns quoting "
       "off"},
      {"escape", OptionType::kString, "",
       "Escape character inside quoted fields, such as \"\\\\\". Empty: a doubled quote stands "
       "for one quote (RFC 4180)"},
      {"header", OptionType::kEnum, "auto",
       "Whether the first row holds column names. auto: yes when its fields are all non-empty "
       "texts that are not numbers, booleans or dates",
       false, {"auto", "true", "false"}},
      {"allow_ragged", OptionType::kBool, "false",
       "Rows with fewer fields than the header get missing values (null) instead of being "
       "quarantined. Rows with more fields are always quarantined"},
      {"max_row_bytes", OptionType::kSize, "16MiB",
       "Longest accepted row. A record still open after this many bytes (an unclosed quote, "
       "binary data) has its first line quarantined, and reading resumes on the next line"},
  };
  f.make_decoder = [](const Options& o) -> Result<std::unique_ptr<Decoder>> {
    ASSIGN_OR_RETURN(Dialect d, DialectFromOptions(o));
    return std::unique_ptr<Decoder>(std::make_unique<CsvDecoder>(d));
  };
  return f;
}

}  // namespace sluice
