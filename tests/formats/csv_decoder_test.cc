#include "formats/csv/csv_decoder.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/strings.h"
#include "core/values.h"
#include "formats/assembler.h"

namespace sluice {
namespace {

struct Value {
  FieldKind kind;
  std::string text;
  bool operator==(const Value& o) const { return kind == o.kind && text == o.text; }
};
std::ostream& operator<<(std::ostream& os, const Value& v) {
  return os << "{" << static_cast<int>(v.kind) << ", \"" << v.text << "\"}";
}
Value T(std::string s) { return {FieldKind::kText, std::move(s)}; }
Value Q(std::string s) { return {FieldKind::kQuotedText, std::move(s)}; }
Value M() { return {FieldKind::kMissing, ""}; }

struct Row {
  std::vector<Value> values;
  int64_t line;
  uint64_t offset;
  std::string raw;
};
struct BadRow {
  int64_t line;
  uint64_t offset;
  std::string raw;
  std::string reason;
};

// Keeps everything it is given. `stop_every`: returns false after every Nth call (a full batch).
class Collector : public RowConsumer {
 public:
  explicit Collector(int stop_every = 0) : stop_every_(stop_every) {}
  std::vector<int> OnHeader(const std::vector<std::string>& names) override {
    ++headers;
    this->names = names;
    std::vector<int> slots;
    for (const auto& n : names) slots.push_back(Slot(n));
    return slots;
  }
  int Slot(std::string_view name) override {
    for (size_t i = 0; i < slot_names_.size(); ++i) {
      if (slot_names_[i] == name) return static_cast<int>(i);
    }
    slot_names_.emplace_back(name);
    return static_cast<int>(slot_names_.size() - 1);
  }
  size_t NumSlots() const override { return slot_names_.size(); }
  bool OnRow(const FieldRef* fields, const RowOrigin& origin, std::string_view raw) override {
    Row r{{}, origin.line, origin.offset, std::string(raw)};
    for (size_t i = 0; i < NumSlots(); ++i) r.values.push_back({fields[i].kind, std::string(fields[i].text)});
    rows.push_back(std::move(r));
    return Continue();
  }
  bool OnBadRow(const RowOrigin& origin, std::string_view raw, std::string reason) override {
    bad.push_back({origin.line, origin.offset, std::string(raw), std::move(reason)});
    return Continue();
  }

  std::vector<std::string> names;
  int headers = 0;
  std::vector<Row> rows;
  std::vector<BadRow> bad;

