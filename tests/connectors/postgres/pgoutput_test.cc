#include "connectors/postgres/pgoutput.h"

#include <gtest/gtest.h>

#include <string>

#include "core/column.h"
#include "core/types.h"

namespace sluice::pg::pgoutput {
namespace {

// Builds protocol bytes the way the server sends them: big-endian integers, NUL-terminated strings.
class Bytes {
 public:
  Bytes& C(char c) {
    s_.push_back(c);
    return *this;
  }
  Bytes& U16(uint16_t v) { return Big(v, 2); }
  Bytes& U32(uint32_t v) { return Big(v, 4); }
  Bytes& U64(uint64_t v) { return Big(v, 8); }
  Bytes& Str(const std::string& v) {
    s_ += v;
    s_.push_back('\0');
    return *this;
  }
  Bytes& Text(const std::string& v) {
    C('t').U32(static_cast<uint32_t>(v.size()));
    s_ += v;
    return *this;
  }
  const std::string& str() const { return s_; }

 private:
  Bytes& Big(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) s_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string s_;
};

TEST(PgOutputLsn, FormatsAndParsesLikePostgres) {
  EXPECT_EQ(LsnText(0x16B374D848ULL), "16/B374D848");
  EXPECT_EQ(LsnText(0), "0/0");
  Lsn v = 0;
  ASSERT_TRUE(ParseLsn("16/B374D848", &v));
  EXPECT_EQ(v, 0x16B374D848ULL);
  ASSERT_TRUE(ParseLsn("0/16b3748", &v));
  EXPECT_EQ(v, 0x16B3748ULL);
  EXPECT_FALSE(ParseLsn("16B374D848", &v));
  EXPECT_FALSE(ParseLsn("/1", &v));
  EXPECT_FALSE(ParseLsn("1/", &v));
  EXPECT_FALSE(ParseLsn("1/XYZ", &v));
  EXPECT_FALSE(ParseLsn("1/123456789", &v));
}

TEST(PgOutputStream, DecodesXLogDataAndKeepalive) {
  Bytes w;
  w.C('w').U64(0x100).U64(0x200).U64(12345).C('B');
  auto m = DecodeStreamMessage(w.str());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->kind, 'w');
  EXPECT_EQ(m->xlog.data_start, 0x100u);
  EXPECT_EQ(m->xlog.wal_end, 0x200u);
  EXPECT_EQ(m->xlog.send_time, 12345);
  EXPECT_EQ(m->xlog.payload, "B");

  Bytes k;
  k.C('k').U64(0xABCDEF).U64(7).C(1);
  m = DecodeStreamMessage(k.str());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind, 'k');
  EXPECT_EQ(m->keepalive.wal_end, 0xABCDEFu);
  EXPECT_TRUE(m->keepalive.reply_requested);

  EXPECT_FALSE(DecodeStreamMessage(std::string("k\0\0", 3)).ok());
  EXPECT_FALSE(DecodeStreamMessage("w").ok());
  EXPECT_FALSE(DecodeStreamMessage("z123").ok());
}

TEST(PgOutputStream, EncodesStandbyStatusUpdate) {
  const std::string r = EncodeStandbyStatus(0x0102030405060708ULL, 0x10, 0x20, 99, true);
  ASSERT_EQ(r.size(), 34u);
  EXPECT_EQ(r[0], 'r');
  Bytes want;
  want.C('r').U64(0x0102030405060708ULL).U64(0x10).U64(0x20).U64(99).C(1);
  EXPECT_EQ(r, want.str());
}

TEST(PgOutputMessages, DecodesBeginAndCommit) {
  Bytes b;
  b.C('B').U64(0x5000).U64(777).U32(4242);
  auto m = Decode(b.str());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->type, 'B');
  EXPECT_EQ(m->begin.final_lsn, 0x5000u);
  EXPECT_EQ(m->begin.commit_time, 777);
  EXPECT_EQ(m->begin.xid, 4242u);

  Bytes c;
  c.C('C').C(0).U64(0x5000).U64(0x5030).U64(777);
  m = Decode(c.str());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->type, 'C');
  EXPECT_EQ(m->commit.commit_lsn, 0x5000u);
  EXPECT_EQ(m->commit.end_lsn, 0x5030u);
  EXPECT_EQ(m->commit.commit_time, 777);

  // Cut one byte short: an error, not a read past the end.
  EXPECT_FALSE(Decode(c.str().substr(0, c.str().size() - 1)).ok());
}

