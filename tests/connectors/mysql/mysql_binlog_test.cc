// The binlog row-event decoder on hand-built event bodies (formats: MariaDB's "Binary log
// formats" documentation: TABLE_MAP with optional metadata, ROWS v1/v2, packed temporal types,
// binary DECIMAL).

#include "connectors/mysql/mysql_binlog.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "connectors/mysql/mysql_cdc.h"

namespace sluice::mysql::binlog {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int v : b) s.push_back(static_cast<char>(v));
  return s;
}
std::string LenStr(const std::string& s) { return std::string(1, static_cast<char>(s.size())) + s; }

// `shop`.`t`: id INT NOT NULL, amount DECIMAL(14,4), name VARCHAR(40) utf8mb4, at DATETIME,
// ts TIMESTAMP(3), d DATE, t TIME, color ENUM('red','green','blue'), big BIGINT UNSIGNED, note
// TEXT.
std::string TableMapBody() {
  std::string b = Bytes({0x2a, 0, 0, 0, 0, 0, 0x01, 0x00});
  b += LenStr("shop") + std::string(1, '\0') + LenStr("t") + std::string(1, '\0');
  b += Bytes({10});
  b += Bytes({0x03, 0xf6, 0x0f, 0x12, 0x11, 0x0a, 0x13, 0xfe, 0x08, 0xfc});
  const std::string meta = Bytes({0x0e, 0x04, 0xa0, 0x00, 0x00, 0x03, 0x00, 0xf7, 0x01, 0x02});
  b += Bytes({static_cast<int>(meta.size())}) + meta;
  b += Bytes({0xfe, 0x03});  // every column but id is nullable
  b += Bytes({1, 1, 0x20});  // signedness: id, amount, big -> only big unsigned
  std::string names;
  for (const char* n : {"id", "amount", "name", "at", "ts", "d", "t", "color", "big", "note"})
    names += LenStr(n);
  b += Bytes({4, static_cast<int>(names.size())}) + names;
  std::string enums = Bytes({3}) + LenStr("red") + LenStr("green") + LenStr("blue");
  b += Bytes({6, static_cast<int>(enums.size())}) + enums;
  return b;
}

const std::string kRow1 = Bytes({0x00, 0x02}) +                                // nulls: note
                          Bytes({0x07, 0, 0, 0}) +                             // id 7
                          Bytes({0x81, 0x0d, 0xfb, 0x38, 0xd2, 0x04, 0xd2}) +  // 1234567890.1234
                          Bytes({6, 'h', 0xc3, 0xa9, 'l', 'l', 'o'}) +         // héllo
                          Bytes({0x99, 0xb2, 0xca, 0xa5, 0x1e}) +        // 2024-03-05 10:20:30
                          Bytes({0x65, 0x53, 0xf1, 0x00, 0x04, 0xce}) +  // 1700000000.123
                          Bytes({0x65, 0xd0, 0x0f}) +                    // 2024-03-05
                          Bytes({0x7f, 0xef, 0x7d}) +                    // -01:02:03
                          Bytes({0x02}) +                                // green
                          Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});  // 2^64-1

std::string Row2(int id_low) {
  return Bytes({0xfc, 0x03}) + Bytes({id_low, 0xff, 0xff, 0xff}) +
         Bytes({0x7e, 0xf2, 0x04, 0xc7, 0x2d, 0xfb, 0x2d});  // -1234567890.1234
}

TEST(MysqlBinlogTest, DecodesTableMapWithFullMetadata) {
  auto m = DecodeTableMap(TableMapBody());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->table_id, 42u);
  EXPECT_EQ(m->db, "shop");
  EXPECT_EQ(m->table, "t");
  ASSERT_EQ(m->columns.size(), 10u);
  EXPECT_TRUE(m->has_names);
  EXPECT_EQ(m->columns[0].name, "id");
  EXPECT_FALSE(m->columns[0].nullable);
  EXPECT_TRUE(m->columns[1].nullable);
  EXPECT_EQ(m->columns[1].meta, (14 << 8) | 4);
  EXPECT_EQ(m->columns[2].max_len, 160u);
  EXPECT_EQ(m->columns[7].type, kTypeEnum);
  EXPECT_EQ(m->columns[7].values, (std::vector<std::string>{"red", "green", "blue"}));
  EXPECT_FALSE(m->columns[0].is_unsigned);
  EXPECT_TRUE(m->columns[8].is_unsigned);
  EXPECT_EQ(m->columns[9].name, "note");
  EXPECT_EQ(PeekTableId(TableMapBody()), 42u);
}

