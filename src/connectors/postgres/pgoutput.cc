#include "connectors/postgres/pgoutput.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/strings.h"
#include "core/values.h"

namespace sluice::pg::pgoutput {

std::string LsnText(Lsn lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32), static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

bool ParseLsn(std::string_view text, Lsn* out) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size()) return false;
  auto hex = [](std::string_view s, uint64_t* v) {
    if (s.size() > 8) return false;
    uint64_t acc = 0;
    for (char c : s) {
      int d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else return false;
      acc = acc * 16 + static_cast<uint64_t>(d);
    }
    *v = acc;
    return true;
  };
  uint64_t hi = 0, lo = 0;
  if (!hex(text.substr(0, slash), &hi) || !hex(text.substr(slash + 1), &lo)) return false;
  *out = (hi << 32) | lo;
  return true;
}

namespace {

// A bounds-checked big-endian reader over one message.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool ok() const { return ok_; }
  size_t left() const { return b_.size() - at_; }
  uint8_t U8() {
    if (!Need(1)) return 0;
    return static_cast<uint8_t>(b_[at_++]);
  }
  uint16_t U16() { return static_cast<uint16_t>(Big(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Big(4)); }
  uint64_t U64() { return Big(8); }
  // A NUL-terminated string.
  std::string_view Str() {
    if (!ok_) return {};
    const void* nul = std::memchr(b_.data() + at_, 0, b_.size() - at_);
    if (!nul) {
      ok_ = false;
      return {};
    }
    const size_t end = static_cast<size_t>(static_cast<const char*>(nul) - b_.data());
    std::string_view s = b_.substr(at_, end - at_);
    at_ = end + 1;
    return s;
  }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string_view s = b_.substr(at_, n);
    at_ += n;
    return s;
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || b_.size() - at_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  uint64_t Big(size_t n) {
    if (!Need(n)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(b_[at_ + i]);
    at_ += n;
    return v;
  }
  std::string_view b_;
  size_t at_ = 0;
  bool ok_ = true;
};

Status Malformed(char type, const std::string& what) {
  return Status::Corruption(std::string("pgoutput: malformed ") + (type ? std::string(1, type) + " " : "") +
                            "message: " + what);
}

bool ReadTuple(Reader& r, Tuple* out) {
  const uint16_t n = r.U16();
  if (!r.ok()) return false;
  out->resize(n);
  for (uint16_t i = 0; i < n; ++i) {
    TupleValue& v = (*out)[i];
    v.kind = static_cast<char>(r.U8());
    v.data = {};
    switch (v.kind) {
      case 'n':
      case 'u': break;
      case 't':
      case 'b': {
        const uint32_t len = r.U32();
        v.data = r.Bytes(len);
        break;
      }
      default: return false;
    }
    if (!r.ok()) return false;
  }
  return true;
}

}  // namespace

Result<StreamMessage> DecodeStreamMessage(std::string_view bytes) {
  if (bytes.empty()) return Malformed(0, "an empty replication message");
  Reader r(bytes.substr(1));
  StreamMessage m;
  m.kind = bytes[0];
  if (m.kind == 'w') {
    m.xlog.data_start = r.U64();
    m.xlog.wal_end = r.U64();
    m.xlog.send_time = static_cast<int64_t>(r.U64());
    if (!r.ok()) return Malformed('w', "XLogData header shorter than 24 bytes");
    m.xlog.payload = bytes.substr(25);
    return m;
  }
  if (m.kind == 'k') {
    m.keepalive.wal_end = r.U64();
    m.keepalive.send_time = static_cast<int64_t>(r.U64());
    m.keepalive.reply_requested = r.U8() != 0;
    if (!r.ok()) return Malformed('k', "keepalive shorter than 17 bytes");
    return m;
  }
  return Malformed(0, "unknown replication message type 0x" + std::to_string(static_cast<unsigned char>(m.kind)));
}

std::string EncodeStandbyStatus(Lsn write, Lsn flush, Lsn apply, int64_t now_pg_us, bool reply_requested) {
  std::string out(34, '\0');
  out[0] = 'r';
  auto put = [&](size_t at, uint64_t v) {
    for (int i = 7; i >= 0; --i) {
      out[at + static_cast<size_t>(7 - i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
  };
  put(1, write);
  put(9, flush);
  put(17, apply);
  put(25, static_cast<uint64_t>(now_pg_us));
  out[33] = reply_requested ? 1 : 0;
  return out;
}

Status DecodeInto(std::string_view bytes, Message* m) {
  if (bytes.empty()) return Malformed(0, "empty");
  m->type = bytes[0];
  Reader r(bytes.substr(1));
  switch (m->type) {
    case 'B':
      m->begin.final_lsn = r.U64();
      m->begin.commit_time = static_cast<int64_t>(r.U64());
      m->begin.xid = r.U32();
      break;
    case 'C':
      m->commit.flags = r.U8();
      m->commit.commit_lsn = r.U64();
      m->commit.end_lsn = r.U64();
      m->commit.commit_time = static_cast<int64_t>(r.U64());
      break;
    case 'R': {
      Relation& rel = m->relation;
      rel.oid = r.U32();
      rel.nspname = std::string(r.Str());
      rel.relname = std::string(r.Str());
      rel.replica_identity = static_cast<char>(r.U8());
      const uint16_t n = r.U16();
      if (!r.ok()) return Malformed('R', "truncated header");
      rel.columns.resize(n);
      for (uint16_t i = 0; i < n; ++i) {
        RelationColumn& c = rel.columns[i];
        c.key = (r.U8() & 1) != 0;
        c.name = std::string(r.Str());
        c.type_oid = r.U32();
        c.typmod = static_cast<int32_t>(r.U32());
        if (!r.ok()) return Malformed('R', "truncated column " + std::to_string(i + 1) + " of " + std::to_string(n));
      }
      break;
    }
    case 'I':
    case 'U':
    case 'D': {
      RowChange& c = m->change;
      c.op = m->type;
      c.relid = r.U32();
      c.old_kind = 0;
      c.old_tuple.clear();
      c.new_tuple.clear();
      char tag = static_cast<char>(r.U8());
      if (!r.ok()) return Malformed(m->type, "truncated");
      if (m->type != 'I' && (tag == 'K' || tag == 'O')) {
        c.old_kind = tag;
        if (!ReadTuple(r, &c.old_tuple)) return Malformed(m->type, "bad old tuple");
        if (m->type == 'U') tag = static_cast<char>(r.U8());
      }
      if (m->type == 'D') {
        if (c.old_kind == 0) return Malformed('D', "no old tuple ('K' or 'O')");
        break;
      }
      if (tag != 'N') return Malformed(m->type, std::string("expected 'N', got 0x") + std::to_string(static_cast<unsigned char>(tag)));
      if (!ReadTuple(r, &c.new_tuple)) return Malformed(m->type, "bad new tuple");
      break;
    }
    case 'T': {
      const uint32_t n = r.U32();
      m->truncate.options = r.U8();
      m->truncate.relids.clear();
      for (uint32_t i = 0; i < n && r.ok(); ++i) m->truncate.relids.push_back(r.U32());
      break;
    }
    case 'M': {
      // Protocol version 1 (no streamed transactions): flags, LSN, prefix, content length, content.
      LogicalMessage& lm = m->message;
      lm.transactional = (r.U8() & 1) != 0;
      lm.lsn = r.U64();
      lm.prefix = r.Str();
      const uint32_t n = r.U32();
      if (!r.ok()) return Malformed('M', "truncated header");
      lm.content = r.Bytes(n);
      if (!r.ok()) return Malformed('M', "content shorter than its length " + std::to_string(n));
      break;
    }
    case 'O':
    case 'Y':
      return Status::OK();
    default:
      return Malformed(0, "unknown message type '" + std::string(1, m->type) + "'");
  }
  if (!r.ok()) return Malformed(m->type, "truncated");
  return Status::OK();
}

Result<Message> Decode(std::string_view bytes) {
  Message m;
  RETURN_IF_ERROR(DecodeInto(bytes, &m));
  return m;
}

namespace {

bool No(std::string* why, std::string_view v, const DataType& type) {
  if (why) *why = "value " + JsonQuote(std::string(v.substr(0, 64))) + " does not fit " + type.ToString();
  return false;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool AppendTextValue(const DataType& type, std::string_view v, ColumnBuilder& b, std::string* why) {
  switch (type.id) {
    case TypeId::kBool:
      if (v == "t" || v == "true") b.AppendBool(true);
      else if (v == "f" || v == "false") b.AppendBool(false);
      else return No(why, v, type);
      return true;
    case TypeId::kInt64: {
      int64_t x;
      if (!ParseInt64(v, &x)) return No(why, v, type);
      b.AppendInt64(x);
      return true;
    }
    case TypeId::kFloat64: {
      double x;
      if (!ParseFloat64(v, &x)) return No(why, v, type);
      b.AppendFloat64(x);
      return true;
    }
    case TypeId::kDecimal: {
      int128_t x;
      if (!ParseDecimal(v, type.precision, type.scale, &x)) {
        if (why) {
          *why = std::string(v.substr(0, 64)) + " does not fit " + type.ToString() +
                 (v == "NaN" || v == "Infinity" || v == "-Infinity" ? "; declare the column `string` to keep it" : "");
        }
        return false;
      }
      b.AppendDecimal(x);
      return true;
    }
    case TypeId::kString:
    case TypeId::kJson:
      b.AppendBytes(v);
      return true;
    case TypeId::kBinary: {
      // bytea_output hex: \x followed by two hex digits per byte.
      if (v.size() < 2 || v[0] != '\\' || v[1] != 'x' || v.size() % 2 != 0) return No(why, v, type);
      std::string out((v.size() - 2) / 2, '\0');
      for (size_t i = 0; i < out.size(); ++i) {
        const int hi = HexDigit(v[2 + 2 * i]), lo = HexDigit(v[3 + 2 * i]);
        if (hi < 0 || lo < 0) return No(why, v, type);
        out[i] = static_cast<char>(hi * 16 + lo);
      }
      b.AppendBytes(out);
      return true;
    }
    case TypeId::kDate: {
      int32_t d;
      if (!ParseDate(v, &d)) return No(why, v, type);
      b.AppendDate(d);
      return true;
    }
    case TypeId::kTime: {
      int64_t t;
      if (!ParseTime(v, &t)) return No(why, v, type);
      b.AppendInt64(t);
      return true;
    }
    case TypeId::kTimestamp: {
      int64_t t;
      bool has_zone = false;
      if (!ParseTimestamp(v, &t, &has_zone)) return No(why, v, type);
      b.AppendInt64(t);
      return true;
    }
  }
  return No(why, v, type);
}

void AppendJsonValue(const DataType& type, std::string_view v, std::string& out) {
  switch (type.id) {
    case TypeId::kBool:
      out += v == "t" ? "true" : v == "f" ? "false" : JsonQuote(std::string(v));
      return;
    case TypeId::kInt64:
    case TypeId::kFloat64:
    case TypeId::kDecimal: {
      double x;
      if (ParseFloat64(v, &x) && std::isfinite(x) && v.find_first_not_of("0123456789.-eE+") == std::string_view::npos) {
        out += v;
        return;
      }
      break;
    }
    case TypeId::kJson:
      out += v;
      return;
    default: break;
  }
  out += JsonQuote(std::string(v));
}

}  // namespace sluice::pg::pgoutput
