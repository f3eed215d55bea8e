#pragma once
// Checkpoints of SQL table sources (postgres, sqlite, odbc): no server needed, so all of it is
// unit-tested.
//
// Full mode: one position per table (key "full") holding every key range of the table with the
// last primary key read in it. Incremental mode: one position per table (key "incremental")
// holding the last (cursor, key) read and, when `lookback:` is set, the (cursor, key) pairs of the
// rows loaded within the lookback window, so that re-read rows are recognised and skipped.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice::sql {

// Text forms of a row's key values (a nullopt is SQL NULL), in key-column order.
using KeyText = std::vector<std::optional<std::string>>;

// One key range of a full read: lo <= first key column < hi (either bound may be open).
struct RangeState {
  std::optional<std::string> lo, hi;
  std::optional<KeyText> last;  // the last key read; the range resumes after it
  int64_t rows = 0;             // rows read so far
  bool done = false;
};

struct FullState {
  std::vector<RangeState> ranges;
  bool Done() const;
  int DoneRanges() const;
  std::string ToJson() const;
  // nullopt when `text` is not a full-mode checkpoint.
  static std::optional<FullState> FromJson(std::string_view text);
};

// Whether a full read whose committed states are all done (`all_done`) starts over. It does:
// every table of the last full read finished, so this run is a new full read, not a no-op
// (`mode: full` is a full refresh each run). Except into a replace sink, whose positions show
// only a load it has not swapped in yet: there the read is complete and only the swap is missing
// (a kill between the last commit and it), and a new read would land on top of the staged rows.
inline bool StartFullReadAgain(const std::string& sink_mode, bool all_done) {
  return all_done && sink_mode != "replace";
}

// Where an incremental read stands. `last` is the cursor then the key columns of the last row
// read. Ranks order cursor values (a timestamp's microseconds, a number's value) so that the
// window can drop entries that fell out of the lookback.
class IncrementalState {
 public:
  std::optional<KeyText> last;

  // True when `row` (cursor, then key) was loaded within the window.
  bool Seen(const KeyText& row) const;
  void Remember(const KeyText& row, long double rank);
  // Forgets the entries whose cursor rank is below `rank`.
  void ForgetBelow(long double rank);
  size_t window_size() const { return window_.size(); }

  std::string ToJson() const;
  // `rank` turns a cursor's text into its rank. nullopt when `text` is not such a checkpoint.
  static std::optional<IncrementalState> FromJson(
      std::string_view text, const std::function<long double(const std::string&)>& rank);

 private:
  struct Entry {
    KeyText row;
    long double rank;
  };
  std::unordered_map<std::string, Entry> window_;  // keyed by an unambiguous encoding of row
};

}  // namespace sluice::sql
