#include "tools/onsale_html.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace boxoffice::tools::onsale {
namespace {

namespace json = boost::json;

// A complete report of a five-second run, in the shape of the report schema (version 1).
json::object SampleReport() {
  return json::parse(R"({
    "version": 1, "started_at": "2026-12-02T05:00:00Z", "url": "http://127.0.0.1:8080",
    "event_id": "evt_sample",
    "options": {"fans": 2000, "seats": 500, "admission_rate_per_s": 200, "arrival": "spike",
                "prequeue_share": 0.2, "seed": 1},
    "summary": {"fans": 1000000, "seats": 500, "admitted": 300, "bought": 170,
                "orders_confirmed": 170, "seats_sold": 500, "gave_up": 40,
                "sold_out_after_s": 41.2, "all_knew_after_s": 3.1, "duration_s": 60.3,
                "requests": 41234, "errors": 12, "requests_per_s_max": 3100},
    "audit": {"passed": true, "kendall_tau": 0.998,
              "checks": [{"name": "seats sold == distinct tickets <= capacity", "passed": true,
                          "detail": "500 sold, 500 distinct tickets, capacity 500"}]},
    "series": {
      "t": [0, 1, 2, 3, 4],
      "arrivals": [10, 300, 280, 5, 0], "queue_waiting": [10, 290, 500, 400, 300],
      "admitted_per_s": [0, 150, 200, 200, 200], "admission_rate_per_s": [200, 200, 200, 200, 200],
      "active": [0, 150, 350, 400, 380], "held": [0, 20, 60, 50, 40],
      "sold": [0, 0, 24, 60, 90], "orders_per_s": [0, 0, 8, 12, 10],
      "requests_per_s": [30, 900, 1200, 1100, 1000], "errors_per_s": [0, 0, 1, 0, 0],
      "server_rss_bytes": [1.2e8, 1.3e8, 1.3e8, 1.3e8, 1.3e8],
      "server_cpu_per_s": [0.1, 0.9, 1.0, 0.8, 0.7], "sim_cpu_per_s": [0.1, 0.8, 0.9, 0.7, 0.6],
      "send_lag_ms_p99": [0.5, 12, 3, 2, 1]},
    "latency_ms": {
      "join": {"p50": [1, 2, 3, 2, 1], "p95": [2, 4, 6, 4, 2], "p99": [3, 6, 9, 6, 3],
               "all": {"count": 2000, "p50": 1.1, "p95": 3, "p99": 9, "max": 40}},
      "hold": {"p50": [null, 5, 6, 5, null], "p95": [null, 9, 9, 9, null],
               "p99": [null, 12, 15, 12, null],
               "all": {"count": 300, "p50": 5, "p95": 9, "p99": 14, "max": 60}}},
    "errors_by_code": {"rate_limited": 3, "seat_conflict": 40, "transport": 2},
    "time_in_queue_s": {"count": 300, "p50": 10.2, "p95": 30.1, "p99": 33, "max": 35,
      "histogram": {"bounds": [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
                    "counts": [0, 3, 20, 80, 100, 97, 0, 0, 0, 0, 0]}},
    "phases": [{"name": "spike", "from_s": 5, "to_s": 15, "server_rss_max_bytes": 1.5e8,
                "server_cpu_s": 8.1, "sim_cpu_s": 7.0}],
    "simulator": {"cpu_s": 40.1, "connections": 256, "fans_in_flight_max": 2000,
                  "send_lag_ms": {"p50": 0.2, "p99": 5, "max": 80},
                  "bottleneck": false, "bottleneck_reason": ""},
    "chaos": null
  })")
      .as_object();
}

const std::string kArrivalsCaption = "Arrivals per second and fans waiting in the queue";
const std::vector<std::string> kLineChartCaptions = {
    kArrivalsCaption,
    "Admissions per second against the configured rate (dashed)",
    "Active fans and held seats",
    "Seats sold (cumulative)",
    "Orders confirmed per second",
    "Latency of join (ms): p50, p95, p99",
    "Latency of hold (ms): p50, p95, p99",
    "Requests sent per second",
    "Errors per second",
    "Server memory (RSS, MB)",
    "CPU used (cores): server and simulator",
    "Simulator send lag p99 (ms)",
};

std::size_t Occurrences(std::string_view text, std::string_view needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

// The figure captioned `caption`, up to its caption; empty when there is none.
std::string FigureWith(const std::string& html, const std::string& caption) {
  const std::size_t end = html.find("<figcaption>" + caption + "</figcaption>");
  if (end == std::string::npos) return "";
  const std::size_t begin = html.rfind("<figure", end);
  return html.substr(begin, end - begin);
}

// The `points` attributes of the polylines in `svg`, one list of "x,y" per polyline.
std::vector<std::vector<std::string>> Polylines(const std::string& svg) {
  std::vector<std::vector<std::string>> polylines;
  const std::string attribute = "points=\"";
  for (std::size_t at = svg.find(attribute); at != std::string::npos;
       at = svg.find(attribute, at + 1)) {
    const std::size_t begin = at + attribute.size(), end = svg.find('"', begin);
    std::vector<std::string> points;
    for (std::size_t from = begin; from < end;) {
      const std::size_t space = std::min(svg.find(' ', from), end);
      points.push_back(svg.substr(from, space - from));
      from = space + 1;
    }
    polylines.push_back(points);
  }
  return polylines;
}

double YOf(const std::string& point) {
  return std::strtod(point.c_str() + point.find(',') + 1, nullptr);
}

// A complete report gives one accessible HTML5 page with the verdict, every chart and the audit.
TEST(OnsaleHtml, CompleteReportHasVerdictChartsAndAuditRows) {
  const std::string html = RenderOnsaleHtml(SampleReport());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n<html lang=\"en\">", 0), 0u);
  EXPECT_NE(html.find("<title>boxoffice onsale: evt_sample</title>"), std::string::npos);
  EXPECT_EQ(Occurrences(html, "<main>"), 1u);
  EXPECT_NE(html.find("Audit passed"), std::string::npos);
  EXPECT_EQ(html.find("Audit FAILED"), std::string::npos);
  EXPECT_NE(html.find("<tr><th scope=\"row\">seats sold == distinct tickets &lt;= capacity</th>"
                      "<td>passed</td><td>500 sold, 500 distinct tickets, capacity 500</td></tr>"),
            std::string::npos);
  EXPECT_NE(html.find("<strong>0.998</strong>"), std::string::npos);
  for (const std::string& caption : kLineChartCaptions) {
    const std::string figure = FigureWith(html, caption);
    ASSERT_FALSE(figure.empty()) << caption;
    EXPECT_NE(figure.find("role=\"img\" aria-label=\""), std::string::npos) << caption;
    EXPECT_FALSE(Polylines(figure).empty()) << caption;
  }
  const std::string histogram =
      FigureWith(html, "Time in queue: join answered to admitted, admitted fans");
  EXPECT_EQ(Occurrences(histogram, "<rect class=\"bar\""), 11u);
  EXPECT_EQ(Occurrences(html, "<svg class=\"chart\""), kLineChartCaptions.size() + 1);
  EXPECT_EQ(Occurrences(html, "<h1>"), 1u);
  EXPECT_LT(html.find("<h1>"), html.find("<h2>"));
  EXPECT_EQ(html.find("<h3"), std::string::npos);
  EXPECT_EQ(Occurrences(html, "<th>"), 0u) << "every header cell has a scope";
  EXPECT_EQ(html.find("Chaos"), std::string::npos) << "chaos is null";
  EXPECT_EQ(html.find("class=\"warning\""), std::string::npos) << "no bottleneck";
}

