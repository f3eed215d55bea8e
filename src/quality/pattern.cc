#include "quality/pattern.h"

#include <re2/re2.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <climits>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <vector>

namespace sluice {

namespace {

// ---- what the fast engines understand ---------------------------------------------------------
//
// A pattern is taken by the fast engines only when it is a sequence of items, each one character
// class repeated {min, max} times, optionally anchored by a leading ^ and a trailing $, written in
// ASCII. Anything the parser below is not sure about sends the pattern to RE2, so the fast
// engines never have to guess what RE2 would do.
//
// Characters are RE2's (UTF-8): a class either holds every non-ASCII character (negated classes,
// `.`, \D, \S, \W) or none of them, so an input character is one of 128 ASCII bytes or "a non-ASCII
// character". Like RE2's compiled program, a non-ASCII character is a lead byte C2-DF, E0-EF or
// F0-F4 followed by one, two or three bytes 80-BF; any other byte at or above 0x80 is matched by
// nothing (see Utf8Unit).

constexpr int32_t kInf = INT32_MAX;

struct Cls {
  uint64_t lo = 0, hi = 0;  // ASCII members: bit c of lo (c < 64) or of hi (c >= 64)
  bool non_ascii = false;

  void Add(int c) { (c < 64 ? lo : hi) |= uint64_t{1} << (c & 63); }
  void AddRange(int a, int b) {
    for (int c = a; c <= b; ++c) Add(c);
  }
  bool Has(int c) const { return ((c < 64 ? lo : hi) >> (c & 63)) & 1; }
  void Negate() {
    lo = ~lo;
    hi = ~hi;
    non_ascii = !non_ascii;
  }
  void Or(const Cls& o) {
    lo |= o.lo;
    hi |= o.hi;
    non_ascii |= o.non_ascii;
  }
  bool Disjoint(const Cls& o) const { return (lo & o.lo) == 0 && (hi & o.hi) == 0 && !(non_ascii && o.non_ascii); }
};

struct Item {
  Cls cls;
  int32_t min = 1, max = 1;  // max == kInf: unbounded
};

struct Parsed {
  bool anchor_start = false, anchor_end = false;
  std::vector<Item> items;
};

// \d \s \w and their negations, as RE2 defines them (Perl classes, ASCII only).
bool PerlClass(char c, Cls* out) {
  Cls k;
  switch (c | 0x20) {
    case 'd': k.AddRange('0', '9'); break;
    case 's':
      for (int x : {'\t', '\n', '\f', '\r', ' '}) k.Add(x);
      break;
    case 'w':
      k.AddRange('0', '9');
      k.AddRange('A', 'Z');
      k.AddRange('a', 'z');
      k.Add('_');
      break;
    default: return false;
  }
  if (c >= 'A' && c <= 'Z') k.Negate();
  *out = k;
  return true;
}

// The character an escape `\c` stands for, or -1 when it is not a plain character (or not one
// this parser is sure about).
int EscapedChar(char c) {
  switch (c) {
    case 't': return '\t';
    case 'n': return '\n';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case 'a': return '\a';
    default: break;
  }
  const auto u = static_cast<unsigned char>(c);
  // Escaped punctuation is the character itself.
  if (u > 0x20 && u < 0x7f && !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && c != '_') {
    return u;
  }
  return -1;
}

// Parses the inside of [...] from s[i] (just past '['); leaves i just past ']'.
bool ParseClass(std::string_view s, size_t& i, Cls* out) {
  Cls k;
  bool negate = false;
  if (i < s.size() && s[i] == '^') {
    negate = true;
    ++i;
  }
  const size_t first = i;
  if (i < s.size() && s[i] == ']') return false;  // a literal ']' first: leave it to RE2
  while (true) {
    if (i >= s.size()) return false;
    char c = s[i];
    if (c == ']') {
      ++i;
      break;
    }
    if (static_cast<unsigned char>(c) >= 0x80 || c == '[') return false;
    int lo;
    if (c == '\\') {
      if (i + 1 >= s.size()) return false;
      Cls perl;
      if (PerlClass(s[i + 1], &perl)) {
        k.Or(perl);
        i += 2;
        continue;
      }
      lo = EscapedChar(s[i + 1]);
      if (lo < 0) return false;
      i += 2;
    } else if (c == '-') {
      // A '-' stands for itself only first or last.
      if (i != first && !(i + 1 < s.size() && s[i + 1] == ']')) return false;
      lo = '-';
      ++i;
    } else {
      lo = static_cast<unsigned char>(c);
      ++i;
    }
    if (i + 1 < s.size() && s[i] == '-' && s[i + 1] != ']') {
      ++i;
      int hi;
      if (s[i] == '\\') {
        if (i + 1 >= s.size()) return false;
        hi = EscapedChar(s[i + 1]);
        i += 2;
      } else {
        hi = static_cast<unsigned char>(s[i]);
        if (hi >= 0x80 || s[i] == '[') return false;
        ++i;
      }
      if (hi < 0 || hi < lo) return false;
      k.AddRange(lo, hi);
    } else {
      k.Add(lo);
    }
  }
  if (negate) k.Negate();
  *out = k;
  return true;
}

bool ParseCount(std::string_view s, size_t& i, int32_t* n) {
  const size_t start = i;
  int64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9' && v <= 100000) v = v * 10 + (s[i++] - '0');
  if (i == start || v > 1000) return false;
  *n = static_cast<int32_t>(v);
  return true;
}

std::optional<Parsed> ParseSequence(std::string_view s) {
  Parsed p;
  size_t i = 0;
  if (i < s.size() && s[i] == '^') {
    p.anchor_start = true;
    ++i;
  }
  while (i < s.size()) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) >= 0x80) return std::nullopt;
    if (c == '$') {
      if (i + 1 != s.size()) return std::nullopt;
      p.anchor_end = true;
      ++i;
      break;
    }
    Item item;
    switch (c) {
      case '.':
        item.cls.Add('\n');
        item.cls.Negate();
        ++i;
        break;
      case '[':
        ++i;
        if (!ParseClass(s, i, &item.cls)) return std::nullopt;
        break;
      case '\\': {
        if (i + 1 >= s.size()) return std::nullopt;
        if (!PerlClass(s[i + 1], &item.cls)) {
          const int e = EscapedChar(s[i + 1]);
          if (e < 0) return std::nullopt;
          item.cls.Add(e);
        }
        i += 2;
        break;
      }
      case '^': case '(': case ')': case '|': case ']': case '{': case '}': case '*': case '+': case '?':
        return std::nullopt;
      default:
        item.cls.Add(static_cast<unsigned char>(c));
        ++i;
        break;
    }
    if (i < s.size()) {
      const char q = s[i];
      bool repeated = true;
      if (q == '*') {
        item.min = 0, item.max = kInf, ++i;
      } else if (q == '+') {
        item.min = 1, item.max = kInf, ++i;
      } else if (q == '?') {
        item.min = 0, item.max = 1, ++i;
      } else if (q == '{') {
        ++i;
        if (!ParseCount(s, i, &item.min)) return std::nullopt;
        item.max = item.min;
        if (i < s.size() && s[i] == ',') {
          ++i;
          item.max = kInf;
          if (i < s.size() && s[i] != '}' && !ParseCount(s, i, &item.max)) return std::nullopt;
        }
        if (i >= s.size() || s[i] != '}' || item.max < item.min) return std::nullopt;
        ++i;
      } else {
        repeated = false;
      }
      // Laziness does not change whether a pattern matches; anything stacked beyond it might.
      if (repeated && i < s.size() && s[i] == '?') ++i;
      if (repeated && i < s.size() && (s[i] == '*' || s[i] == '+' || s[i] == '?' || s[i] == '{')) return std::nullopt;
    }
    p.items.push_back(item);
  }
  return p;
}

