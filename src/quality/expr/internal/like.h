#pragma once
// LIKE patterns: '%' matches any run of characters, '_' exactly one UTF-8 character, and the
// escape character (default '\') makes the next character literal.

#include <string>
#include <string_view>
#include <vector>

namespace sluice::expr_internal {

struct LikePattern {
  enum class Shape : uint8_t { kExact, kPrefix, kSuffix, kContains, kGeneral };
  Shape shape = Shape::kGeneral;
  std::string literal;  // kExact/kPrefix/kSuffix/kContains: the pattern without its wildcards
  // kGeneral: the pattern as tokens; kAny is '%', kOne is '_', other chars are literal.
  struct Token {
    enum class Type : uint8_t { kChar, kOne, kAny } type;
    char c;
  };
  std::vector<Token> tokens;

  // false when the pattern ends with a lone escape character.
  static bool Compile(std::string_view pattern, char escape, LikePattern* out);
  bool Matches(std::string_view s) const;
};

}  // namespace sluice::expr_internal
