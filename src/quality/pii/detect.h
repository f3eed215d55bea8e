#pragma once
// PII detection: classifies single values (DetectPii) and whole string columns (ScanBatch).
// Detectors are deliberately strict: each one validates structure and, where the format has
// one, its checksum (Luhn for cards, mod-97 for IBANs), so ordinary ids, counts and dates are not
// flagged. The rules are listed in src/quality/pii/README.md. Every function here is pure and
// may be called from several threads at once.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/record_batch.h"

namespace sluice {

enum class PiiKind : uint8_t {
  kEmail,
  kPhone,
  kCreditCard,
  kIban,
  kUsSsn,
  kIpv4,
  kIpv6,
  kSecretToken,
};
inline constexpr int kNumPiiKinds = 8;

// Spelling used in contracts and reports: email, phone, credit_card, iban, ssn, ipv4, ipv6,
// secret.
const char* PiiKindName(PiiKind kind);
// Inverse of PiiKindName; nullopt for an unknown spelling.
std::optional<PiiKind> ParsePiiKind(std::string_view name);

// The kind of PII `value` holds as a whole (surrounding ASCII whitespace is ignored), or nullopt.
// A value is never reported as more than one kind; the checks run from the most specific format
// to the least. Values that merely contain PII inside longer text are not flagged, except a
// private key block, which is flagged when the value starts with its header.
std::optional<PiiKind> DetectPii(std::string_view value);

struct ColumnPiiStats {
  std::string column;
  PiiKind kind;
  int64_t matches = 0;   // non-null values detected as `kind`
  int64_t non_null = 0;  // non-null values scanned
  double rate = 0;       // matches / non_null
};

// Scans every string column of `batch` and reports, in column order, those whose dominant kind
// reaches `min_rate` of the non-null values. A column whose name hints at a kind (e.g. "email",
// "customer_phone", "ssn", "iban", "card_number", "client_ip", "api_token") is reported for that
// kind once its rate reaches kHintedMinRate (or `min_rate`, if lower): a named column with some
// malformed values is still a PII column. Columns with no non-null value are not reported.
inline constexpr double kHintedMinRate = 0.1;
std::vector<ColumnPiiStats> ScanBatch(const RecordBatch& batch, double min_rate = 0.5);

// The kind a column name hints at, or nullopt. "ip" style names hint kIpv4 (an IPv6 column
// named so is still found through its values). Exposed for tests and `sluice infer`.
std::optional<PiiKind> PiiKindHintFromName(std::string_view column_name);

}  // namespace sluice
