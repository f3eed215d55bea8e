#include "quality/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/strings.h"

namespace sluice {

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Loading

ReportRun RunFromRecord(const RunRecord& rec) {
  ReportRun r;
  r.id = rec.id;
  r.finished_at = rec.finished_at;
  auto s = nlohmann::json::parse(rec.summary, nullptr, false);
  if (s.is_object()) {
    r.status = s.value("status", std::string());
    r.error = s.value("error", std::string());
    r.seconds = s.value("seconds", 0.0);
  }
  if (!rec.quality.empty()) {
    auto q = RunMetrics::FromJson(rec.quality);
    if (q.ok()) {
      r.quality = std::move(q).value();
      r.has_quality = true;
      return r;
    }
  }
  // A run recorded before quality figures existed: its counts still chart.
  if (s.is_object()) {
    r.quality.counters.rows_in = s.value("rows_in", int64_t{0});
    r.quality.counters.rows_out = s.value("rows_out", int64_t{0});
    r.quality.counters.rows_quarantined = s.value("rows_quarantined", int64_t{0});
    r.quality.counters.rows_skipped = s.value("rows_skipped", int64_t{0});
    r.quality.rows_checked = r.quality.counters.rows_in - r.quality.counters.rows_skipped;
  }
  return r;
}

std::vector<ReportRule> TopRules(const std::vector<ReportRun>& runs, int max_rules) {
  std::map<std::string, ReportRule> by_rule;
  for (const auto& run : runs) {
    for (const auto& [rule, n] : run.quality.rule_violations) {
      ReportRule& r = by_rule[rule];
      r.rule = rule;
      r.rows += n;
    }
  }
  if (!runs.empty()) {
    for (const auto& [rule, n] : runs.back().quality.rule_violations) by_rule[rule].rows_last_run = n;
  }
  std::vector<ReportRule> out;
  for (auto& [name, r] : by_rule) out.push_back(std::move(r));
  std::stable_sort(out.begin(), out.end(), [](const ReportRule& a, const ReportRule& b) { return a.rows > b.rows; });
  if (out.size() > static_cast<size_t>(max_rules)) out.resize(static_cast<size_t>(max_rules));
  return out;
}

}  // namespace

