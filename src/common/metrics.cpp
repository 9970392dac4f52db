#include "common/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_map>

namespace boxoffice {
namespace {

constexpr std::string_view kTypeCounter = "counter";
constexpr std::string_view kTypeGauge = "gauge";
constexpr std::string_view kTypeHistogram = "histogram";

// Histogram sums are kept in nanos of the metric's unit so that a plain 64-bit atomic can hold
// them; read back as a signed value so that negative observations still add up correctly.
constexpr double kSumScale = 1e9;

// Exposition 0.0.4 escapes backslash, double quote and newline in label values.
void AppendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// HELP text escapes only backslash and newline.
void AppendHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// Shortest text that reads back to the same double; plain decimals for the usual range so that
// bucket bounds read "0.00005" rather than "5e-05".
void AppendDouble(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buffer[64];
  const double magnitude = std::fabs(value);
  const bool plain = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15);
  const auto result =
      plain ? std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed)
            : std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

void AppendUnsigned(std::string& out, std::uint64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

// `a="x",b="y"` without braces, so histogram lines can append `le`.
std::string RenderLabels(const MetricLabels& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out += name;
    out += "=\"";
    AppendLabelValue(out, value);
    out += '"';
  }
  return out;
}

void AppendSeriesName(std::string& out, std::string_view name, std::string_view suffix,
                      std::string_view labels, std::string_view extra_label = {}) {
  out += name;
  out += suffix;
  if (labels.empty() && extra_label.empty()) return;
  out += '{';
  out += labels;
  if (!labels.empty() && !extra_label.empty()) out += ',';
  out += extra_label;
  out += '}';
}

void AppendFamilyHead(std::string& out, std::string_view name, std::string_view help,
                      std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  AppendHelp(out, help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

void Gauge::Add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }

Histogram::Histogram(std::vector<double> upper_bounds) : upper_bounds_(std::move(upper_bounds)) {
  std::sort(upper_bounds_.begin(), upper_bounds_.end());
  upper_bounds_.erase(std::unique(upper_bounds_.begin(), upper_bounds_.end()), upper_bounds_.end());
  // +Inf is always the implicit last bucket; an explicit one would be rendered twice.
  while (!upper_bounds_.empty() && std::isinf(upper_bounds_.back())) upper_bounds_.pop_back();
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds_.size() + 1);
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  // Buckets are "less than or equal": the first bound not below the value; NaN lands in +Inf.
  std::size_t index = upper_bounds_.size();
  if (!std::isnan(value)) {
    index = static_cast<std::size_t>(
        std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) -
        upper_bounds_.begin());
  }
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  if (std::isfinite(value)) {
    const auto scaled = static_cast<std::int64_t>(std::llround(value * kSumScale));
    sum_nanos_.fetch_add(static_cast<std::uint64_t>(scaled), std::memory_order_relaxed);
  }
  count_.fetch_add(1, std::memory_order_relaxed);
}

double Histogram::Sum() const {
  return static_cast<double>(
             static_cast<std::int64_t>(sum_nanos_.load(std::memory_order_relaxed))) /
         kSumScale;
}

std::vector<double> LatencyBucketsSeconds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

struct MetricsRegistry::Family {
  struct Series {
    std::string labels;  // rendered, without braces
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };

  std::string name;
  std::string help;
  std::string_view type;
  std::vector<std::unique_ptr<Series>> series;  // registration order, for a stable Render
  std::unordered_map<std::string, Series*> by_labels;

