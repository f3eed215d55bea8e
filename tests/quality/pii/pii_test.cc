#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "quality/pii/detect.h"

namespace sluice {
namespace {

std::string KindOf(std::string_view v) {
  auto k = DetectPii(v);
  return k ? PiiKindName(*k) : "none";
}

void ExpectAll(const std::vector<std::string>& values, const std::string& kind) {
  for (const auto& v : values) EXPECT_EQ(KindOf(v), kind) << "value: '" << v << "'";
}

TEST(PiiDetect, KindNamesRoundTrip) {
  for (int k = 0; k < kNumPiiKinds; ++k) {
    auto kind = static_cast<PiiKind>(k);
    EXPECT_EQ(ParsePiiKind(PiiKindName(kind)), kind);
  }
  EXPECT_STREQ(PiiKindName(PiiKind::kUsSsn), "ssn");
  EXPECT_STREQ(PiiKindName(PiiKind::kCreditCard), "credit_card");
  EXPECT_STREQ(PiiKindName(PiiKind::kSecretToken), "secret");
  EXPECT_EQ(ParsePiiKind("passport"), std::nullopt);
}

TEST(PiiDetect, Emails) {
  ExpectAll({"alice@example.com", "  bob.smith+tag@mail.example.co.uk ", "x_y-z@sub-domain.io",
             "o'neil@example.org"},
            "email");
  ExpectAll({"alice@", "@example.com", "alice@localhost", "alice@example.c", "a..b@example.com",
             ".a@example.com", "alice@-example.com", "alice@example..com", "alice@@example.com",
             "alice at example.com", "alice@exa mple.com", "user@example.123"},
            "none");
}

TEST(PiiDetect, CreditCardsNeedLuhnAndLength) {
  ExpectAll({"4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444",
             "378282246310005", "3714 496353 98431", "6011111111111117", "4222222222222",
             "2221000000000009", "3530111333300000", "30569309025904"},
            "credit_card");
  ExpectAll({"4111111111111112",      // bad check digit
             "4111 1111 1111 1113",   // bad check digit, grouped
             "411111111111",          // 12 digits
             "41111111111111111111",  // 20 digits
             "0000000000000000",      // Luhn-valid but no issuer starts with 0
             "4111-1111 1111-1111",   // mixed separators
             "4111  1111 1111 1111",  // doubled separator
             "4111111111111111a",
             // Luhn-valid, but no network issues these prefix/length pairs.
             "3782822463100011",   // Amex prefix with 16 digits
             "3112345678901230",   // prefix 31
             "555555555555442",    // Mastercard prefix with 15 digits
             "2000000000000006"},  // 2-series below 2221
            "none");
}

TEST(PiiDetect, IbansFromSeveralCountries) {
  ExpectAll(
      {"GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000",
       "DE89 3704 0044 0532 0130 00", "FR1420041010050500013M02606", "NL91ABNA0417164300",
       "BE68539007547034", "NO9386011117947", "CH9300762011623852957", "gb82west12345698765432"},
      "iban");
  ExpectAll({"GB82WEST12345698765433",   // mod-97 fails
             "GB82WEST1234569876543",    // wrong length for GB
             "DE8937040044053201300",    // wrong length for DE
             "ZZ82WEST12345698765432",   // unknown country
             "GB8 2WEST12345698765432",  // space inside a group of four
             "GBXXWEST12345698765432"},
            "none");
}

TEST(PiiDetect, UsSsnExcludesInvalidRanges) {
  ExpectAll({"123-45-6789", "001-01-0001", "899-99-9999", "665-12-3456"}, "ssn");
  ExpectAll({"000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567",
             "123-45-0000", "123456789", "123-456-789", "12-345-6789"},
            "none");
}

TEST(PiiDetect, Phones) {
  ExpectAll({"+14155552671", "+1 415 555 2671", "+1 (415) 555-2671", "+44 20 7946 0958",
             "+33 6 12 34 56 78", "(555) 123-4567", "555-123-4567", "555.123.4567",
             "1-555-123-4567", "020 7946 0958", "06 12 34 56 78", "(030) 12345678", "07700 900123"},
            "phone");
  ExpectAll({"12345", "1234567890", "4155552671", "2024-01-01", "01-02-2024", "+1234567",
             "+0123456789", "123-456-7890",  // NANP area codes never start with 1
             "0123456789.5", "3.14159265", "1 2 3 4 5 6 7 8 9", "+1 415 555 2671 12345 678"},
            "none");
}

TEST(PiiDetect, Ipv4) {
  ExpectAll({"192.168.0.1", "8.8.8.8", "255.255.255.255", "0.0.0.0", " 10.0.0.1 "}, "ipv4");
  ExpectAll({"256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", "1.2.3.4."}, "none");
}

TEST(PiiDetect, Ipv6) {
  ExpectAll({"2001:db8::1", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "::1", "fe80::1%eth0",
             "::ffff:192.0.2.128", "2001:DB8:0:0:8:800:200C:417A"},
            "ipv6");
  ExpectAll({"12:30:45", "2001:db8:::1", "2001:db8::g", "de:ad:be:ef:00:01", "1:2:3:4:5:6:7:8:9",
             "2024-01-01T12:30:45"},
            "none");
}

TEST(PiiDetect, SecretTokens) {
  ExpectAll({"AKIAIOSFODNN7EXAMPLE", "ASIAY34FZKBOKMUTVV7A", "ghp_" + std::string(36, 'a'),
             "gho_16C7e42F292c6912E7710c838347Ae178B4a",
             "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL0123456789",
             "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx",
             "sk_live_" + std::string(24, 'Z'),
             "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
             "-----BEGIN PRIVATE KEY-----",
             "-----BEGIN OPENSSH PRIVATE KEY-----\n" + std::string(400, 'A') + "\n",
             // RFC 7519 section 3.1 example JWT.
             "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzO"
             "DAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_"
             "wW1gFWFOEjXk"},
            "secret");
  ExpectAll(
      {"AKIAIOSFODNN7EXAMPL", "AKIAiosfodnn7example", "ghp_short", "ghx_" + std::string(36, 'a'),
       "xoxz-123456789012-abc", "sk_test_" + std::string(24, 'Z'), "-----BEGIN PUBLIC KEY-----",
       "-----BEGIN CERTIFICATE-----", "eyJhbGciOi.not-a-jwt",
       "eyJub3QiOiJhIGp3dCJ9.eyJhIjoxfQ.c2ln",  // header has no alg
       "AKIA1234"},
      "none");
}

TEST(PiiDetect, OrdinaryValuesAreNotPii) {
  ExpectAll({"",
             "   ",
             "hello world",
             "12345",
             "2024-01-01",
             "2024-01-01T10:00:00Z",
             "42",
             "-17.5",
             "3.141592653589793",
             "ORD-2024-000123",
             "550e8400-e29b-41d4-a716-446655440000",
             "true",
             "N/A",
             "v1.2.3",
             "#ff8800",
             "https://example.com/a?b=c",
             "1,234,567.89",
             "12:30",
             "Main Street 12",
             "SKU 1234 5678",
             "100000000000000"},
            "none");
}

TEST(PiiDetect, SingleValueIsOneKind) {
  // An SSN-shaped value is not also a phone; a quad is an address, not a phone.
  EXPECT_EQ(KindOf("078-05-1120"), "ssn");
  EXPECT_EQ(KindOf("10.20.30.40"), "ipv4");
}

// ---- ScanBatch ---------------------------------------------------------------------------

RecordBatchPtr MakeBatch(
    const std::vector<std::pair<std::string, std::vector<std::optional<std::string>>>>& cols) {
  std::vector<Field> fields;
  for (const auto& [name, _] : cols) fields.push_back({name, DataType::String(), true});
  auto schema = std::make_shared<const Schema>(fields);
  RecordBatchBuilder b(schema);
  size_t rows = cols.empty() ? 0 : cols[0].second.size();
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols.size(); ++c) {
      const auto& v = cols[c].second[r];
      if (v) {
        b.column(c).AppendBytes(*v);
      } else {
        b.column(c).AppendNull();
      }
    }
    b.CommitRow(static_cast<int64_t>(r) + 1);
  }
  return b.Finish("s", "test");
}

