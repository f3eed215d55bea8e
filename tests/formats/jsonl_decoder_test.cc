#include "formats/json/jsonl_decoder.h"

#include <gtest/gtest.h>

#include <climits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config_node.h"
#include "formats/assembler.h"

namespace sluice {
namespace {

// A RowConsumer that remembers everything it is given, with values copied out (the decoder's
// views are only valid during the call).
class Collector : public RowConsumer {
 public:
  struct Row {
    int64_t line;
    uint64_t offset;
    std::string raw;
    std::map<std::string, std::string> values;  // "kind:text"; absent keys are not stored
    size_t num_fields;
  };
  struct Bad {
    int64_t line;
    uint64_t offset;
    std::string raw;
    std::string reason;
  };

  std::vector<int> OnHeader(const std::vector<std::string>&) override {
    ADD_FAILURE() << "JSON lines have no header";
    return {};
  }
  int Slot(std::string_view name) override {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return static_cast<int>(i);
    }
    names.emplace_back(name);
    return static_cast<int>(names.size() - 1);
  }
  size_t NumSlots() const override { return names.size(); }
  bool OnRow(const FieldRef* fields, const RowOrigin& origin, std::string_view raw) override {
    Row r{origin.line, origin.offset, std::string(raw), {}, names.size()};
    for (size_t i = 0; i < names.size(); ++i) {
      if (fields[i].kind != FieldKind::kMissing) r.values[names[i]] = Show(fields[i]);
    }
    rows.push_back(std::move(r));
    return ++events < stop_after;
  }
  bool OnBadRow(const RowOrigin& origin, std::string_view raw, std::string reason) override {
    bad.push_back(Bad{origin.line, origin.offset, std::string(raw), std::move(reason)});
    return ++events < stop_after;
  }

  static std::string Show(const FieldRef& f) {
    const char* kind = "?";
    switch (f.kind) {
      case FieldKind::kMissing:
        kind = "missing";
        break;
      case FieldKind::kNull:
        kind = "null";
        break;
      case FieldKind::kText:
        kind = "text";
        break;
      case FieldKind::kQuotedText:
        kind = "str";
        break;
      case FieldKind::kNumber:
        kind = "num";
        break;
      case FieldKind::kBool:
        kind = "bool";
        break;
      case FieldKind::kNested:
        kind = "nested";
        break;
    }
    return std::string(kind) + ":" + std::string(f.text);
  }

  std::vector<std::string> names;
  std::vector<Row> rows;
  std::vector<Bad> bad;
  int events = 0;
  int stop_after = INT_MAX;
};

std::unique_ptr<Decoder> MakeDecoder(const std::string& max_row_bytes = "") {
  static const FormatInfo info = JsonlFormat();
  ConfigNode block;
  block.SetKind(ConfigNode::Kind::kMap);
  if (!max_row_bytes.empty()) block.AddEntry("max_row_bytes", ConfigNode::Scalar(max_row_bytes));
  auto r = info.make_decoder(Options(&block, &info.options));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

// Decodes all of `data` as a complete stream, resuming after each early stop.
size_t DecodeAll(Decoder& d, std::string_view data, RowConsumer& c) {
  size_t done = 0;
  for (int calls = 0; calls < 10000; ++calls) {
    auto r = d.Decode(data.substr(done), true, c);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || *r == 0) break;
    done += *r;
    if (done == data.size()) break;
  }
  return done;
}

Collector Decoded(std::string_view data, const std::string& max_row_bytes = "") {
  Collector c;
  auto d = MakeDecoder(max_row_bytes);
  EXPECT_EQ(DecodeAll(*d, data, c), data.size());
  return c;
}

TEST(JsonlFormat, DescribesItselfAndValidatesOptions) {
  FormatInfo info = JsonlFormat();
  EXPECT_EQ(info.name, "jsonl");
  EXPECT_EQ(info.extensions, (std::vector<std::string>{".jsonl", ".ndjson", ".json"}));
  ASSERT_EQ(info.options.size(), 1u);
  EXPECT_EQ(info.options[0].name, "max_row_bytes");
  EXPECT_EQ(info.options[0].type, OptionType::kSize);
  EXPECT_EQ(info.options[0].default_value, "16MiB");
  EXPECT_FALSE(info.options[0].doc.empty());
  ASSERT_NE(FindFormatByPath("events.ndjson.gz"), nullptr);
  EXPECT_EQ(FindFormatByPath("events.ndjson.gz")->name, "jsonl");

  auto d = MakeDecoder();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->Describe(), "jsonl max_row_bytes=16777216");