  Series& SeriesFor(const MetricLabels& labels, bool* created) {
    std::string rendered = RenderLabels(labels);
    auto found = by_labels.find(rendered);
    if (found != by_labels.end()) {
      *created = false;
      return *found->second;
    }
    *created = true;
    auto& added = series.emplace_back(std::make_unique<Series>());
    added->labels = std::move(rendered);
    by_labels.emplace(added->labels, added.get());
    return *added;
  }
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family& MetricsRegistry::FamilyFor(std::string_view name, std::string_view help,
                                                    std::string_view type) {
  // Families are few (tens), so a scan under the registration mutex is cheaper than a map.
  for (auto& family : families_) {
    if (family->name != name) continue;
    if (family->type != type) {
      // Re-registering a name with another type is a programming error, caught at start-up.
      throw std::logic_error("metric " + std::string(name) + " registered as " +
                             std::string(family->type) + ", requested as " + std::string(type));
    }
    return *family;
  }
  auto& family = families_.emplace_back(std::make_unique<Family>());
  family->name = std::string(name);
  family->help = std::string(help);
  family->type = type;
  return *family;
}

Counter& MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                     const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  bool created = false;
  auto& series = FamilyFor(name, help, kTypeCounter).SeriesFor(labels, &created);
  if (created) series.counter = std::make_unique<Counter>();
  return *series.counter;
}

Gauge& MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                 const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  bool created = false;
  auto& series = FamilyFor(name, help, kTypeGauge).SeriesFor(labels, &created);
  if (created) series.gauge = std::make_unique<Gauge>();
  return *series.gauge;
}

Histogram& MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                         const MetricLabels& labels,
                                         std::vector<double> upper_bounds) {
  std::lock_guard lock(mutex_);
  bool created = false;
  auto& series = FamilyFor(name, help, kTypeHistogram).SeriesFor(labels, &created);
  if (created) series.histogram = std::make_unique<Histogram>(std::move(upper_bounds));
  return *series.histogram;
}

void MetricsRegistry::AddSampledFamily(std::string_view name, std::string_view help,
                                       MetricType type,
                                       std::function<void(const MetricEmit&)> collect) {
  std::lock_guard lock(mutex_);
  sampled_.push_back(SampledFamily{std::string(name), std::string(help), type, std::move(collect)});
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::vector<SampledFamily> sampled;
  {
    std::lock_guard lock(mutex_);
    for (const auto& family : families_) {
      AppendFamilyHead(out, family->name, family->help, family->type);
      for (const auto& series : family->series) {
        if (series->counter) {
          AppendSeriesName(out, family->name, "", series->labels);
          out += ' ';
          AppendUnsigned(out, series->counter->Value());
          out += '\n';
        } else if (series->gauge) {
          AppendSeriesName(out, family->name, "", series->labels);
          out += ' ';
          AppendDouble(out, series->gauge->Value());
          out += '\n';
        } else if (series->histogram) {
          const Histogram& histogram = *series->histogram;
          const auto& bounds = histogram.upper_bounds();
          // Buckets are read one by one while other threads observe; _count is taken from
          // the same reads so that it always equals the +Inf bucket, as scrapers expect.
          std::uint64_t cumulative = 0;
          std::string le;
          for (std::size_t i = 0; i <= bounds.size(); ++i) {
            cumulative += histogram.BucketCount(i);
            le = "le=\"";
            if (i < bounds.size()) {
              AppendDouble(le, bounds[i]);
            } else {
              le += "+Inf";
            }
            le += '"';
            AppendSeriesName(out, family->name, "_bucket", series->labels, le);
            out += ' ';
            AppendUnsigned(out, cumulative);
            out += '\n';
          }
          AppendSeriesName(out, family->name, "_sum", series->labels);
          out += ' ';
          AppendDouble(out, histogram.Sum());
          out += '\n';
          AppendSeriesName(out, family->name, "_count", series->labels);
          out += ' ';
          AppendUnsigned(out, cumulative);
          out += '\n';
        }
      }
    }
    sampled = sampled_;
  }
  // Sampled families are read outside the lock, so that one may read or register metrics itself.
  for (const SampledFamily& family : sampled) {
    AppendFamilyHead(out, family.name, family.help,
                     family.type == MetricType::kCounter ? kTypeCounter : kTypeGauge);
    family.collect([&out, &family](const MetricLabels& labels, double value) {
      AppendSeriesName(out, family.name, "", RenderLabels(labels));
      out += ' ';
      AppendDouble(out, value);
      out += '\n';
    });
  }
  return out;
}

}  // namespace boxoffice
