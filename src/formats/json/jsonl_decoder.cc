#include "formats/json/jsonl_decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/strings.h"

namespace sluice {

namespace {

namespace od = simdjson::ondemand;

constexpr int64_t kDefaultMaxRowBytes = 16 << 20;
// Column offsets are int32, so no single value can be larger than this anyway.
constexpr int64_t kMaxRowBytesLimit = int64_t{1} << 30;
constexpr int kMaxNesting = 1024;
// Key positions remembered for the slot cache; wider objects fall back to the hash map.
constexpr size_t kMaxCachedPositions = 4096;
// Parser capacity reserved up front, so that the first lines do not each grow it.
constexpr size_t kInitialCapacity = 64 << 10;

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && IsJsonSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (!IsJsonSpace(c)) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// RFC 8259 number grammar. On Demand checks numbers only when asked to convert them, and we keep
// the text as written, so the check is ours.
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && IsDigit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  return i == n;
}

// Byte index of the first byte that breaks UTF-8 in `s` (s.size() when none does).
size_t FirstInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return n;
}

const char* Phrase(simdjson::error_code e) {
  switch (e) {
    case simdjson::TAPE_ERROR:
      return "unexpected token (a missing or extra comma, colon, bracket or brace)";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "an object or array is not closed";
    case simdjson::UNCLOSED_STRING:
      return "a string is not closed";
    case simdjson::UNESCAPED_CHARS:
      return "a string holds a control character that must be escaped";
    case simdjson::STRING_ERROR:
      return "invalid escape sequence in a string";
    case simdjson::DEPTH_ERROR:
      return "nested too deeply";
    case simdjson::NUMBER_ERROR:
      return "invalid number";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return "invalid literal (expected true, false or null)";
    case simdjson::INCORRECT_TYPE:
      return "unexpected value type";
    default:
      return simdjson::error_message(e);
  }
}

// What a line that is not an object holds, for the reason; nullptr when it is not valid JSON
// either. Stage 1 has already checked strings and UTF-8.
const char* TopLevelKind(std::string_view body) {
  switch (body[0]) {
    case '[':
      return "an array";
    case '"':
      return body.size() >= 2 && body.back() == '"' ? "a string" : nullptr;
    case 't':
    case 'f':
      return body == "true" || body == "false" ? "a boolean" : nullptr;
    case 'n':
      return body == "null" ? "null" : nullptr;
    default:
      return IsJsonNumber(body) ? "a number" : nullptr;
  }
}

struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Decodes one stream of JSON lines. Not thread-safe; one per file.
//
// Speed: simdjson's stage 1 (structural indexing, UTF-8 and string checks) runs on each line in
// place; only a line too close to the end of `data` to have SIMDJSON_PADDING readable bytes after
// it is copied into `pad_`. Scalars are taken from their raw tokens (strings are unescaped only
// when they hold a backslash). The key to slot mapping is cached per key position, since lines of
// one file usually repeat their keys in the same order.
class JsonlDecoder final : public Decoder {
 public:
  explicit JsonlDecoder(size_t max_row_bytes) : max_row_bytes_(max_row_bytes) {
    // A failure here is retried, and reported, when a line needs the room.
    simdjson::error_code ignored = parser_.allocate(std::min(kInitialCapacity, max_row_bytes_));
    (void)ignored;
    pending_.reserve(64);
  }

  Status Sniff(std::string_view head) override;
  Result<size_t> ReadHeader(std::string_view, bool, RowConsumer&) override { return size_t{0}; }
  Result<size_t> Decode(std::string_view data, bool at_eof, RowConsumer& consumer) override;

  void Seek(uint64_t offset, int64_t line) override {
    offset_ = offset;
    line_ = line;
    long_part_ = 0;
    ForgetSlots();
  }
  uint64_t offset() const override { return offset_; }
  int64_t line() const override { return line_; }
  std::string Describe() const override {
    return "jsonl max_row_bytes=" + std::to_string(max_row_bytes_);
  }

