#include "connectors/file_sinks/file_sinks.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/record_batch.h"
#include "state/state_store.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void AppendToFile(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << text;
}

// Rows (id, name) of one stream.
RecordBatchPtr People(const std::string& stream, std::vector<std::pair<int64_t, std::string>> rows) {
  RecordBatchBuilder b(std::make_shared<Schema>(
      std::vector<Field>{{"id", DataType::Int64()}, {"name", DataType::String()}}));
  for (const auto& [id, name] : rows) {
    b.column(0).AppendInt64(id);
    b.column(1).AppendBytes(name);
    b.CommitRow(id);
  }
  return b.Finish(stream, "in.csv");
}

RecordBatchPtr WithColumns(const std::string& stream, std::vector<std::string> names,
                           std::vector<std::string> values) {
  std::vector<Field> fields;
  for (const auto& n : names) fields.push_back({n, DataType::String()});
  RecordBatchBuilder b(std::make_shared<Schema>(fields));
  for (size_t c = 0; c < values.size(); ++c) b.column(c).AppendBytes(values[c]);
  b.CommitRow(1);
  return b.Finish(stream, "in.csv");
}

std::string Get(const StateMap& m, const std::string& stream, const std::string& key) {
  auto it = m.find({stream, key});
  return it == m.end() ? "(absent)" : it->second;
}

CommitState At(const std::string& stream, int64_t offset, int64_t rows) {
  CommitState s;
  s.positions.push_back({stream, "file:/data/in.csv", "{\"offset\":" + std::to_string(offset) + "}"});
  s.counters.rows_in = rows;
  s.counters.rows_out = rows;
  return s;
}

class FileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sluice-fsink-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto st = StateStore::Open((dir_ / "state.db").string());
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    state_ = std::move(st).value();
    ctx_.pipeline = "orders";
    ctx_.base_dir = dir_.string();
    ctx_.state_dir = dir_.string();
    ctx_.state = state_.get();
    RegisterFileSinkConnectors(registry_);
  }
  void TearDown() override {
    state_.reset();
    fs::remove_all(dir_);
  }

  // A sink made as the runtime makes it: options validated against the schema, then make_sink.
  Result<std::unique_ptr<Sink>> Make(const std::string& type,
                                     std::vector<std::pair<std::string, std::string>> options) {
    ConfigNode block;
    block.SetLocation("sink", 1);
    block.AddEntry("type", ConfigNode::Scalar(type, "sink.type"));
    for (auto& [k, v] : options) block.AddEntry(k, ConfigNode::Scalar(v, "sink." + k));
    const ConnectorInfo* info = registry_.Find("sink", type);
    if (!info) return Status::NotFound(type);
    RETURN_IF_ERROR(ValidateOptions(block, info->options));
    return info->make_sink(ctx_, block);
  }
  std::unique_ptr<Sink> Open(const std::string& type,
                             std::vector<std::pair<std::string, std::string>> options) {
    auto sink = Make(type, std::move(options));
    EXPECT_TRUE(sink.ok()) << sink.status().ToString();
    if (!sink.ok()) return nullptr;
    Status st = (*sink)->Open();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return std::move(sink).value();
  }

  fs::path dir_;
  std::unique_ptr<StateStore> state_;
  ConnectorContext ctx_;
  ConnectorRegistry registry_;
};

constexpr const char* kGroup1 = "{\"id\":1,\"name\":\"ann\"}\n{\"id\":2,\"name\":\"bob\"}\n";
constexpr const char* kGroup2 = "{\"id\":3,\"name\":\"cy\"}\n";