Result<ReportData> LoadReportData(const std::string& pipeline, StateStore& state, QuarantineStore* quarantine,
                                  int max_runs, int max_rules, int samples_per_rule) {
  ReportData d;
  d.pipeline = pipeline;
  d.generated_at = UtcNowIso(0);
  ASSIGN_OR_RETURN(std::vector<RunRecord> records, state.RunHistory(pipeline, max_runs));
  for (auto it = records.rbegin(); it != records.rend(); ++it) d.runs.push_back(RunFromRecord(*it));
  d.rules = TopRules(d.runs, max_rules);
  if (quarantine) {
    for (auto& r : d.rules) {
      ASSIGN_OR_RETURN(r.samples, quarantine->SampleOfRule(pipeline, r.rule, samples_per_rule));
    }
    ASSIGN_OR_RETURN(d.quarantined_now, quarantine->Count(pipeline));
  }
  ASSIGN_OR_RETURN(d.schemas, state.SchemaHistory(pipeline));
  return d;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Formatting

template <typename... Args>
std::string Fmt(const char* fmt, Args... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

// 1234567 -> "1,234,567": exact counts read better than "1.23M" in tables.
std::string Count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

// Axis labels: short.
std::string Compact(double v) {
  if (v >= 1e9) return Fmt("%.3gG", v / 1e9);
  if (v >= 1e6) return Fmt("%.3gM", v / 1e6);
  if (v >= 1e3) return Fmt("%.3gk", v / 1e3);
  return Fmt("%.3g", v);
}

std::string Percent(double share) {
  double p = share * 100;
  if (p == 0 || p >= 10) return Fmt("%.0f%%", p);
  if (p >= 0.1) return Fmt("%.1f%%", p);
  return Fmt("%.2f%%", p);
}

std::string Age(double s) {
  if (s < 0) return "in the future";
  if (s < 120) return Fmt("%.0f s", s);
  if (s < 7200) return Fmt("%.0f min", s / 60);
  if (s < 172800) return Fmt("%.1f h", s / 3600);
  return Fmt("%.1f d", s / 86400);
}

// "2026-11-28T01:02:03Z" -> "2026-11-28 01:02:03 UTC"
std::string When(const std::string& iso) {
  if (iso.size() < 19 || iso[10] != 'T') return iso;
  return iso.substr(0, 10) + " " + iso.substr(11, 8) + " UTC";
}

std::string RunLabel(const ReportRun& r) { return "#" + std::to_string(r.id); }

const char* StatusClass(const std::string& status) {
  if (status == "ok") return "ok";
  if (status == "partial") return "warn";
  if (status == "stopped") return "muted";
  return "bad";
}

// ---------------------------------------------------------------------------------------------
// Charts: inline SVG, one band per run, runs oldest to newest from left to right.

constexpr double kW = 560, kH = 230, kLeft = 52, kRight = 14, kTop = 14, kBottom = 34;
constexpr double kPlotW = kW - kLeft - kRight, kPlotH = kH - kTop - kBottom;
const char* const kPalette[] = {"#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2"};

struct Series {
  std::string name;
  std::string color;
  std::vector<std::optional<double>> values;  // one per run
};

struct YAxis {
  double lo = 0, hi = 1;
  std::string (*label)(double) = nullptr;
};

// The top of an axis of four gridline steps at or above `x`, each step 1, 2 or 5 times a power
// of ten (whole numbers when `whole`), so every gridline label is a round number.
double NiceTop(double x, bool whole = false) {
  if (x <= 0) return whole ? 4 : 1;
  double step = x / 4;
  double p = std::pow(10.0, std::floor(std::log10(step)));
  double nice = 10 * p;
  for (double f : {1.0, 2.0, 5.0}) {
    if (f * p >= step * (1 - 1e-9)) {
      nice = f * p;
      break;
    }
  }
  if (whole) nice = std::max(1.0, std::ceil(nice));
  return 4 * nice;
}

double BandX(size_t i, size_t n) { return kLeft + kPlotW * (static_cast<double>(i) + 0.5) / static_cast<double>(n); }
double ValueY(double v, const YAxis& y) {
  double t = y.hi > y.lo ? (v - y.lo) / (y.hi - y.lo) : 0;
  return kTop + kPlotH * (1 - std::clamp(t, 0.0, 1.0));
}

std::string SvgOpen(const std::string& id, const std::string& title) {
  return "<svg id=\"" + id + "\" class=\"chart\" viewBox=\"0 0 " + Fmt("%.0f %.0f", kW, kH) +
         "\" role=\"img\" aria-label=\"" + HtmlEscape(title) + "\" xmlns=\"http://www.w3.org/2000/svg\">";
}

std::string EmptyChart(const std::string& id, const std::string& title, const std::string& message) {
  return SvgOpen(id, title) + Fmt("<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"6\"/>", kLeft, kTop, kPlotW, kPlotH) +
         Fmt("<text class=\"empty-msg\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", kLeft + kPlotW / 2, kTop + kPlotH / 2 + 4) +
         HtmlEscape(message) + "</text></svg>";
}

// Gridlines with value labels, and run labels along the bottom (thinned out when crowded).
std::string Axes(const YAxis& y, const std::vector<ReportRun>& runs) {
  std::string s;
  for (int k = 0; k <= 4; ++k) {
    double v = y.lo + (y.hi - y.lo) * k / 4;
    double py = ValueY(v, y);
    s += Fmt("<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", kLeft, kLeft + kPlotW, py, py);
    s += Fmt("<text class=\"ylabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", kLeft - 8, py + 4) + HtmlEscape(y.label(v)) + "</text>";
  }
  const size_t n = runs.size();
  const size_t every = std::max<size_t>(1, (n + 11) / 12);
  for (size_t i = 0; i < n; ++i) {
    if ((n - 1 - i) % every != 0) continue;  // always label the newest run
    s += Fmt("<text class=\"xlabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", BandX(i, n), kH - 12) +
         HtmlEscape(RunLabel(runs[i])) + "</text>";
  }
  return s;
}

std::string Legend(const std::vector<Series>& series) {
  std::string s = "<div class=\"legend\">";
  for (const auto& x : series) {
    s += "<span class=\"key\"><i style=\"background:" + x.color + "\"></i>" + HtmlEscape(x.name) + "</span>";
  }
  return s + "</div>";
}

// Bars stacked per run, bottom to top in the order of `series`.
std::string StackedBars(const std::string& id, const std::string& title, const std::vector<ReportRun>& runs,
                        const std::vector<Series>& series, std::string (*label)(double)) {
  double top = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    double sum = 0;
    for (const auto& x : series) sum += x.values[i].value_or(0);
    top = std::max(top, sum);
  }
  YAxis y{0, NiceTop(top, /*whole=*/true), label};
  std::string s = SvgOpen(id, title) + Axes(y, runs);
  const double band = kPlotW / static_cast<double>(runs.size());
  const double w = std::min(band * 0.62, 48.0);
  for (size_t i = 0; i < runs.size(); ++i) {
    double base = 0;
    for (const auto& x : series) {
      double v = x.values[i].value_or(0);
      if (v <= 0) continue;
      double y0 = ValueY(base, y), y1 = ValueY(base + v, y);
      s += Fmt("<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"", BandX(i, runs.size()) - w / 2, y1, w,
               std::max(0.5, y0 - y1)) +
           x.color + "\"><title>" + HtmlEscape(RunLabel(runs[i]) + " " + x.name + ": " + Count(static_cast<int64_t>(v))) + "</title></rect>";
      base += v;
    }
  }
  return s + "</svg>" + Legend(series);
}

// One line per series; a missing value breaks the line.
std::string Lines(const std::string& id, const std::string& title, const std::vector<ReportRun>& runs,
                  const std::vector<Series>& series, const YAxis& y) {
  std::string s = SvgOpen(id, title) + Axes(y, runs);
  const size_t n = runs.size();
  for (const auto& x : series) {
    std::string path;
    bool pen_down = false;
    for (size_t i = 0; i < n; ++i) {
      if (!x.values[i]) {
        pen_down = false;
        continue;
      }
      path += Fmt(pen_down ? " L%.1f %.1f" : " M%.1f %.1f", BandX(i, n), ValueY(*x.values[i], y));
      pen_down = true;
    }
    if (!path.empty()) s += "<path class=\"line\" d=\"" + path.substr(1) + "\" stroke=\"" + x.color + "\"/>";
    for (size_t i = 0; i < n; ++i) {
      if (!x.values[i]) continue;
      s += Fmt("<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"", BandX(i, n), ValueY(*x.values[i], y)) + x.color +
           "\"><title>" + HtmlEscape(RunLabel(runs[i]) + " " + x.name + ": " + y.label(*x.values[i])) + "</title></circle>";
    }
  }
  return s + "</svg>" + (series.size() > 1 ? Legend(series) : "");
}

std::string Figure(const std::string& title, const std::string& note, const std::string& body) {
  return "<figure class=\"card\"><figcaption><h3>" + HtmlEscape(title) + "</h3>" +
         (note.empty() ? "" : "<p class=\"note\">" + HtmlEscape(note) + "</p>") + "</figcaption>" + body + "</figure>";
}

std::string CountLabel(double v) { return Compact(v); }
std::string PercentLabel(double v) {
  if (std::fabs(v - std::round(v)) < 1e-9) return Fmt("%.0f%%", v);
  return Fmt(std::fabs(v * 10 - std::round(v * 10)) < 1e-9 ? "%.1f%%" : "%.2f%%", v);
}
std::string HoursLabel(double v) { return Fmt("%.3g h", v); }
std::string DaysLabel(double v) { return Fmt("%.3g d", v); }
std::string MinutesLabel(double v) { return Fmt("%.3g min", v); }

std::string RowsChart(const std::vector<ReportRun>& runs) {
  const char* title = "Rows per run";
  const char* note = "Loaded, quarantined and skipped rows of each run.";
  if (runs.empty()) return Figure(title, note, EmptyChart("chart-rows", title, "No runs recorded yet"));
  Series loaded{"loaded", "#2563eb", {}}, quarantined{"quarantined", "#ea580c", {}}, skipped{"skipped", "#94a3b8", {}};
  for (const auto& r : runs) {
    loaded.values.push_back(static_cast<double>(r.quality.counters.rows_out));
    quarantined.values.push_back(static_cast<double>(r.quality.counters.rows_quarantined));
    skipped.values.push_back(static_cast<double>(r.quality.counters.rows_skipped));
  }
  return Figure(title, note, StackedBars("chart-rows", title, runs, {loaded, quarantined, skipped}, CountLabel));
}

std::string RejectionChart(const std::vector<ReportRun>& runs) {
  const char* title = "Rejection rate";
  const char* note = "Quarantined rows as a share of the rows checked.";
  if (runs.empty()) return Figure(title, note, EmptyChart("chart-rejection", title, "No runs recorded yet"));
  Series rate{"rejection rate", "#ea580c", {}};
  double top = 0;
  for (const auto& r : runs) {
    double v = r.quality.rows_checked > 0 ? r.quality.rejection_rate() * 100 : 0;
    rate.values.push_back(r.quality.rows_checked > 0 ? std::optional<double>(v) : std::nullopt);
    top = std::max(top, v);
  }
  double hi = std::min(100.0, NiceTop(std::max(top, 0.4)));
  return Figure(title, note, Lines("chart-rejection", title, runs, {rate}, {0, hi, PercentLabel}));
}

std::string FreshnessChart(const std::vector<ReportRun>& runs) {
  const char* title = "Freshness";
  std::string column;
  Series age{"age of the newest row", "#059669", {}};
  double top = 0;
  for (const auto& r : runs) {
    if (!r.quality.freshness_column.empty()) column = r.quality.freshness_column;
    age.values.push_back(r.quality.freshness_age_s);
    if (r.quality.freshness_age_s) top = std::max(top, *r.quality.freshness_age_s);
  }
  const std::string note = column.empty() ? "Age of the newest row when each run ended."
                                          : "Age of the newest " + column + " when each run ended.";
  if (runs.empty()) return Figure(title, note, EmptyChart("chart-freshness", title, "No runs recorded yet"));
  if (column.empty()) {
    return Figure(title, note, EmptyChart("chart-freshness", title, "The contract names no freshness column"));
  }
  // One unit for the whole axis, picked by the oldest age shown.
  double scale = 3600;
  std::string (*label)(double) = HoursLabel;
  if (top >= 3 * 86400) {
    scale = 86400;
    label = DaysLabel;
  } else if (top < 2 * 3600) {
    scale = 60;
    label = MinutesLabel;
  }
  for (auto& v : age.values) {
    if (v) v = std::max(0.0, *v) / scale;
  }
  return Figure(title, note, Lines("chart-freshness", title, runs, {age}, {0, NiceTop(std::max(top / scale, 1.0)), label}));
}

// The columns whose completeness dipped lowest over the runs shown (at most five), as
// "column" or "stream.column" when the pipeline has several streams.
std::vector<std::pair<std::string, std::string>> KeyColumns(const std::vector<ReportRun>& runs) {
  std::map<std::pair<std::string, std::string>, double> lowest;
  std::set<std::string> streams;
  for (const auto& r : runs) {
    for (const auto& [stream, s] : r.quality.streams) {
      streams.insert(stream);
      for (const auto& [col, q] : s.columns) {
        auto key = std::make_pair(stream, col);
        double c = q.completeness();
        auto it = lowest.find(key);
        if (it == lowest.end() || c < it->second) lowest[key] = c;
      }
    }
  }
  std::vector<std::pair<double, std::pair<std::string, std::string>>> order;
  for (const auto& [k, c] : lowest) order.push_back({c, k});
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < order.size() && i < 5; ++i) out.push_back(order[i].second);
  return out;
}

std::string CompletenessChart(const std::vector<ReportRun>& runs) {
  const char* title = "Completeness";
  std::string note = "Share of loaded rows with a value, for the least complete columns.";
  if (runs.empty()) return Figure(title, note, EmptyChart("chart-completeness", title, "No runs recorded yet"));
  auto columns = KeyColumns(runs);
  if (columns.empty()) return Figure(title, note, EmptyChart("chart-completeness", title, "No column figures recorded yet"));
  std::set<std::string> streams;
  for (const auto& [stream, col] : columns) streams.insert(stream);
  std::vector<Series> series;
  double low = 100;
  for (size_t k = 0; k < columns.size(); ++k) {
    const auto& [stream, col] = columns[k];
    Series x{streams.size() > 1 ? stream + "." + col : col, kPalette[k % 6], {}};
    for (const auto& r : runs) {
      std::optional<double> v;
      auto s = r.quality.streams.find(stream);
      if (s != r.quality.streams.end()) {
        auto c = s->second.columns.find(col);
        if (c != s->second.columns.end() && c->second.rows > 0) v = c->second.completeness() * 100;
      }
      if (v) low = std::min(low, *v);
      x.values.push_back(v);
    }
    series.push_back(std::move(x));
  }
  // The axis starts just below the lowest point, so small dips are visible.
  double lo = 100 - NiceTop(std::max(100 - low, 2.0));
  if (low >= 100) note = "Every column shown is complete in every run.";
  return Figure(title, note, Lines("chart-completeness", title, runs, series, {std::max(0.0, lo), 100, PercentLabel}));
}

// ---------------------------------------------------------------------------------------------
// Page sections

const ReportRun* LastWithQuality(const std::vector<ReportRun>& runs) {
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    if (it->has_quality) return &*it;
  }
  return nullptr;
}

