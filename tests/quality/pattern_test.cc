#include "quality/pattern.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <random>
#include <string>
#include <vector>

#include "core/record_batch.h"

namespace sluice {
namespace {

using Engine = PatternMatcher::Engine;

// Patterns the fast engines take: the contract and bench pattern, the JSON Schema formats and
// test pipelines' patterns, and shapes that exercise every piece of the subset.
const std::vector<std::string>& FastPatterns() {
  static const std::vector<std::string> v = {
      R"(^[^@\s]+@[^@\s]+$)",                    // contract_bench, tests/pipelines
      R"(^[^@]+@[^@]+$)",                        // tests/pipelines/json_schema_nested
      R"(^[0-9]{5}$)",                           // tests/pipelines/json_schema_nested (zip)
      R"(^[^@\s]+@[^@\s]+\.[^@\s]+$)",           // JSON Schema format: email
      R"(^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)",  // uuid
      R"(^a)", R"(b$)", R"(^$)", R"(^)", R"($)", R"(ab)", R"(a.c)", R"(^a.c$)", R"(^.*$)", R"(^.+$)",
      R"(^\d{3}-\d{4}$)", R"(^\w+$)", R"(^\W*$)", R"(^\S+\s\S+$)", R"(^\D?\d+$)", R"(^[a-z]{2,4}[0-9]*$)",
      R"(^[A-Z][a-z]* ?)", R"(\.)", R"([^a-z])", R"(^[\d\s-]+$)", R"(^[-a]+$)", R"(^[a-]+$)",
      R"(^[\]\[]$)", R"(^x{0,3}y{2,}z?$)", R"(^x{0,3}x{1,2}$)", R"(^[ab]*b[ab]{2}$)", R"(^a+?b*?$)",
      R"(^\t\n\r\f\v\a$)", R"(^\$\^\.\*\+\?\(\)\|\{\}\\/$)", R"(^[^\n]*$)", R"(^.{2,5}$)", R"(^[ -~]+$)",
      R"(@example\.com$)", R"([0-9])", R"(^[a-c]+@)", R"(^[^a-c]+)", R"(a{3})", R"(^\s*[a-z]\s*$)",
  };
  return v;
}

// Patterns left to RE2: the fast engines must not take these.
const std::vector<std::string>& Re2Patterns() {
  static const std::vector<std::string> v = {
      R"(^(a|b)$)", R"(^(?i)abc$)", R"(^\bfoo\b)", R"(^é+$)", R"(^[[:alpha:]]+$)", R"(^\pL+$)",
      R"(a|b)", R"(^[]a]$)", R"(^\x41$)", R"(^[ab]{1,100}b$)", R"(^a{,3}$)", R"(\Aabc\z)", R"(^(?:ab)+$)",
  };
  return v;
}

// Inputs that sit on the edges of the patterns above, including UTF-8 and bytes that are not.
const std::vector<std::string>& EdgeInputs() {
  static const std::vector<std::string> v = {
      "", "a", "b", "ab", "abc", "a\nc", "@", "@@", "u1@example.com", "u1.example.com", "u1@example",
      "u1@@example.com", "u 1@example.com", "u1@example.com\n", "\nu1@example.com", "a@b.c", "a@b.", "@b.c",
      "12345", "1234", "123456", "1234a", "0a1b2c3d-0000-1111-2222-333344445555",
      "0a1b2c3d-0000-1111-2222-33334444555", "ZZZZZZZZ-0000-1111-2222-333344445555", "123-4567", "12-34567",
      "é@example.com", "ü", "日本@例え.jp", "\xf0\x9f\x98\x80@x.y", "a\xc3", "\xc3\xa9", "\xc0\x80@x",
      "\xe0\x80\x80@x", "\xed\xa0\x80@x", "\xf4\x90\x80\x80@x", "\xf5\x80\x80\x80@x", "\x80@x", "a\xff@b",
      "\xe2\x82@x", "\xe2\x82\xac@x", "x\xe2\x82", "xxx", "xxxyy", "yy", "xyyz", "xxxxyy", "abbb", "bab",
      "aab", std::string("a\0b", 3), "\t\n\r\f\v\a", "$^.*+?()|{}\\/", " a ", "  z", "][", "-", "a-", "--a",
  };
  return v;
}

std::string RandomInput(std::mt19937& rng) {
  // Mostly characters that the patterns care about, plus UTF-8 and stray high bytes.
  static const std::vector<std::string> pieces = {
      "a", "b", "c", "x", "y", "z", "u", "A", "Z", "0", "1", "5", "9", "@", ".", "-", " ", "\t", "\n",
      "_", "]", "[", "$", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80", "\xc3", "\x80", "\xff", "\xed\xa0\x80",
      "\xe0\x80\x80", "\xf4\x90\x80\x80", "\xc1\xbf", "example", ".com",
  };
  std::uniform_int_distribution<size_t> len(0, 12), pick(0, pieces.size() - 1);
  std::string s;
  for (size_t k = len(rng); k > 0; --k) s += pieces[pick(rng)];
  return s;
}

void ExpectAgreesWithRe2(const std::string& pattern, bool allow_sequence) {
  PatternMatcher m(pattern, true, allow_sequence);
  RE2 re(pattern, RE2::Quiet);
  std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string>{}(pattern)));
  std::vector<std::string> inputs = EdgeInputs();
  for (int k = 0; k < 3000; ++k) inputs.push_back(RandomInput(rng));
  for (const std::string& s : inputs) {
    ASSERT_EQ(m.Matches(s), RE2::PartialMatch(s, re))
        << "pattern " << pattern << " on '" << s << "' (" << s.size() << " bytes), engine "
        << static_cast<int>(m.engine());
  }
}

