#include "config/pipeline_config.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "testing/temp_dir.h"

namespace sluice {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  Result<PipelineConfig> Load(const std::string& yaml) {
    return LoadPipeline(dir_.Write("orders.yaml", yaml), BuiltinConnectors());
  }
  std::string Error(const std::string& yaml) {
    auto r = Load(yaml);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
    return r.status().message();
  }
  testing::TempDir dir_;
};

TEST_F(ConfigTest, LoadsAMinimalPipelineWithDefaults) {
  auto r = Load("source: {type: file, path: data.csv}\nsink: {type: discard}\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name, "orders");
  EXPECT_EQ(r->state_path, dir_.path() + "/.sluice/state.db");
  EXPECT_EQ(r->quarantine_dir, dir_.path() + "/.sluice/quarantine");
  EXPECT_EQ(r->commit.rows, 500000);
}

TEST_F(ConfigTest, UnknownKeyNamesItsPathLineAndSuggestion) {
  std::string e = Error("source:\n  type: file\n  path: a.csv\n  delimter: ';'\nsink: {type: discard}\n");
  EXPECT_NE(e.find("source.delimter"), std::string::npos) << e;
  EXPECT_NE(e.find("line 4"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'delimiter'"), std::string::npos) << e;
}

TEST_F(ConfigTest, UnknownTopLevelKeyIsAnError) {
  std::string e = Error("source: {type: file, path: a.csv}\nsink: {type: discard}\nsinks: {}\n");
  EXPECT_NE(e.find("sinks"), std::string::npos) << e;
}

TEST_F(ConfigTest, UnknownConnectorTypeListsTheAvailableOnes) {
  std::string e = Error("source: {type: fiel, path: a.csv}\nsink: {type: discard}\n");
  EXPECT_NE(e.find("source.type"), std::string::npos) << e;
  EXPECT_NE(e.find("file"), std::string::npos) << e;
}

TEST_F(ConfigTest, WrongValueTypesAreNamed) {
  EXPECT_NE(Error("source: {type: file, path: a.csv, infer_rows: many}\nsink: {type: discard}\n").find("source.infer_rows"),
            std::string::npos);
  EXPECT_NE(Error("source: {type: file, path: a.csv, on_file_change: explode}\nsink: {type: discard}\n").find("not one of"),
            std::string::npos);
  EXPECT_NE(Error("source: {type: file, path: a.csv}\nsink: {type: discard}\nschema: {a: int65}\n").find("schema.a"),
            std::string::npos);
}

TEST_F(ConfigTest, MissingRequiredOptionAndMissingBlocks) {
  EXPECT_NE(Error("source: {type: file}\nsink: {type: discard}\n").find("source.path"), std::string::npos);
  EXPECT_NE(Error("source: {type: file, path: a.csv}\n").find("sink"), std::string::npos);
}

TEST_F(ConfigTest, YamlSyntaxErrorsGiveTheLine) {
  std::string e = Error("source: {type: file, path: a.csv\nsink: [\n");
  EXPECT_NE(e.find("line"), std::string::npos) << e;
}

TEST_F(ConfigTest, InterpolatesEnvironmentAndFilesWithoutLeakingValues) {
  setenv("SLUICE_TEST_TABLE", "orders_v2", 1);
  std::string secret = dir_.Write("secret.txt", "s3cr3t\n");
  auto r = Load("source: {type: file, path: a.csv}\nsink: {type: sqlite, path: 'w.db', table: '${SLUICE_TEST_TABLE}', name: '${file:" + secret + "}'}\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sink().Find("table")->scalar(), "orders_v2");
  EXPECT_EQ(r->sink().Find("name")->scalar(), "s3cr3t");
  unsetenv("SLUICE_TEST_MISSING");
  std::string e = Error("source: {type: file, path: '${SLUICE_TEST_MISSING}'}\nsink: {type: discard}\n");
  EXPECT_NE(e.find("SLUICE_TEST_MISSING"), std::string::npos);
  EXPECT_NE(e.find("source.path"), std::string::npos);
}

TEST_F(ConfigTest, DurationsAndSizes) {
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("2h"), 7200);
  EXPECT_EQ(*ParseByteSize("64MiB"), 64 << 20);
  EXPECT_FALSE(ParseDurationSeconds("soon").ok());
}

}  // namespace
}  // namespace sluice