// Figures are grouped in thousands, durations in seconds with one decimal.
TEST(OnsaleHtml, NumbersAreFormattedForReading) {
  json::object report = SampleReport();
  report["summary"].as_object()["sold_out_after_s"] = nullptr;
  const std::string html = RenderOnsaleHtml(report);
  EXPECT_NE(html.find("<td>1,000,000</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>41,234</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>60.3 s</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>did not sell out</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>150</td>"), std::string::npos) << "server RSS max of the phase, MB";
}

// A failed check, a failed audit or no audit at all never reads as a pass.
TEST(OnsaleHtml, FailedAuditSaysAuditFailed) {
  json::object report = SampleReport();
  json::object& audit = report["audit"].as_object();
  audit["checks"].as_array().push_back(
      json::object{{"name", "no seat sold twice"}, {"passed", false}, {"detail", "2 duplicates"}});
  for (const bool passed : {false, true}) {
    audit["passed"] = passed;
    const std::string html = RenderOnsaleHtml(report);
    EXPECT_NE(html.find("Audit FAILED"), std::string::npos) << passed;
    EXPECT_EQ(html.find("Audit passed"), std::string::npos) << passed;
    EXPECT_NE(html.find("<tr class=\"failed\"><th scope=\"row\">no seat sold twice</th>"
                        "<td>failed</td><td>2 duplicates</td></tr>"),
              std::string::npos);
  }
  report.erase("audit");
  EXPECT_NE(RenderOnsaleHtml(report).find("Audit FAILED"), std::string::npos);
}

