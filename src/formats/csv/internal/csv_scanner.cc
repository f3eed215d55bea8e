#include "formats/csv/internal/csv_scanner.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace sluice::csv {

namespace {

#define SLUICE_INLINE inline __attribute__((always_inline))
#define SLUICE_LAMBDA_INLINE __attribute__((always_inline))

// Classifies `count` blocks of 64 bytes at `p`. A disabled quote or escape is '\0' with its
// enable flag false.
using ClassifyFn = void (*)(const char* p, size_t count, char delim, char quote, char escape,
                            bool escape_on, uint64_t* delim_out, uint64_t* newline_out,
                            uint64_t* quote_out);

[[maybe_unused]] void ClassifyScalar(const char* p, size_t count, char delim, char quote, char escape,
                    bool escape_on, uint64_t* dl, uint64_t* nl, uint64_t* qt) {
  const bool quote_on = quote != '\0';
  for (size_t b = 0; b < count; ++b, p += 64) {
    uint64_t dm = 0, nm = 0, qm = 0;
    for (int i = 0; i < 64; ++i) {
      const char c = p[i];
      dm |= static_cast<uint64_t>(c == delim) << i;
      nm |= static_cast<uint64_t>(c == '\n') << i;
      qm |= static_cast<uint64_t>((quote_on && c == quote) || (escape_on && c == escape)) << i;
    }
    dl[b] = dm;
    nl[b] = nm;
    qt[b] = qm;
  }
}

#if defined(__x86_64__)
void ClassifySse2(const char* p, size_t count, char delim, char quote, char escape, bool escape_on,
                  uint64_t* dl, uint64_t* nl, uint64_t* qt) {
  const __m128i vd = _mm_set1_epi8(delim), vn = _mm_set1_epi8('\n');
  const __m128i vq = _mm_set1_epi8(quote), ve = _mm_set1_epi8(escape);
  const __m128i q_on = _mm_set1_epi8(quote != '\0' ? -1 : 0);
  const __m128i e_on = _mm_set1_epi8(escape_on ? -1 : 0);
  for (size_t b = 0; b < count; ++b, p += 64) {
    uint64_t dm = 0, nm = 0, qm = 0;
    for (int i = 0; i < 4; ++i) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      const __m128i q = _mm_or_si128(_mm_and_si128(_mm_cmpeq_epi8(v, vq), q_on),
                                     _mm_and_si128(_mm_cmpeq_epi8(v, ve), e_on));
      dm |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vd)))) << (16 * i);
      nm |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vn)))) << (16 * i);
      qm |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(q))) << (16 * i);
    }
    dl[b] = dm;
    nl[b] = nm;
    qt[b] = qm;
  }
}

__attribute__((target("avx2"))) void ClassifyAvx2(const char* p, size_t count, char delim,
                                                  char quote, char escape, bool escape_on,
                                                  uint64_t* dl, uint64_t* nl, uint64_t* qt) {
  const __m256i vd = _mm256_set1_epi8(delim), vn = _mm256_set1_epi8('\n');
  const __m256i vq = _mm256_set1_epi8(quote), ve = _mm256_set1_epi8(escape);
  const __m256i q_on = _mm256_set1_epi8(quote != '\0' ? -1 : 0);
  const __m256i e_on = _mm256_set1_epi8(escape_on ? -1 : 0);
  for (size_t b = 0; b < count; ++b, p += 64) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    auto bits = [](__m256i l, __m256i h) __attribute__((always_inline, target("avx2"))) {
      return static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(l))) |
             (static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(h))) << 32);
    };
    auto quotes = [&](__m256i v) __attribute__((always_inline, target("avx2"))) {
      return _mm256_or_si256(_mm256_and_si256(_mm256_cmpeq_epi8(v, vq), q_on),
                             _mm256_and_si256(_mm256_cmpeq_epi8(v, ve), e_on));
    };
    dl[b] = bits(_mm256_cmpeq_epi8(lo, vd), _mm256_cmpeq_epi8(hi, vd));
    nl[b] = bits(_mm256_cmpeq_epi8(lo, vn), _mm256_cmpeq_epi8(hi, vn));
    qt[b] = bits(quotes(lo), quotes(hi));
  }
}
#endif

ClassifyFn PickClassifier() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return ClassifyAvx2;
  return ClassifySse2;
#else
  return ClassifyScalar;
#endif
}

// Chosen once, on first use (thread-safe), by what the CPU supports.
ClassifyFn Classifier() {
  static const ClassifyFn fn = PickClassifier();
  return fn;
}

SLUICE_INLINE uint64_t BitsFrom(size_t pos) { return ~uint64_t{0} << (pos & 63); }
SLUICE_INLINE size_t LowBit(uint64_t m) { return static_cast<size_t>(__builtin_ctzll(m)); }

}  // namespace

Scanner::Scanner(const Dialect& dialect) : d_(dialect) {
  d_.max_row_bytes = std::clamp<size_t>(d_.max_row_bytes, 1, kMaxRowBytesLimit);
  if (d_.escape == d_.quote || d_.quote == '\0') d_.escape = '\0';
}

