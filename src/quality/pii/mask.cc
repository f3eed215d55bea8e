#include "quality/pii/mask.h"

#include <algorithm>
#include <optional>

#include "core/values.h"
#include "quality/pii/crypto.h"

namespace sluice {
namespace {

// Tokens are AES-256-SIV over (format byte || value), without associated data, so that equal
// values in different columns and tables get equal tokens and still join. The format byte
// leaves room for a later token layout and makes the empty string encryptable.
constexpr char kTokenFormatV1 = '\x01';
constexpr std::string_view kTokenKeyInfo = "sluice/mask/tokenize/v1 aes-256-siv";

Result<AesSiv> TokenCipher(std::string_view secret) {
  if (secret.size() < kMinTokenizeSecret) {
    return Status::InvalidArgument("tokenize needs a secret of at least " +
                                   std::to_string(kMinTokenizeSecret) + " bytes");
  }
  ASSIGN_OR_RETURN(std::string key, HkdfSha256(secret, kTokenKeyInfo, 64));
  auto cipher = AesSiv::Create(key);
  std::fill(key.begin(), key.end(), '\0');
  return cipher;
}

Result<std::string> TokenizeWith(AesSiv& cipher, std::string_view value) {
  std::string pt;
  pt.reserve(value.size() + 1);
  pt.push_back(kTokenFormatV1);
  pt.append(value);
  ASSIGN_OR_RETURN(std::string sealed, cipher.Seal({}, pt));
  std::string out(kTokenPrefix);
  out += Base64UrlEncode(sealed);
  return out;
}

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Per-column state: keyed contexts are set up once per column, not per value.
class ValueMasker {
 public:
  static Result<ValueMasker> Create(const MaskSpec& spec, MaskMethod method) {
    ValueMasker m;
    m.spec_ = &spec;
    m.method_ = method;
    if (method == MaskMethod::kHash) {
      ASSIGN_OR_RETURN(HmacSha256 h, HmacSha256::Create(spec.key));
      m.hmac_.emplace(std::move(h));
    } else if (method == MaskMethod::kTokenize) {
      ASSIGN_OR_RETURN(AesSiv c, TokenCipher(spec.key));
      m.siv_.emplace(std::move(c));
    }
    return m;
  }

  // Appends the masked form of `value` to `out`.
  Status Append(std::string_view value, ColumnBuilder& out) {
    switch (method_) {
      case MaskMethod::kHash: {
        ASSIGN_OR_RETURN(std::string hex, hmac_->Hex(value));
        out.AppendBytes(hex);
        return Status::OK();
      }
      case MaskMethod::kRedact:
        if (spec_->redact_to_null) {
          out.AppendNull();
        } else {
          out.AppendBytes(spec_->replacement);
        }
        return Status::OK();
      case MaskMethod::kPartial:
        out.AppendBytes(PartialMask(value, spec_->keep, spec_->keep_first));
        return Status::OK();
      case MaskMethod::kTokenize: {
        ASSIGN_OR_RETURN(std::string token, TokenizeWith(*siv_, value));
        out.AppendBytes(token);
        return Status::OK();
      }
      case MaskMethod::kDrop:
        break;
    }
    return Status::Internal("mask method has no per-value form");
  }