std::string Fact(const std::string& label, const std::string& value_html, const std::string& id) {
  return "<div class=\"fact\" id=\"" + id + "\"><dt>" + HtmlEscape(label) + "</dt><dd>" + value_html + "</dd></div>";
}

std::string StatusBadge(const std::string& status) {
  return std::string("<span class=\"badge ") + StatusClass(status) + "\">" + HtmlEscape(status.empty() ? "unknown" : status) + "</span>";
}

std::string Header(const ReportData& d) {
  const ReportRun* last = d.runs.empty() ? nullptr : &d.runs.back();
  const ReportRun* lq = LastWithQuality(d.runs);
  std::string s = "<header id=\"summary\" data-status=\"" + HtmlEscape(last ? last->status : "") + "\">";
  s += "<div class=\"eyebrow\">sluice quality report</div><h1 id=\"pipeline\">" + HtmlEscape(d.pipeline) + "</h1><dl class=\"facts\">";
  s += Fact("Sink", HtmlEscape(d.sink.empty() ? "-" : d.sink), "fact-sink");
  s += Fact("Contract", lq && !lq->quality.contract.empty()
                            ? HtmlEscape(lq->quality.contract) + " <span class=\"muted\">v" + std::to_string(lq->quality.contract_version) + "</span>"
                            : "<span class=\"muted\">none</span>",
            "fact-contract");
  s += Fact("Last run", last ? StatusBadge(last->status) + " <span class=\"muted\">" + HtmlEscape(RunLabel(*last) + " · " + When(last->finished_at)) + "</span>"
                             : "<span class=\"muted\">no run recorded yet</span>",
            "fact-last-run");
  s += Fact("Runs shown", std::to_string(d.runs.size()), "fact-runs");
  s += "</dl>";
  if (last && !last->error.empty()) s += "<p class=\"error\" id=\"last-error\">" + HtmlEscape(last->error) + "</p>";
  return s + "</header>";
}

