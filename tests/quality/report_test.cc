// The quality report page: escaping, charts with no run and with one run, failing rules with
// samples from a real quarantine, schema changes between versions, and the run history.

#include "quality/report.h"

#include <gtest/gtest.h>

#include <regex>

#include "testing/temp_dir.h"

namespace sluice {
namespace {

int Occurrences(const std::string& hay, const std::string& needle) {
  int n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// The SVG element with this id, up to its closing tag.
std::string Svg(const std::string& html, const std::string& id) {
  size_t a = html.find("<svg id=\"" + id + "\"");
  if (a == std::string::npos) return "";
  size_t b = html.find("</svg>", a);
  return html.substr(a, b - a);
}

ReportRun MakeRun(int64_t id, int64_t in, int64_t out, int64_t quarantined) {
  ReportRun r;
  r.id = id;
  r.finished_at = "2026-11-0" + std::to_string(id) + "T10:00:00Z";
  r.status = "ok";
  r.has_quality = true;
  r.quality.counters.rows_in = in;
  r.quality.counters.rows_out = out;
  r.quality.counters.rows_quarantined = quarantined;
  r.quality.rows_checked = in;
  r.quality.streams["orders"].rows_out = out;
  r.quality.streams["orders"].columns["email"] = {out, out / 4};
  r.quality.streams["orders"].schema_version = 1;
  return r;
}

TEST(HtmlEscape, EscapesEverythingThatCouldEndTextOrAnAttribute) {
  EXPECT_EQ(HtmlEscape("<script>alert('x')</script>"), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  EXPECT_EQ(HtmlEscape("a & \"b\""), "a &amp; &quot;b&quot;");
  EXPECT_EQ(HtmlEscape("plain"), "plain");
}

TEST(Report, WithNoRunEveryChartSaysSo) {
  ReportData d;
  d.pipeline = "orders";
  std::string html = RenderReport(d);
  for (const char* id : {"chart-rows", "chart-rejection", "chart-freshness", "chart-completeness"}) {
    std::string svg = Svg(html, id);
    ASSERT_FALSE(svg.empty()) << id;
    EXPECT_NE(svg.find("No runs recorded yet"), std::string::npos) << id;
  }
  EXPECT_NE(html.find("<table id=\"runs\""), std::string::npos);
  EXPECT_EQ(Occurrences(html, "class=\"run\""), 0);
  EXPECT_NE(html.find("id=\"no-rules\""), std::string::npos);
  EXPECT_EQ(html.find("nan"), std::string::npos);
}

TEST(Report, OneRunIsOnePointInTheMiddleOfEachLineChart) {
  ReportData d;
  d.pipeline = "orders";
  d.runs.push_back(MakeRun(1, 100, 90, 10));
  std::string html = RenderReport(d);
  std::string rejection = Svg(html, "chart-rejection");
  EXPECT_EQ(Occurrences(rejection, "<circle"), 1);
  // The plot spans x 52..546: its middle is 299.
  EXPECT_NE(rejection.find("cx=\"299.0\""), std::string::npos) << rejection;
  EXPECT_NE(rejection.find("#1 rejection rate: 10%"), std::string::npos) << rejection;
  EXPECT_EQ(Occurrences(Svg(html, "chart-rows"), "<rect class=\"bar\""), 2);  // loaded + quarantined
  EXPECT_NE(Svg(html, "chart-freshness").find("no freshness column"), std::string::npos);
  for (const char* bad : {"nan", "inf\"", "NaN"}) EXPECT_EQ(html.find(bad), std::string::npos) << bad;
}

TEST(Report, ManyRunsChartOldestToNewestAndTheHistoryListsNewestFirst) {
  ReportData d;
  d.pipeline = "orders";
  for (int i = 1; i <= 3; ++i) d.runs.push_back(MakeRun(i, 100 * i, 100 * i - i, i));
  d.runs[2].status = "failed";
  d.runs[2].error = "quality gate: too many";
  std::string html = RenderReport(d);
  std::smatch m;
  std::string rest = html.substr(html.find("<table id=\"runs\""));
  std::vector<std::string> ids;
  std::regex run_row("data-run-id=\"(\\d+)\"");
  for (std::sregex_iterator it(rest.begin(), rest.end(), run_row), end; it != end; ++it) ids.push_back((*it)[1]);
  EXPECT_EQ(ids, (std::vector<std::string>{"3", "2", "1"}));
  EXPECT_NE(html.find("data-status=\"failed\""), std::string::npos);
  EXPECT_NE(html.find("quality gate: too many"), std::string::npos);
  EXPECT_EQ(Occurrences(Svg(html, "chart-completeness"), "<circle"), 3);
  EXPECT_NE(html.find("id=\"summary\" data-status=\"failed\""), std::string::npos);
}

TEST(Report, DataNeverBecomesMarkup) {
  const std::string evil = "<script>document.title='pwned'</script>";
  ReportData d;
  d.pipeline = evil;
  d.sink = evil;
  ReportRun r = MakeRun(1, 10, 8, 2);
  r.error = evil;
  r.quality.rule_violations[evil] = 2;
  r.quality.column_violations[evil] = 2;
  r.quality.streams[evil].columns[evil] = {8, 1};
  d.runs.push_back(r);
  ReportRule rule;
  rule.rule = evil;
  rule.rows = 2;
  QuarantineEntry e;
  e.row.origin = evil;
  e.row.column = evil;
  e.row.reason = evil;
  e.row.raw = "{\"status\":\"" + evil + "\"}";
  rule.samples.push_back(e);
  d.rules.push_back(rule);
  SchemaVersion v;
  v.version = 1;
  v.schema = Schema({{evil, DataType::String()}});
  d.schemas.push_back({evil, v});
  std::string html = RenderReport(d);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("'pwned'"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("data-rule=\"&lt;script&gt;"), std::string::npos);
}

TEST(Report, SchemaVersionsSayWhatChanged) {
  ReportData d;
  d.pipeline = "orders";
  SchemaVersion v1, v2;
  v1.version = 1;
  v1.schema = Schema({{"id", DataType::Int64(), false}, {"amount", DataType::Int64()}, {"old", DataType::String()}});
  v2.version = 2;
  v2.schema = Schema({{"id", DataType::Int64(), false}, {"amount", DataType::Float64()}, {"note", DataType::String()}});
  d.schemas = {{"orders", v1}, {"orders", v2}};
  std::string html = RenderReport(d);
  EXPECT_NE(html.find("data-stream=\"orders\" data-version=\"2\""), std::string::npos);
  EXPECT_NE(html.find("<li class=\"added\"><code>note string</code>"), std::string::npos);
  EXPECT_NE(html.find("<li class=\"removed\"><code>old string</code>"), std::string::npos);
  EXPECT_NE(html.find("<li class=\"changed\"><code>amount: int64 → float64</code>"), std::string::npos);
  // Newest first.
  EXPECT_LT(html.find("data-version=\"2\""), html.find("data-version=\"1\""));
}

TEST(Report, LoadsRunsRulesAndSamplesFromTheStores) {
  testing::TempDir dir;
  auto state = StateStore::Open(dir.File("state.db"));
  ASSERT_TRUE(state.ok());
  auto quarantine = QuarantineStore::Open(dir.File("q"));
  ASSERT_TRUE(quarantine.ok());
  RunMetrics m1, m2;
  m1.rule_violations = {{"pattern", 3}, {"enum", 1}};
  m2.rule_violations = {{"pattern", 1}, {"unique", 2}};
  ASSERT_TRUE((*state)->RecordRun("orders", R"({"status":"ok","rows_in":9})", m1.ToJson()).ok());
  ASSERT_TRUE((*state)->RecordRun("orders", R"({"status":"failed","error":"boom"})", m2.ToJson()).ok());
  ASSERT_TRUE((*state)->RecordRun("orders", R"({"status":"ok","rows_in":5})").ok());  // recorded before quality figures
  ASSERT_TRUE((*state)->RecordRun("other", R"({"status":"ok"})", m1.ToJson()).ok());
  std::vector<RejectedRow> rows;
  for (int i = 0; i < 7; ++i) {
    RejectedRow r;
    r.stream = "orders";
    r.origin = "in.csv:" + std::to_string(i + 2);
    r.position_key = r.origin;
    r.rule = i == 0 ? "enum,pattern" : "pattern";
    r.reason = "bad " + std::to_string(i);
    rows.push_back(r);
  }
  ASSERT_TRUE((*quarantine)->Write("orders", rows).ok());

  auto d = LoadReportData("orders", **state, quarantine->get(), 10);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->runs.size(), 3u);
  EXPECT_EQ(d->runs[0].status, "ok");
  EXPECT_EQ(d->runs[1].error, "boom");
  EXPECT_FALSE(d->runs[2].has_quality);
  EXPECT_EQ(d->runs[2].quality.counters.rows_in, 5);
  ASSERT_EQ(d->rules.size(), 3u);
  EXPECT_EQ(d->rules[0].rule, "pattern");
  EXPECT_EQ(d->rules[0].rows, 4);
  EXPECT_EQ(d->rules[0].samples.size(), 5u);  // at most five
  EXPECT_EQ(d->rules[1].rule, "unique");
  EXPECT_TRUE(d->rules[1].samples.empty());
  EXPECT_EQ(d->rules[2].rule, "enum");
  ASSERT_EQ(d->rules[2].samples.size(), 1u);  // found inside "enum,pattern"
  EXPECT_EQ(d->rules[2].samples[0].row.origin, "in.csv:2");
  EXPECT_EQ(d->quarantined_now, 7);

  auto last_two = LoadReportData("orders", **state, nullptr, 2);
  ASSERT_TRUE(last_two.ok());
  ASSERT_EQ(last_two->runs.size(), 2u);
  EXPECT_EQ(last_two->runs[0].error, "boom");
  EXPECT_EQ(last_two->quarantined_now, -1);
}

}  // namespace
}  // namespace sluice
