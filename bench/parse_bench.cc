// Parse throughput: a file's bytes → Decoder → BatchAssembler → typed RecordBatches, the same
// path the `file` source takes, without the runtime around it (no channel, no checkpoint, no
// fingerprint, no sink). The bytes are read with read() in 4 MiB chunks, checked for UTF-8 as the
// file source does, and decoded; each full batch is taken and dropped.
//
//   parse_bench --csv=FILE --jsonl=FILE [--reps=3] [--warmup=1] [google benchmark flags]
//
// Each given file is one benchmark (BM_ParseCsv, BM_ParseJsonl) run --reps times with one
// iteration each, after --warmup untimed passes. Counters: bytes_per_second, items_per_second
// (rows), rows, batches. The schema is inferred from the first 10000 rows, as `sluice run` does,
// outside the timed region.

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "config/config_node.h"
#include "config/options.h"
#include "formats/assembler.h"
#include "formats/format.h"

namespace {

using sluice::BatchAssembler;
using sluice::Decoder;
using sluice::FormatInfo;

constexpr size_t kChunkBytes = 4u << 20;
constexpr size_t kHeadBytes = 256u << 10;

struct ParseResult {
  int64_t rows = 0;
  int64_t rejected = 0;
  int64_t batches = 0;
};

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "parse_bench: %s\n", msg.c_str());
  std::exit(1);
}