// Length of the non-ASCII character at p (*p >= 0x80), or 0 when the bytes there are not one,
// with the byte ranges RE2 compiles "any non-ASCII character" to.
inline int Utf8Unit(const uint8_t* p, const uint8_t* end) {
  const uint8_t b = p[0];
  int need;
  if (b >= 0xC2 && b <= 0xDF) need = 1;
  else if (b >= 0xE0 && b <= 0xEF) need = 2;
  else if (b >= 0xF0 && b <= 0xF4) need = 3;
  else return 0;
  if (end - p <= need) return 0;
  for (int k = 1; k <= need; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
  }
  return need + 1;
}

}  // namespace

// ---- the compiled forms ---------------------------------------------------------------------

struct PatternMatcher::Program {
  // kSequence: per item, tbl[byte] = 1 for an ASCII member, 2 for a possible non-ASCII
  // character when the class holds them, 0 otherwise.
  struct SeqItem {
    uint8_t tbl[256];
    int32_t min, max;
    // For an unbounded item, a 16-byte test for "where does the run of ASCII members end": the
    // bytes in any of `nranges` ranges stop it (or, with `in_class`, the bytes in none of them),
    // and so does every byte at or above 0x80. nranges < 0: no such test, byte by byte.
    int nranges = -1;
    bool in_class = false;
#if defined(__SSE2__)
    __m128i range_lo[4], range_span[4];  // each byte the same: a range's first byte, its length - 1
#endif
  };
  std::vector<SeqItem> seq;
  bool anchor_end = false;

