#include "quality/pii/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

namespace sluice {
namespace {

// The OpenSSL error queue is per thread; drain it so a later caller does not see stale errors.
// Its text never contains key material, but it is not shown either: callers give their own
// context.
void ClearOpensslErrors() { ERR_clear_error(); }

struct MacDeleter {
  void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};
struct CipherDeleter {
  void operator()(EVP_CIPHER* p) const { EVP_CIPHER_free(p); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct KdfDeleter {
  void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
};
struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};

const unsigned char* U8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int B64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

// ---- HMAC-SHA256 -------------------------------------------------------------------------

struct HmacSha256::Impl {
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx;
};

HmacSha256::HmacSha256(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HmacSha256::HmacSha256(HmacSha256&&) noexcept = default;
HmacSha256& HmacSha256::operator=(HmacSha256&&) noexcept = default;
HmacSha256::~HmacSha256() = default;

Result<HmacSha256> HmacSha256::Create(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("HMAC key is empty");
  std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) {
    ClearOpensslErrors();
    return Status::Internal("OpenSSL does not provide HMAC");
  }
  auto impl = std::make_unique<Impl>();
  impl->ctx.reset(EVP_MAC_CTX_new(mac.get()));
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (!impl->ctx || EVP_MAC_init(impl->ctx.get(), U8(key), key.size(), params) != 1) {
    ClearOpensslErrors();
    return Status::Internal("cannot initialise HMAC-SHA256");
  }
  return HmacSha256(std::move(impl));
}

Status HmacSha256::Mac(std::string_view data, std::array<uint8_t, kSize>* out) {
  // Re-initialising with a null key keeps the key already set and resets the state, which
  // saves the key schedule per value.
  size_t len = 0;
  if (EVP_MAC_init(impl_->ctx.get(), nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(impl_->ctx.get(), U8(data), data.size()) != 1 ||
      EVP_MAC_final(impl_->ctx.get(), out->data(), &len, out->size()) != 1 || len != kSize) {
    ClearOpensslErrors();
    return Status::Internal("HMAC-SHA256 failed");
  }
  return Status::OK();
}

Result<std::string> HmacSha256::Hex(std::string_view data) {
  std::array<uint8_t, kSize> mac;
  RETURN_IF_ERROR(Mac(data, &mac));
  return HexEncode({reinterpret_cast<const char*>(mac.data()), mac.size()});
}

Result<std::string> HmacSha256Hex(std::string_view key, std::string_view data) {
  ASSIGN_OR_RETURN(HmacSha256 h, HmacSha256::Create(key));
  return h.Hex(data);
}

// ---- AES-SIV -----------------------------------------------------------------------------

struct AesSiv::Impl {
  std::unique_ptr<EVP_CIPHER, CipherDeleter> cipher;
  // Keyed once; each operation works on a copy, so the key schedule and the CMAC subkeys are
  // computed only here.
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> enc;
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> dec;
};

AesSiv::AesSiv(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AesSiv::AesSiv(AesSiv&&) noexcept = default;
AesSiv& AesSiv::operator=(AesSiv&&) noexcept = default;
AesSiv::~AesSiv() = default;

Result<AesSiv> AesSiv::Create(std::string_view key) {
  const char* name = key.size() == 32 ? "AES-128-SIV" : key.size() == 64 ? "AES-256-SIV" : nullptr;
  if (name == nullptr) {
    return Status::InvalidArgument("AES-SIV key must be 32 or 64 bytes, got " +
                                   std::to_string(key.size()));
  }
  auto impl = std::make_unique<Impl>();
  impl->cipher.reset(EVP_CIPHER_fetch(nullptr, name, nullptr));
  if (!impl->cipher) {
    ClearOpensslErrors();
    return Status::Internal(std::string("OpenSSL does not provide ") + name);
  }
  impl->enc.reset(EVP_CIPHER_CTX_new());
  impl->dec.reset(EVP_CIPHER_CTX_new());
  if (!impl->enc || !impl->dec ||
      EVP_EncryptInit_ex2(impl->enc.get(), impl->cipher.get(), U8(key), nullptr, nullptr) != 1 ||
      EVP_DecryptInit_ex2(impl->dec.get(), impl->cipher.get(), U8(key), nullptr, nullptr) != 1) {
    ClearOpensslErrors();
    return Status::Internal(std::string("cannot initialise ") + name);
  }
  return AesSiv(std::move(impl));
}

Result<std::string> AesSiv::Seal(const std::vector<std::string_view>& ad,
                                 std::string_view plaintext) {
  if (plaintext.empty()) return Status::InvalidArgument("AES-SIV plaintext is empty");
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  std::string out(kTagSize + plaintext.size(), '\0');
  auto* ct = reinterpret_cast<unsigned char*>(out.data() + kTagSize);
  int len = 0, fin = 0;
  bool ok = ctx && EVP_CIPHER_CTX_copy(ctx.get(), impl_->enc.get()) == 1;
  for (size_t i = 0; ok && i < ad.size(); ++i) {
    // A null output buffer feeds one associated-data component into S2V.
    ok =
        EVP_EncryptUpdate(ctx.get(), nullptr, &len, U8(ad[i]), static_cast<int>(ad[i].size())) == 1;
  }
  ok = ok &&
       EVP_EncryptUpdate(ctx.get(), ct, &len, U8(plaintext), static_cast<int>(plaintext.size())) ==
           1 &&
       static_cast<size_t>(len) == plaintext.size() &&
       EVP_EncryptFinal_ex(ctx.get(), ct + len, &fin) == 1 && fin == 0 &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize),
                           out.data()) == 1;
  if (!ok) {
    ClearOpensslErrors();
    return Status::Internal("AES-SIV encryption failed");
  }
  return out;
}

Result<std::string> AesSiv::Open(const std::vector<std::string_view>& ad, std::string_view sealed) {
  if (sealed.size() <= kTagSize) {
    return Status::InvalidArgument("AES-SIV input is too short to hold a tag and ciphertext");
  }
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  std::string tag(sealed.substr(0, kTagSize));
  std::string_view ciphertext = sealed.substr(kTagSize);
  std::string out(ciphertext.size(), '\0');
  int len = 0, fin = 0;
  if (!ctx || EVP_CIPHER_CTX_copy(ctx.get(), impl_->dec.get()) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize),
                          tag.data()) != 1) {
    ClearOpensslErrors();
    return Status::Internal("AES-SIV decryption could not start");
  }
  bool ok = true;
  for (size_t i = 0; ok && i < ad.size(); ++i) {
    ok =
        EVP_DecryptUpdate(ctx.get(), nullptr, &len, U8(ad[i]), static_cast<int>(ad[i].size())) == 1;
  }
  // OpenSSL checks the synthetic IV (in constant time) during the update and fails it on a
  // mismatch; the final call reports the same verdict.
  ok =
      ok &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                        U8(ciphertext), static_cast<int>(ciphertext.size())) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &fin) == 1;
  if (!ok) {
    ClearOpensslErrors();
    OPENSSL_cleanse(out.data(), out.size());
    return Status::InvalidArgument("AES-SIV authentication failed: wrong key or altered input");
  }
  return out;
}