 private:
  enum class LineResult { kRow, kBad, kNoMemory };
  struct Pending {
    std::string_view key;
    int slot;  // -1 until resolved
    FieldRef value;
  };
  // The key seen at one position of the previous lines. When it has no backslash, a raw key
  // with the same bytes followed by a quote is the same key.
  struct CachedKey {
    CachedKey(std::string_view k, int s) { Set(k, s); }
    void Set(std::string_view k, int s) {
      key.assign(k);
      slot = s;
      plain = std::memchr(k.data(), '\\', k.size()) == nullptr;
      uint64_t w[2] = {0, 0};
      std::memcpy(w, k.data(), std::min<size_t>(k.size(), 16));
      word0 = w[0];
      word1 = w[1];
      const size_t n = std::min<size_t>(k.size(), 16);
      mask0 = n >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * n)) - 1;
      mask1 = n >= 16 ? ~uint64_t{0} : n <= 8 ? 0 : (uint64_t{1} << (8 * (n - 8))) - 1;
    }
    // `raw` points into a line that ends at `end`, with SIMDJSON_PADDING readable bytes after.
    bool Matches(const char* raw, const char* end) const {
      const size_t n = key.size();
      if (!plain || n >= static_cast<size_t>(end - raw) || raw[n] != '"') return false;
      if (n > 16 || std::endian::native != std::endian::little) {
        return std::memcmp(raw, key.data(), n) == 0;
      }
      uint64_t r0, r1;  // reading 16 bytes is safe: the padding follows the line
      std::memcpy(&r0, raw, 8);
      std::memcpy(&r1, raw + 8, 8);
      return (((r0 ^ word0) & mask0) | ((r1 ^ word1) & mask1)) == 0;
    }

    std::string key;
    int slot = -1;
    bool plain = false;
    uint64_t word0 = 0, word1 = 0, mask0 = 0, mask1 = 0;  // the first 16 bytes, for Matches
  };

  void ForgetSlots() {
    slots_.clear();
    by_pos_.clear();
  }
  // Parses `line` (which ends before `data_end`) into pending_, or fills error_.
  LineResult Parse(std::string_view line, const char* data_end);
  LineResult ParseObject(const char* text, size_t len, size_t capacity);
  [[gnu::always_inline]] inline bool TopValue(od::value& v, FieldRef* out);
  bool Validate(od::value& v, int depth);
  [[gnu::always_inline]] inline bool Key(od::field& f, std::string_view* key);
  [[gnu::always_inline]] inline bool String(od::value& v, std::string_view tok,
                                            std::string_view* out);
  [[gnu::always_inline]] inline bool Scalar(std::string_view tok, FieldRef* out);
  bool Fail(simdjson::error_code e, const char* at);
  bool Fail(std::string_view what, const char* at);
  const char* Where();
  Result<bool> EmitRow(RowConsumer& consumer, const RowOrigin& origin, std::string_view raw);
  bool EmitLongPart(RowConsumer& consumer, std::string_view part, bool last);

  const size_t max_row_bytes_;
  uint64_t offset_ = 0;
  int64_t line_ = 1;
  // Over-long line being rejected in parts: the part number to emit next (0: none), and the
  // stream offset where that line starts.
  int64_t long_part_ = 0;
  uint64_t long_start_ = 0;

  od::parser parser_;
  std::unique_ptr<char[]> pad_;
  size_t pad_size_ = 0;
  // The line being parsed (inside `data` or `pad_`) and its document, for error positions.
  const char* text_ = nullptr;
  size_t text_len_ = 0;
  od::document* doc_ = nullptr;
  std::string error_;

  std::vector<Pending> pending_;
  std::vector<FieldRef> fields_;
  // Slots are stable per consumer; both caches are dropped when the consumer changes.
  RowConsumer* consumer_ = nullptr;
  std::unordered_map<std::string, int, KeyHash, std::equal_to<>> slots_;
  std::vector<CachedKey> by_pos_;
};

