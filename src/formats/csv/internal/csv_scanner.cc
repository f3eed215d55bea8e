#include "formats/csv/internal/csv_scanner.h"

#include <algorithm>
#include <cstring>

#if defined(__AVX2__) || defined(__SSE2__)
#include <immintrin.h>
#endif

namespace sluice::csv {

namespace {

// Bit i of the result is set when p[i] is one of the four special bytes (some may repeat).
#if defined(__AVX2__)
inline uint64_t SpecialBits(const char* p, const char sp[4]) {
  const __m256i a = _mm256_set1_epi8(sp[0]), b = _mm256_set1_epi8(sp[1]);
  const __m256i c = _mm256_set1_epi8(sp[2]), e = _mm256_set1_epi8(sp[3]);
  uint64_t out = 0;
  for (int i = 0; i < 2; ++i) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * i));
    __m256i m = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, a), _mm256_cmpeq_epi8(v, b)),
                                _mm256_or_si256(_mm256_cmpeq_epi8(v, c), _mm256_cmpeq_epi8(v, e)));
    out |= static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(m))) << (32 * i);
  }
  return out;
}
#elif defined(__SSE2__)
inline uint64_t SpecialBits(const char* p, const char sp[4]) {
  const __m128i a = _mm_set1_epi8(sp[0]), b = _mm_set1_epi8(sp[1]);
  const __m128i c = _mm_set1_epi8(sp[2]), e = _mm_set1_epi8(sp[3]);
  uint64_t out = 0;
  for (int i = 0; i < 4; ++i) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, a), _mm_cmpeq_epi8(v, b)),
                             _mm_or_si128(_mm_cmpeq_epi8(v, c), _mm_cmpeq_epi8(v, e)));
    out |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(m))) << (16 * i);
  }
  return out;
}
#else
inline uint64_t SpecialBits(const char* p, const char sp[4]) {
  uint64_t out = 0;
  for (int i = 0; i < 64; ++i) {
    const char ch = p[i];
    const bool hit = ch == sp[0] || ch == sp[1] || ch == sp[2] || ch == sp[3];
    out |= static_cast<uint64_t>(hit) << i;
  }
  return out;
}
#endif

}  // namespace

Scanner::Scanner(const Dialect& dialect) : d_(dialect) {
  // Keeps start + max_row_bytes + 2 from overflowing.
  d_.max_row_bytes = std::clamp<size_t>(d_.max_row_bytes, 1, SIZE_MAX / 4);
  if (d_.escape == d_.quote) d_.escape = '\0';
  // Unused roles repeat the delimiter so that no byte value (not even NUL) is special by accident.
  special_[0] = d_.delimiter;
  special_[1] = '\n';
  special_[2] = d_.quote != '\0' ? d_.quote : d_.delimiter;
  special_[3] = (d_.quote != '\0' && d_.escape != '\0') ? d_.escape : d_.delimiter;
}

void Scanner::Reset(std::string_view data, bool at_eof) {
  data_ = data.data();
  n_ = data.size();
  at_eof_ = at_eof;
  base_ = n_ + 64;  // no block loaded: every position is outside [base_, base_ + 64)
  bits_ = 0;
}

void Scanner::LoadBlock(size_t p) {
  base_ = p;
  if (p + 64 <= n_) {
    bits_ = SpecialBits(data_ + p, special_);
    return;
  }
  char buf[64];
  const size_t left = n_ - p;  // 0 < left < 64
  std::memcpy(buf, data_ + p, left);
  std::memset(buf + left, special_[0] == 'x' ? 'y' : 'x', 64 - left);
  bits_ = SpecialBits(buf, special_) & ((uint64_t{1} << left) - 1);
}

inline size_t Scanner::NextSpecial(size_t p, size_t lim) {
  while (p < lim) {
    if (p - base_ >= 64) LoadBlock(p);  // unsigned: also true when p < base_
    const uint64_t m = bits_ >> (p - base_);
    if (m != 0) {
      const size_t q = p + static_cast<size_t>(__builtin_ctzll(m));
      return q < lim ? q : lim;
    }
    p = base_ + 64;
  }
  return lim;
}

bool Scanner::AtEnd(size_t start, size_t lim) const {
  return at_eof_ && lim == n_ && n_ - start < d_.max_row_bytes + 2;
}

RecordStatus Scanner::RanOut(size_t start, size_t lim, Record* r) const {
  if (lim - start >= d_.max_row_bytes + 2) return RecordStatus::kTooLong;
  if (!at_eof_) return RecordStatus::kNeedMore;
  // At the end of the input only a quoted field can be left open: the rest of the input is the
  // (bad) record.
  r->end = r->next = n_;
  r->newlines = std::count(data_ + start, data_ + n_, '\n');
  return RecordStatus::kUnterminated;
}

RecordStatus Scanner::Done(Record* r) const {
  return r->end - r->start > d_.max_row_bytes ? RecordStatus::kTooLong : RecordStatus::kComplete;
}

