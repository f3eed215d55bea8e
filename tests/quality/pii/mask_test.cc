#include "quality/pii/mask.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "quality/pii/crypto.h"

namespace sluice {
namespace {

std::string Unhex(std::string_view hex) {
  std::string out;
  EXPECT_TRUE(HexDecode(hex, &out)) << hex;
  return out;
}

const std::string kSecret = "correct horse battery staple 2024";

// ---- HMAC-SHA256: RFC 4231 section 4 ----

TEST(MaskCrypto, HmacSha256Rfc4231Vectors) {
  struct Case {
    std::string key, data, mac;
  };
  const std::vector<Case> cases = {
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {Unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. "
       "The key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    auto one_shot = HmacSha256Hex(cases[i].key, cases[i].data);
    ASSERT_TRUE(one_shot.ok()) << one_shot.status().ToString();
    EXPECT_EQ(*one_shot, cases[i].mac) << "RFC 4231 case index " << i;
  }
  // Test case 5 (truncated to 128 bits).
  auto tc5 = HmacSha256Hex(std::string(20, '\x0c'), "Test With Truncation");
  ASSERT_TRUE(tc5.ok());
  EXPECT_EQ(tc5->substr(0, 32), "a3b6167473100ee06e0c796c2955552b");
}

TEST(MaskCrypto, HmacContextIsReusedAcrossValues) {
  auto h = HmacSha256::Create("Jefe");
  ASSERT_TRUE(h.ok());
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(*h->Hex("what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_NE(*h->Hex("something else"), *h->Hex("what do ya want for nothing?"));
  }
  EXPECT_FALSE(HmacSha256::Create("").ok());
}

// ---- AES-SIV: RFC 5297 appendix A ----

TEST(MaskCrypto, AesSivRfc5297DeterministicVectorA1) {
  auto siv =
      AesSiv::Create(Unhex("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"));
  ASSERT_TRUE(siv.ok()) << siv.status().ToString();
  std::string ad = Unhex("101112131415161718191a1b1c1d1e1f2021222324252627");
  std::string pt = Unhex("112233445566778899aabbccddee");
  for (int round = 0; round < 2; ++round) {  // the keyed context must not carry state over
    auto sealed = siv->Seal({ad}, pt);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    EXPECT_EQ(HexEncode(*sealed),
              "85632d07c6e8f37f950acd320a2ecc93"
              "40c02b9690c4dc04daef7f6afe5c");
    auto opened = siv->Open({ad}, *sealed);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, pt);
  }
}

TEST(MaskCrypto, AesSivRfc5297NonceVectorA2) {
  auto siv =
      AesSiv::Create(Unhex("7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f"));
  ASSERT_TRUE(siv.ok());
  std::string ad1 =
      Unhex("00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa99887766554433221100");
  std::string ad2 = Unhex("102030405060708090a0");
  std::string nonce = Unhex("09f911029d74e35bd84156c5635688c0");
  std::string pt = Unhex(
      "7468697320697320736f6d6520706c61696e7465787420746f20656e6372797074207573696e67205349"
      "562d414553");
  auto sealed = siv->Seal({ad1, ad2, nonce}, pt);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(HexEncode(*sealed),
            "7bdb6e3b432667eb06f4d14bff2fbd0fcb900f2fddbe404326601965c889bf17dba77ceb094fa663b7"
            "a3f748ba8af829ea64ad544a272e9c485b62a3fd5c0d");
  // Associated data is authenticated: dropping a component fails.
  EXPECT_FALSE(siv->Open({ad1, ad2}, *sealed).ok());
  EXPECT_EQ(*siv->Open({ad1, ad2, nonce}, *sealed), pt);
}

TEST(MaskCrypto, AesSivRejectsBadKeysAndTampering) {
  EXPECT_TRUE(AesSiv::Create(std::string(16, 'k')).status().IsInvalidArgument());
  auto siv = AesSiv::Create(std::string(64, 'k'));
  ASSERT_TRUE(siv.ok());
  auto sealed = siv->Seal({}, "hello");
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string bad = *sealed;
    bad[i] ^= 0x01;
    auto r = siv->Open({}, bad);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << "flipped byte " << i;
  }
  EXPECT_FALSE(siv->Open({}, sealed->substr(0, 16)).ok());
}

TEST(MaskCrypto, Base64UrlRoundTripAndStrictness) {
  for (std::string s : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                        std::string("foob"), std::string("\xff\xfe\x00\x01", 4)}) {
    std::string back;
    ASSERT_TRUE(Base64UrlDecode(Base64UrlEncode(s), &back));
    EXPECT_EQ(back, s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");  // url alphabet, no padding
  std::string out;
  EXPECT_FALSE(Base64UrlDecode("Zm9v=", &out));
  EXPECT_FALSE(Base64UrlDecode("Zm+v", &out));
  EXPECT_FALSE(Base64UrlDecode("Zh", &out));  // non-zero trailing bits
  EXPECT_TRUE(Base64UrlDecode("Zg", &out));
  EXPECT_EQ(out, "f");
}

// ---- single values ----

TEST(MaskValue, HashIsKeyedAndStable) {
  auto a = HashValue(kSecret, "alice@example.com");
  auto b = HashValue(kSecret, "alice@example.com");
  auto c = HashValue("another key entirely", "alice@example.com");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->size(), 64u);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_TRUE(VerifyHash(kSecret, "alice@example.com", *a));
  EXPECT_FALSE(VerifyHash(kSecret, "alice@example.org", *a));
  EXPECT_FALSE(VerifyHash(kSecret, "alice@example.com", a->substr(0, 63)));
}

TEST(MaskValue, PartialCountsCodePoints) {
  EXPECT_EQ(PartialMask("4111111111111111", 4), "************1111");
  EXPECT_EQ(PartialMask("4111111111111111", 4, /*keep_first=*/true), "4111************");
  // "Zoë Ångström": 12 code points, 15 bytes.
  EXPECT_EQ(PartialMask("Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m", 3), "*********r\xc3\xb6m");
  EXPECT_EQ(PartialMask("Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m", 3, true), "Zo\xc3\xab*********");
  // CJK and an emoji (4-byte sequence).
  EXPECT_EQ(PartialMask("\xe5\xbc\xa0\xe4\xbc\x9f\xf0\x9f\x98\x80", 1), "**\xf0\x9f\x98\x80");
  EXPECT_EQ(PartialMask("\xe5\xbc\xa0\xe4\xbc\x9f\xf0\x9f\x98\x80", 1, true), "\xe5\xbc\xa0**");
  // Values no longer than `keep` are masked entirely, one '*' per code point.
  EXPECT_EQ(PartialMask("abc", 4), "***");
  EXPECT_EQ(PartialMask("\xc3\xa9t\xc3\xa9", 3), "***");
  EXPECT_EQ(PartialMask("", 4), "");
  EXPECT_EQ(PartialMask("secret", 0), "******");
}

TEST(MaskValue, TokenizeRoundTripsAndIsDeterministic) {
  for (std::string v :
       {std::string("alice@example.com"), std::string(""), std::string("Zo\xc3\xab"),
        std::string("a\0b", 3), std::string(5000, 'x')}) {
    auto t1 = Tokenize(kSecret, v);
    auto t2 = Tokenize(kSecret, v);
    ASSERT_TRUE(t1.ok()) << t1.status().ToString();
    EXPECT_EQ(*t1, *t2);
    EXPECT_TRUE(t1->starts_with("tok_"));
    EXPECT_EQ(t1->find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 4),
              std::string::npos);
    auto back = Detokenize(kSecret, *t1);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, v);
  }
  EXPECT_NE(*Tokenize(kSecret, "a"), *Tokenize(kSecret, "b"));
  EXPECT_NE(*Tokenize(kSecret, "a"), *Tokenize(kSecret + "!", "a"));
}