  ConfigNode block;
  block.SetKind(ConfigNode::Kind::kMap);
  block.AddEntry("max_row_bytes", ConfigNode::Scalar("0"));
  auto bad = info.make_decoder(Options(&block, &info.options));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("max_row_bytes"), std::string::npos);
}

TEST(JsonlDecoder, HasNoHeader) {
  auto d = MakeDecoder();
  Collector c;  // fails the test if OnHeader is called
  auto r = d->ReadHeader("{\"a\":1}\n", false, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
  EXPECT_TRUE(c.names.empty());
}

TEST(JsonlDecoder, SniffRefusesAPrettyPrintedJsonDocument) {
  auto d = MakeDecoder();
  Status st = d->Sniff("\n[\n  {\"a\": 1},\n  {\"a\": 2}\n]\n");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("'[' alone on line 2"), std::string::npos) << st.message();
  EXPECT_FALSE(MakeDecoder()->Sniff("{\n  \"a\": 1\n}\n").ok());
  // JSON lines, even ones that hold arrays, are accepted.
  EXPECT_TRUE(MakeDecoder()->Sniff("{\"a\":1}\n{\"a\":2}\n").ok());
  EXPECT_TRUE(MakeDecoder()->Sniff("[1,2]\n").ok());
  EXPECT_TRUE(MakeDecoder()->Sniff("").ok());
  EXPECT_TRUE(MakeDecoder()->Sniff("[").ok());  // an incomplete first line says nothing yet
}

TEST(JsonlDecoder, ScalarsOfEveryKind) {
  Collector c =
      Decoded(R"({"s":"hello","i":-12,"f":3.25e-2,"big":123456789012345678901234567890,"t":true,)"
              R"("fa":false,"n":null,"e":""})"
              "\n");
  ASSERT_EQ(c.rows.size(), 1u);
  ASSERT_TRUE(c.bad.empty()) << c.bad[0].reason;
  const auto& v = c.rows[0].values;
  EXPECT_EQ(v.at("s"), "str:hello");
  EXPECT_EQ(v.at("i"), "num:-12");
  EXPECT_EQ(v.at("f"), "num:3.25e-2");  // the text as written
  EXPECT_EQ(v.at("big"), "num:123456789012345678901234567890");
  EXPECT_EQ(v.at("t"), "bool:true");
  EXPECT_EQ(v.at("fa"), "bool:false");
  EXPECT_EQ(v.at("n"), "null:");
  EXPECT_EQ(v.at("e"), "str:");
}

TEST(JsonlDecoder, NestedValuesKeepTheirRawJson) {
  Collector c = Decoded(R"({"o": {"a":[1,{"b":null}],"c":"x"} ,"arr":[ 1, "two" ,[3]],)"
                        R"("eo":{},"ea":[],"last":{"z":1}})"
                        "\n");
  ASSERT_EQ(c.rows.size(), 1u) << (c.bad.empty() ? "" : c.bad[0].reason);
  const auto& v = c.rows[0].values;
  EXPECT_EQ(v.at("o"), R"(nested:{"a":[1,{"b":null}],"c":"x"})");
  EXPECT_EQ(v.at("arr"), R"(nested:[ 1, "two" ,[3]])");
  EXPECT_EQ(v.at("eo"), "nested:{}");
  EXPECT_EQ(v.at("ea"), "nested:[]");
  EXPECT_EQ(v.at("last"), R"(nested:{"z":1})");
  EXPECT_EQ(c.names.size(), 5u);  // nested keys are not flattened
}