// No string from the report reaches the page unescaped, wherever it is shown.
TEST(OnsaleHtml, EscapesEveryStringFromTheReport) {
  const std::string evil = "<script>alert('x')</script>";
  const std::string escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;";
  json::object report = SampleReport();
  report["event_id"] = evil;
  report["started_at"] = evil;
  report["options"].as_object()[evil] = evil;
  report["audit"].as_object()["checks"].as_array().push_back(
      json::object{{"name", evil}, {"passed", true}, {"detail", "a \"quoted\" & b"}});
  report["latency_ms"].as_object()[evil] = report["latency_ms"].as_object()["join"];
  report["errors_by_code"].as_object()[evil] = 1;
  report["phases"].as_array().push_back(json::object{{"name", evil}});
  report["simulator"].as_object()["bottleneck"] = true;
  report["simulator"].as_object()["bottleneck_reason"] = evil;
  report["chaos"] = json::object{{evil, evil}};
  const std::string html = RenderOnsaleHtml(report);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("alert('x')"), std::string::npos);
  EXPECT_NE(html.find("<title>boxoffice onsale: " + escaped + "</title>"), std::string::npos);
  EXPECT_GE(Occurrences(html, escaped), 12u);
  EXPECT_NE(html.find("a &quot;quoted&quot; &amp; b"), std::string::npos);
}

// The page links and loads nothing: the only address in it is the report's url, as text.
TEST(OnsaleHtml, NoAddressButTheReportsUrlAsText) {
  json::object report = SampleReport();
  report["url"] = "https://tickets.example/?a=1&b=<x>";
  const std::string html = RenderOnsaleHtml(report);
  const std::string shown = "https://tickets.example/?a=1&amp;b=&lt;x&gt;";
  EXPECT_NE(html.find("<code>" + shown + "</code>"), std::string::npos);
  EXPECT_EQ(Occurrences(html, "https://"), Occurrences(html, shown));
  EXPECT_EQ(Occurrences(html, "http://"), 0u);
  for (const char* loader : {"href", "src=", "url(", "@import", "<link", "<img", "<script"}) {
    EXPECT_EQ(html.find(loader), std::string::npos) << loader;
  }
  EXPECT_EQ(Occurrences(RenderOnsaleHtml(SampleReport()), "http"), 1u);
}

// A null sample ends a polyline; the line resumes after it, a lone sample still shows.
TEST(OnsaleHtml, NullSamplesAreGapsThatBreakPolylines) {
  json::object report = SampleReport();
  json::object& series = report["series"].as_object();
  series["t"] = json::parse("[0, 1, 2, 3, 4, 5, 6, 7]");
  series["arrivals"] = json::parse("[1, 2, null, 4, 5, null, null, 8]");
  series.erase("queue_waiting");
  const std::string figure = FigureWith(RenderOnsaleHtml(report), kArrivalsCaption);
  const auto polylines = Polylines(figure);
  ASSERT_EQ(polylines.size(), 3u);
  EXPECT_EQ(polylines[0].size(), 2u);
  EXPECT_EQ(polylines[1].size(), 2u);
  ASSERT_EQ(polylines[2].size(), 2u) << "a lone sample repeats its point";
  EXPECT_EQ(polylines[2][0], polylines[2][1]);
  EXPECT_NE(figure.find("arrivals per second</li>"), std::string::npos);
  EXPECT_EQ(figure.find("waiting</li>"), std::string::npos) << "a missing series has no legend";
}

