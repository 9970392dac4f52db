// The history behind the operator console's charts (issue 14): once a second, every event's
// figures from GET /v1/events/{id}/stats that a chart plots, an hour of them per event, served by
// GET /v1/events/{id}/stats/series (as columns, the shape uPlot takes) and
// GET /v1/events/{id}/stats/stream (each new sample as a server-sent event) in stats_routes.cpp.
//
// A column is named by the dotted path of its number in the stats object ("queue.waiting" is
// body.queue.waiting), and a sample is read out of that same object (EventStatsJson), so the
// history and the snapshot cannot disagree about what a name means, and a field the snapshot
// lacks on this server (no waiting room, no order service) is null in the history too.
//
// Each ring is allocated once, at an event's first sample: kStatsSeriesSamples samples of
// (24 columns + time) 8-byte numbers, 720 KB when full. Only the newest kStatsSeriesEventsMax
// events of the catalog (by creation) are sampled, which bounds the whole history at about 46 MB
// and a pass of the sampler at that many stats reads; an older event's series is empty. The
// history is kept in memory only: a restart starts it again.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/sample_ring.hpp"
#include "common/string_map.hpp"

namespace boxoffice::api {

struct ApiContext;

inline constexpr std::size_t kStatsSeriesSamples = 3'600;  // an hour, at one a second
inline constexpr std::int64_t kStatsSeriesIntervalS = 1;
inline constexpr std::size_t kStatsSeriesEventsMax = 64;

// How a chart reads a column. A counter is a running total (the orders' since the event was
// created, the others since the process started; the history too starts with the process, so a
// counter never restarts within one): a rate is the difference of two samples over the difference
// of their times. Every counter only grows but `orders.revenue_cents`, which is net of refunds
// and falls when an order is refunded. A gauge is a level, as sampled.
enum class StatsColumnKind { kCounter, kGauge };

struct StatsColumn {
  std::string_view name;  // the dotted path in GET /v1/events/{id}/stats
  StatsColumnKind kind;
};

// The columns of every sample, in the order the series lists them.
std::span<const StatsColumn> StatsSeriesColumns();

// One sample's values, one per column, read out of a stats object (EventStatsJson); NaN where the
// object has no number at a column's path.
std::vector<double> StatsSampleOf(const boost::json::object& stats);

// GET /v1/events/{id}/stats/series's body: {"event_id", "interval_s", "counters": [names],
// "t": [unix seconds], "series": {column: [values, null where absent]}}.
std::string StatsSeriesJson(std::string_view event_id, const SampleWindow& window);
// One event of the stats stream: {"t", "values": {column: value or null}}.
std::string StatsSampleJson(const SampleRow& row);

// The rings of the sampled events, keyed by event id. Recorded from the sampler's thread, read by
// any number of request threads: the map is behind a shared mutex, each ring has its own lock.
class StatsSeries {
 public:
  explicit StatsSeries(std::size_t events_max = kStatsSeriesEventsMax,
                       std::size_t samples = kStatsSeriesSamples);
  StatsSeries(const StatsSeries&) = delete;
  StatsSeries& operator=(const StatsSeries&) = delete;

  std::size_t events_max() const { return events_max_; }

  // The event's ring; null before its first sample, or while it is not among the sampled events.
  std::shared_ptr<const SampleRing> Find(std::string_view event_id) const;
  // Appends a sample at unix second `t` (one value per column), making the event's ring on its
  // first. A sample not after the latest is dropped (the wall clock stepped back).
  void Record(const std::string& event_id, std::int64_t t, std::span<const double> values);
  // Frees the rings of every event not in `event_ids` (those that fell out of the newest).
  void Retain(std::span<const std::string> event_ids);

 private:
  const std::size_t events_max_;
  const std::size_t samples_;
  mutable std::shared_mutex mutex_;
  StringMap<std::shared_ptr<SampleRing>> rings_;  // guarded by mutex_; at most events_max_
};

// Takes one sample of each of the newest `series.events_max()` events of the catalog, with or
// without a queue, from the stats every GET /v1/events/{id}/stats reads. Not thread-safe: one
// thread calls Sample(), once a second (app/serve.cpp drives it).
class StatsSampler {
 public:
  // `context` and `series` must outlive the sampler.
  StatsSampler(ApiContext& context, StatsSeries& series) : context_(context), series_(series) {}

  void Sample(std::int64_t unix_s);

 private:
  ApiContext& context_;
  StatsSeries& series_;
  // Events whose last sample failed: a failure is logged when it starts and when it ends, not
  // once a second while it lasts.
  std::unordered_set<std::string> failing_;
};

}  // namespace boxoffice::api