  // kDfa: symbols 0-127 are ASCII bytes, 128 a non-ASCII character, 129 an invalid byte.
  static constexpr int kSymbols = 130;
  std::vector<uint16_t> next;   // state * kSymbols + symbol -> state; state 0 is dead
  std::vector<uint8_t> accept;  // per state
  std::vector<uint8_t> stop;    // per state: the answer cannot change any more
  uint16_t start = 0;

  // Past the run of ASCII members of `it` that starts at p (at most up to end). Bytes up to
  // `limit` (>= end) may be read.
  __attribute__((always_inline)) static const uint8_t* SkipRun(const SeqItem& it, const uint8_t* p, const uint8_t* end, const uint8_t* limit) {
#if defined(__SSE2__)
    if (it.nranges >= 0) {
      while (p < end && limit - p >= 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        __m128i hit = _mm_setzero_si128();
        for (int r = 0; r < it.nranges; ++r) {
          const __m128i d = _mm_sub_epi8(x, it.range_lo[r]);
          const __m128i in = _mm_cmpeq_epi8(_mm_subs_epu8(d, it.range_span[r]), _mm_setzero_si128());
          hit = _mm_or_si128(hit, in);
        }
        auto stop = static_cast<unsigned>(_mm_movemask_epi8(hit));
        if (it.in_class) stop = ~stop & 0xFFFFu;
        stop |= static_cast<unsigned>(_mm_movemask_epi8(x));  // non-ASCII: handled below
        if (end - p < 16) stop |= ~((1u << (end - p)) - 1) & 0xFFFFu;  // the end of the value
        if (stop != 0) return p + __builtin_ctz(stop);
        p += 16;
      }
    }
#endif
    const uint8_t* t = it.tbl;
    while (p < end && t[*p] == 1) ++p;
    return p;
  }

  __attribute__((always_inline)) bool MatchSequence(const uint8_t* p, const uint8_t* end, const uint8_t* limit) const {
    for (const SeqItem& it : seq) {
      const uint8_t* t = it.tbl;
      int64_t count = 0;
      if (it.max == kInf) {
        for (;;) {
          const uint8_t* run = p;
          p = SkipRun(it, p, end, limit);
          count += p - run;
          if (p < end && t[*p] == 2) {
            if (const int u = Utf8Unit(p, end)) {
              p += u;
              ++count;
              continue;
            }
          }
          break;
        }
      } else {
        while (count < it.max && p < end) {
          const uint8_t m = t[*p];
          if (m == 1) {
            ++p;
          } else if (m == 2 && Utf8Unit(p, end) != 0) {
            p += Utf8Unit(p, end);
          } else {
            break;
          }
          ++count;
        }
      }
      if (count < it.min) return false;
    }
    return !anchor_end || p == end;
  }

  bool MatchDfa(const uint8_t* p, const uint8_t* end) const {
    const uint16_t* nx = next.data();
    const uint8_t* st = stop.data();
    uint32_t s = start;
    while (!st[s] && p < end) {
      const uint8_t b = *p;
      uint32_t sym;
      if (b < 0x80) {
        sym = b;
        ++p;
      } else if (const int u = Utf8Unit(p, end)) {
        sym = 128;
        p += u;
      } else {
        sym = 129;
        ++p;
      }
      s = nx[s * kSymbols + sym];
    }
    return accept[s] != 0;
  }
};

