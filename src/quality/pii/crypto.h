#pragma once
// Keyed primitives behind the masking methods: HMAC-SHA256 and AES-SIV (RFC 5297), plus the
// encodings tokens use. OpenSSL stays inside crypto.cc. Objects are movable, not copyable, and
// used by one thread at a time (each holds an OpenSSL context); the free functions are
// thread-safe. Keys are never logged or put into error messages.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

class HmacSha256 {
 public:
  static constexpr size_t kSize = 32;
  // Fails with InvalidArgument for an empty key, Internal if OpenSSL cannot provide HMAC.
  static Result<HmacSha256> Create(std::string_view key);
  HmacSha256(HmacSha256&&) noexcept;
  HmacSha256& operator=(HmacSha256&&) noexcept;
  ~HmacSha256();

  Status Mac(std::string_view data, std::array<uint8_t, kSize>* out);
  // Lowercase hex of the MAC (64 characters).
  Result<std::string> Hex(std::string_view data);

 private:
  struct Impl;
  explicit HmacSha256(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One-shot HMAC-SHA256, lowercase hex.
Result<std::string> HmacSha256Hex(std::string_view key, std::string_view data);

// Deterministic authenticated encryption (AES-SIV, RFC 5297) with OpenSSL's "AES-128-SIV" (32-byte
// key) or "AES-256-SIV" (64-byte key). Sealed output is the 16-byte synthetic IV followed by the
// ciphertext, as in the RFC. Each element of `ad` is one associated-data component.
class AesSiv {
 public:
  static constexpr size_t kTagSize = 16;
  // `key` is raw key material of 32 or 64 bytes; anything else is InvalidArgument.
  static Result<AesSiv> Create(std::string_view key);
  AesSiv(AesSiv&&) noexcept;
  AesSiv& operator=(AesSiv&&) noexcept;
  ~AesSiv();

  // OpenSSL needs at least one byte of plaintext; empty plaintext is InvalidArgument.
  Result<std::string> Seal(const std::vector<std::string_view>& ad, std::string_view plaintext);
  // Fails with InvalidArgument when `sealed` does not authenticate under this key and `ad`
  // (wrong key, changed bytes, truncated input). Never returns unauthenticated plaintext.
  Result<std::string> Open(const std::vector<std::string_view>& ad, std::string_view sealed);

 private:
  struct Impl;
  explicit AesSiv(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// HKDF-SHA256 (RFC 5869) with an empty salt: derives `length` bytes of key material.
Result<std::string> HkdfSha256(std::string_view secret, std::string_view info, size_t length);

std::string HexEncode(std::string_view bytes);
// Accepts upper or lower case; false on odd length or a non-hex character.
bool HexDecode(std::string_view hex, std::string* out);
// Base64url without padding (RFC 4648 section 5).
std::string Base64UrlEncode(std::string_view bytes);
// Strict: no padding, no whitespace, and the unused low bits of the last character must be 0,
// so every byte string has exactly one accepted encoding.
bool Base64UrlDecode(std::string_view text, std::string* out);
// Length-independent-time comparison for MACs and tokens (CRYPTO_memcmp).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace sluice
