#include "tools/onsale_html.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json_text.hpp"

namespace boxoffice::tools::onsale {
namespace {

namespace json = boost::json;

// A two-hour run has 7,200 samples per series and a chart is about 400 px wide: more points than
// pixels only make the page heavier.
constexpr std::size_t kLinePointsMax = 600;
// Limits on what a (possibly corrupt) report can make the page draw.
constexpr std::size_t kTableRowsMax = 200;
constexpr std::size_t kHistogramBarsMax = 60;
constexpr std::size_t kAxisTicksMax = 20;
// Chart geometry in SVG user units (the viewBox); CSS scales the SVG to its column.
constexpr double kChartWidth = 460, kWideChartWidth = 920, kChartHeight = 220;
constexpr double kPlotLeft = 52, kPlotRight = 22, kPlotTop = 12, kPlotBottom = 38;
// Megabytes are decimal (10^6 bytes); the captions say "MB".
constexpr double kBytesPerMegabyte = 1e6;
constexpr std::string_view kMissing = "n/a";

// Every colour has at least 4.5:1 contrast on white, and every line has its own dash pattern, so
// the lines of a chart differ without colour and on a black-and-white print.
struct LineStyle {
  const char* colour;
  const char* dash;
};
constexpr LineStyle kStyles[] = {
    {"#1f5aa6", "none"}, {"#b34d00", "7 4"}, {"#2d7a3a", "2 3"}, {"#6b3fa0", "10 3 2 3"}};
constexpr std::size_t kStyleCount = sizeof kStyles / sizeof kStyles[0];

constexpr std::pair<char, std::string_view> kEntities[] = {
    {'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}, {'\'', "&#39;"}};

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto* entity = std::find_if(std::begin(kEntities), std::end(kEntities),
                                      [c](const auto& pair) { return pair.first == c; });
    out += entity == std::end(kEntities) ? std::string_view(&c, 1) : entity->second;
  }
  return out;
}

// ---- Numbers ----