TEST(JsonlDecoder, UnescapesStringsAndKeys) {
  Collector c = Decoded(R"({"s":"a\"b\\c\/d\te\n\u00e9\ud83d\ude00","k\u00e9y":"ü","plain":"日本"})"
                        "\n");
  ASSERT_EQ(c.rows.size(), 1u) << (c.bad.empty() ? "" : c.bad[0].reason);
  const auto& v = c.rows[0].values;
  EXPECT_EQ(v.at("s"), "str:a\"b\\c/d\te\n\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(v.at("k\xC3\xA9y"), "str:ü");
  EXPECT_EQ(v.at("plain"), "str:日本");
}

TEST(JsonlDecoder, CrLfLinesAndBlankLines) {
  std::string data = "\r\n{\"a\":1}\r\n   \n\t\r\n{\"a\":2}\r\n{\"a\":3}";
  Collector c = Decoded(data);
  ASSERT_EQ(c.rows.size(), 3u);
  EXPECT_TRUE(c.bad.empty());
  EXPECT_EQ(c.rows[0].raw, "{\"a\":1}");
  EXPECT_EQ(c.rows[0].line, 2);
  EXPECT_EQ(c.rows[0].offset, 2u);
  EXPECT_EQ(c.rows[1].raw, "{\"a\":2}");
  EXPECT_EQ(c.rows[1].line, 5);
  EXPECT_EQ(c.rows[1].offset, data.find("{\"a\":2}"));
  EXPECT_EQ(c.rows[2].values.at("a"), "num:3");
  EXPECT_EQ(c.rows[2].line, 6);
}

