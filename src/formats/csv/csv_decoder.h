#pragma once
// CSV (RFC 4180) decoding with dialect sniffing. See formats/format.h for the Decoder contract.

#include "formats/format.h"

namespace sluice {

// The "csv" format: extensions .csv .tsv .txt; options delimiter, quote, escape, header ...
FormatInfo CsvFormat();

}  // namespace sluice