 private:
  bool Continue() { return stop_every_ == 0 || ++calls_ % stop_every_ != 0; }
  int stop_every_;
  int calls_ = 0;
  std::vector<std::string> slot_names_;
};

ConfigNode Block(const std::map<std::string, std::string>& opts) {
  ConfigNode block;
  block.SetKind(ConfigNode::Kind::kMap);
  for (const auto& [k, v] : opts) block.AddEntry(k, ConfigNode::Scalar(v, "source." + k));
  return block;
}

Result<std::unique_ptr<Decoder>> MakeDecoder(const std::map<std::string, std::string>& opts = {}) {
  static const FormatInfo info = CsvFormat();
  ConfigNode block = Block(opts);
  Options o(&block, &info.options);
  return info.make_decoder(o);
}

std::unique_ptr<Decoder> MustMake(const std::map<std::string, std::string>& opts = {}) {
  auto d = MakeDecoder(opts);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : nullptr;
}

// Decodes all of `text` the way the file source does: sniff, header, then Decode until the
// consumer has seen everything (resuming after each early stop).
void DecodeAll(Decoder& dec, std::string_view text, RowConsumer& c) {
  ASSERT_TRUE(dec.Sniff(text).ok());
  auto used = dec.ReadHeader(text, true, c);
  ASSERT_TRUE(used.ok()) << used.status().ToString();
  size_t pos = *used;
  for (int guard = 0; pos < text.size(); ++guard) {
    ASSERT_LT(guard, 100000);
    auto r = dec.Decode(text.substr(pos), true, c);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_GT(*r, 0u) << "no progress at " << pos;
    pos += *r;
  }
  EXPECT_EQ(dec.offset(), text.size());
}

struct Decoded {
  std::vector<std::string> names;
  std::vector<Row> rows;
  std::vector<BadRow> bad;
  std::string describe;
};

Decoded Decode(std::string_view text, const std::map<std::string, std::string>& opts = {}) {
  Decoded out;
  auto dec = MustMake(opts);
  if (!dec) return out;
  Collector c;
  DecodeAll(*dec, text, c);
  out.names = c.names;
  out.rows = c.rows;
  out.bad = c.bad;
  out.describe = dec->Describe();
  return out;
}

std::vector<std::vector<Value>> Values(const std::vector<Row>& rows) {
  std::vector<std::vector<Value>> v;
  for (const auto& r : rows) v.push_back(r.values);
  return v;
}

using Names = std::vector<std::string>;
using Rows = std::vector<std::vector<Value>>;

// --------------------------------------------------------------------------------------------

TEST(CsvFormat, DeclaresNameExtensionsAndOptions) {
  FormatInfo f = CsvFormat();
  EXPECT_EQ(f.name, "csv");
  EXPECT_EQ(f.extensions, (std::vector<std::string>{".csv", ".tsv", ".txt"}));
  std::map<std::string, std::string> defaults;
  for (const auto& o : f.options) {
    EXPECT_FALSE(o.doc.empty()) << o.name;
    defaults[o.name] = o.default_value;
  }
  EXPECT_EQ(defaults.at("delimiter"), "auto");
  EXPECT_EQ(defaults.at("quote"), "auto");
  EXPECT_EQ(defaults.at("escape"), "");
  EXPECT_EQ(defaults.at("header"), "auto");
  EXPECT_EQ(defaults.at("allow_ragged"), "false");
  EXPECT_EQ(defaults.at("max_row_bytes"), "16MiB");
  EXPECT_NE(FindFormatByPath("data/x.tsv.gz"), nullptr);
  EXPECT_EQ(FindFormatByPath("data/x.txt")->name, "csv");
}

TEST(CsvOptions, InvalidValuesNameTheOption) {
  struct Case {
    std::map<std::string, std::string> opts;
    std::string mentions;
  };
  for (const Case& c : std::vector<Case>{
           {{{"delimiter", "ab"}}, "source.delimiter"},
           {{{"delimiter", "\n"}}, "source.delimiter"},
           {{{"delimiter", ""}}, "source.delimiter"},
           {{{"quote", "''"}}, "source.quote"},
           {{{"escape", "ab"}}, "source.escape"},
           {{{"header", "maybe"}}, "source.header"},
           {{{"allow_ragged", "perhaps"}}, "source.allow_ragged"},
           {{{"max_row_bytes", "0"}}, "source.max_row_bytes"},
           {{{"max_row_bytes", "lots"}}, "source.max_row_bytes"},
           {{{"max_row_bytes", "2GiB"}}, "source.max_row_bytes"},
           {{{"delimiter", ","}, {"quote", ","}}, "source.quote"},
           {{{"delimiter", ";"}, {"escape", ";"}}, "source.escape"},
       }) {
    auto d = MakeDecoder(c.opts);
    ASSERT_FALSE(d.ok()) << c.mentions;
    EXPECT_TRUE(d.status().IsInvalidArgument());
    EXPECT_NE(d.status().message().find(c.mentions), std::string::npos) << d.status().message();
  }
  // Without a YAML path the message still names the option.
  static const FormatInfo info = CsvFormat();
  ConfigNode block;
  block.AddEntry("delimiter", ConfigNode::Scalar("::"));
  auto d = info.make_decoder(Options(&block, &info.options));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("delimiter"), std::string::npos) << d.status().message();
}

TEST(CsvOptions, AcceptedSpellings) {
  EXPECT_NE(MustMake({{"delimiter", "tab"}})->Describe().find("delimiter='\\t'"), std::string::npos);
  EXPECT_NE(MustMake({{"delimiter", "\\t"}})->Describe().find("delimiter='\\t'"), std::string::npos);
  EXPECT_NE(MustMake({{"delimiter", "\t"}})->Describe().find("delimiter='\\t'"), std::string::npos);
  EXPECT_NE(MustMake({{"escape", "\\"}})->Describe().find("escape='\\'"), std::string::npos);
  EXPECT_NE(MustMake({{"quote", "none"}})->Describe().find("quote=none"), std::string::npos);
  EXPECT_NE(MustMake()->Describe().find("csv delimiter=auto"), std::string::npos);
  EXPECT_NE(MustMake({{"max_row_bytes", "1KiB"}})->Describe().find("max_row_bytes=1024"),
            std::string::npos);
}

TEST(CsvDecoder, QuotedFieldsHoldDelimitersQuotesAndNewlines) {
  Decoded d = Decode("id,text\n1,\"a,b\"\n2,\"say \"\"hi\"\"\"\n3,\"line1\nline2\"\n4,plain\n5,\"\"\n");
  EXPECT_EQ(d.names, (Names{"id", "text"}));
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), Q("a,b")},
                                  {T("2"), Q("say \"hi\"")},
                                  {T("3"), Q("line1\nline2")},
                                  {T("4"), T("plain")},
                                  {T("5"), Q("")}}));
  ASSERT_EQ(d.rows.size(), 5u);
  EXPECT_EQ(d.rows[2].raw, "3,\"line1\nline2\"");
  EXPECT_TRUE(d.bad.empty());
}

TEST(CsvDecoder, UnquotedTextIsKeptAsIs) {
  Decoded d = Decode("a,b,c\n x , 5\" pipe,it's\n", {{"header", "true"}});
  EXPECT_EQ(Values(d.rows), (Rows{{T(" x "), T(" 5\" pipe"), T("it's")}}));
}

TEST(CsvDecoder, CrlfLineEndingsAndLoneCarriageReturns) {
  Decoded d = Decode("a,b\r\n1,\"x\"\r\n2,\r\n3,x\ry\r\n\"q\r\nr\",4\r\n");
  EXPECT_EQ(d.names, (Names{"a", "b"}));
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), Q("x")},
                                  {T("2"), T("")},
                                  {T("3"), T("x\ry")},
                                  {Q("q\r\nr"), T("4")}}));
  ASSERT_EQ(d.rows.size(), 4u);
  EXPECT_EQ(d.rows[0].raw, "1,\"x\"");
  EXPECT_EQ(d.rows[3].line, 5);
}