 private:
  const MaskSpec* spec_ = nullptr;
  MaskMethod method_ = MaskMethod::kRedact;
  std::optional<HmacSha256> hmac_;
  std::optional<AesSiv> siv_;
};

}  // namespace

Result<MaskMethod> ParseMaskMethod(std::string_view name) {
  for (MaskMethod m : {MaskMethod::kHash, MaskMethod::kRedact, MaskMethod::kPartial,
                       MaskMethod::kTokenize, MaskMethod::kDrop}) {
    if (name == MaskMethodName(m)) return m;
  }
  return Status::InvalidArgument("unknown mask method '" + std::string(name) +
                                 "' (expected hash, redact, partial, tokenize or drop)");
}

const char* MaskMethodName(MaskMethod method) {
  switch (method) {
    case MaskMethod::kHash:
      return "hash";
    case MaskMethod::kRedact:
      return "redact";
    case MaskMethod::kPartial:
      return "partial";
    case MaskMethod::kTokenize:
      return "tokenize";
    case MaskMethod::kDrop:
      return "drop";
  }
  return "unknown";
}

Status ValidateMaskSpec(const MaskSpec& spec) {
  ASSIGN_OR_RETURN(MaskMethod method, ParseMaskMethod(spec.method));
  switch (method) {
    case MaskMethod::kHash:
      if (spec.key.empty()) return Status::InvalidArgument("mask method hash needs a key");
      break;
    case MaskMethod::kTokenize:
      if (spec.key.size() < kMinTokenizeSecret) {
        return Status::InvalidArgument("mask method tokenize needs a key of at least " +
                                       std::to_string(kMinTokenizeSecret) + " bytes");
      }
      break;
    case MaskMethod::kPartial:
      if (spec.keep < 0) return Status::InvalidArgument("mask method partial: keep must be >= 0");
      break;
    case MaskMethod::kRedact:
    case MaskMethod::kDrop:
      break;
  }
  return Status::OK();
}

Result<ColumnPtr> MaskColumn(const Column& in, const MaskSpec& spec) {
  RETURN_IF_ERROR(ValidateMaskSpec(spec));
  ASSIGN_OR_RETURN(MaskMethod method, ParseMaskMethod(spec.method));
  if (method == MaskMethod::kDrop) {
    return Status::InvalidArgument(
        "mask method drop removes the column from the schema; use MaskBatch");
  }
  ASSIGN_OR_RETURN(ValueMasker masker, ValueMasker::Create(spec, method));
  ColumnBuilder out(DataType::String());
  const bool text = in.type().IsVarWidth();
  std::string buf;
  for (int64_t i = 0; i < in.length(); ++i) {
    if (in.IsNull(i)) {
      out.AppendNull();
      continue;
    }
    std::string_view value;
    if (text) {
      value = in.BytesAt(i);
    } else {
      buf.clear();
      AppendValueText(in, i, buf);
      value = buf;
    }
    RETURN_IF_ERROR(masker.Append(value, out));
  }
  return out.Finish();
}

Result<RecordBatchPtr> MaskBatch(const RecordBatch& batch, const std::vector<ColumnMask>& masks) {
  const Schema& schema = *batch.schema();
  std::vector<const MaskSpec*> spec_of(schema.size(), nullptr);
  for (const ColumnMask& m : masks) {
    int idx = schema.IndexOf(m.column);
    if (idx < 0) return Status::NotFound("mask: no column '" + m.column + "'");
    RETURN_IF_ERROR(ValidateMaskSpec(m.spec).WithContext("mask column '" + m.column + "'"));
    spec_of[idx] = &m.spec;  // the last mask named for a column wins
  }
  std::vector<Field> fields;
  std::vector<ColumnPtr> columns;
  for (size_t c = 0; c < schema.size(); ++c) {
    const MaskSpec* spec = spec_of[c];
    if (spec == nullptr) {
      fields.push_back(schema.field(c));
      columns.push_back(batch.columns()[c]);
      continue;
    }
    if (spec->method == "drop") continue;
    auto masked = MaskColumn(batch.column(c), *spec);
    if (!masked.ok()) {
      return masked.status().WithContext("mask column '" + schema.field(c).name + "'");
    }
    fields.push_back({schema.field(c).name, DataType::String(), true});
    columns.push_back(std::move(masked).value());
  }
  auto out = std::make_shared<RecordBatch>(std::make_shared<const Schema>(std::move(fields)),
                                           std::move(columns), batch.num_rows());
  out->stream = batch.stream;
  out->origin_unit = batch.origin_unit;
  out->origin_lines = batch.origin_lines;
  out->ops = batch.ops;
  out->changes = batch.changes;
  out->source_db = batch.source_db;
  out->source_table = batch.source_table;
  // A before image holds the old values unmasked: it does not leave this stage.
  for (auto& change : out->changes) {
    change.before.clear();
    change.before_row = -1;
  }
  out->unchanged.clear();
  for (size_t c = 0; c < batch.unchanged.size() && c < schema.size(); ++c) {
    if (spec_of[c] == nullptr || spec_of[c]->method != "drop") out->unchanged.push_back(batch.unchanged[c]);
  }
  return RecordBatchPtr(std::move(out));
}

Result<std::string> HashValue(std::string_view key, std::string_view value) {
  return HmacSha256Hex(key, value);
}

bool VerifyHash(std::string_view key, std::string_view value, std::string_view digest) {
  auto expected = HmacSha256Hex(key, value);
  return expected.ok() && ConstantTimeEquals(*expected, digest);
}

std::string PartialMask(std::string_view value, int keep, bool keep_first) {
  // Code points start at every byte that is not a UTF-8 continuation byte.
  size_t points = 0;
  for (char c : value) points += !IsContinuationByte(c);
  size_t k = keep < 0 ? 0 : static_cast<size_t>(keep);
  if (points <= k) return std::string(points, '*');
  size_t masked = points - k;
  std::string out;
  out.reserve(value.size());
  if (keep_first) {
    // Byte offset where code point number k starts.
    size_t seen = 0, at = 0;
    for (; at < value.size(); ++at) {
      if (!IsContinuationByte(value[at]) && seen++ == k) break;
    }
    out.append(value.substr(0, at));
    out.append(masked, '*');
  } else {
    size_t seen = 0, at = 0;
    for (; at < value.size(); ++at) {
      if (!IsContinuationByte(value[at]) && seen++ == masked) break;
    }
    out.append(masked, '*');
    out.append(value.substr(at));
  }
  return out;
}

Result<std::string> Tokenize(std::string_view secret, std::string_view value) {
  ASSIGN_OR_RETURN(AesSiv cipher, TokenCipher(secret));
  return TokenizeWith(cipher, value);
}

Result<std::string> Detokenize(std::string_view secret, std::string_view token) {
  if (!token.starts_with(kTokenPrefix)) {
    return Status::InvalidArgument("not a sluice token: it does not start with 'tok_'");
  }
  std::string sealed;
  if (!Base64UrlDecode(token.substr(kTokenPrefix.size()), &sealed) ||
      sealed.size() <= AesSiv::kTagSize) {
    return Status::InvalidArgument("not a sluice token: malformed or truncated base64url body");
  }
  ASSIGN_OR_RETURN(AesSiv cipher, TokenCipher(secret));
  auto opened = cipher.Open({}, sealed);
  if (!opened.ok()) {
    return Status::InvalidArgument(
        "token does not decrypt under this key: wrong key, or the token was altered");
  }
  std::string& pt = *opened;
  if (pt.empty() || pt[0] != kTokenFormatV1) {
    return Status::InvalidArgument("token has an unknown format version");
  }
  return pt.substr(1);
}

}  // namespace sluice