// A .json file is often one pretty-printed document rather than JSON lines. Read as lines, every
// line of it would be quarantined; failing with a clear reason serves the user better.
Status JsonlDecoder::Sniff(std::string_view head) {
  size_t i = StartsWith(head, "\xEF\xBB\xBF") ? 3 : 0;
  for (int64_t line = 1; i < head.size(); ++line) {
    const size_t nl = head.find('\n', i);
    if (nl == std::string_view::npos) break;  // cannot tell from an incomplete line
    std::string_view text = Trim(head.substr(i, nl - i));
    if (text == "[" || text == "{") {
      return Status::Corruption(
          "this looks like a single JSON document spread over several lines ('" +
          std::string(text) + "' alone on line " + std::to_string(line) +
          "), not JSON lines: the jsonl format reads one object per line");
    }
    if (!text.empty()) break;
    i = nl + 1;
  }
  return Status::OK();
}

Result<size_t> JsonlDecoder::Decode(std::string_view data, bool at_eof, RowConsumer& consumer) {
  if (&consumer != consumer_) {
    consumer_ = &consumer;
    ForgetSlots();
  }
  const char* const base = data.data();
  const char* const end = base + data.size();
  const size_t m = max_row_bytes_;
  size_t pos = 0;
  bool go = true;
  while (go && pos < data.size()) {
    const char* s = base + pos;
    const size_t avail = data.size() - pos;

    if (long_part_ > 0) {
      // Inside an over-long line: the next part ends at the line end or after m bytes.
      const char* nl = static_cast<const char*>(std::memchr(s, '\n', std::min(avail, m + 1)));
      size_t len, advance;
      bool last;
      if (nl != nullptr) {
        len = static_cast<size_t>(nl - s);
        advance = len + 1;
        last = true;
      } else if (avail > m) {
        len = advance = m;
        last = false;
      } else if (at_eof) {
        len = advance = avail;
        last = true;
      } else {
        break;
      }
      if (last && len > 0 && s[len - 1] == '\r') --len;
      if (len > 0) go = EmitLongPart(consumer, {s, len}, last);
      pos += advance;
      offset_ += advance;
      if (last) {
        ++line_;
        long_part_ = 0;
      } else {
        ++long_part_;
      }
      continue;
    }

    // A line of at most m bytes has its '\n' within m + 2 bytes (m, maybe '\r', '\n').
    const char* nl = static_cast<const char*>(std::memchr(s, '\n', std::min(avail, m + 2)));
    size_t len, advance;
    if (nl != nullptr) {
      len = static_cast<size_t>(nl - s);
      advance = len + 1;
    } else if (avail >= m + 2) {
      len = avail;  // longer than m; its end is not known yet
      advance = 0;
    } else if (at_eof) {
      len = advance = avail;
    } else {
      break;  // incomplete last line
    }
    if (len > 0 && s[len - 1] == '\r') --len;
    if (len > m) {
      // Rejected in parts of m bytes so that memory stays bounded and nothing is dropped.
      long_start_ = offset_;
      long_part_ = 1;
      go = EmitLongPart(consumer, {s, m}, false);
      pos += m;
      offset_ += m;
      long_part_ = 2;
      continue;
    }

    const RowOrigin origin{line_, offset_};
    std::string_view raw(s, len);
    pos += advance;
    offset_ += advance;
    ++line_;
    if (origin.offset == 0 && raw.size() >= 3 && std::memcmp(raw.data(), "\xEF\xBB\xBF", 3) == 0) {
      raw.remove_prefix(3);  // UTF-8 byte order mark
    }
    if (IsBlank(raw)) continue;
    switch (Parse(raw, end)) {
      case LineResult::kRow: {
        ASSIGN_OR_RETURN(go, EmitRow(consumer, origin, raw));
        break;
      }
      case LineResult::kBad:
        go = consumer.OnBadRow(origin, raw, std::move(error_));
        break;
      case LineResult::kNoMemory:
        return Status::Internal("jsonl: out of memory parsing line " + std::to_string(origin.line) +
                                " (" + std::to_string(raw.size()) + " bytes)");
    }
  }
  return pos;
}