TEST(CsvDecoder, LastRecordWithoutTerminatorIsCompleteAtEof) {
  Decoded d = Decode("a,b\n1,2\n3,\"4\"");
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), T("2")}, {T("3"), Q("4")}}));
  d = Decode("a,b\n1,");
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), T("")}}));
}

TEST(CsvDecoder, HeaderOptionTrueFalseAndAuto) {
  Decoded d = Decode("x,y\n1,2\n", {{"header", "false"}});
  EXPECT_EQ(d.names, (Names{"column_1", "column_2"}));
  EXPECT_EQ(Values(d.rows), (Rows{{T("x"), T("y")}, {T("1"), T("2")}}));
  EXPECT_EQ(d.rows[0].line, 1);
  EXPECT_EQ(d.rows[1].line, 2);

  d = Decode("1,2\n3,4\n", {{"header", "true"}});
  EXPECT_EQ(d.names, (Names{"1", "2"}));
  EXPECT_EQ(Values(d.rows), (Rows{{T("3"), T("4")}}));

  // auto: a first row of numbers, dates or booleans is data.
  d = Decode("1,2\n3,4\n");
  EXPECT_EQ(d.names, (Names{"column_1", "column_2"}));
  EXPECT_EQ(d.rows.size(), 2u);
  d = Decode("2024-01-01,x\n2024-01-02,y\n");
  EXPECT_EQ(d.names, (Names{"column_1", "column_2"}));
  d = Decode("true,x\nfalse,y\n");
  EXPECT_EQ(d.names, (Names{"column_1", "column_2"}));
  // ... and so is a first row with an empty field.
  d = Decode("name,,city\nann,3,paris\n");
  EXPECT_EQ(d.names, (Names{"column_1", "column_2", "column_3"}));
  EXPECT_EQ(d.rows.size(), 2u);
  // Texts over numbers: a header.
  d = Decode("id,price,day\n1,2.5,2024-01-01\n");
  EXPECT_EQ(d.names, (Names{"id", "price", "day"}));
  EXPECT_NE(d.describe.find("header=yes"), std::string::npos);
  // Texts over texts: a header is assumed.
  d = Decode("name,city\nann,paris\nbob,rome\n");
  EXPECT_EQ(d.names, (Names{"name", "city"}));
  EXPECT_EQ(d.rows.size(), 2u);
}

TEST(CsvDecoder, DuplicateAndEmptyHeaderNamesAreMadeUnique) {
  Decoded d = Decode("a,a,,b,a, c ,\"\"\n1,2,3,4,5,6,7\n", {{"header", "true"}});
  EXPECT_EQ(d.names, (Names{"a", "a_2", "column_3", "b", "a_3", "c", "column_7"}));
  ASSERT_EQ(d.rows.size(), 1u);
  EXPECT_EQ(d.rows[0].values[4], T("5"));
}

TEST(CsvDecoder, SniffsDelimiters) {
  struct Case {
    std::string text;
    std::string describe;
  };
  for (const Case& c : std::vector<Case>{
           {"a;b;c\n1;2,5;x\n2;3,5;y\n", "delimiter=';'"},
           {"a\tb\tc\n1\thello, world\t3\n2\tbye\t4\n", "delimiter='\\t'"},
           {"a|b\n1|x,y\n2|z\n", "delimiter='|'"},
           {"a,b,c\n1,\"x;y|z\",3\n4,\"p;q\",6\n", "delimiter=','"},
           {"justone\nvalue\n", "delimiter=','"},
       }) {
    Decoded d = Decode(c.text);
    EXPECT_NE(d.describe.find(c.describe), std::string::npos) << c.text << " -> " << d.describe;
  }
  Decoded d = Decode("a;b;c\n1;2,5;x\n2;3,5;y\n");
  EXPECT_EQ(d.names, (Names{"a", "b", "c"}));
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), T("2,5"), T("x")}, {T("2"), T("3,5"), T("y")}}));
  d = Decode("a\tb\tc\n1\thello, world\t3\n");
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), T("hello, world"), T("3")}}));
  d = Decode("a|b|c\n1|\"x|y\"|3\n");
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), Q("x|y"), T("3")}}));
}

TEST(CsvDecoder, SniffsSingleQuotes) {
  Decoded d = Decode("id,name,note\n1,'Smith, John',x\n2,'O''Brien, Pat',y\n3,plain,'a,b'\n");
  EXPECT_NE(d.describe.find("quote='''"), std::string::npos) << d.describe;
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), Q("Smith, John"), T("x")},
                                  {T("2"), Q("O'Brien, Pat"), T("y")},
                                  {T("3"), T("plain"), Q("a,b")}}));
  // Apostrophes inside words do not make ' the quote.
  d = Decode("id,name\n1,\"O'Brien, Pat\"\n2,D'Arcy\n");
  EXPECT_NE(d.describe.find("quote='\"'"), std::string::npos) << d.describe;
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), Q("O'Brien, Pat")}, {T("2"), T("D'Arcy")}}));
}