TEST(MaskValue, DetokenizeRejectsWrongKeyAndTampering) {
  auto token = Tokenize(kSecret, "4111111111111111");
  ASSERT_TRUE(token.ok());
  auto wrong = Detokenize("a different secret of enough length", *token);
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(wrong.status().IsInvalidArgument());
  EXPECT_NE(wrong.status().message().find("wrong key"), std::string::npos);

  for (size_t i = 4; i < token->size(); ++i) {
    std::string bad = *token;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    auto r = Detokenize(kSecret, bad);
    EXPECT_FALSE(r.ok()) << "changed char " << i << " gave '" << (r.ok() ? *r : "") << "'";
  }
  EXPECT_FALSE(Detokenize(kSecret, "tok_").ok());
  EXPECT_FALSE(Detokenize(kSecret, token->substr(0, token->size() - 3)).ok());
  EXPECT_FALSE(Detokenize(kSecret, "4111111111111111").ok());
  EXPECT_FALSE(Detokenize(kSecret, "tok_!!!!").ok());
  // A short secret is refused, and the error does not quote it.
  auto short_key = Tokenize("hunter2", "x");
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.status().message().find("hunter2"), std::string::npos);
}

// ---- columns and batches ----

ColumnPtr StringColumn(const std::vector<std::optional<std::string>>& values) {
  ColumnBuilder b(DataType::String());
  for (const auto& v : values) {
    if (v) {
      b.AppendBytes(*v);
    } else {
      b.AppendNull();
    }
  }
  return b.Finish();
}