bool JsonlDecoder::EmitLongPart(RowConsumer& consumer, std::string_view part, bool last) {
  const RowOrigin origin{line_, offset_};
  const uint64_t from = offset_ - long_start_;
  std::string reason = "line longer than max_row_bytes (" + std::to_string(max_row_bytes_) +
                       " bytes), rejected in parts: part " + std::to_string(long_part_) +
                       " holds bytes " + std::to_string(from) + "-" +
                       std::to_string(from + part.size() - 1) + " of the line";
  if (!last) reason += "; the rest follows";
  return consumer.OnBadRow(origin, part, std::move(reason));
}

JsonlDecoder::LineResult JsonlDecoder::Parse(std::string_view line, const char* data_end) {
  const size_t len = line.size();
  if (parser_.capacity() < len) {
    size_t cap = std::max(len, std::min(parser_.capacity() * 2, max_row_bytes_));
    if (parser_.allocate(cap) != simdjson::SUCCESS) return LineResult::kNoMemory;
  }
  const size_t room = static_cast<size_t>(data_end - line.data());
  if (room >= len + simdjson::SIMDJSON_PADDING) return ParseObject(line.data(), len, room);
  // Too close to the end of `data` for simdjson to read past the line: use a padded copy.
  if (pad_size_ < len + simdjson::SIMDJSON_PADDING) {
    pad_size_ = std::max(len + simdjson::SIMDJSON_PADDING, pad_size_ * 2);
    pad_.reset(new (std::nothrow) char[pad_size_]);
    if (!pad_) {
      pad_size_ = 0;
      return LineResult::kNoMemory;
    }
  }
  std::memcpy(pad_.get(), line.data(), len);
  std::memset(pad_.get() + len, 0, simdjson::SIMDJSON_PADDING);
  return ParseObject(pad_.get(), len, pad_size_);
}

JsonlDecoder::LineResult JsonlDecoder::ParseObject(const char* text, size_t len, size_t capacity) {
  pending_.clear();
  error_.clear();
  text_ = text;
  text_len_ = len;
  doc_ = nullptr;
  od::document doc;
  simdjson::error_code err = parser_.iterate(text, len, capacity).get(doc);
  if (err == simdjson::MEMALLOC) return LineResult::kNoMemory;
  if (err == simdjson::UTF8_ERROR) {
    size_t at = FirstInvalidUtf8({text, len});
    error_ = "invalid UTF-8";
    if (at < len) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[at]));
      error_ += " at column " + std::to_string(at + 1) + " (byte " + byte + ")";
    }
    return LineResult::kBad;
  }
  if (err) return Fail(err, nullptr), LineResult::kBad;
  // doc_ serves error positions while this line is parsed, and must not outlive `doc`.
  struct ClearOnExit {
    od::document*& doc;
    ~ClearOnExit() { doc = nullptr; }
  } clear_doc{doc_};
  doc_ = &doc;

  // The line is not blank, so both ends exist.
  size_t first = 0;
  while (IsJsonSpace(text[first])) ++first;
  size_t last = len;
  while (IsJsonSpace(text[last - 1])) --last;
  if (text[first] != '{') {
    if (const char* kind = TopLevelKind({text + first, last - first})) {
      error_ = std::string("expected a JSON object, got ") + kind;
      return LineResult::kBad;
    }
    return Fail("unexpected token", text + first), LineResult::kBad;
  }
  if (text[last - 1] != '}') {
    return Fail("the object is not closed, or something follows it", text + last - 1),
           LineResult::kBad;
  }

  od::object obj;
  if ((err = doc.get_object().get(obj))) return Fail(err, Where()), LineResult::kBad;
  // References, not copies, of simdjson's iterators: copying them just after they were written
  // costs a store-forwarding stall per field.
  for (auto field_or : obj) {
    if ((err = field_or.error())) return Fail(err, Where()), LineResult::kBad;
    od::field& f = field_or.value_unsafe();
    // Lines of one file mostly repeat their keys in the same order: compare the raw key with
    // the one seen at this position (if that one needs no unescaping, neither does a match).
    const size_t i = pending_.size();
    const char* raw_key = f.key().raw();
    std::string_view key;
    int slot = -1;
    if (i < by_pos_.size() && by_pos_[i].Matches(raw_key, text + len)) {
      key = std::string_view(raw_key, by_pos_[i].key.size());
      slot = by_pos_[i].slot;
    }
    if (slot < 0 && !Key(f, &key)) return LineResult::kBad;
    FieldRef ref;
    if (!TopValue(f.value(), &ref)) return LineResult::kBad;
    pending_.push_back(Pending{key, slot, ref});
  }
  const char* rest;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) {
    return Fail("unexpected content after the object", rest), LineResult::kBad;
  }
  return LineResult::kRow;
}