TEST(CsvDecoder, SniffingIsDeterministicAndRespectsFixedOptions) {
  const std::string text = "a;b,c\n1;2,3\n4;5,6\n";
  EXPECT_EQ(Decode(text).describe, Decode(text).describe);
  Decoded d = Decode(text, {{"delimiter", ";"}});
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), T("2,3")}, {T("4"), T("5,6")}}));
  d = Decode("a,b\n'x,y',1\n", {{"quote", "\""}});
  EXPECT_EQ(d.bad.size(), 1u);  // ' is plain text here, so the row has 3 fields
  d = Decode("a,b\n\"x,y\",1\n", {{"quote", "none"}});
  EXPECT_EQ(Values(d.rows), Rows{});
  EXPECT_EQ(d.bad.size(), 1u);
}

TEST(CsvDecoder, EscapeCharacterInsideQuotes) {
  Decoded d = Decode("a,b\n\"x\\\"y\",\"c\\\\d\"\n\"p\"\"q\",e\\f\n", {{"escape", "\\"}});
  EXPECT_EQ(Values(d.rows), (Rows{{Q("x\"y"), Q("c\\d")}, {Q("p\"q"), T("e\\f")}}));
  // An escaped line break is still a line.
  d = Decode("a,b\n\"x\\\ny\",1\n2,3\n", {{"escape", "\\"}});
  EXPECT_EQ(Values(d.rows), (Rows{{Q("x\ny"), T("1")}, {T("2"), T("3")}}));
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[1].line, 4);
}

TEST(CsvDecoder, TextAfterClosingQuoteIsKept) {
  Decoded d = Decode("a,b,c\n\"ab\"c,d,\"x\"y\"z\"\n");
  EXPECT_EQ(Values(d.rows), (Rows{{Q("abc"), T("d"), Q("xy\"z\"")}}));
  EXPECT_TRUE(d.bad.empty());
}

TEST(CsvDecoder, RaggedRows) {
  const std::string text = "a,b,c\n1,2,3\n4,5\n6,7,8,9\n10\n";
  Decoded d = Decode(text);
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), T("2"), T("3")}}));
  ASSERT_EQ(d.bad.size(), 3u);
  EXPECT_EQ(d.bad[0].reason, "row has 2 fields, expected 3");
  EXPECT_EQ(d.bad[0].raw, "4,5");
  EXPECT_EQ(d.bad[0].line, 3);
  EXPECT_EQ(d.bad[1].reason, "row has 4 fields, expected 3");
  EXPECT_EQ(d.bad[1].raw, "6,7,8,9");
  EXPECT_EQ(d.bad[2].reason, "row has 1 fields, expected 3");

  d = Decode(text, {{"allow_ragged", "true"}});
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), T("2"), T("3")},
                                  {T("4"), T("5"), M()},
                                  {T("10"), M(), M()}}));
  ASSERT_EQ(d.bad.size(), 1u);
  EXPECT_EQ(d.bad[0].reason, "row has 4 fields, expected 3");
  EXPECT_EQ(d.bad[0].line, 4);
}

TEST(CsvDecoder, UnterminatedQuoteAtEofIsOneBadRow) {
  const std::string text = "a,b\n1,x\n2,\"open\nstill open\n3,y\n";
  Decoded d = Decode(text);
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), T("x")}}));
  ASSERT_EQ(d.bad.size(), 1u);
  EXPECT_EQ(d.bad[0].reason, "unterminated quoted field starting at line 3");
  EXPECT_EQ(d.bad[0].raw, "2,\"open\nstill open\n3,y");
  EXPECT_EQ(d.bad[0].line, 3);
  EXPECT_EQ(d.bad[0].offset, 8u);

  // The quote opens on a later physical line of the record.
  d = Decode("a,b,c\n\"x\ny\",\"open\n");
  ASSERT_EQ(d.bad.size(), 1u);
  EXPECT_EQ(d.bad[0].reason, "unterminated quoted field starting at line 3");
}

TEST(CsvDecoder, IncompleteRecordWaitsForMoreData) {
  const std::string text = "id,text\n1,\"multi\nline\"\n2,two\n3,\"x\"\"\"\r\n";
  auto dec = MustMake();
  Collector c;
  ASSERT_TRUE(dec->Sniff(text).ok());
  // A header that is not complete yet.
  auto h = dec->ReadHeader(std::string_view(text).substr(0, 5), false, c);
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(h.status().IsNotFound());
  h = dec->ReadHeader(text, false, c);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(*h, 8u);
  // Stop inside the quoted field: nothing can be consumed yet.
  auto r = dec->Decode(std::string_view(text).substr(8, 10), false, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
  EXPECT_TRUE(c.rows.empty());
  // Up to the middle of row 2: row 1 is complete.
  r = dec->Decode(std::string_view(text).substr(8, 20), false, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 15u);
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(dec->offset(), 23u);
  EXPECT_EQ(dec->line(), 4);
  r = dec->Decode(std::string_view(text).substr(23, 6), false, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 6u);
  // Cut after `3,"x""`: a doubled quote, the field is still open. Cut after `3,"x"""`: the last
  // quote may be doubled by the next byte. Cut before the \n of \r\n: the record may go on.
  for (size_t cut : {35u, 36u, 37u}) {
    r = dec->Decode(std::string_view(text).substr(29, cut - 29), false, c);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 0u) << cut;
  }
  EXPECT_EQ(c.rows.size(), 2u);
  r = dec->Decode(std::string_view(text).substr(29), false, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, text.size() - 29);
  EXPECT_EQ(Values(c.rows), (Rows{{T("1"), Q("multi\nline")}, {T("2"), T("two")}, {T("3"), Q("x\"")}}));
  EXPECT_EQ(dec->line(), 6);
}