std::vector<std::optional<std::string>> Values(const Column& c) {
  std::vector<std::optional<std::string>> out;
  for (int64_t i = 0; i < c.length(); ++i) {
    if (c.IsNull(i)) {
      out.push_back(std::nullopt);
    } else {
      out.emplace_back(c.BytesAt(i));
    }
  }
  return out;
}

TEST(MaskColumn, EveryMethodPreservesNulls) {
  auto in = StringColumn({"alice@example.com", std::nullopt, "bob@example.com", std::nullopt});
  for (std::string method : {"hash", "redact", "partial", "tokenize"}) {
    MaskSpec spec;
    spec.method = method;
    spec.key = kSecret;
    auto out = MaskColumn(*in, spec);
    ASSERT_TRUE(out.ok()) << method << ": " << out.status().ToString();
    ASSERT_EQ((*out)->length(), 4) << method;
    EXPECT_EQ((*out)->type().id, TypeId::kString);
    EXPECT_FALSE((*out)->IsNull(0)) << method;
    EXPECT_TRUE((*out)->IsNull(1)) << method;
    EXPECT_FALSE((*out)->IsNull(2)) << method;
    EXPECT_TRUE((*out)->IsNull(3)) << method;
    EXPECT_NE((*out)->BytesAt(0), "alice@example.com") << method;
  }
}

TEST(MaskColumn, ValuesMatchTheSingleValueFunctions) {
  auto in = StringColumn({"alice@example.com", "4111111111111111", "alice@example.com"});
  MaskSpec hash{"hash", kSecret};
  auto hashed = Values(**MaskColumn(*in, hash));
  EXPECT_EQ(hashed[0], *HashValue(kSecret, "alice@example.com"));
  EXPECT_EQ(hashed[0], hashed[2]);  // joins still work

  MaskSpec tok{"tokenize", kSecret};
  auto tokens = Values(**MaskColumn(*in, tok));
  EXPECT_EQ(tokens[0], tokens[2]);
  EXPECT_EQ(*Detokenize(kSecret, *tokens[1]), "4111111111111111");

  MaskSpec partial{"partial"};
  partial.keep = 4;
  EXPECT_EQ(Values(**MaskColumn(*in, partial))[1], "************1111");

  MaskSpec redact{"redact"};
  EXPECT_EQ(Values(**MaskColumn(*in, redact))[0], "[REDACTED]");
  redact.replacement = "<hidden>";
  EXPECT_EQ(Values(**MaskColumn(*in, redact))[0], "<hidden>");
  redact.redact_to_null = true;
  auto nulls = MaskColumn(*in, redact);
  EXPECT_EQ((*nulls)->null_count(), 3);
}

