#include "quality/pii/detect.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace sluice {
namespace {

// ---- character classes -------------------------------------------------------------------

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
constexpr bool IsAlpha(char c) { return IsUpper(c) || IsLower(c); }
constexpr bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
constexpr bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool IsBase64Url(char c) { return IsAlnum(c) || c == '-' || c == '_'; }
constexpr bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool StartsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && std::memcmp(s.data(), p.data(), p.size()) == 0;
}

// One pass over the value records which character classes occur; the dispatcher uses it to
// skip every detector that cannot match.
enum : uint32_t {
  kHasDigit = 1u << 0,
  kHasUpper = 1u << 1,
  kHasLower = 1u << 2,
  kHasSpace = 1u << 3,  // ' ' only
  kHasDash = 1u << 4,
  kHasDot = 1u << 5,
  kHasColon = 1u << 6,
  kHasAt = 1u << 7,
  kHasPlus = 1u << 8,
  kHasParen = 1u << 9,
  kHasUnderscore = 1u << 10,
  kHasOther = 1u << 11,
};

struct ClassTable {
  std::array<uint16_t, 256> bits{};
  constexpr ClassTable() {
    for (int c = 0; c < 256; ++c) bits[c] = kHasOther;
    for (int c = '0'; c <= '9'; ++c) bits[c] = kHasDigit;
    for (int c = 'A'; c <= 'Z'; ++c) bits[c] = kHasUpper;
    for (int c = 'a'; c <= 'z'; ++c) bits[c] = kHasLower;
    bits[' '] = kHasSpace;
    bits['-'] = kHasDash;
    bits['.'] = kHasDot;
    bits[':'] = kHasColon;
    bits['@'] = kHasAt;
    bits['+'] = kHasPlus;
    bits['('] = kHasParen;
    bits[')'] = kHasParen;
    bits['_'] = kHasUnderscore;
  }
};
constexpr ClassTable kClasses;

uint32_t Classify(std::string_view s) {
  uint32_t m = 0;
  for (unsigned char c : s) m |= kClasses.bits[c];
  return m;
}

constexpr uint32_t kNumericPunct =
    kHasDigit | kHasSpace | kHasDash | kHasDot | kHasPlus | kHasParen;

// ---- email -------------------------------------------------------------------------------

bool IsEmailLocalChar(char c) {
  return IsAlnum(c) || (c != '\0' && std::strchr("!#$%&'*+/=?^_`{|}~-.", c) != nullptr);
}

// Dot-atom local part (RFC 5322, no quoted strings) @ a DNS name with at least two labels and an
// alphabetic top-level label of 2+ letters. IP-literal domains are not accepted.
bool IsEmail(std::string_view s) {
  if (s.size() < 6 || s.size() > 254) return false;
  size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64) return false;
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.front() == '.' || local.back() == '.') return false;
  char prev = 0;
  for (char c : local) {
    if (!IsEmailLocalChar(c) || (c == '.' && prev == '.')) return false;
    prev = c;
  }
  if (domain.size() < 4 || domain.size() > 253) return false;
  size_t label_start = 0, labels = 0;
  for (size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      std::string_view label = domain.substr(label_start, i - label_start);
      if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
        return false;
      }
      ++labels;
      if (i == domain.size()) {
        if (label.size() < 2) return false;
        for (char c : label) {
          if (!IsAlpha(c)) return false;
        }
      }
      label_start = i + 1;
    } else if (!IsAlnum(domain[i]) && domain[i] != '-') {
      return false;
    }
  }
  return labels >= 2;
}

// ---- IP addresses ------------------------------------------------------------------------