// Splitting the input anywhere gives the same rows as decoding it whole.
TEST(CsvDecoder, AnySplitPointGivesTheSameRows) {
  const std::string text =
      "id,text,n\r\n1,\"a,b\",2\r\n\n2,\"x\"\"y\r\nz\",3\r\n3,\"\",\r\n4,plain,\"q\"junk\n5,\"unclosed\n";
  Decoded whole = Decode(text);
  ASSERT_EQ(whole.rows.size(), 4u);
  ASSERT_EQ(whole.bad.size(), 1u);
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    auto dec = MustMake();
    Collector c;
    ASSERT_TRUE(dec->Sniff(text).ok());
    auto h = dec->ReadHeader(text, true, c);
    ASSERT_TRUE(h.ok());
    size_t pos = *h;
    std::string_view first = std::string_view(text).substr(0, std::max(cut, pos));
    auto r = dec->Decode(first.substr(pos), false, c);
    ASSERT_TRUE(r.ok());
    pos += *r;
    EXPECT_EQ(dec->offset(), pos);
    r = dec->Decode(std::string_view(text).substr(pos), true, c);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(pos + *r, text.size()) << cut;
    ASSERT_EQ(c.rows.size(), whole.rows.size()) << "cut at " << cut;
    for (size_t i = 0; i < c.rows.size(); ++i) {
      EXPECT_EQ(c.rows[i].values, whole.rows[i].values) << "cut at " << cut;
      EXPECT_EQ(c.rows[i].line, whole.rows[i].line) << "cut at " << cut;
      EXPECT_EQ(c.rows[i].offset, whole.rows[i].offset) << "cut at " << cut;
      EXPECT_EQ(c.rows[i].raw, whole.rows[i].raw) << "cut at " << cut;
    }
    ASSERT_EQ(c.bad.size(), 1u) << "cut at " << cut;
    EXPECT_EQ(c.bad[0].reason, whole.bad[0].reason);
  }
}

// A plain byte-at-a-time reading of the same rules, to check the scanner against.
struct RefRecord {
  std::vector<Value> values;
  std::string raw;
  bool unterminated = false;
};
std::vector<RefRecord> ReferenceParse(const std::string& s, char escape) {
  std::vector<RefRecord> out;
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    RefRecord rec;
    const size_t start = i;
    size_t end = n;
    for (;;) {
      std::string text;
      bool quoted = false;
      if (s[i] == '"') {
        quoted = true;
        bool closed = false;
        for (++i; i < n; ++i) {
          if (escape != '\0' && s[i] == escape && i + 1 < n) {
            text += s[++i];
          } else if (escape != '\0' && s[i] == escape) {
            break;  // an escape as the last byte: still open
          } else if (s[i] != '"') {
            text += s[i];
          } else if (i + 1 < n && s[i + 1] == '"') {
            text += '"';
            ++i;
          } else {
            closed = true;
            ++i;
            break;
          }
        }
        if (!closed) {
          rec.unterminated = true;
          rec.raw = s.substr(start);
          if (!rec.raw.empty() && rec.raw.back() == '\n') rec.raw.pop_back();
          if (!rec.raw.empty() && rec.raw.back() == '\r') rec.raw.pop_back();
          out.push_back(rec);
          return out;
        }
        if (i < n && s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
          rec.values.push_back(Q(text));
          end = i;
          i += 2;
          break;
        }
      }
      size_t j = i;
      while (j < n && s[j] != ',' && s[j] != '\n') ++j;
      std::string tail = s.substr(i, j - i);
      const bool crlf = j < n && s[j] == '\n' && !tail.empty() && tail.back() == '\r';
      if (crlf) tail.pop_back();
      rec.values.push_back(quoted ? Q(text + tail) : T(tail));
      if (j >= n) {
        end = n;
        i = n;
        break;
      }
      i = j + 1;
      if (s[j] == '\n') {
        end = crlf ? j - 1 : j;
        break;
      }
      if (i >= n) {  // a delimiter as the last byte: one more, empty field
        rec.values.push_back(T(""));
        end = n;
        break;
      }
    }
    rec.raw = s.substr(start, end - start);
    if (!rec.raw.empty()) out.push_back(rec);
  }
  return out;
}