void Scanner::Reset(std::string_view data, bool at_eof) {
  data_ = data.data();
  n_ = data.size();
  num_blocks_ = (n_ + 63) / 64;
  at_eof_ = at_eof;
  window_ = num_blocks_ + kWindowBlocks;  // nothing classified yet
  num_fields_ = 0;
}

void Scanner::Fill(size_t block) {
  window_ = block;
  const size_t count = std::min(kWindowBlocks, num_blocks_ - block);
  const size_t full = (block + count) * 64 <= n_ ? count : count - 1;
  const bool escape_on = d_.escape != '\0';
  const ClassifyFn classify = Classifier();
  classify(data_ + block * 64, full, d_.delimiter, d_.quote, d_.escape, escape_on, delim_,
            newline_, quote_);
  if (full < count) {  // the last, partial block: classify a padded copy, keep the real bytes
    char buf[64] = {};
    const size_t left = n_ - (block + full) * 64;
    std::memcpy(buf, data_ + (block + full) * 64, left);
    classify(buf, 1, d_.delimiter, d_.quote, d_.escape, escape_on, delim_ + full,
              newline_ + full, quote_ + full);
    const uint64_t keep = (uint64_t{1} << left) - 1;
    delim_[full] &= keep;
    newline_[full] &= keep;
    quote_[full] &= keep;
  }
}

size_t Scanner::FindQuote(size_t k, size_t lim, int64_t* newlines) {
  size_t i = k >> 6;
  uint64_t from = BitsFrom(k);
  for (;; ++i, from = ~uint64_t{0}) {
    if (i * 64 >= lim) return lim;
    if (i - window_ >= kWindowBlocks) Fill(i);  // unsigned: also when i < window_
    const size_t w = i - window_;
    const uint64_t q = quote_[w] & from;
    if (q != 0) {
      const size_t at = i * 64 + LowBit(q);
      if (at >= lim) return lim;
      *newlines += __builtin_popcountll(newline_[w] & from & ((q & (0 - q)) - 1));
      return at;
    }
    *newlines += __builtin_popcountll(newline_[w] & from);
  }
}