// ---- HKDF --------------------------------------------------------------------------------

Result<std::string> HkdfSha256(std::string_view secret, std::string_view info, size_t length) {
  std::unique_ptr<EVP_KDF, KdfDeleter> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter> ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (!ctx) {
    ClearOpensslErrors();
    return Status::Internal("OpenSSL does not provide HKDF");
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end(),
  };
  std::string out(length, '\0');
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), length, params) !=
      1) {
    ClearOpensslErrors();
    return Status::Internal("HKDF-SHA256 failed");
  }
  return out;
}

// ---- encodings ---------------------------------------------------------------------------

std::string HexEncode(std::string_view bytes) {
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHexDigits[b >> 4];
    out[2 * i + 1] = kHexDigits[b & 15];
  }
  return out;
}

bool HexDecode(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->resize(hex.size() / 2);
  for (size_t i = 0; i < out->size(); ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<char>(hi << 4 | lo);
  }
  return true;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kB64Url[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kB64Url[(acc << (6 - bits)) & 63]);
  return out;
}

bool Base64UrlDecode(std::string_view text, std::string* out) {
  if (text.size() % 4 == 1) return false;
  out->clear();
  out->reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = B64UrlValue(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero: otherwise two texts would decode to the same bytes.
  return (acc & ((1u << bits) - 1)) == 0;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sluice
