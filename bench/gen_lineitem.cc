// Writes a TPC-H lineitem-like table as CSV (with a header) and, optionally, the same rows as
// JSON lines. Deterministic for a given seed. Built and run by bench/run.sh; not part of the
// library (its name does not end in _bench.cc, so CMake leaves it alone).
//
//   gen_lineitem ROWS OUT.csv [OUT.jsonl] [SEED]
//
// Columns follow the TPC-H specification's lineitem (orderkey .. comment): four integers, four
// decimals with two digits, two one-character flags, three ISO dates and three strings. About
// one comment in ten holds a comma, so its CSV field is quoted, and about one in a hundred holds
// a double quote, which is escaped (doubled in CSV, backslashed in JSON).

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

// splitmix64: small, fast and good enough for synthetic data.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }

 private:
  uint64_t s_;
};

// Days since 1970-01-01 to a civil date (proleptic Gregorian), written as YYYY-MM-DD.
void FormatDate(int64_t days, char* out) {
  days += 719468;
  const int64_t era = days / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  std::snprintf(out, 11, "%04d-%02d-%02d", static_cast<int>(y), static_cast<int>(m),
                static_cast<int>(d));
}

constexpr int64_t kStartDay = 8035;   // 1992-01-01
constexpr int64_t kEndOrder = 10440;  // 1998-08-02, the last order date
constexpr int64_t kCurrentDay = 9298; // 1995-06-17, TPC-H's CURRENTDATE

const char* const kInstruct[] = {"DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"};
const char* const kMode[] = {"REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"};
const char* const kWords[] = {
    "furiously", "carefully", "quickly",  "slyly",     "blithely", "final",    "regular",
    "pending",   "ironic",    "express",  "bold",      "special",  "even",     "unusual",
    "deposits",  "requests",  "accounts", "packages",  "theodolites", "instructions",
    "foxes",     "pinto beans", "asymptotes", "dependencies", "platelets", "ideas",
    "above",     "among",     "across",   "along",     "the",      "sleep",    "haggle",
    "nag",       "wake",      "cajole",   "integrate", "detect",   "boost",    "use"};
constexpr int kNumWords = sizeof(kWords) / sizeof(kWords[0]);

// A TPC-H-like comment of 10 to 43 characters; may hold a comma or a double quote.
std::string Comment(Rng& rng) {
  const size_t target = static_cast<size_t>(rng.Range(10, 43));
  std::string s;
  while (s.size() < target) {
    if (!s.empty()) s += ' ';
    s += kWords[rng.Next() % kNumWords];
  }
  s.resize(target);
  if (s.back() == ' ') s.back() = '.';
  const uint64_t r = rng.Next() % 100;
  if (r < 10) s[s.size() / 2] = ',';
  if (r == 0) s[s.size() / 3] = '"';
  return s;
}

