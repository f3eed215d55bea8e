#include "formats/csv/internal/csv_dialect.h"

namespace sluice::csv {

std::string DescribeChar(char c) {
  switch (c) {
    case '\0': return "none";
    case '\t': return "'\\t'";
    case ' ': return "' '";
    default: return std::string("'") + c + "'";
  }
}

}  // namespace sluice::csv