TEST_F(FileSinkTest, RegistersFourSinksWithDocumentedOptions) {
  for (const char* type : {"jsonl", "csv", "stdout", "discard"}) {
    const ConnectorInfo* info = registry_.Find("sink", type);
    ASSERT_NE(info, nullptr) << type;
    EXPECT_FALSE(info->summary.empty());
    EXPECT_FALSE(info->delivery.empty());
    EXPECT_TRUE(info->make_sink);
    for (const auto& o : info->options) EXPECT_FALSE(o.doc.empty()) << type << "." << o.name;
  }
  EXPECT_EQ(registry_.Find("sink", "jsonl")->delivery, "exactly-once");
  EXPECT_EQ(registry_.Find("sink", "stdout")->delivery, "at-least-once");
  EXPECT_NE(registry_.Find("sink", "stdout")->summary.find("at-least-once"), std::string::npos);
}

TEST_F(FileSinkTest, CommittedGroupSurvivesAndLoadStateReturnsIt) {
  {
    auto sink = Open("jsonl", {{"path", "out/orders.jsonl"}});
    ASSERT_TRUE(sink);
    EXPECT_FALSE(sink->transactional());
    ASSERT_TRUE(sink->Write(*People("orders", {{1, "ann"}, {2, "bob"}})).ok());
    ASSERT_TRUE(sink->Commit(At("orders", 120, 2)).ok());
  }  // destroyed without Close, as in a crash
  EXPECT_EQ(ReadFile(dir_ / "out/orders.jsonl"), kGroup1);

  auto sink = Open("jsonl", {{"path", "out/orders.jsonl"}});
  ASSERT_TRUE(sink);
  EXPECT_EQ(ReadFile(dir_ / "out/orders.jsonl"), kGroup1);
  auto state = sink->LoadState();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(Get(*state, "orders", "file:/data/in.csv"), "{\"offset\":120}");
  std::string abs = (dir_ / "out/orders.jsonl").lexically_normal().string();
  EXPECT_EQ(Get(*state, "", "output_length:" + abs), std::to_string(std::string(kGroup1).size()));
  EXPECT_NE(Get(*state, "", "counters").find("\"rows_out\":2"), std::string::npos);
}

TEST_F(FileSinkTest, UncommittedGroupIsTruncatedAwayWhenANewSinkOpens) {
  {
    auto sink = Open("jsonl", {{"path", "orders.jsonl"}});
    ASSERT_TRUE(sink->Write(*People("orders", {{1, "ann"}, {2, "bob"}})).ok());
    ASSERT_TRUE(sink->Commit(At("orders", 120, 2)).ok());
    // A big second group: more than the write buffer, so part of it reaches the file.
    std::vector<std::pair<int64_t, std::string>> many;
    for (int64_t i = 0; i < 30000; ++i) many.push_back({i, std::string(60, 'x')});
    ASSERT_TRUE(sink->Write(*People("orders", many)).ok());
  }  // crash: never committed
  ASSERT_GT(fs::file_size(dir_ / "orders.jsonl"), std::string(kGroup1).size());
  AppendToFile(dir_ / "orders.jsonl", "{\"id\":3,\"na");  // and a torn last line

  // The rerun replays from the committed position: the file holds every row exactly once.
  auto sink = Open("jsonl", {{"path", "orders.jsonl"}});
  EXPECT_EQ(ReadFile(dir_ / "orders.jsonl"), kGroup1);
  ASSERT_TRUE(sink->Write(*People("orders", {{3, "cy"}})).ok());
  ASSERT_TRUE(sink->Commit(At("orders", 130, 1)).ok());
  ASSERT_TRUE(sink->Close().ok());
  EXPECT_EQ(ReadFile(dir_ / "orders.jsonl"), std::string(kGroup1) + kGroup2);
}

