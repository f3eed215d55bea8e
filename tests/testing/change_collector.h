#pragma once
// A collecting Emitter for change sources (cdc, trigger) driven through the Source interface in
// tests: it keeps every envelope and acknowledges each boundary with positions (OnCommitted), as
// the runtime does after a sink commit. LatestPositions serves every collecting emitter of tests.

#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/sql/changelog.h"
#include "core/record_batch.h"

namespace sluice::testing {

// The latest value of every position in `envelopes`, as the commits would have stored them.
inline StateMap LatestPositions(const std::vector<Envelope>& envelopes) {
  StateMap m;
  for (const auto& e : envelopes) {
    for (const auto& p : e.positions) m[{p.stream, p.key}] = p.value;
  }
  return m;
}

struct ChangeRow {
  std::string stream;
  char op;
  std::string json;
  RecordBatch::ChangeSource change;
  std::string before;  // the old row as a changelog sink writes it (sql::ChangeBeforeJson), or ""

  std::vector<std::string> unchanged;  // columns marked unchanged
  bool in_boundary_envelope;
  std::string source_db, source_table;
};

class ChangeCollector : public Emitter {
 public:
  Source* source = nullptr;
  std::vector<Envelope> envelopes;

  Status Emit(Envelope env) override {
    if (env.boundary && !env.positions.empty() && source) source->OnCommitted(env.positions);
    envelopes.push_back(std::move(env));
    return Status::OK();
  }
  bool StopRequested() const override { return false; }

  std::vector<ChangeRow> Rows() const {
    std::vector<ChangeRow> out;
    for (const auto& e : envelopes) {
      if (!e.batch) continue;
      const RecordBatch& b = *e.batch;
      for (int64_t r = 0; r < b.num_rows(); ++r) {
        ChangeRow row{b.stream, b.op(r), RowJson(b, r),
                      b.changes.empty() ? RecordBatch::ChangeSource{} : b.changes[static_cast<size_t>(r)],
                      sql::ChangeBeforeJson(b, r), {}, e.boundary, b.source_db, b.source_table};
        for (size_t c = 0; c < b.schema()->size(); ++c) {
          if (b.is_unchanged(c, r)) row.unchanged.push_back(b.schema()->field(c).name);
        }
        out.push_back(std::move(row));
      }
    }
    return out;
  }
  // The ops of every row, in order ("rrcud").
  std::string Ops() const {
    std::string ops;
    for (const auto& r : Rows()) ops += r.op;
    return ops;
  }
  StateMap State() const { return LatestPositions(envelopes); }
};

}  // namespace sluice::testing