TEST(MysqlBinlogTest, DecodesWriteRowsV1) {
  auto m = DecodeTableMap(TableMapBody());
  ASSERT_TRUE(m.ok());
  std::string body = Bytes({0x2a, 0, 0, 0, 0, 0, 0x01, 0x00, 10, 0xff, 0x03}) + kRow1 + Row2(0xff);
  auto ev = DecodeRowsEvent(kWriteRowsV1, body);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->op, 'c');
  EXPECT_EQ(ev->table_id, 42u);
  size_t pos = 0;
  std::vector<Cell> cells;
  ASSERT_TRUE(DecodeRow(*m, *ev, false, &pos, &cells).ok());
  ASSERT_EQ(cells.size(), 10u);
  EXPECT_EQ(cells[0].kind, Cell::Kind::kInt);
  EXPECT_EQ(cells[0].i, 7);
  EXPECT_EQ(cells[1].kind, Cell::Kind::kDecimal);
  EXPECT_EQ(DecimalText(cells[1]), "1234567890.1234");
  EXPECT_EQ(cells[2].bytes, "h\xc3\xa9llo");
  EXPECT_EQ(cells[3].kind, Cell::Kind::kDateTime);
  EXPECT_EQ(cells[3].year, 2024);
  EXPECT_EQ(cells[3].month, 3);
  EXPECT_EQ(cells[3].day, 5);
  EXPECT_EQ(cells[3].hour, 10);
  EXPECT_EQ(cells[3].minute, 20);
  EXPECT_EQ(cells[3].second, 30);
  EXPECT_EQ(cells[4].kind, Cell::Kind::kTimestamp);
  EXPECT_EQ(cells[4].i, 1700000000123000LL);
  EXPECT_EQ(cells[5].kind, Cell::Kind::kDate);
  EXPECT_EQ(cells[5].year * 10000 + cells[5].month * 100 + cells[5].day, 20240305);
  EXPECT_EQ(cells[6].kind, Cell::Kind::kTime);
  EXPECT_EQ(cells[6].i, -((3600 + 2 * 60 + 3) * 1000000LL));
  EXPECT_EQ(cells[7].bytes, "green");
  EXPECT_EQ(cells[8].kind, Cell::Kind::kUInt);
  EXPECT_EQ(cells[8].u, ~0ULL);
  EXPECT_EQ(cells[9].kind, Cell::Kind::kNull);
  // The second row: negative values, NULLs.
  ASSERT_TRUE(DecodeRow(*m, *ev, false, &pos, &cells).ok());
  EXPECT_EQ(cells[0].i, -1);
  EXPECT_EQ(DecimalText(cells[1]), "-1234567890.1234");
  for (size_t c = 2; c < 10; ++c) EXPECT_EQ(cells[c].kind, Cell::Kind::kNull) << c;
  EXPECT_EQ(pos, ev->rows.size());
}

TEST(MysqlBinlogTest, DecodesUpdateRowsV2BeforeAndAfter) {
  auto m = DecodeTableMap(TableMapBody());
  ASSERT_TRUE(m.ok());
  std::string body =
      Bytes({0x2a, 0, 0, 0, 0, 0, 0x01, 0x00, 0x02, 0x00, 10, 0xff, 0x03, 0xff, 0x03}) +
      Row2(0xff) + Row2(0xfe);
  auto ev = DecodeRowsEvent(kUpdateRowsV2, body);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->op, 'u');
  size_t pos = 0;
  std::vector<Cell> before, after;
  ASSERT_TRUE(DecodeRow(*m, *ev, false, &pos, &before).ok());
  ASSERT_TRUE(DecodeRow(*m, *ev, true, &pos, &after).ok());
  EXPECT_EQ(before[0].i, -1);
  EXPECT_EQ(after[0].i, -2);
  EXPECT_EQ(pos, ev->rows.size());
}