// Dotted quad, each part 0-255 without leading zeros (leading zeros are read as octal by some
// resolvers, and rarely appear in real addresses).
bool IsIpv4(std::string_view s) {
  if (s.size() < 7 || s.size() > 15) return false;
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    int v = 0;
    while (i < s.size() && IsDigit(s[i]) && i - start < 3) v = v * 10 + (s[i++] - '0');
    size_t len = i - start;
    if (len == 0 || v > 255 || (len > 1 && s[start] == '0')) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

bool IsIpv6(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  // An optional zone id ("fe80::1%eth0") is not part of the address.
  size_t pct = s.find('%');
  if (pct != std::string_view::npos) {
    if (pct + 1 == s.size()) return false;
    s = s.substr(0, pct);
  }
  char buf[48];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  unsigned char addr[16];
  return inet_pton(AF_INET6, buf, addr) == 1;
}

// ---- numbers with separators -------------------------------------------------------------

// US SSN "AAA-GG-SSSS" with the never-issued ranges excluded: area 000, 666 and 900-999, group
// 00, serial 0000. Without the dashes nine digits are too often something else.
bool IsUsSsn(std::string_view s) {
  if (s.size() != 11 || s[3] != '-' || s[6] != '-') return false;
  for (size_t i : {0, 1, 2, 4, 5, 7, 8, 9, 10}) {
    if (!IsDigit(s[i])) return false;
  }
  int area = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
  int group = (s[4] - '0') * 10 + (s[5] - '0');
  int serial = (s[7] - '0') * 1000 + (s[8] - '0') * 100 + (s[9] - '0') * 10 + (s[10] - '0');
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

// Whether the issuer identified by the leading digits issues cards of `n` digits. Only the
// major networks are listed; an unknown prefix is not a card.
bool IssuerAllowsLength(const char* d, int n) {
  int two = (d[0] - '0') * 10 + (d[1] - '0');
  int four = two * 100 + (d[2] - '0') * 10 + (d[3] - '0');
  switch (d[0]) {
    case '4':  // Visa
      return n == 13 || n == 16 || n == 19;
    case '2':  // Mastercard 2-series
      return four >= 2221 && four <= 2720 && n == 16;
    case '3':
      if (two == 34 || two == 37) return n == 15;                            // Amex
      if (two == 35) return four >= 3528 && four <= 3589 && n >= 16;         // JCB
      return (two == 30 || two == 36 || two == 38 || two == 39) && n >= 14;  // Diners
    case '5':
      if (two >= 51 && two <= 55) return n == 16;    // Mastercard
      return two == 50 || (two >= 56 && two <= 58);  // Maestro: 12-19 digits
    case '6':                                        // Discover, UnionPay, Maestro, RuPay
      return n >= 16 || two == 63 || two == 67;      // shorter numbers: Maestro 63xx, 67xx only
    default:
      return false;
  }
}

// 13-19 digits, optionally grouped by single spaces or dashes (one kind of separator), a first
// digit of 2-6, a prefix and length issued by Visa, Mastercard, Amex, Discover, JCB, Diners,
// UnionPay or Maestro, and a valid Luhn check digit.
bool IsCreditCard(std::string_view s) {
  if (s.size() < 13 || s.size() > 23) return false;
  if (!IsDigit(s.front()) || !IsDigit(s.back())) return false;
  if (s.front() < '2' || s.front() > '6') return false;
  char digits[24];
  int n = 0;
  char sep = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (IsDigit(c)) {
      digits[n++] = c;
    } else if (c == ' ' || c == '-') {
      if (sep != 0 && c != sep) return false;
      if (!IsDigit(s[i - 1])) return false;  // no doubled separators; front/back are digits
      sep = c;
    } else {
      return false;
    }
  }
  if (n < 13 || n > 19 || !IssuerAllowsLength(digits, n)) return false;
  int sum = 0;
  for (int i = n - 1, k = 0; i >= 0; --i, ++k) {
    int d = digits[i] - '0';
    if (k & 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 == 0;
}

// Phone numbers. Accepted shapes:
//  * international: '+', a first digit of 1-9 and 8-15 digits in all (E.164), optionally grouped
//    by single spaces, dashes or dots, with at most one parenthesised group: "+44 20 7946 0958",
//    "+1 (415) 555-2671", "+14155552671";
//  * North American: 3-3-4 digits, area code starting with 2-9, as "(555) 123-4567",
//    "555-123-4567", "555.123.4567" or "555 123 4567", optionally after "1 " / "1-";
//  * national with a trunk zero: 10-12 digits in 2+ groups, the first starting with 0:
//    "020 7946 0958", "06 12 34 56 78", "(030) 12345678".
// A bare run of digits is never a phone number without '+', nor is any value without a
// separator: ids, counts and dates stay out.
struct DigitGroups {
  int count = 0;
  int total = 0;
  std::array<uint8_t, 8> len{};
  std::array<char, 8> first{};
  int paren_group = -1;  // index of the parenthesised group, or -1
  char sep = 0;          // the separator between groups after a paren group ("" when none)
};

// Splits "ddd sep ddd sep ..." where sep is one of ' ', '-', '.' and a group may be in
// parentheses (followed by an optional space). Mixed separators are allowed only after a
// parenthesised group ("(555) 123-4567"). Returns false on any other shape.
bool SplitGroups(std::string_view s, DigitGroups* g) {
  size_t i = 0;
  char sep = 0;
  while (i < s.size()) {
    if (g->count == static_cast<int>(g->len.size())) return false;
    bool paren = false;
    if (s[i] == '(') {
      if (g->paren_group >= 0) return false;
      paren = true;
      ++i;
    }
    size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    size_t len = i - start;
    if (len == 0 || len > 12) return false;
    g->len[g->count] = static_cast<uint8_t>(len);
    g->first[g->count] = s[start];
    g->total += static_cast<int>(len);
    if (paren) {
      if (i == s.size() || s[i] != ')') return false;
      g->paren_group = g->count;
      ++i;
      ++g->count;
      if (i == s.size()) return false;
      if (s[i] == ' ' || s[i] == '-') ++i;  // "(555) 123", "(555)-123" or "(555)123"
      if (i == s.size()) return false;
      sep = 0;  // "+1 (415) 555-2671": the separator may change after the parentheses
      continue;
    }
    ++g->count;
    if (i == s.size()) break;
    char c = s[i];
    if (c != ' ' && c != '-' && c != '.') return false;
    if (sep != 0 && c != sep) return false;
    sep = c;
    ++i;
    if (i == s.size()) return false;
  }
  g->sep = sep;
  return g->count > 0;
}

bool IsPhone(std::string_view s) {
  if (s.size() < 9 || s.size() > 24) return false;
  bool plus = s.front() == '+';
  if (plus) {
    s.remove_prefix(1);
    if (s.empty() || s.front() < '1' || s.front() > '9') return false;
  }
  DigitGroups g;
  if (!SplitGroups(s, &g)) return false;
  if (plus) return g.total >= 8 && g.total <= 15;
  if (g.count < 2) return false;  // no bare integers
  // North American 3-3-4, optionally after a "1" group.
  int k = 0;
  if (g.count == 4 && g.len[0] == 1 && g.first[0] == '1' && g.paren_group != 0) k = 1;
  if (g.count - k == 3 && g.len[k] == 3 && g.len[k + 1] == 3 && g.len[k + 2] == 4 &&
      g.first[k] >= '2' && (g.paren_group == -1 || g.paren_group == k)) {
    return true;
  }
  // National with a trunk zero.
  if (g.first[0] != '0' || g.total < 10 || g.total > 12 || g.len[0] > 5) return false;
  if (g.paren_group > 0) return false;
  for (int i = 0; i < g.count; ++i) {
    if (g.len[i] < 2) return false;
  }
  return true;
}

// ---- IBAN --------------------------------------------------------------------------------

// IBAN lengths per country (ISO 13616 registry).
struct IbanCountry {
  char code[3];
  uint8_t length;
};
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
    {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27},
    {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20},
    {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27},
    {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15},
    {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
    {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

int IbanLength(char a, char b) {
  for (const auto& c : kIbanCountries) {
    if (c.code[0] == a && c.code[1] == b) return c.length;
  }
  return 0;
}

char UpperAscii(char c) { return IsLower(c) ? static_cast<char>(c - 'a' + 'A') : c; }

// Country code, two check digits and an alphanumeric BBAN of the country's length, written
// compactly or in groups of four separated by single spaces, with mod-97 of the rearranged
// number equal to 1 (ISO 7064). Lower case is accepted.
bool IsIban(std::string_view s) {
  if (s.size() < 15 || s.size() > 42) return false;
  char compact[34];
  int n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ' ') {
      // Only the printed form: a space after every group of four.
      if (n == 0 || n % 4 != 0 || s[i - 1] == ' ' || i + 1 == s.size()) return false;
      continue;
    }
    if (!IsAlnum(c) || n == 34) return false;
    compact[n++] = UpperAscii(c);
  }
  if (!IsUpper(compact[0]) || !IsUpper(compact[1]) || !IsDigit(compact[2]) ||
      !IsDigit(compact[3])) {
    return false;
  }
  if (IbanLength(compact[0], compact[1]) != n) return false;
  int rem = 0;
  auto feed = [&rem](char c) {
    if (IsDigit(c)) {
      rem = (rem * 10 + (c - '0')) % 97;
    } else {
      int v = c - 'A' + 10;
      rem = (rem * 100 + v) % 97;
    }
  };
  for (int i = 4; i < n; ++i) feed(compact[i]);
  for (int i = 0; i < 4; ++i) feed(compact[i]);
  return rem == 1;
}

// ---- secrets -----------------------------------------------------------------------------

bool AllOf(std::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}
bool IsUpperAlnum(char c) { return IsUpper(c) || IsDigit(c); }
bool IsAlnumC(char c) { return IsAlnum(c); }
bool IsAlnumUnderscore(char c) { return IsAlnum(c) || c == '_'; }
bool IsSlackChar(char c) { return IsAlnum(c) || c == '-'; }
bool IsBase64UrlC(char c) { return IsBase64Url(c); }

int Base64UrlValue(char c) {
  if (IsUpper(c)) return c - 'A';
  if (IsLower(c)) return c - 'a' + 26;
  if (IsDigit(c)) return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// A JWT (RFC 7519, compact JWS): three base64url parts, the first of which decodes to a JSON
// object with an "alg" member. The signature part may be empty (alg "none").
bool IsJwt(std::string_view s) {
  if (s.size() < 20 || s.size() > 16384) return false;
  size_t d1 = s.find('.');
  if (d1 == std::string_view::npos) return false;
  size_t d2 = s.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return false;
  std::string_view header = s.substr(0, d1), payload = s.substr(d1 + 1, d2 - d1 - 1),
                   sig = s.substr(d2 + 1);
  if (header.size() < 10 || payload.empty() || (header.size() & 3) == 1 ||
      (payload.size() & 3) == 1) {
    return false;
  }
  if (!AllOf(header, IsBase64UrlC) || !AllOf(payload, IsBase64UrlC) || !AllOf(sig, IsBase64UrlC)) {
    return false;
  }
  // Decode at most the first 96 bytes of the header; "alg" is always near its start.
  std::string decoded;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < header.size() && decoded.size() < 96; ++i) {
    acc = (acc << 6) | static_cast<uint32_t>(Base64UrlValue(header[i]));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      decoded.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return !decoded.empty() && decoded.front() == '{' && decoded.find("\"alg\"") != std::string::npos;
}

// Credentials recognised by their issuer's fixed prefix and shape.
bool IsSecretToken(std::string_view s) {
  switch (s.front()) {
    case '-':
      // "-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN OPENSSH PRIVATE KEY-----", PKCS#8 ...
      if (StartsWith(s, "-----BEGIN ")) {
        size_t eol = s.find('\n');
        std::string_view header = TrimAscii(s.substr(0, eol));
        return header.size() <= 80 && (header.ends_with(" PRIVATE KEY-----") ||
                                       header == "-----BEGIN PGP PRIVATE KEY BLOCK-----");
      }
      return false;
    case 'A':
      // AWS access key id: AKIA (long-term) or ASIA (temporary) + 16 upper-case alphanumerics.
      return s.size() == 20 && (StartsWith(s, "AKIA") || StartsWith(s, "ASIA")) &&
             AllOf(s.substr(4), IsUpperAlnum);
    case 'g':
      // GitHub: classic tokens gh[pousr]_ + 36 alphanumerics; fine-grained github_pat_ ...
      if (s.size() == 40 && s[0] == 'g' && s[1] == 'h' && s[2] != '\0' &&
          std::strchr("pousr", s[2]) && s[3] == '_') {
        return AllOf(s.substr(4), IsAlnumC);
      }
      return StartsWith(s, "github_pat_") && s.size() >= 50 && s.size() <= 255 &&
             AllOf(s.substr(11), IsAlnumUnderscore);
    case 'x':
      // Slack: xoxa-, xoxb-, xoxp-, xoxr-, xoxs- followed by dash-separated alphanumerics.
      return s.size() >= 15 && s.size() <= 255 && StartsWith(s, "xox") && s[3] != '\0' &&
             std::strchr("abprs", s[3]) && s[4] == '-' && AllOf(s.substr(5), IsSlackChar);
    case 's':
    case 'r':
      // Stripe live secret and restricted keys.
      return (StartsWith(s, "sk_live_") || StartsWith(s, "rk_live_")) && s.size() >= 24 &&
             s.size() <= 255 && AllOf(s.substr(8), IsAlnumC);
    case 'e':
      return StartsWith(s, "eyJ") && IsJwt(s);
    default:
      return false;
  }
}

// ---- column name hints -------------------------------------------------------------------

// Lower-cased tokens of a column name, split at non-alphanumerics and camelCase boundaries.
std::vector<std::string> NameTokens(std::string_view name) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!IsAlnum(c)) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    if (IsUpper(c) && !cur.empty() && i > 0 && IsLower(name[i - 1])) {
      out.push_back(std::move(cur));
      cur.clear();
    }
    cur.push_back(IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c);
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

}  // namespace

const char* PiiKindName(PiiKind kind) {
  switch (kind) {
    case PiiKind::kEmail:
      return "email";
    case PiiKind::kPhone:
      return "phone";
    case PiiKind::kCreditCard:
      return "credit_card";
    case PiiKind::kIban:
      return "iban";
    case PiiKind::kUsSsn:
      return "ssn";
    case PiiKind::kIpv4:
      return "ipv4";
    case PiiKind::kIpv6:
      return "ipv6";
    case PiiKind::kSecretToken:
      return "secret";
  }
  return "unknown";
}

std::optional<PiiKind> ParsePiiKind(std::string_view name) {
  for (int k = 0; k < kNumPiiKinds; ++k) {
    if (name == PiiKindName(static_cast<PiiKind>(k))) return static_cast<PiiKind>(k);
  }
  return std::nullopt;
}

std::optional<PiiKind> DetectPii(std::string_view value) {
  std::string_view s = TrimAscii(value);
  if (s.size() < 3) return std::nullopt;  // the shortest detectable value is "::1"
  // Long values can only be a private key block or a JWT; skip the class scan for them.
  if (s.size() > 256) {
    if ((s.front() == '-' || s.front() == 'e') && IsSecretToken(s)) return PiiKind::kSecretToken;
    return std::nullopt;
  }
  uint32_t m = Classify(s);
  if (m & kHasAt) {
    if (IsEmail(s)) return PiiKind::kEmail;
    return std::nullopt;
  }
  if ((m & ~kNumericPunct) == 0) {
    // Only digits and phone punctuation.
    if ((m & ~(kHasDigit | kHasDot)) == 0 && IsIpv4(s)) return PiiKind::kIpv4;
    if (s.size() == 11 && IsUsSsn(s)) return PiiKind::kUsSsn;
    if (IsCreditCard(s)) return PiiKind::kCreditCard;
    if (IsPhone(s)) return PiiKind::kPhone;
    return std::nullopt;
  }
  if ((m & kHasColon) &&
      (m & ~(kHasDigit | kHasUpper | kHasLower | kHasColon | kHasDot | kHasOther)) == 0) {
    if (IsIpv6(s)) return PiiKind::kIpv6;
  }
  if ((m & (kHasUpper | kHasLower)) && (m & kHasDigit) &&
      (m & ~(kHasDigit | kHasUpper | kHasLower | kHasSpace)) == 0 && IsAlpha(s[0]) &&
      IsAlpha(s[1]) && IsIban(s)) {
    return PiiKind::kIban;
  }
  if (IsSecretToken(s)) return PiiKind::kSecretToken;
  return std::nullopt;
}

std::optional<PiiKind> PiiKindHintFromName(std::string_view column_name) {
  std::string lower;
  lower.reserve(column_name.size());
  for (char c : column_name) lower.push_back(IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c);
  // Distinctive words match anywhere: "emailaddress", "homephone".
  if (lower.find("email") != std::string::npos || lower.find("e_mail") != std::string::npos) {
    return PiiKind::kEmail;
  }
  if (lower.find("phone") != std::string::npos) return PiiKind::kPhone;
  if (lower.find("iban") != std::string::npos) return PiiKind::kIban;
  // Short words must be whole tokens: "tel" is not "hotel", "ip" is not "zip".
  for (const std::string& t : NameTokens(column_name)) {
    if (t == "mail" || t == "mailto") return PiiKind::kEmail;
    if (t == "tel" || t == "telephone" || t == "mobile" || t == "cell" || t == "fax" ||
        t == "msisdn") {
      return PiiKind::kPhone;
    }
    if (t == "ssn" || t == "ss" || t == "sin" || t == "social") return PiiKind::kUsSsn;
    if (t == "card" || t == "cc" || t == "ccnum" || t == "pan" || t == "creditcard") {
      return PiiKind::kCreditCard;
    }
    if (t == "ip" || t == "ipv4" || t == "ipaddr" || t == "ipaddress") return PiiKind::kIpv4;
    if (t == "ipv6") return PiiKind::kIpv6;
    if (t == "secret" || t == "token" || t == "apikey" || t == "password" || t == "jwt" ||
        t == "credential" || t == "credentials") {
      return PiiKind::kSecretToken;
    }
  }
  return std::nullopt;
}

std::vector<ColumnPiiStats> ScanBatch(const RecordBatch& batch, double min_rate) {
  std::vector<ColumnPiiStats> out;
  const Schema& schema = *batch.schema();
  for (size_t c = 0; c < schema.size(); ++c) {
    const Column& col = batch.column(c);
    if (col.type().id != TypeId::kString) continue;
    std::array<int64_t, kNumPiiKinds> counts{};
    int64_t non_null = 0;
    const int64_t n = col.length();
    for (int64_t i = 0; i < n; ++i) {
      if (col.IsNull(i)) continue;
      ++non_null;
      if (auto k = DetectPii(col.BytesAt(i))) ++counts[static_cast<int>(*k)];
    }
    if (non_null == 0) continue;
    int best = 0;
    for (int k = 1; k < kNumPiiKinds; ++k) {
      if (counts[k] > counts[best]) best = k;
    }
    auto rate_of = [&](PiiKind k) {
      return static_cast<double>(counts[static_cast<int>(k)]) / static_cast<double>(non_null);
    };
    const std::string& name = schema.field(c).name;
    std::optional<PiiKind> kind;
    if (auto hint = PiiKindHintFromName(name)) {
      PiiKind hinted = *hint;
      // An "ip" column holds IPv4, IPv6 or both: the hint covers whichever is more common.
      if (hinted == PiiKind::kIpv4 || hinted == PiiKind::kIpv6) {
        hinted =
            rate_of(PiiKind::kIpv6) > rate_of(PiiKind::kIpv4) ? PiiKind::kIpv6 : PiiKind::kIpv4;
      }
      double threshold = std::min(min_rate, kHintedMinRate);
      if (counts[static_cast<int>(hinted)] > 0 && rate_of(hinted) >= threshold) kind = hinted;
    }
    if (!kind && counts[best] > 0 && rate_of(static_cast<PiiKind>(best)) >= min_rate) {
      kind = static_cast<PiiKind>(best);
    }
    if (kind) {
      out.push_back({name, *kind, counts[static_cast<int>(*kind)], non_null, rate_of(*kind)});
    }
  }
  return out;
}

}  // namespace sluice