TEST_F(FileSinkTest, CrashBeforeTheFirstCommitIsUndone) {
  AppendToFile(dir_ / "log.jsonl", "{\"kept\":true}\n");  // a file that was there before
  {
    auto sink = Open("jsonl", {{"path", "log.jsonl"}});
    // Opening alone records where the file ends, before any row is written.
    auto state = sink->LoadState();
    ASSERT_TRUE(state.ok());
    std::string abs = (dir_ / "log.jsonl").lexically_normal().string();
    EXPECT_EQ(Get(*state, "", "output_length:" + abs), "14");
    ASSERT_TRUE(sink->Write(*People("orders", {{1, "ann"}})).ok());
  }
  AppendToFile(dir_ / "log.jsonl", "{\"id\":1,\"name\":\"an");  // what a crash mid-write leaves
  auto sink = Open("jsonl", {{"path", "log.jsonl"}});
  EXPECT_EQ(ReadFile(dir_ / "log.jsonl"), "{\"kept\":true}\n");
  auto state = sink->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->count({"orders", "file:/data/in.csv"}), 0u);
}

TEST_F(FileSinkTest, AbortCutsBackToTheLastCommit) {
  auto sink = Open("jsonl", {{"path", "a.jsonl"}});
  ASSERT_TRUE(sink->Write(*People("orders", {{1, "ann"}, {2, "bob"}})).ok());
  ASSERT_TRUE(sink->Commit(At("orders", 120, 2)).ok());
  ASSERT_TRUE(sink->Write(*People("orders", {{9, "zed"}})).ok());
  ASSERT_TRUE(sink->Abort().ok());
  ASSERT_TRUE(sink->Write(*People("orders", {{3, "cy"}})).ok());
  ASSERT_TRUE(sink->Commit(At("orders", 130, 1)).ok());
  EXPECT_EQ(ReadFile(dir_ / "a.jsonl"), std::string(kGroup1) + kGroup2);
}

TEST_F(FileSinkTest, StreamPlaceholderGivesOneFilePerStream) {
  {
    auto sink = Open("jsonl", {{"path", "out/{stream}.jsonl"}});
    ASSERT_TRUE(sink->Write(*People("public.orders", {{1, "ann"}, {2, "bob"}})).ok());
    ASSERT_TRUE(sink->Write(*People("public.customers", {{3, "cy"}})).ok());
    ASSERT_TRUE(sink->Write(*People("a/b", {{3, "cy"}})).ok());
    ASSERT_TRUE(sink->Commit(At("public.orders", 1, 4)).ok());
    ASSERT_TRUE(sink->Write(*People("public.customers", {{4, "dee"}})).ok());
  }  // crash with customers' second group uncommitted, half of it on disk
  AppendToFile(dir_ / "out/public.customers.jsonl", "{\"id\":4,\"name\":\"dee\"}\n{\"id\":5");
  EXPECT_EQ(ReadFile(dir_ / "out/public.orders.jsonl"), kGroup1);
  EXPECT_EQ(ReadFile(dir_ / "out/a_b.jsonl"), kGroup2);
  // Opening cuts back every file of the sink, even one no batch has reached yet.
  auto sink = Open("jsonl", {{"path", "out/{stream}.jsonl"}});
  EXPECT_EQ(ReadFile(dir_ / "out/public.customers.jsonl"), kGroup2);
  EXPECT_FALSE(fs::exists(dir_ / "out/{stream}.jsonl"));
}

TEST_F(FileSinkTest, CsvHeaderIsWrittenOnceAcrossRuns) {
  {
    auto sink = Open("csv", {{"path", "people.csv"}});
    ASSERT_TRUE(sink->Write(*People("orders", {{1, "ann"}, {2, "Smith, Bob"}})).ok());
    ASSERT_TRUE(sink->Commit(At("orders", 120, 2)).ok());
    ASSERT_TRUE(sink->Close().ok());
  }
  {
    auto sink = Open("csv", {{"path", "people.csv"}});
    // Columns in another order still land under their own header.
    ASSERT_TRUE(sink->Write(*WithColumns("orders", {"name", "id"}, {"cy", "3"})).ok());
    ASSERT_TRUE(sink->Commit(At("orders", 130, 1)).ok());
    // A batch without a column leaves it empty (null).
    ASSERT_TRUE(sink->Write(*WithColumns("orders", {"id"}, {"4"})).ok());
    ASSERT_TRUE(sink->Commit(At("orders", 140, 1)).ok());
    ASSERT_TRUE(sink->Close().ok());
  }
  EXPECT_EQ(ReadFile(dir_ / "people.csv"), "id,name\n1,ann\n2,\"Smith, Bob\"\n3,cy\n4,\n");
}