bool JsonlDecoder::Key(od::field& f, std::string_view* key) {
  // Stage 1 proved the key's string closed, so the scan stops inside the line.
  const char* p = f.key().raw();
  const char* q = p;
  while (*q != '"' && *q != '\\') ++q;
  if (*q == '"') {
    *key = std::string_view(p, static_cast<size_t>(q - p));
    return true;
  }
  simdjson::error_code err = f.unescaped_key().get(*key);
  return err ? Fail(err, p - 1) : true;
}

bool JsonlDecoder::TopValue(od::value& v, FieldRef* out) {
  std::string_view tok = v.raw_json_token();
  if (tok.empty()) return Fail("a value is missing", Where());
  switch (tok[0]) {
    case '"':
      out->kind = FieldKind::kQuotedText;
      return String(v, tok, &out->text);
    case '{':
    case '[': {
      const char* start = tok.data();
      if (!Validate(v, 1)) return false;
      // The nested value ends before the next token (',' or '}'), less any whitespace.
      const char* stop;
      if (doc_->current_location().get(stop) != simdjson::SUCCESS) stop = text_ + text_len_;
      while (stop > start && IsJsonSpace(stop[-1])) --stop;
      out->kind = FieldKind::kNested;
      out->text = std::string_view(start, static_cast<size_t>(stop - start));
      return true;
    }
    default:
      return Scalar(tok, out);
  }
}

// Walks a nested value to its end. On Demand skips what it is not asked to read without
// checking it, and a json column must never receive invalid JSON.
bool JsonlDecoder::Validate(od::value& v, int depth) {
  std::string_view tok = v.raw_json_token();
  if (tok.empty()) return Fail("a value is missing", Where());
  simdjson::error_code err;
  switch (tok[0]) {
    case '{': {
      if (depth > kMaxNesting) return Fail("nested deeper than 1024 levels", tok.data());
      od::object obj;
      if ((err = v.get_object().get(obj))) return Fail(err, tok.data());
      for (auto field_or : obj) {
        if ((err = field_or.error())) return Fail(err, Where());
        od::field& f = field_or.value_unsafe();
        std::string_view key;
        if (!Key(f, &key) || !Validate(f.value(), depth + 1)) return false;
      }
      return true;
    }
    case '[': {
      if (depth > kMaxNesting) return Fail("nested deeper than 1024 levels", tok.data());
      od::array arr;
      if ((err = v.get_array().get(arr))) return Fail(err, tok.data());
      for (auto elem_or : arr) {
        if ((err = elem_or.error())) return Fail(err, Where());
        if (!Validate(elem_or.value_unsafe(), depth + 1)) return false;
      }
      return true;
    }
    case '"': {
      std::string_view s;
      return String(v, tok, &s);
    }
    default: {
      FieldRef ignored;
      return Scalar(tok, &ignored);
    }
  }
}

bool JsonlDecoder::String(od::value& v, std::string_view tok, std::string_view* out) {
  // The token runs from the opening quote to the next structural character; only whitespace
  // follows the closing quote. Without a backslash the content is the value itself.
  std::string_view t = TrimRight(tok);
  if (t.size() >= 2 && t.back() == '"') {
    std::string_view content = t.substr(1, t.size() - 2);
    if (std::memchr(content.data(), '\\', content.size()) == nullptr) {
      *out = content;
      return true;
    }
  }
  // Unescaped into the parser's string buffer, which lives until the next line is parsed.
  simdjson::error_code err = v.get_string().get(*out);
  return err ? Fail(err, tok.data()) : true;
}