TEST(CsvDecoder, MatchesReferenceParserOnRandomInput) {
  const char alphabet[] = {'a', 'b', ',', ',', '"', '"', '\n', '\n', '\r', ' ', '\\'};
  uint64_t seed = 42;
  auto next = [&seed]() {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(seed >> 33);
  };
  for (int iter = 0; iter < 4000; ++iter) {
    // Mostly short inputs; some long enough to cross 64-byte blocks and the 4 KiB mask window.
    const size_t len = iter % 20 == 0 ? 1 + next() % 12000 : 1 + next() % 60;
    const char escape = iter % 2 == 0 ? '\0' : '\\';
    std::string text;
    for (size_t k = 0; k < len; ++k) {
      // Quotes are rarer in long inputs, so that records stay reasonably short.
      char ch = alphabet[next() % sizeof alphabet];
      if (ch == '"' && len > 60 && next() % 8 != 0) ch = 'q';
      text += ch;
    }
    std::vector<RefRecord> ref = ReferenceParse(text, escape);
    const size_t cut = next() % (text.size() + 1);

    auto dec = MustMake({{"delimiter", ","}, {"quote", "\""}, {"header", "false"},
                         {"allow_ragged", "true"}, {"escape", escape ? "\\" : ""}});
    Collector c;
    auto h = dec->ReadHeader(text, true, c);
    ASSERT_TRUE(h.ok());
    ASSERT_EQ(*h, 0u);
    // An unclosed first record counts its open field too.
    size_t ncols = ref.empty() ? 0 : ref[0].values.size() + (ref[0].unterminated ? 1 : 0);
    ASSERT_EQ(c.names.size(), ncols) << "input: " << PrintableExcerpt(text);
    // Decoded in two calls: a prefix that may end anywhere, then the rest.
    auto r = dec->Decode(std::string_view(text).substr(0, cut), false, c);
    ASSERT_TRUE(r.ok());
    size_t pos = *r;
    r = dec->Decode(std::string_view(text).substr(pos), true, c);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(pos + *r, text.size());

    SCOPED_TRACE("input: " + PrintableExcerpt(text) + " cut " + std::to_string(cut));
    size_t row = 0, bad = 0;
    for (const RefRecord& rec : ref) {
      if (rec.unterminated || rec.values.size() > ncols) {
        ASSERT_LT(bad, c.bad.size());
        EXPECT_EQ(c.bad[bad].raw, rec.raw);
        ++bad;
        continue;
      }
      ASSERT_LT(row, c.rows.size());
      std::vector<Value> want = rec.values;
      want.resize(ncols, M());
      EXPECT_EQ(c.rows[row].values, want);
      EXPECT_EQ(c.rows[row].raw, rec.raw);
      ++row;
    }
    EXPECT_EQ(row, c.rows.size()) << PrintableExcerpt(text);
    EXPECT_EQ(bad, c.bad.size()) << PrintableExcerpt(text);
  }
}

TEST(CsvDecoder, LineNumbersAndOffsets) {
  const std::string text = "a,b\n\n1,\"x\ny\"\n\r\n2,z\n3,w";
  Decoded d = Decode(text);
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_EQ(d.rows[0].line, 3);
  EXPECT_EQ(d.rows[0].offset, 5u);
  EXPECT_EQ(d.rows[1].line, 6);
  EXPECT_EQ(d.rows[1].offset, text.find("2,z"));
  EXPECT_EQ(d.rows[2].line, 7);
  EXPECT_EQ(d.rows[2].offset, text.find("3,w"));

  // Seek places the counters (after a header, or on resume).
  auto dec = MustMake({{"header", "true"}});
  Collector c;
  ASSERT_TRUE(dec->ReadHeader(text, true, c).ok());
  EXPECT_EQ(dec->offset(), 4u);
  EXPECT_EQ(dec->line(), 2);
  const size_t resume = text.find("2,z");
  dec->Seek(1000 + resume, 60);
  auto r = dec->Decode(std::string_view(text).substr(resume), true, c);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(c.rows.size(), 2u);
  EXPECT_EQ(c.rows[0].line, 60);
  EXPECT_EQ(c.rows[0].offset, 1000 + resume);
  EXPECT_EQ(c.rows[1].line, 61);
  EXPECT_EQ(dec->offset(), 1000 + text.size());
  EXPECT_EQ(dec->line(), 61);
}

TEST(CsvDecoder, HeaderLinesAndLeadingBlankLines) {
  auto dec = MustMake({{"header", "true"}});
  Collector c;
  const std::string text = "\n\"multi\nline\",b\n1,2\n";
  auto h = dec->ReadHeader(text, true, c);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, text.find("1,2"));
  EXPECT_EQ(c.names, (Names{"multi\nline", "b"}));
  EXPECT_EQ(dec->line(), 4);
  auto r = dec->Decode(std::string_view(text).substr(*h), true, c);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(c.rows[0].line, 4);
}

TEST(CsvDecoder, EmptyInput) {
  auto dec = MustMake();
  Collector c;
  ASSERT_TRUE(dec->Sniff("").ok());
  auto h = dec->ReadHeader("", true, c);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, 0u);
  EXPECT_EQ(c.headers, 1);
  EXPECT_TRUE(c.names.empty());
  auto r = dec->Decode("", true, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
  EXPECT_TRUE(c.rows.empty());

  // Not at EOF yet: the header is awaited.
  auto dec2 = MustMake();
  Collector c2;
  h = dec2->ReadHeader("", false, c2);
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(h.status().IsNotFound());
  EXPECT_EQ(c2.headers, 0);
}

