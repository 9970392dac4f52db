#include "api/stats_series.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <unordered_set>

#include "api/api.hpp"
#include "api/routes.hpp"
#include "api/support.hpp"
#include "common/check.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"

namespace boxoffice::api {
namespace {

namespace json = boost::json;
using namespace std::string_view_literals;
using enum StatsColumnKind;

// What the console charts: the queue's flow against its configured rate and cap, the seats, the
// sales, and what the bot defence did. Adding a column is adding a line here (and to the docs).
constexpr std::array<StatsColumn, 24> kColumns{{
    {"queue.joined", kCounter},
    {"queue.waiting", kGauge},
    {"queue.active", kGauge},
    {"queue.admitted", kCounter},
    {"queue.admitted_per_s", kGauge},
    {"queue.abandoned", kCounter},
    {"queue.released.ordered", kCounter},
    {"queue.released.left", kCounter},
    {"queue.released.idle", kCounter},
    {"queue.released.expired", kCounter},
    {"queue.settings.admission_rate_per_s", kGauge},
    {"queue.settings.max_active", kGauge},
    {"inventory.available", kGauge},
    {"inventory.held", kGauge},
    {"inventory.sold", kGauge},
    {"inventory.holds.expired", kCounter},
    {"orders.placed", kCounter},
    {"orders.confirmed", kGauge},  // placed and not yet captured: they move on to `completed`
    {"orders.refunded", kCounter},
    {"orders.revenue_cents", kCounter},
    {"defense.allowed", kCounter},
    {"defense.challenged", kCounter},
    {"defense.blocked", kCounter},
    {"defense.rate_limited", kCounter},
}};

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

// The number at a dotted path of a stats object; NaN when any step is missing or not a number.
double NumberAt(const json::object& stats, std::string_view path) {
  const json::object* object = &stats;
  for (;;) {
    const std::size_t dot = path.find('.');
    const json::value* value = object->if_contains(path.substr(0, dot));
    if (value == nullptr) return kMissing;
    if (dot == std::string_view::npos) {
      if (value->is_number()) return value->to_number<double>();
      return kMissing;
    }
    object = value->if_object();
    if (object == nullptr) return kMissing;
    path.remove_prefix(dot + 1);
  }
}

// Counters and gauges are integers below 2^53, held exactly by a double, and are written as
// integers; a rate keeps its shortest round-trip form. JSON has no NaN: a missing value is null,
// which uPlot draws as a gap.
void AppendNumber(std::string& out, double value) {
  if (std::isfinite(value) && value == std::trunc(value) && std::abs(value) < 0x1p53) {
    AppendJsonInteger(out, static_cast<std::int64_t>(value));
  } else {
    AppendJsonDouble(out, value);
  }
}

}  // namespace

std::span<const StatsColumn> StatsSeriesColumns() { return kColumns; }

std::vector<double> StatsSampleOf(const json::object& stats) {
  std::vector<double> values;
  values.reserve(kColumns.size());
  for (const StatsColumn& column : kColumns) values.push_back(NumberAt(stats, column.name));
  return values;
}

std::string StatsSeriesJson(std::string_view event_id, const SampleWindow& window) {
  BOXOFFICE_CHECK(window.values.size() == window.t.size() * kColumns.size(),
                  "a stats window has one value per column and sample");
  std::string out;
  // About seven characters a number: a full hour is ~600 KB, written without a reallocation.
  out.reserve(256 + window.t.size() * (kColumns.size() + 1) * 8);
  out += "{\"event_id\":"sv;
  AppendJsonString(out, event_id);
  out += ",\"interval_s\":"sv;
  AppendJsonInteger(out, kStatsSeriesIntervalS);
  out += ",\"counters\":["sv;
  bool first = true;
  for (const StatsColumn& column : kColumns) {
    if (column.kind != kCounter) continue;
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, column.name);
  }
  out += "],\"t\":["sv;
  for (std::size_t row = 0; row < window.t.size(); ++row) {
    if (row > 0) out += ',';
    AppendJsonInteger(out, window.t[row]);
  }
  out += "],\"series\":{"sv;
  for (std::size_t c = 0; c < kColumns.size(); ++c) {
    if (c > 0) out += ',';
    AppendJsonString(out, kColumns[c].name);
    out += ":["sv;
    const std::span<const double> values = window.Column(c);
    for (std::size_t row = 0; row < values.size(); ++row) {
      if (row > 0) out += ',';
      AppendNumber(out, values[row]);
    }
    out += ']';
  }
  out += "}}"sv;
  return out;
}

