// Contract evaluation throughput: ContractChecker::Check over an in-memory orders table of
// RecordBatches (64K rows each), one thread. The peer is the same checks as one DuckDB query over
// the same rows (contract_peer.mjs); bench/contract.sh runs both and writes bench/RESULTS.md.
//
//   contract_bench [--rows=10000000] [--reps=3] [--warmup=1] [--breakdown=1]
//
// Prints one JSON object per timed repetition on stdout:
//   {"rep", "seconds", "cpu_seconds", "rows", "checks", "rejected"}
// then, with --breakdown, one {"check", "seconds", "cpu_seconds", "rejected"} for the whole contract and for each
// check alone (a contract holding only that check), each one pass under on_violation: warn, so
// evaluation without the quarantine split. Progress goes to stderr.
//
// Row i (0-based) of the input; the same expressions are in contract_peer.mjs. One row in 1000
// breaks exactly one check (i % 1000 = 1..11), so 1.1% of rows are quarantined:
//   id          int64          i                                  (NULL when i%1000 = 11)
//   amount      decimal(12,2)  ((i*7919) % 100000) cents          (-5.00 at 2, 0.00 at 5)
//   qty         int64          1 + (i*31) % 50                    (75 at 3, 5000 at 9)
//   status      string         new|paid|shipped|cancelled by i%4  ('lost' at 4, 'paid' at 5)
//   email       string         'u' || i || '@example.com'         (NULL at 1, '.' for '@' at 6)
//   created_at  timestamp_tz   2024-01-01 + i seconds             (2100-01-01 at 7)
//   discount    float64        ((i*17) % 11) / 100.0              (0.5 at 8, -0.01 at 10)

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config_node.h"
#include "config/pipeline_config.h"
#include "core/allocator.h"
#include "core/record_batch.h"
#include "quality/contract.h"

namespace {

using sluice::ContractChecker;
using sluice::DataType;
using sluice::RecordBatchPtr;
using sluice::RejectedRow;

// The contract: 11 checks. Kept in step with the checks of contract_peer.mjs.
constexpr const char* kContractYaml = R"yaml(
columns:
  id:         { type: int64, required: true }
  amount:     { type: "decimal(12,2)", min: 0, max: 100000 }
  qty:        { type: int64, min: 1, max: 1000 }
  discount:   { type: float64, min: 0, max: 1 }
  status:     { type: string, enum: [new, paid, shipped, cancelled] }
  email:      { type: string, required: true, pattern: '^[^@\s]+@[^@\s]+$' }
  created_at: { type: timestamp_tz, not_future: true }
rules:
  - { name: qty_range,       check: "qty BETWEEN 1 AND 50" }
  - { name: discount_range,  check: "discount >= 0 AND discount <= 0.1" }
  - { name: paid_has_amount, check: "status <> 'paid' OR amount > 0" }
)yaml";
constexpr int kChecks = 11;

// One contract per check, for the breakdown: {label, yaml}.
const std::vector<std::pair<std::string, std::string>>& SingleChecks() {
  static const std::vector<std::pair<std::string, std::string>> v = {
      {"id required", "columns: {id: {required: true}}"},
      {"amount min/max (decimal)", "columns: {amount: {min: 0, max: 100000}}"},
      {"qty min/max (int64)", "columns: {qty: {min: 1, max: 1000}}"},
      {"discount min/max (float64)", "columns: {discount: {min: 0, max: 1}}"},
      {"status enum", "columns: {status: {enum: [new, paid, shipped, cancelled]}}"},
      {"email required", "columns: {email: {required: true}}"},
      {"email pattern", "columns: {email: {pattern: '^[^@\\s]+@[^@\\s]+$'}}"},
      {"created_at not_future", "columns: {created_at: {not_future: true}}"},
      {"rule qty_range", "rules: [{name: qty_range, check: \"qty BETWEEN 1 AND 50\"}]"},
      {"rule discount_range", "rules: [{name: discount_range, check: \"discount >= 0 AND discount <= 0.1\"}]"},
      {"rule paid_has_amount", "rules: [{name: paid_has_amount, check: \"status <> 'paid' OR amount > 0\"}]"},
  };
  return v;
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "contract_bench: %s\n", msg.c_str());
  std::exit(1);
}

double Now(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<RecordBatchPtr> Generate(int64_t rows) {
  auto schema = std::make_shared<const sluice::Schema>(std::vector<sluice::Field>{
      {"id", DataType::Int64()},
      {"amount", DataType::Decimal(12, 2)},
      {"qty", DataType::Int64()},
      {"status", DataType::String()},
      {"email", DataType::String()},
      {"created_at", DataType::Timestamp(true)},
      {"discount", DataType::Float64()},
  });
  static const char* kStatus[] = {"new", "paid", "shipped", "cancelled"};
  constexpr int64_t kBase = 1704067200;  // 2024-01-01 00:00:00 UTC
  constexpr int64_t kFuture = 4102444800;  // 2100-01-01 00:00:00 UTC
  std::vector<RecordBatchPtr> batches;
  sluice::RecordBatchBuilder b(schema);
  std::string email;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t r = i % 1000;
    if (r == 11) b.column(0).AppendNull(); else b.column(0).AppendInt64(i);
    int64_t cents = (i * 7919) % 100000;
    if (r == 2) cents = -500;
    if (r == 5) cents = 0;
    b.column(1).AppendDecimal(cents);
    b.column(2).AppendInt64(r == 3 ? 75 : r == 9 ? 5000 : 1 + (i * 31) % 50);
    b.column(3).AppendBytes(r == 4 ? "lost" : r == 5 ? "paid" : kStatus[i % 4]);
    if (r == 1) {
      b.column(4).AppendNull();
    } else {
      email = "u" + std::to_string(i) + (r == 6 ? ".example.com" : "@example.com");
      b.column(4).AppendBytes(email);
    }
    b.column(5).AppendInt64((r == 7 ? kFuture : kBase + i) * 1000000);
    b.column(6).AppendFloat64(r == 8 ? 0.5 : r == 10 ? -0.01 : static_cast<double>((i * 17) % 11) / 100.0);
    b.CommitRow(i + 1);
    if (b.num_rows() == sluice::kBatchRows) batches.push_back(b.Finish("orders", "orders"));
  }
  if (b.num_rows() > 0) batches.push_back(b.Finish("orders", "orders"));
  return batches;
}

