#pragma once
// Dialect sniffing: settles the delimiter, quote and header that the options left on "auto" by
// parsing the first records of a file with each candidate dialect and keeping the one whose field
// counts agree best. Deterministic: the same bytes always give the same dialect.

#include <string_view>

#include "formats/csv/internal/csv_dialect.h"

namespace sluice::csv {

// Returns `requested` with every "auto" setting replaced by a choice made from `head` (the first
// bytes of the file, possibly cut in the middle of a record).
Dialect SniffDialect(std::string_view head, const Dialect& requested);

}  // namespace sluice::csv
