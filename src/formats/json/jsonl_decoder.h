#pragma once
// JSON lines decoding (one JSON object per line) with simdjson.

#include "formats/format.h"

namespace sluice {

// The "jsonl" format: extensions .jsonl .ndjson .json.
FormatInfo JsonlFormat();

}  // namespace sluice
