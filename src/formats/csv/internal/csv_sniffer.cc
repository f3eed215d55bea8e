#include "formats/csv/internal/csv_sniffer.h"

#include <map>
#include <tuple>
#include <vector>

#include "core/strings.h"
#include "core/values.h"
#include "formats/csv/internal/csv_scanner.h"

namespace sluice::csv {

namespace {

// Enough records to see a pattern, few enough to keep sniffing cheap on wide heads.
constexpr size_t kSniffRecords = 500;

struct Stats {
  size_t mode = 0;        // the most frequent field count (the larger one on a tie)
  int64_t consistent = 0; // records with `mode` fields
  int64_t bad = 0;        // records with text after a closing quote, or that never end
  int64_t quoted = 0;     // properly quoted fields
};

// Parses the records of `head` under `d`. The head may stop mid-record: the last, incomplete
// record is ignored unless it is the only one.
Stats Measure(std::string_view head, const Dialect& d) {
  Scanner scanner(d);
  Stats st;
  std::vector<size_t> counts;
  for (bool at_eof : {false, true}) {
    scanner.Reset(head, at_eof);
    counts.clear();
    st = Stats{};
    size_t pos = 0;
    Record r;
    while (pos < head.size() && counts.size() < kSniffRecords) {
      RecordStatus s = scanner.Next(pos, &r);
      if (s == RecordStatus::kNeedMore) break;
      if (s != RecordStatus::kComplete) {
        ++st.bad;
        break;
      }
      pos = r.next;
      if (r.end == r.start) continue;  // empty line
      counts.push_back(scanner.num_fields());
      if (r.junk_fields > 0) ++st.bad;
      st.quoted += r.quoted_fields;
    }
    if (!counts.empty() || st.bad > 0) break;
  }
  std::map<size_t, int64_t> freq;
  for (size_t c : counts) ++freq[c];
  for (const auto& [count, times] : freq) {
    if (times >= st.consistent) {  // ascending counts: a tie goes to the larger count
      st.mode = count;
      st.consistent = times;
    }
  }
  return st;
}

// A value that inference would type (number, boolean, date, time, timestamp): such a value in the
// first row means the row is data, not column names.
bool LooksTyped(std::string_view s) {
  s = Trim(s);
  if (s.empty()) return false;
  int64_t i;
  double f;
  int32_t day;
  bool zone;
  const char c = s[0];
  if (LooksLikeBoolLiteral(s) || ParseInt64(s, &i)) return true;
  if ((c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) && ParseFloat64(s, &f)) return true;
  return ParseDate(s, &day) || ParseTimestamp(s, &i, &zone) || ParseTime(s, &i);
}

// The first non-empty record is a header when all its fields are non-empty texts that do not look
// like typed values. (When later rows hold numbers or dates, that is what sets the header apart;
// when every column is text, a header is the common case, so it is assumed.)
bool SniffHeader(std::string_view head, const Dialect& d) {
  Scanner scanner(d);
  for (bool at_eof : {false, true}) {
    scanner.Reset(head, at_eof);
    size_t pos = 0;
    Record r;
    while (pos < head.size()) {
      RecordStatus s = scanner.Next(pos, &r);
      if (s != RecordStatus::kComplete) break;
      if (r.end == r.start) {
        pos = r.next;
        continue;
      }
      for (size_t j = 0; j < scanner.num_fields(); ++j) {
        std::string_view text = scanner.fields()[j].text;
        if (Trim(text).empty() || LooksTyped(text)) return false;
      }
      return true;
    }
  }
  return true;  // no record at all: an empty file; a header of no columns
}

}  // namespace

Dialect SniffDialect(std::string_view head, const Dialect& requested) {
  Dialect best = requested;
  if (requested.delimiter_auto || requested.quote_auto) {
    std::vector<char> delims, quotes;
    if (requested.delimiter_auto) {
      delims.assign(std::begin(kSniffDelimiters), std::end(kSniffDelimiters));
    } else {
      delims.push_back(requested.delimiter);
    }
    if (requested.quote_auto) {
      quotes.assign(std::begin(kSniffQuotes), std::end(kSniffQuotes));
    } else {
      quotes.push_back(requested.quote);
    }
    // Compared as a tuple: several columns, then agreeing rows (less bad ones), then properly
    // quoted fields, then more columns, then the earlier candidate.
    using Key = std::tuple<bool, int64_t, int64_t, size_t, int>;
    bool have = false;
    Key best_key{};
    int order = 0;
    for (char q : quotes) {
      for (char dl : delims) {
        --order;
        if (dl == q || (requested.escape != '\0' && dl == requested.escape)) continue;
        Dialect cand = requested;
        cand.delimiter = dl;
        cand.quote = q;
        Stats st = Measure(head, cand);
        // ' quoting is rare and apostrophes are common: it needs fields that it actually quotes.
        if (requested.quote_auto && q != kSniffQuotes[0] && st.quoted == 0) continue;
        Key key{st.mode > 1, st.consistent - st.bad, st.quoted, st.mode, order};
        if (!have || key > best_key) {
          have = true;
          best_key = key;
          best.delimiter = dl;
          best.quote = q;
        }
      }
    }
    if (!have) {  // every candidate clashed with the escape character
      if (requested.delimiter_auto) best.delimiter = requested.escape == ',' ? ';' : ',';
      if (requested.quote_auto) best.quote = best.delimiter == '"' ? '\'' : '"';
    }
  }
  best.delimiter_auto = false;
  best.quote_auto = false;
  if (best.header == HeaderMode::kAuto) {
    best.header = SniffHeader(head, best) ? HeaderMode::kYes : HeaderMode::kNo;
  }
  return best;
}

}  // namespace sluice::csv