bool JsonlDecoder::Scalar(std::string_view tok, FieldRef* out) {
  std::string_view t = TrimRight(tok);
  switch (t.empty() ? '\0' : t[0]) {
    case 't':
      if (t != "true") break;
      *out = FieldRef{"true", FieldKind::kBool};
      return true;
    case 'f':
      if (t != "false") break;
      *out = FieldRef{"false", FieldKind::kBool};
      return true;
    case 'n':
      if (t != "null") break;
      *out = FieldRef{{}, FieldKind::kNull};
      return true;
    default:
      if (!IsJsonNumber(t))
        return Fail(
            t.empty() || !(IsDigit(t[0]) || t[0] == '-') ? "unexpected token" : "invalid number",
            tok.data());
      *out = FieldRef{t, FieldKind::kNumber};
      return true;
  }
  return Fail("invalid literal (expected true, false or null)", tok.data());
}

const char* JsonlDecoder::Where() {
  const char* loc;
  if (doc_ == nullptr || doc_->current_location().get(loc) != simdjson::SUCCESS) return nullptr;
  return loc;
}

bool JsonlDecoder::Fail(simdjson::error_code e, const char* at) { return Fail(Phrase(e), at); }

bool JsonlDecoder::Fail(std::string_view what, const char* at) {
  error_ = "invalid JSON: ";
  error_.append(what);
  if (at != nullptr && at >= text_ && at < text_ + text_len_) {
    const size_t col = static_cast<size_t>(at - text_);
    error_ += " at column " + std::to_string(col + 1) + " near '" +
              PrintableExcerpt(std::string_view(at, std::min<size_t>(text_len_ - col, 24)), 20) +
              "'";
  }
  return false;
}

Result<bool> JsonlDecoder::EmitRow(RowConsumer& consumer, const RowOrigin& origin,
                                   std::string_view raw) {
  // Slots are resolved only for lines that parsed, so a bad line adds no column.
  for (size_t i = 0; i < pending_.size(); ++i) {
    Pending& p = pending_[i];
    if (p.slot >= 0) continue;
    auto it = slots_.find(p.key);
    if (it != slots_.end()) {
      p.slot = it->second;
    } else {
      p.slot = consumer.Slot(p.key);
      slots_.emplace(std::string(p.key), p.slot);
    }
    if (i < by_pos_.size()) {
      by_pos_[i].Set(p.key, p.slot);
    } else if (i == by_pos_.size() && i < kMaxCachedPositions) {
      by_pos_.emplace_back(p.key, p.slot);
    }
  }
  const size_t n = consumer.NumSlots();
  fields_.assign(n, FieldRef{});
  for (const Pending& p : pending_) {  // in line order, so the last duplicate key wins
    if (p.slot < 0 || static_cast<size_t>(p.slot) >= n) {
      return Status::Internal("jsonl: consumer gave slot " + std::to_string(p.slot) + " for key '" +
                              std::string(p.key) + "' but has " + std::to_string(n) + " slots");
    }
    fields_[static_cast<size_t>(p.slot)] = p.value;
  }
  return consumer.OnRow(fields_.data(), origin, raw);
}

}  // namespace

FormatInfo JsonlFormat() {
  FormatInfo info;
  info.name = "jsonl";
  info.extensions = {".jsonl", ".ndjson", ".json"};
  info.options = {
      OptionSpec{"max_row_bytes", OptionType::kSize, "16MiB",
                 "Longest line accepted. A longer line (for example a binary file read as JSON "
                 "lines) is quarantined in parts of at most this size and decoding resumes at the "
                 "next line. Up to 1GiB."},
  };
  info.make_decoder = [](const Options& opts) -> Result<std::unique_ptr<Decoder>> {
    const int64_t max_row_bytes =
        opts.Has("max_row_bytes") ? opts.GetBytes("max_row_bytes") : kDefaultMaxRowBytes;
    if (max_row_bytes <= 0 || max_row_bytes > kMaxRowBytesLimit) {
      return Status::InvalidArgument("max_row_bytes must be between 1 byte and 1GiB, got " +
                                     std::to_string(max_row_bytes) + " bytes");
    }
    return std::unique_ptr<Decoder>(
        std::make_unique<JsonlDecoder>(static_cast<size_t>(max_row_bytes)));
  };
  return info;
}

}  // namespace sluice