TEST(MysqlBinlogTest, PartialImageMarksAbsentColumns) {
  auto m = DecodeTableMap(TableMapBody());
  ASSERT_TRUE(m.ok());
  // Delete with only id present (binlog_row_image=MINIMAL).
  std::string body = Bytes({0x2a, 0, 0, 0, 0, 0, 0x01, 0x00, 10, 0x01, 0x00}) + Bytes({0x00}) +
                     Bytes({0x09, 0, 0, 0});
  auto ev = DecodeRowsEvent(kDeleteRowsV1, body);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->op, 'd');
  size_t pos = 0;
  std::vector<Cell> cells;
  ASSERT_TRUE(DecodeRow(*m, *ev, false, &pos, &cells).ok());
  EXPECT_EQ(cells[0].i, 9);
  EXPECT_EQ(cells[1].kind, Cell::Kind::kAbsent);
}

TEST(MysqlBinlogTest, TruncatedRowIsCorruptionNotACrash) {
  auto m = DecodeTableMap(TableMapBody());
  ASSERT_TRUE(m.ok());
  std::string body = Bytes({0x2a, 0, 0, 0, 0, 0, 0x01, 0x00, 10, 0xff, 0x03}) + kRow1.substr(0, 20);
  auto ev = DecodeRowsEvent(kWriteRowsV1, body);
  ASSERT_TRUE(ev.ok());
  size_t pos = 0;
  std::vector<Cell> cells;
  Status st = DecodeRow(*m, *ev, false, &pos, &cells);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("truncated"), std::string::npos) << st.message();
  EXPECT_FALSE(DecodeTableMap(TableMapBody().substr(0, 30)).ok());
}

TEST(MysqlBinlogTest, DecodesDecimalsOfEveryShape) {
  std::string out;
  size_t used = 0;
  // DECIMAL(5,2) 123.45: 3 integer digits (2 bytes), 2 fraction digits (1 byte).
  ASSERT_TRUE(DecodeDecimal(Bytes({0x80, 0x7b, 0x2d}), 5, 2, &out, &used));
  EXPECT_EQ(out, "123.45");
  EXPECT_EQ(used, 3u);
  ASSERT_TRUE(DecodeDecimal(Bytes({0x7f, 0x84, 0xd2}), 5, 2, &out, &used));
  EXPECT_EQ(out, "-123.45");
  // DECIMAL(10,0) 0.
  ASSERT_TRUE(DecodeDecimal(Bytes({0x80, 0, 0, 0, 0}), 10, 0, &out, &used));
  EXPECT_EQ(out, "0");
  EXPECT_FALSE(DecodeDecimal(Bytes({0x80}), 5, 2, &out, &used));
  // The unscaled form agrees with the text form.
  __int128 v = 0;
  ASSERT_TRUE(DecodeDecimalUnscaled(Bytes({0x7f, 0x84, 0xd2}), 5, 2, &v, &used));
  EXPECT_TRUE(v == -12345);
  Cell c;
  c.kind = Cell::Kind::kDecimal;
  c.dec = 5;
  c.scale = 2;
  EXPECT_EQ(DecimalText(c), "0.05");
  c.dec = -120;
  c.scale = 0;
  EXPECT_EQ(DecimalText(c), "-120");
  // DECIMAL(30,10): 20 integer digits (two 9-digit groups and 2 digits), 10 fraction digits.
  const std::string wide = Bytes(
      {0x80 | 0x0c, 0x07, 0x5b, 0xcd, 0x15, 0x3a, 0xde, 0x68, 0xb1, 0x07, 0x5b, 0xcd, 0x15, 0x07});
  ASSERT_TRUE(DecodeDecimal(wide, 30, 10, &out, &used));
  EXPECT_EQ(out, "12123456789987654321.1234567897");
  ASSERT_TRUE(DecodeDecimalUnscaled(wide, 30, 10, &v, &used));
  c.dec = v;
  c.scale = 10;
  EXPECT_EQ(DecimalText(c), out);
}

// The server's binary DECIMAL(precision, scale) of `digits` (precision digits, the last `scale`
// of them after the point): groups of nine digits in four big-endian bytes, the leftover digits
// in as few bytes as hold them, the sign bit set, every byte inverted when negative.
std::string EncodeDecimal(const std::string& digits, int precision, int scale, bool negative) {
  static constexpr int kBytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
  const int intg = precision - scale;
  std::string out;
  auto put = [&](const std::string& group, int bytes) {
    uint64_t v = group.empty() ? 0 : std::stoull(group);
    for (int k = bytes - 1; k >= 0; --k) out += static_cast<char>((v >> (8 * k)) & 0xff);
  };
  const std::string ip = digits.substr(0, static_cast<size_t>(intg)), fp = digits.substr(static_cast<size_t>(intg));
  const size_t lead = ip.size() % 9;
  put(ip.substr(0, lead), kBytes[lead]);
  for (size_t k = lead; k < ip.size(); k += 9) put(ip.substr(k, 9), 4);
  size_t k = 0;
  for (; k + 9 <= fp.size(); k += 9) put(fp.substr(k, 9), 4);
  put(fp.substr(k), kBytes[fp.size() - k]);
  out[0] = static_cast<char>(out[0] | 0x80);
  if (negative) {
    for (auto& ch : out) ch = static_cast<char>(~ch);
  }
  return out;
}