TEST(JsonlDecoder, KeysInAnyOrderAndNewKeysLater) {
  Collector c = Decoded(
      "{\"a\":1,\"b\":2}\n"
      "{\"b\":3,\"a\":4}\n"
      "{\"c\":\"new\"}\n"
      "{\"a\":5,\"c\":\"x\",\"b\":6,\"d\":true}\n");
  ASSERT_EQ(c.rows.size(), 4u);
  EXPECT_EQ(c.names, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(c.rows[1].values, (std::map<std::string, std::string>{{"a", "num:4"}, {"b", "num:3"}}));
  EXPECT_EQ(c.rows[2].values, (std::map<std::string, std::string>{{"c", "str:new"}}));
  EXPECT_EQ(c.rows[2].num_fields, 3u);  // the array grew with the new slot
  EXPECT_EQ(c.rows[3].values.at("d"), "bool:true");
  EXPECT_EQ(c.rows[3].values.at("b"), "num:6");
  EXPECT_EQ(c.rows[3].num_fields, 4u);
}

TEST(JsonlDecoder, DuplicateKeysLastWins) {
  Collector c = Decoded("{\"a\":1,\"b\":2,\"a\":\"late\"}\n");
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(c.rows[0].values.at("a"), "str:late");
  EXPECT_EQ(c.rows[0].values.at("b"), "num:2");
}

TEST(JsonlDecoder, InvalidLinesAreRejectedAndGoodOnesStillComeOut) {
  Collector c = Decoded(
      "{\"a\":1}\n"
      "{\"a\":1,}\n"
      "{\"a\" 2}\n"
      "{\"a\":[1,,2]}\n"
      "{\"new\":1,\"a\":{\"b\":tru}}\n"
      "{\"a\":01}\n"
      "{\"a\":\"\\q\"}\n"
      "{\"a\":\"unterminated}\n"
      "{\"a\":1} trailing\n"
      "{\"a\":2}\n");
  ASSERT_EQ(c.rows.size(), 2u);
  EXPECT_EQ(c.rows[0].values.at("a"), "num:1");
  EXPECT_EQ(c.rows[1].values.at("a"), "num:2");
  EXPECT_EQ(c.rows[1].line, 10);
  ASSERT_EQ(c.bad.size(), 8u);
  for (size_t i = 0; i < c.bad.size(); ++i) {
    EXPECT_EQ(c.bad[i].line, static_cast<int64_t>(i) + 2);
    EXPECT_EQ(c.bad[i].reason.rfind("invalid JSON: ", 0), 0u) << c.bad[i].reason;
  }
  EXPECT_EQ(c.bad[0].raw, "{\"a\":1,}");
  EXPECT_NE(c.bad[0].reason.find("at column 8"), std::string::npos) << c.bad[0].reason;
  EXPECT_NE(c.bad[3].reason.find("tru"), std::string::npos) << c.bad[3].reason;
  EXPECT_NE(c.bad[4].reason.find("invalid number"), std::string::npos) << c.bad[4].reason;
  EXPECT_NE(c.bad[5].reason.find("escape"), std::string::npos) << c.bad[5].reason;
  EXPECT_NE(c.bad[6].reason.find("not closed"), std::string::npos) << c.bad[6].reason;
  // A bad line adds no slot: no column appears for keys only bad lines had.
  EXPECT_EQ(c.names, (std::vector<std::string>{"a"}));
}

TEST(JsonlDecoder, TopLevelValueMustBeAnObject) {
  Collector c = Decoded("[1,2]\n\"text\"\n42\nnull\ntrue\n{\"ok\":1}\nnot json\n");
  ASSERT_EQ(c.rows.size(), 1u);
  ASSERT_EQ(c.bad.size(), 6u);
  EXPECT_EQ(c.bad[0].reason, "expected a JSON object, got an array");
  EXPECT_EQ(c.bad[0].raw, "[1,2]");
  EXPECT_EQ(c.bad[1].reason, "expected a JSON object, got a string");
  EXPECT_EQ(c.bad[2].reason, "expected a JSON object, got a number");
  EXPECT_EQ(c.bad[3].reason, "expected a JSON object, got null");
  EXPECT_EQ(c.bad[4].reason, "expected a JSON object, got a boolean");
  EXPECT_EQ(c.bad[5].reason, "invalid JSON: unexpected token at column 1 near 'not json'");
}

TEST(JsonlDecoder, InvalidUtf8IsRejectedWithAReasonSayingSo) {
  Collector c = Decoded("{\"a\":\"ok\"}\n{\"a\":\"bad \xFF byte\"}\n{\"a\":\"\xC3\xA9\"}\n");
  ASSERT_EQ(c.rows.size(), 2u);
  ASSERT_EQ(c.bad.size(), 1u);
  EXPECT_EQ(c.bad[0].line, 2);
  EXPECT_EQ(c.bad[0].reason, "invalid UTF-8 at column 11 (byte 0xFF)");
  EXPECT_EQ(c.bad[0].raw, "{\"a\":\"bad \xFF byte\"}");
}

TEST(JsonlDecoder, TruncatedLastLineWaitsForMoreUnlessAtEof) {
  std::string data = "{\"a\":1}\n{\"a\":2}\n{\"a\":";
  auto d = MakeDecoder();
  Collector c;
  auto r = d->Decode(data, false, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 16u);  // up to the end of line 2
  EXPECT_EQ(c.rows.size(), 2u);
  EXPECT_TRUE(c.bad.empty());
  EXPECT_EQ(d->offset(), 16u);
  EXPECT_EQ(d->line(), 3);

  r = d->Decode(std::string_view(data).substr(16), true, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 5u);
  ASSERT_EQ(c.bad.size(), 1u);
  EXPECT_EQ(c.bad[0].raw, "{\"a\":");
  EXPECT_EQ(c.bad[0].line, 3);
  EXPECT_EQ(c.bad[0].offset, 16u);
  EXPECT_EQ(c.bad[0].reason.rfind("invalid JSON: ", 0), 0u);
}

TEST(JsonlDecoder, LastLineWithoutTerminatorIsARowAtEof) {
  auto d = MakeDecoder();
  Collector c;
  auto r = d->Decode("{\"a\":1}", false, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
  r = d->Decode("{\"a\":1}", true, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7u);
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(c.rows[0].values.at("a"), "num:1");
}

TEST(JsonlDecoder, LongLineIsRejectedInPartsAndDecodingResumes) {
  // max_row_bytes 16: a 40-byte line becomes parts of 16, 16 and 8 bytes.
  std::string longline = "{\"a\":\"" + std::string(32, 'x') + "\"}";
  ASSERT_EQ(longline.size(), 40u);
  std::string data = "{\"a\":1}\n" + longline + "\r\n{\"a\":2}\n{\"b\":\"12345678\"}\n";
  Collector c = Decoded(data, "16");
  ASSERT_EQ(c.rows.size(), 3u);
  EXPECT_EQ(c.rows[1].values.at("a"), "num:2");
  EXPECT_EQ(c.rows[1].line, 3);
  EXPECT_EQ(c.rows[1].offset, 8u + 42u);
  EXPECT_EQ(c.rows[2].raw.size(), 16u);  // exactly max_row_bytes is accepted
  ASSERT_EQ(c.bad.size(), 3u);
  std::string joined;
  for (const auto& b : c.bad) {
    EXPECT_EQ(b.line, 2);
    EXPECT_LE(b.raw.size(), 16u);
    EXPECT_NE(b.reason.find("max_row_bytes (16 bytes)"), std::string::npos) << b.reason;
    joined += b.raw;
  }
  EXPECT_EQ(joined, longline);  // nothing is dropped
  EXPECT_EQ(c.bad[0].offset, 8u);
  EXPECT_EQ(c.bad[1].offset, 24u);
  EXPECT_EQ(c.bad[2].offset, 40u);
  EXPECT_NE(c.bad[0].reason.find("part 1 holds bytes 0-15 of the line; the rest follows"),
            std::string::npos)
      << c.bad[0].reason;
  EXPECT_NE(c.bad[2].reason.find("part 3 holds bytes 32-39 of the line"), std::string::npos);
}

TEST(JsonlDecoder, LongLineWithoutNewlineIsConsumedInPiecesAsDataArrives) {
  // A binary-like stream with no newline: the decoder must not ask for unbounded buffering.
  auto d = MakeDecoder("16");
  Collector c;
  std::string stream(50, '\x01');
  stream += "\n{\"a\":1}\n";
  std::string buffer;
  size_t fed = 0;
  uint64_t consumed_total = 0;
  while (fed < stream.size()) {
    size_t take = std::min<size_t>(7, stream.size() - fed);
    buffer.append(stream, fed, take);
    fed += take;
    auto r = d->Decode(buffer, fed == stream.size(), c);
    ASSERT_TRUE(r.ok());
    buffer.erase(0, *r);
    consumed_total += *r;
    EXPECT_LE(buffer.size(), 16u + 2 + 7);  // bounded by max_row_bytes plus one chunk
  }
  EXPECT_EQ(consumed_total, stream.size());
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(c.rows[0].line, 2);
  EXPECT_EQ(c.rows[0].offset, 51u);
  std::string joined;
  for (const auto& b : c.bad) joined += b.raw;
  EXPECT_EQ(joined, std::string(50, '\x01'));
}

TEST(JsonlDecoder, ConsumerStopsEarlyAndDecodingResumesFromTheConsumedCount) {
  std::string data = "{\"a\":1}\n\n{\"a\":2}\nnot json\n{\"a\":3}\n{\"a\":4}";
  auto d = MakeDecoder();
  Collector c;
  c.stop_after = 1;  // every row asks the decoder to stop
  size_t done = 0;
  std::vector<size_t> steps;
  while (done < data.size()) {
    c.events = 0;
    auto r = d->Decode(std::string_view(data).substr(done), true, c);
    ASSERT_TRUE(r.ok());
    ASSERT_GT(*r, 0u);
    steps.push_back(*r);
    done += *r;
  }
  EXPECT_EQ(steps, (std::vector<size_t>{8, 9, 9, 8, 7}));  // one row or bad row per call
  ASSERT_EQ(c.rows.size(), 4u);
  ASSERT_EQ(c.bad.size(), 1u);
  EXPECT_EQ(c.bad[0].line, 4);
  EXPECT_EQ(c.rows[3].line, 6);
  EXPECT_EQ(c.rows[3].offset, data.size() - 7);
  EXPECT_EQ(d->offset(), data.size());
}

TEST(JsonlDecoder, SeekSetsLineAndOffsetOfTheNextRow) {
  auto d = MakeDecoder();
  d->Seek(1000, 41);
  EXPECT_EQ(d->offset(), 1000u);
  EXPECT_EQ(d->line(), 41);
  Collector c;
  auto r = d->Decode("{\"a\":1}\n\n[]\n", true, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 12u);
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(c.rows[0].line, 41);
  EXPECT_EQ(c.rows[0].offset, 1000u);
  ASSERT_EQ(c.bad.size(), 1u);
  EXPECT_EQ(c.bad[0].line, 43);
  EXPECT_EQ(c.bad[0].offset, 1009u);
  EXPECT_EQ(d->offset(), 1012u);
  EXPECT_EQ(d->line(), 44);
}

TEST(JsonlDecoder, SameRowsWhateverTheChunking) {
  // Lines near the end of each chunk are parsed from a padded copy; others in place.
  std::string data;
  for (int i = 0; i < 40; ++i) {
    data += "{\"id\":" + std::to_string(i) + ",\"s\":\"" + std::string(i % 7, 'a' + i % 26) +
            "\\n\",\"o\":{\"k\":[" + std::to_string(i) + "]}}" + (i % 3 ? "\n" : "\r\n");
    if (i % 11 == 0) data += "oops\n";
  }
  Collector whole = Decoded(data);
  ASSERT_EQ(whole.rows.size(), 40u);
  ASSERT_EQ(whole.bad.size(), 4u);
  for (size_t cut = 1; cut < data.size(); cut += 13) {
    auto d = MakeDecoder();
    Collector c;
    // Exact-size copies, so that a sanitizer sees any read past the end of `data`.
    std::vector<char> head(data.begin(), data.begin() + static_cast<ptrdiff_t>(cut));
    auto r = d->Decode(std::string_view(head.data(), head.size()), false, c);
    ASSERT_TRUE(r.ok());
    std::vector<char> tail(data.begin() + static_cast<ptrdiff_t>(*r), data.end());
    auto r2 = d->Decode(std::string_view(tail.data(), tail.size()), true, c);
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(*r + *r2, data.size());
    ASSERT_EQ(c.rows.size(), whole.rows.size()) << "cut " << cut;
    for (size_t i = 0; i < c.rows.size(); ++i) {
      EXPECT_EQ(c.rows[i].values, whole.rows[i].values);
      EXPECT_EQ(c.rows[i].offset, whole.rows[i].offset);
      EXPECT_EQ(c.rows[i].line, whole.rows[i].line);
    }
    EXPECT_EQ(c.bad.size(), whole.bad.size());
  }
}

TEST(JsonlDecoder, ByteOrderMarkIsSkipped) {
  Collector c = Decoded("\xEF\xBB\xBF{\"a\":1}\n{\"a\":2}\n");
  ASSERT_EQ(c.rows.size(), 2u);
  EXPECT_TRUE(c.bad.empty());
  EXPECT_EQ(c.names, (std::vector<std::string>{"a"}));
  EXPECT_EQ(c.rows[0].offset, 0u);
}

TEST(JsonlDecoder, InfersSchemaAndAssemblesTypedBatches) {
  std::string sample =
      R"({"id":1,"name":"ann","price":1.5,"ok":true,"tags":["x","y"],"day":"2024-01-02"})"
      "\n"
      R"({"id":2,"name":"bob","price":2,"ok":false,"tags":{"k":1},"day":"2024-02-03","note":null})"
      "\n";
  auto d = MakeDecoder();
  SchemaInferrer inferrer({}, /*strings_are_typed=*/true, 1000);
  auto r = d->Decode(sample, true, inferrer);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, sample.size());
  Schema schema = inferrer.Finish();
  EXPECT_EQ(
      schema.ToString(),
      "id int64?, name string?, price float64?, ok bool?, tags json?, day date?, note string?");

  // The same decoder, rewound, now feeds the assembler: slots belong to the new consumer.
  d->Seek(0, 1);
  AssemblerOptions opts;
  for (const Field& f : schema.fields()) opts.fixed_columns.push_back(f.name);  // no widening here
  BatchAssembler assembler("events", "events.jsonl", std::make_shared<const Schema>(schema), opts);
  std::string data =
      sample + R"({"id":"three","name":"cy","price":3,"ok":true,"tags":[],"day":"2024-03-04"})"
               "\n"
               R"({"day":"2024-05-06","id":4,"name":"dee\u00e9","extra":7})"
               "\n";
  r = d->Decode(data, true, assembler);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, data.size());
  RecordBatchPtr batch = assembler.TakeBatch();
  ASSERT_NE(batch, nullptr);
  ASSERT_EQ(batch->num_rows(), 3);
  const Schema& s = *batch->schema();
  EXPECT_EQ(batch->column(s.IndexOf("id")).Int64At(2), 4);
  EXPECT_EQ(batch->column(s.IndexOf("name")).BytesAt(2), "dee\xC3\xA9");
  EXPECT_DOUBLE_EQ(batch->column(s.IndexOf("price")).Float64At(1), 2.0);
  EXPECT_FALSE(batch->column(s.IndexOf("ok")).BoolAt(1));
  EXPECT_EQ(batch->column(s.IndexOf("tags")).BytesAt(0), R"(["x","y"])");
  EXPECT_EQ(batch->column(s.IndexOf("tags")).BytesAt(1), R"({"k":1})");
  EXPECT_TRUE(batch->column(s.IndexOf("tags")).IsNull(2));
  EXPECT_TRUE(batch->column(s.IndexOf("note")).IsNull(0));
  ASSERT_GE(s.IndexOf("extra"), 0);  // a key first seen after inference becomes a column
  EXPECT_EQ(batch->column(s.IndexOf("extra")).Int64At(2), 7);
  EXPECT_EQ(batch->origin_lines, (std::vector<int64_t>{1, 2, 4}));

  std::vector<RejectedRow> rejects = assembler.TakeRejects();
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].column, "id");
  EXPECT_EQ(rejects[0].origin, "events.jsonl:3");
  EXPECT_NE(rejects[0].reason.find("column 'id'"), std::string::npos) << rejects[0].reason;
  EXPECT_NE(rejects[0].reason.find("three"), std::string::npos) << rejects[0].reason;
  EXPECT_EQ(rejects[0].raw.rfind(R"({"id":"three")", 0), 0u);
}

TEST(JsonlDecoder, BadRowsReachTheAssemblerAsParseRejects) {
  auto d = MakeDecoder();
  BatchAssembler assembler("s", "f.jsonl", std::make_shared<const Schema>(), {});
  auto r = d->Decode("{\"a\":1}\n[1]\n{\"a\":\n", true, assembler);
  ASSERT_TRUE(r.ok());
  RecordBatchPtr batch = assembler.TakeBatch();
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->num_rows(), 1);
  std::vector<RejectedRow> rejects = assembler.TakeRejects();
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0].rule, "parse");
  EXPECT_EQ(rejects[0].origin, "f.jsonl:2");
  EXPECT_EQ(rejects[0].reason, "expected a JSON object, got an array");
  EXPECT_EQ(rejects[1].origin, "f.jsonl:3");
  EXPECT_EQ(rejects[1].position_key, "f.jsonl@12");
}

}  // namespace
}  // namespace sluice