size_t Scanner::FindDelimiterOrNewline(size_t k, size_t lim) {
  size_t i = k >> 6;
  uint64_t from = BitsFrom(k);
  for (;; ++i, from = ~uint64_t{0}) {
    if (i * 64 >= lim) return lim;
    if (i - window_ >= kWindowBlocks) Fill(i);
    const size_t w = i - window_;
    const uint64_t m = (delim_[w] | newline_[w]) & from;
    if (m != 0) return std::min(lim, i * 64 + LowBit(m));
  }
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

void Scanner::GrowFields() { fields_.resize(fields_.empty() ? 32 : fields_.size() * 2); }

void Scanner::ResolveScratch() {
  for (const ScratchText& t : scratch_fields_) {
    fields_[t.field].text = std::string_view(scratch_.data() + t.begin, t.size);
  }
}

const FieldRef* Scanner::PadFields(size_t count) {
  if (fields_.size() < count) fields_.resize(count);
  for (size_t j = num_fields_; j < count; ++j) fields_[j] = FieldRef{};
  return fields_.data();
}

RecordStatus Scanner::Next(size_t start, Record* r) {
  const char* const d = data_;
  const size_t n = n_;
  const char delim = d_.delimiter;
  const char quote = d_.quote;
  const size_t max = d_.max_row_bytes;
  const size_t lim = n - start >= max + 2 ? start + max + 2 : n;
  // `lim` is the real end of the input, so a record may end there without terminator.
  const bool at_end = at_eof_ && lim == n && n - start < max + 2;
  r->start = start;
  r->newlines = 0;
  r->open_quote_newlines = 0;
  r->quoted_fields = 0;
  r->junk_fields = 0;
  scratch_.clear();
  scratch_fields_.clear();

  // Fields go through locals so that the compiler keeps them in registers.
  FieldRef* f = fields_.data();
  size_t cap = fields_.size();
  size_t nf = 0;
  auto push = [&](uint64_t begin, size_t size, bool quoted, bool in_scratch) SLUICE_LAMBDA_INLINE {
    if (__builtin_expect(nf == cap, 0)) {
      GrowFields();
      f = fields_.data();
      cap = fields_.size();
    }
    if (__builtin_expect(in_scratch, 0)) {
      scratch_fields_.push_back(ScratchText{nf, begin, size});
      f[nf++] = FieldRef{std::string_view(), FieldKind::kQuotedText};
    } else {
      f[nf++] = FieldRef{std::string_view(d + begin, size),
                         quoted ? FieldKind::kQuotedText : FieldKind::kText};
    }
  };
  auto done = [&](size_t end, size_t next, bool newline) SLUICE_LAMBDA_INLINE {
    r->end = end;
    r->next = next;
    r->newlines += newline ? 1 : 0;
    num_fields_ = nf;
    if (!scratch_fields_.empty()) ResolveScratch();
    return end - start > max ? RecordStatus::kTooLong : RecordStatus::kComplete;
  };
  auto ran_out = [&]() SLUICE_LAMBDA_INLINE {
    num_fields_ = nf;
    if (!scratch_fields_.empty()) ResolveScratch();
    return RanOut(start, lim, r);
  };

  size_t pos = start;   // start of the current field
  size_t from = start;  // where the search for the next newline/quote/escape resumes
  for (;;) {
    // Split fields at the delimiters up to the first newline, quote or escape byte.
    size_t e;
    {
      size_t i = from >> 6;
      uint64_t from_bits = BitsFrom(from);
      for (;;) {
        const size_t at = i * 64;
        if (at >= lim) {
          e = lim;
          break;
        }
        if (i - window_ >= kWindowBlocks) Fill(i);  // unsigned: also when i < window_
        const size_t w = i - window_;
        // Bits past `lim` need no masking: past the end of the data there are none, and a
        // record that reaches past a max_row_bytes limit is too long whatever they say.
        const uint64_t stop = (newline_[w] | quote_[w]) & from_bits;
        uint64_t dm = delim_[w] & from_bits;
        if (stop != 0) dm &= (stop & (0 - stop)) - 1;  // the delimiters before the stop
        while (dm != 0) {
          const size_t x = at + LowBit(dm);
          push(pos, x - pos, false, false);
          pos = x + 1;
          dm &= dm - 1;
        }
        if (stop != 0) {
          e = at + LowBit(stop);
          break;
        }
        ++i;
        from_bits = ~uint64_t{0};
      }
    }
    if (__builtin_expect(e >= lim, 0)) {
      if (!at_end) return ran_out();
      push(pos, n - pos, false, false);
      return done(n, n, false);
    }
    const char c = d[e];
    if (c == '\n') {
      const size_t fe = (e > pos && d[e - 1] == '\r') ? e - 1 : e;
      push(pos, fe - pos, false, false);
      return done(fe, e + 1, true);
    }
    if (c != quote || e != pos) {
      from = e + 1;  // a quote inside an unquoted field, or an escape outside quotes: data
      continue;
    }

    // A quoted field: find its closing quote.
    const int64_t newlines_before = r->newlines;
    bool unescape = false;
    size_t k = pos + 1;
    size_t close;
    for (;;) {
      k = FindQuote(k, lim, &r->newlines);
      if (k >= lim) {
        r->open_quote_newlines = newlines_before;
        return ran_out();
      }
      if (d[k] == quote) {
        if (k + 1 < lim) {
          if (d[k + 1] == quote) {
            unescape = true;
            k += 2;
            continue;
          }
        } else if (!at_end) {
          return ran_out();  // the next byte decides whether this quote is doubled
        }
        close = k;
        break;
      }
      // The escape byte: the next byte is literal.
      if (k + 1 >= lim) {
        r->open_quote_newlines = newlines_before;
        return ran_out();
      }
      if (d[k + 1] == '\n') ++r->newlines;
      unescape = true;
      k += 2;
    }
    uint64_t text_begin = pos + 1;
    size_t text_size = close - pos - 1;
    bool in_scratch = false;
    if (unescape) {
      const size_t at = scratch_.size();
      const char escape = d_.escape;
      for (size_t i = text_begin; i < close; ++i) {
        char ch = d[i];
        if (ch == quote || (escape != '\0' && ch == escape)) ch = d[++i];  // doubled or escaped
        scratch_.push_back(ch);
      }
      text_begin = at;
      text_size = scratch_.size() - at;
      in_scratch = true;
    }
    const size_t after = close + 1;
    if (after >= lim) {  // the closing quote is the last byte of the input
      push(text_begin, text_size, true, in_scratch);
      ++r->quoted_fields;
      return done(after, after, false);
    }
    const char a = d[after];
    if (a == delim) {
      push(text_begin, text_size, true, in_scratch);
      ++r->quoted_fields;
      pos = from = after + 1;
      continue;
    }
    if (a == '\n') {
      push(text_begin, text_size, true, in_scratch);
      ++r->quoted_fields;
      return done(after, after + 1, true);
    }
    if (a == '\r') {
      if (after + 1 < lim) {
        if (d[after + 1] == '\n') {
          push(text_begin, text_size, true, in_scratch);
          ++r->quoted_fields;
          return done(after, after + 2, true);
        }
      } else if (!at_end) {
        return ran_out();  // may be the start of \r\n
      }
    }
    // Text after the closing quote: kept as part of the field, like most readers do.
    const size_t je = FindDelimiterOrNewline(after, lim);
    if (je >= lim && !at_end) return ran_out();
    size_t text_end = je >= lim ? n : je;
    if (je < lim && d[je] == '\n' && je > after && d[je - 1] == '\r') --text_end;
    if (!in_scratch) {
      const size_t at = scratch_.size();
      scratch_.append(d + text_begin, text_size);
      text_begin = at;
    }
    scratch_.append(d + after, text_end - after);
    push(text_begin, scratch_.size() - text_begin, true, true);
    ++r->junk_fields;
    if (je >= lim) return done(n, n, false);
    if (d[je] == delim) {
      pos = from = je + 1;
      continue;
    }
    return done(text_end, je + 1, true);
  }
}

}  // namespace sluice::csv