// Missing keys, wrong types and arrays shorter or longer than t are skipped, not crashed on.
TEST(OnsaleHtml, MissingAndMalformedPartsAreSkipped) {
  EXPECT_NE(RenderOnsaleHtml(json::object{}).find("</html>"), std::string::npos);
  const json::object broken = json::parse(R"({
    "event_id": 7, "url": null, "options": [], "summary": "none", "audit": 3,
    "series": {"t": [0, 1, 2], "arrivals": [1, 2, 3, 4, 5, 6], "queue_waiting": [9],
               "active": "x", "held": [null, null, null], "sold": [true, {}, []]},
    "latency_ms": {"join": 5, "hold": {"p50": "x", "all": []}},
    "errors_by_code": {"a": "b"}, "phases": [1, {"name": 2}],
    "time_in_queue_s": {"histogram": {"counts": [1, null, "x", 4]}},
    "simulator": [], "chaos": "restarted"
  })")
                                  .as_object();
  const std::string html = RenderOnsaleHtml(broken);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  const auto polylines = Polylines(FigureWith(html, kArrivalsCaption));
  ASSERT_EQ(polylines.size(), 2u);
  EXPECT_EQ(polylines[0].size(), 3u) << "arrivals past the end of t are dropped";
  EXPECT_EQ(polylines[1].size(), 2u) << "queue_waiting has one sample";
  EXPECT_TRUE(FigureWith(html, "Active fans and held seats").empty());
  EXPECT_NE(html.find("Active fans and held seats: no samples in this report."), std::string::npos);
  EXPECT_EQ(Occurrences(html, "<rect class=\"bar\""), 4u);
}

// A two-hour series is cut to at most 600 points per line, and its one-second spike survives.
TEST(OnsaleHtml, LongSeriesAreDownsampledKeepingSpikes) {
  json::object report = SampleReport();
  json::object& series = report["series"].as_object();
  json::array t, arrivals;
  for (int second = 0; second < 7200; ++second) {
    t.push_back(second);
    arrivals.push_back(second == 5003 ? 1000 : 1);
  }
  series["t"] = t;
  series["arrivals"] = arrivals;
  series.erase("queue_waiting");
  const auto polylines = Polylines(FigureWith(RenderOnsaleHtml(report), kArrivalsCaption));
  ASSERT_EQ(polylines.size(), 1u);
  EXPECT_LE(polylines[0].size(), 600u);
  EXPECT_GE(polylines[0].size(), 500u);
  double top = 1e9, bottom = 0;
  for (const std::string& point : polylines[0]) {
    top = std::min(top, YOf(point));
    bottom = std::max(bottom, YOf(point));
  }
  EXPECT_GT(bottom - top, 120) << "the spike reaches the top of the plot";
}

// Errors by code are listed most frequent first.
TEST(OnsaleHtml, ErrorsByCodeAreSortedByCountDescending) {
  const std::string html = RenderOnsaleHtml(SampleReport());
  const std::size_t conflict = html.find("<th scope=\"row\">seat_conflict</th><td>40</td>");
  const std::size_t limited = html.find("<th scope=\"row\">rate_limited</th><td>3</td>");
  const std::size_t transport = html.find("<th scope=\"row\">transport</th><td>2</td>");
  ASSERT_NE(transport, std::string::npos);
  EXPECT_LT(conflict, limited);
  EXPECT_LT(limited, transport);
}

// A simulator that was the bottleneck says so, with its reason; a bench restart shows its chaos.
TEST(OnsaleHtml, BottleneckWarningAndChaosBlock) {
  json::object report = SampleReport();
  report["simulator"].as_object()["bottleneck"] = true;
  report["simulator"].as_object()["bottleneck_reason"] = "send lag p99 142 ms > 100 ms";
  report["chaos"] = json::object{{"restarts", 1}, {"outage_s", 2.3}};
  const std::string html = RenderOnsaleHtml(report);
  const std::size_t warning = html.find("<p class=\"warning\">");
  ASSERT_NE(warning, std::string::npos);
  EXPECT_NE(html.find("send lag p99 142 ms &gt; 100 ms", warning), std::string::npos);
  EXPECT_NE(html.find("<h2>Chaos</h2>"), std::string::npos);
  EXPECT_NE(html.find("<th scope=\"row\">restarts</th><td>1</td>"), std::string::npos);
  EXPECT_NE(html.find("<th scope=\"row\">outage_s</th><td>2.3</td>"), std::string::npos);
}

}  // namespace
}  // namespace boxoffice::tools::onsale