TEST(CsvDecoder, NoHeaderPeeksWithoutConsuming) {
  auto dec = MustMake({{"header", "false"}});
  Collector c;
  const std::string text = "\n1,\"a\nb\",3\n4,5,6\n";
  auto h = dec->ReadHeader(text, true, c);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, 0u);
  EXPECT_EQ(c.names, (Names{"column_1", "column_2", "column_3"}));
  auto r = dec->Decode(text, true, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Values(c.rows), (Rows{{T("1"), Q("a\nb"), T("3")}, {T("4"), T("5"), T("6")}}));
  EXPECT_EQ(c.rows[0].line, 2);
}

TEST(CsvDecoder, OverlongRecordResyncsOnBinaryBlob) {
  std::string blob;
  for (int i = 0; i < 300; ++i) blob.push_back(static_cast<char>((i * 37 + 11) % 256 == '\n' ? 1 : (i * 37 + 11) % 256));
  const std::string text = "a,b\n1,2\n" + blob + "\n3,4\n";
  Decoded d = Decode(text, {{"max_row_bytes", "64"}});
  EXPECT_EQ(Values(d.rows), (Rows{{T("1"), T("2")}, {T("3"), T("4")}}));
  ASSERT_EQ(d.bad.size(), 1u);
  EXPECT_NE(d.bad[0].reason.find("max_row_bytes"), std::string::npos) << d.bad[0].reason;
  EXPECT_EQ(d.bad[0].line, 3);
  EXPECT_EQ(d.bad[0].offset, 8u);
  EXPECT_EQ(d.bad[0].raw, blob.substr(0, 64));
  EXPECT_EQ(d.rows[1].line, 4);
}

TEST(CsvDecoder, OverlongRecordResyncsAfterStrayQuote) {
  std::string text = "a,b\n1,\"oops\n";
  for (int i = 2; i < 40; ++i) text += std::to_string(i) + ",v\n";
  Decoded d = Decode(text, {{"max_row_bytes", "100"}});
  ASSERT_EQ(d.bad.size(), 1u);
  EXPECT_EQ(d.bad[0].raw, "1,\"oops");
  EXPECT_EQ(d.bad[0].line, 2);
  ASSERT_EQ(d.rows.size(), 38u);
  EXPECT_EQ(d.rows[0].values[0], T("2"));
  EXPECT_EQ(d.rows[0].line, 3);
  EXPECT_EQ(d.rows.back().values[0], T("39"));
}

TEST(CsvDecoder, OverlongLineSpanningBuffersIsSkippedToItsEnd) {
  // The caller feeds 50-byte chunks and grows its buffer until the decoder makes progress.
  std::string text = "a,b\n1,2\n" + std::string(500, 'x') + "\n3,4\n";
  auto dec = MustMake({{"max_row_bytes", "100"}});
  Collector c;
  ASSERT_TRUE(dec->Sniff(text).ok());
  auto h = dec->ReadHeader(text, true, c);
  ASSERT_TRUE(h.ok());
  size_t pos = *h, end = pos;
  while (pos < text.size()) {
    end = std::min(text.size(), end + 50);
    auto r = dec->Decode(std::string_view(text).substr(pos, end - pos), end == text.size(), c);
    ASSERT_TRUE(r.ok());
    pos += *r;
  }
  EXPECT_EQ(Values(c.rows), (Rows{{T("1"), T("2")}, {T("3"), T("4")}}));
  ASSERT_EQ(c.bad.size(), 1u);
  EXPECT_EQ(c.bad[0].raw, std::string(100, 'x'));
  EXPECT_EQ(c.bad[0].line, 3);
  EXPECT_EQ(c.rows[1].line, 4);
  EXPECT_EQ(c.rows[1].offset, text.find("3,4"));
}

TEST(CsvDecoder, RowOfExactlyMaxRowBytesIsAccepted) {
  const std::string row = "1," + std::string(18, 'y');  // 20 bytes
  Decoded d = Decode("a,b\r\n" + row + "\r\n" + row + "z\r\n", {{"max_row_bytes", "20"}});
  ASSERT_EQ(d.rows.size(), 1u);
  EXPECT_EQ(d.rows[0].raw, row);
  ASSERT_EQ(d.bad.size(), 1u);
  EXPECT_EQ(d.bad[0].raw, (row + "z").substr(0, 20));
}