TEST(MaskColumn, NonStringColumnsAreMaskedAsText) {
  ColumnBuilder b(DataType::Int64());
  b.AppendInt64(4155552671);
  b.AppendNull();
  MaskSpec partial{"partial"};
  partial.keep = 2;
  auto out = MaskColumn(*b.Finish(), partial);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(**out), (std::vector<std::optional<std::string>>{"********71", std::nullopt}));
}

TEST(MaskColumn, SpecErrors) {
  auto in = StringColumn({"x"});
  EXPECT_TRUE(MaskColumn(*in, MaskSpec{"scramble"}).status().IsInvalidArgument());
  EXPECT_TRUE(MaskColumn(*in, MaskSpec{"hash"}).status().IsInvalidArgument());  // no key
  EXPECT_TRUE(MaskColumn(*in, MaskSpec{"tokenize", "short"}).status().IsInvalidArgument());
  auto drop = MaskColumn(*in, MaskSpec{"drop"});
  ASSERT_FALSE(drop.ok());
  EXPECT_NE(drop.status().message().find("MaskBatch"), std::string::npos);
  MaskSpec neg{"partial"};
  neg.keep = -1;
  EXPECT_FALSE(MaskColumn(*in, neg).ok());
  auto unknown = ParseMaskMethod("scramble");
  EXPECT_NE(unknown.status().message().find("tokenize"), std::string::npos);
}

TEST(MaskBatch, DropsMasksAndKeepsOtherColumns) {
  auto schema =
      std::make_shared<const Schema>(std::vector<Field>{{"id", DataType::Int64(), false},
                                                        {"email", DataType::String(), true},
                                                        {"ssn", DataType::String(), true},
                                                        {"card", DataType::String(), true}});
  RecordBatchBuilder b(schema);
  b.column(0).AppendInt64(1);
  b.column(1).AppendBytes("alice@example.com");
  b.column(2).AppendBytes("123-45-6789");
  b.column(3).AppendBytes("4111111111111111");
  b.CommitRow(7);
  b.column(0).AppendInt64(2);
  b.column(1).AppendNull();
  b.column(2).AppendBytes("234-56-7890");
  b.column(3).AppendNull();
  b.CommitRow(8);
  auto batch = b.Finish("customers", "file.csv");

  MaskSpec card{"partial"};
  card.keep = 4;
  auto out = MaskBatch(
      *batch, {{"email", MaskSpec{"hash", kSecret}}, {"ssn", MaskSpec{"drop"}}, {"card", card}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const RecordBatch& r = **out;
  EXPECT_EQ(r.schema()->ToString(), "id int64, email string?, card string?");
  EXPECT_EQ(r.num_rows(), 2);
  EXPECT_EQ(r.stream, "customers");
  EXPECT_EQ(r.origin_lines, (std::vector<int64_t>{7, 8}));
  EXPECT_EQ(r.columns()[0], batch->columns()[0]);  // untouched columns are shared
  EXPECT_EQ(Values(r.column(1))[0], *HashValue(kSecret, "alice@example.com"));
  EXPECT_TRUE(r.column(1).IsNull(1));
  EXPECT_EQ(Values(r.column(2)),
            (std::vector<std::optional<std::string>>{"************1111", std::nullopt}));

  auto missing = MaskBatch(*batch, {{"phone", MaskSpec{"redact"}}});
  EXPECT_TRUE(missing.status().IsNotFound());
  auto bad = MaskBatch(*batch, {{"email", MaskSpec{"hash"}}});
  EXPECT_NE(bad.status().message().find("email"), std::string::npos);
}

}  // namespace
}  // namespace sluice