TEST(PgOutputMessages, DecodesRelation) {
  Bytes b;
  b.C('R').U32(16385).Str("public").Str("orders").C('f').U16(2);
  b.C(1).Str("id").U32(20).U32(0xFFFFFFFF);
  b.C(0).Str("note").U32(25).U32(0xFFFFFFFF);
  auto m = Decode(b.str());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const Relation& r = m->relation;
  EXPECT_EQ(r.oid, 16385u);
  EXPECT_EQ(r.nspname, "public");
  EXPECT_EQ(r.relname, "orders");
  EXPECT_EQ(r.replica_identity, 'f');
  ASSERT_EQ(r.columns.size(), 2u);
  EXPECT_TRUE(r.columns[0].key);
  EXPECT_EQ(r.columns[0].name, "id");
  EXPECT_EQ(r.columns[0].type_oid, 20u);
  EXPECT_EQ(r.columns[0].typmod, -1);
  EXPECT_FALSE(r.columns[1].key);
  EXPECT_EQ(r.columns[1].name, "note");
  EXPECT_EQ(r.columns[1].type_oid, 25u);
  // A column name without its NUL terminator.
  EXPECT_FALSE(Decode(b.str().substr(0, b.str().size() - 12)).ok());
}

TEST(PgOutputMessages, DecodesInsertWithNullAndText) {
  Bytes b;
  b.C('I').U32(16385).C('N').U16(3).Text("42").C('n').Text("héllo");
  auto m = Decode(b.str());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->type, 'I');
  EXPECT_EQ(m->change.relid, 16385u);
  EXPECT_EQ(m->change.old_kind, 0);
  ASSERT_EQ(m->change.new_tuple.size(), 3u);
  EXPECT_EQ(m->change.new_tuple[0].kind, 't');
  EXPECT_EQ(m->change.new_tuple[0].data, "42");
  EXPECT_EQ(m->change.new_tuple[1].kind, 'n');
  EXPECT_EQ(m->change.new_tuple[2].data, "héllo");
}

TEST(PgOutputMessages, DecodesUpdateWithUnchangedToastAndOldKey) {
  // UPDATE that changed the key: old key tuple 'K', then the new row with an unchanged TOAST value.
  Bytes b;
  b.C('U').U32(7).C('K').U16(2).Text("1").C('n').C('N').U16(2).Text("2").C('u');
  auto m = Decode(b.str());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->type, 'U');
  EXPECT_EQ(m->change.old_kind, 'K');
  ASSERT_EQ(m->change.old_tuple.size(), 2u);
  EXPECT_EQ(m->change.old_tuple[0].data, "1");
  ASSERT_EQ(m->change.new_tuple.size(), 2u);
  EXPECT_EQ(m->change.new_tuple[0].data, "2");
  EXPECT_EQ(m->change.new_tuple[1].kind, 'u');

  // A plain update: no old tuple.
  Bytes p;
  p.C('U').U32(7).C('N').U16(1).Text("x");
  m = Decode(p.str());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->change.old_kind, 0);
  EXPECT_EQ(m->change.new_tuple.size(), 1u);
}

TEST(PgOutputMessages, DecodesDeleteAndTruncate) {
  Bytes d;
  d.C('D').U32(9).C('O').U16(2).Text("5").Text("gone");
  auto m = Decode(d.str());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->type, 'D');
  EXPECT_EQ(m->change.old_kind, 'O');
  ASSERT_EQ(m->change.old_tuple.size(), 2u);
  EXPECT_EQ(m->change.old_tuple[1].data, "gone");
  EXPECT_TRUE(m->change.new_tuple.empty());
  // A delete must carry the old key or row.
  Bytes bad;
  bad.C('D').U32(9).C('N').U16(0);
  EXPECT_FALSE(Decode(bad.str()).ok());

  Bytes t;
  t.C('T').U32(2).C(1).U32(10).U32(11);
  m = Decode(t.str());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->truncate.options, 1);
  ASSERT_EQ(m->truncate.relids.size(), 2u);
  EXPECT_EQ(m->truncate.relids[1], 11u);
}

TEST(PgOutputMessages, RejectsUnknownAndBadTupleKinds) {
  EXPECT_FALSE(Decode("Z").ok());
  EXPECT_FALSE(Decode("").ok());
  Bytes b;
  b.C('I').U32(1).C('N').U16(1).C('x');
  EXPECT_FALSE(Decode(b.str()).ok());
  // A text value whose length runs past the message.
  Bytes l;
  l.C('I').U32(1).C('N').U16(1).C('t').U32(100).C('a');
  EXPECT_FALSE(Decode(l.str()).ok());
  // Origin and type messages are recognised and ignored.
  Bytes o;
  o.C('O').U64(1).Str("origin");
  auto m = Decode(o.str());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->type, 'O');
}