std::string Kpi(const std::string& id, const std::string& label, const std::string& value, const std::string& sub,
                const char* tone = "") {
  return "<div class=\"kpi " + std::string(tone) + "\" id=\"" + id + "\"><div class=\"label\">" + HtmlEscape(label) +
         "</div><div class=\"value\">" + HtmlEscape(value) + "</div><div class=\"sub\">" + HtmlEscape(sub) + "</div></div>";
}

std::string Kpis(const ReportData& d) {
  if (d.runs.empty()) return "";
  const ReportRun& r = d.runs.back();
  const RunMetrics& q = r.quality;
  std::string s = "<section id=\"kpis\" class=\"kpis\" aria-label=\"Last run\">";
  s += Kpi("kpi-loaded", "Rows loaded", Count(q.counters.rows_out), "of " + Count(q.counters.rows_in) + " read in " + RunLabel(r));
  s += Kpi("kpi-quarantined", "Quarantined", Count(q.counters.rows_quarantined),
           d.quarantined_now >= 0 ? Count(d.quarantined_now) + " in the quarantine now" : "rows with a reason",
           q.counters.rows_quarantined > 0 ? "warn" : "");
  s += Kpi("kpi-rejection", "Rejection rate", Percent(q.rejection_rate()), "of " + Count(q.rows_checked) + " rows checked",
           q.rejection_rate() > 0.05 ? "bad" : "");
  s += Kpi("kpi-freshness", "Freshness", q.freshness_age_s ? Age(*q.freshness_age_s) : "-",
           q.freshness_column.empty() ? "no freshness column" : "newest " + q.freshness_column);
  std::string worst = "-", worst_sub = "no column figures";
  double lowest = 2;
  for (const auto& [stream, st] : q.streams) {
    for (const auto& [col, c] : st.columns) {
      if (c.rows > 0 && c.completeness() < lowest) {
        lowest = c.completeness();
        worst = Percent(lowest);
        worst_sub = lowest < 1 ? "lowest: " + col : "no nulls";
      }
    }
  }
  s += Kpi("kpi-completeness", "Completeness", worst, worst_sub, lowest < 0.95 ? "warn" : "");
  return s + "</section>";
}