class Out {
 public:
  explicit Out(const char* path) : f_(std::fopen(path, "wb")) {
    if (f_ == nullptr) {
      std::perror(path);
      std::exit(1);
    }
    std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
  }
  ~Out() {
    if (std::fclose(f_) != 0) {
      std::perror("close");
      std::exit(1);
    }
  }
  Out& operator<<(std::string_view s) {
    std::fwrite(s.data(), 1, s.size(), f_);
    return *this;
  }
  Out& operator<<(char c) {
    std::fputc(c, f_);
    return *this;
  }
  Out& operator<<(int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    std::fwrite(buf, 1, static_cast<size_t>(r.ptr - buf), f_);
    return *this;
  }
  // A value in hundredths, as 123.45.
  Out& Cents(int64_t v) {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(v / 100),
                          static_cast<long long>(v % 100));
    std::fwrite(buf, 1, static_cast<size_t>(n), f_);
    return *this;
  }

 private:
  FILE* f_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ROWS OUT.csv [OUT.jsonl] [SEED]\n", argv[0]);
    return 2;
  }
  const int64_t rows = std::strtoll(argv[1], nullptr, 10);
  const bool json = argc > 3 && argv[3][0] != '\0';
  const uint64_t seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1;
  Rng rng(seed);
  Out csv(argv[2]);
  Out* jl = json ? new Out(argv[3]) : nullptr;
  csv << "orderkey,partkey,suppkey,linenumber,quantity,extendedprice,discount,tax,returnflag,"
         "linestatus,shipdate,commitdate,receiptdate,shipinstruct,shipmode,comment\n";

  int64_t orderkey = 0;
  int64_t lines_left = 0, linenumber = 0, orderdate = 0;
  char ship[11], commit[11], receipt[11];
  for (int64_t i = 0; i < rows; ++i) {
    if (lines_left == 0) {
      orderkey += rng.Range(1, 4);
      lines_left = rng.Range(1, 7);
      linenumber = 0;
      orderdate = rng.Range(kStartDay, kEndOrder);
    }
    --lines_left;
    ++linenumber;
    const int64_t partkey = rng.Range(1, 200000);
    const int64_t suppkey = rng.Range(1, 10000);
    const int64_t quantity = rng.Range(1, 50);
    const int64_t retail_cents = 90000 + (partkey / 10) % 20001 + 100 * (partkey % 1000);
    const int64_t price_cents = quantity * retail_cents;
    const int64_t discount = rng.Range(0, 10);
    const int64_t tax = rng.Range(0, 8);
    const int64_t shipday = orderdate + rng.Range(1, 121);
    const int64_t commitday = orderdate + rng.Range(30, 90);
    const int64_t receiptday = shipday + rng.Range(1, 30);
    const char returnflag = receiptday <= kCurrentDay ? (rng.Next() % 2 ? 'R' : 'A') : 'N';
    const char linestatus = shipday > kCurrentDay ? 'O' : 'F';
    FormatDate(shipday, ship);
    FormatDate(commitday, commit);
    FormatDate(receiptday, receipt);
    const char* instruct = kInstruct[rng.Next() % 4];
    const char* mode = kMode[rng.Next() % 7];
    const std::string comment = Comment(rng);

    csv << orderkey << ',' << partkey << ',' << suppkey << ',' << linenumber << ',';
    csv.Cents(quantity * 100) << ',';
    csv.Cents(price_cents) << ',';
    csv.Cents(discount) << ',';
    csv.Cents(tax) << ',';
    csv << returnflag << ',' << linestatus << ',' << std::string_view(ship) << ','
        << std::string_view(commit) << ',' << std::string_view(receipt) << ','
        << std::string_view(instruct) << ',' << std::string_view(mode) << ',';
    if (comment.find_first_of(",\"") != std::string::npos) {
      csv << '"';
      for (char c : comment) {
        if (c == '"') csv << '"';
        csv << c;
      }
      csv << '"';
    } else {
      csv << std::string_view(comment);
    }
    csv << '\n';

    if (jl != nullptr) {
      Out& j = *jl;
      j << "{\"orderkey\":" << orderkey << ",\"partkey\":" << partkey << ",\"suppkey\":" << suppkey
        << ",\"linenumber\":" << linenumber << ",\"quantity\":";
      j.Cents(quantity * 100) << ",\"extendedprice\":";
      j.Cents(price_cents) << ",\"discount\":";
      j.Cents(discount) << ",\"tax\":";
      j.Cents(tax) << ",\"returnflag\":\"" << returnflag << "\",\"linestatus\":\"" << linestatus
                   << "\",\"shipdate\":\"" << std::string_view(ship) << "\",\"commitdate\":\""
                   << std::string_view(commit) << "\",\"receiptdate\":\""
                   << std::string_view(receipt) << "\",\"shipinstruct\":\""
                   << std::string_view(instruct) << "\",\"shipmode\":\"" << std::string_view(mode)
                   << "\",\"comment\":\"";
      for (char c : comment) {
        if (c == '"') j << '\\';
        j << c;
      }
      j << "\"}\n";
    }
  }
  delete jl;
  return 0;
}