std::shared_ptr<const sluice::Contract> MakeContract(const std::string& yaml) {
  auto node = sluice::ParseYaml(yaml, "contract_bench");
  if (!node.ok()) Die(node.status().ToString());
  auto c = sluice::ContractFromNode(*node, "contract_bench");
  if (!c.ok()) Die(c.status().ToString());
  return std::make_shared<const sluice::Contract>(std::move(*c));
}

struct Pass {
  double seconds = 0, cpu_seconds = 0;
  int64_t rows_out = 0, rejected = 0;
};

// One pass of a fresh checker over every batch, as the source thread runs it.
Pass CheckAll(const std::shared_ptr<const sluice::Contract>& contract,
              const std::vector<RecordBatchPtr>& batches) {
  ContractChecker checker(contract);
  std::vector<RejectedRow> rejects;
  Pass p;
  const double t0 = Now(CLOCK_MONOTONIC), c0 = Now(CLOCK_PROCESS_CPUTIME_ID);
  for (const auto& batch : batches) {
    auto out = checker.Check(batch, &rejects);
    if (!out.ok()) Die(out.status().ToString());
    p.rows_out += (*out)->num_rows();
    p.rejected += static_cast<int64_t>(rejects.size());
    rejects.clear();  // the runtime hands them to the quarantine; kept out of the memory here
  }
  p.seconds = Now(CLOCK_MONOTONIC) - t0;
  p.cpu_seconds = Now(CLOCK_PROCESS_CPUTIME_ID) - c0;
  p.rejected += checker.warnings();  // on_violation: warn counts instead of splitting
  return p;
}

int64_t Flag(int argc, char** argv, const char* name, int64_t dflt) {
  const size_t n = std::strlen(name);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return std::atoll(argv[i] + n + 1);
  }
  return dflt;
}

}  // namespace

int main(int argc, char** argv) {
  sluice::TuneAllocator();  // as sluice does at start
  for (int i = 1; i < argc; ++i) {
    if (!std::strstr(argv[i], "=") || argv[i][0] != '-') Die(std::string("unknown argument ") + argv[i]);
  }
  const int64_t rows = Flag(argc, argv, "--rows", 10000000);
  const int64_t reps = Flag(argc, argv, "--reps", 3);
  const int64_t warmup = Flag(argc, argv, "--warmup", 1);
  const bool breakdown = Flag(argc, argv, "--breakdown", 1) != 0;

  const double g0 = Now(CLOCK_MONOTONIC);
  const std::vector<RecordBatchPtr> batches = Generate(rows);
  std::fprintf(stderr, "contract_bench: %lld rows in %zu batches generated in %.2f s\n",
               static_cast<long long>(rows), batches.size(), Now(CLOCK_MONOTONIC) - g0);

  const auto contract = MakeContract(std::string("contract: orders\n") + kContractYaml);
  for (int64_t r = 0; r < warmup + reps; ++r) {
    Pass p = CheckAll(contract, batches);
    if (p.rows_out + p.rejected != rows) Die("rows out + rejected != rows");
    if (r < warmup) continue;
    std::printf("{\"rep\": %lld, \"seconds\": %.6f, \"cpu_seconds\": %.6f, \"rows\": %lld, \"checks\": %d, "
                "\"rejected\": %lld}\n",
                static_cast<long long>(r - warmup + 1), p.seconds, p.cpu_seconds,
                static_cast<long long>(rows), kChecks, static_cast<long long>(p.rejected));
    std::fflush(stdout);
    std::fprintf(stderr, "contract_bench: rep %lld: %.3f s, %.1f M values checked/s, %lld rejected\n",
                 static_cast<long long>(r - warmup + 1), p.seconds,
                 static_cast<double>(rows) * kChecks / p.seconds / 1e6, static_cast<long long>(p.rejected));
  }
  if (breakdown) {
    // Under on_violation: warn the checker evaluates and records every violation but neither
    // builds RejectedRows nor copies the passing rows into a new batch, so these lines show the
    // cost of evaluation alone; "all checks (warn)" against the full runs shows the split's cost.
    std::vector<std::pair<std::string, std::string>> runs = {{"all checks (warn)", kContractYaml}};
    for (const auto& single : SingleChecks()) runs.push_back(single);
    for (const auto& [label, yaml] : runs) {
      Pass p = CheckAll(MakeContract("contract: bench\non_violation: warn\n" + yaml), batches);
      std::printf("{\"check\": \"%s\", \"seconds\": %.6f, \"cpu_seconds\": %.6f, \"rejected\": %lld}\n",
                  label.c_str(), p.seconds, p.cpu_seconds, static_cast<long long>(p.rejected));
      std::fflush(stdout);
    }
  }
  return 0;
}