void Scanner::MoveToScratch(Span* s) {
  if (s->in_scratch) return;
  const size_t at = scratch_.size();
  scratch_.append(data_ + s->begin, s->size);
  s->begin = at;
  s->in_scratch = true;
}

void Scanner::AddField(Span s, bool junk, size_t b, size_t e, Record* r) {
  if (!junk) {
    fields_.push_back(Span{b, e - b, false, false});
    return;
  }
  scratch_.append(data_ + b, e - b);
  s.size = scratch_.size() - s.begin;
  fields_.push_back(s);
  ++r->junk_fields;
}

bool Scanner::EndField(size_t* pos, size_t lim, Span s, bool junk, Record* r, RecordStatus* st) {
  const char* d = data_;
  size_t e = *pos;
  for (;;) {
    e = NextSpecial(e, lim);
    if (e >= lim) break;
    const char c = d[e];
    if (c == d_.delimiter || c == '\n') break;
    ++e;  // a quote or escape byte inside an unquoted field is data
  }
  if (e >= lim) {
    if (!AtEnd(r->start, lim)) {
      *st = RanOut(r->start, lim, r);
      return false;
    }
    AddField(s, junk, *pos, n_, r);
    r->end = r->next = n_;
    *st = Done(r);
    return false;
  }
  if (d[e] == d_.delimiter) {
    AddField(s, junk, *pos, e, r);
    *pos = e + 1;
    return true;
  }
  size_t fe = e;
  if (fe > *pos && d[fe - 1] == '\r') --fe;
  AddField(s, junk, *pos, fe, r);
  r->end = fe;
  r->next = e + 1;
  ++r->newlines;
  *st = Done(r);
  return false;
}

RecordStatus Scanner::Next(size_t start, Record* r) {
  fields_.clear();
  scratch_.clear();
  *r = Record{};
  r->start = start;
  const char* d = data_;
  const char quote = d_.quote;
  const char escape = d_.escape;
  const size_t lim = n_ - start >= d_.max_row_bytes + 2 ? start + d_.max_row_bytes + 2 : n_;
  size_t pos = start;
  RecordStatus st = RecordStatus::kComplete;
  for (;;) {
    if (quote == '\0' || pos >= lim || d[pos] != quote) {
      if (EndField(&pos, lim, Span{}, false, r, &st)) continue;
      return st;
    }
    // A quoted field: find its closing quote.
    const int64_t newlines_before = r->newlines;
    bool unescape = false;
    size_t k = pos + 1;
    size_t close;
    for (;;) {
      k = NextSpecial(k, lim);
      if (k >= lim) {
        r->open_quote_newlines = newlines_before;
        return RanOut(start, lim, r);
      }
      const char c = d[k];
      if (c == quote) {
        if (k + 1 < lim) {
          if (d[k + 1] == quote) {
            unescape = true;
            k += 2;
            continue;
          }
        } else if (!AtEnd(start, lim)) {
          return RanOut(start, lim, r);  // the next byte decides whether the quote is doubled
        }
        close = k;
        break;
      }
      if (c == '\n') {
        ++r->newlines;
        ++k;
      } else if (escape != '\0' && c == escape) {
        if (k + 1 >= lim) {
          r->open_quote_newlines = newlines_before;
          return RanOut(start, lim, r);
        }
        if (d[k + 1] == '\n') ++r->newlines;
        unescape = true;
        k += 2;
      } else {
        ++k;  // a delimiter inside the quotes
      }
    }
    Span s{pos + 1, close - pos - 1, true, false};
    if (unescape) {
      const size_t at = scratch_.size();
      for (size_t i = s.begin; i < close; ++i) {
        char c = d[i];
        if (c == quote || (escape != '\0' && c == escape)) c = d[++i];  // doubled or escaped
        scratch_.push_back(c);
      }
      s = Span{at, scratch_.size() - at, true, true};
    }
    const size_t after = close + 1;
    if (after >= lim) {  // the closing quote is the last byte of the input
      fields_.push_back(s);
      ++r->quoted_fields;
      r->end = r->next = after;
      return Done(r);
    }
    const char c = d[after];
    if (c == d_.delimiter) {
      fields_.push_back(s);
      ++r->quoted_fields;
      pos = after + 1;
      continue;
    }
    if (c == '\n' || (c == '\r' && after + 1 < lim && d[after + 1] == '\n')) {
      fields_.push_back(s);
      ++r->quoted_fields;
      r->end = after;
      r->next = after + (c == '\n' ? 1 : 2);
      ++r->newlines;
      return Done(r);
    }
    if (c == '\r' && after + 1 >= lim && !AtEnd(start, lim)) return RanOut(start, lim, r);
    // Text after the closing quote: kept as part of the field, like most readers do.
    MoveToScratch(&s);
    pos = after;
    if (EndField(&pos, lim, s, true, r, &st)) continue;
    return st;
  }
}

}  // namespace sluice::csv