std::string Trends(const ReportData& d) {
  return "<section id=\"trends\"><h2>Trends <span class=\"muted\">over the last " + std::to_string(d.runs.size()) +
         " run" + (d.runs.size() == 1 ? "" : "s") + "</span></h2><div class=\"charts\">" + RowsChart(d.runs) +
         RejectionChart(d.runs) + FreshnessChart(d.runs) + CompletenessChart(d.runs) + "</div></section>";
}

std::string SampleTable(const ReportRule& r) {
  if (r.samples.empty()) {
    return "<p class=\"note\">No quarantined row of this rule is left (replayed or cleared).</p>";
  }
  std::string s = "<table class=\"samples\"><thead><tr><th>Origin</th><th>Column</th><th>Reason</th><th>Row</th></tr></thead><tbody>";
  for (const auto& e : r.samples) {
    // The file name and line read at a glance; the full path is in the tooltip.
    const size_t slash = e.row.origin.rfind('/');
    const std::string shown = slash == std::string::npos ? e.row.origin : e.row.origin.substr(slash + 1);
    s += "<tr class=\"sample\"><td class=\"origin\" title=\"" + HtmlEscape(e.row.origin) + "\">" + HtmlEscape(shown) + "</td><td>" +
         HtmlEscape(e.row.column.empty() ? "-" : e.row.column) + "</td><td class=\"reason\">" + HtmlEscape(e.row.reason) +
         "</td><td><code class=\"raw\">" + HtmlEscape(PrintableExcerpt(e.row.raw, 400)) + "</code></td></tr>";
  }
  return s + "</tbody></table>";
}

std::string Rules(const ReportData& d) {
  std::string s = "<section id=\"rules\"><h2>Top failing rules</h2>";
  if (d.rules.empty()) {
    return s + "<p class=\"card empty\" id=\"no-rules\">No rule failed in the runs shown.</p></section>";
  }
  s += "<p class=\"lead\">Rows that broke each rule, over the runs shown; a row that broke several rules counts for each. "
       "Sample rows are the newest in the quarantine, with personal data redacted as it was stored.</p>";
  const int64_t top = std::max<int64_t>(1, d.rules.front().rows);
  for (const auto& r : d.rules) {
    s += "<article class=\"rule card\" data-rule=\"" + HtmlEscape(r.rule) + "\" data-count=\"" + std::to_string(r.rows) + "\">";
    s += "<div class=\"rule-head\"><h3><code>" + HtmlEscape(r.rule) + "</code></h3><div class=\"count\"><b>" + Count(r.rows) +
         "</b> row" + (r.rows == 1 ? "" : "s") + " <span class=\"muted\">· " + Count(r.rows_last_run) + " in the last run</span></div></div>";
    s += Fmt("<div class=\"meter\"><span style=\"width:%.1f%%\"></span></div>", 100.0 * static_cast<double>(r.rows) / static_cast<double>(top));
    s += SampleTable(r) + "</article>";
  }
  return s + "</section>";
}