TEST(PatternMatcher, FastEnginesTakeTheCommonPatterns) {
  EXPECT_EQ(PatternMatcher(R"(^[^@\s]+@[^@\s]+$)").engine(), Engine::kSequence);
  EXPECT_EQ(PatternMatcher(R"(^[0-9]{5}$)").engine(), Engine::kSequence);
  // `[^@\s]+\.` must be able to give back a '.', which one greedy scan cannot do.
  EXPECT_EQ(PatternMatcher(R"(^[^@\s]+@[^@\s]+\.[^@\s]+$)").engine(), Engine::kDfa);
  EXPECT_EQ(PatternMatcher(R"(@example\.com$)").engine(), Engine::kDfa);
  for (const std::string& p : FastPatterns()) EXPECT_NE(PatternMatcher(p).engine(), Engine::kRe2) << p;
  for (const std::string& p : Re2Patterns()) {
    PatternMatcher m(p);
    EXPECT_TRUE(m.ok()) << p;
    EXPECT_EQ(m.engine(), Engine::kRe2) << p;
  }
}

TEST(PatternMatcher, EachEngineAgreesWithRe2) {
  for (const std::string& p : FastPatterns()) {
    ExpectAgreesWithRe2(p, true);   // the greedy scan where it applies
    ExpectAgreesWithRe2(p, false);  // the DFA
  }
  for (const std::string& p : Re2Patterns()) ExpectAgreesWithRe2(p, true);
}

TEST(PatternMatcher, AgreesWithRe2OnRandomPatterns) {
  // Random sequences over the subset, each held against RE2 on random inputs.
  static const std::vector<std::string> atoms = {"a", "b", "x", "@", "\\.", ".", "[ab]", "[^a]", "[^@\\s]",
                                                 "\\d", "\\w", "\\s", "\\S", "[a-z0-9]", "[-x]"};
  static const std::vector<std::string> quants = {"", "", "*", "+", "?", "{2}", "{1,3}", "{0,2}", "{2,}"};
  std::mt19937 rng(20261128);
  std::uniform_int_distribution<size_t> len(1, 5), atom(0, atoms.size() - 1), quant(0, quants.size() - 1), coin(0, 1);
  int fast = 0;
  for (int k = 0; k < 300; ++k) {
    std::string p = coin(rng) ? "^" : "";
    for (size_t n = len(rng); n > 0; --n) p += atoms[atom(rng)] + quants[quant(rng)];
    if (coin(rng)) p += "$";
    fast += PatternMatcher(p).engine() != Engine::kRe2;
    ExpectAgreesWithRe2(p, true);
    ExpectAgreesWithRe2(p, false);
  }
  EXPECT_GT(fast, 290);  // nearly all of them run on the fast engines
}

TEST(PatternMatcher, ColumnScanAgreesWithRe2) {
  // Over a column the scan reads 16 bytes at a time where the data allows it: values of every
  // length, back to back, with the byte that ends a run anywhere in a block.
  std::mt19937 rng(7);
  std::vector<std::string> values = EdgeInputs();
  for (int k = 0; k < 2000; ++k) {
    std::string s = RandomInput(rng);
    if (k % 3 == 0) s = std::string(static_cast<size_t>(k % 40), 'a') + s + std::string(static_cast<size_t>(k % 23), 'b');
    if (k % 5 == 0) s = "u" + std::to_string(k * 7919) + "@" + std::string(static_cast<size_t>(k % 37), 'x') + ".example.com";
    values.push_back(s);
  }
  ColumnBuilder b(DataType::String());
  for (size_t k = 0; k < values.size(); ++k) {
    if (k % 17 == 3) b.AppendNull();
    else b.AppendBytes(values[k]);
  }
  ColumnPtr col = b.Finish();
  for (const std::string& p : FastPatterns()) {
    RE2 re(p, RE2::Quiet);
    for (bool sequence : {true, false}) {
      PatternMatcher m(p, true, sequence);
      std::vector<uint8_t> fail(values.size(), 0);
      m.MarkMismatches(*col, fail.data());
      for (size_t k = 0; k < values.size(); ++k) {
        const bool want = k % 17 != 3 && !RE2::PartialMatch(values[k], re);
        ASSERT_EQ(fail[k] != 0, want) << "pattern " << p << " on '" << values[k] << "', engine "
                                      << static_cast<int>(m.engine());
      }
    }
  }
}

TEST(PatternMatcher, MarksNonNullMismatchesOfAColumn) {
  ColumnBuilder b(DataType::String());
  b.AppendBytes("a@b");
  b.AppendNull();
  b.AppendBytes("no at sign");
  b.AppendBytes("x@y");
  b.AppendBytes("");
  ColumnPtr col = b.Finish();
  for (bool fast : {true, false}) {
    PatternMatcher m(R"(^[^@\s]+@[^@\s]+$)", fast);
    std::vector<uint8_t> fail(5, 0);
    EXPECT_EQ(m.MarkMismatches(*col, fail.data()), 2);
    EXPECT_EQ(fail, (std::vector<uint8_t>{0, 0, 1, 0, 1}));
  }
}

TEST(PatternMatcher, InvalidPatternIsNotOk) {
  PatternMatcher m("(");
  EXPECT_FALSE(m.ok());
  EXPECT_FALSE(m.Matches("("));
}

}  // namespace
}  // namespace sluice