TEST(PiiScanBatch, ReportsDominantKindAboveRate) {
  auto batch = MakeBatch({
      {"contact", {"a@example.com", "b@example.com", "c@example.com", std::nullopt, "n/a"}},
      {"notes", {"hello", "a@example.com", "world", "x", "y"}},
      {"addr", {"10.0.0.1", "10.0.0.2", "::1", "hello", std::nullopt}},
      {"empty", {std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt}},
  });
  auto stats = ScanBatch(*batch);
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].column, "contact");
  EXPECT_EQ(stats[0].kind, PiiKind::kEmail);
  EXPECT_EQ(stats[0].matches, 3);
  EXPECT_EQ(stats[0].non_null, 4);
  EXPECT_DOUBLE_EQ(stats[0].rate, 0.75);
  EXPECT_EQ(stats[1].column, "addr");
  EXPECT_EQ(stats[1].kind, PiiKind::kIpv4);
  EXPECT_EQ(stats[1].matches, 2);
  EXPECT_EQ(stats[1].non_null, 4);
  EXPECT_DOUBLE_EQ(stats[1].rate, 0.5);

  // A stricter rate drops the half-IPv4 column.
  stats = ScanBatch(*batch, 0.6);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].column, "contact");
}

TEST(PiiScanBatch, ColumnNameHintLowersTheBar) {
  std::vector<std::optional<std::string>> mostly_bad = {"555-123-4567", "call me", "unknown",
                                                        "later", "n/a"};
  auto batch =
      MakeBatch({{"customerPhone", mostly_bad}, {"remarks", mostly_bad}, {"hotel", mostly_bad}});
  auto stats = ScanBatch(*batch);
  ASSERT_EQ(stats.size(), 1u);  // "hotel" does not hint "tel"
  EXPECT_EQ(stats[0].column, "customerPhone");
  EXPECT_EQ(stats[0].kind, PiiKind::kPhone);
  EXPECT_DOUBLE_EQ(stats[0].rate, 0.2);

  // Below kHintedMinRate even a hinted column is not reported.
  std::vector<std::optional<std::string>> rare(20, std::string("nothing"));
  rare[0] = "a@example.com";
  EXPECT_TRUE(ScanBatch(*MakeBatch({{"email", rare}})).empty());
}