std::string Columns(const ReportData& d) {
  const ReportRun* lq = LastWithQuality(d.runs);
  if (!lq) return "";
  std::map<std::string, int64_t> violations;
  for (const auto& r : d.runs) {
    for (const auto& [col, n] : r.quality.column_violations) violations[col] += n;
  }
  std::string s = "<section id=\"columns\"><h2>Columns <span class=\"muted\">in " + HtmlEscape(RunLabel(*lq)) +
                  "</span></h2><div class=\"card flush\"><table class=\"grid-table\"><thead><tr><th>Stream</th><th>Column</th>"
                  "<th class=\"num\">Completeness</th><th class=\"num\">Nulls</th><th class=\"num\">Rows with violations</th></tr></thead><tbody>";
  for (const auto& [stream, st] : lq->quality.streams) {
    for (const auto& [col, c] : st.columns) {
      auto v = violations.find(col);
      s += "<tr class=\"column\" data-column=\"" + HtmlEscape(col) + "\"><td class=\"muted\">" + HtmlEscape(stream) + "</td><td><code>" +
           HtmlEscape(col) + "</code></td><td class=\"num\"><span class=\"minibar\"><span style=\"width:" +
           Fmt("%.1f%%", c.completeness() * 100) + "\"></span></span>" + Percent(c.completeness()) + "</td><td class=\"num\">" +
           Count(c.nulls) + "</td><td class=\"num\">" + (v == violations.end() ? "0" : Count(v->second)) + "</td></tr>";
    }
  }
  return s + "</tbody></table></div></section>";
}

// "+ name type", "- name", "~ name: old -> new" between two versions of a stream's schema.
std::vector<std::pair<std::string, std::string>> SchemaChanges(const Schema& before, const Schema& after) {
  std::vector<std::pair<std::string, std::string>> out;  // (class, text)
  auto shown = [](const Field& f) { return f.type.ToString() + (f.nullable ? "" : " not null"); };
  for (const Field& f : after.fields()) {
    int i = before.IndexOf(f.name);
    if (i < 0) {
      out.push_back({"added", f.name + " " + shown(f)});
    } else if (shown(before.field(static_cast<size_t>(i))) != shown(f)) {
      out.push_back({"changed", f.name + ": " + shown(before.field(static_cast<size_t>(i))) + " → " + shown(f)});
    }
  }
  for (const Field& f : before.fields()) {
    if (after.IndexOf(f.name) < 0) out.push_back({"removed", f.name + " " + shown(f)});
  }
  return out;
}

std::string RunsWithVersion(const std::vector<ReportRun>& runs, const std::string& stream, int version) {
  std::vector<std::string> ids;
  for (const auto& r : runs) {
    auto s = r.quality.streams.find(stream);
    if (s != r.quality.streams.end() && s->second.schema_version == version) ids.push_back(RunLabel(r));
  }
  if (ids.empty()) return "";
  if (ids.size() > 6) return "runs " + ids.front() + " … " + ids.back() + " (" + std::to_string(ids.size()) + ")";
  return (ids.size() == 1 ? "run " : "runs ") + Join(ids, ", ");
}

std::string SchemaVersionItem(const ReportData& d, const std::string& stream, const SchemaVersion& v,
                              const SchemaVersion* previous, bool current) {
  std::string s = "<li class=\"schema-version\" data-stream=\"" + HtmlEscape(stream) + "\" data-version=\"" +
                  std::to_string(v.version) + "\"><div class=\"ver\">v" + std::to_string(v.version) +
                  (current ? " <span class=\"badge ok\">current</span>" : "") + "</div><div class=\"body\"><div class=\"muted\">recorded " +
                  HtmlEscape(When(v.recorded_at));
  std::string used = RunsWithVersion(d.runs, stream, v.version);
  if (!used.empty()) s += " · " + HtmlEscape(used);
  s += "</div><ul class=\"changes\">";
  if (!previous) {
    s += "<li class=\"first\">first version: " + std::to_string(v.schema.size()) + " columns</li>";
  } else {
    auto changes = SchemaChanges(previous->schema, v.schema);
    if (changes.empty()) s += "<li class=\"first\">same columns as v" + std::to_string(previous->version) + "</li>";
    for (const auto& [cls, text] : changes) s += "<li class=\"" + cls + "\"><code>" + HtmlEscape(text) + "</code></li>";
  }
  s += "</ul><details><summary>all " + std::to_string(v.schema.size()) + " columns</summary><code class=\"schema\">" +
       HtmlEscape(v.schema.ToString()) + "</code></details></div></li>";
  return s;
}

