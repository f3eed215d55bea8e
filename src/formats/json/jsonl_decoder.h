#pragma once
// JSON lines decoding (one JSON object per line) with simdjson. See formats/format.h for the
// Decoder contract and formats/json/README.md for how lines become rows.
//
// Each line holds one object; its keys become slots through RowConsumer::Slot and its values
// become fields: strings kQuotedText (unescaped), numbers kNumber (text as written), true/false
// kBool, null kNull, nested objects and arrays kNested (their raw JSON text). Blank lines are
// skipped. A line that is not a valid JSON object, is not valid UTF-8, or is longer than
// `max_row_bytes` goes to RowConsumer::OnBadRow with a reason; decoding goes on after it.

#include "formats/format.h"

namespace sluice {

// The "jsonl" format: extensions .jsonl .ndjson .json; option max_row_bytes.
FormatInfo JsonlFormat();

}  // namespace sluice
