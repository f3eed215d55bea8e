#pragma once
// PatternMatcher: a contract `pattern` (RE2 syntax, searched as RE2::PartialMatch does) checked
// over whole string columns. RE2 is the reference for what a pattern means. The common shape of a
// contract pattern, a sequence of literals and character classes with `+ * ? {m,n}` (such as
// `^[^@\s]+@[^@\s]+$` or `^[0-9]{5}$`), is compiled into a small byte-class matcher instead,
// which answers exactly as RE2 does at a fraction of its per-call cost; any other pattern (groups,
// alternation, flags, non-ASCII literals, \b ...) runs on RE2.
// Immutable once built: any number of threads may match with the same one at once.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/column.h"

namespace re2 {
class RE2;
}

namespace sluice {

class PatternMatcher {
 public:
  // Which engine runs the pattern (for tests and benchmarks).
  enum class Engine {
    kSequence,  // anchored at the start, no class repetition that needs to backtrack: one greedy scan
    kDfa,       // any sequence: a DFA over ASCII bytes plus one symbol for a non-ASCII character
    kRe2,       // everything else
  };
  // `allow_fast = false` forces RE2; `allow_sequence = false` forces the DFA over the greedy
  // scan where both apply. Both exist so tests can hold each engine against RE2.
  explicit PatternMatcher(const std::string& pattern, bool allow_fast = true, bool allow_sequence = true);
  ~PatternMatcher();
  PatternMatcher(const PatternMatcher&) = delete;
  PatternMatcher& operator=(const PatternMatcher&) = delete;

  // False when RE2 refuses the pattern (then nothing matches).
  bool ok() const;
  Engine engine() const { return engine_; }
  const std::string& pattern() const { return pattern_; }

  // True when the pattern matches somewhere in `s` (RE2::PartialMatch).
  bool Matches(std::string_view s) const;
  // For every row of a string, json or binary column that is not null and does not match,
  // sets fail[row] = 1; other entries are left alone. Returns how many values did not match.
  int64_t MarkMismatches(const Column& col, uint8_t* fail) const;

  struct Program;  // the compiled fast form (pattern.cc)

 private:
  std::string pattern_;
  Engine engine_ = Engine::kRe2;
  std::unique_ptr<re2::RE2> re2_;
  std::unique_ptr<const Program> program_;
};

}  // namespace sluice