std::string Schemas(const ReportData& d) {
  std::string s = "<section id=\"schemas\"><h2>Schema versions</h2>";
  if (d.schemas.empty()) return s + "<p class=\"card empty\">No schema version stored (the schema is fixed by the contract or config).</p></section>";
  std::map<std::string, std::vector<const SchemaVersion*>> by_stream;
  for (const auto& [stream, v] : d.schemas) by_stream[stream].push_back(&v);
  for (const auto& [stream, versions] : by_stream) {
    s += "<div class=\"stream card\" data-stream=\"" + HtmlEscape(stream) + "\"><h3>" + HtmlEscape(stream) + "</h3><ol class=\"versions\">";
    for (size_t i = versions.size(); i-- > 0;) {
      s += SchemaVersionItem(d, stream, *versions[i], i > 0 ? versions[i - 1] : nullptr, i + 1 == versions.size());
    }
    s += "</ol></div>";
  }
  return s + "</section>";
}

std::string History(const ReportData& d) {
  std::string s = "<section id=\"history\"><h2>Run history</h2><div class=\"card flush\"><table id=\"runs\" class=\"grid-table\"><thead><tr>"
                  "<th>Run</th><th>Finished</th><th>Status</th><th class=\"num\">Read</th><th class=\"num\">Loaded</th>"
                  "<th class=\"num\">Quarantined</th><th class=\"num\">Skipped</th><th class=\"num\">Rejection</th>"
                  "<th class=\"num\">Freshness</th><th class=\"num\">Time</th><th>Schema</th></tr></thead><tbody>";
  if (d.runs.empty()) s += "<tr class=\"empty\"><td colspan=\"11\">No runs recorded yet.</td></tr>";
  for (auto it = d.runs.rbegin(); it != d.runs.rend(); ++it) {
    const ReportRun& r = *it;
    const RunCounters& c = r.quality.counters;
    std::vector<std::string> versions;
    for (const auto& [stream, st] : r.quality.streams) {
      if (st.schema_version > 0) versions.push_back((r.quality.streams.size() > 1 ? stream + " " : "") + "v" + std::to_string(st.schema_version));
    }
    s += "<tr class=\"run\" data-run-id=\"" + std::to_string(r.id) + "\" data-status=\"" + HtmlEscape(r.status) + "\"><td><b>" +
         HtmlEscape(RunLabel(r)) + "</b></td><td class=\"muted\">" + HtmlEscape(When(r.finished_at)) + "</td><td>" + StatusBadge(r.status) +
         "</td><td class=\"num\">" + Count(c.rows_in) + "</td><td class=\"num\">" + Count(c.rows_out) + "</td><td class=\"num\">" +
         Count(c.rows_quarantined) + "</td><td class=\"num\">" + Count(c.rows_skipped) + "</td><td class=\"num\">" +
         (r.quality.rows_checked > 0 ? Percent(r.quality.rejection_rate()) : "-") + "</td><td class=\"num\">" +
         (r.quality.freshness_age_s ? Age(*r.quality.freshness_age_s) : "-") + "</td><td class=\"num\">" + Fmt("%.2f s", r.seconds) +
         "</td><td>" + HtmlEscape(versions.empty() ? "-" : Join(versions, ", ")) + "</td></tr>";
    if (!r.error.empty()) s += "<tr class=\"run-error\"><td></td><td colspan=\"10\">" + HtmlEscape(r.error) + "</td></tr>";
  }
  return s + "</tbody></table></div></section>";
}