std::string StatsSampleJson(const SampleRow& row) {
  BOXOFFICE_CHECK(row.values.size() == kColumns.size(), "a stats sample has one value a column");
  std::string out;
  out.reserve(64 + kColumns.size() * 40);
  out += "{\"t\":"sv;
  AppendJsonInteger(out, row.t);
  out += ",\"values\":{"sv;
  for (std::size_t c = 0; c < kColumns.size(); ++c) {
    if (c > 0) out += ',';
    AppendJsonString(out, kColumns[c].name);
    out += ':';
    AppendNumber(out, row.values[c]);
  }
  out += "}}"sv;
  return out;
}

StatsSeries::StatsSeries(std::size_t events_max, std::size_t samples)
    : events_max_(events_max), samples_(samples) {}

std::shared_ptr<const SampleRing> StatsSeries::Find(std::string_view event_id) const {
  std::shared_lock lock(mutex_);
  const auto found = rings_.find(event_id);
  return found == rings_.end() ? nullptr : found->second;
}

void StatsSeries::Record(const std::string& event_id, std::int64_t t,
                         std::span<const double> values) {
  std::shared_ptr<SampleRing> ring;
  {
    std::shared_lock lock(mutex_);
    if (const auto found = rings_.find(event_id); found != rings_.end()) ring = found->second;
  }
  if (!ring) {
    std::unique_lock lock(mutex_);
    // The sampler picks at most events_max_ events a pass and retires the others' rings, so a
    // new ring past the bound is a bug in the caller, not a load to shed.
    BOXOFFICE_CHECK(rings_.size() < events_max_ || rings_.contains(event_id),
                    "stats series are kept for at most events_max events");
    std::shared_ptr<SampleRing>& slot = rings_[event_id];
    if (!slot) slot = std::make_shared<SampleRing>(kColumns.size(), samples_);
    ring = slot;
  }
  ring->Append(t, values);
}

void StatsSeries::Retain(std::span<const std::string> event_ids) {
  const std::unordered_set<std::string_view> keep(event_ids.begin(), event_ids.end());
  std::unique_lock lock(mutex_);
  std::erase_if(rings_, [&keep](const auto& entry) { return !keep.contains(entry.first); });
}

void StatsSampler::Sample(std::int64_t unix_s) {
  // Oldest first, and events are never removed: the newest are the tail of the one page.
  Result<EventPage> page = context_.catalog.List(kEventsMax, std::nullopt);
  if (!page) return;  // only a cursor is ever refused, and none is passed
  std::span<const std::shared_ptr<const Event>> events = page->items;
  if (events.size() > series_.events_max()) events = events.last(series_.events_max());
  std::vector<std::string> sampled;
  sampled.reserve(events.size());
  for (const std::shared_ptr<const Event>& event : events) {
    sampled.push_back(event->definition().id);
  }
  // First the rings of events pushed out by newer ones go, which makes room for the newer ones'.
  series_.Retain(sampled);
  for (const std::shared_ptr<const Event>& event : events) {
    const std::string& id = event->definition().id;
    // The inventory keeps the event it is given alive and so takes a non-const pointer; the
    // catalog hands out const ones (AttachQueues in serve.cpp does the same).
    Result<json::object> stats = EventStatsJson(context_, std::const_pointer_cast<Event>(event));
    if (!stats) {
      // The catalog shows a new event a moment before the waiting room knows its queue; the
      // next pass samples it. Anything else is worth a line in the log, once.
      if (stats.error().kind != ErrorKind::kNotFound && failing_.insert(id).second) {
        LogWarn("stats sample failed",
                {{"event_id", id}, {"code", stats.error().code}, {"error", stats.error().message}});
      }
      continue;
    }
    if (failing_.erase(id) > 0) LogInfo("stats sample recovered", {{"event_id", id}});
    series_.Record(id, unix_s, StatsSampleOf(*stats));
  }
  if (!failing_.empty()) {
    const std::unordered_set<std::string_view> now(sampled.begin(), sampled.end());
    std::erase_if(failing_, [&now](const std::string& id) { return !now.contains(id); });
  }
}

}  // namespace boxoffice::api