TEST(MysqlBinlogTest, UnscaledDecimalsAgreeWithTheTextFormForEveryPrecision) {
  std::mt19937 rng(7);
  for (int precision = 1; precision <= 38; ++precision) {
    for (int scale = 0; scale <= precision; scale += 1 + precision / 7) {
      for (int n = 0; n < 20; ++n) {
        std::string digits;
        for (int d = 0; d < precision; ++d) digits += static_cast<char>('0' + rng() % 10);
        if (n == 0) digits.assign(static_cast<size_t>(precision), '9');
        const bool negative = rng() % 2;
        const std::string bin = EncodeDecimal(digits, precision, scale, negative);
        std::string text;
        size_t used = 0;
        ASSERT_TRUE(DecodeDecimal(bin, precision, scale, &text, &used));
        ASSERT_EQ(used, bin.size());
        // Exactly the value's bytes, and with more bytes after it (the fast path reads a word).
        for (const std::string& in : {bin, bin + std::string(9, '\xa5')}) {
          __int128 v = 0;
          ASSERT_TRUE(DecodeDecimalUnscaled(in, precision, scale, &v, &used));
          EXPECT_EQ(used, bin.size());
          Cell c;
          c.kind = Cell::Kind::kDecimal;
          c.dec = v;
          c.scale = scale;
          // The text form keeps "-0.00" for a negative zero; the unscaled one has no sign there.
          const std::string want = v == 0 && text[0] == '-' ? text.substr(1) : text;
          EXPECT_EQ(DecimalText(c), want) << precision << "," << scale << " " << digits << (negative ? " -" : "");
        }
      }
    }
  }
}

TEST(MysqlBinlogTest, DecodesGtidQueryAndHeader) {
  std::string ev = Bytes({0x10, 0, 0, 0, kGtidEvent, 7, 0, 0, 0, 32, 0, 0, 0, 0x40, 0, 0, 0, 0, 0});
  auto h = DecodeHeader(ev);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->type, kGtidEvent);
  EXPECT_EQ(h->server_id, 7u);
  EXPECT_EQ(h->log_pos, 0x40u);
  auto g = DecodeGtid(Bytes({42, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0x01}), 7);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(GtidText(*g), "3-7-42");
  EXPECT_TRUE(g->standalone());
  std::string q = Bytes({1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 2, 0}) + Bytes({0, 0}) + "shop" +
                  std::string(1, '\0') + "ALTER TABLE t ADD c INT";
  auto qe = DecodeQuery(q);
  ASSERT_TRUE(qe.ok());
  EXPECT_EQ(qe->db, "shop");
  EXPECT_EQ(qe->query, "ALTER TABLE t ADD c INT");
}

TEST(MysqlBinlogTest, GtidPositionsCompareByDomain) {
  GtidSet a, b;
  ASSERT_TRUE(GtidSet::Parse("0-1-100,1-2-5", &a));
  EXPECT_EQ(a.ToString(), "0-1-100,1-2-5");
  EXPECT_TRUE(a.Contains(0, 100));
  EXPECT_FALSE(a.Contains(0, 101));
  EXPECT_FALSE(a.Contains(2, 1));
  ASSERT_TRUE(GtidSet::Parse("0-1-90", &b));
  EXPECT_EQ(GtidSet::Min(a, b).ToString(), "0-1-90");
  EXPECT_TRUE(a.Reaches(b));
  EXPECT_FALSE(b.Reaches(a));
  b.Advance(0, 3, 120);
  EXPECT_EQ(b.ToString(), "0-3-120");
  EXPECT_FALSE(GtidSet::Parse("0-1", &b));
  ASSERT_TRUE(GtidSet::Parse("", &b));
  EXPECT_TRUE(b.domains.empty());
}

}  // namespace
}  // namespace sluice::mysql::binlog