constexpr const char* kCss = R"CSS(
:root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;--ok:#059669;--warn:#d97706;--bad:#dc2626;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;-webkit-font-smoothing:antialiased}
main{max-width:1180px;margin:0 auto;padding:32px 28px 48px}
h1{font-size:30px;line-height:1.2;margin:2px 0 14px;letter-spacing:-.01em}
h2{font-size:19px;margin:36px 0 12px;letter-spacing:-.005em}
h3{font-size:15px;margin:0}
code{font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.muted{color:var(--muted);font-weight:400}
.eyebrow{text-transform:uppercase;letter-spacing:.08em;font-size:12px;font-weight:600;color:var(--accent)}
header#summary{border-bottom:1px solid var(--line);padding-bottom:18px}
.facts{display:flex;flex-wrap:wrap;gap:10px 36px;margin:0}
.fact dt{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.fact dd{margin:2px 0 0;font-weight:500}
.error{margin:14px 0 0;padding:10px 14px;border-radius:8px;background:#fef2f2;color:#991b1b;border:1px solid #fecaca;white-space:pre-wrap;word-break:break-word}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:600;line-height:20px;border:1px solid}
.badge.ok{color:var(--ok);background:#ecfdf5;border-color:#a7f3d0}
.badge.warn{color:var(--warn);background:#fffbeb;border-color:#fde68a}
.badge.bad{color:var(--bad);background:#fef2f2;border-color:#fecaca}
.badge.muted{color:var(--muted);background:#f1f5f9;border-color:var(--line)}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 20px;margin:0 0 16px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
.card.flush{padding:0;overflow:auto}
.empty{color:var(--muted)}
.kpis{display:grid;grid-template-columns:repeat(5,1fr);gap:14px;margin-top:22px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 16px;border-top:3px solid var(--accent)}
.kpi.warn{border-top-color:var(--warn)}.kpi.bad{border-top-color:var(--bad)}
.kpi .label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.kpi .value{font-size:26px;font-weight:650;margin:2px 0;font-variant-numeric:tabular-nums}
.kpi .sub{font-size:12.5px;color:var(--muted)}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.charts figure{margin:0}
figcaption{margin-bottom:6px}
figcaption .note,.note{margin:2px 0 0;font-size:13px;color:var(--muted)}
svg.chart{width:100%;height:auto;display:block}
svg .grid{stroke:#e9eef5;stroke-width:1}
svg .ylabel,svg .xlabel{font-size:11px;fill:#64748b;font-family:inherit}
svg .line{fill:none;stroke-width:2.25;stroke-linejoin:round;stroke-linecap:round}
svg .pt{stroke:#fff;stroke-width:1.5}
svg .frame{fill:#f8fafc;stroke:#e2e8f0;stroke-dasharray:4 4}
svg .empty-msg{font-size:13px;fill:#64748b}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12.5px;color:var(--muted);margin-top:4px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:3px;margin-right:6px;vertical-align:-1px}
.lead{color:var(--muted);margin:-4px 0 14px;font-size:14px}
.rule-head{display:flex;justify-content:space-between;align-items:baseline;gap:16px}
.rule-head code{font-size:15px;font-weight:600}
.count b{font-size:18px;font-variant-numeric:tabular-nums}
.meter{height:6px;background:#f1f5f9;border-radius:3px;margin:8px 0 12px;overflow:hidden}
.meter span{display:block;height:100%;background:#ea580c;border-radius:3px}
table{border-collapse:collapse;width:100%}
th{font-size:12px;font-weight:600;color:var(--muted);text-align:left;text-transform:uppercase;letter-spacing:.04em}
th,td{padding:7px 12px;border-bottom:1px solid var(--line);vertical-align:top}
tbody tr:last-child td{border-bottom:0}
.samples{font-size:13.5px}
.samples th:first-child,.samples td:first-child{padding-left:0}
.samples td.origin{color:var(--muted);max-width:200px;word-break:break-all}
.samples td.reason{min-width:240px}
code.raw{display:block;background:#f8fafc;border:1px solid var(--line);border-radius:6px;padding:4px 8px;white-space:pre-wrap;word-break:break-all;min-width:260px;max-width:460px}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.grid-table{font-size:14px}
.grid-table thead th{background:#f8fafc}
.minibar{display:inline-block;width:60px;height:6px;background:#fee2e2;border-radius:3px;margin-right:8px;vertical-align:1px;overflow:hidden}
.minibar span{display:block;height:100%;background:var(--ok)}
.run-error td{color:#991b1b;font-size:13px;padding-top:0;white-space:pre-wrap;word-break:break-word}
.versions{list-style:none;margin:10px 0 0;padding:0}
.schema-version{display:flex;gap:16px;padding:10px 0;border-top:1px solid var(--line)}
.schema-version:first-child{border-top:0}
.schema-version .ver{min-width:96px;font-weight:650}
.changes{list-style:none;margin:4px 0;padding:0}
.changes li{margin:2px 0}
.changes li.added code{color:var(--ok)}.changes li.added::before{content:"+ ";color:var(--ok);font-weight:700}
.changes li.removed code{color:var(--bad);text-decoration:line-through}.changes li.removed::before{content:"− ";color:var(--bad);font-weight:700}
.changes li.changed code{color:var(--warn)}.changes li.changed::before{content:"~ ";color:var(--warn);font-weight:700}
.changes li.first{color:var(--muted);font-size:13.5px}
details summary{cursor:pointer;color:var(--muted);font-size:13px}
code.schema{display:block;margin-top:6px;white-space:pre-wrap;word-break:break-word;color:#334155}
footer{margin-top:40px;color:var(--muted);font-size:12.5px}
@media (max-width:900px){.kpis{grid-template-columns:repeat(2,1fr)}.charts{grid-template-columns:1fr}}
)CSS";

}  // namespace

std::string RenderReport(const ReportData& d) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                     // No script, no fetch: the page shows the same offline, and data cannot run.
                     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
                     "<title>sluice report: " + HtmlEscape(d.pipeline) + "</title><style>" + kCss + "</style></head><body><main>";
  html += Header(d) + Kpis(d) + Trends(d) + Rules(d) + Columns(d) + Schemas(d) + History(d);
  html += "<footer id=\"generated\">Generated " + HtmlEscape(When(d.generated_at)) + " by sluice " SLUICE_VERSION
          " from the state store and the quarantine. Counts cover committed rows only.</footer></main></body></html>\n";
  return html;
}

}  // namespace sluice