TEST_F(FileSinkTest, CsvHeaderOfAnAbortedFirstGroupIsWrittenAgain) {
  auto sink = Open("csv", {{"path", "p.csv"}, {"delimiter", "tab"}});
  ASSERT_TRUE(sink->Write(*People("orders", {{1, "ann"}})).ok());
  ASSERT_TRUE(sink->Abort().ok());
  EXPECT_EQ(ReadFile(dir_ / "p.csv"), "");
  ASSERT_TRUE(sink->Write(*People("orders", {{1, "ann"}})).ok());
  ASSERT_TRUE(sink->Commit(At("orders", 120, 1)).ok());
  EXPECT_EQ(ReadFile(dir_ / "p.csv"), "id\tname\n1\tann\n");
}

TEST_F(FileSinkTest, CsvNewColumnIsAClearErrorAndTheFileStaysIntact) {
  auto sink = Open("csv", {{"path", "people.csv"}});
  ASSERT_TRUE(sink->Write(*People("orders", {{1, "ann"}})).ok());
  ASSERT_TRUE(sink->Commit(At("orders", 120, 1)).ok());
  Status st = sink->Write(*WithColumns("orders", {"id", "name", "email"}, {"2", "bob", "b@x.org"}));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kPermanent);
  EXPECT_NE(st.message().find("column 'email'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find((dir_ / "people.csv").string()), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("(id, name)"), std::string::npos) << st.message();
  ASSERT_TRUE(sink->Abort().ok());
  EXPECT_EQ(ReadFile(dir_ / "people.csv"), "id,name\n1,ann\n");
}

TEST_F(FileSinkTest, CsvWithoutHeaderKeepsItsColumnOrderAcrossRuns) {
  {
    auto sink = Open("csv", {{"path", "p.csv"}, {"header", "false"}, {"delimiter", ";"}});
    ASSERT_TRUE(sink->Write(*People("orders", {{1, "a;b"}})).ok());
    ASSERT_TRUE(sink->Commit(At("orders", 1, 1)).ok());
  }
  auto sink = Open("csv", {{"path", "p.csv"}, {"header", "false"}, {"delimiter", ";"}});
  ASSERT_TRUE(sink->Write(*WithColumns("orders", {"name", "id"}, {"", "2"})).ok());
  ASSERT_TRUE(sink->Commit(At("orders", 2, 1)).ok());
  EXPECT_EQ(ReadFile(dir_ / "p.csv"), "1;\"a;b\"\n2;\"\"\n");
  EXPECT_FALSE(sink->Write(*WithColumns("orders", {"zip"}, {"1"})).ok());
}

TEST_F(FileSinkTest, FileShorterThanItsCommittedLengthIsReported) {
  {
    auto sink = Open("jsonl", {{"path", "o.jsonl"}});
    ASSERT_TRUE(sink->Write(*People("orders", {{1, "ann"}})).ok());
    ASSERT_TRUE(sink->Commit(At("orders", 1, 1)).ok());
  }
  fs::remove(dir_ / "o.jsonl");
  auto sink = Make("jsonl", {{"path", "o.jsonl"}});
  ASSERT_TRUE(sink.ok());
  Status st = (*sink)->Open();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("o.jsonl is missing"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("state reset"), std::string::npos) << st.message();
}

TEST_F(FileSinkTest, ResetForgetsPositionsAndAFullResetAlsoTheLengths) {
  auto sink = Open("jsonl", {{"path", "o.jsonl"}});
  ASSERT_TRUE(sink->Write(*People("orders", {{1, "ann"}})).ok());
  ASSERT_TRUE(sink->Commit(At("orders", 1, 1)).ok());
  ASSERT_TRUE(sink->ResetState("orders").ok());
  auto state = sink->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->count({"orders", "file:/data/in.csv"}), 0u);
  EXPECT_EQ(state->size(), 2u);  // the output length and the counters remain
  ASSERT_TRUE(sink->ResetState("").ok());
  state = sink->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->empty());
}