TEST(CsvDecoder, ConsumerStopsEarlyAndResumes) {
  std::string text = "n,s\n";
  for (int i = 0; i < 50; ++i) {
    text += std::to_string(i) + (i % 7 == 3 ? ",\"a\nb\"\n" : ",x\n");
    if (i % 10 == 5) text += "bad\n";
  }
  Decoded whole = Decode(text);
  ASSERT_EQ(whole.rows.size(), 50u);
  ASSERT_EQ(whole.bad.size(), 5u);

  auto dec = MustMake();
  Collector c(/*stop_every=*/3);
  ASSERT_TRUE(dec->Sniff(text).ok());
  auto h = dec->ReadHeader(text, true, c);
  ASSERT_TRUE(h.ok());
  size_t pos = *h;
  int calls = 0;
  while (pos < text.size()) {
    size_t seen = c.rows.size() + c.bad.size();
    auto r = dec->Decode(std::string_view(text).substr(pos), true, c);
    ASSERT_TRUE(r.ok());
    ++calls;
    // Stopped right after the row that said so.
    EXPECT_LE(c.rows.size() + c.bad.size(), seen + 3);
    pos += *r;
    EXPECT_EQ(dec->offset(), pos);
  }
  EXPECT_GE(calls, 18);
  ASSERT_EQ(c.rows.size(), whole.rows.size());
  for (size_t i = 0; i < c.rows.size(); ++i) {
    EXPECT_EQ(c.rows[i].values, whole.rows[i].values);
    EXPECT_EQ(c.rows[i].line, whole.rows[i].line);
  }
  ASSERT_EQ(c.bad.size(), whole.bad.size());
  EXPECT_EQ(c.bad[2].line, whole.bad[2].line);
}

TEST(CsvDecoder, ColumnsMapToTheConsumersSlots) {
  // The consumer already knows columns (a stored schema) in another order.
  class Fixed : public Collector {
   public:
    Fixed() {
      Slot("c");
      Slot("extra");
      Slot("a");
    }
  } c;
  auto dec = MustMake({{"header", "true"}});
  const std::string text = "a,b,c\n1,2,3\n4,5\n";
  ASSERT_TRUE(dec->ReadHeader(text, true, c).ok());
  auto r = dec->Decode(std::string_view(text).substr(6), true, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Values(c.rows), (Rows{{T("3"), M(), T("1"), T("2")}}));
  ASSERT_EQ(c.bad.size(), 1u);
}

TEST(CsvDecoder, EndToEndThroughBatchAssembler) {
  auto schema = std::make_shared<Schema>(std::vector<Field>{
      {"id", DataType::Int64(), false},
      {"price", DataType::Float64(), true},
      {"day", DataType::Date(), true},
      {"name", DataType::String(), true}});
  AssemblerOptions opts;
  opts.fixed_columns = {"id", "price", "day", "name"};  // declared: a bad value is rejected, never widened
  BatchAssembler as("orders", "orders.csv", schema, opts);
  const std::string text =
      "id;price;day;name\r\n"
      "1;2.5;2024-02-29;\"Smith; John\"\r\n"
      "2;abc;2024-03-01;x\r\n"
      "3;;2024-03-02;\"\"\r\n"
      "4;1e3;2024-03-03\r\n";
  auto dec = MustMake();
  DecodeAll(*dec, text, as);
  RecordBatchPtr b = as.TakeBatch();
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->num_rows(), 2);
  EXPECT_EQ(b->column(0).Int64At(0), 1);
  EXPECT_DOUBLE_EQ(b->column(1).Float64At(0), 2.5);
  int32_t day;
  ASSERT_TRUE(ParseDate("2024-02-29", &day));
  EXPECT_EQ(b->column(2).DateAt(0), day);
  EXPECT_EQ(b->column(3).BytesAt(0), "Smith; John");
  EXPECT_EQ(b->column(0).Int64At(1), 3);
  EXPECT_TRUE(b->column(1).IsNull(1));  // an empty unquoted text is null
  EXPECT_FALSE(b->column(3).IsNull(1));  // a quoted empty text is not
  EXPECT_EQ(b->column(3).BytesAt(1), "");
  EXPECT_EQ(b->origin_lines, (std::vector<int64_t>{2, 4}));
  std::vector<RejectedRow> rejects = as.TakeRejects();
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0].column, "price");
  EXPECT_NE(rejects[0].reason.find("price"), std::string::npos) << rejects[0].reason;
  EXPECT_NE(rejects[0].reason.find("abc"), std::string::npos) << rejects[0].reason;
  EXPECT_EQ(rejects[0].origin, "orders.csv:3");
  EXPECT_EQ(rejects[0].raw, "2;abc;2024-03-01;x");
  EXPECT_EQ(rejects[1].rule, "parse");
  EXPECT_EQ(rejects[1].reason, "row has 3 fields, expected 4");
  EXPECT_EQ(rejects[1].origin, "orders.csv:5");
}

TEST(CsvDecoder, SchemaInferenceSeesTypedColumns) {
  SchemaInferrer inf({""}, /*strings_are_typed=*/false, 1000);
  auto dec = MustMake();
  DecodeAll(*dec, "id,price,day,name\n1,2.5,2024-01-01,a\n2,\"3\",2024-01-02,b\n", inf);
  EXPECT_EQ(inf.Finish().ToString(), "id int64?, price float64?, day date?, name string?");
}

TEST(CsvDecoder, DecodeBeforeReadHeaderIsAnError) {
  auto dec = MustMake();
  Collector c;
  auto r = dec->Decode("a,b\n", true, c);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace sluice