namespace {

// The greedy scan is exact when no item that may repeat a variable number of times could give a
// character back to what follows it: its class is disjoint from every class that can come next.
bool GreedyIsExact(const Parsed& p) {
  if (!p.anchor_start) return false;
  for (size_t i = 0; i < p.items.size(); ++i) {
    if (p.items[i].min == p.items[i].max) continue;
    for (size_t j = i + 1; j < p.items.size(); ++j) {
      if (!p.items[i].cls.Disjoint(p.items[j].cls)) return false;
      if (p.items[j].min > 0) break;
    }
  }
  return true;
}

std::unique_ptr<PatternMatcher::Program> BuildSequence(const Parsed& p) {
  auto prog = std::make_unique<PatternMatcher::Program>();
  prog->anchor_end = p.anchor_end;
  for (const Item& item : p.items) {
    PatternMatcher::Program::SeqItem s{};
    for (int b = 0; b < 128; ++b) s.tbl[b] = item.cls.Has(b) ? 1 : 0;
    for (int b = 128; b < 256; ++b) s.tbl[b] = item.cls.non_ascii ? 2 : 0;
    s.min = item.min;
    s.max = item.max;
    if (item.max == kInf) {
      // The ASCII ranges of the class and of its complement; test with the shorter list.
      std::vector<std::pair<int, int>> in, out;
      for (int b = 0; b < 128;) {
        const bool member = item.cls.Has(b);
        int e = b;
        while (e + 1 < 128 && item.cls.Has(e + 1) == member) ++e;
        (member ? in : out).emplace_back(b, e);
        b = e + 1;
      }
      const bool use_in = in.size() < out.size();
      const auto& ranges = use_in ? in : out;
#if defined(__SSE2__)
      if (ranges.size() <= 4) {
        s.nranges = static_cast<int>(ranges.size());
        s.in_class = use_in;
        for (size_t r = 0; r < ranges.size(); ++r) {
          s.range_lo[r] = _mm_set1_epi8(static_cast<char>(ranges[r].first));
          s.range_span[r] = _mm_set1_epi8(static_cast<char>(ranges[r].second - ranges[r].first));
        }
      }
#endif
    }
    prog->seq.push_back(s);
  }
  return prog;
}

// Subset construction over the positions of the expanded sequence. A state is the set of "gaps"
// reached: gap j means positions 0..j-1 are matched; gap P (the last) accepts.
std::unique_ptr<PatternMatcher::Program> BuildDfa(const Parsed& p) {
  constexpr int kMaxPositions = 62;
  constexpr size_t kMaxStates = 4096;
  struct Pos {
    Cls cls;
    bool loop = false;  // matches any number of times (x*)
    bool skip = false;  // may be skipped
  };
  std::vector<Pos> pos;
  for (const Item& item : p.items) {
    for (int32_t k = 0; k < item.min; ++k) pos.push_back({item.cls, false, false});
    if (item.max == kInf) {
      pos.push_back({item.cls, true, true});
    } else {
      for (int32_t k = item.min; k < item.max; ++k) pos.push_back({item.cls, false, true});
    }
    if (pos.size() > kMaxPositions) return nullptr;
  }
  const int P = static_cast<int>(pos.size());
  auto closure = [&](uint64_t s) {
    for (int j = 0; j < P; ++j) {
      if (((s >> j) & 1) && pos[static_cast<size_t>(j)].skip) s |= uint64_t{1} << (j + 1);
    }
    return s;
  };
  const uint64_t initial = closure(1);
  const uint64_t final_bit = uint64_t{1} << P;
  auto step = [&](uint64_t s, int sym) {
    uint64_t t = 0;
    for (int j = 0; j < P; ++j) {
      if (!((s >> j) & 1)) continue;
      const Cls& c = pos[static_cast<size_t>(j)].cls;
      const bool has = sym < 128 ? c.Has(sym) : sym == 128 && c.non_ascii;
      if (has) t |= uint64_t{1} << (pos[static_cast<size_t>(j)].loop ? j : j + 1);
    }
    t = closure(t);
    if (!p.anchor_start) t |= initial;  // a match may start at any character
    return t;
  };

  auto prog = std::make_unique<PatternMatcher::Program>();
  constexpr int S = PatternMatcher::Program::kSymbols;
  std::unordered_map<uint64_t, uint16_t> ids;
  std::vector<uint64_t> sets = {0};  // state 0: dead
  ids[0] = 0;
  auto id_of = [&](uint64_t set) -> int {
    auto it = ids.find(set);
    if (it != ids.end()) return it->second;
    if (sets.size() >= kMaxStates) return -1;
    const auto id = static_cast<uint16_t>(sets.size());
    ids[set] = id;
    sets.push_back(set);
    return id;
  };
  prog->start = static_cast<uint16_t>(id_of(initial));
  for (size_t s = 0; s < sets.size(); ++s) {
    prog->next.resize((s + 1) * S, 0);
    for (int sym = 0; sym < S; ++sym) {
      const int t = s == 0 ? 0 : id_of(step(sets[s], sym));
      if (t < 0) return nullptr;
      prog->next[s * S + static_cast<size_t>(sym)] = static_cast<uint16_t>(t);
    }
  }
  for (uint64_t set : sets) {
    const bool acc = (set & final_bit) != 0;
    prog->accept.push_back(acc);
    // Without $, the first time the end of the pattern is reached decides; dead states decide.
    prog->stop.push_back(set == 0 || (acc && !p.anchor_end));
  }
  return prog;
}

}  // namespace