TEST(PgOutputMessages, DecodesLogicalDecodingMessages) {
  // pg_logical_emit_message(true, 'sluice', 'low:7'): flags, LSN, prefix, length, content.
  Bytes b;
  b.C('M').C(1).U64(0x16B3748).Str("sluice").U32(5);
  std::string bytes = b.str() + "low:7";
  auto m = Decode(bytes);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->type, 'M');
  EXPECT_TRUE(m->message.transactional);
  EXPECT_EQ(m->message.lsn, 0x16B3748ULL);
  EXPECT_EQ(m->message.prefix, "sluice");
  EXPECT_EQ(m->message.content, "low:7");
  // Non-transactional, empty content; the content may hold any bytes, NUL included.
  Bytes e;
  e.C('M').C(0).U64(1).Str("other").U32(0);
  m = Decode(e.str());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_FALSE(m->message.transactional);
  EXPECT_EQ(m->message.prefix, "other");
  EXPECT_TRUE(m->message.content.empty());
  Bytes z;
  z.C('M').C(1).U64(1).Str("p").U32(3);
  m = Decode(z.str() + std::string("a\0b", 3));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->message.content, std::string_view("a\0b", 3));
  // Truncated: content shorter than its length, a prefix without its NUL, no length at all.
  EXPECT_FALSE(Decode(b.str() + "low").ok());
  Bytes np;
  np.C('M').C(1).U64(1);
  EXPECT_FALSE(Decode(np.str() + "sluice").ok());
  Bytes nl;
  nl.C('M').C(1).U64(1).Str("sluice").U16(0);
  EXPECT_FALSE(Decode(nl.str()).ok());
}

TEST(PgOutputValues, DecodesTextFormsIntoTypedColumns) {
  std::string why;
  ColumnBuilder i(DataType::Int64());
  EXPECT_TRUE(AppendTextValue(DataType::Int64(), "-42", i, &why));
  EXPECT_FALSE(AppendTextValue(DataType::Int64(), "4x", i, &why));
  auto ic = i.Finish();
  ASSERT_EQ(ic->length(), 1);

  ColumnBuilder d(DataType::Decimal(12, 2));
  EXPECT_TRUE(AppendTextValue(DataType::Decimal(12, 2), "12.50", d, &why));
  EXPECT_FALSE(AppendTextValue(DataType::Decimal(12, 2), "NaN", d, &why));
  EXPECT_NE(why.find("string"), std::string::npos) << why;

  ColumnBuilder b(DataType::Binary());
  EXPECT_TRUE(AppendTextValue(DataType::Binary(), "\\x00ff41", b, &why));
  EXPECT_FALSE(AppendTextValue(DataType::Binary(), "\\x0", b, &why));
  auto bc = b.Finish();
  ASSERT_EQ(bc->length(), 1);
  EXPECT_EQ(bc->BytesAt(0), std::string("\0\xff" "A", 3));

  ColumnBuilder t(DataType::Timestamp(true));
  EXPECT_TRUE(AppendTextValue(DataType::Timestamp(true), "2000-01-01 00:00:00+00", t, &why));
  EXPECT_TRUE(AppendTextValue(DataType::Timestamp(true), "2000-01-01 02:00:00.5+02", t, &why));
  EXPECT_FALSE(AppendTextValue(DataType::Timestamp(true), "infinity", t, &why));
  auto tc = t.Finish();
  ASSERT_EQ(tc->length(), 2);
  EXPECT_EQ(tc->Int64At(0), kPgEpochUnixUs);
  EXPECT_EQ(tc->Int64At(1), kPgEpochUnixUs + 500000);

  ColumnBuilder f(DataType::Float64());
  EXPECT_TRUE(AppendTextValue(DataType::Float64(), "NaN", f, &why));
  EXPECT_TRUE(AppendTextValue(DataType::Float64(), "-Infinity", f, &why));
  EXPECT_TRUE(AppendTextValue(DataType::Float64(), "1.5e-07", f, &why));

  ColumnBuilder bo(DataType::Bool());
  EXPECT_TRUE(AppendTextValue(DataType::Bool(), "t", bo, &why));
  EXPECT_FALSE(AppendTextValue(DataType::Bool(), "maybe", bo, &why));
}

TEST(PgOutputValues, WritesJsonValues) {
  std::string out;
  AppendJsonValue(DataType::Int64(), "12", out);
  out += ',';
  AppendJsonValue(DataType::Bool(), "f", out);
  out += ',';
  AppendJsonValue(DataType::String(), "a\"b", out);
  out += ',';
  AppendJsonValue(DataType::Float64(), "NaN", out);
  out += ',';
  AppendJsonValue(DataType::Json(), "{\"k\":1}", out);
  EXPECT_EQ(out, "12,false,\"a\\\"b\",\"NaN\",{\"k\":1}");
}

}  // namespace
}  // namespace sluice::pg::pgoutput
