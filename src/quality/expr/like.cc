#include "quality/expr/internal/like.h"

namespace sluice::expr_internal {
namespace {

// Length of the UTF-8 character starting at s[i] (1 for stray continuation bytes).
size_t CharLen(std::string_view s, size_t i) {
  size_t n = 1;
  while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) ++n;
  return n;
}

}  // namespace

bool LikePattern::Compile(std::string_view pattern, char escape, LikePattern* out) {
  out->tokens.clear();
  out->literal.clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == escape) {
      if (i + 1 == pattern.size()) return false;
      out->tokens.push_back({Token::Type::kChar, pattern[++i]});
    } else if (c == '%') {
      if (out->tokens.empty() || out->tokens.back().type != Token::Type::kAny) {
        out->tokens.push_back({Token::Type::kAny, 0});
      }
    } else if (c == '_') {
      out->tokens.push_back({Token::Type::kOne, 0});
    } else {
      out->tokens.push_back({Token::Type::kChar, c});
    }
  }
  // Recognise the shapes that need no backtracking: abc, abc%, %abc, %abc%.
  size_t n = out->tokens.size();
  bool lead = n > 0 && out->tokens[0].type == Token::Type::kAny;
  bool trail = n > (lead ? 1u : 0u) && out->tokens[n - 1].type == Token::Type::kAny;
  size_t begin = lead ? 1 : 0, end = trail ? n - 1 : n;
  bool simple = true;
  for (size_t i = begin; i < end; ++i) {
    if (out->tokens[i].type != Token::Type::kChar) {
      simple = false;
      break;
    }
    out->literal.push_back(out->tokens[i].c);
  }
  if (!simple) {
    out->literal.clear();
    out->shape = Shape::kGeneral;
  } else if (lead && trail) {
    out->shape = Shape::kContains;
  } else if (lead) {
    out->shape = Shape::kSuffix;
  } else if (trail) {
    out->shape = Shape::kPrefix;
  } else {
    out->shape = Shape::kExact;
  }
  return true;
}

bool LikePattern::Matches(std::string_view s) const {
  switch (shape) {
    case Shape::kExact: return s == literal;
    case Shape::kPrefix: return s.substr(0, literal.size()) == literal;
    case Shape::kSuffix:
      return s.size() >= literal.size() && s.substr(s.size() - literal.size()) == literal;
    case Shape::kContains: return s.find(literal) != std::string_view::npos;
    case Shape::kGeneral: break;
  }
  // Greedy match with backtracking to the last '%': each '%' only ever moves forward, so the
  // work is O(|s| * |pattern|) at worst.
  size_t si = 0, pi = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  const size_t pn = tokens.size();
  while (si < s.size()) {
    if (pi < pn) {
      const Token& t = tokens[pi];
      if (t.type == Token::Type::kAny) {
        star_p = pi++;
        star_s = si;
        continue;
      }
      if (t.type == Token::Type::kOne) {
        si += CharLen(s, si);
        ++pi;
        continue;
      }
      if (t.c == s[si]) {
        ++si;
        ++pi;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    star_s += CharLen(s, star_s);
    si = star_s;
    pi = star_p + 1;
  }
  while (pi < pn && tokens[pi].type == Token::Type::kAny) ++pi;
  return pi == pn;
}

}  // namespace sluice::expr_internal