PatternMatcher::PatternMatcher(const std::string& pattern, bool allow_fast, bool allow_sequence)
    : pattern_(pattern), re2_(std::make_unique<re2::RE2>(pattern, re2::RE2::Quiet)) {
  if (!re2_->ok() || !allow_fast) return;
  std::optional<Parsed> parsed = ParseSequence(pattern);
  if (!parsed) return;
  if (allow_sequence && GreedyIsExact(*parsed)) {
    program_ = BuildSequence(*parsed);
    engine_ = Engine::kSequence;
  } else if (auto dfa = BuildDfa(*parsed)) {
    program_ = std::move(dfa);
    engine_ = Engine::kDfa;
  }
}

PatternMatcher::~PatternMatcher() = default;

bool PatternMatcher::ok() const { return re2_->ok(); }

bool PatternMatcher::Matches(std::string_view s) const {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  switch (engine_) {
    case Engine::kSequence: return program_->MatchSequence(p, p + s.size(), p + s.size());
    case Engine::kDfa: return program_->MatchDfa(p, p + s.size());
    case Engine::kRe2: break;
  }
  return re2_->ok() && re2::RE2::PartialMatch(s, *re2_);
}

namespace {

// match(begin, end, limit): bytes up to limit (the end of the column's data) may be read.
template <typename Match>
int64_t MarkEach(const Column& col, uint8_t* fail, Match match) {
  const int64_t n = col.length();
  const uint8_t* data = col.values().data();
  const uint8_t* limit = data + col.values().size();
  const int32_t* off = col.offsets().data();
  int64_t marked = 0;
  if (col.null_count() == 0) {
    for (int64_t i = 0; i < n; ++i) {
      const bool bad = !match(data + off[i], data + off[i + 1], limit);
      fail[i] |= static_cast<uint8_t>(bad);
      marked += bad;
    }
  } else {
    const uint8_t* valid = col.validity().data();
    for (int64_t i = 0; i < n; ++i) {
      if (!((valid[i >> 3] >> (i & 7)) & 1)) continue;
      const bool bad = !match(data + off[i], data + off[i + 1], limit);
      fail[i] |= static_cast<uint8_t>(bad);
      marked += bad;
    }
  }
  return marked;
}

}  // namespace

int64_t PatternMatcher::MarkMismatches(const Column& col, uint8_t* fail) const {
  if (col.length() == 0) return 0;
  const Program* prog = program_.get();
  switch (engine_) {
    case Engine::kSequence:
      return MarkEach(col, fail, [prog](const uint8_t* b, const uint8_t* e, const uint8_t* l) { return prog->MatchSequence(b, e, l); });
    case Engine::kDfa:
      return MarkEach(col, fail, [prog](const uint8_t* b, const uint8_t* e, const uint8_t*) { return prog->MatchDfa(b, e); });
    case Engine::kRe2: break;
  }
  return MarkEach(col, fail, [this](const uint8_t* b, const uint8_t* e, const uint8_t*) {
    return Matches(std::string_view(reinterpret_cast<const char*>(b), static_cast<size_t>(e - b)));
  });
}

}  // namespace sluice
