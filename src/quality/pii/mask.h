#pragma once
// Masking primitives for PII columns (the `mask` transform). Each method turns a column into a
// string column of the same length; nulls stay null.
//
//   hash      HMAC-SHA256(key, value) as 64 lowercase hex characters. One-way and keyed: the
//             same key gives the same digest in every run, so masked columns still join.
//   redact    a fixed replacement ("[REDACTED]" by default), or null with `redact_to_null`.
//   partial   keeps the last (or first) `keep` UTF-8 code points and replaces every other code
//             point with '*'. Values of `keep` code points or fewer are masked entirely.
//   tokenize  deterministic, reversible encryption (AES-256-SIV, RFC 5297) under a key derived
//             from the secret with HKDF-SHA256: "tok_" + base64url. Detokenize reverses it with
//             the same secret and rejects a wrong key or an altered token.
//   drop      removes the column. This changes the schema, so MaskColumn refuses it; MaskBatch
//             (or the caller) removes the field.
//
// Keys come from secrets (`${ENV}`, `${file:}`) and never appear in errors or logs. Free
// functions are thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "core/column.h"
#include "core/record_batch.h"
#include "core/status.h"

namespace sluice {

enum class MaskMethod { kHash, kRedact, kPartial, kTokenize, kDrop };

// "hash", "redact", "partial", "tokenize", "drop"; InvalidArgument names the valid ones.
Result<MaskMethod> ParseMaskMethod(std::string_view name);
const char* MaskMethodName(MaskMethod method);

struct MaskSpec {
  std::string method;                      // one of the names above
  std::string key;                         // hash and tokenize: the secret
  int keep = 4;                            // partial: code points kept
  bool keep_first = false;                 // partial: keep the first ones instead of the last
  std::string replacement = "[REDACTED]";  // redact
  bool redact_to_null = false;             // redact: null instead of `replacement`
};

// Minimum secret length for tokenize: the AES key is derived from it, so a short secret would
// be guessable. Hash accepts any non-empty key (RFC 4231 keys start at 4 bytes) but 32+ bytes
// are advised.
inline constexpr size_t kMinTokenizeSecret = 16;
inline constexpr std::string_view kTokenPrefix = "tok_";

// Checks a spec without touching data: known method, a key where one is needed, keep >= 0.
// Errors never quote the key.
Status ValidateMaskSpec(const MaskSpec& spec);

// Masks `in` (any type: non-string values are masked in their text form, as written to CSV)
// into a new string column; nulls stay null. Fails for "drop" and for an invalid spec.
Result<ColumnPtr> MaskColumn(const Column& in, const MaskSpec& spec);

struct ColumnMask {
  std::string column;
  MaskSpec spec;
};
// Applies `masks` to `batch`: masked fields become nullable strings, dropped fields disappear,
// other columns are shared untouched. NotFound if a named column is missing. Stream and origin
// are carried over.
Result<RecordBatchPtr> MaskBatch(const RecordBatch& batch, const std::vector<ColumnMask>& masks);

// ---- single values (tests, CLI helpers) ----

Result<std::string> HashValue(std::string_view key, std::string_view value);
// True when `digest` is the hash of `value` under `key`; compares in constant time.
bool VerifyHash(std::string_view key, std::string_view value, std::string_view digest);
std::string PartialMask(std::string_view value, int keep, bool keep_first = false);
Result<std::string> Tokenize(std::string_view secret, std::string_view value);
// The original value, or InvalidArgument for something that is not a token, a token made with
// another secret, or a token that has been altered.
Result<std::string> Detokenize(std::string_view secret, std::string_view token);

}  // namespace sluice