// `value` through `format`, a literal printf format of one double ("%.1f").
std::string Printf(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// `value` rounded to an integer, with commas between thousands: 1,000,000.
std::string Grouped(double value) {
  const std::string digits = Printf("%.0f", std::fabs(value));
  std::string out = value <= -0.5 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Integers and anything from 1,000 up grouped, smaller fractions to three significant digits.
std::string FormatNumber(double value) {
  const double magnitude = std::fabs(value);
  if (magnitude >= 1e15) return Printf("%.3g", value);
  if (magnitude >= 999.5 || value == std::floor(value)) return Grouped(value);
  return Printf("%.3g", value);
}

// Axis labels stay short, in one unit per axis: 0, 2.5k, 5k, 7.5k, 10k.
std::string TickLabel(double value, double axis_max) {
  if (std::fabs(axis_max) >= 1e6) return Printf("%.3g", value / 1e6) + (value == 0 ? "" : "M");
  if (std::fabs(axis_max) >= 1e4) return Printf("%.3g", value / 1e3) + (value == 0 ? "" : "k");
  return FormatNumber(value);
}

std::string Number(std::optional<double> value) {
  return value ? FormatNumber(*value) : std::string(kMissing);
}
std::string OneDecimal(std::optional<double> value) {
  return value ? Printf("%.1f", *value) : std::string(kMissing);
}
std::string Seconds(std::optional<double> value) {
  return value ? Printf("%.1f", *value) + " s" : std::string(kMissing);
}
std::string Megabytes(std::optional<double> bytes) {
  return Number(bytes ? std::optional(*bytes / kBytesPerMegabyte) : std::nullopt);
}

// ---- Reading the report: every accessor accepts a missing parent and a mistyped value ----

const json::value* ValueAt(const json::object* parent, std::string_view key) {
  return parent == nullptr ? nullptr : parent->if_contains(key);
}
const json::object* ObjectAt(const json::object* parent, std::string_view key) {
  const json::value* value = ValueAt(parent, key);
  return value == nullptr ? nullptr : value->if_object();
}
const json::array* ArrayAt(const json::object* parent, std::string_view key) {
  const json::value* value = ValueAt(parent, key);
  return value == nullptr ? nullptr : value->if_array();
}

// Any JSON number as a double; nothing for anything else (null included).
std::optional<double> NumberOf(const json::value& value) {
  json::error_code error;
  const double number = value.to_number<double>(error);
  if (error || !std::isfinite(number)) return std::nullopt;
  return number;
}
std::optional<double> NumberAt(const json::object* parent, std::string_view key) {
  const json::value* value = ValueAt(parent, key);
  return value == nullptr ? std::nullopt : NumberOf(*value);
}
bool IsTrue(const json::object* parent, std::string_view key) {
  const json::value* value = ValueAt(parent, key);
  return value != nullptr && value->is_bool() && value->get_bool();
}

// Any value as plain text (escaped later): strings as they are, numbers formatted.
std::string TextOf(const json::value& value) {
  if (const json::string* text = value.if_string()) return std::string(*text);
  if (const std::optional<double> number = NumberOf(value)) return FormatNumber(*number);
  if (value.is_bool()) return value.get_bool() ? "yes" : "no";
  if (value.is_null()) return std::string(kMissing);
  return SerializeJson(value);
}
std::string TextAt(const json::object* parent, std::string_view key) {
  const json::value* value = ValueAt(parent, key);
  return value == nullptr ? std::string(kMissing) : TextOf(*value);
}

// ---- Tables ----

// Plain-text cells; the first cell of a row is its header.
struct Table {
  std::string caption;
  std::vector<std::string> headers;
  bool numeric = false;  // right-align the data cells
  std::vector<std::vector<std::string>> rows = {};
  std::vector<bool> failed_rows = {};  // highlighted; may be shorter than rows
};

std::string RenderTable(const Table& table) {
  std::string html = table.numeric ? "<table class=\"numbers\">" : "<table>";
  html += "<caption>" + Escape(table.caption) + "</caption>\n<thead><tr>";
  for (const std::string& header : table.headers) {
    html += "<th scope=\"col\">" + Escape(header) + "</th>";
  }
  html += "</tr></thead>\n<tbody>\n";
  for (std::size_t row = 0; row < table.rows.size() && row < kTableRowsMax; ++row) {
    const bool failed = row < table.failed_rows.size() && table.failed_rows[row];
    html += failed ? "<tr class=\"failed\">" : "<tr>";
    for (std::size_t cell = 0; cell < table.rows[row].size(); ++cell) {
      const std::string text = Escape(table.rows[row][cell]);
      html += cell == 0 ? "<th scope=\"row\">" + text + "</th>" : "<td>" + text + "</td>";
    }
    html += "</tr>\n";
  }
  html += "</tbody></table>\n";
  if (table.rows.size() > kTableRowsMax) {
    html += "<p class=\"note\">" + Grouped(static_cast<double>(table.rows.size() - kTableRowsMax)) +
            " more rows not shown.</p>\n";
  }
  return html;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Name/value pairs laid out `per_row` to a row, so a dozen figures take a few lines.
std::string PairsTable(std::string_view caption, const Pairs& pairs, std::size_t per_row) {
  std::string html = "<table class=\"pairs\"><caption>" + Escape(caption) + "</caption>\n<tbody>";
  for (std::size_t i = 0; i < pairs.size() && i < kTableRowsMax * per_row; ++i) {
    if (i % per_row == 0) html += i == 0 ? "<tr>" : "</tr>\n<tr>";
    html += "<th scope=\"row\">" + Escape(pairs[i].first) + "</th><td>" + Escape(pairs[i].second) +
            "</td>";
  }
  html += pairs.empty() ? "" : "</tr>";
  return html + "</tbody></table>\n";
}

std::string Section(std::string_view heading, std::string_view body) {
  return "<section>\n<h2>" + Escape(heading) + "</h2>\n" + std::string(body) + "</section>\n";
}
std::string Note(std::string_view text) { return "<p class=\"note\">" + Escape(text) + "</p>\n"; }

// ---- Charts ----

struct Sample {
  double t;
  std::optional<double> y;
};
using Samples = std::vector<Sample>;

// `values` against the times `times` (null when the report has none: then t[i] is i, as the
// schema says). A null time or value is a gap; values past the end of `times` are dropped.
Samples SeriesOf(const json::array* times, const json::array* values, double scale = 1) {
  Samples samples;
  if (values == nullptr) return samples;
  for (std::size_t i = 0; i < values->size(); ++i) {
    std::optional<double> t = static_cast<double>(i);
    if (times != nullptr) {
      if (i >= times->size()) break;
      t = NumberOf((*times)[i]);
    }
    std::optional<double> y = NumberOf((*values)[i]);
    if (!t) y.reset();
    samples.push_back({t.value_or(0), y ? std::optional(*y * scale) : std::nullopt});
  }
  return samples;
}

// At most kLinePointsMax samples: each bucket of consecutive samples keeps its largest value, at
// that value's own time, so a one-second spike in a two-hour run still shows. A bucket is a gap
// only when all of it is one: a gap shorter than a bucket is drawn over.
Samples Downsample(const Samples& samples) {
  if (samples.size() <= kLinePointsMax) return samples;
  const std::size_t bucket = (samples.size() + kLinePointsMax - 1) / kLinePointsMax;
  Samples kept;
  for (std::size_t begin = 0; begin < samples.size(); begin += bucket) {
    Sample best{samples[begin].t, std::nullopt};
    for (std::size_t i = begin; i < std::min(begin + bucket, samples.size()); ++i) {
      if (samples[i].y && (!best.y || *samples[i].y > *best.y)) best = samples[i];
    }
    kept.push_back(best);
  }
  return kept;
}

struct Axis {
  double low, high, step;
};

// An axis over [low, high] and 0, in steps of 1, 2, 2.5 or 5 times a power of ten, about
// `intervals` of them, so the maximum is a round number.
Axis NiceAxis(double low, double high, int intervals) {
  low = std::min(low, 0.0);
  high = std::max(high, 0.0);
  if (high - low <= 0) high = low + 1;
  const double raw = (high - low) / intervals;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * power;
  for (const double factor : {1.0, 2.0, 2.5, 5.0}) {
    if (factor * power >= raw * (1 - 1e-9)) {
      step = factor * power;
      break;
    }
  }
  return {std::floor(low / step + 1e-9) * step, std::ceil(high / step - 1e-9) * step, step};
}

std::vector<double> Ticks(const Axis& axis) {
  std::vector<double> ticks;
  const double count = std::round((axis.high - axis.low) / axis.step);
  for (std::size_t i = 0; i <= kAxisTicksMax && static_cast<double>(i) <= count; ++i) {
    ticks.push_back(axis.low + static_cast<double>(i) * axis.step);
  }
  return ticks;
}

// Maps data to SVG user units.
struct Plot {
  double width;
  Axis x, y;
  double X(double t) const {
    return kPlotLeft + (t - x.low) / (x.high - x.low) * (width - kPlotLeft - kPlotRight);
  }
  double Y(double value) const {
    return kChartHeight - kPlotBottom -
           (value - y.low) / (y.high - y.low) * (kChartHeight - kPlotTop - kPlotBottom);
  }
};

std::string Coordinate(double value) { return Printf("%.1f", value); }

std::string SvgOpen(double width, std::string_view label) {
  return "<svg class=\"chart\" viewBox=\"0 0 " + Coordinate(width) + " " +
         Coordinate(kChartHeight) + "\" role=\"img\" aria-label=\"" + Escape(label) + "\">\n";
}

std::string Text(double x, double y, std::string_view anchor, std::string_view text) {
  return "<text x=\"" + Coordinate(x) + "\" y=\"" + Coordinate(y) + "\" text-anchor=\"" +
         std::string(anchor) + "\">" + Escape(text) + "</text>";
}

std::string LineElement(std::string_view css_class, double x1, double y1, double x2, double y2) {
  return "<line class=\"" + std::string(css_class) + "\" x1=\"" + Coordinate(x1) + "\" y1=\"" +
         Coordinate(y1) + "\" x2=\"" + Coordinate(x2) + "\" y2=\"" + Coordinate(y2) + "\"/>";
}
std::string HorizontalLine(const Plot& plot, double y, std::string_view css_class) {
  return LineElement(css_class, kPlotLeft, y, plot.width - kPlotRight, y);
}

// Grid lines and labels for the y axis, and the x axis line.
std::string YAxisSvg(const Plot& plot) {
  std::string svg;
  for (const double value : Ticks(plot.y)) {
    svg += HorizontalLine(plot, plot.Y(value), "grid");
    svg += Text(kPlotLeft - 6, plot.Y(value) + 4, "end", TickLabel(value, plot.y.high)) + "\n";
  }
  return svg + HorizontalLine(plot, plot.Y(plot.y.low), "axis") + "\n";
}

std::string TimeAxisSvg(const Plot& plot) {
  std::string svg;
  const double bottom = kChartHeight - kPlotBottom;
  for (const double t : Ticks(plot.x)) {
    svg += LineElement("axis", plot.X(t), bottom, plot.X(t), bottom + 4);
    svg += Text(plot.X(t), bottom + 16, "middle", TickLabel(t, plot.x.high)) + "\n";
  }
  const double middle = (kPlotLeft + plot.width - kPlotRight) / 2;
  return svg + Text(middle, kChartHeight - 4, "middle", "seconds since start") + "\n";
}

// One polyline per run of samples between gaps. A lone sample repeats its point: the round
// line cap draws it as a dot.
std::string LineSvg(const Plot& plot, const Samples& samples, std::size_t style) {
  const std::string open =
      "<polyline class=\"s" + std::to_string(style % kStyleCount) + "\" points=\"";
  std::string svg, points, point;
  std::size_t run = 0;
  for (std::size_t i = 0; i <= samples.size(); ++i) {
    if (i < samples.size() && samples[i].y) {
      point = Coordinate(plot.X(samples[i].t)) + "," + Coordinate(plot.Y(*samples[i].y));
      points += (run++ == 0 ? "" : " ") + point;
      continue;
    }
    if (run > 0) svg += open + points + (run == 1 ? " " + point : "") + "\"/>\n";
    points.clear();
    run = 0;
  }
  return svg;
}

struct Line {
  std::string label;
  Samples samples;  // empty when the report has no such series
  std::size_t style;
};

std::string Legend(const std::vector<Line>& lines) {
  std::string html = "<ul class=\"legend\">";
  for (const Line& line : lines) {
    if (line.samples.empty()) continue;
    html += "<li><svg viewBox=\"0 0 32 10\" aria-hidden=\"true\"><line class=\"s" +
            std::to_string(line.style % kStyleCount) + "\" x1=\"0\" y1=\"5\" x2=\"32\" y2=\"5\"/>" +
            "</svg>" + Escape(line.label) + "</li>";
  }
  return html + "</ul>\n";
}

std::string Figure(std::string_view caption, std::string_view body, bool wide = false) {
  return std::string(wide ? "<figure class=\"wide\">" : "<figure>") + std::string(body) +
         "<figcaption>" + Escape(caption) + "</figcaption></figure>\n";
}

// A chart of `lines` over time; a note instead when none of them has a sample.
std::string LineChart(std::string_view caption, std::vector<Line> lines) {
  std::optional<Plot> plot;
  std::string label = std::string(caption) + ", over time:";
  for (Line& line : lines) {
    line.samples = Downsample(line.samples);
    std::optional<double> line_max;
    for (const Sample& sample : line.samples) {
      if (!sample.y) continue;
      if (!plot) plot = Plot{kChartWidth, {sample.t, sample.t, 1}, {*sample.y, *sample.y, 1}};
      plot->x = {std::min(plot->x.low, sample.t), std::max(plot->x.high, sample.t), 1};
      plot->y = {std::min(plot->y.low, *sample.y), std::max(plot->y.high, *sample.y), 1};
      line_max = std::max(line_max.value_or(*sample.y), *sample.y);
    }
    if (line_max) label += " " + line.label + " peaks at " + FormatNumber(*line_max) + ";";
  }
  if (!plot) return Note(std::string(caption) + ": no samples in this report.");
  plot->x = NiceAxis(plot->x.low, plot->x.high, 5);
  plot->y = NiceAxis(plot->y.low, plot->y.high, 4);
  std::string svg = SvgOpen(plot->width, label) + YAxisSvg(*plot) + TimeAxisSvg(*plot);
  for (const Line& line : lines) svg += LineSvg(*plot, line.samples, line.style);
  return Figure(caption, svg + "</svg>\n" + Legend(lines));
}

struct SeriesLine {
  const char* key;
  const char* label;
  double scale = 1;
};

std::string SeriesChart(const json::object* series, std::string_view caption,
                        std::initializer_list<SeriesLine> specs) {
  std::vector<Line> lines;
  for (const SeriesLine& spec : specs) {
    lines.push_back({spec.label,
                     SeriesOf(ArrayAt(series, "t"), ArrayAt(series, spec.key), spec.scale),
                     lines.size()});
  }
  return LineChart(caption, std::move(lines));
}

// Bucket `i` of a histogram of `bounds`, named by its upper bound; the one past the last bound
// is "> last".
std::string BucketLabel(const json::array* bounds, std::size_t i) {
  const std::size_t bound_count = bounds == nullptr ? 0 : bounds->size();
  if (i < bound_count) return "≤ " + Number(NumberOf((*bounds)[i]));
  if (i == bound_count && i > 0) return "> " + Number(NumberOf((*bounds)[i - 1]));
  return "bucket " + std::to_string(i + 1);
}

// Bars of `counts`, each labelled with its count.
std::string Histogram(std::string_view caption, const json::array* bounds,
                      const json::array& counts) {
  const std::size_t bars = std::min(counts.size(), kHistogramBarsMax);
  double count_max = 0;
  for (std::size_t i = 0; i < bars; ++i) {
    count_max = std::max(count_max, NumberOf(counts[i]).value_or(0));
  }
  Plot plot{kWideChartWidth, {0, static_cast<double>(bars), 1}, NiceAxis(0, count_max, 4)};
  std::string label = std::string(caption) + ":";
  std::string svg;
  for (std::size_t i = 0; i < bars; ++i) {
    const double count = NumberOf(counts[i]).value_or(0), position = static_cast<double>(i);
    const std::string bucket = BucketLabel(bounds, i);
    const double left = plot.X(position + 0.15), right = plot.X(position + 0.85);
    svg += "<rect class=\"bar\" x=\"" + Coordinate(left) + "\" width=\"" +
           Coordinate(right - left) + "\" y=\"" + Coordinate(plot.Y(count)) + "\" height=\"" +
           Coordinate(plot.Y(0) - plot.Y(count)) + "\"/>";
    if (count > 0) {
      svg += Text(plot.X(position + 0.5), plot.Y(count) - 3, "middle", FormatNumber(count));
    }
    svg += Text(plot.X(position + 0.5), kChartHeight - kPlotBottom + 16, "middle", bucket) + "\n";
    label += " " + bucket + " s: " + FormatNumber(count) + ";";
  }
  const std::string axis_title = Text(plot.width / 2, kChartHeight - 4, "middle",
                                      "seconds in the queue (bar: up to its bound)");
  return Figure(caption,
                SvgOpen(plot.width, label) + YAxisSvg(plot) + svg + axis_title + "</svg>\n", true);
}

// ---- Sections ----

constexpr std::size_t kLatencyStepsMax = 16;

// Passed only when the audit says so and every check it lists agrees: the page must not say
// "passed" over a failed check, nor for a report without an audit.
bool AuditPassed(const json::object* audit) {
  if (!IsTrue(audit, "passed")) return false;
  if (const json::array* checks = ArrayAt(audit, "checks")) {
    for (const json::value& check : *checks) {
      if (!IsTrue(check.if_object(), "passed")) return false;
    }
  }
  return true;
}

std::string Header(const json::object* report) {
  const json::object* audit = ObjectAt(report, "audit");
  const bool passed = AuditPassed(audit);
  std::string html = "<h1>On-sale run " + Escape(TextAt(report, "event_id")) + "</h1>\n";
  // The url is the address of a server that was under test: text, never a link.
  html += "<p class=\"run\">Server <code>" + Escape(TextAt(report, "url")) + "</code> · started " +
          Escape(TextAt(report, "started_at")) + " · report version " +
          Escape(TextAt(report, "version")) + "</p>\n";
  html += passed ? "<p class=\"verdict pass\">Audit passed</p>\n"
                 : "<p class=\"verdict fail\">Audit FAILED</p>\n";
  return html;
}

std::string AuditSection(const json::object* audit) {
  Table table{.caption = "Audit checks", .headers = {"Check", "Result", "Detail"}};
  if (const json::array* checks = ArrayAt(audit, "checks")) {
    for (const json::value& value : *checks) {
      const json::object* check = value.if_object();
      if (check == nullptr) continue;
      const bool passed = IsTrue(check, "passed");
      table.rows.push_back(
          {TextAt(check, "name"), passed ? "passed" : "failed", TextAt(check, "detail")});
      table.failed_rows.push_back(!passed);
    }
  }
  std::string body = audit == nullptr ? Note("The report has no audit.") : "";
  body += table.rows.empty() ? Note("No audit checks in the report.") : RenderTable(table);
  const std::optional<double> tau = NumberAt(audit, "kendall_tau");
  body += "<p>Kendall tau of admission order against join order: <strong>" +
          (tau ? Escape(FormatNumber(*tau)) : "n/a (fewer than 2 fans admitted)") +
          "</strong> (1 is a perfectly fair queue).</p>\n";
  return Section("Audit", body);
}

std::string OptionsSection(const json::object* options) {
  if (options == nullptr) return Section("Options", Note("The report has no options."));
  Pairs pairs;
  for (const auto& [name, value] : *options) pairs.emplace_back(std::string(name), TextOf(value));
  return Section("Options", PairsTable("Options of the run", pairs, 4));
}

std::string SummarySection(const json::object* summary) {
  const auto seconds_or = [&](std::string_view key, std::string_view if_null) {
    const json::value* value = ValueAt(summary, key);
    if (value != nullptr && value->is_null()) return std::string(if_null);
    return Seconds(NumberAt(summary, key));
  };
  const auto number = [&](std::string_view key) { return Number(NumberAt(summary, key)); };
  const Pairs pairs = {
      {"Fans", number("fans")},
      {"Seats", number("seats")},
      {"Admitted", number("admitted")},
      {"Bought", number("bought")},
      {"Orders confirmed", number("orders_confirmed")},
      {"Seats sold", number("seats_sold")},
      {"Gave up", number("gave_up")},
      {"Time to sell out", seconds_or("sold_out_after_s", "did not sell out")},
      {"Every waiting fan knew after", seconds_or("all_knew_after_s", "n/a (not sold out)")},
      {"Duration", Seconds(NumberAt(summary, "duration_s"))},
      {"Requests", number("requests")},
      {"Errors", number("errors")},
      {"Max requests/s", number("requests_per_s_max")}};
  return Section("Summary", PairsTable("Summary figures of the run", pairs, 3));
}

std::string Charts(std::string_view figures) {
  return "<div class=\"charts\">\n" + std::string(figures) + "</div>\n";
}

std::string TimelineSections(const json::object* series) {
  std::string html = Section(
      "Arrivals, queue and admission",
      Charts(SeriesChart(series, "Arrivals per second and fans waiting in the queue",
                         {{"arrivals", "arrivals per second"}, {"queue_waiting", "waiting"}}) +
             SeriesChart(series, "Admissions per second against the configured rate (dashed)",
                         {{"admitted_per_s", "admitted per second"},
                          {"admission_rate_per_s", "configured rate per second"}})));
  html += Section("Fans on the site and sales",
                  Charts(SeriesChart(series, "Active fans and held seats",
                                     {{"active", "active fans"}, {"held", "held seats"}}) +
                         SeriesChart(series, "Seats sold (cumulative)", {{"sold", "seats sold"}}) +
                         SeriesChart(series, "Orders confirmed per second",
                                     {{"orders_per_s", "orders per second"}})));
  html += Section(
      "Requests and errors",
      Charts(SeriesChart(series, "Requests sent per second", {{"requests_per_s", "requests/s"}}) +
             SeriesChart(series, "Errors per second", {{"errors_per_s", "errors/s"}})));
  html +=
      Section("Server and simulator resources",
              Charts(SeriesChart(series, "Server memory (RSS, MB)",
                                 {{"server_rss_bytes", "server RSS (MB)", 1 / kBytesPerMegabyte}}) +
                     SeriesChart(series, "CPU used (cores): server and simulator",
                                 {{"server_cpu_per_s", "server"}, {"sim_cpu_per_s", "simulator"}}) +
                     SeriesChart(series, "Simulator send lag p99 (ms)",
                                 {{"send_lag_ms_p99", "send lag p99 (ms)"}})));
  return html;
}

std::string LatencySection(const json::object* latency, const json::array* times) {
  if (latency == nullptr) return Section("Latency per step", Note("No latency in the report."));
  Table table{.caption = "Whole-run latency per step (ms)",
              .headers = {"Step", "Requests", "p50", "p95", "p99", "max"},
              .numeric = true};
  std::string charts;
  for (const auto& [name, value] : *latency) {
    const json::object* step = value.if_object();
    if (step == nullptr || table.rows.size() >= kLatencyStepsMax) continue;
    std::vector<Line> lines;
    for (const char* quantile : {"p50", "p95", "p99"}) {
      lines.push_back({quantile, SeriesOf(times, ArrayAt(step, quantile)), lines.size()});
    }
    charts += LineChart("Latency of " + std::string(name) + " (ms): p50, p95, p99", lines);
    const json::object* all = ObjectAt(step, "all");
    table.rows.push_back({std::string(name), Number(NumberAt(all, "count")),
                          Number(NumberAt(all, "p50")), Number(NumberAt(all, "p95")),
                          Number(NumberAt(all, "p99")), Number(NumberAt(all, "max"))});
  }
  return Section("Latency per step", Charts(charts) + RenderTable(table));
}

std::string ErrorsSection(const json::object* errors_by_code) {
  std::vector<std::pair<std::string, double>> codes;
  if (errors_by_code != nullptr) {
    for (const auto& [code, value] : *errors_by_code) {
      if (const std::optional<double> count = NumberOf(value)) codes.emplace_back(code, *count);
    }
  }
  std::sort(codes.begin(), codes.end(), [](const auto& left, const auto& right) {
    return left.second != right.second ? left.second > right.second : left.first < right.first;
  });
  Table table{.caption = "Errors by code, most frequent first",
              .headers = {"Code", "Count"},
              .numeric = true};
  for (const auto& [code, count] : codes) table.rows.push_back({code, FormatNumber(count)});
  return Section("Errors by code",
                 codes.empty() ? Note("No errors by code in the report.") : RenderTable(table));
}

std::string QueueTimeSection(const json::object* time_in_queue) {
  const json::object* histogram = ObjectAt(time_in_queue, "histogram");
  const json::array* counts = ArrayAt(histogram, "counts");
  const std::string caption = "Time in queue: join answered to admitted, admitted fans";
  std::string body = counts == nullptr || counts->empty()
                         ? Note("No time-in-queue histogram in the report.")
                         : Histogram(caption, ArrayAt(histogram, "bounds"), *counts);
  const Pairs pairs = {{"Fans", Number(NumberAt(time_in_queue, "count"))},
                       {"p50", Seconds(NumberAt(time_in_queue, "p50"))},
                       {"p95", Seconds(NumberAt(time_in_queue, "p95"))},
                       {"p99", Seconds(NumberAt(time_in_queue, "p99"))},
                       {"max", Seconds(NumberAt(time_in_queue, "max"))}};
  return Section("Time in queue", body + PairsTable("Time in queue", pairs, 5));
}

std::string PhasesSection(const json::array* phases) {
  Table table{.caption = "Phases of the run",
              .headers = {"Phase", "From (s)", "To (s)", "Server RSS max (MB)", "Server CPU (s)",
                          "Simulator CPU (s)"},
              .numeric = true};
  if (phases != nullptr) {
    for (const json::value& value : *phases) {
      const json::object* phase = value.if_object();
      if (phase == nullptr) continue;
      table.rows.push_back(
          {TextAt(phase, "name"), OneDecimal(NumberAt(phase, "from_s")),
           OneDecimal(NumberAt(phase, "to_s")), Megabytes(NumberAt(phase, "server_rss_max_bytes")),
           OneDecimal(NumberAt(phase, "server_cpu_s")), OneDecimal(NumberAt(phase, "sim_cpu_s"))});
    }
  }
  return Section("Phases",
                 table.rows.empty() ? Note("No phases in the report.") : RenderTable(table));
}

std::string SimulatorSection(const json::object* simulator) {
  if (simulator == nullptr) return Section("Simulator", Note("No simulator block in the report."));
  std::string body;
  if (IsTrue(simulator, "bottleneck")) {
    std::string reason = TextAt(simulator, "bottleneck_reason");
    if (reason.empty() || reason == kMissing) reason = "no reason given";
    body += "<p class=\"warning\"><strong>Warning: the simulator was the bottleneck</strong> (" +
            Escape(reason) +
            "). The server may have been able to take more than these figures show.</p>\n";
  }
  const json::object* send_lag = ObjectAt(simulator, "send_lag_ms");
  const Pairs pairs = {{"CPU time", Seconds(NumberAt(simulator, "cpu_s"))},
                       {"Connections", Number(NumberAt(simulator, "connections"))},
                       {"Fans in flight max", Number(NumberAt(simulator, "fans_in_flight_max"))},
                       {"Send lag p50 (ms)", Number(NumberAt(send_lag, "p50"))},
                       {"Send lag p99 (ms)", Number(NumberAt(send_lag, "p99"))},
                       {"Send lag max (ms)", Number(NumberAt(send_lag, "max"))},
                       {"Bottleneck", IsTrue(simulator, "bottleneck") ? "yes" : "no"}};
  return Section("Simulator", body + PairsTable("The simulator's own health", pairs, 3));
}

std::string ChaosSection(const json::value* chaos) {
  if (chaos == nullptr || chaos->is_null()) return "";
  const json::object* fields = chaos->if_object();
  if (fields == nullptr) return Section("Chaos", "<p>" + Escape(TextOf(*chaos)) + "</p>\n");
  Pairs pairs;
  for (const auto& [name, value] : *fields) pairs.emplace_back(std::string(name), TextOf(value));
  return Section("Chaos", PairsTable("Server restarts by the bench", pairs, 3));
}

std::string Style() {
  std::string css =
      R"(body{margin:0;color:#1a1a1a;background:#fff;font:15px/1.45 system-ui,sans-serif}
main{max-width:960px;margin:0 auto;padding:12px 20px 40px}h1{font-size:1.6em;margin:.3em 0}
h2{font-size:1.25em;margin:1.5em 0 .5em;border-bottom:1px solid #bbb}.run{margin:.2em 0}
.note{color:#444;font-style:italic}.pass{color:#1b5e20;background:#e8f5e9}
.verdict{display:inline-block;font-size:2em;font-weight:700;margin:.4em 0;padding:.2em .6em;
border:3px solid}.fail{color:#b71c1c;background:#ffebee}
caption{text-align:left;font-weight:600;white-space:nowrap}
table{border-collapse:collapse;margin:.4em 0 .8em;font-variant-numeric:tabular-nums}
th,td{border:1px solid #bbb;padding:3px 8px;text-align:left;vertical-align:top}
thead th,.pairs th{background:#f2f2f2}table.numbers td{text-align:right}
tr.failed th,tr.failed td{color:#b71c1c;font-weight:700}
.warning{border:2px solid #8a5a00;background:#fff4d6;color:#4d3200;padding:.5em .8em}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:14px 24px}
figure{margin:0}figure.wide{grid-column:1/-1}figcaption{font-weight:600;font-size:.95em}
svg.chart{display:block;width:100%;height:auto}svg text{font-size:11px;fill:#333}
.grid{stroke:#e0e0e0}.axis{stroke:#666}
polyline{fill:none;stroke-width:1.8;stroke-linejoin:round;stroke-linecap:round}
rect.bar{fill:#1f5aa6}.legend{display:flex;flex-wrap:wrap;gap:2px 16px;list-style:none;margin:2px 0;
padding:0;font-size:.9em}.legend line{stroke-width:2.5}
.legend svg{display:inline-block;width:32px;height:10px;margin-right:5px;vertical-align:middle}
@media print{main{max-width:none;padding:0}h2{break-after:avoid}figure,table{break-inside:avoid}}
)";
  for (std::size_t i = 0; i < kStyleCount; ++i) {
    const std::string name = ".s" + std::to_string(i);
    css += name + "{stroke:" + kStyles[i].colour + ";stroke-dasharray:" + kStyles[i].dash + "}";
  }
  return css;
}

}  // namespace

std::string RenderOnsaleHtml(const json::object& report) {
  const json::object* root = &report;
  const json::object* series = ObjectAt(root, "series");
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>boxoffice onsale: " + Escape(TextAt(root, "event_id")) + "</title>\n";
  html += "<style>\n" + Style() + "</style>\n</head>\n<body>\n<main>\n";
  html += Header(root);
  html += AuditSection(ObjectAt(root, "audit"));
  html += OptionsSection(ObjectAt(root, "options"));
  html += SummarySection(ObjectAt(root, "summary"));
  html += TimelineSections(series);
  html += LatencySection(ObjectAt(root, "latency_ms"), ArrayAt(series, "t"));
  html += ErrorsSection(ObjectAt(root, "errors_by_code"));
  html += QueueTimeSection(ObjectAt(root, "time_in_queue_s"));
  html += PhasesSection(ArrayAt(root, "phases"));
  html += SimulatorSection(ObjectAt(root, "simulator"));
  html += ChaosSection(ValueAt(root, "chaos"));
  return html + "</main>\n</body>\n</html>\n";
}

}  // namespace boxoffice::tools::onsale