// Appends up to `want` bytes of the file to `buf`; returns true when the file ended.
bool FillBuffer(int fd, std::string& buf, size_t want) {
  const size_t target = buf.size() + want;
  const size_t at = buf.size();
  buf.resize(target);
  size_t have = at;
  while (have < target) {
    ssize_t n = ::read(fd, buf.data() + have, target - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Die(std::string("read: ") + std::strerror(errno));
    if (n == 0) break;
    have += static_cast<size_t>(n);
  }
  buf.resize(have);
  return have < target;  // at end of file
}

// The 1-based line that starts at byte `offset` of `text`.
int64_t LineAfter(std::string_view text, size_t offset) {
  return 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
}

std::unique_ptr<Decoder> MakeDecoder(const FormatInfo& fmt) {
  sluice::ConfigNode empty;
  empty.SetKind(sluice::ConfigNode::Kind::kMap);
  sluice::Options opts(&empty, &fmt.options);
  auto dec = fmt.make_decoder(opts);
  if (!dec.ok()) Die("decoder: " + dec.status().message());
  return std::move(*dec);
}

// The schema `sluice run` would infer: the first 10000 rows of the file's head.
sluice::SchemaPtr InferSchema(const FormatInfo& fmt, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("cannot open " + path + ": " + std::strerror(errno));
  std::string head;
  bool eof = FillBuffer(fd, head, 16u << 20);
  ::close(fd);
  auto dec = MakeDecoder(fmt);
  if (!dec->Sniff(head).ok()) Die("sniff failed on " + path);
  sluice::SchemaInferrer inf({""}, fmt.name == "jsonl", 10000);
  auto hdr = dec->ReadHeader(head, eof, inf);
  if (!hdr.ok()) Die("header: " + hdr.status().message());
  dec->Seek(*hdr, LineAfter(head, *hdr));
  auto r = dec->Decode(std::string_view(head).substr(*hdr), eof, inf);
  if (!r.ok()) Die("infer: " + r.status().message());
  return std::make_shared<sluice::Schema>(inf.Finish());
}

ParseResult ParseFile(const FormatInfo& fmt, const std::string& path,
                      const sluice::SchemaPtr& schema) {
  ParseResult res;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("cannot open " + path + ": " + std::strerror(errno));
  auto dec = MakeDecoder(fmt);
  BatchAssembler as("bench", path, schema, sluice::AssemblerOptions{});
  std::string buf;
  size_t pos = 0;
  bool eof = FillBuffer(fd, buf, kHeadBytes);
  if (!dec->Sniff(buf).ok()) Die("sniff failed on " + path);
  size_t hdr = 0;
  for (;;) {
    auto h = dec->ReadHeader(buf, eof, as);
    if (h.ok()) {
      hdr = *h;
      break;
    }
    if (!h.status().IsNotFound() || eof) Die("header: " + h.status().message());
    eof = FillBuffer(fd, buf, kChunkBytes);
  }
  dec->Seek(hdr, LineAfter(buf, hdr));
  pos = hdr;
  size_t validated = 0;  // buf[0, validated) is known to be valid UTF-8
  bool valid = true;
  auto validate = [&] {
    if (!valid || validated >= buf.size()) return;
    // A chunk may end inside a multi-byte sequence; hold back up to 3 bytes until the next read.
    size_t end = buf.size();
    if (!eof) {
      size_t k = 0;
      while (k < 3 && end - k > validated &&
             (static_cast<unsigned char>(buf[end - 1 - k]) & 0xC0) == 0x80) {
        ++k;
      }
      if (end - k > validated && (static_cast<unsigned char>(buf[end - 1 - k]) & 0xC0) == 0xC0) {
        end -= k + 1;
      }
    }
    if (end > validated) {
      valid = simdjson::validate_utf8(buf.data() + validated, end - validated);
      validated = end;
    }
  };
  validate();
  auto take = [&] {
    if (auto b = as.TakeBatch()) {
      res.rows += b->num_rows();
      ++res.batches;
      benchmark::DoNotOptimize(b.get());
    }
    res.rejected += static_cast<int64_t>(as.TakeRejects().size());
  };
  for (;;) {
    as.SetInputValidUtf8(valid && validated == buf.size());
    auto used = dec->Decode(std::string_view(buf).substr(pos), eof, as);
    if (!used.ok()) Die("decode: " + used.status().message());
    pos += *used;
    if (as.Full()) {
      take();
      continue;
    }
    if (eof) break;
    // Keep the unconsumed tail and read the next chunk after it.
    buf.erase(0, pos);
    validated -= std::min(validated, pos);
    pos = 0;
    eof = FillBuffer(fd, buf, kChunkBytes);
    validate();
  }
  take();
  ::close(fd);
  return res;
}

void RegisterParse(const char* name, const FormatInfo* fmt, const std::string& path, int reps,
                   int warmup) {
  if (path.empty()) return;
  if (fmt == nullptr) Die(std::string("no format for ") + name);
  auto schema = InferSchema(*fmt, path);
  int64_t size = 0;
  {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) Die("cannot open " + path);
    size = ::lseek(fd, 0, SEEK_END);
    ::close(fd);
  }
  for (int i = 0; i < warmup; ++i) ParseFile(*fmt, path, schema);
  benchmark::RegisterBenchmark(name, [fmt, path, schema, size](benchmark::State& state) {
    ParseResult r;
    for (auto _ : state) r = ParseFile(*fmt, path, schema);
    state.SetBytesProcessed(size * state.iterations());
    state.SetItemsProcessed(r.rows * state.iterations());
    state.counters["rows"] = static_cast<double>(r.rows);
    state.counters["rejected"] = static_cast<double>(r.rejected);
    state.counters["batches"] = static_cast<double>(r.batches);
    state.SetLabel(schema->ToString());
  })
      ->Iterations(1)
      ->Repetitions(reps)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::string csv, jsonl;
  int reps = 3, warmup = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view key) -> const char* {
      return a.substr(0, key.size()) == key ? argv[i] + key.size() : nullptr;
    };
    if (const char* v = value("--csv=")) csv = v;
    else if (const char* v = value("--jsonl=")) jsonl = v;
    else if (const char* v = value("--reps=")) reps = std::atoi(v);
    else if (const char* v = value("--warmup=")) warmup = std::atoi(v);
    else Die("unknown argument " + std::string(a) + " (use --csv=FILE --jsonl=FILE --reps=N --warmup=N)");
  }
  if (csv.empty() && jsonl.empty()) Die("give --csv=FILE and/or --jsonl=FILE");
  RegisterParse("BM_ParseCsv", sluice::FindFormat("csv"), csv, reps, warmup);
  RegisterParse("BM_ParseJsonl", sluice::FindFormat("jsonl"), jsonl, reps, warmup);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