TEST_F(FileSinkTest, OptionErrorsNameTheirPath) {
  auto bad = Make("csv", {{"path", "p.csv"}, {"delimiter", "||"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("sink.delimiter"), std::string::npos) << bad.status().message();
  auto missing = Make("jsonl", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("sink.path"), std::string::npos) << missing.status().message();
  auto unknown = Make("jsonl", {{"path", "x"}, {"pth", "y"}});
  ASSERT_FALSE(unknown.ok());
}

TEST_F(FileSinkTest, SinkNameKeysTheState) {
  auto a = Open("jsonl", {{"path", "a.jsonl"}, {"name", "archive"}});
  ASSERT_TRUE(a->Write(*People("orders", {{1, "ann"}})).ok());
  ASSERT_TRUE(a->Commit(At("orders", 1, 1)).ok());
  auto in_archive = state_->LoadPositions("orders", "archive");
  ASSERT_TRUE(in_archive.ok());
  EXPECT_EQ(in_archive->count({"orders", "file:/data/in.csv"}), 1u);
  auto in_default = state_->LoadPositions("orders", "jsonl");
  ASSERT_TRUE(in_default.ok());
  EXPECT_TRUE(in_default->empty());
}

TEST_F(FileSinkTest, DiscardCountsRowsAndKeepsState) {
  auto sink = Open("discard", {});
  ASSERT_TRUE(sink->Write(*People("orders", {{1, "ann"}, {2, "bob"}})).ok());
  ASSERT_TRUE(sink->Write(*People("orders", {{3, "cy"}})).ok());
  ASSERT_TRUE(sink->Commit(At("orders", 30, 3)).ok());
  ASSERT_TRUE(sink->Write(*People("orders", {{4, "dee"}})).ok());
  ASSERT_TRUE(sink->Abort().ok());
  EXPECT_EQ(sink->Describe(), "discard (3 rows dropped)");
  auto state = sink->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(Get(*state, "orders", "file:/data/in.csv"), "{\"offset\":30}");
  EXPECT_NE(Get(*state, "", "counters").find("\"rows_out\":3"), std::string::npos);
}

TEST_F(FileSinkTest, StdoutPrintsAtCommitAndSavesPositionsAfter) {
  fs::path out = dir_ / "stdout.txt";
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ConfigNode block;
  block.AddEntry("type", ConfigNode::Scalar("stdout", "sink.type"));
  block.AddEntry("format", ConfigNode::Scalar("csv", "sink.format"));
  auto made = MakeStdoutSinkForFd(ctx_, block, fd);
  ASSERT_TRUE(made.ok());
  auto& sink = *made;
  ASSERT_TRUE(sink->Open().ok());
  ASSERT_TRUE(sink->Write(*People("orders", {{1, "ann"}})).ok());
  EXPECT_EQ(ReadFile(out), "");  // nothing printed before the commit
  ASSERT_TRUE(sink->Commit(At("orders", 10, 1)).ok());
  ASSERT_TRUE(sink->Write(*People("orders", {{2, "bob"}})).ok());
  ASSERT_TRUE(sink->Abort().ok());
  ASSERT_TRUE(sink->Write(*WithColumns("orders", {"id", "name", "email"}, {"2", "bob", "b@x.org"})).ok());
  ASSERT_TRUE(sink->Commit(At("orders", 20, 1)).ok());
  ::close(fd);
  EXPECT_EQ(ReadFile(out), "id,name\n1,ann\nid,name,email\n2,bob,b@x.org\n");
  auto state = sink->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(Get(*state, "orders", "file:/data/in.csv"), "{\"offset\":20}");
}

TEST_F(FileSinkTest, StdoutOnAFullDiskSaysSo) {
  int fd = ::open("/dev/full", O_WRONLY);
  if (fd < 0) GTEST_SKIP() << "/dev/full is not available";
  ConfigNode block;
  block.AddEntry("type", ConfigNode::Scalar("stdout", "sink.type"));
  auto made = MakeStdoutSinkForFd(ctx_, block, fd);
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE((*made)->Open().ok());
  ASSERT_TRUE((*made)->Write(*People("orders", {{1, "ann"}})).ok());
  Status st = (*made)->Commit(At("orders", 10, 1));
  ::close(fd);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_EQ(st.message(), "disk full while writing stdout");
  auto state = state_->LoadPositions("orders", "stdout");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->count({"orders", "file:/data/in.csv"}), 0u);  // not checkpointed
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// jsonl with envelope: debezium writes one change event per row, with the source's position
// (an LSN as Debezium's number, a GTID as text), and commits and rolls back like plain rows.
TEST_F(FileSinkTest, JsonlDebeziumEnvelopeWritesOneChangeEventPerRow) {
  const ConnectorInfo* info = registry_.Find("sink", "jsonl");
  ASSERT_NE(info, nullptr);
  bool listed = false;
  for (const auto& o : info->options) listed |= o.name == "envelope";
  EXPECT_TRUE(listed);
  auto sink = Open("jsonl", {{"path", "cdc.jsonl"}, {"envelope", "debezium"}});
  ASSERT_TRUE(sink);
  EXPECT_EQ(sink->Describe(), "jsonl " + (dir_ / "cdc.jsonl").string() + " envelope=debezium");
  auto people = std::const_pointer_cast<RecordBatch>(People("public.people", {{1, "ann"}, {2, "bob"}, {3, "cy"}}));
  people->ops = {'r', 'u', 'd'};
  people->unchanged = {{}, {0, 1, 0}};
  people->source_db = "shop";
  people->source_table = "public.people";
  people->changes = {{"0/0", 0, 0, ""},
                     {"16/B374D848", 740, 1700000000123456, R"({"id":2,"name":"bo"})"},
                     {"0-1-42", 0, 1700000000200000, R"({"id":3})"}};
  ASSERT_TRUE(sink->Write(*people).ok());
  ASSERT_TRUE(sink->Commit(At("public.people", 1, 3)).ok());
  ASSERT_TRUE(sink->Write(*people).ok());
  ASSERT_TRUE(sink->Abort().ok());
  std::istringstream lines(ReadFile(dir_ / "cdc.jsonl"));
  std::vector<nlohmann::json> events;
  for (std::string line; std::getline(lines, line);) events.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(events.size(), 3u);
  for (auto& e : events) {
    EXPECT_TRUE(e["ts_ms"].is_number_integer()) << e.dump();
    e.erase("ts_ms");
  }
  EXPECT_EQ(events[0], nlohmann::json::parse(R"({"before":null,"after":{"id":1,"name":"ann"},
      "source":{"connector":"sluice","db":"shop","table":"public.people","lsn":0,"txId":null,"ts_ms":null},
      "op":"r"})"));
  // The unchanged name is left out of `after`.
  EXPECT_EQ(events[1], nlohmann::json::parse(R"({"before":{"id":2,"name":"bo"},"after":{"id":2},
      "source":{"connector":"sluice","db":"shop","table":"public.people","lsn":97500059720,"txId":740,
      "ts_ms":1700000000123},"op":"u"})"));
  EXPECT_EQ(events[2], nlohmann::json::parse(R"({"before":{"id":3},"after":null,
      "source":{"connector":"sluice","db":"shop","table":"public.people","gtid":"0-1-42","txId":null,
      "ts_ms":1700000000200},"op":"d"})"));
}

}  // namespace
}  // namespace sluice