TEST(PiiScanBatch, HintedColumnStillReportsAnotherDominantKind) {
  auto batch = MakeBatch({{"ssn", {"a@example.com", "b@example.com", "c@example.com"}}});
  auto stats = ScanBatch(*batch);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].kind, PiiKind::kEmail);
}

TEST(PiiScanBatch, IpHintCoversIpv6) {
  auto batch = MakeBatch({{"client_ip", {"2001:db8::1", "x", "y", "z", "w"}}});
  auto stats = ScanBatch(*batch);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].kind, PiiKind::kIpv6);
}

TEST(PiiScanBatch, NameHints) {
  EXPECT_EQ(PiiKindHintFromName("EmailAddress"), PiiKind::kEmail);
  EXPECT_EQ(PiiKindHintFromName("home_phone"), PiiKind::kPhone);
  EXPECT_EQ(PiiKindHintFromName("mobile"), PiiKind::kPhone);
  EXPECT_EQ(PiiKindHintFromName("ssn"), PiiKind::kUsSsn);
  EXPECT_EQ(PiiKindHintFromName("iban_number"), PiiKind::kIban);
  EXPECT_EQ(PiiKindHintFromName("card_number"), PiiKind::kCreditCard);
  EXPECT_EQ(PiiKindHintFromName("clientIp"), PiiKind::kIpv4);
  EXPECT_EQ(PiiKindHintFromName("api_token"), PiiKind::kSecretToken);
  EXPECT_EQ(PiiKindHintFromName("zip"), std::nullopt);
  EXPECT_EQ(PiiKindHintFromName("hotel"), std::nullopt);
  EXPECT_EQ(PiiKindHintFromName("description"), std::nullopt);
}

TEST(PiiScanBatch, IgnoresNonStringColumns) {
  auto schema =
      std::make_shared<const Schema>(std::vector<Field>{{"phone", DataType::Int64(), true}});
  RecordBatchBuilder b(schema);
  b.column(0).AppendInt64(4155552671);
  b.CommitRow(1);
  EXPECT_TRUE(ScanBatch(*b.Finish("s", "t")).empty());
}

}  // namespace
}  // namespace sluice
