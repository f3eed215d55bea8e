#pragma once
// The settled or still-open parameters of one CSV file: what the options asked for, and what
// sniffing (csv_sniffer.h) filled in for the options left on "auto".

#include <cstddef>
#include <cstdint>
#include <string>

namespace sluice::csv {

enum class HeaderMode : uint8_t { kAuto, kYes, kNo };

struct Dialect {
  char delimiter = ',';
  char quote = '"';    // '\0': no quoting at all
  char escape = '\0';  // '\0': only a doubled quote escapes a quote inside a quoted field
  bool delimiter_auto = false;
  bool quote_auto = false;
  HeaderMode header = HeaderMode::kAuto;
  bool allow_ragged = false;
  size_t max_row_bytes = size_t{16} << 20;
};

// The delimiters and quotes that sniffing chooses among, in order of preference on a tie.
inline constexpr char kSniffDelimiters[] = {',', ';', '\t', '|'};
inline constexpr char kSniffQuotes[] = {'"', '\''};

// A character as the user would write it in YAML: "','", "'\t'", "none".
std::string DescribeChar(char c);

}  // namespace sluice::csv
